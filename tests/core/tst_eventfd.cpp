// EventFd (not in mio, which uses an eventfd only inside its Waker): counter and
// semaphore semantics, the limits of the 64-bit counter, and its readiness on epoll.
#include <sys/epoll.h>

#include "ready_test.h"

using namespace ready;
using namespace ready::test;

class TestEventFd : public CoreTest {
  Q_OBJECT
 private slots:
  // Writes add to the counter; a read returns the sum and resets it to 0; at 0 a read
  // would block.
  void eventfd_counter_semantics() {
    auto efd = unix::EventFd::create();
    QVERIFY_OK(efd);
    QVERIFY(!efd->is_semaphore());
    ASSERT_WOULD_BLOCK(efd->read());
    QVERIFY_OK(efd->write(3));
    QVERIFY_OK(efd->write(4));
    auto v = efd->read();
    QVERIFY_OK(v);
    QCOMPARE(*v, std::uint64_t{7});
    ASSERT_WOULD_BLOCK(efd->read());

    // The initial value counts like a write.
    auto init = unix::EventFd::create(5);
    QVERIFY_OK(init);
    QVERIFY_OK(init->write(1));
    v = init->read();
    QVERIFY_OK(v);
    QCOMPARE(*v, std::uint64_t{6});
    ASSERT_WOULD_BLOCK(init->read());
  }

  // EFD_SEMAPHORE: each read returns 1 and decrements.
  void eventfd_semaphore_mode() {
    auto efd = unix::EventFd::create(3, true);
    QVERIFY_OK(efd);
    QVERIFY(efd->is_semaphore());
    for (int i = 0; i < 3; ++i) {
      auto v = efd->read();
      QVERIFY_OK(v);
      QCOMPARE(*v, std::uint64_t{1});
    }
    ASSERT_WOULD_BLOCK(efd->read());
    QVERIFY_OK(efd->write(2));
    for (int i = 0; i < 2; ++i) {
      auto v = efd->read();
      QVERIFY_OK(v);
      QCOMPARE(*v, std::uint64_t{1});
    }
    ASSERT_WOULD_BLOCK(efd->read());
  }

  // The counter holds at most 0xfffffffffffffffe: a write that would pass it would block
  // (a non-blocking eventfd returns EAGAIN), and 0xffffffffffffffff is never a valid write.
  void eventfd_limits() {
    auto efd = unix::EventFd::create();
    QVERIFY_OK(efd);
    QCOMPARE(unix::EventFd::kMaxValue, std::uint64_t{0xfffffffffffffffeULL});
    QVERIFY_OK(efd->write(0xfffffffffffffffeULL));
    ASSERT_WOULD_BLOCK(efd->write(1));
    ASSERT_ERROR(efd->write(0xffffffffffffffffULL), os_error(EINVAL));
    const auto invalid = efd->write(0xffffffffffffffffULL);
    QVERIFY(!invalid && invalid.error() == std::errc::invalid_argument);
    QVERIFY_OK(efd->write(0));  // adding 0 always fits
    auto v = efd->read();
    QVERIFY_OK(v);
    QCOMPARE(*v, unix::EventFd::kMaxValue);
    ASSERT_WOULD_BLOCK(efd->read());
    // EINVAL also on an empty counter: the value itself is refused.
    ASSERT_ERROR(efd->write(0xffffffffffffffffULL), os_error(EINVAL));
  }

  // Edge-triggered readable: every write wakes the eventfd's wait queue, which epoll
  // turns into a new event although the counter was never read (mio's Waker relies on it).
  void eventfd_edge_per_write_without_read() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(8);
    auto efd = unix::EventFd::create();
    QVERIFY_OK(efd);
    QVERIFY_OK(poll->registry().add(*efd, Token(1), Interest::READABLE));
    EXPECT_NO_EVENTS(*poll, events);

    for (int i = 0; i < 5; ++i) {
      QVERIFY_OK(efd->write(1));
      EXPECT_EVENTS(*poll, events, ExpectEvent(1, Interest::READABLE));
      EXPECT_NO_EVENTS(*poll, events);  // one edge per write, still unread
    }
    auto v = efd->read();
    QVERIFY_OK(v);
    QCOMPARE(*v, std::uint64_t{5});
    // A read wakes writers only (EPOLLOUT), not this READABLE registration.
    EXPECT_NO_EVENTS(*poll, events);
  }

  // Writable while at least 1 can still be added. Level-triggered so that each poll shows
  // the current state (eventfd writes wake with EPOLLIN only, so an edge WRITABLE
  // registration would get no new edge to show "still writable").
  void eventfd_writable_until_full() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(8);
    auto efd = unix::EventFd::create();
    QVERIFY_OK(efd);
    QVERIFY_OK(poll->registry().add(*efd, Token(2), Interest::WRITABLE, Trigger::level));
    EXPECT_EVENTS(*poll, events, ExpectEvent(2, Interest::WRITABLE));

    QVERIFY_OK(efd->write(unix::EventFd::kMaxValue - 1));
    EXPECT_EVENTS(*poll, events, ExpectEvent(2, Interest::WRITABLE));  // 1 still fits

    QVERIFY_OK(efd->write(1));  // now full
    EXPECT_NO_EVENTS(*poll, events);
    ASSERT_WOULD_BLOCK(efd->write(1));

    auto v = efd->read();
    QVERIFY_OK(v);
    QCOMPARE(*v, unix::EventFd::kMaxValue);
    EXPECT_EVENTS(*poll, events, ExpectEvent(2, Interest::WRITABLE));

    // Edge-triggered, a full counter made writable by a read does give an edge (the read
    // wakes writers with EPOLLOUT).
    QVERIFY_OK(efd->write(unix::EventFd::kMaxValue));
    QVERIFY_OK(poll->registry().modify(*efd, Token(2), Interest::WRITABLE, Trigger::edge));
    EXPECT_NO_EVENTS(*poll, events);
    QVERIFY_OK(efd->read());
    EXPECT_EVENTS(*poll, events, ExpectEvent(2, Interest::WRITABLE));
    EXPECT_NO_EVENTS(*poll, events);
  }

  // eventfd(2) takes an unsigned int initial value: anything wider is refused (EINVAL)
  // rather than silently truncated.
  void eventfd_create_rejects_initial_over_u32() {
    auto big = unix::EventFd::create(0x1'0000'0000ULL);
    ASSERT_ERROR(big, os_error(EINVAL));
    ASSERT_ERROR(unix::EventFd::create(0xffffffffffffffffULL, true), os_error(EINVAL));

    auto max = unix::EventFd::create(0xffffffffULL);
    QVERIFY_OK(max);
    auto v = max->read();
    QVERIFY_OK(v);
    QCOMPARE(*v, std::uint64_t{0xffffffffULL});
  }

  void eventfd_is_nonblocking_and_cloexec() {
    for (bool semaphore : {false, true}) {
      auto efd = unix::EventFd::create(0, semaphore);
      QVERIFY_OK(efd);
      QVERIFY(is_non_blocking(efd->as_raw_fd()));
      QVERIFY(is_close_on_exec(efd->as_raw_fd()));
    }
  }
};

QTEST_GUILESS_MAIN(TestEventFd)
#include "tst_eventfd.moc"
