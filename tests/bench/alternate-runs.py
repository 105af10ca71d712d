#!/usr/bin/env python3
"""alternate-runs.py — wall times of commands run in turn, so that a busy
machine's load falls on all of them alike.

Usage: alternate-runs.py REPEAT NAME=COMMAND [NAME=COMMAND ...]
  COMMAND is split like a shell line (shlex), and leading VAR=VALUE words
  go to its environment, as in a shell (not through env(1), whose own exec
  would be timed); the first NAME is the baseline.

Prints a line per command:  result NAME BEST_MS MEDIAN_MS BEST_RATIO PAIRED_RATIO
with its best and median wall time and, against the baseline, the
best-to-best ratio and the median of the ratios of runs made side by side
(one run of each, in turn): the two a noisy machine disturbs least.
A command that fails stops everything with its stderr.
"""
import os, shlex, statistics, subprocess, sys, time


def run(command):
    env, argv = command
    start = time.perf_counter()
    p = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    if p.returncode != 0:
        sys.exit("alternate-runs: %s failed (%d): %s"
                 % (" ".join(argv), p.returncode, p.stderr.decode(errors="replace")))
    return wall


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    repeat = int(sys.argv[1])
    commands = []
    for spec in sys.argv[2:]:
        name, _, line = spec.partition("=")
        words = shlex.split(line)
        env = dict(os.environ)
        while words and "=" in words[0] and not words[0].startswith("="):
            var, _, value = words.pop(0).partition("=")
            env[var] = value
        commands.append((name, (env, words)))
    for _, command in commands:   # the page cache, the dynamic loader's caches
        run(command)
    walls = {name: [] for name, _ in commands}
    for _ in range(repeat):
        for name, command in commands:
            walls[name].append(run(command))
    base = commands[0][0]
    for name, _ in commands:
        w = walls[name]
        paired = statistics.median(a / b for a, b in zip(w, walls[base]))
        print("result %s %.1f %.1f %.3f %.3f" % (name, 1000 * min(w), 1000 * statistics.median(w),
                                                 min(w) / min(walls[base]), paired))


main()
