#pragma once

#include <chrono>
#include <cstdint>

#include "ready/detail/unix_macro_guard.h"
#include "ready/source.h"

namespace ready::unix {

/// A timerfd (CLOCK_MONOTONIC): readable when it has expired at least once since the
/// last read. Expirations accumulate while nobody reads; `read()` returns how many
/// and resets the count (would-block when none). mio has no timers.
class TimerFd final : public IoSource {
 public:
  [[nodiscard]] static io_result<TimerFd> create();
  /// First expiry after `initial` (> 0), then every `interval` (0: one-shot).
  /// Re-arming replaces the previous setting and clears pending expirations.
  io_result<void> arm(std::chrono::nanoseconds initial,
                      std::chrono::nanoseconds interval = {}) const noexcept;
  /// Stops the timer; pending expirations are cleared.
  io_result<void> disarm() const noexcept;
  /// Expirations since the last read.
  [[nodiscard]] io_result<std::uint64_t> read() const noexcept;
  /// Time until the next expiry (0 when disarmed) and the interval.
  struct Setting {
    std::chrono::nanoseconds remaining;
    std::chrono::nanoseconds interval;
  };
  [[nodiscard]] io_result<Setting> setting() const noexcept;

 private:
  using IoSource::IoSource;
};

}  // namespace ready::unix
