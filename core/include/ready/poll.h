// Poll, Registry and the Source interface: the readiness loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "ready/error.h"
#include "ready/event.h"
#include "ready/interest.h"
#include "ready/owned_fd.h"
#include "ready/token.h"

namespace ready {

class Registry;

/// Something that can be registered with a `Registry`: every socket, pipe, eventfd
/// and timerfd type of this library, `SourceFd` for a borrowed descriptor, or a type
/// of your own that forwards to one of those.
///
/// Call these through `Registry::add` / `modify` / `remove` (mio's register /
/// reregister / deregister; the names here are those of EPOLL_CTL_ADD / MOD / DEL).
///
/// Dropping a source: closing the last descriptor of an open file removes it from
/// every epoll set, so an owned source that is destroyed stops producing events.
/// A `dup` of the descriptor (including one leaked into a child process) keeps the
/// registration alive and its events coming after the close. Remove before closing.
class Source {
 public:
  virtual io_result<void> add(const Registry& registry, Token token, Interest interest, Trigger trigger) = 0;
  virtual io_result<void> modify(const Registry& registry, Token token, Interest interest,
                                 Trigger trigger) = 0;
  virtual io_result<void> remove(const Registry& registry) = 0;

 protected:
  Source() = default;
  Source(const Source&) = default;
  Source(Source&&) = default;
  Source& operator=(const Source&) = default;
  Source& operator=(Source&&) = default;
  ~Source() = default;
};

/// Registers sources with a `Poll`. Thread-safe: any thread may add, modify or remove
/// while another thread is blocked in `Poll::poll`, and the blocked poll sees the
/// change (a newly added ready source wakes it).
///
/// Rules, as in mio:
/// - `add` a source once; a second `add` fails with `Errc::already_registered`
///   (use `modify` to change token, interest or trigger: they replace the old ones).
/// - `modify` or `remove` of a source that is not registered fails with
///   `Errc::not_registered`; through a Poll other than its own with
///   `Errc::registered_with_other_poll`. (A `SourceFd` has no such bookkeeping and
///   gets the raw EEXIST / ENOENT of epoll_ctl.)
/// - A source is registered with at most one Poll at a time.
/// - After `remove` returns, its token does not appear in later polls (given a
///   happens-before between the two calls). Events already returned are not recalled.
/// - Registering READABLE gives no event when the source becomes writable. EPOLLERR and
///   EPOLLHUP are reported whatever the interest.
/// - `add` and `modify` evaluate readiness at once: a source that is already ready
///   produces an event on the next poll, in every trigger mode.
class Registry {
 public:
  io_result<void> add(Source& source, Token token, Interest interest, Trigger trigger = Trigger::edge) const {
    return source.add(*this, token, interest, trigger);
  }
  io_result<void> modify(Source& source, Token token, Interest interest,
                         Trigger trigger = Trigger::edge) const {
    return source.modify(*this, token, interest, trigger);
  }
  io_result<void> remove(Source& source) const { return source.remove(*this); }

  /// A second handle to the same epoll set (the epoll fd is duplicated): sources added
  /// through the clone are polled by the same Poll and count as registered with it.
  [[nodiscard]] io_result<Registry> try_clone() const;

  /// The epoll descriptor (still owned by this Registry).
  [[nodiscard]] int as_raw_fd() const noexcept { return ep_.get(); }
  /// The process-unique id of the Poll this Registry belongs to (shared by clones).
  [[nodiscard]] std::uint64_t poll_id() const noexcept { return id_; }

  /// The epoll_ctl operations behind every Source; for implementing a Source on a
  /// descriptor. They do no ownership bookkeeping.
  io_result<void> ctl_add(int fd, Token token, Interest interest, Trigger trigger) const noexcept;
  io_result<void> ctl_modify(int fd, Token token, Interest interest, Trigger trigger) const noexcept;
  io_result<void> ctl_remove(int fd) const noexcept;
  /// EPOLL_CTL_MOD to no interest at all, keeping `trigger`: only EPOLLERR and EPOLLHUP
  /// (which the kernel reports whatever the interest) come until a `ctl_modify` asks for
  /// readiness again, which re-evaluates it (a source still ready then reports at once). For
  /// a registration kept while its owner waits on something else (a relay leg under
  /// back-pressure); `Interest` is never empty, as in mio, so this is separate.
  io_result<void> ctl_pause(int fd, Token token, Trigger trigger) const noexcept;

  /// The epoll event mask `add` uses for an interest and trigger.
  [[nodiscard]] static std::uint32_t epoll_mask(Interest interest, Trigger trigger) noexcept;

 private:
  friend class Poll;
  friend class Waker;
  Registry(OwnedFd ep, std::uint64_t id, std::shared_ptr<bool> has_waker) noexcept
      : ep_(std::move(ep)), id_(id), has_waker_(std::move(has_waker)) {}
  OwnedFd ep_;
  std::uint64_t id_;
  std::shared_ptr<bool> has_waker_;  // one Waker per Poll, shared by clones (guarded by a mutex in waker.cpp)
};

/// Polls for readiness events on the sources registered with its `Registry`.
///
/// Owns one epoll instance (created close-on-exec). `poll` is one `epoll_wait`.
///
/// Spurious events: `poll` may report readiness that is not real (the operation then
/// would block). Treat would-block as "wait for the next event", never as an error.
///
/// Draining readiness: with the default edge trigger, after an event keep doing the
/// operation until it returns would-block. If you stop earlier, no new event is
/// promised, even while data remains: only a new change (more data, a new
/// connection) makes a new edge. Level and oneshot registrations behave as their
/// `Trigger` says.
///
/// Readiness operations: only readable and writable are dependable; error and the
/// closed flags are hints (see `Event`).
///
/// Registering: a source produces events only while registered. Polling with nothing
/// registered and no timeout blocks until a signal arrives.
///
/// Destroying a Poll closes the epoll instance; registered sources simply stop being
/// polled. Keep it alive while its sources are in use.
class Poll {
 public:
  /// Creates the epoll instance (epoll_create1(EPOLL_CLOEXEC)).
  [[nodiscard]] static io_result<Poll> create();

  [[nodiscard]] const Registry& registry() const noexcept { return registry_; }

  /// Clears `events`, then waits at most `timeout` (nullopt: no limit) for events with
  /// exactly one epoll_wait. The timeout is rounded up to whole milliseconds (so 1 ns
  /// waits 1 ms, not 0, and a short timeout never turns into a busy loop), zero stays
  /// zero, and very long ones are clamped to INT_MAX ms. A timeout may be overrun
  /// slightly. Returns the number of events. A signal handler that runs during the
  /// wait makes it return EINTR as an error value; retrying is the caller's choice.
  io_result<std::size_t> poll(Events& events, std::optional<std::chrono::nanoseconds> timeout);

  /// The epoll descriptor.
  [[nodiscard]] int as_raw_fd() const noexcept { return registry_.as_raw_fd(); }

  /// The epoll_wait timeout for a poll timeout: -1, or milliseconds rounded up.
  [[nodiscard]] static int timeout_ms(std::optional<std::chrono::nanoseconds> timeout) noexcept;

 private:
  explicit Poll(Registry r) noexcept : registry_(std::move(r)) {}
  Registry registry_;
};

}  // namespace ready
