#!/bin/bash
# bench-flight.sh — the flight recorder over a long run: flight-churn.c (two
# threads, ~40 000 live blocks, millions of events) under
# `hmtrace record --flight-recorder`, with the agent's memory sampled every
# few seconds (VmRSS, and what the recorder itself says it holds:
# `hmtrace dump --info`), dumps taken at random moments (by `hmtrace dump` and
# by SIGUSR2) and each read back by `hmtrace report --json`.  Then the cost:
# the same program plain, in flight-recorder mode, fully traced, and in
# flight-recorder mode over samples (--sample-bytes 512K).
#
# Usage: bench-flight.sh [HMTRACE [FLIGHT-CHURN]]
#   HM_BENCH_FLIGHT_SECONDS  length of the long run (default 600, 10 minutes)
#   HM_BENCH_FLIGHT_WINDOW   the recorder's window in seconds (default 10)
#   HM_BENCH_FLIGHT_BYTES    its byte bound (default 32M)
#   HM_BENCH_FLIGHT_DUMPS    dumps at random moments (default 6)
#   HM_BENCH_REPEAT          runs per overhead measurement (default 3)
# Exits non-zero when memory went over the bound or a dump did not read.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${HM_BUILD_DIR:-$here/../../build}
hmtrace=${1:-$build/core/hmtrace}
churn=${2:-$build/tests/programs/flight-churn}
duration=${HM_BENCH_FLIGHT_SECONDS:-600}
window=${HM_BENCH_FLIGHT_WINDOW:-10}
bytes=${HM_BENCH_FLIGHT_BYTES:-32M}
n_dumps=${HM_BENCH_FLIGHT_DUMPS:-6}
repeat=${HM_BENCH_REPEAT:-3}

if [[ -z "${HM_AGENT_PATH:-}" ]]; then
  guess=$(dirname "$hmtrace")/../agent/libhybridmem.so
  [[ -e "$guess" ]] && export HM_AGENT_PATH=$(readlink -f "$guess")
fi
for f in "$hmtrace" "$churn"; do
  [[ -x "$f" ]] || { echo "bench-flight: $f is not an executable (build first)" >&2; exit 1; }
