// The internal contract between ready::'s public types and Linux.
//
// Every system call the library makes goes through this file's helpers, in
// core/src/linux/ only; the public types in core/include/ready/ hold descriptors and
// call these. That gives one place that:
//   - turns -1 + errno into an error value (`call`), the way mio's `syscall!` does;
//   - retries EINTR for the calls where a retry is correct (`call_retry`: read,
//     write, send, recv, accept). poll is never retried here: Poll::poll returns EINTR
//     to its caller. close is never retried: Linux releases the descriptor even when
//     close reports EINTR, and a retry could close someone else's new descriptor.
//   - creates every descriptor non-blocking and close-on-exec in the creating call
//     (SOCK_NONBLOCK|SOCK_CLOEXEC, EFD_*, TFD_*, O_*), never with a later fcntl,
//     so no other thread's fork/exec can inherit it.
#pragma once

#include <cerrno>
#include <type_traits>
#include <utility>

#include "ready/error.h"
#include "ready/owned_fd.h"

namespace ready::sys {

/// Calls f(args...) once; a -1 result becomes the errno as an error value.
template <class F, class... A>
inline auto call(F f, A... args) noexcept -> io_result<decltype(f(args...))> {
  auto r = f(args...);
  if (r == -1) return std::unexpected(last_error());
  return r;
}

/// Like `call`, but retries while the call is interrupted by a signal (EINTR).
template <class F, class... A>
inline auto call_retry(F f, A... args) noexcept -> io_result<decltype(f(args...))> {
  for (;;) {
    auto r = f(args...);
    if (r != -1) return r;
    if (errno != EINTR) return std::unexpected(last_error());
  }
}

/// Wraps a descriptor-returning call's result in its owner.
inline io_result<OwnedFd> own(io_result<int> fd) noexcept {
  if (!fd) return std::unexpected(fd.error());
  return OwnedFd(*fd);
}

/// r's value passed through f, or r's error (std::expected::transform is GCC 13+).
template <class T, class F>
inline auto map(io_result<T> r, F f) noexcept -> io_result<decltype(f(std::move(*r)))> {
  if (!r) return std::unexpected(r.error());
  return f(std::move(*r));
}

/// r's value passed to f (which returns an io_result), or r's error.
template <class T, class F>
inline auto then(io_result<T> r, F f) noexcept -> decltype(f(std::move(*r))) {
  if (!r) return std::unexpected(r.error());
  return f(std::move(*r));
}

/// A result that carries only success or the error.
template <class T>
inline io_result<void> ok_or_error(const io_result<T>& r) noexcept {
  if (!r) return std::unexpected(r.error());
  return {};
}

/// socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0).
io_result<OwnedFd> socket(int domain, int type) noexcept;

}  // namespace ready::sys
