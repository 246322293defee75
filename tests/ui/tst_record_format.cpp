// record_format: the words every view uses for a record, checked as data tables.
#include <sys/epoll.h>

#include <QTest>
#include <cerrno>

#include "ready/enum_names.h"
#include "models/record_format.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::ui;

Q_DECLARE_METATYPE(ready::capture::Record)

namespace {

Record action(Op op, Outcome o, std::uint64_t value = 0, int err = 0, std::uint64_t command = 0) {
  Record r;
  r.kind = RecordKind::action;
  r.token = 5;
  r.fd = 9;
  r.op = static_cast<std::uint8_t>(op);
  r.outcome = o;
  r.value = value;
  r.err = err;
  r.value2 = command;
  return r;
}

Record of_kind(RecordKind k, std::uint64_t value = 0, std::uint64_t value2 = 0, std::uint32_t bits = 0) {
  Record r;
  r.kind = k;
  r.token = 5;
  r.fd = 9;
  r.value = value;
  r.value2 = value2;
  r.bits = bits;
  return r;
}

}  // namespace

class TestRecordFormat : public QObject {
  Q_OBJECT

 private slots:
  void times_data() {
    QTest::addColumn<quint64>("ns");
    QTest::addColumn<QString>("time");
    QTest::addColumn<QString>("duration");
    // The log's times are seconds at 1 µs (tst_time_text has the format's own cases).
    QTest::newRow("zero") << quint64{0} << "0.000 000 s"
                          << "0 ns";
    QTest::newRow("sub-µs truncated") << quint64{999} << "0.000 000 s"
                                      << "999 ns";
    QTest::newRow("1 µs") << quint64{1000} << "0.000 001 s"
                          << "1 µs";
    QTest::newRow("12.3 µs") << quint64{12'300} << "0.000 012 s"
                             << "12.3 µs";
    QTest::newRow("ms") << quint64{12'345'678} << "0.012 345 s"
                        << "12.35 ms";
    QTest::newRow("minute") << quint64{61'234'567'890} << "61.234 567 s"
                            << "61.23 s";
  }
  void times() {
    QFETCH(quint64, ns);
    QFETCH(QString, time);
    QFETCH(QString, duration);
    QCOMPARE(format_time_ns(ns), time);
    QCOMPARE(format_duration_ns(ns), duration);
  }

  void bytes() {
    QCOMPARE(format_bytes(0), QStringLiteral("0 B"));
    QCOMPARE(format_bytes(1023), QStringLiteral("1023 B"));
    QCOMPARE(format_bytes(4096), QStringLiteral("4.0 KiB"));
    QCOMPARE(format_bytes(1572864), QStringLiteral("1.5 MiB"));
  }

  void columns_data() {
    QTest::addColumn<Record>("record");
    QTest::addColumn<QString>("what");
    QTest::addColumn<QString>("result");
    QTest::addColumn<QString>("token");
    QTest::newRow("read ok") << action(Op::read, Outcome::ok, 5) << "read"
                             << "ok 5"
                             << "5";
    QTest::newRow("drain would_block") << action(Op::drain, Outcome::would_block) << "drain"
                                       << "would_block"
                                       << "5";
    QTest::newRow("read eof") << action(Op::read, Outcome::eof) << "read"
                              << "eof"
                              << "5";
    QTest::newRow("refused") << action(Op::connect, Outcome::error, 0, ECONNREFUSED) << "connect"
                             << "error ECONNREFUSED"
                             << "5";
    QTest::newRow("in progress") << action(Op::connect, Outcome::in_progress) << "connect"
                                 << "in_progress"
                                 << "5";
    QTest::newRow("accept: the value is a token") << action(Op::accept, Outcome::ok, 12) << "accept"
                                                  << "ok"
                                                  << "5";
    QTest::newRow("readiness") << of_kind(RecordKind::readiness, 0, 0, EPOLLIN | EPOLLRDHUP)
                               << "readable|read_closed"
                               << ""
                               << "5";
    QTest::newRow("added") <<
        [] {
          Record r = of_kind(
              RecordKind::source_added, 0, 1,
              SourceBits{Interest::READABLE | Interest::WRITABLE, Trigger::edge, Reaction::none}.pack());
          r.op = static_cast<std::uint8_t>(SourceKind::tcp_stream);
          return r;
        }() << "added tcp_stream"
                           << "readable|writable edge none"
                           << "5";
    QTest::newRow("changed") << of_kind(
                                    RecordKind::source_changed, 0, 0,
                                    SourceBits{Interest::PRIORITY, Trigger::oneshot, Reaction::echo}.pack())
                             << "changed"
                             << "priority oneshot echo"
                             << "5";
    QTest::newRow("poll 1") << of_kind(RecordKind::poll_return, 1) << "poll_return"
                            << "1 event"
                            << "";
    QTest::newRow("poll 3") << of_kind(RecordKind::poll_return, 3) << "poll_return"
                            << "3 events"
                            << "";
    QTest::newRow("note") << of_kind(RecordKind::note, 1) << "note"
                          << ""
                          << "";
    QTest::newRow("stats") << of_kind(RecordKind::stats, 10, 2) << "stats"
                           << ""
                           << "";
  }
  void columns() {
    QFETCH(Record, record);
    QFETCH(QString, what);
    QFETCH(QString, result);
    QFETCH(QString, token);
    QCOMPARE(record_what(record), what);
    QCOMPARE(record_result(record), result);
    QCOMPARE(record_token_text(record), token);
    // The one-line summary (tooltip, status bar) is the two columns side by side.
    QCOMPARE(record_summary(record), result.isEmpty() ? what : what + QLatin1Char(' ') + result);
  }

  // Trigger and reaction words are the enum tables' names, for every value.
  void names_are_the_enum_tables() {
    for (const Trigger t : all_values<Trigger>()) {
      const std::string_view n = name_of(t);
      QCOMPARE(trigger_text(t), QString::fromLatin1(n.data(), static_cast<qsizetype>(n.size())));
    }
    for (const Reaction r : all_values<Reaction>()) {
      const std::string_view n = name_of(r);
      QCOMPARE(reaction_text(r), QString::fromLatin1(n.data(), static_cast<qsizetype>(n.size())));
    }
    QCOMPARE(trigger_text(static_cast<Trigger>(200)), QStringLiteral("unknown"));
    QCOMPARE(reaction_text(static_cast<Reaction>(200)), QStringLiteral("unknown"));
    QCOMPARE(source_bits_text({Interest::READABLE | Interest::WRITABLE, Trigger::level, Reaction::auto_accept}),
             QStringLiteral("readable|writable level auto_accept"));
    // Interest bits 0 (a relay leg held back by back-pressure) read "paused", from the packed bits.
    QCOMPARE(source_bits_text(SourceBits::unpack(SourceBits{Interest::READABLE, Trigger::edge, Reaction::relay}.pack() &
                                                 ~std::uint32_t{0xff})),
             QStringLiteral("paused edge relay"));
    QCOMPARE(errno_description(0), QString());
    QVERIFY(!errno_description(ECONNREFUSED).isEmpty());
    QVERIFY(errno_description(ECONNREFUSED) != errno_text(ECONNREFUSED));  // words, not the name
  }

  void details() {
    QCOMPARE(record_detail(action(Op::read, Outcome::ok, 5, 0, 4)), QStringLiteral("fd 9, command 4"));
    QCOMPARE(record_detail(action(Op::read, Outcome::ok, 5)), QStringLiteral("fd 9, reaction"));
    QCOMPARE(record_detail(action(Op::accept, Outcome::ok, 12, 0, 3)),
             QStringLiteral("fd 9, new stream 12, command 3"));
    QCOMPARE(record_detail(of_kind(RecordKind::readiness, 0, 0, 0x2001)),
             QStringLiteral("fd 9, epoll 0x2001"));
    QCOMPARE(record_detail(of_kind(RecordKind::poll_return, 3, 1500)), QStringLiteral("blocked 1.5 µs"));
    // An attached process's registration (Record::attached_*): not related / command.
    Record attached = of_kind(RecordKind::source_added, 0x8000'0019u | (std::uint64_t{3} << 32), 0x2a);
    attached.err = 4242;
    QCOMPARE(record_detail(attached), QStringLiteral("fd 9 of pid 4242, epoll 3, IN|ET +ERR|HUP, data 0x2a"));
    QCOMPARE(record_detail(of_kind(RecordKind::stats, 10, 2)), QStringLiteral("produced 10, dropped 2"));
    QCOMPARE(record_detail(of_kind(RecordKind::source_removed, 2048, 5)),
             QStringLiteral("fd 9, in 2.0 KiB, out 5 B"));
    const NoteTextFn notes = [](std::uint64_t id) { return id == 1 ? QStringLiteral("hello") : QString(); };
    QCOMPARE(record_detail(of_kind(RecordKind::note, 1), notes), QStringLiteral("hello"));
    QCOMPARE(record_detail(of_kind(RecordKind::note, 2), notes), QString());
    QCOMPARE(record_detail(of_kind(RecordKind::note, 1)), QString());  // no lookup
    QCOMPARE(errno_text(0), QString());
    QCOMPARE(errno_text(ECONNRESET), QStringLiteral("ECONNRESET"));
    QCOMPARE(interest_text(Interest::READABLE | Interest::PRIORITY), QStringLiteral("readable|priority"));
  }
};

QTEST_GUILESS_MAIN(TestRecordFormat)
#include "tst_record_format.moc"
