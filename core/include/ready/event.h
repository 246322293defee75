// Readiness events as returned by Poll::poll.
#pragma once

#include <sys/epoll.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "ready/token.h"

namespace ready {

/// One readiness event: the token of the registration and the readiness it reports.
///
/// The predicates are exactly mio's on Linux (e = the raw epoll bits):
///
/// | predicate          | true when                                         |
/// |--------------------|---------------------------------------------------|
/// | `is_readable`      | EPOLLIN or EPOLLPRI                               |
/// | `is_writable`      | EPOLLOUT                                          |
/// | `is_error`         | EPOLLERR                                          |
/// | `is_read_closed`   | EPOLLHUP, or EPOLLIN and EPOLLRDHUP               |
/// | `is_write_closed`  | EPOLLHUP, or EPOLLOUT and EPOLLERR, or e == EPOLLERR |
/// | `is_priority`      | EPOLLPRI                                          |
///
/// Only readable and writable are dependable. Error, read-closed and write-closed
/// are hints: they have no false positives but may have false negatives (an error
/// or a close may show as plain readable), so the real read or write must still
/// handle errors and end-of-file. Out-of-band data counts as readable.
/// A local `shutdown(write)` does not make write-closed on epoll.
class Event {
 public:
  constexpr Event() noexcept = default;
  constexpr Event(Token t, std::uint32_t epoll_bits) noexcept : raw_{epoll_bits, {.u64 = t.value}} {}

  [[nodiscard]] constexpr Token token() const noexcept {
    return Token(static_cast<std::size_t>(raw_.data.u64));
  }
  [[nodiscard]] constexpr bool is_readable() const noexcept { return raw_.events & (EPOLLIN | EPOLLPRI); }
  [[nodiscard]] constexpr bool is_writable() const noexcept { return raw_.events & EPOLLOUT; }
  [[nodiscard]] constexpr bool is_error() const noexcept { return raw_.events & EPOLLERR; }
  [[nodiscard]] constexpr bool is_read_closed() const noexcept {
    return (raw_.events & EPOLLHUP) || ((raw_.events & EPOLLIN) && (raw_.events & EPOLLRDHUP));
  }
  /// Includes an EPOLLERR alone, which is how epoll reports a pipe whose read end closed.
  [[nodiscard]] constexpr bool is_write_closed() const noexcept {
    return (raw_.events & EPOLLHUP) || ((raw_.events & EPOLLOUT) && (raw_.events & EPOLLERR)) ||
           raw_.events == EPOLLERR;
  }
  [[nodiscard]] constexpr bool is_priority() const noexcept { return raw_.events & EPOLLPRI; }
  /// The raw epoll bits as the kernel returned them (for display; not a stable API).
  [[nodiscard]] constexpr std::uint32_t epoll_bits() const noexcept { return raw_.events; }

  /// "token=3 readable read_closed (EPOLLIN|EPOLLRDHUP)".
  [[nodiscard]] std::string to_string() const;

 private:
  epoll_event raw_{};
};

/// "EPOLLIN|EPOLLOUT|...": the names of the set epoll bits ("0" when none).
std::string epoll_bits_to_string(std::uint32_t bits);

/// A fixed-capacity buffer of events filled by `Poll::poll`.
///
/// At most `capacity()` events are returned by one poll; the rest come on the next
/// one (the kernel round-robins ready sources). One source may appear as one
/// combined event (readable and writable) or as two. There is no `push`: only
/// `Poll::poll` fills it, and it clears it first.
class Events {
 public:
  /// Throws std::invalid_argument when `capacity` is 0 (epoll_wait would fail with EINVAL)
  /// or larger than epoll_wait accepts.
  explicit Events(std::size_t capacity);

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  void clear() noexcept { size_ = 0; }

  [[nodiscard]] const Event* begin() const noexcept { return buf_.get(); }
  [[nodiscard]] const Event* end() const noexcept { return buf_.get() + size_; }
  [[nodiscard]] const Event& operator[](std::size_t i) const noexcept { return buf_[i]; }

 private:
  friend class Poll;
  std::unique_ptr<Event[]> buf_;
  std::size_t capacity_;
  std::size_t size_ = 0;
};

}  // namespace ready
