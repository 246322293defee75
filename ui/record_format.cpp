#include "record_format.h"

#include <QStringList>

#include "ready/capture/store.h"
#include "ready/error.h"

namespace ready::ui {

using capture::Op;
using capture::Outcome;
using capture::Record;
using capture::RecordKind;

namespace {

QString sv(std::string_view s) { return QString::fromLatin1(s.data(), static_cast<qsizetype>(s.size())); }

}  // namespace

QString format_time_ns(std::uint64_t t_ns) {
  const std::uint64_t us = t_ns / 1000;
  return QStringLiteral("%1.%2 ms").arg(us / 1000).arg(us % 1000, 3, 10, QLatin1Char('0'));
}

QString format_duration_ns(std::uint64_t ns) {
  if (ns < 1000) return QStringLiteral("%1 ns").arg(ns);
  const double v = static_cast<double>(ns);
  if (ns < 1'000'000) return QStringLiteral("%1 µs").arg(v / 1e3, 0, 'g', 3);
  if (ns < 1'000'000'000) return QStringLiteral("%1 ms").arg(v / 1e6, 0, 'g', 3);
  return QStringLiteral("%1 s").arg(v / 1e9, 0, 'f', 2);
}

QString format_bytes(std::uint64_t bytes) {
  if (bytes < 1024) return QStringLiteral("%1 B").arg(bytes);
  const double v = static_cast<double>(bytes);
  if (bytes < 1024 * 1024) return QStringLiteral("%1 KiB").arg(v / 1024, 0, 'f', 1);
  if (bytes < std::uint64_t{1024} * 1024 * 1024)
    return QStringLiteral("%1 MiB").arg(v / (1024 * 1024), 0, 'f', 1);
  return QStringLiteral("%1 GiB").arg(v / (1024.0 * 1024 * 1024), 0, 'f', 1);
}

QString errno_text(int err) { return err == 0 ? QString() : QString::fromStdString(errno_name(err)); }

QString kind_text(capture::SourceKind k) { return sv(capture::to_string(k)); }
QString record_kind_text(RecordKind k) { return sv(capture::to_string(k)); }

QString trigger_text(Trigger t) {
  switch (t) {
    case Trigger::edge:
      return QStringLiteral("edge");
    case Trigger::level:
      return QStringLiteral("level");
    case Trigger::oneshot:
      return QStringLiteral("oneshot");
  }
  return QStringLiteral("unknown");
}

QString reaction_text(capture::Reaction r) {
  using capture::Reaction;
  switch (r) {
    case Reaction::none:
      return QStringLiteral("none");
    case Reaction::read:
      return QStringLiteral("read");
    case Reaction::drain:
      return QStringLiteral("drain");
    case Reaction::echo:
      return QStringLiteral("echo");
    case Reaction::discard:
      return QStringLiteral("discard");
    case Reaction::auto_accept:
      return QStringLiteral("auto_accept");
  }
  return QStringLiteral("unknown");
}

QString interest_text(Interest i) {
  QStringList parts;
  if (i.is_readable()) parts << QStringLiteral("readable");
  if (i.is_writable()) parts << QStringLiteral("writable");
  if (i.is_priority()) parts << QStringLiteral("priority");
  return parts.join(QLatin1Char('|'));
}

QString record_token_text(const Record& r) {
  if (!capture::RecordStore::is_indexed_by_token(r.kind)) return {};
  return QString::number(r.token);
}

QString record_what(const Record& r) {
  switch (r.kind) {
    case RecordKind::readiness: {
      const std::uint8_t f = capture::readiness_flags(r.bits);
      return f == 0 ? QStringLiteral("(none)") : QString::fromStdString(capture::flags_text(f));
    }
    case RecordKind::action:
      return sv(capture::to_string(static_cast<Op>(r.op)));
    case RecordKind::source_added:
      return QStringLiteral("added %1").arg(kind_text(static_cast<capture::SourceKind>(r.op)));
    case RecordKind::source_changed:
      return QStringLiteral("changed");
    case RecordKind::source_removed:
      return QStringLiteral("removed");
    case RecordKind::warning:
      return sv(capture::to_string(static_cast<capture::WarningKind>(r.op)));
    case RecordKind::poll_return:
    case RecordKind::note:
    case RecordKind::stats:
      break;
  }
  return record_kind_text(r.kind);
}

QString record_result(const Record& r) {
  switch (r.kind) {
    case RecordKind::action: {
      switch (r.outcome) {
        case Outcome::ok:
          // accept's value is the new stream's token (detail), the rest count bytes or a counter.
          if (static_cast<Op>(r.op) == Op::accept) return QStringLiteral("ok");
          return QStringLiteral("ok %1").arg(r.value);
        case Outcome::error:
          return QStringLiteral("error %1").arg(errno_text(r.err));
        case Outcome::would_block:
        case Outcome::eof:
        case Outcome::in_progress:
          break;
      }
      return sv(capture::to_string(r.outcome));
    }
    case RecordKind::source_added:
    case RecordKind::source_changed:
    case RecordKind::source_removed: {
      const auto b = capture::SourceBits::unpack(r.bits);
      return QStringLiteral("%1 %2 %3")
          .arg(interest_text(b.interest), trigger_text(b.trigger), reaction_text(b.reaction));
    }
    case RecordKind::poll_return:
      return r.value == 1 ? QStringLiteral("1 event") : QStringLiteral("%1 events").arg(r.value);
    case RecordKind::warning:
      return errno_text(r.err);
    case RecordKind::readiness:
    case RecordKind::note:
    case RecordKind::stats:
      break;
  }
  return {};
}

QString record_detail(const Record& r, const NoteTextFn& notes) {
  const QString fd = QStringLiteral("fd %1").arg(r.fd);
  switch (r.kind) {
    case RecordKind::readiness:
      return QStringLiteral("%1, epoll 0x%2").arg(fd).arg(r.bits, 0, 16);
    case RecordKind::action: {
      QString d = fd;
      if (static_cast<Op>(r.op) == Op::accept && r.outcome == Outcome::ok)
        d += QStringLiteral(", new stream %1").arg(r.value);
      d += r.value2 != 0 ? QStringLiteral(", command %1").arg(r.value2) : QStringLiteral(", reaction");
      return d;
    }
    case RecordKind::source_added: {
      QString d = fd;
      // The partner of a pair or pipe, or the listener an accepted stream came from.
      if (r.value != 0) d += QStringLiteral(", related %1").arg(r.value);
      if (r.value2 != 0) d += QStringLiteral(", command %1").arg(r.value2);
      return d;
    }
    case RecordKind::source_changed:
      return r.value2 != 0 ? QStringLiteral("%1, command %2").arg(fd).arg(r.value2) : fd;
    case RecordKind::source_removed:
      return QStringLiteral("%1, in %2, out %3").arg(fd, format_bytes(r.value), format_bytes(r.value2));
    case RecordKind::poll_return:
      return QStringLiteral("blocked %1").arg(format_duration_ns(r.value2));
    case RecordKind::note:
      return notes ? notes(r.value) : QString();
    case RecordKind::warning:
      return QStringLiteral("%1, value %2").arg(fd).arg(r.value);
    case RecordKind::stats:
      return QStringLiteral("produced %1, dropped %2").arg(r.value).arg(r.value2);
  }
  return {};
}

QString warning_title(capture::WarningKind k) {
  using W = capture::WarningKind;
  switch (k) {
    case W::payload_truncated:
      return QStringLiteral("payload not kept in full");
    case W::emfile:
      return QStringLiteral("out of descriptors (EMFILE)");
    case W::engine_error:
      return QStringLiteral("engine error");
    case W::et_partial_read:
      return QStringLiteral("edge-triggered partial read");
    case W::oneshot_disarmed_pending:
      return QStringLiteral("oneshot not rearmed");
    case W::level_writable_spin:
      return QStringLiteral("level-triggered writable spin");
    case W::read_after_close:
      return QStringLiteral("read after read_closed");
    case W::event_after_close:
      return QStringLiteral("event after close");
  }
  return QStringLiteral("warning %1").arg(static_cast<int>(k));
}

QString warning_text(const Record& r) {
  if (r.kind != RecordKind::warning) return {};
  using W = capture::WarningKind;
  const auto bytes = [](std::uint64_t n) {
    return n == 1 ? QStringLiteral("1 byte") : QStringLiteral("%1 bytes").arg(n);
  };
  switch (static_cast<W>(r.op)) {
    case W::payload_truncated:
      return QStringLiteral("a payload sample was cut short or evicted (%1); the counts stay exact").arg(bytes(r.value));
    case W::emfile:
      return QStringLiteral("accept hit the descriptor limit; the reserve descriptor accepted and closed what waited");
    case W::engine_error:
      return QStringLiteral("the engine hit an unexpected error (%1)").arg(errno_text(r.err));
    case W::et_partial_read:
      return QStringLiteral("edge-triggered read stopped with %1 left and no new edge will come").arg(bytes(r.value));
    case W::oneshot_disarmed_pending:
      return QStringLiteral("a oneshot registration fired and was not rearmed while %1 wait: no event will come")
          .arg(bytes(r.value));
    case W::level_writable_spin:
      return QStringLiteral("level-triggered writable reported %1 times with nothing written: the loop spins")
          .arg(r.value);
    case W::read_after_close:
      return QStringLiteral("reads went on after read_closed was reported (%1 saw end of file)").arg(r.value);
    case W::event_after_close:
      return QStringLiteral("an event came for a token whose source was already closed (stale, or kept alive by a dup)");
  }
  return QStringLiteral("%1, value %2").arg(record_what(r)).arg(r.value);
}

}  // namespace ready::ui
