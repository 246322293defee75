// One list per enum: its values and their wire names come from the same X-macro list, so a
// value cannot be added without its name (Wireshark keeps its value_string tables beside
// each enum for the same reason).
//
// Declaring an enum:
//
//   #define READY_TRIGGER_LIST(X) X(edge) X(level) X(oneshot)
//   READY_NAMED_ENUM(Trigger, std::uint8_t, READY_TRIGGER_LIST)
//
// gives `enum class Trigger : std::uint8_t { edge, level, oneshot };` and, found by
// argument-dependent lookup, the table the templates below read. Every user of a name (the
// recording writer and reader, the scenario parser, the command line, the GUI's wording)
// goes through `ready::name_of` / `ready::parse_name` / `ready::all_values`.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>
#include <type_traits>

namespace ready {

/// The wire name of `e` ("edge", "would_block"), or "unknown" for a value outside the list.
template <class E>
constexpr std::string_view name_of(E e) noexcept {
  constexpr auto names = enum_names(E{});
  const auto i = static_cast<std::size_t>(e);
  return i < names.size() ? names[i] : std::string_view("unknown");
}

/// The value whose wire name is `s` (exact, case-sensitive), or nullopt.
template <class E>
constexpr std::optional<E> parse_name(std::string_view s) noexcept {
  constexpr auto names = enum_names(E{});
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == s) return static_cast<E>(i);
  return std::nullopt;
}

/// How many values the enum has (its values are 0 .. count - 1, in list order).
template <class E>
inline constexpr std::size_t enum_count = enum_names(E{}).size();

/// Every value of the enum, in list order (for loops in tests and for menus).
template <class E>
constexpr std::array<E, enum_count<E>> all_values() noexcept {
  std::array<E, enum_count<E>> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<E>(i);
  return out;
}

/// Every wire name, in list order.
template <class E>
constexpr auto all_names() noexcept {
  return enum_names(E{});
}

}  // namespace ready

#define READY_ENUM_VALUE_(n) n,
#define READY_ENUM_NAME_(n) std::string_view(#n),
#define READY_ENUM_ONE_(n) +1

/// Declares `enum class Name : Underlying` with the values of LIST, in its order, and the
/// name table `enum_names(Name)` (constexpr, found by ADL) with the same spelling.
#define READY_NAMED_ENUM(Name, Underlying, LIST)                                        \
  enum class Name : Underlying { LIST(READY_ENUM_VALUE_) };                             \
  constexpr std::array<std::string_view, 0 LIST(READY_ENUM_ONE_)> enum_names(Name) noexcept { \
    return {LIST(READY_ENUM_NAME_)};                                                    \
  }
