// The one owner of a file descriptor.
#pragma once

#include <system_error>
#include <utility>

namespace ready {

/// Owns one file descriptor and closes it exactly once.
///
/// Move-only; an empty owner holds -1. The destructor closes without retrying:
/// on Linux the descriptor is released even when close(2) reports EINTR, so a
/// retry could close a descriptor another thread has just been given.
class OwnedFd {
 public:
  constexpr OwnedFd() noexcept = default;
  /// Takes ownership of `fd` (which may be -1).
  constexpr explicit OwnedFd(int fd) noexcept : fd_(fd) {}
  OwnedFd(OwnedFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  OwnedFd& operator=(OwnedFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd() { reset(); }

  /// The descriptor, still owned (-1 when empty).
  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }
  /// Gives up ownership without closing; the owner becomes empty.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  /// Closes the current descriptor (if any) and takes `fd`.
  void reset(int fd = -1) noexcept;
  /// Closes now and reports what close(2) said; the owner is empty afterwards either way.
  std::error_code close() noexcept;
  /// A new owner of a duplicate (F_DUPFD_CLOEXEC) of this descriptor.
  [[nodiscard]] std::error_code try_clone(OwnedFd& out) const noexcept;

 private:
  int fd_ = -1;
};

}  // namespace ready
