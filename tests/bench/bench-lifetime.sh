#!/bin/bash
# bench-lifetime.sh — what the reachability scan costs: bench-lifetime.c
# builds a live heap (HM_BENCH_MB, default 64 MB of blocks, plus their
# pointer array) and runs hm_analyze once; we report its scan time per MB of
# live heap and how long the world stood still.  When clang with
# LeakSanitizer is installed, the same source is built with
# -fsanitize=leak and run with and without LSAN_OPTIONS=detect_leaks=1: the
# difference is LeakSanitizer's at-exit check on the same heap, and the
# ratios are measured in this same run.  Medians of HM_BENCH_REPEAT (5) runs.
#
# Usage: bench-lifetime.sh [BENCH-LIFETIME [bench-lifetime.c]]
#   defaults: build/tests/lifetime/bench-lifetime and this folder's source.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${HM_BUILD_DIR:-$here/../../build}
bench=${1:-$build/tests/lifetime/bench-lifetime}
source=${2:-$here/bench-lifetime.c}
repeat=${HM_BENCH_REPEAT:-5}
export HM_BENCH_MB=${HM_BENCH_MB:-64}

[[ -x "$bench" ]] || { echo "bench-lifetime: $bench is not an executable (build first)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/hm-bench-lifetime.XXXXXX")
trap 'rm -rf "$work"' EXIT

median () { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
now_ns () { date +%s%N; }

# ours: hm_analyze's own measurements (the exit scan afterwards is not timed)
for i in $(seq "$repeat"); do
  HM_LIFETIME_ANALYSIS=1 HM_QUIET=1 "$bench" > "$work/ours.$i"
done
field () { sed -n "s/.* $1=\([0-9]*\).*/\1/p; s/^$1=\([0-9]*\).*/\1/p" "$work"/ours.* | median; }
live=$(field live_bytes)
blocks=$(field blocks)
pause=$(field pause_ns)
total=$(field total_ns)
ok=$(field ok)
[[ "$ok" == 1 ]] || { echo "bench-lifetime: the scan could not run" >&2; exit 1; }
mb=$(awk -v b="$live" 'BEGIN { printf "%.1f", b / 1048576 }')
per_mb () { awk -v ns="$1" -v b="$live" 'BEGIN { printf "%.2f", ns / 1e6 / (b / 1048576) }'; }
ms () { awk -v ns="$1" 'BEGIN { printf "%.1f", ns / 1e6 }'; }

echo "live heap: $mb MB in $blocks blocks (HM_BENCH_MB=$HM_BENCH_MB), medians of $repeat runs"
echo "hybridmem hm_analyze:   $(ms "$total") ms = $(per_mb "$total") ms/MB," \
     "world stopped $(ms "$pause") ms = $(per_mb "$pause") ms/MB"

clang=${CLANG:-clang}
if ! command -v "$clang" > /dev/null \
   || ! "$clang" -O2 -fsanitize=leak "$source" -o "$work/lsan" -lpthread 2> "$work/clang.err"; then
  echo "LeakSanitizer: not available (clang -fsanitize=leak failed); no comparison"
  exit 0
fi
run_lsan () {
  local start end
  start=$(now_ns)
  LSAN_OPTIONS=detect_leaks=$1 "$work/lsan"
  end=$(now_ns)
  echo $((end - start))
}
for i in $(seq "$repeat"); do
  run_lsan 1 >> "$work/lsan.on"
  run_lsan 0 >> "$work/lsan.off"
done
on=$(median < "$work/lsan.on")
off=$(median < "$work/lsan.off")
check=$((on > off ? on - off : 0))
echo "LeakSanitizer at exit:  $(ms "$check") ms = $(per_mb "$check") ms/MB" \
     "(run $(ms "$on") ms with the check, $(ms "$off") ms without; LSan stops the world too)"
if [[ "$check" -gt 0 ]]; then
  awk -v t="$total" -v p="$pause" -v c="$check" 'BEGIN {
    printf "ratio to LeakSanitizer: hm_analyze %.2fx, world stopped %.2fx\n", t / c, p / c }'
fi
