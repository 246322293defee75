#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ready/enum_names.h"

namespace ready {

/// The readiness a registration asks for. Never empty, as in mio: there is no
/// "no interest" value; to stop all events, remove the registration.
///
/// On epoll: READABLE -> EPOLLIN | EPOLLRDHUP, WRITABLE -> EPOLLOUT, PRIORITY -> EPOLLPRI.
/// EPOLLERR and EPOLLHUP are always reported by the kernel, whatever the interest.
class Interest {
 public:
  static const Interest READABLE;
  static const Interest WRITABLE;
  /// Out-of-band / priority data (EPOLLPRI). Linux only, like mio's.
  static const Interest PRIORITY;

  /// The union of both.
  [[nodiscard]] constexpr Interest add(Interest o) const noexcept { return Interest(bits_ | o.bits_); }
  /// `this` without `o`, or nullopt when nothing would remain.
  [[nodiscard]] constexpr std::optional<Interest> remove(Interest o) const noexcept {
    const auto rest = static_cast<std::uint8_t>(bits_ & ~o.bits_);
    if (rest == 0) return std::nullopt;
    return Interest(rest);
  }
  [[nodiscard]] constexpr bool is_readable() const noexcept { return bits_ & kReadable; }
  [[nodiscard]] constexpr bool is_writable() const noexcept { return bits_ & kWritable; }
  [[nodiscard]] constexpr bool is_priority() const noexcept { return bits_ & kPriority; }
  [[nodiscard]] constexpr std::uint8_t bits() const noexcept { return bits_; }

  /// Builds an interest from bits (READABLE=1, WRITABLE=2, PRIORITY=16); nullopt if the
  /// bits are empty or name something else.
  [[nodiscard]] static constexpr std::optional<Interest> from_bits(std::uint8_t b) noexcept {
    if (b == 0 || (b & ~(kReadable | kWritable | kPriority)) != 0) return std::nullopt;
    return Interest(b);
  }

  constexpr Interest operator|(Interest o) const noexcept { return add(o); }
  constexpr Interest& operator|=(Interest o) noexcept { return *this = add(o); }
  friend constexpr bool operator==(Interest, Interest) noexcept = default;

  /// "READABLE", "WRITABLE | PRIORITY", ...: the names of the set bits joined by " | ".
  [[nodiscard]] std::string to_string() const;

 private:
  static constexpr std::uint8_t kReadable = 1, kWritable = 2, kPriority = 16;
  constexpr explicit Interest(std::uint8_t b) noexcept : bits_(b) {}
  std::uint8_t bits_;
};

inline constexpr Interest Interest::READABLE{Interest::kReadable};
inline constexpr Interest Interest::WRITABLE{Interest::kWritable};
inline constexpr Interest Interest::PRIORITY{Interest::kPriority};

/// How a registration reports readiness ("trigger mode"; files and the command line spell
/// the key "mode"). mio has only `edge`; the other two exist because ReadyScope teaches the
/// difference.
///  - edge: EPOLLET (the default, as in mio): one event per change to ready. After an event,
///    do the operation until it would block, or no new event may ever come.
///  - level: level-triggered: every `poll` reports the source while it is ready.
///  - oneshot: EPOLLONESHOT: one event, then the registration is disarmed (still registered,
///    reports nothing) until `Registry::modify` rearms it. Rearming re-evaluates readiness,
///    so a still-ready source fires again at once.
#define READY_TRIGGER_LIST(X) X(edge) X(level) X(oneshot)
READY_NAMED_ENUM(Trigger, std::uint8_t, READY_TRIGGER_LIST)

/// "edge", "level" or "oneshot" (ready::name_of).
const char* to_string(Trigger t) noexcept;

}  // namespace ready
