// Source implementations shared by every descriptor type.
#pragma once

#include <cstdint>

#include "ready/poll.h"

namespace ready {

/// A registrable owned descriptor with mio's ownership bookkeeping (which the debug
/// build of mio has and this library always has): the source remembers the Poll it is
/// registered with, so misuse gets a named error before any epoll_ctl is made.
/// Every socket, pipe, eventfd and timerfd type derives from it.
class IoSource : public Source {
 public:
  io_result<void> add(const Registry& registry, Token token, Interest interest, Trigger trigger) final;
  io_result<void> modify(const Registry& registry, Token token, Interest interest, Trigger trigger) final;
  io_result<void> remove(const Registry& registry) final;

  /// The descriptor (still owned; -1 after `into_fd`).
  [[nodiscard]] int as_raw_fd() const noexcept { return fd_.get(); }
  /// True while registered with some Poll.
  [[nodiscard]] bool is_registered() const noexcept { return poll_id_ != 0; }

 protected:
  IoSource() = default;
  explicit IoSource(OwnedFd fd) noexcept : fd_(std::move(fd)) {}
  IoSource(IoSource&& o) noexcept
      : Source(std::move(o)), fd_(std::move(o.fd_)), poll_id_(std::exchange(o.poll_id_, 0)) {}
  IoSource& operator=(IoSource&& o) noexcept {
    fd_ = std::move(o.fd_);
    poll_id_ = std::exchange(o.poll_id_, 0);
    return *this;
  }
  ~IoSource() = default;
  /// Gives the descriptor away; the source becomes empty and forgets its registration.
  OwnedFd take_fd() noexcept {
    poll_id_ = 0;
    return std::move(fd_);
  }

  OwnedFd fd_;

 private:
  std::uint64_t poll_id_ = 0;  // 0: not registered
};

/// A borrowed descriptor, registered as is. It does not own or close the descriptor
/// and keeps no bookkeeping, so misuse gets the raw epoll_ctl errors (EEXIST, ENOENT,
/// EPERM for a regular file). Build it just before the call (`add` takes an lvalue):
/// `SourceFd source{fd}; registry.add(source, token, Interest::READABLE);`.
class SourceFd final : public Source {
 public:
  explicit SourceFd(int fd) noexcept : fd_(fd) {}
  io_result<void> add(const Registry& r, Token t, Interest i, Trigger m) override {
    return r.ctl_add(fd_, t, i, m);
  }
  io_result<void> modify(const Registry& r, Token t, Interest i, Trigger m) override {
    return r.ctl_modify(fd_, t, i, m);
  }
  io_result<void> remove(const Registry& r) override { return r.ctl_remove(fd_); }
  [[nodiscard]] int fd() const noexcept { return fd_; }

 private:
  int fd_;
};

}  // namespace ready
