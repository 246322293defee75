#!/usr/bin/env bash
# Installs what is missing, builds readyscope with the release preset and starts it
# with the given arguments (relative paths in them are taken from your cwd).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

( cd "$root"
  scripts/deps.sh
  cmake --preset release --log-level=WARNING
  cmake --build --preset release --target readyscope -j "$(nproc)" ) >&2

exec "$root/build/release/bin/readyscope" "$@"
