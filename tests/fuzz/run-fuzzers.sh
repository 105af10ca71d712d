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
# The build's output is shown only when it fails, so CI says why.
if ! meson compile -C "$fuzz" tests/fuzz/fuzz-trace-reader tests/fuzz/fuzz-profile-loader \
  tests/fuzz/fuzz-agent-profile >"$fuzz/build.log" 2>&1; then
  grep -E -B2 -A6 'error|FAILED' "$fuzz/build.log" | head -60 >&2
  echo "fuzz: the clang fuzz build failed (log: $fuzz/build.log)" >&2
  exit 1
fi

# Seeds: whole traces of small programs, recorded by the normal build, and
# the regression inputs of earlier crashes.
corpus=$fuzz/corpus-trace-reader
mkdir -p "$corpus"
for program in exit3 single forker; do
  HM_AGENT_PATH="$normal/agent/libhybridmem.so" "$normal/core/hmtrace" record -q \
    -o "$corpus/$program.hmt" -- "$normal/tests/programs/$program" >/dev/null 2>&1 || true
done
cp "$here"/seeds-trace/* "$corpus"/
if [[ -d "$here/regressions" ]]; then
  cp "$here"/regressions/* "$corpus"/ 2>/dev/null || true
fi

# run_target NAME CORPUS MAX_LEN: runs one target, prints its line, fails the
# script on a crash.
status=0
run_target() {
  local name=$1 corpus=$2 max_len=$3 log=$fuzz/fuzz-$1.log target_status=0
  ( cd "$fuzz" && ./tests/fuzz/fuzz-$name -max_total_time="$seconds" -max_len="$max_len" \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$corpus" ) >"$log" 2>&1 || target_status=$?
  local execs
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  shopt -s nullglob
  local findings=("$fuzz"/crash-* "$fuzz"/timeout-* "$fuzz"/leak-* "$fuzz"/oom-*)
  echo "fuzz: $name: ${execs:-0} executions in ${seconds}s, ${#findings[@]} crashes"
  if ((target_status != 0 || ${#findings[@]} > 0)); then
    tail -40 "$log" >&2
    status=1
  fi
}

run_target trace-reader "$corpus" 65536

# Profiles: the checked-in seeds and one built from a real trace.
profile_corpus=$fuzz/corpus-profile-loader
mkdir -p "$profile_corpus"
cp "$here"/seeds-profile/* "$profile_corpus"/
"$normal/core/hmtrace" profile from-trace "$corpus/single.hmt" -o "$profile_corpus/single.json" \
  >/dev/null 2>&1 || true
run_target profile-loader "$profile_corpus" 16384
# the agent's parser reads the same files
agent_corpus=$fuzz/corpus-agent-profile
mkdir -p "$agent_corpus"
cp "$profile_corpus"/* "$agent_corpus"/
run_target agent-profile "$agent_corpus" 16384
exit $status
