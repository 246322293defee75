// TimerFd (mio has no timers): one-shot and periodic expiry on CLOCK_MONOTONIC, expirations
// accumulating while unread, disarming and re-arming, and argument checks.
#include <optional>
#include <thread>

#include "ready_test.h"

using namespace ready;
using namespace ready::test;

namespace {
constexpr Token TIMER{3};
}

class TestTimerFd : public CoreTest {
  Q_OBJECT

  // A Poll, its Events and a TimerFd registered READABLE as TIMER.
  struct Registered {
    std::optional<Poll> poll;
    Events events{8};
    std::optional<unix::TimerFd> timer;
  };

  static void create_registered(Registered& t) {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    t.poll.emplace(std::move(*poll));
    auto timer = unix::TimerFd::create();
    QVERIFY_OK(timer);
    t.timer.emplace(std::move(*timer));
    QVERIFY_OK(t.poll->registry().add(*t.timer, TIMER, Interest::READABLE));
  }

  // The timer reports readable, and a read returns one expiration.
  static void expect_one_expiry(Poll& poll, Events& events, const unix::TimerFd& timer) {
    EXPECT_EVENTS(poll, events, ExpectEvent(TIMER, Interest::READABLE));
    auto n = timer.read();
    QVERIFY_OK(n);
    QCOMPARE(*n, std::uint64_t{1});
  }

  // A 100 ms poll returns no event at all.
  static void expect_quiet_poll(Poll& poll, Events& events) {
    auto r = poll.poll(events, 100ms);
    QVERIFY_OK(r);
    QCOMPARE(*r, std::size_t{0});
  }

  // The timer expires (1 ms) and stays unread; after `clear(timer)` (a disarm or a re-arm)
  // the expiration is gone: nothing to read and no (stale) event.
  template <class Clear>
  static void expect_pending_expiry_cleared(Poll& poll, Events& events, unix::TimerFd& timer, Clear clear) {
    QVERIFY_OK(timer.arm(1ms));
    std::this_thread::sleep_for(20ms);
    QVERIFY_OK(clear(timer));
    ASSERT_WOULD_BLOCK(timer.read());
    EXPECT_NO_EVENTS(poll, events);
  }

 private slots:
  // One expiry: one readable event, a read of 1, then nothing more however long we wait.
  void timerfd_one_shot() {
    Registered t;
    create_registered(t);
    if (QTest::currentTestFailed()) return;
    QVERIFY_OK(t.timer->arm(20ms));

    expect_one_expiry(*t.poll, t.events, *t.timer);

    // Well beyond the expiry: no second event, nothing to read, and the timer is spent.
    expect_quiet_poll(*t.poll, t.events);
    EXPECT_NO_EVENTS(*t.poll, t.events);
    ASSERT_WOULD_BLOCK(t.timer->read());
    auto s = t.timer->setting();
    QVERIFY_OK(s);
    QCOMPARE(s->remaining.count(), 0);
    QCOMPARE(s->interval.count(), 0);
  }

  // Periodic: expirations accumulate while nobody reads; one read returns them all. The
  // upper bound is a hard one (the timer cannot expire more often than its interval),
  // measured over a span that contains the whole timer life.
  void timerfd_periodic() {
    Registered t;
    create_registered(t);
    if (QTest::currentTestFailed()) return;

    const auto start = std::chrono::steady_clock::now();
    QVERIFY_OK(t.timer->arm(10ms, 10ms));
    auto s = t.timer->setting();
    QVERIFY_OK(s);
    QCOMPARE(s->interval, std::chrono::nanoseconds(10ms));
    QVERIFY(s->remaining > 0ns && s->remaining <= 10ms);

    std::this_thread::sleep_for(120ms);
    EXPECT_EVENTS(*t.poll, t.events, ExpectEvent(TIMER, Interest::READABLE));
    auto n = t.timer->read();
    const auto elapsed = std::chrono::steady_clock::now() - start;
    QVERIFY_OK(n);
    QVERIFY2(*n >= 5, ("only " + std::to_string(*n) + " expirations in ~120 ms").c_str());
    const auto bound = static_cast<std::uint64_t>(elapsed / 10ms);
    QVERIFY2(*n <= bound, (std::to_string(*n) + " expirations, more than " + std::to_string(bound)).c_str());

    // It keeps going after the read: the next expiry is a new event.
    EXPECT_EVENTS(*t.poll, t.events, ExpectEvent(TIMER, Interest::READABLE));
    n = t.timer->read();
    QVERIFY_OK(n);
    QVERIFY(*n >= 1);
    QVERIFY_OK(t.timer->disarm());
  }

