#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <utility>

#include "ready/detail/unix_macro_guard.h"
#include "ready/source.h"

namespace ready::unix {

/// The write end of a pipe.
///
/// SIGPIPE: unlike sockets, a pipe write has no per-call way to suppress SIGPIPE.
/// Writing after the read end is closed raises SIGPIPE, which kills a process that
/// has not ignored it; with SIGPIPE ignored (or blocked) the write returns EPIPE.
/// `ignore_sigpipe()` sets that up; the ReadyScope engine calls it at start.
/// When the read end closes, a registered Sender gets write_closed (EPOLLERR).
class Sender final : public IoSource {
 public:
  /// Adopts a pipe write end (e.g. a child's stdin) without changing its blocking mode.
  [[nodiscard]] static Sender from_fd(OwnedFd fd) noexcept { return Sender(std::move(fd)); }
  io_result<std::size_t> write(std::span<const std::byte> buf) const noexcept;
  io_result<std::size_t> write(std::string_view s) const noexcept;
  io_result<void> set_nonblocking(bool on) const noexcept;
  [[nodiscard]] OwnedFd into_fd() noexcept { return take_fd(); }

 private:
  using IoSource::IoSource;
};

/// The read end of a pipe. When every write end is closed, a registered Receiver gets
/// read_closed (EPOLLHUP) and reads return 0 once the data is consumed.
class Receiver final : public IoSource {
 public:
  [[nodiscard]] static Receiver from_fd(OwnedFd fd) noexcept { return Receiver(std::move(fd)); }
  io_result<std::size_t> read(std::span<std::byte> buf) const noexcept;
  io_result<void> set_nonblocking(bool on) const noexcept;
  [[nodiscard]] OwnedFd into_fd() noexcept { return take_fd(); }

 private:
  using IoSource::IoSource;
};

/// pipe2(O_NONBLOCK | O_CLOEXEC).
[[nodiscard]] io_result<std::pair<Sender, Receiver>> pipe();

/// Sets SIGPIPE to ignored for the process (idempotent), so pipe writes to a closed
/// reader return EPIPE.
void ignore_sigpipe() noexcept;

}  // namespace ready::unix
