// mio tests/interest.rs, plus the pieces of mio's Linux selector that turn Interest into
// epoll bits (interests_to_epoll) and epoll bits back into Event predicates (epoll.rs mod
// event), and the Token round trip through epoll_event.data.u64.
#include <sys/epoll.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "ready_test.h"

using namespace ready;
using namespace ready::test;

// The values are compile-time constants, as mio's `const fn`s are.
static_assert(Interest::READABLE.add(Interest::WRITABLE).is_writable());
static_assert(!Interest::READABLE.remove(Interest::READABLE).has_value());
static_assert(Event(Token(1), EPOLLERR).is_write_closed());

class TestInterest : public CoreTest {
  Q_OBJECT
 private slots:
  // mio: interest.rs::is_tests. Each constant reports only its own bit (mio also checks
  // that WRITABLE is not AIO or LIO, which do not exist on Linux).
  void is_tests() {
    QVERIFY(Interest::READABLE.is_readable());
    QVERIFY(!Interest::READABLE.is_writable());
    QVERIFY(!Interest::READABLE.is_priority());
    QVERIFY(!Interest::WRITABLE.is_readable());
    QVERIFY(Interest::WRITABLE.is_writable());
    QVERIFY(!Interest::WRITABLE.is_priority());
    QVERIFY(!Interest::PRIORITY.is_readable());
    QVERIFY(!Interest::PRIORITY.is_writable());
    QVERIFY(Interest::PRIORITY.is_priority());
    // mio's bit values.
    QCOMPARE(Interest::READABLE.bits(), std::uint8_t{1});
    QCOMPARE(Interest::WRITABLE.bits(), std::uint8_t{2});
    QCOMPARE(Interest::PRIORITY.bits(), std::uint8_t{16});
  }

  // mio: interest.rs::bit_or. READABLE | WRITABLE is both (and |= does the same).
  void bit_or() {
    const Interest interests = Interest::READABLE | Interest::WRITABLE;
    QVERIFY(interests.is_readable());
    QVERIFY(interests.is_writable());
    QVERIFY(!interests.is_priority());

    Interest i = Interest::READABLE;
    i |= Interest::PRIORITY;
    QVERIFY(i.is_readable());
    QVERIFY(i.is_priority());
    QVERIFY(!i.is_writable());
  }

  // mio: interest.rs::fmt_debug. The names of the set bits joined by " | " (mio's Debug;
  // PRIORITY is Linux's extra constant, where mio's BSD variant prints AIO/LIO).
  void fmt_debug() {
    QCOMPARE(QString::fromStdString(Interest::READABLE.to_string()), QString("READABLE"));
    QCOMPARE(QString::fromStdString(Interest::WRITABLE.to_string()), QString("WRITABLE"));
    QCOMPARE(QString::fromStdString((Interest::READABLE | Interest::WRITABLE).to_string()),
             QString("READABLE | WRITABLE"));
    QCOMPARE(QString::fromStdString(Interest::PRIORITY.to_string()), QString("PRIORITY"));
    QCOMPARE(QString::fromStdString((Interest::WRITABLE | Interest::PRIORITY).to_string()),
             QString("WRITABLE | PRIORITY"));
    QCOMPARE(
        QString::fromStdString((Interest::PRIORITY | Interest::WRITABLE | Interest::READABLE).to_string()),
        QString("READABLE | WRITABLE | PRIORITY"));
  }

  // mio: interest.rs::add. READABLE.add(WRITABLE) is both.
  void add() {
    const Interest interest = Interest::READABLE.add(Interest::WRITABLE);
    QVERIFY(interest.is_readable());
    QVERIFY(interest.is_writable());
    QVERIFY(interest == (Interest::READABLE | Interest::WRITABLE));
    QVERIFY(Interest::READABLE.add(Interest::READABLE) == Interest::READABLE);
  }

  // Not a mio test (mio's Interest::remove): removing bits gives what is left, or nullopt
  // when nothing would be (an Interest is never empty).
  void remove() {
    const Interest both = Interest::READABLE | Interest::WRITABLE;
    QVERIFY(both.remove(Interest::WRITABLE) == Interest::READABLE);
    QVERIFY(both.remove(Interest::READABLE) == Interest::WRITABLE);
    QVERIFY(Interest::READABLE.remove(Interest::WRITABLE) == Interest::READABLE);  // not there: unchanged
    QVERIFY(Interest::READABLE.remove(Interest::READABLE) == std::nullopt);
    QVERIFY(both.remove(both) == std::nullopt);
    QVERIFY(both.remove(Interest::READABLE | Interest::WRITABLE | Interest::PRIORITY) == std::nullopt);
    QVERIFY((both | Interest::PRIORITY).remove(both) == Interest::PRIORITY);
  }

