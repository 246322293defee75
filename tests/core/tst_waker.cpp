// mio tests/waker.rs, plus the eventfd overflow path of Waker::wake and a wake that
// ends a blocked poll.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "peer.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::test;

namespace {

// mio's expect_waker_event: one poll returns at least one event, and every event is
// readable and carries the Waker's token. mio polls 100 ms; 500 ms here (the poll returns
// as soon as the event is there, so only a failing run waits longer).
bool expect_waker_event(Poll& poll, Events& events, Token token, const char* file, int line) {
  auto r = poll.poll(events, 500ms);
  if (!r) {
    QTest::qFail(("poll failed: " + describe(r)).c_str(), file, line);
    return false;
  }
  if (events.empty()) {
    QTest::qFail("expected a waker event, got none", file, line);
    return false;
  }
  for (const Event& e : events) {
    if (e.token() != token || !e.is_readable()) {
      QTest::qFail(("not a readable waker event: " + e.to_string()).c_str(), file, line);
      return false;
    }
  }
  return true;
}

#define EXPECT_WAKER_EVENT(poll, events, token)                                     \
  do {                                                                              \
    if (!expect_waker_event((poll), (events), (token), __FILE__, __LINE__)) return; \
  } while (false)

constexpr Token TOKEN{10};

}  // namespace

class TestWaker : public CoreTest {
  Q_OBJECT

  // A Poll, its Events and a Waker for TOKEN, shared so that threads can wake it.
  struct PollWithWaker {
    std::optional<Poll> poll;
    Events events{10};
    std::shared_ptr<const Waker> waker;
  };

  static void make_waker(PollWithWaker& w) {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    w.poll.emplace(std::move(*poll));
    auto waker = Waker::create(w.poll->registry(), TOKEN);
    QVERIFY_OK(waker);
    w.waker = std::make_shared<const Waker>(std::move(*waker));
  }

 private slots:
  // mio: waker.rs::waker. One wake gives a readable event with the Waker's token.
  void waker() {
    PollWithWaker w;
    CHECKED_CALL(make_waker(w));

    QVERIFY_OK(w.waker->wake());
    EXPECT_WAKER_EVENT(*w.poll, w.events, TOKEN);
  }

  // mio: waker.rs::waker_multiple_wakeups_same_thread. Three wakes before a poll coalesce.
  // mio accepts any number of readable waker events; on Linux an epoll item is on the ready
  // list at most once, so it is exactly one event, and no more after it.
  void waker_multiple_wakeups_same_thread() {
    PollWithWaker w;
    CHECKED_CALL(make_waker(w));

    for (int i = 0; i < 3; ++i) QVERIFY_OK(w.waker->wake());
    EXPECT_WAKER_EVENT(*w.poll, w.events, TOKEN);
    QCOMPARE(w.events.size(), std::size_t{1});
    EXPECT_NO_EVENTS(*w.poll, w.events);
  }

  // mio: waker.rs::waker_wakeup_different_thread. A wake from another thread gives an
  // event, then no more events.
  void waker_wakeup_different_thread() {
    PollWithWaker w;
    CHECKED_CALL(make_waker(w));

    Worker t = wake_later(w.waker);

    EXPECT_WAKER_EVENT(*w.poll, w.events, TOKEN);
    EXPECT_NO_EVENTS(*w.poll, w.events);

    QVERIFY_JOINED(t);
  }

  // mio: waker.rs::waker_multiple_wakeups_different_thread. Thread 1 wakes and an event
  // arrives; then thread 2 wakes and a second event arrives, although nobody read the
  // eventfd in between (each write is a new edge); then no events.
  void waker_multiple_wakeups_different_thread() {
    PollWithWaker w;
    CHECKED_CALL(make_waker(w));

    Gate barrier;
    Worker t1 = wake_later(w.waker);
    Worker t2 = wake_later(w.waker, 0ms, &barrier);

    // Receive the event from thread 1 (thread 2 is still held, so the event is thread 1's).
    EXPECT_WAKER_EVENT(*w.poll, w.events, TOKEN);
    QVERIFY_JOINED(t1);

    // Unblock thread 2; another event must come.
    barrier.open();
    EXPECT_WAKER_EVENT(*w.poll, w.events, TOKEN);
    EXPECT_NO_EVENTS(*w.poll, w.events);

    QVERIFY_JOINED(t2);
  }

