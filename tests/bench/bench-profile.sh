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
# Wall times are the median of HM_BENCH_REPEAT runs (5).
# Usage: bench-profile.sh [BUILD_DIR]   (meson test --benchmark passes it)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-${HM_BUILD_DIR:-$here/../../build}}" && pwd)
agent=$build/agent/libhybridmem.so
hmtrace=$build/core/hmtrace
programs=$build/tests/programs
repeat=${HM_BENCH_REPEAT:-5}
for f in "$agent" "$hmtrace" "$programs/bench-mq" "$programs/bench-fragment" "$programs/bench-malloc"; do
  [[ -e "$f" ]] || { echo "bench-profile: $f is missing (build first)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/hm-bench-profile.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"   # no memory_profile.json of anyone else's is applied by accident

now() { date +%s%N; }

# median_ms COMMAND...: the median wall time of $repeat runs, in ms.
median_ms() {
  local times=() start end
  for ((i = 0; i < repeat; i++)); do
    start=$(now)
    "$@" >/dev/null 2>"$work/stderr" || {
      echo "bench-profile: '$*' failed:" >&2; cat "$work/stderr" >&2; exit 1; }
    end=$(now)
    times+=($(((end - start) / 1000000)))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN {
  ok = dir == "ge" ? v >= t : v <= t; print ok ? "met" : "MISSED" }'; }

echo "bench-profile: median of $repeat runs, $(nproc) CPUs"

# ---- 1. the message queue ----------------------------------------------------------
HM_ENABLE_PROFILING=1 HM_PROFILE_PATH=$work/mq.json LD_PRELOAD=$agent \
  "$programs/bench-mq" 1000000
"$hmtrace" profile set "$work/mq.json" global strategy=adaptive
mq_plain=$(median_ms "$programs/bench-mq")
mq_applied=$(median_ms env HM_PROFILE_PATH="$work/mq.json" LD_PRELOAD="$agent" "$programs/bench-mq")
mq_speedup=$(ratio "$mq_plain" "$mq_applied")
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
bm_plain=$(median_ms "$programs/bench-malloc")
bm_hooks=$(median_ms env HM_PROFILE_PATH="$work/none.json" LD_PRELOAD="$agent" "$programs/bench-malloc")
bm_prof=$(median_ms env HM_ENABLE_PROFILING=1 HM_PROFILE_PATH="$work/bm.json" LD_PRELOAD="$agent" \
          "$programs/bench-malloc")
bm_exact=$(median_ms env HM_ENABLE_PROFILING=1 HM_PROFILE_SAMPLE_BYTES=0 HM_PROFILE_PATH="$work/bm-exact.json" \
           LD_PRELOAD="$agent" "$programs/bench-malloc")

printf '\n%-48s %12s %12s %8s %8s\n' "benchmark" "glibc" "hybridmem" "ratio" "target"
printf '%-48s %10s ms %10s ms %8s %8s  %s\n' "bench-mq, adaptive profile ($pooled sites pooled)" \
  "$mq_plain" "$mq_applied" "$(ratio "$mq_plain" "$mq_applied")x" ">=1.20x" \
  "$(verdict "$mq_speedup" 1.2 ge)"
printf '%-48s %9s KiB %9s KiB %7s%% %8s  %s\n' "bench-fragment peak RSS, minimize-memory" \
  "$rss_plain" "$rss_min" "-$rss_saved" "<=-20%" "$(verdict "$rss_saved" 20 ge)"
printf '%-48s %10s ms %10s ms %8s %8s  %s\n' "bench-malloc, profiling on, tracing off" \
  "$bm_plain" "$bm_prof" "$(ratio "$bm_prof" "$bm_plain")x" "<=1.15x" \
  "$(verdict "$(ratio "$bm_prof" "$bm_plain")" 1.15 le)"
printf '%-48s %10s ms %10s ms %8s\n' "  of which the hooks alone (agent, no profile)" \
  "$bm_plain" "$bm_hooks" "$(ratio "$bm_hooks" "$bm_plain")x"
printf '%-48s %10s ms %10s ms %8s\n' "  profiling over the hooks alone" \
  "$bm_hooks" "$bm_prof" "$(ratio "$bm_prof" "$bm_hooks")x"
printf '%-48s %10s ms %10s ms %8s\n' "  exact counts (HM_PROFILE_SAMPLE_BYTES=0)" \
  "$bm_plain" "$bm_exact" "$(ratio "$bm_exact" "$bm_plain")x"
