#!/usr/bin/env bash
# Measures readyscope-bench against the anchor benchmarks (raw epoll, libuv, libevent,
# mio, Python) in the same runs, then counts syscalls per operation with strace for
# raw and readyscope. The numbers in docs/performance.md come from this script.
#
#   scripts/bench.sh                 # RUNS=5 MODES=same, the sizes CI's check uses
#   RUNS=3 MODES="same split" scripts/bench.sh
#
# Env: RUNS, MODES, WAKE, STORM (passed to the anchors' run.sh), ANCHORS (path of the
# anchor folder, default ../shared/anchors/bench), OUT (default build/bench).
# Needs the anchors' packages (libuv1-dev libevent-dev librust-mio-dev, cargo): run.sh
# installs them when INSTALL_DEPS=1 (the default here).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

anchors=${ANCHORS:-$root/../shared/anchors/bench}
out=${OUT:-$root/build/bench}
[ -x "$anchors/run.sh" ] || { echo "bench: no anchor benchmarks at $anchors (set ANCHORS)" >&2; exit 2; }

scripts/deps.sh
command -v strace >/dev/null || { echo "bench: strace is missing" >&2; exit 1; }
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target readyscope-bench >/dev/null
bench=$root/build/release/bin/readyscope-bench

mkdir -p "$out"
INSTALL_DEPS=${INSTALL_DEPS:-1} WORK_DIR="$out/anchors" RUNS=${RUNS:-5} MODES=${MODES:-same} \
  WAKE=${WAKE:-50000} STORM=${STORM:-4000} PIPE=${PIPE:-100000} PIPE_W1=${PIPE_W1:-5000} EXTRA="$bench" \
  "$anchors/run.sh" >"$out/anchors.log" 2>&1 || { tail -20 "$out/anchors.log"; exit 1; }

echo "== medians and same-run ratios (from $out/anchors/results)"
python3 - "$out/anchors/results" <<'PY'
import collections, glob, os, statistics, sys
runs = collections.defaultdict(dict)
for path in glob.glob(os.path.join(sys.argv[1], "run_*_*.txt")):
    run = os.path.basename(path)
    for line in open(path):
        kv = dict(x.split("=", 1) for x in line.split() if "=" in x)
        if "workload" in kv and "ops_per_s" in kv:
            runs[(run, kv["workload"])][kv["impl"]] = float(kv["ops_per_s"])
for wl in ("wake", "storm", "pipeline", "pipeline_w1"):
    impls = sorted({i for (r, w), d in runs.items() if w == wl for i in d})
    print(f"{wl}:")
    for impl in impls:
        vals = [d[impl] for (r, w), d in runs.items() if w == wl and impl in d]
        print(f"  {impl:16s} median {statistics.median(vals):12.1f} ops/s over {len(vals)} runs")
    for other in ("raw", "raw-sendrecv", "mio"):
        ratios = [d["readyscope"] / d[other] for (r, w), d in runs.items()
                  if w == wl and "readyscope" in d and other in d]
        if ratios:
            print(f"  readyscope / {other:13s} median x{statistics.median(ratios):.3f} "
                  f"(runs: {' '.join(f'{x:.3f}' for x in sorted(ratios))})")
PY

# Syscalls per operation: strace -c -f counts every call of every thread. The warm-up
# rounds are counted too, so both programs run the same number of rounds.
raw=$out/anchors/build/bench_raw
count() {  # count NAME OPS PROGRAM ARGS...: syscalls per op, for each syscall at >= 0.01 per op
  local name=$1 ops=$2; shift 2
  strace -c -f -o "$out/strace-$name.txt" "$@" >/dev/null 2>&1
  # strace -c columns: % time, seconds, usecs/call, calls, [errors], syscall.
  awk -v ops="$ops" -v name="$name" '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {
      per = $4 / ops; if (per >= 0.01) printf "  %-18s %-14s %6.3f per op\n", name, $NF, per }' \
    "$out/strace-$name.txt"
}
echo "== syscalls per operation (strace -c -f; W1: per round trip, W2: per event)"
# W1: 20000 timed + 1000 warm-up round trips. W2: (400 timed + 100 warm-up rounds) x 100 events.
BENCH_PIN=same count raw-wake 21000 "$raw" -o wake -w 20000
BENCH_PIN=same count readyscope-wake 21000 "$bench" -o wake -w 20000
# bench_raw -o storm runs raw and raw-sendrecv: 100000 events, half through read, half recv.
BENCH_PIN=same count raw-storm 100000 "$raw" -o storm -s 400
BENCH_PIN=same count readyscope-storm 50000 "$bench" -o storm -s 400
