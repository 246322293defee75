// The trigger modes beyond mio (which only has edge): level, edge and oneshot side by side
// on real socketpairs and eventfds, and what EPOLL_CTL_MOD (Registry::modify) does to each.
#include <array>

#include "ready_test.h"

using namespace ready;
using namespace ready::test;

namespace {

constexpr Token A{10};
constexpr Token B{11};

// The events of the last poll that carry `token` and at least `r`.
std::size_t count(const Events& events, Token token, Readiness r) {
  std::size_t n = 0;
  for (const Event& e : events)
    if (e.token() == token && Readiness::of(e).contains(r)) ++n;
  return n;
}

// One poll (100 ms is plenty: a ready level registration is reported at once) must report
// `token` with `r`. Unlike EXPECT_EVENTS this checks a single poll, which is what "reported
// on every poll" means.
bool event_this_poll(Poll& poll, Events& events, Token token, Readiness r, const char* file, int line) {
  auto n = poll.poll(events, 100ms);
  if (!n) {
    QTest::qFail(("poll failed: " + describe(n)).c_str(), file, line);
    return false;
  }
  if (count(events, token, r) == 1) return true;
  const std::string got = describe(events);
  QTest::qFail(("poll did not report token " + std::to_string(token.value) + " as " + r.to_string() +
                "; got:" + (got.empty() ? " nothing" : got))
                   .c_str(),
               file, line);
  return false;
}

#define EXPECT_EVENT_THIS_POLL(poll, events, token, r)                                \
  do {                                                                                \
    if (!event_this_poll((poll), (events), (token), (r), __FILE__, __LINE__)) return; \
  } while (false)

// Reads until would-block; the number of bytes read (or fails the test).
#define DRAIN(stream, total)                     \
  do {                                           \
    std::array<std::byte, 64> drain_buf_{};      \
    for (;;) {                                   \
      auto drain_r_ = (stream).read(drain_buf_); \
      if (!drain_r_) {                           \
        ASSERT_WOULD_BLOCK(drain_r_);            \
        break;                                   \
      }                                          \
      QVERIFY(*drain_r_ > 0);                    \
      (total) += *drain_r_;                      \
    }                                            \
  } while (false)

}  // namespace

class TestTrigger : public CoreTest {
  Q_OBJECT

  // Runs `body` with a fresh Poll, its Events and a connected UnixStream pair (a, b).
  template <class Body>
  static void with_stream_pair(Body body) {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(8);
    auto pair = net::UnixStream::pair();
    QVERIFY_OK(pair);
    auto& [a, b] = *pair;
    body(*poll, events, a, b);
  }

  // Writes 10 bytes to `a`; `b` (registered READABLE as B) reports readable and a read of
  // 4 bytes returns 4, leaving 6 unread.
  static void write_ten_read_four(Poll& poll, Events& events, net::UnixStream& a, net::UnixStream& b) {
    QVERIFY_OK(a.write(std::string_view("0123456789")));
    EXPECT_EVENTS(poll, events, ExpectEvent(B, Interest::READABLE));
    std::array<std::byte, 4> part{};
    auto n = b.read(part);
    QVERIFY_OK(n);
    QCOMPARE(*n, std::size_t{4});
  }

 private slots:
  // Level: while unread bytes remain, every poll reports the source; drained, none does.
  void level_refires_until_drained() {
    CHECKED_CALL(with_stream_pair([](Poll& poll, Events& events, net::UnixStream& a, net::UnixStream& b) {
      QVERIFY_OK(poll.registry().add(b, B, Interest::READABLE, Trigger::level));
      EXPECT_NO_EVENTS(poll, events);

      write_ten_read_four(poll, events, a, b);
      if (QTest::currentTestFailed()) return;
      for (int i = 0; i < 3; ++i) EXPECT_EVENT_THIS_POLL(poll, events, B, Readiness(Interest::READABLE));

      std::size_t rest = 0;
      DRAIN(b, rest);
      QCOMPARE(rest, std::size_t{6});
      EXPECT_NO_EVENTS(poll, events);

      // The same eventfd-wise: readable while the counter is non-zero.
      auto efd = unix::EventFd::create(2, true);
      QVERIFY_OK(efd);
      QVERIFY_OK(poll.registry().add(*efd, A, Interest::READABLE, Trigger::level));
      EXPECT_EVENT_THIS_POLL(poll, events, A, Readiness(Interest::READABLE));
      QVERIFY_OK(efd->read());  // semaphore: 2 -> 1
      EXPECT_EVENT_THIS_POLL(poll, events, A, Readiness(Interest::READABLE));
      QVERIFY_OK(efd->read());  // 1 -> 0
      EXPECT_NO_EVENTS(poll, events);
    }));
  }

