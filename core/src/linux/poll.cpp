// Poll, Registry, IoSource bookkeeping and Waker: the epoll selector.
#include "ready/poll.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdint>
#include <mutex>

#include "linux/sys.h"
#include "ready/source.h"
#include "ready/waker.h"

namespace ready {

static_assert(sizeof(Event) == sizeof(epoll_event), "Event must be layout-identical to epoll_event");

namespace {
// Process-unique Poll ids; 0 means "not registered" in IoSource.
std::atomic<std::uint64_t> g_next_poll_id{1};
// Guards every Poll's has_waker flag (taken only when a Waker is created).
std::mutex g_waker_mutex;

io_result<void> ctl(int ep, int op, int fd, std::uint32_t mask, Token token) noexcept {
  epoll_event ev{};
  ev.events = mask;
  ev.data.u64 = token.value;
  return sys::ok_or_error(sys::call(::epoll_ctl, ep, op, fd, op == EPOLL_CTL_DEL ? nullptr : &ev));
}
}  // namespace

std::uint32_t Registry::epoll_mask(Interest interest, Trigger trigger) noexcept {
  std::uint32_t m = 0;
  if (interest.is_readable()) m |= EPOLLIN | EPOLLRDHUP;
  if (interest.is_writable()) m |= EPOLLOUT;
  if (interest.is_priority()) m |= EPOLLPRI;
  switch (trigger) {
    case Trigger::edge:
      m |= EPOLLET;
      break;
    case Trigger::level:
      break;
    case Trigger::oneshot:
      m |= EPOLLONESHOT;
      break;
  }
  return m;
}

io_result<void> Registry::ctl_add(int fd, Token token, Interest interest, Trigger trigger) const noexcept {
  return ctl(ep_.get(), EPOLL_CTL_ADD, fd, epoll_mask(interest, trigger), token);
}

io_result<void> Registry::ctl_modify(int fd, Token token, Interest interest, Trigger trigger) const noexcept {
  return ctl(ep_.get(), EPOLL_CTL_MOD, fd, epoll_mask(interest, trigger), token);
}

io_result<void> Registry::ctl_pause(int fd, Token token, Trigger trigger) const noexcept {
  return ctl(ep_.get(), EPOLL_CTL_MOD, fd, epoll_mask(Interest::READABLE, trigger) & ~(EPOLLIN | EPOLLRDHUP), token);
}

io_result<void> Registry::ctl_remove(int fd) const noexcept {
  return ctl(ep_.get(), EPOLL_CTL_DEL, fd, 0, Token{});
}

io_result<Registry> Registry::try_clone() const {
  OwnedFd dup;
  if (auto ec = ep_.try_clone(dup)) return std::unexpected(ec);
  return Registry(std::move(dup), id_, has_waker_);
}

io_result<Poll> Poll::create() {
  auto ep = sys::own(sys::call(::epoll_create1, EPOLL_CLOEXEC));
  if (!ep) return std::unexpected(ep.error());
  return Poll(Registry(std::move(*ep), g_next_poll_id.fetch_add(1, std::memory_order_relaxed),
                       std::make_shared<bool>(false)));
}

int Poll::timeout_ms(std::optional<std::chrono::nanoseconds> timeout) noexcept {
  if (!timeout) return -1;
  if (timeout->count() <= 0) return 0;
  // Round up: a 100 us timeout must wait (1 ms), not turn into a busy loop of 0 ms waits.
  const auto ms = (static_cast<std::uint64_t>(timeout->count()) + 999'999) / 1'000'000;
  return ms > static_cast<std::uint64_t>(INT_MAX) ? INT_MAX : static_cast<int>(ms);
}

io_result<std::size_t> Poll::poll(Events& events, std::optional<std::chrono::nanoseconds> timeout) {
  events.size_ = 0;
  // Event is layout-identical to epoll_event (static_assert above); the kernel fills the array.
  auto n = sys::call(::epoll_wait, registry_.as_raw_fd(), reinterpret_cast<epoll_event*>(events.buf_.get()),
                     static_cast<int>(events.capacity_), timeout_ms(timeout));
  if (!n) return std::unexpected(n.error());
  events.size_ = static_cast<std::size_t>(*n);
  return events.size_;
}

io_result<void> IoSource::add(const Registry& registry, Token token, Interest interest, Trigger trigger) {
  if (poll_id_ != 0) return std::unexpected(make_error_code(Errc::already_registered));
  auto r = registry.ctl_add(fd_.get(), token, interest, trigger);
  if (r) poll_id_ = registry.poll_id();
  return r;
}

io_result<void> IoSource::modify(const Registry& registry, Token token, Interest interest, Trigger trigger) {
  if (poll_id_ == 0) return std::unexpected(make_error_code(Errc::not_registered));
  if (poll_id_ != registry.poll_id())
    return std::unexpected(make_error_code(Errc::registered_with_other_poll));
  return registry.ctl_modify(fd_.get(), token, interest, trigger);
}

io_result<void> IoSource::remove(const Registry& registry) {
  if (poll_id_ == 0) return std::unexpected(make_error_code(Errc::not_registered));
  if (poll_id_ != registry.poll_id())
    return std::unexpected(make_error_code(Errc::registered_with_other_poll));
  auto r = registry.ctl_remove(fd_.get());
  poll_id_ = 0;
  return r;
}

io_result<Waker> Waker::create(const Registry& registry, Token token) {
  std::lock_guard lock(g_waker_mutex);
  if (*registry.has_waker_) return std::unexpected(make_error_code(Errc::waker_exists));
  auto fd = sys::own(sys::call(::eventfd, 0u, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd) return std::unexpected(fd.error());
  if (auto r = registry.ctl_add(fd->get(), token, Interest::READABLE, Trigger::edge); !r)
    return std::unexpected(r.error());
  // Like mio, never cleared: a Poll gets one Waker for its lifetime.
  *registry.has_waker_ = true;
  return Waker(std::move(*fd));
}

io_result<void> Waker::wake() const noexcept {
  const std::uint64_t one = 1;
  for (;;) {
    auto r = sys::call_retry(::write, fd_.get(), &one, sizeof one);
    if (r) return {};
    if (!is_would_block(r.error())) return std::unexpected(r.error());
    // The counter would overflow: read it to zero, then write again. Each write is
    // a new edge, so the reader never has to drain in the normal case.
    std::uint64_t drained;
    (void)sys::call_retry(::read, fd_.get(), &drained, sizeof drained);
  }
}

}  // namespace ready
