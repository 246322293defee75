// Names of the record enums, as the recording format spells them.
#include "ready/capture/record.h"

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
  switch (f) {
    case flag_readable:
      return "readable";
    case flag_writable:
      return "writable";
    case flag_error:
      return "error";
    case flag_read_closed:
      return "read_closed";
    case flag_write_closed:
      return "write_closed";
    case flag_priority:
      return "priority";
  }
  return "unknown";
}

std::string flags_text(std::uint8_t flags, std::string_view sep) {
  std::string out;
  for (unsigned bit = 1; bit <= flag_priority; bit <<= 1) {
    if (!(flags & bit)) continue;
    if (!out.empty()) out += sep;
    out += to_string(static_cast<ReadinessFlag>(bit));
  }
  return out;
}

std::string_view to_string(RecordKind k) noexcept { return name_of(k); }
std::string_view to_string(SourceKind k) noexcept { return name_of(k); }
std::string_view to_string(Op o) noexcept { return name_of(o); }
std::string_view to_string(Outcome o) noexcept { return name_of(o); }
std::string_view to_string(WarningKind w) noexcept { return name_of(w); }

}  // namespace ready::capture
