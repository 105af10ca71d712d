#!/bin/bash
# bench-allocators.sh — what seeing every allocator costs:
#   1. bench-malloc (5M malloc/free pairs, no mmap of its own) under
#      `hmtrace record --no-lifetime`, with this agent and, when
#      HM_BASELINE_AGENT names one built from before the mmap hooks and the
#      jemalloc/mimalloc forwarding, with that one: the ratio is what the
#      new hooks add to a program that does not mmap (should be ~1.00);
#   2. 200 000 mmap/munmap pairs of 64 KiB (tests/allocators/mappings bench),
#      plain and traced: the cost of one traced pair;
#   3. 200 000 Valgrind client requests (tests/allocators/vg-annotated N),
#      plain (a no-op) and traced (patched to trap into the agent).
# Medians of HM_BENCH_REPEAT (3) runs.
#
# Usage: bench-allocators.sh [HMTRACE [BENCH-MALLOC [ALLOCATORS-DIR]]]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${HM_BUILD_DIR:-$here/../../build}
hmtrace=${1:-$build/core/hmtrace}
bench=${2:-$build/tests/programs/bench-malloc}
programs=${3:-$build/tests/allocators}
repeat=${HM_BENCH_REPEAT:-3}
if [[ -z "${HM_AGENT_PATH:-}" ]]; then
  export HM_AGENT_PATH=$(readlink -f "$(dirname "$hmtrace")/../agent/libhybridmem.so")
fi
agent=$HM_AGENT_PATH

work=$(mktemp -d "${TMPDIR:-/tmp}/hm-bench-alloc.XXXXXX")
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }
median() { sort -g | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'; }
median_time() {
  local times=() start end
  for ((i = 0; i < repeat; i++)); do
    start=$(now)
    "$@" >/dev/null 2>"$work/stderr" || { echo "bench-allocators: '$*' failed:" >&2; cat "$work/stderr" >&2; exit 1; }
    end=$(now)
    times+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')")
  done
  printf '%s\n' "${times[@]}" | median
}
# median of what the program prints first on its output line (ns per op)
median_printed() {
  for ((i = 0; i < repeat; i++)); do
    "$@" 2>/dev/null | awk '/ns per/ { print $1 }'
  done | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo "bench-allocators: median of $repeat runs, $(nproc) CPUs"

plain=$(median_time "$bench")
traced=$(median_time "$hmtrace" record --no-lifetime -o "$work/a.hmt" -- "$bench")
printf '  bench-malloc plain                      %6.3f s\n' "$plain"
printf '  bench-malloc traced, this agent         %6.3f s  (%sx plain)\n' "$traced" "$(ratio "$traced" "$plain")"
if [[ -n "${HM_BASELINE_AGENT:-}" && -e "$HM_BASELINE_AGENT" ]]; then
  base=$(HM_AGENT_PATH=$HM_BASELINE_AGENT median_time "$hmtrace" record --no-lifetime -o "$work/b.hmt" -- "$bench")
  printf '  bench-malloc traced, baseline agent     %6.3f s  (%sx plain)\n' "$base" "$(ratio "$base" "$plain")"
  printf '  what the new hooks add to bench-malloc  %sx\n' "$(ratio "$traced" "$base")"
else
  echo "  (set HM_BASELINE_AGENT to an agent built before the mmap hooks to compare)"
fi

if [[ -x "$programs/mappings" ]]; then
  m_plain=$(median_printed "$programs/mappings" bench 200000)
  m_traced=$(median_printed "$hmtrace" record --no-lifetime -q -o "$work/m.hmt" -- "$programs/mappings" bench 200000)
  printf '  mmap+munmap pair plain                  %8.0f ns\n' "$m_plain"
  printf '  mmap+munmap pair traced                 %8.0f ns  (+%.0f ns, %sx)\n' "$m_traced" \
    "$(awk -v a="$m_traced" -v b="$m_plain" 'BEGIN { print a - b }')" "$(ratio "$m_traced" "$m_plain")"
fi
if [[ -x "$programs/vg-annotated" ]]; then
  v_plain=$(median_printed "$programs/vg-annotated" 200000)
  v_traced=$(median_printed "$hmtrace" record --no-lifetime -q -o "$work/v.hmt" -- "$programs/vg-annotated" 200000)
  printf '  Valgrind client request plain           %8.1f ns\n' "$v_plain"
  printf '  Valgrind client request traced          %8.1f ns  (+%.0f ns each)\n' "$v_traced" \
    "$(awk -v a="$v_traced" -v b="$v_plain" 'BEGIN { print a - b }')"
fi