  // Edge: a partial read leaves bytes behind but gives no new event; only new data makes
  // a new edge (mio's "drain until would-block" rule). (Named edge_fires_once_until_new_data
  // in the plan; QtTest takes a slot ending in "_data" for a data function and never runs it.)
  void edge_fires_once_until_new_data_arrives() {
    CHECKED_CALL(with_stream_pair([](Poll& poll, Events& events, net::UnixStream& a, net::UnixStream& b) {
      QVERIFY_OK(poll.registry().add(b, B, Interest::READABLE, Trigger::edge));

      write_ten_read_four(poll, events, a, b);
      if (QTest::currentTestFailed()) return;
      EXPECT_NO_EVENTS(poll, events);
      EXPECT_NO_EVENTS(poll, events);
      std::array<std::byte, 16> peeked{};
      auto p = b.peek(peeked);
      QVERIFY_OK(p);
      QCOMPARE(*p, std::size_t{6});  // the bytes are still there
      EXPECT_NO_EVENTS(poll, events);

      QVERIFY_OK(a.write(std::string_view("abc")));
      EXPECT_EVENTS(poll, events, ExpectEvent(B, Interest::READABLE));
      std::size_t rest = 0;
      DRAIN(b, rest);
      QCOMPARE(rest, std::size_t{9});
      EXPECT_NO_EVENTS(poll, events);
    }));
  }

  // Oneshot: one event, then the registration is disarmed (more data: still nothing) until
  // modify() rearms it; rearming with data pending fires at once.
  void oneshot_fires_once_until_rearmed() {
    CHECKED_CALL(with_stream_pair([](Poll& poll, Events& events, net::UnixStream& a, net::UnixStream& b) {
      QVERIFY_OK(poll.registry().add(b, B, Interest::READABLE, Trigger::oneshot));

      QVERIFY_OK(a.write(std::string_view("one")));
      EXPECT_EVENTS(poll, events, ExpectEvent(B, Interest::READABLE));
      EXPECT_NO_EVENTS(poll, events);
      QVERIFY_OK(a.write(std::string_view("two")));
      EXPECT_NO_EVENTS(poll, events);  // disarmed, although new data arrived
      QVERIFY(b.is_registered());

      QVERIFY_OK(poll.registry().modify(b, B, Interest::READABLE, Trigger::oneshot));
      EXPECT_EVENT_THIS_POLL(poll, events, B, Readiness(Interest::READABLE));
      EXPECT_NO_EVENTS(poll, events);  // disarmed again

      // Draining and rearming: no data, no event; the next write fires once.
      std::size_t total = 0;
      DRAIN(b, total);
      QCOMPARE(total, std::size_t{6});
      QVERIFY_OK(poll.registry().modify(b, B, Interest::READABLE, Trigger::oneshot));
      EXPECT_NO_EVENTS(poll, events);
      QVERIFY_OK(a.write(std::string_view("three")));
      EXPECT_EVENTS(poll, events, ExpectEvent(B, Interest::READABLE));
      EXPECT_NO_EVENTS(poll, events);

      // The same on an eventfd.
      auto efd = unix::EventFd::create();
      QVERIFY_OK(efd);
      QVERIFY_OK(poll.registry().add(*efd, A, Interest::READABLE, Trigger::oneshot));
      QVERIFY_OK(efd->write(1));
      EXPECT_EVENTS(poll, events, ExpectEvent(A, Interest::READABLE));
      QVERIFY_OK(efd->write(1));
      EXPECT_NO_EVENTS(poll, events);
      QVERIFY_OK(poll.registry().modify(*efd, A, Interest::READABLE, Trigger::oneshot));
      EXPECT_EVENT_THIS_POLL(poll, events, A, Readiness(Interest::READABLE));
      auto v = efd->read();
      QVERIFY_OK(v);
      QCOMPARE(*v, std::uint64_t{2});
    }));
  }

  // EPOLL_CTL_MOD re-evaluates readiness: an edge registration whose edge was consumed
  // (data still unread) fires again after modify, even with the same token and interest.
  void modify_reevaluates_readiness() {
    CHECKED_CALL(with_stream_pair([](Poll& poll, Events& events, net::UnixStream& a, net::UnixStream& b) {
      QVERIFY_OK(poll.registry().add(b, B, Interest::READABLE));
      QVERIFY_OK(a.write(std::string_view("pending")));
      EXPECT_EVENTS(poll, events, ExpectEvent(B, Interest::READABLE));
      EXPECT_NO_EVENTS(poll, events);

      QVERIFY_OK(poll.registry().modify(b, B, Interest::READABLE));
      EXPECT_EVENT_THIS_POLL(poll, events, B, Readiness(Interest::READABLE));
      EXPECT_NO_EVENTS(poll, events);

      // With a new token the event carries the new one.
      QVERIFY_OK(poll.registry().modify(b, A, Interest::READABLE));
      EXPECT_EVENT_THIS_POLL(poll, events, A, Readiness(Interest::READABLE));
      QCOMPARE(count(events, B, Readiness()), std::size_t{0});

      // An eventfd, never read: modify fires it again too.
      auto efd = unix::EventFd::create(1);
      QVERIFY_OK(efd);
      QVERIFY_OK(poll.registry().add(*efd, Token(20), Interest::READABLE));
      EXPECT_EVENTS(poll, events, ExpectEvent(20, Interest::READABLE));
      EXPECT_NO_EVENTS(poll, events);
      QVERIFY_OK(poll.registry().modify(*efd, Token(20), Interest::READABLE));
      EXPECT_EVENT_THIS_POLL(poll, events, Token(20), Readiness(Interest::READABLE));
      EXPECT_NO_EVENTS(poll, events);
    }));
  }

