#!/bin/bash
# bench-profile.sh — what profile-guided allocation buys and what profiling
# costs, each measured against plain glibc in the same run:
#
#   1. bench-mq (a producer and a consumer thread, 48- and 96-byte messages
#      freed in FIFO order): plain, then with its recorded profile set to
#      adaptive, tracing off.  Target: >= 1.2x faster.
#   2. bench-fragment (small blocks mostly freed, then bigger ones): peak RSS
#      plain and with its profile under minimize-memory.  Target: >= 20% less.
#   3. bench-malloc with HM_ENABLE_PROFILING=1, tracing off, against plain
#      (and against the agent preloaded with nothing to do, which is what
#      the hooks alone cost).  Target: <= 1.15x plain.  The profile counts
#      from byte samples (64 KiB); exact counts are shown beside.
#
# Wall times: the commands of a comparison are run in turn HM_BENCH_REPEAT
# times (11), so that the machine's load falls on all alike; a ratio is the
# median of the side-by-side ratios, with the best-to-best one beside it
# (tests/bench/alternate-runs.py).
# Usage: bench-profile.sh [BUILD_DIR]   (meson test --benchmark passes it)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-${HM_BUILD_DIR:-$here/../../build}}" && pwd)
agent=$build/agent/libhybridmem.so
hmtrace=$build/core/hmtrace
programs=$build/tests/programs
repeat=${HM_BENCH_REPEAT:-11}
for f in "$agent" "$hmtrace" "$programs/bench-mq" "$programs/bench-fragment" "$programs/bench-malloc"; do
  [[ -e "$f" ]] || { echo "bench-profile: $f is missing (build first)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/hm-bench-profile.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"   # no memory_profile.json of anyone else's is applied by accident

# alternate NAME=COMMAND...: runs them in turn; sets best_ms[NAME],
# median_ms[NAME], best_ratio[NAME] and paired[NAME] (against the first).
declare -A best_ms median_ms best_ratio paired
alternate() {
  local out word name best median br pr
  out=$(python3 "$here/alternate-runs.py" "$repeat" "$@") || exit 1
  while read -r word name best median br pr; do
    [[ $word == result ]] || continue
    best_ms[$name]=$best median_ms[$name]=$median best_ratio[$name]=$br paired[$name]=$pr
  done <<<"$out"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN {
  ok = dir == "ge" ? v >= t : v <= t; print ok ? "met" : "MISSED" }'; }

echo "bench-profile: $repeat runs of each command, in turn, $(nproc) CPUs"

# ---- 1. the message queue ----------------------------------------------------------
HM_ENABLE_PROFILING=1 HM_PROFILE_PATH=$work/mq.json LD_PRELOAD=$agent \
  "$programs/bench-mq" 1000000
"$hmtrace" profile set "$work/mq.json" global strategy=adaptive
alternate "mq_plain=$programs/bench-mq" \
  "mq_applied=HM_PROFILE_PATH=$work/mq.json LD_PRELOAD=$agent $programs/bench-mq"
mq_speedup=$(ratio 1 "${paired[mq_applied]}")
pooled=$(HM_PROFILE_PATH=$work/mq.json HM_AGENT_PATH=$agent "$hmtrace" record -q --no-lifetime -o "$work/mq.hmt" \
           -- "$programs/bench-mq" 10000 >/dev/null 2>&1 \
         && "$hmtrace" report --json "$work/mq.hmt" | python3 -c '
import json, sys
print(sum(d["choice"] == "pool" for d in json.load(sys.stdin)["profile_decisions"]))' || echo "?")

# ---- 2. fragmentation under minimize-memory ---------------------------------------
HM_ENABLE_PROFILING=1 HM_PROFILE_PATH=$work/fragment.json LD_PRELOAD=$agent \
  "$programs/bench-fragment" 8 >/dev/null
"$hmtrace" profile set "$work/fragment.json" global strategy=minimize-memory
rss_plain=$("$programs/bench-fragment" | awk '{ print $2 }')
rss_min=$(HM_PROFILE_PATH=$work/fragment.json LD_PRELOAD=$agent "$programs/bench-fragment" \
          | awk '{ print $2 }')
rss_saved=$(awk -v a="$rss_plain" -v b="$rss_min" 'BEGIN { printf "%.0f", 100 * (a - b) / a }')

# ---- 3. what profiling costs -------------------------------------------------------
alternate "bm_plain=$programs/bench-malloc" \
  "bm_hooks=HM_PROFILE_PATH=$work/none.json LD_PRELOAD=$agent $programs/bench-malloc" \
  "bm_prof=HM_ENABLE_PROFILING=1 HM_PROFILE_PATH=$work/bm.json LD_PRELOAD=$agent $programs/bench-malloc" \
  "bm_exact=HM_ENABLE_PROFILING=1 HM_PROFILE_SAMPLE_BYTES=0 HM_PROFILE_PATH=$work/bm-exact.json LD_PRELOAD=$agent $programs/bench-malloc"

# row LABEL BASE NAME [TARGET DIRECTION]: best times, the side-by-side ratio
# (or its inverse, a speed-up, for "ge"), the best-to-best one, a verdict.
row() {
  local label=$1 base=$2 name=$3 target=${4:-} dir=${5:-} r rb
  r=${paired[$name]} rb=${best_ratio[$name]}
  if [[ $dir == ge ]]; then r=$(ratio 1 "$r") rb=$(ratio 1 "$rb"); fi
  printf '%-46s %8s ms %8s ms %7sx %7sx' "$label" "${best_ms[$base]}" "${best_ms[$name]}" \
    "$(printf '%.2f' "$r")" "$(printf '%.2f' "$rb")"
  if [[ -n $target ]]; then
    printf ' %8s  %s' "$([[ $dir == ge ]] && echo ">=" || echo "<=")${target}x" \
      "$(verdict "$r" "$target" "$dir")"
  fi
  printf '\n'
}

printf '\n%-46s %11s %11s %8s %8s %8s\n' "benchmark (best times)" "glibc" "hybridmem" "ratio" \
  "best" "target"
row "bench-mq, adaptive profile ($pooled sites pooled)" mq_plain mq_applied 1.20 ge
printf '%-46s %8s KiB %8s KiB %7s%% %8s %8s  %s\n' "bench-fragment peak RSS, minimize-memory" \
  "$rss_plain" "$rss_min" "-$rss_saved" "" "<=-20%" "$(verdict "$rss_saved" 20 ge)"
row "bench-malloc, profiling on, tracing off" bm_plain bm_prof 1.15 le
row "  the hooks alone (agent, no profile)" bm_plain bm_hooks
row "  exact counts (HM_PROFILE_SAMPLE_BYTES=0)" bm_plain bm_exact
echo "ratio: the median of side-by-side ratios; best: best time against best time"

# Instructions do not vary with the machine's load: the same comparison
# counted by callgrind (500 000 pairs, program start and exit included).
if command -v valgrind >/dev/null; then
  instructions() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 \
      | awk '/Collected :/ { print $NF }'
  }
  ir_plain=$(instructions "$programs/bench-malloc" 500000)
  ir_prof=$(HM_ENABLE_PROFILING=1 HM_PROFILE_PATH=$work/ir.json LD_PRELOAD=$agent \
              instructions "$programs/bench-malloc" 500000)
  ir_hooks=$(HM_PROFILE_PATH=$work/none.json LD_PRELOAD=$agent instructions "$programs/bench-malloc" 500000)
  printf 'instructions (callgrind, bench-malloc 500000): plain %s, hooks alone %s (%sx), profiling %s (%sx)\n' \
    "$ir_plain" "$ir_hooks" "$(ratio "$ir_hooks" "$ir_plain")" "$ir_prof" "$(ratio "$ir_prof" "$ir_plain")"
fi