  // A disarmed timer never fires, reports 0 remaining, and loses pending expirations.
  void timerfd_disarm() {
    Registered t;
    create_registered(t);
    if (QTest::currentTestFailed()) return;

    // A fresh timer is disarmed.
    auto s = t.timer->setting();
    QVERIFY_OK(s);
    QCOMPARE(s->remaining.count(), 0);

    QVERIFY_OK(t.timer->arm(30ms, 30ms));
    QVERIFY_OK(t.timer->disarm());
    s = t.timer->setting();
    QVERIFY_OK(s);
    QCOMPARE(s->remaining.count(), 0);
    QCOMPARE(s->interval.count(), 0);
    expect_quiet_poll(*t.poll, t.events);  // past the first (cancelled) expiry
    ASSERT_WOULD_BLOCK(t.timer->read());

    // Expired but unread, then disarmed: the expiration is gone and so is readiness
    // (epoll re-checks the timerfd before reporting it, so no stale event either).
    expect_pending_expiry_cleared(*t.poll, t.events, *t.timer,
                                  [](unix::TimerFd& timer) { return timer.disarm(); });
  }

  // Arming again replaces the previous setting (both ways) and clears pending expirations.
  void timerfd_rearm_replaces() {
    Registered t;
    create_registered(t);
    if (QTest::currentTestFailed()) return;

    // Long, then short: fires after the short one.
    QVERIFY_OK(t.timer->arm(10s));
    QVERIFY_OK(t.timer->arm(20ms));
    expect_one_expiry(*t.poll, t.events, *t.timer);

    // Short, then long: the short one never fires.
    QVERIFY_OK(t.timer->arm(20ms, 20ms));
    QVERIFY_OK(t.timer->arm(10s));
    expect_quiet_poll(*t.poll, t.events);
    ASSERT_WOULD_BLOCK(t.timer->read());
    auto s = t.timer->setting();
    QVERIFY_OK(s);
    QVERIFY(s->remaining > 5s && s->remaining <= 10s);  // generous: the poll above took ~100 ms
    QCOMPARE(s->interval.count(), 0);                   // the interval was replaced too

    // Expired and unread, then re-armed: the pending expiration is cleared.
    expect_pending_expiry_cleared(*t.poll, t.events, *t.timer,
                                  [](unix::TimerFd& timer) { return timer.arm(10s); });
  }

  // Before the first expiry there is nothing to read; setting() shows the time left and
  // the interval (values over a second round-trip through timespec intact).
  void timerfd_read_would_block_before_expiry() {
    auto timer = unix::TimerFd::create();
    QVERIFY_OK(timer);
    ASSERT_WOULD_BLOCK(timer->read());  // never armed
    QVERIFY_OK(timer->arm(1500ms, 2500ms));
    ASSERT_WOULD_BLOCK(timer->read());
    auto s = timer->setting();
    QVERIFY_OK(s);
    QVERIFY(s->remaining > 0ns && s->remaining <= 1500ms);
    QCOMPARE(s->interval, std::chrono::nanoseconds(2500ms));
  }

  // An initial expiry of 0 would disarm in timerfd_settime; arm() refuses it (and negative
  // values) with EINVAL instead, leaving the timer as it was.
  void timerfd_arm_rejects_zero_initial() {
    auto timer = unix::TimerFd::create();
    QVERIFY_OK(timer);
    ASSERT_ERROR(timer->arm(0ns), os_error(EINVAL));
    ASSERT_ERROR(timer->arm(0ns, 10ms), os_error(EINVAL));
    ASSERT_ERROR(timer->arm(-1ms), os_error(EINVAL));
    ASSERT_ERROR(timer->arm(1ms, -1ns), os_error(EINVAL));
    const auto r = timer->arm(0ns);
    QVERIFY(!r && r.error() == std::errc::invalid_argument);
    auto s = timer->setting();
    QVERIFY_OK(s);
    QCOMPARE(s->remaining.count(), 0);  // still disarmed
  }

  void timerfd_is_nonblocking_and_cloexec() {
    auto timer = unix::TimerFd::create();
    QVERIFY_OK(timer);
    QVERIFY(is_non_blocking(timer->as_raw_fd()));
    QVERIFY(is_close_on_exec(timer->as_raw_fd()));
  }
};

QTEST_GUILESS_MAIN(TestTimerFd)
#include "tst_timerfd.moc"
