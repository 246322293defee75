// TimerFd (mio has no timers): one-shot and periodic expiry on CLOCK_MONOTONIC, expirations
// accumulating while unread, disarming and re-arming, and argument checks.
#include <optional>
#include <string>
#include <thread>

#include "peer.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::test;

namespace {
constexpr Token TIMER{3};
constexpr Token WITNESS{4};
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

  // "The timer stayed quiet" without a sleep: a witness timer, registered on the same Poll
  // as WITNESS and armed to expire `after` from now, must bring the first event. Timers on
  // CLOCK_MONOTONIC expire in the order of their deadlines, so once the witness fired any
  // expiry of TIMER due before it has been reported. Empty, or what went wrong.
  static std::string quiet_until_witness(Poll& poll, Events& events, std::chrono::milliseconds after) {
    auto witness = unix::TimerFd::create();
    if (!witness) return "witness timer: " + describe(witness);
    if (auto r = poll.registry().add(*witness, WITNESS, Interest::READABLE); !r)
      return "witness registration: " + describe(r);
    if (auto r = witness->arm(after); !r) return "witness arm: " + describe(r);
    std::string others;
    bool fired = false;
    for (Deadline d; !fired && !d.expired();) {
      auto n = poll.poll(events, 500ms);
      if (!n) return "poll: " + describe(n);
      for (const Event& e : events) {
        if (e.token() == WITNESS)
          fired = true;
        else
          others += " {" + e.to_string() + "}";
      }
    }
    if (auto r = poll.registry().remove(*witness); !r) return "witness removal: " + describe(r);
    if (!others.empty()) return "events before the witness timer:" + others;
    if (!fired) return "the witness timer never fired";
    return {};
  }

  // The timer expires (1 ms) and stays unread (seen by poll(2), which leaves epoll's edges
  // alone); after `clear(timer)` (a disarm or a re-arm) the expiration is gone: nothing to
  // read and no (stale) event. The expiry is on epoll's ready list before the clear, so a
  // stale event would come before EXPECT_NO_EVENTS's witness.
  template <class Clear>
  static void expect_pending_expiry_cleared(Poll& poll, Events& events, unix::TimerFd& timer, Clear clear) {
    QVERIFY_OK(timer.arm(1ms));
    QVERIFY2(wait_readable(timer.as_raw_fd()), "the 1 ms timer never expired");
    QVERIFY_OK(clear(timer));
    ASSERT_WOULD_BLOCK(timer.read());
    EXPECT_NO_EVENTS(poll, events);
  }

 private slots:
  // One expiry: one readable event, a read of 1, then nothing more however long we wait.
  void timerfd_one_shot() {
    Registered t;
    CHECKED_CALL(create_registered(t));
    QVERIFY_OK(t.timer->arm(20ms));

    CHECKED_CALL(expect_one_expiry(*t.poll, t.events, *t.timer));

    // Well beyond the expiry (a witness timer due after a second expiry would be): no second
    // event, nothing to read, and the timer is spent.
    const std::string quiet = quiet_until_witness(*t.poll, t.events, 100ms);
    QVERIFY2(quiet.empty(), quiet.c_str());
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
    CHECKED_CALL(create_registered(t));

    const auto start = std::chrono::steady_clock::now();
    QVERIFY_OK(t.timer->arm(10ms, 10ms));
    auto s = t.timer->setting();
    QVERIFY_OK(s);
    QCOMPARE(s->interval, std::chrono::nanoseconds(10ms));
    QVERIFY(s->remaining > 0ns && s->remaining <= 10ms);

    std::this_thread::sleep_for(120ms);  // the time under test: at least 120 ms of expirations pile up
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
    CHECKED_CALL(create_registered(t));

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
    const std::string quiet = quiet_until_witness(*t.poll, t.events, 100ms);  // past the cancelled 30 ms
    QVERIFY2(quiet.empty(), quiet.c_str());
    ASSERT_WOULD_BLOCK(t.timer->read());

    // Expired but unread, then disarmed: the expiration is gone and so is readiness
    // (epoll re-checks the timerfd before reporting it, so no stale event either).
    CHECKED_CALL(expect_pending_expiry_cleared(*t.poll, t.events, *t.timer,
                                               [](unix::TimerFd& timer) { return timer.disarm(); }));
  }

  // Arming again replaces the previous setting (both ways) and clears pending expirations.
  void timerfd_rearm_replaces() {
    Registered t;
    CHECKED_CALL(create_registered(t));

    // Long, then short: fires after the short one.
    QVERIFY_OK(t.timer->arm(10s));
    QVERIFY_OK(t.timer->arm(20ms));
    CHECKED_CALL(expect_one_expiry(*t.poll, t.events, *t.timer));

    // Short, then long: the short one never fires.
    QVERIFY_OK(t.timer->arm(20ms, 20ms));
    QVERIFY_OK(t.timer->arm(10s));
    const std::string quiet = quiet_until_witness(*t.poll, t.events, 100ms);  // past the replaced 20 ms
    QVERIFY2(quiet.empty(), quiet.c_str());
    ASSERT_WOULD_BLOCK(t.timer->read());
    auto s = t.timer->setting();
    QVERIFY_OK(s);
    QVERIFY(s->remaining > 5s && s->remaining <= 10s);  // generous: the witness took ~100 ms
    QCOMPARE(s->interval.count(), 0);                   // the interval was replaced too

    // Expired and unread, then re-armed: the pending expiration is cleared.
    CHECKED_CALL(expect_pending_expiry_cleared(*t.poll, t.events, *t.timer,
                                               [](unix::TimerFd& timer) { return timer.arm(10s); }));
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
