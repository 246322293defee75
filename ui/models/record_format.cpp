#include "models/record_format.h"

#include <QStringList>

#include <system_error>

#include "models/time_text.h"
#include "ready/attach/procfs.h"
#include "ready/capture/store.h"
#include "ready/enum_names.h"
#include "ready/error.h"

namespace ready::ui {

using capture::Op;
using capture::Outcome;
using capture::Record;
using capture::RecordKind;

namespace {

QString sv(std::string_view s) { return QString::fromLatin1(s.data(), static_cast<qsizetype>(s.size())); }

}  // namespace

QString format_time_ns(std::uint64_t t_ns) { return time_text(t_ns); }

QString format_duration_ns(std::uint64_t ns) { return duration_text(static_cast<double>(ns)); }

QString format_bytes(std::uint64_t bytes) {
  if (bytes < 1024) return QStringLiteral("%1 B").arg(bytes);
  const double v = static_cast<double>(bytes);
  if (bytes < 1024 * 1024) return QStringLiteral("%1 KiB").arg(v / 1024, 0, 'f', 1);
  if (bytes < std::uint64_t{1024} * 1024 * 1024)
    return QStringLiteral("%1 MiB").arg(v / (1024 * 1024), 0, 'f', 1);
  return QStringLiteral("%1 GiB").arg(v / (1024.0 * 1024 * 1024), 0, 'f', 1);
}

QString errno_text(int err) { return err == 0 ? QString() : QString::fromStdString(errno_name(err)); }

QString errno_description(int err) {
  return err == 0 ? QString() : QString::fromStdString(std::generic_category().message(err));
}

QString kind_text(capture::SourceKind k) { return sv(name_of(k)); }
QString record_kind_text(RecordKind k) { return sv(name_of(k)); }

QString trigger_text(Trigger t) { return sv(name_of(t)); }
QString reaction_text(capture::Reaction r) { return sv(name_of(r)); }

QString interest_text(Interest i) {
  QStringList parts;
  if (i.is_readable()) parts << QStringLiteral("readable");
  if (i.is_writable()) parts << QStringLiteral("writable");
  if (i.is_priority()) parts << QStringLiteral("priority");
  return parts.join(QLatin1Char('|'));
}

QString source_bits_text(capture::SourceBits b) {
  // Interest 0: registered for nothing (a relay leg held back by back-pressure).
  return QStringLiteral("%1 %2 %3")
      .arg(b.paused ? QStringLiteral("paused") : interest_text(b.interest), trigger_text(b.trigger),
           reaction_text(b.reaction));
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
      return sv(name_of(r.action_op()));
    case RecordKind::source_added:
      return QStringLiteral("added %1").arg(kind_text(r.source_kind()));
    case RecordKind::source_changed:
      return QStringLiteral("changed");
    case RecordKind::source_removed:
      return QStringLiteral("removed");
    case RecordKind::warning:
      return sv(name_of(r.warning_kind()));
    case RecordKind::poll_return:
    case RecordKind::note:
    case RecordKind::stats:
    case RecordKind::queue:
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
          if (r.action_op() == Op::accept) return QStringLiteral("ok");
          return QStringLiteral("ok %1").arg(r.n());
        case Outcome::error:
          return QStringLiteral("error %1").arg(errno_text(r.err));
        case Outcome::would_block:
        case Outcome::eof:
        case Outcome::in_progress:
          break;
      }
      return sv(name_of(r.outcome));
    }
    case RecordKind::source_added:
    case RecordKind::source_changed:
    case RecordKind::source_removed:
      return source_bits_text(capture::SourceBits::unpack(r.bits));
    case RecordKind::poll_return:
      return r.events() == 1 ? QStringLiteral("1 event") : QStringLiteral("%1 events").arg(r.events());
    case RecordKind::warning:
      return errno_text(r.err);
    case RecordKind::queue:
      return QStringLiteral("readable %1, unsent %2").arg(format_bytes(r.readable()), format_bytes(r.unsent()));
    case RecordKind::readiness:
    case RecordKind::note:
    case RecordKind::stats:
      break;
  }
  return {};
}