done
export HM_QUIET=1
work=$(mktemp -d "${TMPDIR:-/tmp}/hm-bench-flight.XXXXXX")
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
rss_bytes() { awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# --- 1. the long run ---------------------------------------------------------------

# The program's own memory, without the agent, over 20 s: the baseline the
# recorder's memory is added to.
"$churn" --seconds 20 >"$work/plain.out" &
plain_pid=$!
plain_rss=0
for ((i = 0; i < 19; i++)); do
  sleep 1
  r=$(rss_bytes $plain_pid); ((r > plain_rss)) && plain_rss=$r
done
wait $plain_pid

echo "bench-flight: flight-churn for ${duration} s under hmtrace record --flight-recorder $window" \
     "--flight-recorder-bytes $bytes; $(nproc) CPUs"
"$hmtrace" record --flight-recorder "$window" --flight-recorder-bytes "$bytes" \
  -o "$work/long.hmt" -- "$churn" --seconds "$duration" >"$work/long.out" &
record_pid=$!
pid=""
for ((i = 0; i < 100; i++)); do
  sleep 0.1
  pid=$(pgrep -P $record_pid -x flight-churn || true)
  [[ -n "$pid" ]] && break
done
[[ -n "$pid" ]] || { echo "bench-flight: the program did not start" >&2; exit 1; }

# random dump moments, sorted; the last one by SIGUSR2
dump_at=$(awk -v n="$n_dumps" -v d="$duration" -v seed="$RANDOM" 'BEGIN {
  srand(seed); for (i = 0; i < n; i++) printf "%d\n", 5 + rand() * (d - 10) }' | sort -n)
start=$(now)
max_rss=0; max_held=0; max_used=0; worst=""; over=0; n_samples=0
first_third_rss=0; last_third_rss=0
dumps_taken=0; dumps_valid=0; dump_times=()
printf '\n%8s %10s %12s %10s %12s %12s %12s %12s\n' "t (s)" "VmRSS MB" "window MB" "window s" \
  "live blocks" "table MB" "held MB" "bound MB"
next_print=0
while kill -0 "$pid" 2>/dev/null; do
  t=$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%d", b - a }')
  info=$("$hmtrace" dump --info "$pid" 2>/dev/null || true)
  rss=$(rss_bytes "$pid")
  if [[ -n "$info" && "$rss" -gt 0 ]]; then
    held=$(field "$info" held_bytes); used=$(field "$info" window_used_bytes)
    cap=$(field "$info" window_cap_bytes); table=$(field "$info" table_bytes)
    live=$(field "$info" live_blocks)
    span=$(awk -v ms="$(field "$info" span_ms)" 'BEGIN { printf "%.1f", ms / 1000 }')
    # the bound: the program's own memory, the window's cap, the live table,
    # stack dictionary and rings as the recorder reports them, and 16 MB for
    # the rest of the agent (stack table, tries, its threads' stacks)
    bound=$((plain_rss + held + 16 * 1048576))
    n_samples=$((n_samples + 1))
    ((rss > max_rss)) && max_rss=$rss
    ((held > max_held)) && max_held=$held
    ((used > max_used)) && max_used=$used
    if ((rss > bound || used > cap)); then over=$((over + 1)); worst="t=$t rss=$(mb $rss) bound=$(mb $bound)"; fi
    if ((t >= duration / 6 && t < duration / 3)); then ((rss > first_third_rss)) && first_third_rss=$rss; fi
    if ((t >= duration * 2 / 3)); then ((rss > last_third_rss)) && last_third_rss=$rss; fi
    if ((t >= next_print)); then
      printf '%8d %10s %12s %10s %12s %12s %12s %12s\n' "$t" "$(mb $rss)" "$(mb $used)" "$span" \
        "$live" "$(mb $table)" "$(mb $held)" "$(mb $bound)"
      next_print=$((t + (duration >= 120 ? duration / 20 : 5)))
    fi
  fi
  # a dump due?
  due=$(head -n 1 <<<"$dump_at")
  if [[ -n "$due" && "$t" -ge "$due" ]]; then
    dump_at=$(tail -n +2 <<<"$dump_at")
    dumps_taken=$((dumps_taken + 1))
    file="$work/dump-$dumps_taken.hmt"
    d0=$(now)
    if [[ -z "$dump_at" ]]; then
      # the last one by the signal: the agent names it, and counts it once
      # it is written
      before=$(field "$("$hmtrace" dump --info "$pid" 2>/dev/null || true)" dumps)
      kill -USR2 "$pid"
      for ((w = 0; w < 600; w++)); do
        sleep 0.05
        after=$(field "$("$hmtrace" dump --info "$pid" 2>/dev/null || true)" dumps)
        [[ -n "$after" && -n "$before" ]] && ((after > before)) && break
      done
      file=$(ls -t "$work"/long.flight-*.hmt 2>/dev/null | head -n 1)
    else
      "$hmtrace" dump -o "$file" "$pid" >/dev/null || file=""
    fi
    d1=$(now)
    dump_times+=("$(awk -v a="$d0" -v b="$d1" 'BEGIN { printf "%.2f", b - a }')")
    if [[ -n "$file" && -s "$file" ]] && "$hmtrace" report --json "$file" >"$work/report.json" 2>"$work/report.err" \
       && python3 - "$work/report.json" "$window" >"$work/check.txt" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
window = float(sys.argv[2])
assert r["allocations"] > 1000, "too few allocations"
assert r["duration_ns"] <= (window + 2) * 1e9, "longer than the window"
assert r["leaked_blocks"] > 10000, "the live set is missing"
print("%d allocations, %d frees, %.1f s, %d blocks live at its end" % (
    r["allocations"], r["frees"], r["duration_ns"] / 1e9, r["leaked_blocks"]))
PY
    then
      dumps_valid=$((dumps_valid + 1))
      echo "  dump $dumps_taken at t=${t}s: $(stat -c %s "$file") bytes in ${dump_times[-1]} s, read whole by hmtrace report: $(cat "$work/check.txt")"
    else
      echo "  dump $dumps_taken at t=${t}s: NOT VALID ($(cat "$work/report.err" 2>/dev/null | head -n 2))"
    fi
    rm -f "$file"
  fi
  sleep 2
done
wait $record_pid || true

echo
echo "memory: plain program $(mb $plain_rss) MB; under the recorder at most $(mb $max_rss) MB VmRSS" \
     "over $n_samples samples; the recorder held at most $(mb $max_held) MB" \
     "(window at most $(mb $max_used) MB of its $bytes)"
if ((first_third_rss > 0 && last_third_rss > 0)); then
  echo "growth: highest VmRSS in the 2nd sixth $(mb $first_third_rss) MB, in the last third" \
       "$(mb $last_third_rss) MB ($(awk -v a="$last_third_rss" -v b="$first_third_rss" 'BEGIN { printf "%.3f", a / b }')x)"
fi
if ((over > 0)); then
  echo "OVER THE BOUND in $over samples ($worst)"
else
  echo "under the bound in every sample"
fi
echo "dumps: $dumps_valid of $dumps_taken valid (opened whole by hmtrace report); times ${dump_times[*]:-} s"
# how long the program was held up at worst: its longest batch of 2 000
# operations, plain (20 s) and under the recorder with the dumps (the whole run)
echo "longest 2 000-operation batch: plain $(sed -n 's/^longest batch //p' "$work/plain.out")," \
     "under the recorder with $dumps_taken dumps $(sed -n 's/^longest batch //p' "$work/long.out")"

# --- 2. the cost --------------------------------------------------------------------

median_time() {
  local times=() s e
  for ((i = 0; i < repeat; i++)); do
    s=$(now); "$@" >/dev/null 2>"$work/stderr" || { cat "$work/stderr" >&2; exit 1; }; e=$(now)
    times+=("$(awk -v a="$s" -v b="$e" 'BEGIN { printf "%.3f", b - a }')")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
ops=1000000
plain=$(median_time "$churn" --ops $ops)
flight=$(median_time "$hmtrace" record --flight-recorder "$window" -o "$work/cost.hmt" -- "$churn" --ops $ops)
full=$(median_time "$hmtrace" record --no-lifetime -o "$work/full.hmt" -- "$churn" --ops $ops)
# the production mode: the recorder over samples
sampled_flight=$(median_time "$hmtrace" record --flight-recorder "$window" --sample-bytes 512K \
                   -o "$work/cost-sampled.hmt" -- "$churn" --ops $ops)
echo
echo "cost: flight-churn --ops $ops (2 threads, 4M events), median of $repeat runs"
printf '%-32s %10s %10s\n' "run" "wall (s)" "vs plain"
printf '%-32s %10.3f %10s\n' "plain" "$plain" "1.00"
printf '%-32s %10.3f %10s\n' "record --flight-recorder $window" "$flight" "$(ratio "$flight" "$plain")"
printf '%-32s %10.3f %10s\n' "record --no-lifetime (full)" "$full" "$(ratio "$full" "$plain")"
printf '%-32s %10.3f %10s\n' "  --flight-recorder, 512K samples" "$sampled_flight" \
  "$(ratio "$sampled_flight" "$plain")"
echo "flight recorder vs full tracing: $(ratio "$flight" "$full")x the time"

((over == 0 && dumps_valid == dumps_taken)) || exit 1
