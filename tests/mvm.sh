#!/bin/sh
# Command-line contract of rpu-mvm (DESIGN.md §8): one tile as a plain
# matrix.  The floating-point demo (examples/fp_demo) gives hand-computed
# outputs; mismatched CSV shapes exit 1 naming file, row and column; bad
# usage exits 2; --help, --version, --json, --backward, --repeat, --out.
# An analog (SingleRPUConfig) run checks noise, seeds and repeats once the
# analog engine and a pulsed device are available (skipped otherwise); its
# device has fixed bounds +-0.6 (no device-to-device spread), so the
# weights below are stored as given.
#
# Run by `make check` with RPU_TOOLS and the plugin path of the build tree.
set -u
: "${RPU_TOOLS:?run through make check}"
: "${top_srcdir:?run through make check}"
T="$RPU_TOOLS/rpu-mvm"
E="$top_srcdir/examples/fp_demo"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
checks=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
run() { checks=$((checks + 1)); "$T" "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }
expect_rc() {
  [ "$rc" -eq "$1" ] || fail "$2: exit $rc, expected $1; stderr: $(head -c 600 "$tmp/err")"
}
out_is() {
  printf '%s\n' "$1" >"$tmp/want"
  cmp -s "$tmp/want" "$tmp/out" || fail "$2: stdout is '$(cat "$tmp/out")', expected '$1'"
}
err_has() { grep -F -q -- "$1" "$tmp/err" || fail "$2: stderr lacks '$1': $(head -c 600 "$tmp/err")"; }
if command -v python3 >/dev/null 2>&1; then have_py=1; else have_py=0; echo "note: no python3, JSON not checked"; fi
json_assert() {
  [ "$have_py" -eq 1 ] || return 0
  python3 - "$tmp/out" "$2" <<'EOF' || fail "$1: JSON assertion failed: $2"
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
ok = eval(sys.argv[2])
if not ok:
    print("  got:", json.dumps(d)[:800])
sys.exit(0 if ok else 1)
EOF
}
FP="--config $E/config.json --weights $E/weights.csv"

# ---------------------------------------------------------------- help, version, usage
run --help; expect_rc 0 "--help"; grep -q "^Usage: rpu-mvm" "$tmp/out" || fail "--help text"
run --version; expect_rc 0 "--version"
grep -E -q '^rpu-mvm \(rpu\) [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" || fail "--version: $(head -n 1 "$tmp/out")"
for args in "" "--bogus" "--config" "$FP" "--config a --weights b" "$FP --input $E/input.csv extra" \
            "$FP --input $E/input.csv --repeat 0" "$FP --input $E/input.csv --repeat x" \
            "$FP --input $E/input.csv --seed -1" "$FP --input $E/input.csv --drift -2"; do
  # shellcheck disable=SC2086
  run $args; expect_rc 2 "rpu-mvm $args"; err_has "rpu-mvm --help" "rpu-mvm $args"
done

# ---------------------------------------------------------------- floating point, by hand
# W = [[1, .5, -.25], [0, -1, 2]] (weights.csv); inputs [1,0,0], [0,1,0],
# [1,2,4]: W x = [1, 0], [.5, -1], [1 + 1 - 1, -2 + 8] = [1, 6].
# shellcheck disable=SC2086
run $FP --input "$E/input.csv"; expect_rc 0 "fp forward"
out_is "1,0
0.5,-1
1,6" "fp forward"
# Backward W^T d: d = [1, 0] -> [1, .5, -.25]; d = [1, 1] -> [1, -.5, 1.75];
# d = [2, -1] -> [2, 2, -2.5].
printf '1, 0\n# a comment\n\n1, 1\n2,-1\n' >"$tmp/d.csv"
# shellcheck disable=SC2086
run $FP --input "$tmp/d.csv" --backward; expect_rc 0 "fp backward"
out_is "1,0.5,-0.25
1,-0.5,1.75
2,2,-2.5" "fp backward"
# --repeat 2 prints the block twice (exact tile: identical); --out writes it.
# shellcheck disable=SC2086
run $FP --input "$E/input.csv" --repeat 2 --out "$tmp/y.csv"; expect_rc 0 "--out"
[ -s "$tmp/out" ] && fail "--out: stdout not empty"
printf '1,0\n0.5,-1\n1,6\n1,0\n0.5,-1\n1,6\n' | cmp -s - "$tmp/y.csv" || fail "--out/--repeat: $(cat "$tmp/y.csv")"
# shellcheck disable=SC2086
run $FP --input "$E/input.csv" --json --repeat 2; expect_rc 0 "--json"
json_assert "--json" "len(d) == 6 and [r['repeat'] for r in d] == [0,0,0,1,1,1] and [r['row'] for r in d] == [0,1,2,0,1,2]"
json_assert "--json" "d[2]['y'] == [1, 6] and d[4]['y'] == [0.5, -1]"
# NaN in an input propagates (exact tile); JSON writes null
printf 'nan, 0, 0\n' >"$tmp/nan.csv"
# shellcheck disable=SC2086
run $FP --input "$tmp/nan.csv" --json; expect_rc 0 "nan input"
json_assert "nan input" "d[0]['y'][0] is None"

# ---------------------------------------------------------------- user errors (exit 1)
printf '1, 2\n3, 4\n' >"$tmp/x2.csv"
# shellcheck disable=SC2086
run $FP --input "$tmp/x2.csv"; expect_rc 1 "too few columns"
err_has "$tmp/x2.csv: row 1, column 3: expected 3 columns" "too few columns"
err_has "weights.csv" "too few columns"
printf '# header\n1, 2, 3, 4\n' >"$tmp/x4.csv"
# shellcheck disable=SC2086
run $FP --input "$tmp/x4.csv"; expect_rc 1 "too many columns"
err_has "$tmp/x4.csv: row 2, column 4: expected 3 columns" "too many columns"
# --backward needs out_size (2) columns
# shellcheck disable=SC2086
run $FP --input "$E/input.csv" --backward; expect_rc 1 "backward width"
err_has "row 2, column 3: expected 2 columns (the rows of" "backward width"
printf '1, 2, 3\n4, 5\n' >"$tmp/ragged.csv"
# shellcheck disable=SC2086
run $FP --input "$tmp/ragged.csv"; expect_rc 1 "ragged input"
err_has "$tmp/ragged.csv: row 2" "ragged input"
printf '1, x, 3\n' >"$tmp/bad.csv"
# shellcheck disable=SC2086
run $FP --input "$tmp/bad.csv"; expect_rc 1 "not a number"
err_has "$tmp/bad.csv: row 1, column 2" "not a number"
# shellcheck disable=SC2086
run $FP --input "$tmp/missing.csv"; expect_rc 1 "missing input"
err_has "$tmp/missing.csv" "missing input"
printf '1, inf, 0\n0, 1, 0\n' >"$tmp/winf.csv"
run --config "$E/config.json" --weights "$tmp/winf.csv" --input "$E/input.csv"; expect_rc 1 "inf weight"
err_has "$tmp/winf.csv" "inf weight"
printf '{ "rpu_config": "FloatingPointRPUConfig", "device": {"type": "NoSuchDevice"} }' >"$tmp/c.json"
run --config "$tmp/c.json" --weights "$E/weights.csv" --input "$E/input.csv"; expect_rc 1 "bad config"
err_has "$tmp/c.json" "bad config"; err_has "NoSuchDevice" "bad config"
# shellcheck disable=SC2086
run $FP --input "$E/input.csv" --out "$tmp/no/such/dir/y.csv"; expect_rc 1 "--out unwritable"
err_has "$tmp/no/such/dir/y.csv" "--out unwritable"
# --program on a floating-point tile: not an inference tile
# shellcheck disable=SC2086
run $FP --input "$E/input.csv" --program; expect_rc 1 "--program"
err_has "--program" "--program"

# ---------------------------------------------------------------- analog tile (when available)
cat >"$tmp/analog.json" <<'EOF'
{ "rpu_config": "SingleRPUConfig",
  "device": { "type": "ConstantStepDevice", "w_max_dtod": 0, "w_min_dtod": 0 },
  "forward": { "out_noise": 0.1, "out_res": -1, "inp_res": -1,
               "noise_management": "NONE", "bound_management": "NONE", "inp_bound": 0,
               "out_bound": 0 },
  "update": { "pulse_type": "NONE" } }
EOF
printf '0.5, 0.5\n-0.5, 0.25\n' >"$tmp/wa.csv"
printf '1, 1\n' >"$tmp/xa.csv"
run --config "$tmp/analog.json" --weights "$tmp/wa.csv" --input "$tmp/xa.csv" --repeat 400 --seed 5
if [ "$rc" -eq 0 ]; then
  cp "$tmp/out" "$tmp/a1"
  # W x = [1, -.25]; each output has noise .1: over 400 repeats the means
  # are within 5 * .1 / sqrt(400) = .025, the stds within 5 * .1/sqrt(800)
  # = .018 of .1
  if [ "$have_py" -eq 1 ]; then
    python3 - "$tmp/a1" <<'EOF' || fail "analog statistics"
import sys, statistics as st
rows = [list(map(float, l.split(','))) for l in open(sys.argv[1])]
assert len(rows) == 400, len(rows)
for i, mu in enumerate([1.0, -0.25]):
    col = [r[i] for r in rows]
    m, s = st.mean(col), st.stdev(col)
    assert abs(m - mu) < 0.025 and abs(s - 0.1) < 0.018, (i, m, s)
EOF
  fi
  run --config "$tmp/analog.json" --weights "$tmp/wa.csv" --input "$tmp/xa.csv" --repeat 400 --seed 5
  cmp -s "$tmp/a1" "$tmp/out" || fail "analog: same seed, different output"
  run --config "$tmp/analog.json" --weights "$tmp/wa.csv" --input "$tmp/xa.csv" --repeat 400 --seed 6
  cmp -s "$tmp/a1" "$tmp/out" && fail "analog: different seeds, same output"
else
  echo "note: analog rpu-mvm skipped: $(head -c 300 "$tmp/err")"
fi

echo "mvm.sh: $checks runs, $fails failures"
[ "$fails" -eq 0 ]
