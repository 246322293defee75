#!/usr/bin/env bash
# Installs what is missing, then configures, builds and runs every test of the dev
# preset through CTest, headless. Exits non-zero on any failure. Works from any cwd.
# CI=true turns warnings into errors. CTEST_JOBS (default 2) sets test parallelism.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

scripts/deps.sh

configure_args=()
[ "${CI:-}" = true ] && configure_args+=(-DREADY_WERROR=ON)

cmake --preset dev "${configure_args[@]}"
cmake --build --preset dev -j "$(nproc)"

# No display is needed: Qt uses the offscreen platform, and a private runtime dir keeps
# Qt from warning about (or sharing) the user's XDG_RUNTIME_DIR.
runtime_dir=$(mktemp -d "${TMPDIR:-/tmp}/readyscope-test.XXXXXX")
trap 'rm -rf "$runtime_dir"' EXIT
chmod 700 "$runtime_dir"
QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=$runtime_dir \
  ctest --preset dev -j "${CTEST_JOBS:-2}"
