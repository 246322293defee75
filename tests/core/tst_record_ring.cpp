// The capture engine's record ring (SPSC, exact accounting) and its consumer Notifier.
#include <poll.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "ready/capture/notifier.h"
#include "ready/capture/ring.h"
#include "ready/poll.h"
#include "ready/source.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;

namespace {
Record numbered(std::uint64_t n) {
  Record r;
  r.kind = RecordKind::readiness;
  r.t_ns = n;
  r.value = n;
  return r;
}

// The eventfd is readable now (a 0 ms poll(2)).
bool readable_now(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}
}  // namespace

class TestRecordRing : public CoreTest {
  Q_OBJECT
 private slots:
  // Records come out in the order they went in, and the counters say so.
  void push_pop_in_order() {
    RecordRing ring(8);
    QCOMPARE(ring.capacity(), std::size_t{8});
    for (std::uint64_t i = 0; i < 5; ++i) QVERIFY(ring.try_push(numbered(i)));
    QCOMPARE(ring.size(), std::size_t{5});
    std::array<Record, 8> out{};
    QCOMPARE(ring.pop(out), std::size_t{5});
    for (std::uint64_t i = 0; i < 5; ++i) QCOMPARE(out[i], numbered(i));
    QCOMPARE(ring.pop(out), std::size_t{0});
    QCOMPARE(ring.produced(), std::uint64_t{5});
    QCOMPARE(ring.delivered(), std::uint64_t{5});
    QCOMPARE(ring.dropped(), std::uint64_t{0});
  }

