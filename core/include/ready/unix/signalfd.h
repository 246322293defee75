#pragma once

#include <initializer_list>
#include <optional>

#include "ready/detail/unix_macro_guard.h"
#include "ready/source.h"

namespace ready::unix {

/// A signalfd: signals delivered as a readable source instead of to a handler.
///
/// `open` blocks the given signals in the calling thread first (a signal that is not
/// blocked is delivered the usual way and never reaches the fd); threads created *after*
/// that inherit the mask, so open it before starting other threads — a thread that does
/// not block a signal may take it instead, and it is then lost to the fd. `read()`
/// returns the number of one pending signal (would-block when none is pending).
/// Readable while a signal of the set is pending for the process or the thread.
///
/// The mask is not restored when the SignalFd is dropped: blocking is a property of the
/// thread, and unblocking with signals still pending would deliver them at once (usually
/// killing the process with SIGINT's default action), which is rarely what a caller wants
/// while shutting down.
class SignalFd final : public IoSource {
 public:
  /// Errors: EINVAL for a signal number out of range or SIGKILL/SIGSTOP (which cannot be
  /// blocked); any sigprocmask/signalfd errno.
  [[nodiscard]] static io_result<SignalFd> open(std::initializer_list<int> signal_numbers);
  /// The number of one pending signal of the set.
  [[nodiscard]] io_result<int> read() const noexcept;

 private:
  explicit SignalFd(OwnedFd fd) noexcept : IoSource(std::move(fd)) {}
};

}  // namespace ready::unix
