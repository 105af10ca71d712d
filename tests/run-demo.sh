#!/bin/bash
# run-demo.sh — see hybridmem work on a fresh Debian machine: installs missing
# packages, builds in build/ (kept between runs), records the bundled demo
# program (tests/programs/demo.c, a word counter that leaks on purpose) and
# prints the report.  With a display and a built debugger, opens the trace in
# it instead.
#
# Environment: HM_BUILD_DIR (default build).
set -euo pipefail

cd "$(dirname "$0")/.."
source tests/install-deps.sh

build=${HM_BUILD_DIR:-build}

hm_install_missing_packages

if [[ ! -f "$build/build.ninja" ]]; then
  meson setup "$build"
fi
meson compile -C "$build"

hmtrace=$build/core/hmtrace
trace=$build/run.hmt
export HM_AGENT_PATH
HM_AGENT_PATH=$(readlink -f "$build/agent/libhybridmem.so")

echo
echo "\$ hmtrace record -o $trace -- $build/tests/programs/demo"
"$hmtrace" record -o "$trace" -- "$build/tests/programs/demo"

debugger=$build/gui/hybridmem-debugger
if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" && -x "$debugger" ]]; then
  echo "\$ $debugger $trace"
  exec "$debugger" "$trace"
fi

echo
echo "\$ hmtrace report $trace"
"$hmtrace" report "$trace"