  // Capacity must be a power of two, at least 2: anything else is refused at construction.
  void capacity_rules() {
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, RecordRing(0));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, RecordRing(1));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, RecordRing(3));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, RecordRing(100));
    QCOMPARE(RecordRing(2).capacity(), std::size_t{2});
  }

  // A full ring refuses (never blocks), counts each drop, and keeps what it held.
  void full_ring_drops_and_counts() {
    RecordRing ring(4);
    for (std::uint64_t i = 0; i < 4; ++i) QVERIFY(ring.try_push(numbered(i)));
    QVERIFY(!ring.try_push(numbered(100)));
    QVERIFY(!ring.try_push(numbered(101)));
    QCOMPARE(ring.dropped(), std::uint64_t{2});
    QCOMPARE(ring.produced(), std::uint64_t{6});
    std::array<Record, 1> one{};
    QCOMPARE(ring.pop(one), std::size_t{1});
    QCOMPARE(one[0], numbered(0));
    // One slot free again: the next push is stored.
    QVERIFY(ring.try_push(numbered(4)));
    QVERIFY(!ring.try_push(numbered(102)));
    std::array<Record, 8> out{};
    QCOMPARE(ring.pop(out), std::size_t{4});
    for (std::uint64_t i = 0; i < 4; ++i) QCOMPARE(out[i].value, i + 1);
    QCOMPARE(ring.produced(), ring.delivered() + ring.dropped() + ring.size());
    QCOMPARE(ring.produced(), std::uint64_t{8});
    QCOMPARE(ring.dropped(), std::uint64_t{3});
  }

  // pop takes at most the span's size, oldest first; an empty span takes nothing.
  void batch_pop_takes_at_most_the_span() {
    RecordRing ring(16);
    for (std::uint64_t i = 0; i < 10; ++i) QVERIFY(ring.try_push(numbered(i)));
    std::array<Record, 3> three{};
    QCOMPARE(ring.pop(std::span<Record>{}), std::size_t{0});
    std::uint64_t next = 0;
    for (std::size_t expect : {3u, 3u, 3u, 1u, 0u}) {
      const std::size_t n = ring.pop(three);
      QCOMPARE(n, expect);
      for (std::size_t i = 0; i < n; ++i) QCOMPARE(three[i].value, next++);
    }
    QCOMPARE(ring.delivered(), std::uint64_t{10});
  }

  // Many laps around a small buffer: a batch that straddles the end comes out in order.
  void wrap_around_keeps_order() {
    RecordRing ring(8);
    std::uint64_t pushed = 0, popped = 0;
    std::array<Record, 5> out{};
    for (int lap = 0; lap < 1000; ++lap) {
      for (int i = 0; i < 5; ++i) QVERIFY(ring.try_push(numbered(pushed++)));
      const std::size_t n = ring.pop(out);
      QCOMPARE(n, std::size_t{5});
      for (std::size_t i = 0; i < n; ++i) QCOMPARE(out[i].value, popped++);
    }
    QCOMPARE(ring.dropped(), std::uint64_t{0});
    QCOMPARE(ring.delivered(), pushed);
  }

  // Two threads, a tiny ring, millions of records: every record is delivered or counted as
  // dropped, and the delivered ones keep their order. (Run under TSan by the tsan preset.)
  void two_thread_stress_accounting_exact() {
    constexpr std::uint64_t kRecords = 3'000'000;
    RecordRing ring(8);
    std::atomic<bool> producer_done{false};
    std::uint64_t delivered = 0, out_of_order = 0, last = 0;
    bool first = true;
    std::thread consumer([&] {
      std::array<Record, 4> out{};
      for (;;) {
        const bool done = producer_done.load(std::memory_order_acquire);
        const std::size_t n = ring.pop(out);
        for (std::size_t i = 0; i < n; ++i) {
          if (!first && out[i].value <= last) ++out_of_order;
          first = false;
          last = out[i].value;
        }
        delivered += n;
        if (n == 0 && done) break;  // the producer finished before this empty pop began
        if (n == 0) std::this_thread::yield();
      }
    });
    std::uint64_t refused = 0;
    for (std::uint64_t i = 0; i < kRecords; ++i) {
      if (!ring.try_push(numbered(i))) ++refused;
      // Now and then let the consumer run, so that both full-ring drops and concurrent
      // deliveries happen many times (a bare loop mostly drops on a loaded machine).
      if (i % 64 == 63) std::this_thread::yield();
    }
    producer_done.store(true, std::memory_order_release);
    consumer.join();
    QCOMPARE(out_of_order, std::uint64_t{0});
    QCOMPARE(ring.produced(), kRecords);
    QCOMPARE(ring.dropped(), refused);
    QCOMPARE(ring.delivered(), delivered);
    QCOMPARE(ring.size(), std::size_t{0});
    QCOMPARE(ring.produced(), ring.delivered() + ring.dropped());
    QVERIFY(delivered > 0);
    qInfo("delivered %llu, dropped %llu", static_cast<unsigned long long>(delivered),
          static_cast<unsigned long long>(refused));
  }

  // The notify eventfd is created non-blocking and close-on-exec.
  void notifier_fd_flags() {
    auto n = Notifier::create();
    QVERIFY_OK(n);
    QVERIFY(n->as_raw_fd() >= 0);
    QVERIFY(is_non_blocking(n->as_raw_fd()));
    QVERIFY(is_close_on_exec(n->as_raw_fd()));
    QVERIFY(!readable_now(n->as_raw_fd()));
  }

  // N notifies with no drain in between make exactly one write.
  void notifier_coalesces() {
    auto n = Notifier::create();
    QVERIFY_OK(n);
    for (int i = 0; i < 100; ++i) {
      auto wrote = n->notify();
      QVERIFY_OK(wrote);
      QCOMPARE(*wrote, i == 0);
    }
    QCOMPARE(n->writes(), std::uint64_t{1});
    QCOMPARE(n->notifies(), std::uint64_t{100});
    QVERIFY(readable_now(n->as_raw_fd()));
  }

  // begin_drain resets the fd and the flag: the next notify writes again.
  void notify_after_begin_drain_writes_again() {
    auto n = Notifier::create();
    QVERIFY_OK(n);
    QVERIFY_OK(n->notify());
    auto drained = n->begin_drain();
    QVERIFY_OK(drained);
    QVERIFY(*drained);
    QVERIFY(!readable_now(n->as_raw_fd()));
    auto wrote = n->notify();
    QVERIFY_OK(wrote);
    QVERIFY(*wrote);
    QCOMPARE(n->writes(), std::uint64_t{2});
    QVERIFY(readable_now(n->as_raw_fd()));
  }

  // A drain with no wake pending (a spurious wake) is not an error.
  void begin_drain_without_notify() {
    auto n = Notifier::create();
    QVERIFY_OK(n);
    auto drained = n->begin_drain();
    QVERIFY_OK(drained);
    QVERIFY(!*drained);
    QVERIFY_OK(n->notify());
    QCOMPARE(n->writes(), std::uint64_t{1});
  }

  // A moved Notifier keeps its fd and its state.
  void notifier_move() {
    auto n = Notifier::create();
    QVERIFY_OK(n);
    const int fd = n->as_raw_fd();
    QVERIFY_OK(n->notify());
    Notifier m = std::move(*n);
    QCOMPARE(m.as_raw_fd(), fd);
    QCOMPARE(n->as_raw_fd(), -1);
    auto wrote = m.notify();
    QVERIFY_OK(wrote);
    QVERIFY(!*wrote);  // still pending from before the move
    QCOMPARE(m.writes(), std::uint64_t{1});
  }

  // A consumer thread that sleeps in poll(2) on the eventfd never misses a wake-up: the
  // producer pushes batches with random pauses and notifies after each; the consumer drains
  // to empty after begin_drain and must receive every record. A lost wake-up shows as a
  // 5-second poll timeout.
  void consumer_never_misses_a_wakeup() {
    constexpr int kBatches = 3000;
    RecordRing ring(1 << 18);  // larger than everything pushed: no drops
    auto n = Notifier::create();
    QVERIFY_OK(n);
    Notifier& notifier = *n;
    std::mt19937 rng(12345);
    std::vector<int> sizes(kBatches), pauses_us(kBatches);
    std::uint64_t total = 0;
    for (int i = 0; i < kBatches; ++i) {
      sizes[i] = 1 + static_cast<int>(rng() % 40);
      pauses_us[i] = static_cast<int>(rng() % 4 == 0 ? rng() % 300 : 0);
      total += static_cast<std::uint64_t>(sizes[i]);
    }
    std::atomic<std::uint64_t> timeouts{0}, errors{0}, out_of_order{0}, wakes{0};
    std::thread consumer([&] {
      std::array<Record, 64> out{};
      std::uint64_t got = 0;
      while (got < total) {
        pollfd p{notifier.as_raw_fd(), POLLIN, 0};
        const int r = ::poll(&p, 1, 5000);
        if (r == 0) {
          timeouts.fetch_add(1);
          return;
        }
        if (r < 0) {
          if (errno == EINTR) continue;
          errors.fetch_add(1);
          return;
        }
        wakes.fetch_add(1, std::memory_order_relaxed);
        if (!notifier.begin_drain()) errors.fetch_add(1);
        for (std::size_t k; (k = ring.pop(out)) > 0;) {
          for (std::size_t i = 0; i < k; ++i)
            if (out[i].value != got + i) out_of_order.fetch_add(1);
          got += k;
        }
      }
    });
    std::uint64_t seq = 0;
    for (int b = 0; b < kBatches; ++b) {
      for (int i = 0; i < sizes[b]; ++i)
        if (!ring.try_push(numbered(seq++))) errors.fetch_add(1);  // no QVERIFY: the thread must be joined
      if (!notifier.notify()) errors.fetch_add(1);
      if (pauses_us[b] > 0) std::this_thread::sleep_for(std::chrono::microseconds(pauses_us[b]));
    }
    consumer.join();
    QCOMPARE(timeouts.load(), std::uint64_t{0});
    QCOMPARE(errors.load(), std::uint64_t{0});
    QCOMPARE(out_of_order.load(), std::uint64_t{0});
    QCOMPARE(ring.delivered(), total);
    QCOMPARE(ring.dropped(), std::uint64_t{0});
    QVERIFY(notifier.writes() <= notifier.notifies());
    QVERIFY(wakes.load() <= notifier.writes());  // each wake consumed at least one write
    qInfo("%d notifies, %llu writes, %llu wakes", kBatches,
          static_cast<unsigned long long>(notifier.writes()), static_cast<unsigned long long>(wakes.load()));
  }

  // begin_drain_edge clears the flag without reading: the fd stays readable, the next
  // notify writes again and the counter holds every write.
  void begin_drain_edge_keeps_the_counter() {
    auto n = Notifier::create();
    QVERIFY_OK(n);
    QVERIFY_OK(n->notify());
    n->begin_drain_edge();
    QVERIFY(readable_now(n->as_raw_fd()));
    auto wrote = n->notify();
    QVERIFY_OK(wrote);
    QVERIFY(*wrote);
    wrote = n->notify();
    QVERIFY_OK(wrote);
    QVERIFY(!*wrote);  // coalesced until the next drain, as with begin_drain
    QCOMPARE(n->writes(), std::uint64_t{2});
    std::uint64_t counter = 0;
    QCOMPARE(::read(n->as_raw_fd(), &counter, sizeof counter), static_cast<ssize_t>(sizeof counter));
    QCOMPARE(counter, std::uint64_t{2});
  }

  // The edge-triggered consumer: waits in a ready::Poll (EPOLLET) on the eventfd and calls
  // begin_drain_edge, which never reads it. As in consumer_never_misses_a_wakeup, every
  // record must arrive; a lost wake-up shows as a 5-second poll timeout. At the end the
  // counter holds exactly the writes (nothing read it), at most one per drain plus one.
  void edge_consumer_never_misses_a_wakeup() {
    constexpr int kBatches = 3000;
    RecordRing ring(1 << 18);  // larger than everything pushed: no drops
    auto n = Notifier::create();
    QVERIFY_OK(n);
    Notifier& notifier = *n;
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    SourceFd source{notifier.as_raw_fd()};
    QVERIFY_OK(poll->registry().add(source, Token(7), Interest::READABLE));
    std::mt19937 rng(54321);
    std::vector<int> sizes(kBatches), pauses_us(kBatches);
    std::uint64_t total = 0;
    for (int i = 0; i < kBatches; ++i) {
      sizes[i] = 1 + static_cast<int>(rng() % 40);
      pauses_us[i] = static_cast<int>(rng() % 4 == 0 ? rng() % 300 : 0);
      total += static_cast<std::uint64_t>(sizes[i]);
    }
    std::atomic<std::uint64_t> timeouts{0}, errors{0}, out_of_order{0}, drains{0};
    std::thread consumer([&] {
      Events events(4);
      std::array<Record, 64> out{};
      std::uint64_t got = 0;
      while (got < total) {
        auto r = poll->poll(events, std::chrono::seconds(5));
        if (!r) {
          if (r.error() == std::errc::interrupted) continue;
          errors.fetch_add(1);
          return;
        }
        if (*r == 0) {
          timeouts.fetch_add(1);
          return;
        }
        drains.fetch_add(1, std::memory_order_relaxed);
        notifier.begin_drain_edge();
        for (std::size_t k; (k = ring.pop(out)) > 0;) {
          for (std::size_t i = 0; i < k; ++i)
            if (out[i].value != got + i) out_of_order.fetch_add(1);
          got += k;
        }
      }
    });
    std::uint64_t seq = 0;
    for (int b = 0; b < kBatches; ++b) {
      for (int i = 0; i < sizes[b]; ++i)
        if (!ring.try_push(numbered(seq++))) errors.fetch_add(1);  // no QVERIFY: the thread must be joined
      if (!notifier.notify()) errors.fetch_add(1);
      if (pauses_us[b] > 0) std::this_thread::sleep_for(std::chrono::microseconds(pauses_us[b]));
    }
    consumer.join();
    QCOMPARE(timeouts.load(), std::uint64_t{0});
    QCOMPARE(errors.load(), std::uint64_t{0});
    QCOMPARE(out_of_order.load(), std::uint64_t{0});
    QCOMPARE(ring.delivered(), total);
    QCOMPARE(ring.dropped(), std::uint64_t{0});
    QVERIFY(notifier.writes() <= drains.load() + 1);
    std::uint64_t counter = 0;
    QCOMPARE(::read(notifier.as_raw_fd(), &counter, sizeof counter), static_cast<ssize_t>(sizeof counter));
    QCOMPARE(counter, notifier.writes());
    QVERIFY_OK(poll->registry().remove(source));
    qInfo("%d notifies, %llu writes, %llu drains", kBatches,
          static_cast<unsigned long long>(notifier.writes()), static_cast<unsigned long long>(drains.load()));
  }
};

QTEST_GUILESS_MAIN(TestRecordRing)
#include "tst_record_ring.moc"
