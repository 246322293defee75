// The Linux layer's descriptor operations for the capture engine (see fds.h).
#include "linux/fds.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <utility>

#include "linux/sys.h"

namespace ready::os {

std::uint64_t bytes_readable(int fd) noexcept {
  int n = 0;
  auto r = sys::call(::ioctl, fd, FIONREAD, &n);
  return r && n > 0 ? static_cast<std::uint64_t>(n) : 0;
}

std::uint64_t bytes_unsent(int fd) noexcept {
  int n = 0;
  auto r = sys::call(::ioctl, fd, SIOCOUTQ, &n);
  return r && n > 0 ? static_cast<std::uint64_t>(n) : 0;
}

io_result<OwnedFd> dup_cloexec(int fd) noexcept {
  return sys::own(sys::call(::fcntl, fd, F_DUPFD_CLOEXEC, 0));
}

io_result<FdBallast> FdBallast::take(unsigned headroom) noexcept {
  rlimit old{};
  if (auto r = sys::call(::getrlimit, RLIMIT_NOFILE, &old); !r) return std::unexpected(r.error());
  // The highest open number (the listing's own descriptor aside).
  int highest = -1;
  {
    DIR* d = ::opendir("/proc/self/fd");
    if (!d) return std::unexpected(last_error());
    const int own = ::dirfd(d);
    while (const dirent* e = ::readdir(d)) {
      char* end = nullptr;
      const long n = std::strtol(e->d_name, &end, 10);
      if (end != e->d_name && *end == '\0' && n != own) highest = std::max(highest, static_cast<int>(n));
    }
    ::closedir(d);
  }
  auto null = sys::own(sys::call(::open, "/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null) return std::unexpected(null.error());
  std::vector<OwnedFd> held;
  if (null->get() < highest) {
    // Each dup takes the lowest free number: fill until the next one would lie above H.
    for (;;) {
      auto d = dup_cloexec(null->get());
      if (!d) return std::unexpected(d.error());  // `held` closes what was taken
      if (d->get() > highest) break;
      held.push_back(std::move(*d));
    }
    held.push_back(std::move(*null));
  }
  rlimit low = old;
  low.rlim_cur = std::min<rlim_t>(old.rlim_cur, static_cast<rlim_t>(highest) + 1 + headroom);
  if (auto r = sys::call(::setrlimit, RLIMIT_NOFILE, static_cast<const rlimit*>(&low)); !r)
    return std::unexpected(r.error());
  return FdBallast(std::move(held), old.rlim_cur, old.rlim_max);
}

FdBallast::FdBallast(FdBallast&& o) noexcept
    : held_(std::move(o.held_)),
      saved_cur_(o.saved_cur_),
      saved_max_(o.saved_max_),
      active_(std::exchange(o.active_, false)) {}

FdBallast& FdBallast::operator=(FdBallast&& o) noexcept {
  if (this != &o) {
    (void)release();
    held_ = std::move(o.held_);
    saved_cur_ = o.saved_cur_;
    saved_max_ = o.saved_max_;
    active_ = std::exchange(o.active_, false);
  }
  return *this;
}

FdBallast::~FdBallast() { (void)release(); }

io_result<void> FdBallast::release() noexcept {
  held_.clear();
  if (!active_) return {};
  active_ = false;
  const rlimit saved{static_cast<rlim_t>(saved_cur_), static_cast<rlim_t>(saved_max_)};
  return sys::ok_or_error(sys::call(::setrlimit, RLIMIT_NOFILE, &saved));
}

namespace {

/// Waits for `stop_fd`, and for `fd` writable when there is no deadline (see fds.h).
bool wait_or_stop(int fd, int stop_fd,
                  std::optional<std::chrono::steady_clock::time_point> deadline) noexcept {
  using Clock = std::chrono::steady_clock;
  for (;;) {
    std::array<pollfd, 2> fds{{{stop_fd, POLLIN, 0}, {fd, POLLOUT, 0}}};
    timespec ts{};
    const timespec* tp = nullptr;
    if (deadline) {
      const auto left =
          std::max(std::chrono::nanoseconds(0),
                   std::chrono::duration_cast<std::chrono::nanoseconds>(*deadline - Clock::now()));
      ts.tv_sec = static_cast<time_t>(left.count() / 1'000'000'000);
      ts.tv_nsec = static_cast<long>(left.count() % 1'000'000'000);
      tp = &ts;
    }
    auto r = sys::call(::ppoll, fds.data(), static_cast<nfds_t>(deadline ? 1 : 2), tp,
                       static_cast<const sigset_t*>(nullptr));
    if (!r && r.error() == std::errc::interrupted) continue;
    if (!r) return true;  // cannot wait: stop rather than spin
    if (fds[0].revents != 0) return true;
    if (deadline && Clock::now() < *deadline) continue;
    return false;
  }
}

}  // namespace

bool wait_writable_or_stop(int fd, int stop_fd) noexcept { return wait_or_stop(fd, stop_fd, std::nullopt); }

bool sleep_until_or_stop(int stop_fd, std::chrono::steady_clock::time_point deadline) noexcept {
  return wait_or_stop(-1, stop_fd, deadline);
}

}  // namespace ready::os
