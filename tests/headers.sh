#!/bin/sh
# Every public header compiles alone as C99 -pedantic and as C++ (DESIGN.md §3).
set -u
srcinc="$top_srcdir/include"
bldinc="$top_builddir/include"
fail=0
n=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for h in "$srcinc"/rpu/*.h "$bldinc"/rpu/version.h; do
  [ -f "$h" ] || continue
  name=rpu/$(basename "$h")
  printf '#include "%s"\nint rpu_header_test_dummy;\n' "$name" > "$tmp/t.c"
  if ! ${CC:-cc} -std=c99 -pedantic -Wall -Wextra -Werror -I"$bldinc" -I"$srcinc" \
       -c "$tmp/t.c" -o "$tmp/t.o" 2> "$tmp/err"; then
    echo "FAIL: $name does not compile alone as C99 -pedantic:"; cat "$tmp/err"; fail=$((fail + 1))
  fi
  cp "$tmp/t.c" "$tmp/t.cc"
  if ! ${CXX:-c++} -std=c++11 -pedantic -Wall -Wextra -Werror -I"$bldinc" -I"$srcinc" \
       -c "$tmp/t.cc" -o "$tmp/t.o" 2> "$tmp/err"; then
    echo "FAIL: $name does not compile alone as C++:"; cat "$tmp/err"; fail=$((fail + 1))
  fi
  n=$((n + 1))
done
if [ "$n" -lt 10 ]; then
  echo "FAIL: expected at least 10 public headers, found $n"; fail=$((fail + 1))
fi
echo "headers: $n headers checked, $fail failures"
[ "$fail" -eq 0 ]
