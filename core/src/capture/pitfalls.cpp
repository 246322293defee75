// The live pitfall checks: see pitfalls.h and docs/engine.md, "Pitfalls".
#include "capture/pitfalls.h"

#include "linux/fds.h"

namespace ready::capture::pitfalls {

namespace {

/// Sources whose readable event is about bytes or datagrams a read consumes (FIONREAD says how
/// many are left). Not listeners (connections), eventfd or timerfd (a counter read at once).
bool reads_bytes(SourceKind k) noexcept {
  switch (k) {
    case SourceKind::tcp_stream:
    case SourceKind::unix_stream:
    case SourceKind::udp:
    case SourceKind::unix_datagram:
    case SourceKind::pipe_receiver:
      return true;
    default:
      return false;
  }
}

/// Sources where a read returning 0 is an end-of-file.
bool stream_reader(SourceKind k) noexcept {
  return k == SourceKind::tcp_stream || k == SourceKind::unix_stream || k == SourceKind::pipe_receiver;
}

}  // namespace

std::uint8_t Detector::watch_for(SourceKind kind, Interest interest, Trigger trigger) noexcept {
  std::uint8_t w = watch_none;
  if (reads_bytes(kind) && interest.is_readable()) {
    if (trigger == Trigger::edge) w |= watch_et_read;
    if (trigger == Trigger::oneshot) w |= watch_oneshot_read;
  }
  if (trigger == Trigger::level && interest.is_writable() && kind != SourceKind::tcp_listener &&
      kind != SourceKind::unix_listener && kind != SourceKind::timerfd)
    w |= watch_lt_write;
  if (stream_reader(kind)) w |= watch_read_close;
  return w;
}

void Detector::schedule(SourceState& s, std::uint64_t token, std::uint64_t due_ns) {
  if (s.scheduled) return;  // the entry there is re-checked (and moved) when it comes due
  s.scheduled = true;
  heap_.push(Entry{due_ns, token});
}

std::optional<Warning> Detector::readiness(SourceState& s, Token token, bool readable, bool writable,
                                           bool read_closed, std::uint64_t now_ns) {
  if ((s.watch & watch_et_read) && readable) s.et = SourceState::Et::edge;  // a new edge: follow it
  if (s.watch & watch_oneshot_read) {
    // Any event disarms a oneshot registration (readable or not).
    s.fired = true;
    s.mark_ns = now_ns;
    schedule(s, token.value, now_ns + cfg_.grace_ns);
  }
  if (read_closed) s.read_closed_seen = true;
  if (s.watch & watch_lt_write) {
    if (!writable) {  // the row is broken: the source was not writable this time
      s.spin = 0;
      s.spin_warned = false;
    } else if (++s.spin >= cfg_.spin_events && !s.spin_warned) {
      s.spin_warned = true;
      return Warning{WarningKind::level_writable_spin, s.spin};
    }
  }
  return std::nullopt;
}

std::optional<Warning> Detector::read(SourceState& s, Token token, Outcome outcome, bool drained,
                                      std::uint64_t now_ns) {
  if (s.et != SourceState::Et::idle) {
    if (outcome == Outcome::ok && !drained) {
      s.mark_ns = now_ns;  // the grace runs from the last read of the edge's handling
      if (s.et == SourceState::Et::edge) {
        s.et = SourceState::Et::partial;
        schedule(s, token.value, now_ns + cfg_.grace_ns);
      }
    } else {
      s.et = SourceState::Et::idle;  // would-block, end-of-file, an error: handled to the end
    }
  }
  if (s.watch & watch_read_close) {
    if (s.read_closed_seen && s.eof_seen) {
      ++s.reads_after_close;
      if (!s.rac_warned) {
        s.rac_warned = true;
        return Warning{WarningKind::read_after_close, s.reads_after_close};
      }
    } else if (outcome == Outcome::eof) {
      s.eof_seen = true;
    }
  }
  return std::nullopt;
}

std::optional<Warning> Detector::check(SourceState& s, std::uint64_t token, int fd, std::uint64_t now_ns) {
  if (s.et == SourceState::Et::partial) {
    const std::uint64_t due = s.mark_ns + cfg_.grace_ns;
    if (due > now_ns) {  // read again since the entry was made: wait from that read on
      schedule(s, token, due);
      return std::nullopt;
    }
    s.et = SourceState::Et::idle;  // once per edge
    if (const std::uint64_t n = os::bytes_readable(fd); n > 0) return Warning{WarningKind::et_partial_read, n};
    return std::nullopt;
  }
  if (s.fired) {
    const std::uint64_t due = s.mark_ns + cfg_.grace_ns;
    if (due > now_ns) {  // fired again since (rearmed and fired): wait from that event on
      schedule(s, token, due);
      return std::nullopt;
    }
    s.fired = false;  // once per firing
    if (const std::uint64_t n = os::bytes_readable(fd); n > 0)
      return Warning{WarningKind::oneshot_disarmed_pending, n};
  }
  return std::nullopt;
}

}  // namespace ready::capture::pitfalls
