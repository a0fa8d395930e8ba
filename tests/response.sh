#!/bin/sh
# Command-line contract of rpu-response (DESIGN.md §8, issue 4 item 6):
# usage errors, the CSV step,direction,mean,std,min,max with one row per
# pulse, hand-derived noise-free traces (ConstantStep, SoftBounds per
# SPEC.md §4.6), statistics of a device with variation, seeds, --csv,
# --svg (well-formed, with axes, band, legend) and the example presets.
#
# Run by `make check` with RPU_TOOLS, top_srcdir and the plugin path of the
# build tree (RPU_PLUGIN_PATH, empty RPU_PLUGIN_SYSTEM_PATH).
set -u
: "${RPU_TOOLS:?run through make check}"
: "${top_srcdir:?run through make check}"
T="$RPU_TOOLS/rpu-response"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
checks=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# run ARGS...: runs the tool; rc, $tmp/out and $tmp/err hold the result.
run() { checks=$((checks + 1)); "$T" "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }
expect_rc() {
  [ "$rc" -eq "$1" ] || fail "$2: exit $rc, expected $1; stderr: $(head -c 600 "$tmp/err")"
}
out_has() { grep -F -q -- "$1" "$tmp/out" || fail "$2: stdout lacks '$1'"; }
err_has() { grep -F -q -- "$1" "$tmp/err" || fail "$2: stderr lacks '$1': $(head -c 600 "$tmp/err")"; }
cfg() { # cfg NAME DEVICE-JSON: a SingleRPUConfig file
  printf '{"rpu_config": "SingleRPUConfig", "device": %s}\n' "$2" >"$tmp/$1.json"
}
# check_csv LABEL FILE AWK-CONDITION [AWK-FUNCTIONS]: every data row must
# satisfy the condition (fields: $1 step, $2 direction, $3 mean, $4 std,
# $5 min, $6 max); abs() is always defined.
check_csv() {
  cond=$(printf '%s' "$3" | tr '\n' ' ') # awk: no newline inside ( )
  awk -F, -v label="$1" 'function abs(v) { return v < 0 ? -v : v }
    '"${4:-}"'
    NR > 1 && !('"$cond"') { printf "FAIL: %s: row %d: %s\n", label, NR - 1, $0; bad++ }
    END { exit bad > 0 }' "$2" || fails=$((fails + 1))
}

# ---------------------------------------------------------------- usage
run --help; expect_rc 0 "--help"; out_has "Usage: rpu-response" "--help"; out_has "--svg" "--help"
run --version; expect_rc 0 "--version"
grep -E -q '^rpu-response \(rpu\) [0-9]+\.[0-9]+\.[0-9]+' "$tmp/out" || fail "--version: $(cat "$tmp/out")"
for args in "" "--size 3,3" "--config" "--config x.json --size 0,4" "--config x.json --size 4" \
            "--config x.json --size 4,x" "--config x.json --pulses 0" "--config x.json --pulses -3" \
            "--config x.json --cycles 0" "--config x.json --w0 abc" "--config x.json --seed -1" \
            "--config x.json --bogus" "--config x.json extra" "--config x.json --plugin-path"; do
  # shellcheck disable=SC2086
  run $args; expect_rc 2 "rpu-response $args"; err_has "rpu-response --help" "rpu-response $args"
done
run --config "$tmp/missing.json"; expect_rc 1 "missing config"; err_has "missing.json" "missing config"
cfg ideal '{"type": "IdealDevice"}'
run --config "$tmp/ideal.json"; expect_rc 1 "IdealDevice in a SingleRPUConfig"; err_has "device" "IdealDevice"

# ---------------------------------------------------------------- noise-free ConstantStep
cfg cs '{"type": "ConstantStepDevice", "dw_min": 0.1, "w_max": 1.0, "w_min": -1.0,
         "dw_min_dtod": 0.0, "dw_min_std": 0.0, "up_down_dtod": 0.0,
         "w_max_dtod": 0.0, "w_min_dtod": 0.0}'
run --config "$tmp/cs.json" --size 3,4 --pulses 15 --cycles 2
# dw_min 0.1, bounds ±1, no variation (SPEC.md §4.6): 15 up pulses from 0
# give min(0.1 k, 1); 15 down pulses then go 1 - 0.1 k (ending at -0.5);
# the second cycle climbs from -0.5 (+0.1 per pulse, capped at 1) and
# falls to -0.5 again.  std is 0 and min = max = mean on every row.
expect_rc 0 "ConstantStep trace"
[ "$(head -n 1 "$tmp/out")" = "step,direction,mean,std,min,max" ] || fail "CSV header: $(head -n 1 "$tmp/out")"
[ "$(wc -l <"$tmp/out")" -eq 61 ] || fail "ConstantStep trace: $(wc -l <"$tmp/out") lines, expected 1 + 2·2·15"
cp "$tmp/out" "$tmp/cs.csv"
check_csv "ConstantStep trace" "$tmp/cs.csv" '
  $1 == NR - 1 && $2 == (((NR - 2) % 30) < 15 ? "up" : "down") &&
  abs($3 - want($1)) < 1e-5 && $4 < 1e-6 && abs($5 - $3) < 1e-6 && abs($6 - $3) < 1e-6' '
  function want(s,  k, c, q) { c = int((s - 1) / 30); q = (s - 1) % 30 + 1
    if (q <= 15) { k = q; return c == 0 ? (k > 10 ? 1 : 0.1 * k) : (-0.5 + 0.1 * k > 1 ? 1 : -0.5 + 0.1 * k) }
    return 1 - 0.1 * (q - 15) }'

