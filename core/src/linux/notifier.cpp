// The record ring's consumer wake-up (eventfd); the protocol is described in notifier.h.
#include "ready/capture/notifier.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "linux/sys.h"

namespace ready::capture {

io_result<Notifier> Notifier::create() {
  auto fd = sys::own(sys::call(::eventfd, 0u, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!fd) return std::unexpected(fd.error());
  return Notifier(std::move(*fd));
}

Notifier::Notifier(Notifier&& o) noexcept
    : fd_(std::move(o.fd_)),
      pending_(o.pending_.load(std::memory_order_relaxed)),
      writes_(o.writes_.load(std::memory_order_relaxed)),
      notifies_(o.notifies_.load(std::memory_order_relaxed)) {}

Notifier& Notifier::operator=(Notifier&& o) noexcept {
  if (this != &o) {
    fd_ = std::move(o.fd_);
    pending_.store(o.pending_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    writes_.store(o.writes_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    notifies_.store(o.notifies_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  }
  return *this;
}

io_result<bool> Notifier::notify() noexcept {
  notifies_.fetch_add(1, std::memory_order_relaxed);
  if (pending_.exchange(true, std::memory_order_acq_rel)) return false;
  const std::uint64_t one = 1;
  // The counter is at most 1 here (one write per drain), so the write cannot would-block.
  if (auto r = sys::call_retry(::write, fd_.get(), static_cast<const void*>(&one), sizeof one); !r) {
    // Nothing was written: let the next notify try again.
    pending_.store(false, std::memory_order_release);
    return std::unexpected(r.error());
  }
  writes_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

io_result<bool> Notifier::begin_drain() noexcept {
  std::uint64_t value = 0;
  auto r = sys::call_retry(::read, fd_.get(), static_cast<void*>(&value), sizeof value);
  if (!r && !is_would_block(r.error())) return std::unexpected(r.error());
  // After the read, never before: see the protocol in notifier.h.
  pending_.exchange(false, std::memory_order_acq_rel);
  return r.has_value();
}

}  // namespace ready::capture
