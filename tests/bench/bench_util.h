// Small helpers shared by the benchmark's workload files.
#pragma once

#include <time.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace bench {

/// CLOCK_MONOTONIC in nanoseconds.
inline std::uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

/// BENCH_PIN's value for the output lines ("none" when unset).
inline std::string pin_mode() {
  const char* m = std::getenv("BENCH_PIN");
  return m && *m ? m : "none";
}

}  // namespace bench
