#!/bin/bash
# run-all.sh — every test from scratch, the one command CI runs (.ci/run):
# installs missing Debian packages, builds in a fresh build-ci/, runs every
# meson test suite (agent, core, data, gui, tests), then the sanitizer build.
#
# Environment: HM_BUILD_DIR (default build-ci) — removed and rebuilt.
set -euo pipefail

cd "$(dirname "$0")/.."
source tests/install-deps.sh

build=${HM_BUILD_DIR:-build-ci}

hm_install_missing_packages

rm -rf "$build"
meson setup "$build"
meson compile -C "$build"

# GUI tests need a display: give them a virtual one when there is none.
runner=()
if [[ -z "${DISPLAY:-}" ]] && command -v xvfb-run >/dev/null 2>&1; then
  runner=(xvfb-run -a)
fi
"${runner[@]}" meson test -C "$build" --print-errorlogs

# ---- sanitizer build: PLACEHOLDER, not run yet ----------------------------
# Planned: a second build with -Db_sanitize=address,undefined (clang, with
# libclang-rt-14-dev) running the core and gui suites.  The agent suite stays
# out: ASan replaces malloc itself, so it cannot run under an LD_PRELOAD agent.
run_sanitizer_build() {
  :   # hook: fill in when core/ and gui/ are sanitizer-clean
}
run_sanitizer_build

echo "run-all: all tests passed"