  // Not a mio test: from_bits accepts exactly the non-empty combinations of READABLE (1),
  // WRITABLE (2) and PRIORITY (16); mio's AIO (4) and LIO (8) do not exist on Linux.
  void from_bits() {
    QVERIFY(Interest::from_bits(1) == Interest::READABLE);
    QVERIFY(Interest::from_bits(2) == Interest::WRITABLE);
    QVERIFY(Interest::from_bits(16) == Interest::PRIORITY);
    QVERIFY(Interest::from_bits(3) == (Interest::READABLE | Interest::WRITABLE));
    QVERIFY(Interest::from_bits(19) == (Interest::READABLE | Interest::WRITABLE | Interest::PRIORITY));
    QVERIFY(Interest::from_bits(0) == std::nullopt);
    QVERIFY(Interest::from_bits(4) == std::nullopt);
    QVERIFY(Interest::from_bits(8) == std::nullopt);
    QVERIFY(Interest::from_bits(32) == std::nullopt);
    QVERIFY(Interest::from_bits(5) == std::nullopt);  // READABLE plus an unknown bit
    QVERIFY(Interest::from_bits(0xff) == std::nullopt);
    for (std::uint8_t b : {1, 2, 3, 16, 17, 18, 19}) QCOMPARE(Interest::from_bits(b)->bits(), b);
  }

  // Not a mio test (mio epoll.rs interests_to_epoll): READABLE -> EPOLLIN|EPOLLRDHUP,
  // WRITABLE -> EPOLLOUT, PRIORITY -> EPOLLPRI, always EPOLLET in mio's (edge) mode. The
  // level trigger adds nothing, oneshot adds EPOLLONESHOT instead of EPOLLET. EPOLLERR and
  // EPOLLHUP are never asked for (the kernel always reports them).
  void epoll_mask() {
    const auto R = Interest::READABLE, W = Interest::WRITABLE, P = Interest::PRIORITY;
    QCOMPARE(Registry::epoll_mask(R, Trigger::edge), std::uint32_t{EPOLLIN | EPOLLRDHUP | EPOLLET});
    QCOMPARE(Registry::epoll_mask(W, Trigger::edge), std::uint32_t{EPOLLOUT | EPOLLET});
    QCOMPARE(Registry::epoll_mask(P, Trigger::edge), std::uint32_t{EPOLLPRI | EPOLLET});
    QCOMPARE(Registry::epoll_mask(R | W, Trigger::edge),
             std::uint32_t{EPOLLIN | EPOLLRDHUP | EPOLLOUT | EPOLLET});
    QCOMPARE(Registry::epoll_mask(R | W | P, Trigger::edge),
             std::uint32_t{EPOLLIN | EPOLLRDHUP | EPOLLOUT | EPOLLPRI | EPOLLET});

    QCOMPARE(Registry::epoll_mask(R, Trigger::level), std::uint32_t{EPOLLIN | EPOLLRDHUP});
    QCOMPARE(Registry::epoll_mask(W, Trigger::level), std::uint32_t{EPOLLOUT});
    QCOMPARE(Registry::epoll_mask(P, Trigger::level), std::uint32_t{EPOLLPRI});

    QCOMPARE(Registry::epoll_mask(R, Trigger::oneshot), std::uint32_t{EPOLLIN | EPOLLRDHUP | EPOLLONESHOT});
    QCOMPARE(Registry::epoll_mask(W, Trigger::oneshot), std::uint32_t{EPOLLOUT | EPOLLONESHOT});
    QCOMPARE(Registry::epoll_mask(R | W, Trigger::oneshot),
             std::uint32_t{EPOLLIN | EPOLLRDHUP | EPOLLOUT | EPOLLONESHOT});

    for (const Trigger trigger : all_values<Trigger>()) {
      const auto m = Registry::epoll_mask(R | W | P, trigger);
      QVERIFY((m & (EPOLLERR | EPOLLHUP | EPOLLEXCLUSIVE | EPOLLWAKEUP)) == 0);
    }
  }

