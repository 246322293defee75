#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang, ASan + UBSan) and runs each for SECONDS
# (default 30) from its seed corpus. Exits non-zero if a target crashes, breaks one of its
# properties, leaks, or hangs on one input for more than 10 s; the input that did it is
# saved under the build directory and the reproducing command printed. Works from any cwd.
#
#   scripts/fuzz.sh [SECONDS]
#
# Environment: READY_FUZZ_CXX (default clang++-16), READY_FUZZ_BUILD (default build/fuzz),
# READY_SKIP_DEPS=1 (see scripts/deps.sh); CI=true makes warnings errors. The corpus that grows while fuzzing stays in
# the build directory (fuzz/corpus/ holds only the seeds); a later run continues from it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

seconds=${1:-30}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS]  (seconds per target, default 30)" >&2
  exit 2
fi
cxx=${READY_FUZZ_CXX:-clang++-16}
build=${READY_FUZZ_BUILD:-$root/build/fuzz}

scripts/deps.sh

configure_args=(-DCMAKE_CXX_COMPILER="$cxx")
[ "${CI:-}" = true ] && configure_args+=(-DREADY_WERROR=ON)
cmake -S fuzz -B "$build" "${configure_args[@]}"
cmake --build "$build" -j "$(nproc)"

# As in .ci/run: older sanitizer runtimes cannot map their shadow memory when the kernel
# randomises mmap with more than 28 bits; without ASLR they work.
wrap=()
if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0)" -gt 28 ] &&
   setarch "$(uname -m)" -R true 2>/dev/null; then
  wrap=(setarch "$(uname -m)" -R)
fi

# The readers' own limits are far larger; 16 KiB is ~100 recording lines, enough to
# reach every path of a reader while keeping thousands of runs per second.
max_len=16384
status=0
ran=0
for target in fuzz_recording fuzz_scenario fuzz_procfs; do
  name=${target#fuzz_}
  if [ ! -x "$build/$target" ]; then
    echo "fuzz: $target not built (see the configure output above), skipped"
    continue
  fi
  seeds=fuzz/corpus/$name
  work=$build/corpus/$name
  artifacts=$build/artifacts/$name
  mkdir -p "$work" "$artifacts"
  args=(-max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048
        -print_final_stats=1 -artifact_prefix="$artifacts/")
  [ -f "fuzz/$name.dict" ] && args+=(-dict="fuzz/$name.dict")
  echo "fuzz: $target for ${seconds}s (seeds: $seeds, corpus: $work)"
  ran=$((ran + 1))
  if ! UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
       "${wrap[@]}" "$build/$target" "${args[@]}" "$work" "$seeds"; then
    status=1
    echo "fuzz: $target FAILED; the input is in $artifacts/ (reproduce: $build/$target <file>)" >&2
  fi
done
if [ "$ran" -eq 0 ]; then
  echo "fuzz: no target was built" >&2
  exit 1
fi
exit "$status"
