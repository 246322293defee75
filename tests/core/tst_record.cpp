// The capture engine's Record: layout and the names the recording format uses.
#include <cerrno>
#include <optional>
#include <type_traits>

#include <sys/epoll.h>

#include "ready/capture/command.h"
#include "ready/capture/record.h"
#include "ready_test.h"

using namespace ready::capture;
using ready::Interest;
using ready::Trigger;

class TestRecord : public ready::test::CoreTest {
  Q_OBJECT
 private slots:
  // Small, fixed-size and trivially copyable: the ring copies it with no allocation.
  void layout() {
    QCOMPARE(sizeof(Record), std::size_t{48});
    QVERIFY(std::is_trivially_copyable_v<Record>);
    Record a, b;
    QCOMPARE(a, b);
    b.bits = 1;
    QVERIFY(!(a == b));
  }

  // Every enumerator has its lower-case name; a value outside the enum is "unknown".
  void names() {
    QCOMPARE(to_string(RecordKind::source_added), std::string_view("source_added"));
    QCOMPARE(to_string(RecordKind::readiness), std::string_view("readiness"));
    QCOMPARE(to_string(RecordKind::stats), std::string_view("stats"));
    QCOMPARE(to_string(SourceKind::tcp_listener), std::string_view("tcp_listener"));
    QCOMPARE(to_string(SourceKind::timerfd), std::string_view("timerfd"));
    QCOMPARE(to_string(Op::shutdown_write), std::string_view("shutdown_write"));
    QCOMPARE(to_string(Op::take_error), std::string_view("take_error"));
    QCOMPARE(to_string(Outcome::would_block), std::string_view("would_block"));
    QCOMPARE(to_string(Outcome::in_progress), std::string_view("in_progress"));
    QCOMPARE(to_string(WarningKind::emfile), std::string_view("emfile"));
    QCOMPARE(to_string(static_cast<RecordKind>(200)), std::string_view("unknown"));
    QCOMPARE(to_string(static_cast<Op>(200)), std::string_view("unknown"));
    // Every value of each list (a value added to a list is covered without touching this file).
    for (const RecordKind k : ready::all_values<RecordKind>()) QVERIFY(to_string(k) != "unknown");
    for (const SourceKind k : ready::all_values<SourceKind>()) QVERIFY(to_string(k) != "unknown");
    for (const Op k : ready::all_values<Op>()) QVERIFY(to_string(k) != "unknown");
    for (const Outcome k : ready::all_values<Outcome>()) QVERIFY(to_string(k) != "unknown");
    for (const WarningKind k : ready::all_values<WarningKind>()) QVERIFY(to_string(k) != "unknown");
  }

  // errno names (recordings, scenarios) read back to the number they were written from.
  void readiness_flags_follow_mio() {
    QCOMPARE(readiness_flags(EPOLLIN), flag_readable);
    QCOMPARE(readiness_flags(EPOLLIN | EPOLLRDHUP), flag_readable | flag_read_closed);
    QCOMPARE(readiness_flags(EPOLLHUP), flag_read_closed | flag_write_closed);
    QCOMPARE(readiness_flags(EPOLLOUT | EPOLLERR), flag_writable | flag_error | flag_write_closed);
    QCOMPARE(readiness_flags(EPOLLPRI), flag_readable | flag_priority);
    QCOMPARE(readiness_flags(0), 0);
    QCOMPARE(flags_text(flag_readable | flag_read_closed), std::string("readable|read_closed"));
    QCOMPARE(flags_text(0), std::string());
    QCOMPARE(to_string(static_cast<ReadinessFlag>(3)), std::string_view("unknown"));
  }

  void source_bits_round_trip() {
    for (auto interest : {Interest::READABLE, Interest::WRITABLE, Interest::READABLE | Interest::PRIORITY}) {
      for (const Trigger trigger : ready::all_values<Trigger>()) {
        for (const Reaction reaction : ready::all_values<Reaction>()) {
          const SourceBits b{interest, trigger, reaction};
          const SourceBits back = SourceBits::unpack(b.pack());
          QCOMPARE(back.interest, interest);
          QCOMPARE(back.trigger, trigger);
          QCOMPARE(back.reaction, reaction);
        }
      }
    }
    // The layout the recording format and old recordings rely on.
    QCOMPARE(SourceBits({Interest::WRITABLE, Trigger::oneshot, Reaction::drain}).pack(),
             Interest::WRITABLE.bits() | (2u << 8) | (2u << 16));
  }

  void errno_names_round_trip() {
    for (int e : {EAGAIN, ECONNRESET, ECONNREFUSED, EPIPE, EMFILE, EINTR, EACCES, ENOENT}) {
      const std::string name = ready::errno_name(e);
      QCOMPARE(ready::errno_from_name(name), std::optional<int>(e));
    }
    QCOMPARE(ready::errno_from_name("ECONNRESET"), std::optional<int>(ECONNRESET));
    QCOMPARE(ready::errno_from_name("E4000"), std::optional<int>(4000));  // errno_name's form for an unknown one
    for (const char* bad : {"", "E", "E0", "E-1", "econnreset", "ECONNRESET ", "EWARPDRIVE", "42"})
      QVERIFY2(!ready::errno_from_name(bad), bad);
  }
};

QTEST_GUILESS_MAIN(TestRecord)
#include "tst_record.moc"
