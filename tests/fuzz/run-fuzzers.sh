#!/bin/bash
# run-fuzzers.sh — builds the libFuzzer targets with clang and runs each for a
# while on a seed corpus made from real traces; prints executions and crashes.
# A crash leaves its input in the build dir (crash-*) and fails the script:
# turn it into a regression test under tests/fuzz/regressions/.
#
# Usage: run-fuzzers.sh NORMAL_BUILD_DIR [SECONDS_PER_TARGET]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
normal=$(cd "$1" && pwd)
seconds=${2:-60}
fuzz=$normal-fuzz

cd "$top"
if [[ ! -d "$fuzz" ]]; then
  CC=clang meson setup "$fuzz" -Dgui=false -Dfuzzers=true >/dev/null
fi
meson compile -C "$fuzz" tests/fuzz/fuzz-trace-reader >/dev/null

# Seeds: whole traces of small programs, recorded by the normal build, and
# the regression inputs of earlier crashes.
corpus=$fuzz/corpus-trace-reader
mkdir -p "$corpus"
for program in exit3 single forker; do
  HM_AGENT_PATH="$normal/agent/libhybridmem.so" "$normal/core/hmtrace" record -q \
    -o "$corpus/$program.hmt" -- "$normal/tests/programs/$program" >/dev/null 2>&1 || true
done
if [[ -d "$here/regressions" ]]; then
  cp "$here"/regressions/* "$corpus"/ 2>/dev/null || true
fi

log=$fuzz/fuzz-trace-reader.log
status=0
( cd "$fuzz" && ./tests/fuzz/fuzz-trace-reader -max_total_time="$seconds" -max_len=65536 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$corpus" ) >"$log" 2>&1 || status=$?
execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
shopt -s nullglob
findings=("$fuzz"/crash-* "$fuzz"/timeout-* "$fuzz"/leak-* "$fuzz"/oom-*)
crashes=${#findings[@]}
echo "fuzz: trace-reader: ${execs:-0} executions in ${seconds}s, $crashes crashes"
if ((status != 0 || crashes > 0)); then
  tail -40 "$log" >&2
  exit 1
fi
