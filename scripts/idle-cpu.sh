#!/usr/bin/env bash
# The idle cost of the window: CPU time (utime + stime from /proc/PID/stat) that an offscreen
# `readyscope` spends while nothing happens, as a share of one core. The figure in
# docs/performance.md ("Idle window") comes from this script.
#
#   scripts/idle-cpu.sh [READYSCOPE] [-- ARGS...]
#
# READYSCOPE defaults to build/release/bin/readyscope. ARGS are passed to it (default: none,
# an empty capture; `--scenario et-partial-read` measures a finished lesson). Env: SETTLE (s
# before measuring, default 15: a lesson must have finished), SECONDS_MEASURED (default 20).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:-$root/build/release/bin/readyscope}
shift $(($# > 0 ? 1 : 0))
[ "${1:-}" = "--" ] && shift
[ -x "$bin" ] || { echo "idle-cpu: no $bin (build the release preset)" >&2; exit 2; }
settle=${SETTLE:-15}
measured=${SECONDS_MEASURED:-20}

run=$(mktemp -d) cfg=$(mktemp -d)
chmod 700 "$run"
XDG_RUNTIME_DIR=$run XDG_CONFIG_HOME=$cfg QT_QPA_PLATFORM=offscreen "$bin" "$@" >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$run" "$cfg"' EXIT

ticks() {  # utime + stime of $pid, in clock ticks (fields 14 and 15 after the ")")
  local stat
  stat=$(<"/proc/$pid/stat")
  stat=${stat##*) }
  # shellcheck disable=SC2086
  set -- $stat
  echo $((${12} + ${13}))
}

sleep "$settle"
kill -0 "$pid" 2>/dev/null || { echo "idle-cpu: readyscope exited during the settle time" >&2; exit 1; }
t0=$(ticks)
sleep "$measured"
t1=$(ticks)
hz=$(getconf CLK_TCK)
# A share of one core, in percent, with two decimals.
awk -v d=$((t1 - t0)) -v hz="$hz" -v s="$measured" \
  'BEGIN { printf "idle: %d ticks (%d Hz) in %d s = %.2f %% of one core\n", d, hz, s, 100 * d / hz / s }'
