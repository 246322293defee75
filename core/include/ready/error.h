// Error values of the ready:: library.
//
// Every call that touches the OS returns `io_result<T>`: either the value or a
// `std::error_code` in the system category carrying the errno. Would-block is an
// ordinary outcome, not an exception: test it with `is_would_block(ec)`.
// Misuse of a registration (registering twice, modifying a source that is not
// registered, ...) gives the named codes of `ready::Errc` below instead of the raw
// epoll errno, so callers can tell "you asked twice" from "the kernel said no".
#pragma once

#include <cerrno>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace ready {

template <class T>
using io_result = std::expected<T, std::error_code>;

/// Registration misuse, reported before any syscall is made.
enum class Errc {
  /// `Registry::add` on a source that is already registered (with this or another Poll).
  already_registered = 1,
  /// `Registry::modify` or `remove` on a source that is not registered.
  not_registered,
  /// `Registry::modify` or `remove` through a Poll other than the one the source is
  /// registered with.
  registered_with_other_poll,
  /// A second `Waker` for the same Poll (one per Poll, shared by every clone of its Registry).
  waker_exists,
};

const std::error_category& ready_category() noexcept;

inline std::error_code make_error_code(Errc e) noexcept { return {static_cast<int>(e), ready_category()}; }

/// The current `errno` as an error code in the system category.
inline std::error_code last_error() noexcept { return {errno, std::system_category()}; }

/// An errno value as an error code in the system category.
inline std::error_code os_error(int err) noexcept { return {err, std::system_category()}; }

/// True for EAGAIN/EWOULDBLOCK: the operation would block; wait for the next event.
inline bool is_would_block(const std::error_code& ec) noexcept {
  return ec.category() == std::system_category() && (ec.value() == EAGAIN || ec.value() == EWOULDBLOCK);
}

/// Same, for a result: true when it holds the would-block error.
template <class T>
bool is_would_block(const io_result<T>& r) noexcept {
  return !r.has_value() && is_would_block(r.error());
}

/// The symbolic errno name ("ECONNRESET"), or "E<number>" for one this table does not know.
std::string errno_name(int err);
/// The inverse of errno_name: the errno of a symbolic name ("ECONNRESET") or of the
/// "E<number>" form; nullopt for anything else.
std::optional<int> errno_from_name(std::string_view name);

}  // namespace ready

template <>
struct std::is_error_code_enum<ready::Errc> : std::true_type {};
