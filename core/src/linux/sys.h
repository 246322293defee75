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
//     so no other thread's fork/exec can inherit it;
//   - lets a test inject faults (`fault::inject`): the one deliberate exception to "no
//     kernel mocks", used to make epoll_wait return EINTR or a read EAGAIN on demand.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cerrno>
#include <type_traits>
#include <utility>

#include "ready/error.h"
#include "ready/owned_fd.h"

namespace ready::sys {

/// Fault injection for tests: `inject(::epoll_wait, EINTR, 1)` makes the next call of
/// epoll_wait made through `call` / `call_retry` fail with EINTR, without calling it.
///
/// Always compiled in (tests link the same library the app ships, so they test the code
/// that runs), and near zero-cost when unused: each call site reads one relaxed atomic
/// that is only ever written by `inject`/`clear`, predicted not taken. The table behind it
/// (a few entries, a mutex) is only consulted while something is injected.
///
/// A syscall is named by its libc function (the pointer `call` is given). `count` calls
/// fail, then the entry is spent. `tid` limits it to one thread (gettid(); 0: any thread),
/// so a test can aim at the capture engine's poll thread and not at its own calls.
/// At most kMaxFaults entries; `inject` returns false when the table is full.
namespace fault {
inline constexpr int kMaxFaults = 8;
using Fn = void (*)();
namespace detail {
extern std::atomic<int> g_armed;  // entries with count > 0
/// The errno to fail this call of `fn` with (and one count spent), or 0.
int take(Fn fn) noexcept;
}  // namespace detail
bool inject(Fn fn, int err, int count, pid_t tid = 0) noexcept;
/// Calls of `fn` still to fail (summed over its entries).
int remaining(Fn fn) noexcept;
/// Calls of `fn` failed by injection so far (since the last clear()).
int injected(Fn fn) noexcept;
/// Removes every entry and resets the counts.
void clear() noexcept;
/// Not a system call: the capture engine's allocation fault point (os::allocation_fault).
/// `inject(allocation, ENOMEM, 1, poll_thread_tid)` makes the poll thread throw
/// std::bad_alloc before its next command or periodic stats record, as a failed allocation
/// would: the deliberate way to test that the engine survives one. Does nothing if called.
void allocation() noexcept;

template <class R, class... A>
bool inject(R (*fn)(A...), int err, int count, pid_t tid = 0) noexcept {
  return inject(reinterpret_cast<Fn>(fn), err, count, tid);
}
template <class R, class... A>
int remaining(R (*fn)(A...)) noexcept {
  return remaining(reinterpret_cast<Fn>(fn));
}
template <class R, class... A>
int injected(R (*fn)(A...)) noexcept {
  return injected(reinterpret_cast<Fn>(fn));
}

/// The injected errno for this call of f (0: none); set errno too.
template <class F>
inline int check(F f) noexcept {
  if constexpr (std::is_pointer_v<F> && std::is_function_v<std::remove_pointer_t<F>>) {
    if (detail::g_armed.load(std::memory_order_relaxed) != 0) [[unlikely]] {
      if (const int e = detail::take(reinterpret_cast<Fn>(f))) {
        errno = e;
        return e;
      }
    }
  }
  return 0;
}
}  // namespace fault

/// Calls f(args...) once; a -1 result becomes the errno as an error value.
template <class F, class... A>
inline auto call(F f, A... args) noexcept -> io_result<decltype(f(args...))> {
  if (fault::check(f) != 0) [[unlikely]]
    return std::unexpected(last_error());
  auto r = f(args...);
  if (r == -1) return std::unexpected(last_error());
  return r;
}

/// Like `call`, but retries while the call is interrupted by a signal (EINTR).
template <class F, class... A>
inline auto call_retry(F f, A... args) noexcept -> io_result<decltype(f(args...))> {
  for (;;) {
    if (const int e = fault::check(f); e != 0) [[unlikely]] {
      if (e == EINTR) continue;
      return std::unexpected(last_error());
    }
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

/// Names the calling thread (at most 15 characters shown) for top, gdb and /proc; best effort.
void name_this_thread(const char* name) noexcept;

/// socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0).
io_result<OwnedFd> socket(int domain, int type) noexcept;

}  // namespace ready::sys
