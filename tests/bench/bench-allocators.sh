#!/bin/bash
# bench-allocators.sh — what seeing every allocator costs:
#   1. bench-malloc (5M malloc/free pairs, no mmap of its own) under
#      `hmtrace record --no-lifetime`, with this agent and, when
#      HM_BASELINE_AGENT names one built from before the mmap hooks and the
#      jemalloc/mimalloc forwarding, with that one: the ratio is what the
#      new hooks add to a program that does not mmap (should be ~1.00).
#      The two agents' runs alternate; medians and fastest runs are both
#      compared (on a shared, noisy machine the fastest is the steadier);
#   2. 200 000 mmap/munmap pairs of 64 KiB (tests/allocators/mappings bench),
#      plain and traced: the cost of one traced pair;
#   3. 200 000 Valgrind client requests (tests/allocators/vg-annotated N),
#      plain (a no-op) and traced (patched to trap into the agent).
# HM_BENCH_REPEAT (3) runs of each.
#
# Usage: bench-allocators.sh [HMTRACE [BENCH-MALLOC [ALLOCATORS-DIR]]]
#   e.g. HM_BENCH_REPEAT=5 HM_BASELINE_AGENT=/tmp/base/build/agent/libhybridmem.so \
#        tests/bench/bench-allocators.sh
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

work=$(mktemp -d "${TMPDIR:-/tmp}/hm-bench-alloc.XXXXXX")
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }
median() { sort -g | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'; }
fastest() { sort -g | head -1; }
# one_time COMMAND...: the wall time of one run, in seconds
one_time() {
  local start end
  start=$(now)
  "$@" >/dev/null 2>"$work/stderr" || { echo "bench-allocators: '$*' failed:" >&2; cat "$work/stderr" >&2; exit 1; }
  end=$(now)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}
# median of what the program prints first on its "ns per" line
median_printed() {
  for ((i = 0; i < repeat; i++)); do
    "$@" 2>/dev/null | awk '/ns per/ { print $1 }'
  done | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo "bench-allocators: $repeat runs each, $(nproc) CPUs"

for ((i = 0; i < repeat; i++)); do one_time "$bench"; done >"$work/plain"
plain=$(median <"$work/plain")
printf '  bench-malloc plain                      %6.3f s\n' "$plain"
: >"$work/new"
: >"$work/base"
for ((i = 0; i < repeat; i++)); do
  one_time "$hmtrace" record --no-lifetime -o "$work/a.hmt" -- "$bench" >>"$work/new"
  if [[ -n "${HM_BASELINE_AGENT:-}" && -e "$HM_BASELINE_AGENT" ]]; then
    HM_AGENT_PATH=$HM_BASELINE_AGENT one_time "$hmtrace" record --no-lifetime -o "$work/b.hmt" -- "$bench" >>"$work/base"
  fi
done
new=$(median <"$work/new")
printf '  bench-malloc traced, this agent         %6.3f s  (%sx plain; fastest %s s)\n' \
  "$new" "$(ratio "$new" "$plain")" "$(fastest <"$work/new")"
if [[ -s "$work/base" ]]; then
  base=$(median <"$work/base")
  printf '  bench-malloc traced, baseline agent     %6.3f s  (%sx plain; fastest %s s)\n' \
    "$base" "$(ratio "$base" "$plain")" "$(fastest <"$work/base")"
  printf '  what the new hooks add to bench-malloc  %sx by medians, %sx by fastest runs\n' \
    "$(ratio "$new" "$base")" "$(ratio "$(fastest <"$work/new")" "$(fastest <"$work/base")")"
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