# w0 outside the bounds is clipped by the device: w0 = 5 → 1, up stays 1
run --config "$tmp/cs.json" --size 2,2 --pulses 2 --w0 5
expect_rc 0 "w0 clipped"
check_csv "w0 clipped" "$tmp/out" '
  ($2 == "up" && abs($3 - 1) < 1e-6) || ($2 == "down" && abs($3 - (1 - 0.1 * ($1 - 2))) < 1e-5)'

# ---------------------------------------------------------------- noise-free SoftBounds
# SPEC.md §4.6: from 0 with up pulses w_n = b_max (1 - (1 - dw_min/b_max)^n)
# = 1 - 0.9^n for dw_min 0.1, b_max 1: 0.1, 0.19, 0.271, 0.3439, 0.40951.
cfg sb '{"type": "SoftBoundsDevice", "dw_min": 0.1, "w_max": 1.0, "w_min": -1.0,
         "dw_min_dtod": 0.0, "dw_min_std": 0.0, "up_down_dtod": 0.0,
         "w_max_dtod": 0.0, "w_min_dtod": 0.0}'
run --config "$tmp/sb.json" --size 2,3 --pulses 5
expect_rc 0 "SoftBounds trace"
check_csv "SoftBounds trace" "$tmp/out" '
  $2 == "down" || (abs($3 - (1 - 0.9 ^ $1)) < 1e-5 && $4 < 1e-6)'

# ---------------------------------------------------------------- variation
# Default ConstantStep (dw_min 0.001, dw_min_dtod 0.3, dw_min_std 0.3,
# up_down_dtod 0.01, SPEC.md §4.1): after the first up pulse from 0 each
# element moved by (1 + 0.3 ξ1 ± 0.01 ξ2)·0.001·(1 + 0.3 ξ3): mean 0.001,
# per-element std ≈ 0.001·sqrt(0.09 + 0.09 + 0.0081) ≈ 4.3e-4, so the
# mean of 400 elements is within 5·4.3e-4/20 ≈ 1.1e-4 of 0.001 and the
# spread is clearly nonzero.  Every row has min <= mean <= max.
cfg def '{"type": "ConstantStepDevice"}'
run --config "$tmp/def.json" --size 20,20 --pulses 50 --seed 11
expect_rc 0 "default ConstantStep"
[ "$(wc -l <"$tmp/out")" -eq 101 ] || fail "default ConstantStep: $(wc -l <"$tmp/out") lines, expected 101"
check_csv "default ConstantStep, first pulse" "$tmp/out" '
  $1 != 1 || (abs($3 - 0.001) < 1.1e-4 && $4 > 2e-4 && $4 < 7e-4)'
check_csv "default ConstantStep, order" "$tmp/out" '$5 <= $3 + 1e-9 && $3 <= $6 + 1e-9 && $4 >= 0'
cp "$tmp/out" "$tmp/seed11.csv"
run --config "$tmp/def.json" --size 20,20 --pulses 50 --seed 11
cmp -s "$tmp/out" "$tmp/seed11.csv" || fail "same seed: different output"
run --config "$tmp/def.json" --size 20,20 --pulses 50 --seed 12
cmp -s "$tmp/out" "$tmp/seed11.csv" && fail "seeds 11 and 12: identical output"

# ---------------------------------------------------------------- --csv and --svg
run --config "$tmp/cs.json" --size 3,4 --pulses 15 --cycles 2 --csv "$tmp/f.csv" --svg "$tmp/f.svg"
expect_rc 0 "--csv --svg"
[ -s "$tmp/out" ] && fail "--csv: stdout is not empty"
cmp -s "$tmp/f.csv" "$tmp/cs.csv" || fail "--csv: file differs from the stdout output"
for s in "<svg" "</svg>" "<polyline" "<polygon" "pulse number" "weight" "up pulses" "down pulses" \
         "ConstantStepDevice"; do
  grep -F -q -- "$s" "$tmp/f.svg" || fail "--svg: lacks '$s'"
done
if command -v python3 >/dev/null 2>&1; then
  python3 - "$tmp/f.svg" <<'EOF' || fail "--svg: not well-formed SVG with 4 bands and lines"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
assert root.tag == ns + "svg", root.tag
assert len(root.findall(ns + "polygon")) == 4   # 2 cycles x (up, down)
assert len(root.findall(ns + "polyline")) == 4
EOF
else
  echo "note: no python3, SVG well-formedness not checked"
fi
run --config "$tmp/cs.json" --size 2,2 --pulses 2 --svg "$tmp/no/such/dir.svg"
expect_rc 1 "--svg into a missing directory"; err_has "dir.svg" "--svg into a missing directory"

# ---------------------------------------------------------------- presets
for p in "$top_srcdir"/examples/presets/*.json; do
  run --config "$p" --size 4,4 --pulses 20
  expect_rc 0 "preset $(basename "$p")"
  [ "$(wc -l <"$tmp/out")" -eq 41 ] || fail "preset $(basename "$p"): $(wc -l <"$tmp/out") lines"
done

echo "$checks runs, $fails failures"
[ "$fails" -eq 0 ]