  // add() of a source that is already ready produces an event on the next poll, in every
  // trigger mode (nothing has to change after the registration).
  void register_already_ready_source_fires() {
    for (const Trigger trigger : all_values<Trigger>()) {
      auto poll = Poll::create();
      QVERIFY_OK(poll);
      Events events(8);
      auto pair = net::UnixStream::pair();
      QVERIFY_OK(pair);
      auto& [a, b] = *pair;
      QVERIFY_OK(a.write(std::string_view("already here")));
      auto efd = unix::EventFd::create(1);
      QVERIFY_OK(efd);

      QVERIFY_OK(poll->registry().add(b, B, Interest::READABLE, trigger));
      QVERIFY_OK(poll->registry().add(*efd, A, Interest::READABLE, trigger));
      auto n = poll->poll(events, 100ms);
      QVERIFY_OK(n);
      QVERIFY2(count(events, B, Interest::READABLE) == 1, to_string(trigger));
      QVERIFY2(count(events, A, Interest::READABLE) == 1, to_string(trigger));
    }
  }

  // WRITABLE on an idle socket: level reports it on every poll (a busy loop if the
  // caller has nothing to write), edge exactly once.
  void level_writable_spins_edge_writable_once() {
    auto pair = net::UnixStream::pair();
    QVERIFY_OK(pair);
    auto& [a, b] = *pair;

    auto level_poll = Poll::create();
    QVERIFY_OK(level_poll);
    Events events(8);
    QVERIFY_OK(level_poll->registry().add(a, A, Interest::WRITABLE, Trigger::level));
    for (int i = 0; i < 5; ++i) EXPECT_EVENT_THIS_POLL(*level_poll, events, A, Readiness(Interest::WRITABLE));

    auto edge_poll = Poll::create();
    QVERIFY_OK(edge_poll);
    QVERIFY_OK(edge_poll->registry().add(b, B, Interest::WRITABLE, Trigger::edge));
    EXPECT_EVENTS(*edge_poll, events, ExpectEvent(B, Interest::WRITABLE));
    EXPECT_NO_EVENTS(*edge_poll, events);
    EXPECT_NO_EVENTS(*edge_poll, events);

    // The level one still spins.
    EXPECT_EVENT_THIS_POLL(*level_poll, events, A, Readiness(Interest::WRITABLE));
  }

  // modify() can change the trigger: edge -> level turns a consumed edge back into
  // "reported while ready"; level -> edge stops the repeats.
  void switch_trigger_with_modify() {
    CHECKED_CALL(with_stream_pair([](Poll& poll, Events& events, net::UnixStream& a, net::UnixStream& b) {
      QVERIFY_OK(poll.registry().add(b, B, Interest::READABLE, Trigger::edge));
      QVERIFY_OK(a.write(std::string_view("data")));
      EXPECT_EVENTS(poll, events, ExpectEvent(B, Interest::READABLE));
      EXPECT_NO_EVENTS(poll, events);

      QVERIFY_OK(poll.registry().modify(b, B, Interest::READABLE, Trigger::level));
      for (int i = 0; i < 3; ++i) EXPECT_EVENT_THIS_POLL(poll, events, B, Readiness(Interest::READABLE));

      QVERIFY_OK(poll.registry().modify(b, B, Interest::READABLE, Trigger::edge));
      EXPECT_EVENT_THIS_POLL(poll, events, B, Readiness(Interest::READABLE));  // modify re-evaluates
      EXPECT_NO_EVENTS(poll, events);

      QVERIFY_OK(poll.registry().modify(b, B, Interest::READABLE, Trigger::level));
      EXPECT_EVENT_THIS_POLL(poll, events, B, Readiness(Interest::READABLE));
      std::size_t total = 0;
      DRAIN(b, total);
      QCOMPARE(total, std::size_t{4});
      EXPECT_NO_EVENTS(poll, events);
    }));
  }
};

QTEST_GUILESS_MAIN(TestTrigger)
#include "tst_trigger.moc"
