// `readyscope-bench -o trace` (issue 17): the overhead of tracing a program's epoll syscalls.
#pragma once

struct TraceBenchOptions {
  long round_trips = 20'000;  ///< -T: 64-byte round trips through the traced echo server per run
  int rounds = 5;             ///< every impl once per round, in the same order; medians reported
};

/// Runs ready-epoll-target's echo server untraced, under the Tracer (attached and launched)
/// and under strace (-p and --seccomp-bpf), prints `workload=trace_rtt impl=... ` lines with
/// the ratios to untraced (see docs/performance.md, "Tracing overhead"); returns the exit
/// code (1 when a round trip failed or the Tracer dropped events).
int trace_bench_main(const TraceBenchOptions& options);
