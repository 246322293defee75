// The capture engine's Record: layout and the names the recording format uses.
#include <cerrno>
#include <optional>
#include <type_traits>

#include "ready/capture/record.h"
#include "ready_test.h"

using namespace ready::capture;

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
    for (int k = 0; k <= static_cast<int>(RecordKind::stats); ++k)
      QVERIFY(to_string(static_cast<RecordKind>(k)) != "unknown");
    for (int k = 0; k <= static_cast<int>(SourceKind::timerfd); ++k)
      QVERIFY(to_string(static_cast<SourceKind>(k)) != "unknown");
    for (int k = 0; k <= static_cast<int>(Op::modify); ++k)
      QVERIFY(to_string(static_cast<Op>(k)) != "unknown");
    for (int k = 0; k <= static_cast<int>(Outcome::error); ++k)
      QVERIFY(to_string(static_cast<Outcome>(k)) != "unknown");
  }

  // errno names (recordings, scenarios) read back to the number they were written from.
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
