// The Linux layer's descriptor operations for the capture engine and its pitfall checks.
//
// ready::capture makes no system call itself (see os.h): the descriptor-table tricks the
// engine plays (a Dup copy, the ExhaustFds ballast), the FIONREAD its pitfall checks and queue sampling read (and SIOCOUTQ) and
// the wait of its feeder threads are named functions here, with the Linux layer's conventions
// (errors as values, EINTR retried where a retry is correct, descriptors close-on-exec in the
// creating call).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ready/error.h"
#include "ready/owned_fd.h"

namespace ready::os {

/// Bytes waiting to be read on `fd` (ioctl FIONREAD; a datagram socket: the size of the next
/// datagram), 0 when there are none or the ioctl fails.
[[nodiscard]] std::uint64_t bytes_readable(int fd) noexcept;
/// Bytes in a socket's send queue (ioctl SIOCOUTQ; on TCP: written and not yet acknowledged
/// by the peer), 0 when there are none or the ioctl fails.
[[nodiscard]] std::uint64_t bytes_unsent(int fd) noexcept;

/// A second descriptor for `fd`'s open file description (fcntl F_DUPFD_CLOEXEC: the lowest
/// free number, close-on-exec). An epoll registration belongs to the description, so it lives
/// on while either descriptor is open.
[[nodiscard]] io_result<OwnedFd> dup_cloexec(int fd) noexcept;

/// Makes the process run out of descriptors on purpose (cmd::ExhaustFds) and undoes it.
///
/// `take` fills every free descriptor number up to the highest open one (the numbers the
/// kernel hands out next) with copies of /dev/null, then lowers RLIMIT_NOFILE's soft limit to
/// that highest number + 1 + `headroom`, so at most `headroom` more descriptors can be
/// created. `release` (or the destructor) closes the copies and restores the saved limit.
/// Process-wide: every thread's next socket(), accept() or open() sees it.
class FdBallast {
 public:
  /// Errors: listing /proc/self/fd, opening /dev/null, a dup or get/setrlimit failed; then
  /// nothing is held and the limit is unchanged.
  [[nodiscard]] static io_result<FdBallast> take(unsigned headroom) noexcept;

  /// Holds nothing.
  FdBallast() = default;
  FdBallast(FdBallast&& o) noexcept;
  /// Releases what this one held first.
  FdBallast& operator=(FdBallast&& o) noexcept;
  FdBallast(const FdBallast&) = delete;
  FdBallast& operator=(const FdBallast&) = delete;
  ~FdBallast();

  /// Taken and not released yet (the limit is lowered).
  [[nodiscard]] bool active() const noexcept { return active_; }
  /// Descriptors held (0 when the free numbers were already all above the highest one).
  [[nodiscard]] std::size_t size() const noexcept { return held_.size(); }
  /// Closes the descriptors and restores RLIMIT_NOFILE (the error of setrlimit, if any; the
  /// descriptors are closed either way). Afterwards the ballast holds nothing; idempotent.
  io_result<void> release() noexcept;

 private:
  FdBallast(std::vector<OwnedFd> held, std::uint64_t cur, std::uint64_t max) noexcept
      : held_(std::move(held)), saved_cur_(cur), saved_max_(max), active_(true) {}

  std::vector<OwnedFd> held_;
  std::uint64_t saved_cur_ = 0;  // RLIMIT_NOFILE before take()
  std::uint64_t saved_max_ = 0;
  bool active_ = false;  // the limit is lowered
};

// ---- waiting for a helper thread's stop signal ----
//
// A helper thread that writes into a descriptor (a feeder) waits with ppoll beside an eventfd
// `stop_fd` its owner writes to stop it, so a wait never delays the owner's join. A failing
// ppoll counts as a stop: the thread ends rather than spin. EINTR is retried.

/// Waits until `stop_fd` is readable (true) or `fd` has an event: writable, an error or a
/// hang-up (false).
[[nodiscard]] bool wait_writable_or_stop(int fd, int stop_fd) noexcept;
/// Waits until `stop_fd` is readable (true) or `deadline` has passed (false).
[[nodiscard]] bool sleep_until_or_stop(int stop_fd, std::chrono::steady_clock::time_point deadline) noexcept;

}  // namespace ready::os
