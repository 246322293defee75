// Pipes, eventfd and timerfd.
#include <fcntl.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "linux/sys.h"
#include "ready/unix/eventfd.h"
#include "ready/unix/pipe.h"
#include "ready/unix/timerfd.h"

namespace ready::unix {

namespace {
io_result<void> set_fionbio(int fd, bool on) noexcept {
  int v = on ? 1 : 0;
  return sys::ok_or_error(sys::call(::ioctl, fd, FIONBIO, &v));
}

io_result<std::size_t> sized(io_result<ssize_t> r) noexcept {
  if (!r) return std::unexpected(r.error());
  return static_cast<std::size_t>(*r);
}

// Reads the 8-byte counter of an eventfd or timerfd.
io_result<std::uint64_t> read_u64(int fd) noexcept {
  std::uint64_t v = 0;
  if (auto r = sys::call_retry(::read, fd, static_cast<void*>(&v), sizeof v); !r)
    return std::unexpected(r.error());
  return v;
}
}  // namespace

io_result<std::pair<Sender, Receiver>> pipe() {
  int fds[2];
  if (auto r = sys::call(::pipe2, fds, O_NONBLOCK | O_CLOEXEC); !r) return std::unexpected(r.error());
  return std::pair{Sender::from_fd(OwnedFd(fds[1])), Receiver::from_fd(OwnedFd(fds[0]))};
}

io_result<std::size_t> Sender::write(std::span<const std::byte> buf) const noexcept {
  return sized(sys::call_retry(::write, as_raw_fd(), static_cast<const void*>(buf.data()), buf.size()));
}

io_result<std::size_t> Sender::write(std::string_view s) const noexcept {
  return sized(sys::call_retry(::write, as_raw_fd(), static_cast<const void*>(s.data()), s.size()));
}

io_result<void> Sender::set_nonblocking(bool on) const noexcept { return set_fionbio(as_raw_fd(), on); }

io_result<std::size_t> Receiver::read(std::span<std::byte> buf) const noexcept {
  return sized(sys::call_retry(::read, as_raw_fd(), static_cast<void*>(buf.data()), buf.size()));
}

io_result<void> Receiver::set_nonblocking(bool on) const noexcept { return set_fionbio(as_raw_fd(), on); }

void ignore_sigpipe() noexcept {
  struct sigaction sa {};
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGPIPE, &sa, nullptr);
}

io_result<EventFd> EventFd::create(std::uint64_t initial, bool semaphore) {
  // eventfd(2) takes the initial value as an unsigned int.
  if (initial > 0xffffffffULL) return std::unexpected(os_error(EINVAL));
  const int flags = EFD_NONBLOCK | EFD_CLOEXEC | (semaphore ? EFD_SEMAPHORE : 0);
  auto fd = sys::own(sys::call(::eventfd, static_cast<unsigned>(initial), flags));
  if (!fd) return std::unexpected(fd.error());
  return EventFd(std::move(*fd), semaphore);
}

io_result<void> EventFd::write(std::uint64_t value) const noexcept {
  return sys::ok_or_error(
      sys::call_retry(::write, as_raw_fd(), static_cast<const void*>(&value), sizeof value));
}

io_result<std::uint64_t> EventFd::read() const noexcept { return read_u64(as_raw_fd()); }

io_result<TimerFd> TimerFd::create() {
  auto fd = sys::own(sys::call(::timerfd_create, CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!fd) return std::unexpected(fd.error());
  return TimerFd(std::move(*fd));
}

namespace {
timespec to_timespec(std::chrono::nanoseconds d) noexcept {
  return {static_cast<time_t>(d.count() / 1'000'000'000), static_cast<long>(d.count() % 1'000'000'000)};
}
std::chrono::nanoseconds from_timespec(const timespec& t) noexcept {
  return std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
}
}  // namespace

io_result<void> TimerFd::arm(std::chrono::nanoseconds initial,
                             std::chrono::nanoseconds interval) const noexcept {
  // A zero it_value would disarm; a negative one is invalid. Both are caller errors here.
  if (initial.count() <= 0 || interval.count() < 0) return std::unexpected(os_error(EINVAL));
  itimerspec spec{to_timespec(interval), to_timespec(initial)};
  return sys::ok_or_error(
      sys::call(::timerfd_settime, as_raw_fd(), 0, &spec, static_cast<itimerspec*>(nullptr)));
}

io_result<void> TimerFd::disarm() const noexcept {
  itimerspec spec{};
  return sys::ok_or_error(
      sys::call(::timerfd_settime, as_raw_fd(), 0, &spec, static_cast<itimerspec*>(nullptr)));
}

io_result<std::uint64_t> TimerFd::read() const noexcept { return read_u64(as_raw_fd()); }

io_result<TimerFd::Setting> TimerFd::setting() const noexcept {
  itimerspec cur{};
  if (auto r = sys::call(::timerfd_gettime, as_raw_fd(), &cur); !r) return std::unexpected(r.error());
  return Setting{from_timespec(cur.it_value), from_timespec(cur.it_interval)};
}

}  // namespace ready::unix
