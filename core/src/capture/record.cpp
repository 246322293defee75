// Readiness flags of records, and the to_string shorthands of the record enums.
#include "ready/capture/record.h"

#include <bit>

#include "ready/event.h"

namespace ready::capture {

std::uint8_t readiness_flags(std::uint32_t epoll_bits) noexcept {
  const Event e(Token{}, epoll_bits);
  std::uint8_t f = 0;
  if (e.is_readable()) f |= flag_readable;
  if (e.is_writable()) f |= flag_writable;
  if (e.is_error()) f |= flag_error;
  if (e.is_read_closed()) f |= flag_read_closed;
  if (e.is_write_closed()) f |= flag_write_closed;
  if (e.is_priority()) f |= flag_priority;
  return f;
}

std::string_view to_string(ReadinessFlag f) noexcept {
  // Exactly one bit: its position indexes the table.
  if (f == 0 || (f & (f - 1)) != 0) return "unknown";
  const auto i = static_cast<std::size_t>(std::countr_zero(static_cast<unsigned>(f)));
  return i < kReadinessFlagNames.size() ? kReadinessFlagNames[i] : std::string_view("unknown");
}

std::string flags_text(std::uint8_t flags, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < kReadinessFlagNames.size(); ++i) {
    if (!(flags & (1u << i))) continue;
    if (!out.empty()) out += sep;
    out += kReadinessFlagNames[i];
  }
  return out;
}

std::string_view to_string(RecordKind k) noexcept { return name_of(k); }
std::string_view to_string(SourceKind k) noexcept { return name_of(k); }
std::string_view to_string(Op o) noexcept { return name_of(o); }
std::string_view to_string(Outcome o) noexcept { return name_of(o); }
std::string_view to_string(WarningKind w) noexcept { return name_of(w); }

}  // namespace ready::capture
