#!/usr/bin/env bash
# Installs the Debian 12 packages ReadyScope needs to build and test, if any is missing.
# Idempotent: when everything is installed it does nothing (no apt-get, no sudo).
# READY_SKIP_DEPS=1 skips the check (other distributions: install the equivalents yourself).
set -euo pipefail

READY_PACKAGES=(
  build-essential cmake pkg-config git ca-certificates python3
  qt6-base-dev qt6-charts-dev libqt6opengl6-dev
  nlohmann-json3-dev libsimdjson-dev
  xvfb xauth strace  # strace: readyscope-bench -o trace measures the Tracer against it
  socat curl netcat-openbsd  # real peers of the relay tests (tests/app/tst_cli_relay.cpp) and of readyscope-bench -o relay
  librsvg2-bin help2man file  # packaging/: icon PNGs from the SVG, the man page from --help; file: cpack DEB
  clang-16 libclang-rt-16-dev  # scripts/fuzz.sh: libFuzzer
)

ready_deps_main() {
  if [ "${READY_SKIP_DEPS:-0}" = 1 ]; then
    echo "deps: READY_SKIP_DEPS=1, not checking packages"
    return 0
  fi
  if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: this is not a Debian-like system (no dpkg/apt-get)." >&2
    echo "deps: install the equivalents of: ${READY_PACKAGES[*]}" >&2
    echo "deps: then run again with READY_SKIP_DEPS=1." >&2
    return 1
  fi

  local missing=() p
  for p in "${READY_PACKAGES[@]}"; do
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#READY_PACKAGES[@]} packages installed"
    return 0
  fi

  local as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "deps: missing packages: ${missing[*]}" >&2
      echo "deps: not root and no sudo; as root run:" >&2
      echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
      return 1
    fi
    # Without a terminal to type a password into, fail at once instead of hanging.
    if [ -t 0 ]; then as_root=(sudo); else as_root=(sudo -n); fi
  fi

  echo "deps: installing ${missing[*]}"
  if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update ||
     ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
         apt-get install -y --no-install-recommends "${missing[@]}"; then
    echo "deps: installing ${missing[*]} failed (see above)" >&2
    return 1
  fi
}

ready_deps_main "$@"
