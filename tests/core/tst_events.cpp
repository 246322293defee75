// mio tests/events.rs, plus Events capacity rules.
#include <stdexcept>

#include "ready_test.h"

using namespace ready;
using namespace ready::test;

class TestEvents : public CoreTest {
  Q_OBJECT
 private slots:
  // mio: events_all. A fresh Events is empty with its capacity; after a wake and a poll it
  // holds only readable waker events; clear() empties it.
  void events_all() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    QCOMPARE(events.capacity(), std::size_t{16});
    QVERIFY(events.empty());

    auto waker = Waker::create(poll->registry(), Token(1));
    QVERIFY_OK(waker);
    QVERIFY_OK(waker->wake());
    QVERIFY_OK(poll->poll(events, 100ms));
    QVERIFY(!events.empty());
    for (const Event& e : events) {
      QCOMPARE(e.token(), Token(1));
      QVERIFY(e.is_readable());
    }
    events.clear();
    QVERIFY(events.empty());
  }

  // Capacity 0 would make epoll_wait fail with EINVAL: refused when the buffer is made.
  void events_capacity_zero_is_an_error() {
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, Events(0));
  }

  // More ready sources than capacity: the rest come on the next poll, none is lost.
  void events_beyond_capacity_come_next_poll() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    std::vector<unix::EventFd> fds;
    for (std::size_t i = 0; i < 5; ++i) {
      auto fd = unix::EventFd::create(1);
      QVERIFY_OK(fd);
      QVERIFY_OK(poll->registry().add(*fd, Token(i), Interest::READABLE));
      fds.push_back(std::move(*fd));
    }
    Events events(2);
    std::vector<bool> seen(5, false);
    for (int i = 0; i < 3; ++i) {
      auto n = poll->poll(events, 100ms);
      QVERIFY_OK(n);
      QVERIFY(*n <= 2);
      for (const Event& e : events) seen[e.token().value] = true;
    }
    QVERIFY(std::all_of(seen.begin(), seen.end(), [](bool b) { return b; }));
  }
};

QTEST_GUILESS_MAIN(TestEvents)
#include "tst_events.moc"
