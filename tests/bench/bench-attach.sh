#!/bin/bash
# bench-attach.sh — what attaching costs.  attach-bench waits for a line on
# stdin, then times 2 x ITERATIONS malloc/free pairs.  In one session, each
# HM_BENCH_REPEAT times (9), in turn:
#   plain      never attached to;
#   injected   started without the agent; hmtrace attach injects it, traces
#              for 0.3 s and detaches; then the timed work;
#   preloaded  started with the agent preloaded (listening), never attached to;
#   socket     the same, attached through the agent's socket and detached the
#              same way; then the timed work.
# Prints the median attach latency (hmtrace attach's start to the first
# trace bytes, as it reports it) and the speed after the detach relative to
# the same program never attached to (injected vs plain, socket vs
# preloaded): CPU time never attached / CPU time after the detach, for each
# pair of runs made back to back (so that the machine's changing load
# cancels out), as the median and the range of the pairs; 1.00x = as fast
# as before.
#
# Usage: bench-attach.sh [HMTRACE [ATTACH-BENCH [ITERATIONS]]]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${HM_BUILD_DIR:-$here/../../build}
hmtrace=${1:-$build/core/hmtrace}
bench=${2:-$build/tests/programs/attach-bench}
iterations=${3:-10000000}
repeat=${HM_BENCH_REPEAT:-9}

if [[ -z "${HM_AGENT_PATH:-}" ]]; then
  guess=$(dirname "$hmtrace")/../agent/libhybridmem.so
  [[ -e "$guess" ]] && export HM_AGENT_PATH=$(readlink -f "$guess")
fi
for f in "$hmtrace" "$bench"; do
  [[ -x "$f" ]] || { echo "bench-attach: $f is not an executable (build first)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/hm-bench-attach.XXXXXX")
trap 'rm -rf "$work"' EXIT

# run MODE: prints "CPU_NS LATENCY_MS" (latency "-" when not attached)
run() {
  local mode=$1 preload="" latency=- line ns wall
  [[ $mode == socket || $mode == preloaded ]] && preload=$HM_AGENT_PATH
  coproc TARGET { exec env LD_PRELOAD="$preload" "$bench" "$iterations" 2>/dev/null; }
  local pid=$TARGET_PID
  read -r line <&"${TARGET[0]}"
  [[ $line == ready ]] || { echo "bench-attach: attach-bench said '$line'" >&2; exit 1; }
  if [[ $mode == injected || $mode == socket ]]; then
    if ! "$hmtrace" attach -o "$work/$mode.hmt" --duration 0.3 "$pid" 2>"$work/stderr"; then
      echo "bench-attach: hmtrace attach failed:" >&2; cat "$work/stderr" >&2; kill "$pid"; exit 1
    fi
    latency=$(sed -n 's/.* in \([0-9.]*\) ms.*/\1/p' "$work/stderr" | head -1)
    if [[ $mode == injected ]] && ! grep -q "agent injected" "$work/stderr"; then
      echo "bench-attach: the agent was not injected:" >&2; cat "$work/stderr" >&2; exit 1
    fi
  fi
  echo go >&"${TARGET[1]}"
  read -r ns wall <&"${TARGET[0]}"
  wait "$pid" || true
  echo "$ns $latency"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }
med() { tr ' ' '\n' <<<"$1" | grep . | median; }

declare -A times latencies
for ((i = 0; i < repeat; i++)); do
  for mode in plain injected preloaded socket; do
    read -r ns latency < <(run "$mode")
    times[$mode]+="$ns "
    latencies[$mode]+="$latency "
  done
done

echo "bench-attach: attach-bench, 2 threads x $iterations malloc/free pairs, $repeat runs each, $(nproc) CPUs"
echo "  (latency: median; speed: CPU time never attached / after the detach, per back-to-back pair: median [min-max])"
for pair in "injected plain" "socket preloaded"; do
  read -r mode base <<<"$pair"
  read -r -a after <<<"${times[$mode]}"
  read -r -a never <<<"${times[$base]}"
  ratios=""
  for ((i = 0; i < ${#after[@]}; i++)); do
    ratios+="$(ratio "${never[$i]}" "${after[$i]}") "
  done
  l=$(med "${latencies[$mode]}")
  r=$(med "$ratios")
  lo=$(tr ' ' '\n' <<<"$ratios" | grep . | sort -g | head -1)
  hi=$(tr ' ' '\n' <<<"$ratios" | grep . | sort -g | tail -1)
  printf '  %-8s attach latency %6s ms (aim < 200); speed after the detach vs never attached (%s): %sx [%s-%s] (aim 1.0)\n' \
    "$mode" "$l" "$base" "$r" "$lo" "$hi"
done
