// `readyscope-bench -o relay` (issue 16): the relay (cmd::Relay) against a direct loopback
// connection and against socat relaying the same traffic, in the same run.
#pragma once

#include <cstdint>

struct RelayBenchOptions {
  std::uint64_t bulk_bytes = std::uint64_t{1} << 30;  ///< -B: bytes sent one way per bulk run
  long round_trips = 20'000;                          ///< -R: ping-pong round trips per impl
  long connections = 10'000;                          ///< -C: concurrent relayed connections
};

/// Runs the three relay workloads and prints `workload=relay_bulk|relay_rtt|relay_conns
/// impl=direct|socat|readyscope ...` lines (see the usage text and docs/performance.md,
/// "Relay"); returns the exit code (1 when a transfer failed or records were dropped).
int relay_bench_main(const RelayBenchOptions& options);