  // mio: waker.rs::using_multiple_wakers_panics. mio panics in debug builds ("Only a single
  // `Waker` can be active per `Poll` instance"); here the check is always on and the second
  // Waker::create returns Errc::waker_exists. As in mio the flag is never cleared: after the
  // first Waker is destroyed a new one still fails. The first Waker keeps working.
  void using_multiple_wakers_fails() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(10);
    const Token token1(10);
    const Token token2(11);

    auto waker1 = Waker::create(poll->registry(), token1);
    QVERIFY_OK(waker1);
    auto waker2 = Waker::create(poll->registry(), token2);
    ASSERT_ERROR(waker2, Errc::waker_exists);

    QVERIFY_OK(waker1->wake());
    EXPECT_WAKER_EVENT(*poll, events, token1);

    {
      auto gone = std::move(waker1);  // the first Waker is destroyed at the end of this block
    }
    ASSERT_ERROR(Waker::create(poll->registry(), token2), Errc::waker_exists);
  }

  // mio: waker.rs::using_multiple_wakers_panics_different_cloned_registries. The same
  // through two clones of the Registry: the one-Waker flag is shared by every clone.
  void using_multiple_wakers_fails_different_cloned_registries() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    auto registry1 = poll->registry().try_clone();
    QVERIFY_OK(registry1);
    auto registry2 = poll->registry().try_clone();
    QVERIFY_OK(registry2);
    const Token token1(10);
    const Token token2(11);

    auto waker1 = Waker::create(*registry1, token1);
    QVERIFY_OK(waker1);
    ASSERT_ERROR(Waker::create(*registry2, token2), Errc::waker_exists);
    ASSERT_ERROR(Waker::create(poll->registry(), token2), Errc::waker_exists);
  }

  // Not a mio test (mio src/sys/unix/waker/eventfd.rs): the eventfd counter tops out at
  // 0xfffffffffffffffe, where writing 1 would block. wake() then reads the counter to zero
  // and writes again, so it still succeeds and an event still arrives.
  void waker_counter_overflow_resets() {
    PollWithWaker w;
    CHECKED_CALL(make_waker(w));
    const int fd = w.waker->as_raw_fd();

    const std::uint64_t near_full = 0xfffffffffffffffeULL;
    QCOMPARE(::write(fd, &near_full, sizeof near_full), ssize_t{sizeof near_full});
    EXPECT_WAKER_EVENT(*w.poll, w.events, TOKEN);  // that write is an edge of its own

    // Full: adding 1 directly would block.
    const std::uint64_t one = 1;
    QCOMPARE(::write(fd, &one, sizeof one), ssize_t{-1});
    QCOMPARE(errno, EAGAIN);

    QVERIFY_OK(w.waker->wake());
    EXPECT_WAKER_EVENT(*w.poll, w.events, TOKEN);

    // wake() reset the counter and wrote 1.
    std::uint64_t value = 0;
    QCOMPARE(::read(fd, &value, sizeof value), ssize_t{sizeof value});
    QCOMPARE(value, std::uint64_t{1});
    EXPECT_NO_EVENTS(*w.poll, w.events);
  }

  // Not a mio test: a poll blocked (10 s limit) in this thread is ended by a wake from
  // another thread 200 ms later. The time bounds are generous sanity checks: it did block,
  // and it returned long before its timeout.
  void waker_wakes_blocked_poll_from_other_thread() {
    PollWithWaker w;
    CHECKED_CALL(make_waker(w));

    Worker t = wake_later(w.waker, 200ms);

    const auto start = std::chrono::steady_clock::now();
    auto n = w.poll->poll(w.events, 10s);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    QVERIFY_OK(n);
    QCOMPARE(*n, std::size_t{1});
    QCOMPARE(w.events[0].token(), TOKEN);
    QVERIFY(w.events[0].is_readable());
    QVERIFY2(elapsed >= 100ms, "the poll returned before the wake");
    QVERIFY2(elapsed < 5s, "the wake did not end the blocked poll");

    QVERIFY_JOINED(t);
  }
};

QTEST_GUILESS_MAIN(TestWaker)
#include "tst_waker.moc"
