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

std::string_view to_string(RecordKind k) noexcept {
  switch (k) {
    case RecordKind::source_added:
      return "source_added";
    case RecordKind::source_changed:
      return "source_changed";
    case RecordKind::source_removed:
      return "source_removed";
    case RecordKind::readiness:
      return "readiness";
    case RecordKind::action:
      return "action";
    case RecordKind::poll_return:
      return "poll_return";
    case RecordKind::note:
      return "note";
    case RecordKind::warning:
      return "warning";
    case RecordKind::stats:
      return "stats";
  }
  return "unknown";
}

std::string_view to_string(SourceKind k) noexcept {
  switch (k) {
    case SourceKind::tcp_listener:
      return "tcp_listener";
    case SourceKind::tcp_stream:
      return "tcp_stream";
    case SourceKind::udp:
      return "udp";
    case SourceKind::unix_listener:
      return "unix_listener";
    case SourceKind::unix_stream:
      return "unix_stream";
    case SourceKind::unix_datagram:
      return "unix_datagram";
    case SourceKind::pipe_sender:
      return "pipe_sender";
    case SourceKind::pipe_receiver:
      return "pipe_receiver";
    case SourceKind::eventfd:
      return "eventfd";
    case SourceKind::timerfd:
      return "timerfd";
  }
  return "unknown";
}

std::string_view to_string(Op o) noexcept {
  switch (o) {
    case Op::read:
      return "read";
    case Op::drain:
      return "drain";
    case Op::write:
      return "write";
    case Op::fill:
      return "fill";
    case Op::accept:
      return "accept";
    case Op::connect:
      return "connect";
    case Op::shutdown_read:
      return "shutdown_read";
    case Op::shutdown_write:
      return "shutdown_write";
    case Op::close:
      return "close";
    case Op::eventfd_write:
      return "eventfd_write";
    case Op::eventfd_read:
      return "eventfd_read";
    case Op::timer_arm:
      return "timer_arm";
    case Op::timer_disarm:
      return "timer_disarm";
    case Op::rearm:
      return "rearm";
    case Op::take_error:
      return "take_error";
    case Op::create:
      return "create";
    case Op::modify:
      return "modify";
    case Op::dup:
      return "dup";
    case Op::close_fd:
      return "close_fd";
    case Op::exhaust_fds:
      return "exhaust_fds";
    case Op::release_fds:
      return "release_fds";
  }
  return "unknown";
}

std::string_view to_string(Outcome o) noexcept {
  switch (o) {
    case Outcome::ok:
      return "ok";
    case Outcome::would_block:
      return "would_block";
    case Outcome::eof:
      return "eof";
    case Outcome::in_progress:
      return "in_progress";
    case Outcome::error:
      return "error";
  }
  return "unknown";
}

std::string_view to_string(WarningKind w) noexcept {
  switch (w) {
    case WarningKind::payload_truncated:
      return "payload_truncated";
    case WarningKind::emfile:
      return "emfile";
    case WarningKind::engine_error:
      return "engine_error";
    case WarningKind::et_partial_read:
      return "et_partial_read";
    case WarningKind::oneshot_disarmed_pending:
      return "oneshot_disarmed_pending";
    case WarningKind::level_writable_spin:
      return "level_writable_spin";
    case WarningKind::read_after_close:
      return "read_after_close";
    case WarningKind::event_after_close:
      return "event_after_close";
  }
  return "unknown";
}

}  // namespace ready::capture
