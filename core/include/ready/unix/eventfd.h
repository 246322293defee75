#pragma once

#include <cstdint>

#include "ready/detail/unix_macro_guard.h"
#include "ready/source.h"

namespace ready::unix {

/// An eventfd: a 64-bit counter as a pollable source.
///
/// `write(v)` adds v; the largest counter value is 0xfffffffffffffffe, so a write that
/// would pass it is would-block and writing 0xffffffffffffffff is EINVAL. `read()`
/// returns the counter and resets it to 0 (semaphore mode: returns 1 and decrements);
/// would-block at 0. Readable while the counter is non-zero, writable while at least
/// 1 can be added. With the edge trigger every write is a new edge, even unread.
class EventFd final : public IoSource {
 public:
  static constexpr std::uint64_t kMaxValue = 0xfffffffffffffffeULL;
  [[nodiscard]] static io_result<EventFd> create(std::uint64_t initial = 0, bool semaphore = false);
  io_result<void> write(std::uint64_t value) const noexcept;
  [[nodiscard]] io_result<std::uint64_t> read() const noexcept;
  [[nodiscard]] bool is_semaphore() const noexcept { return semaphore_; }

 private:
  EventFd(OwnedFd fd, bool semaphore) noexcept : IoSource(std::move(fd)), semaphore_(semaphore) {}
  bool semaphore_;
};

}  // namespace ready::unix
