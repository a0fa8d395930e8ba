#!/bin/sh
# Third-party proof (DESIGN.md §1, §4): a plugin built against the
# *installed* rpu with pkg-config and a plain compiler, then listed,
# described and used by the *installed* rpu-plugins.  Also checks that the
# installed tree itself provides FloatingPointDevice and IdealDevice, and
# builds examples/plugin-template with its own Makefile.
#
# Called by `make installcheck` (installcheck-local in Makefile.am) with
# PKG_CONFIG_PATH, CC, bindir, libdir and DESTDIR in the environment;
# $1 is this directory in the source tree.
set -u
src=${1:?usage: run.sh SRCDIR}
: "${bindir:?bindir is not set (run through make installcheck)}"
: "${libdir:?libdir is not set (run through make installcheck)}"
CC=${CC:-cc}
DESTDIR=${DESTDIR:-}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# pkg-config answers for the installed rpu; under DESTDIR its paths are
# moved below DESTDIR.
pc() {
  if [ -n "$DESTDIR" ]; then
    prefix=$($PKG_CONFIG --variable=prefix rpu) &&
      $PKG_CONFIG --define-variable=prefix="$DESTDIR$prefix" "$@" rpu
  else
    $PKG_CONFIG "$@" rpu
  fi
}

if ! $PKG_CONFIG --exists rpu; then
  echo "FAIL: pkg-config does not find rpu (PKG_CONFIG_PATH=${PKG_CONFIG_PATH:-})"
  exit 1
fi
plugindir=$(pc --variable=plugindir)
[ -n "$plugindir" ] || fail "pkg-config --variable=plugindir rpu is empty"
echo "rpu $($PKG_CONFIG --modversion rpu), plugindir $plugindir"

# The installed tool, with the installed library and plugin directory only.
tool="$DESTDIR$bindir/rpu-plugins"
LD_LIBRARY_PATH="$DESTDIR$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
LD_BIND_NOW=1
export LD_LIBRARY_PATH LD_BIND_NOW
unset RPU_PLUGIN_PATH
if [ -n "$DESTDIR" ]; then
  RPU_PLUGIN_SYSTEM_PATH="$plugindir"; export RPU_PLUGIN_SYSTEM_PATH
else
  unset RPU_PLUGIN_SYSTEM_PATH # the compiled-in installed directory
fi
run() { "$tool" "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }
expect_rc() {
  [ "$rc" -eq "$1" ] || fail "$2: exit $rc, expected $1; stderr: $(cat "$tmp/err")"
}
out_has() { grep -F -q -- "$1" "$tmp/out" || fail "$2: stdout lacks '$1': $(cat "$tmp/out")"; }
err_has() { grep -F -q -- "$1" "$tmp/err" || fail "$2: stderr lacks '$1': $(cat "$tmp/err")"; }
json_valid() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -m json.tool "$tmp/out" >/dev/null || fail "$1: output is not valid JSON"
  fi
}

# ---- the installed tree lists the shipped devices (exact --json format)
run list --json; expect_rc 0 "installed list --json"; json_valid "installed list --json"
out_has '{"name": "FloatingPointDevice", "kind": "device", "class": "floating_point", "plugin": "floating_point", "file": ' "installed list"
out_has '{"name": "IdealDevice", "kind": "device", "class": "ideal", "plugin": "ideal", "file": ' "installed list"
out_has "$plugindir/" "installed list (files in plugindir)"

# ---- build the third-party plugin like an outsider would
mkdir -p "$tmp/plugins"
cflags=$(pc --cflags) && libs=$(pc --libs) || { echo "FAIL: pkg-config --cflags/--libs rpu"; exit 1; }
# shellcheck disable=SC2086
if ! $CC -std=c99 -pedantic -Wall -Wextra -Werror -shared -fPIC $cflags \
     -o "$tmp/plugins/acme_step.so" "$src/acme_step.c" $libs -lm 2>"$tmp/cc.err"; then
  echo "FAIL: compiling acme_step.c against the installed headers:"; cat "$tmp/cc.err"
  exit 1
fi

run list --json --plugin-path "$tmp/plugins"; expect_rc 0 "list --plugin-path"
json_valid "list --plugin-path"
out_has '{"name": "AcmeStepDevice", "kind": "device", "class": "pulsed", "plugin": "acme_step", "file": ' "list --plugin-path"

run describe AcmeStepDevice --plugin-path "$tmp/plugins"; expect_rc 0 "describe"
out_has "AcmeStepDevice: device of class pulsed" "describe"
grep -E -q '^ +dw_min +real +0\.001 +\[1e-09, 1\] ' "$tmp/out" || fail "describe: dw_min row: $(cat "$tmp/out")"
grep -E -q '^ +w_min +real +-0\.6 +\[-100, 100\] ' "$tmp/out" || fail "describe: w_min row"
grep -E -q '^ +w_max +real +0\.6 +\[-100, 100\] ' "$tmp/out" || fail "describe: w_max row"
run describe AcmeStepDevice --json --plugin-path "$tmp/plugins"; expect_rc 0 "describe --json"
json_valid "describe --json"
out_has '{"name": "dw_min", "type": "real", "default": 0.001, "min": 1e-09, "max": 1, "unit": "", "doc": "weight change of one pulse"}' "describe --json"

# ---- use it in configs
run check "$src/acme_good.json" --plugin-path "$tmp/plugins"; expect_rc 0 "check good config"
out_has "ok: $src/acme_good.json (SingleRPUConfig, device AcmeStepDevice)" "check good config"
run check "$src/acme_out_of_range.json" --plugin-path "$tmp/plugins"; expect_rc 1 "check out of range"
err_has "$src/acme_out_of_range.json" "check out of range"; err_has "device.dw_min" "check out of range"
run check "$src/acme_bad_bounds.json" --plugin-path "$tmp/plugins"; expect_rc 1 "check hook"
err_has "device.w_min" "check hook"
run check "$src/acme_good.json"; expect_rc 1 "check without the plugin"
err_has "AcmeStepDevice" "check without the plugin"

# ---- the plugin file itself: descriptor and create/pulse/destroy
run check "$tmp/plugins/acme_step.so"; expect_rc 0 "check plugin file"
out_has "ok: device AcmeStepDevice" "check plugin file"

# ---- the template users copy builds and checks with its own Makefile
tpl="$src/../../examples/plugin-template"
if [ -f "$tpl/Makefile" ]; then
  cp -R "$tpl" "$tmp/template" && chmod -R u+w "$tmp/template"
  if make -C "$tmp/template" CC="$CC" RPU_CFLAGS="$cflags" RPU_LIBS="$libs" \
       RPU_PLUGINS="$tool" >"$tmp/make.log" 2>&1 &&
     make -C "$tmp/template" RPU_PLUGINS="$tool" check >>"$tmp/make.log" 2>&1; then
    :
  else
    fail "examples/plugin-template: make / make check:"; cat "$tmp/make.log"
  fi
else
  fail "examples/plugin-template/Makefile not found next to $src"
fi

echo "out_of_tree: $fails failures"
[ "$fails" -eq 0 ]
