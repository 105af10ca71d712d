#!/bin/bash
# bench-overhead.sh — what recording costs: bench-malloc (5M malloc/free
# pairs, 20 000 live blocks) run plain, under `hmtrace record --no-lifetime`
# (recording alone, what heaptrack does), under `hmtrace record` (its default,
# with lifetime analysis: a table entry and a quarantine slot per block, a
# stack per free), and under heaptrack when it is installed.  Each is run HM_BENCH_REPEAT times (3) and
# the median wall time is reported with its ratio to the plain run of the same
# session, plus trace sizes and bytes per event.
#
# Usage: bench-overhead.sh [HMTRACE [BENCH-MALLOC]]
#   defaults: build/core/hmtrace and build/tests/programs/bench-malloc;
#   HM_AGENT_PATH defaults to the agent beside that hmtrace's build.
# `meson test -C build --benchmark` runs it with the build's paths.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${HM_BUILD_DIR:-$here/../../build}
hmtrace=${1:-$build/core/hmtrace}
bench=${2:-$build/tests/programs/bench-malloc}
repeat=${HM_BENCH_REPEAT:-3}

if [[ -z "${HM_AGENT_PATH:-}" ]]; then
  guess=$(dirname "$hmtrace")/../agent/libhybridmem.so
  [[ -e "$guess" ]] && export HM_AGENT_PATH=$(readlink -f "$guess")
fi
for f in "$hmtrace" "$bench"; do
  [[ -x "$f" ]] || { echo "bench-overhead: $f is not an executable (build first)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/hm-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }

# median_time LABEL COMMAND...: runs COMMAND $repeat times, prints the median
# wall time in seconds.
median_time() {
  local times=() start end
  for ((i = 0; i < repeat; i++)); do
    start=$(now)
    "$@" >/dev/null 2>"$work/stderr" || {
      echo "bench-overhead: '$*' failed:" >&2; cat "$work/stderr" >&2; exit 1; }
    end=$(now)
    times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo "bench-overhead: $(basename "$bench"), median of $repeat runs, $(nproc) CPUs"

plain=$(median_time "$bench")

trace=$work/bench.hmt
# recording alone, as heaptrack does; then the default, with lifetime analysis
hm=$(median_time "$hmtrace" record --no-lifetime -o "$trace" -- "$bench")
hm_lifetime=$(median_time "$hmtrace" record -o "$work/lifetime.hmt" -- "$bench")
trace_bytes=$(stat -c %s "$trace")
events=$("$hmtrace" report --json "$trace" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(r["allocations"] + r["frees"])')

have_heaptrack=0
if command -v heaptrack >/dev/null 2>&1; then
  have_heaptrack=1
  ht=$(median_time heaptrack -o "$work/heaptrack" "$bench")
  ht_file=$(ls "$work"/heaptrack.* | head -n 1)
  ht_bytes=$(stat -c %s "$ht_file")
fi

printf '\n%-22s %10s %12s %14s %14s\n' "run" "wall (s)" "vs plain" "trace bytes" "bytes/event"
printf '%-22s %10.3f %12s %14s %14s\n' "plain" "$plain" "1.00" "-" "-"
printf '%-22s %10.3f %12s %14s %14s\n' "record --no-lifetime" "$hm" "$(ratio "$hm" "$plain")" \
  "$trace_bytes" "$(ratio "$trace_bytes" "$events")"
printf '%-22s %10.3f %12s %14s %14s\n' "record (lifetime)" "$hm_lifetime" \
  "$(ratio "$hm_lifetime" "$plain")" "-" "-"
if ((have_heaptrack)); then
  printf '%-22s %10.3f %12s %14s %14s\n' "heaptrack" "$ht" "$(ratio "$ht" "$plain")" \
    "$ht_bytes" "$(ratio "$ht_bytes" "$events")"
  printf '\nheaptrack / hmtrace wall time: %s  (%s is heaptrack'"'"'s compressed %s file)\n' \
    "$(ratio "$ht" "$hm")" "$ht_bytes" "${ht_file##*.}"
else
  printf '\nheaptrack is not installed: no comparison\n'
fi
printf 'events (allocations + frees from hmtrace report): %s\n' "$events"
