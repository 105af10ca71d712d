#!/bin/bash
# run-all.sh — every test from scratch, the one command CI runs (.ci/run):
# installs missing Debian packages, builds in a fresh build-ci/, runs every
# meson test suite (agent, core, data, gui, tests), then the sanitizer build.
#
# Environment: HM_BUILD_DIR (default build-ci) — removed and rebuilt.
set -euo pipefail

cd "$(dirname "$0")/.."
source tests/install-deps.sh

build=${HM_BUILD_DIR:-build-ci}

hm_install_missing_packages

rm -rf "$build"
meson setup "$build"
meson compile -C "$build"

# GUI tests need a display: give them a virtual one when there is none.
runner=()
if [[ -z "${DISPLAY:-}" ]] && command -v xvfb-run >/dev/null 2>&1; then
  runner=(xvfb-run -a)
fi
"${runner[@]}" meson test -C "$build" --print-errorlogs

# ---- sanitizer build ----------------------------------------------------------
# The readers (trace format, model, symbolizer, report) built with ASan and
# UBSan read the traces the normal build just recorded, and the format tests
# cut and damage traces at every byte; hmtrace's front records them.  The agent stays out: ASan replaces
# malloc itself, so it cannot run inside an LD_PRELOAD agent's programs.
run_sanitizer_build() {
  local san=${build}-asan
  rm -rf "$san"
  meson setup "$san" -Dgui=false -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
  # hmtrace runs record itself and hands the other commands to hmtrace-tool
  meson compile -C "$san" core/hmtrace core/hmtrace-tool tests/test-trace-format >/dev/null
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  "$san/tests/test-trace-format" --tap
  local traces=0
  for program in demo threads single cxx; do
    local trace="$san/$program.hmt"
    # recorded by the sanitized front (the program itself is the normal build's)
    if ! HM_AGENT_PATH="$build/agent/libhybridmem.so" "$san/core/hmtrace" record -q -o "$trace" \
        -- "$build/tests/programs/$program" >/dev/null 2>"$san/$program.stderr"; then
      # a program's own failure is its business; the front's sanitizers are ours
      if grep -q "ERROR: \(Address\|Leak\)Sanitizer\|runtime error" "$san/$program.stderr"; then
        cat "$san/$program.stderr" >&2
        return 1
      fi
    fi
    "$san/core/hmtrace" report "$trace" >/dev/null
    "$san/core/hmtrace" report --json "$trace" >/dev/null
    # the profile tools on a profile built from the same trace
    "$san/core/hmtrace" profile from-trace "$trace" -o "$san/$program.json" >/dev/null
    "$san/core/hmtrace" profile validate "$san/$program.json" >/dev/null
    "$san/core/hmtrace" profile show "$san/$program.json" >/dev/null
    "$san/core/hmtrace" profile set "$san/$program.json" 1 strategy=adaptive
    "$san/core/hmtrace" profile diff "$san/$program.json" "$san/$program.json" >/dev/null
    traces=$((traces + 1))
  done
  echo "run-all: sanitizer build clean: trace-format tests and $traces recorded traces reported and profiled under ASan+UBSan"
}
run_sanitizer_build

# ---- fuzzing: a short run of every libFuzzer target (clang) -----------------
rm -rf "${build}-fuzz"
bash tests/fuzz/run-fuzzers.sh "$build" "${HM_FUZZ_SECONDS:-60}" | tee "$build/fuzz-summary.txt"

# ---- what the robustness checks showed (issue 8), in a few lines --------------
echo "run-all: robustness summary"
grep -h '^fuzz: ' "$build/fuzz-summary.txt" | sed 's/^/  /' || true
grep -h -E '^# (load|drop policy|reader gone|file size limit|cut|output directory deleted)[:,] ' \
  "$build/meson-logs/testlog.txt" | sed 's/^# /  /' | cut -c1-200 || true

# The closing line CI reads: meson's own results, one per test.
passed=$(grep -c '"result": "OK"' "$build/meson-logs/testlog.json" || true)
failed=$(grep -c -E '"result": "(FAIL|ERROR|TIMEOUT|UNEXPECTEDPASS)"' "$build/meson-logs/testlog.json" || true)
echo "tests: $passed passed, $failed failed"