QString record_summary(const Record& r) {
  const QString what = record_what(r);
  const QString result = record_result(r);
  return result.isEmpty() ? what : what + QLatin1Char(' ') + result;
}

QString record_detail(const Record& r, const NoteTextFn& notes) {
  const QString fd = QStringLiteral("fd %1").arg(r.fd);
  // A registration of an attached process: its fd, epoll instance, mask and data are the
  // program's own (value and value2 hold the mask and data, not related / command).
  if (r.attached_pid() != 0)
    return QStringLiteral("%1 of pid %2, epoll %3, %4, data 0x%5")
        .arg(fd)
        .arg(r.attached_pid())
        .arg(r.attached_epoll_fd())
        .arg(QString::fromStdString(attach::mask_text(r.attached_events())))
        .arg(r.attached_data(), 0, 16);
  switch (r.kind) {
    case RecordKind::readiness:
      return QStringLiteral("%1, epoll 0x%2").arg(fd).arg(r.bits, 0, 16);
    case RecordKind::action: {
      QString d = fd;
      // accept's count is the new stream's token.
      if (r.action_op() == Op::accept && r.outcome == Outcome::ok)
        d += QStringLiteral(", new stream %1").arg(r.n());
      d += r.command() != 0 ? QStringLiteral(", command %1").arg(r.command()) : QStringLiteral(", reaction");
      return d;
    }
    case RecordKind::source_added: {
      QString d = fd;
      // The partner of a pair or pipe, or the listener an accepted stream came from.
      if (r.related() != 0) d += QStringLiteral(", related %1").arg(r.related());
      if (r.command() != 0) d += QStringLiteral(", command %1").arg(r.command());
      return d;
    }
    case RecordKind::source_changed:
      return r.command() != 0 ? QStringLiteral("%1, command %2").arg(fd).arg(r.command()) : fd;
    case RecordKind::source_removed:
      return QStringLiteral("%1, in %2, out %3").arg(fd, format_bytes(r.bytes_in()), format_bytes(r.bytes_out()));
    case RecordKind::poll_return:
      return QStringLiteral("blocked %1").arg(format_duration_ns(r.blocked_ns()));
    case RecordKind::note:
      return notes ? notes(r.note_id()) : QString();
    case RecordKind::warning:
      return QStringLiteral("%1, value %2").arg(fd).arg(r.detail());
    case RecordKind::stats:
      return QStringLiteral("produced %1, dropped %2").arg(r.produced()).arg(r.dropped());
    case RecordKind::queue:
      return QStringLiteral("%1, %2 bytes readable, %3 bytes unsent").arg(fd).arg(r.readable()).arg(r.unsent());
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
  switch (r.warning_kind()) {
    case W::payload_truncated:
      return QStringLiteral("a payload sample was cut short or evicted (%1); the counts stay exact").arg(bytes(r.detail()));
    case W::emfile:
      return QStringLiteral("accept hit the descriptor limit; the reserve descriptor accepted and closed what waited");
    case W::engine_error:
      if (r.detail() == 1)  // fatal (docs/engine.md, "Failure")
        return QStringLiteral("the poll thread stopped on an error it cannot recover from (%1)").arg(errno_text(r.err));
      return QStringLiteral("the engine hit an unexpected error (%1)").arg(errno_text(r.err));
    case W::et_partial_read:
      return QStringLiteral("edge-triggered read stopped with %1 left and no new edge will come").arg(bytes(r.detail()));
    case W::oneshot_disarmed_pending:
      return QStringLiteral("a oneshot registration fired and was not rearmed while %1 wait: no event will come")
          .arg(bytes(r.detail()));
    case W::level_writable_spin:
      return QStringLiteral("level-triggered writable reported %1 times with nothing written: the loop spins")
          .arg(r.detail());
    case W::read_after_close:
      return QStringLiteral("reads went on after read_closed was reported (%1 saw end of file)").arg(r.detail());
    case W::event_after_close:
      return QStringLiteral("an event came for a token whose source was already closed (stale, or kept alive by a dup)");
  }
  return QStringLiteral("%1, value %2").arg(record_what(r)).arg(r.detail());
}

}  // namespace ready::ui
