#!/bin/sh
# Command-line contract of rpu-plugins (DESIGN.md §8, docs/cli.md): list,
# list --json, list --all (rejected modules with their reasons), describe
# (human and JSON), config, check on configs and plugin files, --help,
# --version and the exit codes 0 / 1 (user error) / 2 (bad usage).
#
# Run by `make check` with RPU_TOOLS, RPU_TEST_MODULES and the plugin path
# of the build tree (RPU_PLUGIN_PATH, empty RPU_PLUGIN_SYSTEM_PATH).
set -u
: "${RPU_TOOLS:?run through make check}"
: "${RPU_TEST_MODULES:?run through make check}"
T="$RPU_TOOLS/rpu-plugins"
M="$RPU_TEST_MODULES"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
checks=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# run ARGS...: runs the tool; rc, $tmp/out and $tmp/err hold the result.
run() { checks=$((checks + 1)); "$T" "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }
what() { echo "rpu-plugins $*"; }
expect_rc() {
  [ "$rc" -eq "$1" ] || fail "$2: exit $rc, expected $1; stderr: $(head -c 600 "$tmp/err")"
}
out_has() { grep -F -q -- "$1" "$tmp/out" || fail "$2: stdout lacks '$1'"; }
err_has() { grep -F -q -- "$1" "$tmp/err" || fail "$2: stderr lacks '$1': $(head -c 600 "$tmp/err")"; }
out_lacks() { if grep -F -q -- "$1" "$tmp/out"; then fail "$2: stdout has '$1'"; fi; }

if command -v python3 >/dev/null 2>&1; then have_py=1; else have_py=0; echo "note: no python3, JSON validity not checked"; fi
# json_assert LABEL PYTHON-EXPR: evaluates EXPR with d = the parsed stdout.
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

# ---------------------------------------------------------------- help, version, usage
run --help; expect_rc 0 "--help"; out_has "Usage: rpu-plugins" "--help"; out_has "--plugin-path" "--help"
run list --help; expect_rc 0 "list --help"; out_has "Usage: rpu-plugins" "list --help"
run --version; expect_rc 0 "--version"
grep -E -q '^rpu-plugins \(rpu\) [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" || fail "--version: $(cat "$tmp/out")"

for args in "" "frobnicate" "list --bogus" "list extra" "describe" "config" "check" \
            "describe A B" "describe X --all" "config X --json" "list --plugin-path" \
            "check --all x.json"; do
  # shellcheck disable=SC2086
  run $args; expect_rc 2 "$(what "$args")"; err_has "rpu-plugins --help" "$(what "$args")"
done

# ---------------------------------------------------------------- list
run list; expect_rc 0 "list"
head -n 1 "$tmp/out" | grep -E -q '^KIND +NAME +PLUGIN +FILE$' || fail "list: header: $(head -n 1 "$tmp/out")"
grep -E -q '^device +FloatingPointDevice +floating_point +.*/floating_point\.(la|so)$' "$tmp/out" ||
  fail "list: no FloatingPointDevice row"
grep -E -q '^device +IdealDevice +ideal +.*/ideal\.(la|so)$' "$tmp/out" || fail "list: no IdealDevice row"
out_lacks "Rejected" "list without --all"

run list --json; expect_rc 0 "list --json"
json_assert "list --json" "isinstance(d, list) and all(set(r) == {'name','kind','class','plugin','file'} for r in d)"
json_assert "list --json" "any(r['name'] == 'FloatingPointDevice' and r['kind'] == 'device' and r['class'] == 'floating_point' and r['plugin'] == 'floating_point' for r in d)"
json_assert "list --json" "any(r['name'] == 'IdealDevice' and r['class'] == 'ideal' for r in d)"

# The test modules first: every broken one is listed with its reason; and
# duplicate_model.la, scanned before plugins/, wins FloatingPointDevice, so
# the shipped floating_point plugin is the rejected one (first wins).
run list --all --plugin-path "$M"; expect_rc 0 "list --all"
out_has "Rejected files:" "list --all"
out_has "abi_major.la" "list --all"; out_has "is incompatible with this library's ABI" "list --all"
out_has "abi_minor_newer.la" "list --all"; out_has "is newer than this library's ABI" "list --all"
out_has "no_entry.la" "list --all"; out_has "no entry point 'rpu_plugin_entry'" "list --all"
out_has "entry_null.la" "list --all"; out_has "returned NULL" "list --all"
out_has "bad_default.la" "list --all"; out_has "gain" "list --all"
out_has "missing_hook.la" "list --all"; out_has "'pulse_row' hook" "list --all"
out_has "model 'FloatingPointDevice' is already registered by plugin 'duplicate_model'" "list --all"
grep -E -q '^device +TestGoodDevice +good_extra ' "$tmp/out" || fail "list --all: TestGoodDevice row"

run list --all --json --plugin-path "$M"; expect_rc 0 "list --all --json"
json_assert "list --all --json" "any(r.get('status') == 'rejected' and r['file'].endswith('missing_hook.la') and 'pulse_row' in r['error'] and set(r) == {'file','status','error'} for r in d)"
json_assert "list --all --json" "sum(1 for r in d if r.get('status') == 'rejected') >= 7"
json_assert "list --all --json" "any(r.get('name') == 'TestNoiseModel' and r['kind'] == 'noise_model' and r['class'] is None for r in d)"

# ---------------------------------------------------------------- describe
run describe FloatingPointDevice; expect_rc 0 "describe"
out_has "FloatingPointDevice: device of class floating_point" "describe"
# lifetime: type real, default 0 (SPEC.md §1.1), range from 0
grep -E -q '^ +lifetime +real +0 +\[0, ' "$tmp/out" || fail "describe: lifetime row: $(grep lifetime "$tmp/out")"
for p in diffusion lifetime drift.nu drift.t_0 drift.reset_tol; do
  grep -E -q "^ +$p " "$tmp/out" || fail "describe: parameter $p missing"
done

run describe FloatingPointDevice --json; expect_rc 0 "describe --json"
json_assert "describe --json" "set(d) == {'name','kind','class','plugin','summary','params'} and d['name'] == 'FloatingPointDevice' and d['kind'] == 'device' and d['class'] == 'floating_point'"
json_assert "describe --json" "[p for p in d['params'] if p['name'] == 'lifetime'][0]['default'] == 0"
json_assert "describe --json" "all(set(p) == {'name','type','default','min','max','unit','doc'} for p in d['params'])"
json_assert "describe --json" "[p for p in d['params'] if p['name'] == 'lifetime'][0]['max'] is None"

# the test device: its ranges and defaults as tests/modules/good_extra.c declares them
run describe TestGoodDevice --json --plugin-path "$M"; expect_rc 0 "describe TestGoodDevice"
json_assert "describe TestGoodDevice" "[(p['name'], p['type'], p['default'], p['min'], p['max']) for p in d['params']] == [('dw_min','real',0.01,0,1), ('w_min','real',-1,None,0), ('w_max','real',1,0,None)]"
run describe TestDriftCompensation --json --plugin-path "$M"; expect_rc 0 "describe (no params)"
json_assert "describe (no params)" "d['params'] == [] and d['class'] is None and d['kind'] == 'drift_compensation'"

run describe NoSuchModel; expect_rc 1 "describe unknown"
err_has "NoSuchModel" "describe unknown"; err_has "FloatingPointDevice" "describe unknown (lists known names)"

# ---------------------------------------------------------------- config
run config FloatingPointRPUConfig; expect_rc 0 "config"
json_assert "config" "d['rpu_config'] == 'FloatingPointRPUConfig' and d['device']['type'] == 'FloatingPointDevice' and d['device']['lifetime'] == 0"
cp "$tmp/out" "$tmp/default.json"
run check "$tmp/default.json"; expect_rc 0 "check (config output)"
out_has "ok: $tmp/default.json (FloatingPointRPUConfig, device FloatingPointDevice)" "check (config output)"
# config --doc: the parameter reference; SPEC.md §2.1 defaults of the IO
# section (out_noise 0.06, 9-bit ADC: out_res 1/510) and §3.1 (desired_bl 31).
run config SingleRPUConfig --doc; expect_rc 0 "config --doc"
for s in "device: ConstantStepDevice" "forward:" "backward:" "update:" "mapping:" "dw_min"; do
  out_has "$s" "config --doc"
done
grep -E -q "^  out_noise +real +0.06 " "$tmp/out" || fail "config --doc: no out_noise 0.06 row"
grep -E -q "^  desired_bl +int +31 " "$tmp/out" || fail "config --doc: no desired_bl 31 row"
out_lacks "clip:" "config --doc (SingleRPUConfig has no clip section)"
run describe FloatingPointDevice --doc; expect_rc 2 "--doc outside config"
run config NoSuchRPUConfig; expect_rc 1 "config unknown"; err_has "SingleRPUConfig" "config unknown (lists valid types)"

# ---------------------------------------------------------------- check: configs
printf '{"rpu_config": "FloatingPointRPUConfig", "device": {"type": "FloatingPointDevice", "lifetime": 10}}\n' >"$tmp/good.json"
run check "$tmp/good.json"; expect_rc 0 "check good"
out_has "ok: $tmp/good.json (FloatingPointRPUConfig, device FloatingPointDevice)" "check good"

printf '{"rpu_config": "FloatingPointRPUConfig", "device": {"type": "FloatingPointDevice", "lifetime": -1}}\n' >"$tmp/range.json"
run check "$tmp/range.json"; expect_rc 1 "check out of range"
err_has "$tmp/range.json" "check out of range"; err_has "device.lifetime" "check out of range"

printf '{"rpu_config": "FloatingPointRPUConfig", "device": {"type": "FloatingPointDevice", "lifetimee": 1}}\n' >"$tmp/key.json"
run check "$tmp/key.json"; expect_rc 1 "check unknown key"; err_has "lifetimee" "check unknown key"

printf '{"rpu_config": "FloatingPointRPUConfig",}\n' >"$tmp/syntax.json"
run check "$tmp/syntax.json"; expect_rc 1 "check malformed"; err_has "$tmp/syntax.json" "check malformed"

run check "$tmp/missing.json"; expect_rc 1 "check missing file"; err_has "$tmp/missing.json" "check missing file"

# a pulsed test device from --plugin-path in a SingleRPUConfig; its check hook
printf '{"rpu_config": "SingleRPUConfig", "device": {"type": "TestGoodDevice", "dw_min": 0.1}}\n' >"$tmp/single.json"
run check "$tmp/single.json" --plugin-path "$M"; expect_rc 0 "check plugin-path config"
out_has "(SingleRPUConfig, device TestGoodDevice)" "check plugin-path config"
printf '{"rpu_config": "SingleRPUConfig", "device": {"type": "TestGoodDevice", "dw_min": 0}}\n' >"$tmp/hook.json"
run check "$tmp/hook.json" --plugin-path "$M"; expect_rc 1 "check hook"; err_has "device.dw_min" "check hook"
run check "$tmp/single.json"; expect_rc 1 "check without the plugin"; err_has "TestGoodDevice" "check without the plugin"

# ---------------------------------------------------------------- check: plugin files
run check "$M/good_extra.la"; expect_rc 0 "check good_extra"
out_has "ok: device TestGoodDevice" "check good_extra"
out_has "ok: noise_model TestNoiseModel" "check good_extra"
out_has "ok: drift_compensation TestDriftCompensation" "check good_extra"
out_has "(plugin good_extra, 3 models)" "check good_extra"

for f in "$RPU_PLUGIN_PATH"/floating_point.la "$RPU_PLUGIN_PATH"/ideal.la; do
  run check "$f"; expect_rc 0 "check $f"; out_has "ok: $f" "check $f"
done

for case in "abi_major:ABI" "abi_minor_newer:newer" "no_entry:no entry point" \
            "entry_null:returned NULL" "bad_default:gain" "missing_hook:pulse_row"; do
  mod=${case%%:*}; reason=${case#*:}
  run check "$M/$mod.la"; expect_rc 1 "check $mod"
  err_has "$M/$mod.la" "check $mod"; err_has "$reason" "check $mod"
done
# loaded first, duplicate_model.la is fine on its own: its models pass
run check "$M/duplicate_model.la"; expect_rc 0 "check duplicate_model alone"

# fixed pseudo-random bytes (awk's generator with seed 1)
LC_ALL=C awk 'BEGIN { srand(1); for (i = 0; i < 4096; i++) printf "%c", 1 + int(rand() * 254) }' >"$tmp/x.so"
run check "$tmp/x.so"; expect_rc 1 "check random bytes"; err_has "$tmp/x.so" "check random bytes"
run check "$tmp/nonexistent.so"; expect_rc 1 "check missing plugin"; err_has "No such file" "check missing plugin"

echo "cli.sh: $checks runs, $fails failures"
[ "$fails" -eq 0 ]
