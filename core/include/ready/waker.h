#pragma once

#include "ready/poll.h"

namespace ready {

/// Wakes a Poll from another thread.
///
/// An eventfd registered READABLE (edge-triggered) with the given token. `wake()`
/// writes 1; every write is a new edge, so nobody needs to read it. Several wakes
/// before one poll coalesce into one event: a Waker says "look", not "how many".
/// If the counter would overflow (write gives would-block), it is read to zero and
/// written again. Only one Waker per Poll (including clones of its Registry): a second
/// one fails with `Errc::waker_exists`, also after the first is destroyed, as in mio.
/// Events come only while the Waker lives. Share it (e.g. through a shared_ptr).
class Waker {
 public:
  [[nodiscard]] static io_result<Waker> create(const Registry& registry, Token token);
  /// Thread-safe; may be called from any thread.
  io_result<void> wake() const noexcept;
  [[nodiscard]] int as_raw_fd() const noexcept { return fd_.get(); }

 private:
  explicit Waker(OwnedFd fd) noexcept : fd_(std::move(fd)) {}
  OwnedFd fd_;
};

}  // namespace ready
