#!/usr/bin/env bash
# Regenerates every screenshot in README.md and docs/ (docs/images/*.png), made by the app
# itself, offscreen, at 1x: the window grabbed with READYSCOPE_GRAB, timelines rendered with
# --headless --png, and the two pictures that need a real relay taken by their suites
# (tst_follow_panel with READY_FOLLOW_PNG, tst_relay_window with READYSCOPE_SCREENSHOT_DIR).
#
#   scripts/screenshots.sh            # builds the dev preset's app and the two suites first
#
# Env: BUILD (default build/dev), OUT (default docs/images), ONLY (a space-separated list of
# image names without .png; default all). Look at each picture at 1x before committing it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build=${BUILD:-$root/build/dev}
out=${OUT:-$root/docs/images}
only=${ONLY:-}
want() { [ -z "$only" ] || [[ " $only " == *" $1 "* ]]; }

export CCACHE_BASEDIR=${CCACHE_BASEDIR:-/work}
cmake --build "$build" -j2 --target readyscope tst_follow_panel tst_relay_window >/dev/null
bin=$build/bin/readyscope
mkdir -p "$out"

run=$(mktemp -d) cfg=$(mktemp -d) tmp=$(mktemp -d)
chmod 700 "$run"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$run" "$cfg" "$tmp"
}
trap cleanup EXIT
export XDG_RUNTIME_DIR=$run XDG_CONFIG_HOME=$cfg QT_QPA_PLATFORM=offscreen QT_SCALE_FACTOR=1

theme() {  # the window's settings: theme and nothing else (default layout)
  rm -rf "$cfg/ReadyScope" && mkdir -p "$cfg/ReadyScope"
  printf '[view]\ntheme=%s\n' "$1" >"$cfg/ReadyScope/readyscope.conf"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The echo client the window pictures show: three connections with echoed writes, one
# half-closed (shutdown of its write side, then read to EOF), one reset (SO_LINGER 0).
client() {
  python3 - "$1" <<'PY'
import socket, struct, sys, time
port = int(sys.argv[1])
def connect():
    for _ in range(100):
        try:
            return socket.create_connection(("127.0.0.1", port))
        except OSError:
            time.sleep(0.05)
    sys.exit("no listener on port %d" % port)
time.sleep(0.8)
conns = [connect() for _ in range(3)]
for i in range(4):
    for n, c in enumerate(conns):
        c.sendall(b"hello %d from client %d\n" % (i, n))
        c.recv(256)
        time.sleep(0.08)
    time.sleep(0.2)
conns[1].shutdown(socket.SHUT_WR)
while conns[1].recv(256):
    pass
time.sleep(0.3)
conns[2].setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
conns[2].close()
time.sleep(0.3)
conns[0].sendall(b"bye\n")
conns[0].recv(256)
time.sleep(0.5)
PY
}

grab_live_window() {  # $1 image, $2 theme
  theme "$2"
  local port
  port=$(free_port)
  READYSCOPE_GRAB="$out/$1.png" READYSCOPE_GRAB_AFTER_MS=5200 \
    "$bin" --listen "127.0.0.1:$port" --reaction echo >/dev/null 2>&1 &
  local app=$!
  client "$port"
  wait "$app"
  echo "screenshots: $1.png"
}

want window-light && grab_live_window window-light light
want window-dark && grab_live_window window-dark dark

if want timeline; then
  port=$(free_port)
  "$bin" --headless --listen "127.0.0.1:$port" --reaction echo --duration 6 \
    --png "$out/timeline.png" --width 1400 --height 260 >/dev/null &
  app=$!
  client "$port"
  wait "$app"
  echo "screenshots: timeline.png"
fi

if want window-recording; then
  port=$(free_port)
  "$bin" --headless --listen "127.0.0.1:$port" --reaction echo --duration 6 \
    --record "$tmp/echo.jsonl" >/dev/null &
  app=$!
  client "$port"
  wait "$app"
  theme light
  READYSCOPE_GRAB="$out/window-recording.png" READYSCOPE_GRAB_AFTER_MS=2000 "$bin" "$tmp/echo.jsonl" >/dev/null 2>&1
  echo "screenshots: window-recording.png"
fi

# A lesson played in the window (its lesson layout), grabbed once every step has run.
if want window-lesson; then
  theme light
  READYSCOPE_GRAB="$out/window-lesson.png" READYSCOPE_GRAB_AFTER_MS=14000 \
    "$bin" --scenario et-partial-read >/dev/null 2>&1
  echo "screenshots: window-lesson.png"
fi

for lesson in et-partial-read half-close oneshot-rearm; do
  want "lesson-$lesson" || continue
  "$bin" --headless --scenario "$lesson" --png "$out/lesson-$lesson.png" --width 1600 --height 300 >/dev/null
  echo "screenshots: lesson-$lesson.png"
done

if want follow-stream; then
  READY_FOLLOW_PNG="$out/follow-stream.png" "$build/bin/tst_follow_panel" >/dev/null
  echo "screenshots: follow-stream.png"
fi

if want relay-lanes; then
  READYSCOPE_SCREENSHOT_DIR=$tmp "$build/bin/tst_relay_window" lanesGroupedAndBackPressureShown >/dev/null
  cp "$tmp/relay-lanes.png" "$out/relay-lanes.png"
  echo "screenshots: relay-lanes.png"
fi
