#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace ready {

/// Associates an event with the source it belongs to.
///
/// The caller picks a unique token per registration and maps it back to its source
/// (a vector index or a map key); the library never checks uniqueness. It is carried
/// in `epoll_event.data.u64`, so every `std::size_t` value round-trips unchanged.
/// Prefer tokens that are never reused over raw file descriptors: a closed fd number
/// is reused at once by the kernel, a token is not.
struct Token {
  std::size_t value = 0;

  constexpr Token() noexcept = default;
  constexpr explicit Token(std::size_t v) noexcept : value(v) {}
  constexpr explicit operator std::size_t() const noexcept { return value; }
  friend constexpr auto operator<=>(Token, Token) noexcept = default;
};

}  // namespace ready

template <>
struct std::hash<ready::Token> {
  std::size_t operator()(ready::Token t) const noexcept { return std::hash<std::size_t>{}(t.value); }
};