  // Not a mio test (mio epoll.rs mod event): the Event predicates over raw epoll bits,
  // exactly as mio defines them:
  //   readable      EPOLLIN or EPOLLPRI
  //   writable      EPOLLOUT
  //   error         EPOLLERR
  //   read_closed   EPOLLHUP, or EPOLLIN and EPOLLRDHUP
  //   write_closed  EPOLLHUP, or EPOLLOUT and EPOLLERR, or the bits are exactly EPOLLERR
  //   priority      EPOLLPRI
  void event_predicates_data() {
    QTest::addColumn<quint32>("bits");
    // The predicates that must be true, in this order: readable writable error
    // read_closed write_closed priority ("" for none).
    QTest::addColumn<QString>("expected");

    auto row = [](const char* name, quint32 bits, const char* expected) {
      QTest::newRow(name) << bits << QString(expected);
    };
    row("none", 0, "");
    row("IN", EPOLLIN, "readable");
    row("OUT", EPOLLOUT, "writable");
    row("IN|OUT", EPOLLIN | EPOLLOUT, "readable writable");
    // Out-of-band data counts as readable (mio #1317).
    row("PRI", EPOLLPRI, "readable priority");
    row("IN|PRI", EPOLLIN | EPOLLPRI, "readable priority");
    // EPOLLERR alone is how epoll reports a pipe whose read end closed (mio #1350).
    row("ERR", EPOLLERR, "error write_closed");
    row("OUT|ERR", EPOLLOUT | EPOLLERR, "writable error write_closed");
    // EPOLLERR is never read_closed (rejected in mio #1415), and with EPOLLIN it is not
    // "exactly EPOLLERR" any more, so not write_closed either.
    row("IN|ERR", EPOLLIN | EPOLLERR, "readable error");
    row("ERR|RDHUP", EPOLLERR | EPOLLRDHUP, "error");
    row("HUP", EPOLLHUP, "read_closed write_closed");
    row("ERR|HUP", EPOLLERR | EPOLLHUP, "error read_closed write_closed");
    row("OUT|HUP", EPOLLOUT | EPOLLHUP, "writable read_closed write_closed");
    row("IN|RDHUP", EPOLLIN | EPOLLRDHUP, "readable read_closed");
    // EPOLLRDHUP counts as read_closed only together with EPOLLIN.
    row("RDHUP", EPOLLRDHUP, "");
    row("OUT|RDHUP", EPOLLOUT | EPOLLRDHUP, "writable");
    row("PRI|RDHUP", EPOLLPRI | EPOLLRDHUP, "readable priority");
    row("IN|PRI|RDHUP", EPOLLIN | EPOLLPRI | EPOLLRDHUP, "readable read_closed priority");
    row("IN|OUT|RDHUP", EPOLLIN | EPOLLOUT | EPOLLRDHUP, "readable writable read_closed");
    // What a TCP reset looks like.
    row("IN|OUT|ERR|HUP|RDHUP", EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDHUP,
        "readable writable error read_closed write_closed");
    row("all", EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDHUP,
        "readable writable error read_closed write_closed priority");
  }
  void event_predicates() {
    QFETCH(quint32, bits);
    QFETCH(QString, expected);

    const Event e(Token(42), bits);
    QStringList actual;
    if (e.is_readable()) actual << "readable";
    if (e.is_writable()) actual << "writable";
    if (e.is_error()) actual << "error";
    if (e.is_read_closed()) actual << "read_closed";
    if (e.is_write_closed()) actual << "write_closed";
    if (e.is_priority()) actual << "priority";
    QCOMPARE(actual.join(' '), expected);
    QCOMPARE(e.epoll_bits(), std::uint32_t{bits});
    QCOMPARE(e.token(), Token(42));
  }

  // Not a mio test (mio's Debug for Event): the token, the true predicates, then the raw
  // epoll bit names ("0" for none, unknown bits in hex).
  void event_to_string() {
    QCOMPARE(QString::fromStdString(Event(Token(3), EPOLLIN | EPOLLRDHUP).to_string()),
             QString("token=3 readable read_closed (EPOLLIN|EPOLLRDHUP)"));
    QCOMPARE(QString::fromStdString(Event(Token(7), EPOLLERR).to_string()),
             QString("token=7 error write_closed (EPOLLERR)"));
    QCOMPARE(QString::fromStdString(Event(Token(1), EPOLLOUT).to_string()),
             QString("token=1 writable (EPOLLOUT)"));
    QCOMPARE(QString::fromStdString(Event(Token(2), EPOLLPRI).to_string()),
             QString("token=2 readable priority (EPOLLPRI)"));
    QCOMPARE(QString::fromStdString(Event(Token(0), 0).to_string()), QString("token=0 (0)"));
    QCOMPARE(QString::fromStdString(epoll_bits_to_string(0)), QString("0"));
    QCOMPARE(QString::fromStdString(epoll_bits_to_string(EPOLLIN | EPOLLOUT | EPOLLET)),
             QString("EPOLLIN|EPOLLOUT|EPOLLET"));
    QCOMPARE(QString::fromStdString(epoll_bits_to_string(EPOLLHUP | 0x01000000u)),
             QString("EPOLLHUP|0x1000000"));
  }

  // Not a mio test (mio token.rs: Token(usize) in epoll_event.u64): the largest size_t
  // token, and 0, come back unchanged from a real eventfd registration.
  void token_round_trip() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(4);
    auto efd = unix::EventFd::create(1);  // readable at once
    QVERIFY_OK(efd);

    const Token max(std::numeric_limits<std::size_t>::max());
    QVERIFY_OK(poll->registry().add(*efd, max, Interest::READABLE));
    auto n = poll->poll(events, 500ms);
    QVERIFY_OK(n);
    QCOMPARE(*n, std::size_t{1});
    QCOMPARE(events[0].token().value, std::numeric_limits<std::size_t>::max());
    QCOMPARE(static_cast<std::size_t>(events[0].token()), std::numeric_limits<std::size_t>::max());
    QVERIFY(events[0].is_readable());

    QVERIFY_OK(poll->registry().modify(*efd, Token(0), Interest::READABLE));  // re-evaluates: still readable
    n = poll->poll(events, 500ms);
    QVERIFY_OK(n);
    QCOMPARE(*n, std::size_t{1});
    QCOMPARE(events[0].token(), Token(0));
  }
};

QTEST_GUILESS_MAIN(TestInterest)
#include "tst_interest.moc"
