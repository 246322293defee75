// mio tests/poll.rs (plus src/poll.rs's in-crate as_raw_fd test), and the Poll/Registry
// rules mio documents but does not test: timeout rounding, raw epoll_ctl errors of a
// SourceFd, and the ownership check across two Polls.
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <climits>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "peer.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::test;

namespace {

constexpr Token ID1{1};
constexpr Token ID2{2};
constexpr Token ID3{3};

// mio's registry_ops_flow: every registration operation, ending registered with `token`
// and `final_interest`.
io_result<void> registry_ops_flow(const Registry& registry, Source& source, Token token,
                                  Interest init_interest, Interest final_interest) {
  if (auto r = registry.add(source, token, init_interest); !r) return r;
  if (auto r = registry.remove(source); !r) return r;
  if (auto r = registry.add(source, token, init_interest); !r) return r;
  return registry.modify(source, token, final_interest);
}

// mio's TestEventSource: records every call the Registry forwards to it.
class TestEventSource final : public Source {
 public:
  struct Call {
    Token token;
    Interest interest;
    Trigger trigger;
    const Registry* registry;
  };
  std::vector<Call> registrations;
  std::vector<Call> reregistrations;
  std::size_t deregister_count = 0;
  const Registry* deregistered_with = nullptr;

  io_result<void> add(const Registry& r, Token t, Interest i, Trigger m) override {
    registrations.push_back({t, i, m, &r});
    return {};
  }
  io_result<void> modify(const Registry& r, Token t, Interest i, Trigger m) override {
    reregistrations.push_back({t, i, m, &r});
    return {};
  }
  io_result<void> remove(const Registry& r) override {
    ++deregister_count;
    deregistered_with = &r;
    return {};
  }
};

// The errors of ErroneousTestEventSource: a category of the test's own, so "passed back
// unchanged" can be checked on category, value and message.
class TestErrorCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "test"; }
  std::string message(int ev) const override {
    switch (ev) {
      case 1:
        return "register";
      case 2:
        return "reregister";
      case 3:
        return "deregister";
    }
    return "unknown";
  }
};
const TestErrorCategory& test_category() {
  static const TestErrorCategory cat;
  return cat;
}

// mio's ErroneousTestEventSource: every method fails.
class ErroneousTestEventSource final : public Source {
 public:
  io_result<void> add(const Registry&, Token, Interest, Trigger) override {
    return std::unexpected(std::error_code(1, test_category()));
  }
  io_result<void> modify(const Registry&, Token, Interest, Trigger) override {
    return std::unexpected(std::error_code(2, test_category()));
  }
  io_result<void> remove(const Registry&) override {
    return std::unexpected(std::error_code(3, test_category()));
  }
};

}  // namespace

class TestPoll : public CoreTest {
  Q_OBJECT
 private slots:
  // mio: poll.rs::run_once_with_nothing. Polling an empty Poll with a timeout returns Ok
  // (on Linux with no events: nothing is registered).
  void run_once_with_nothing() {
    Events events(16);
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    // The timeout is the behaviour under test (it ends the wait with 0 events): no witness.
    auto n = poll->poll(events, 100ms);
    QVERIFY_OK(n);
    QCOMPARE(*n, std::size_t{0});
    QVERIFY(events.empty());
  }

  // mio: poll.rs::add_then_drop. Destroying a registered listener and then polling is
  // harmless; closing its only descriptor removed it from the epoll set, so its token
  // does not come back.
  void add_then_drop() {
    Events events(16);
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    {
      auto listener = net::TcpListener::bind(any_local_address());
      QVERIFY_OK(listener);
      QVERIFY_OK(poll->registry().add(*listener, Token(1), Interest::READABLE | Interest::WRITABLE));
    }
    EXPECT_NO_EVENTS(*poll, events);  // none at all, so none for Token(1)
  }

  // mio: poll.rs::zero_duration_polls_events. A zero timeout still makes the epoll_wait
  // call and returns ready events. mio sleeps 10 ms once for the connects to finish; here
  // poll(2) (which consumes no edge) waits until every stream is writable, and then a
  // single poll with a zero timeout must return events.
  void zero_duration_polls_events() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto listener = net::TcpListener::bind(any_local_address());  // mio: a std listener
    QVERIFY_OK(listener);
    auto addr = listener->local_addr();
    QVERIFY_OK(addr);

    std::vector<net::TcpStream> streams;
    for (std::size_t n = 0; n < 3; ++n) {
      auto stream = net::TcpStream::connect(*addr);
      QVERIFY_OK(stream);
      QVERIFY_OK(poll->registry().add(*stream, Token(n), Interest::WRITABLE));
      streams.push_back(std::move(*stream));
    }

    for (const auto& s : streams) QVERIFY2(wait_writable(s.as_raw_fd()), "a connect never completed");
    auto n = poll->poll(events, 0ns);
    QVERIFY_OK(n);
    QVERIFY2(!events.empty(), "a poll with a zero timeout returned none of the writable events");
    // streams and listener live until here.
  }

  // mio: poll.rs::poll_closes_fd. 2000 Polls created, polled (0 ms) and destroyed leave
  // the process's descriptor count unchanged.
  void poll_closes_fd() {
    const auto before = open_fd_count();
    for (int i = 0; i < 2000; ++i) {
      auto poll = Poll::create();
      QVERIFY_OK(poll);
      Events events(4);
      QVERIFY_OK(poll->poll(events, 0ms));
    }
    QCOMPARE(open_fd_count(), before);
  }

  // mio: poll.rs::readiness_is_reregistered_after_would_block. The edge-trigger contract:
  // after reading until would-block no further event comes for data already read, and
  // new data makes a new READABLE edge.
  void readiness_is_reregistered_after_would_block() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto listener = net::TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    auto addr = listener->local_addr();
    QVERIFY_OK(addr);
    QVERIFY_OK(poll->registry().add(*listener, ID1, Interest::READABLE));

    auto client = net::TcpStream::connect(*addr);
    QVERIFY_OK(client);
    QVERIFY_OK(poll->registry().add(*client, ID2, Interest::READABLE));

    EXPECT_EVENTS(*poll, events, ExpectEvent(ID1, Interest::READABLE));
    auto server = listener->accept();
    QVERIFY_OK(server);

    QVERIFY_OK(server->stream.write("hello"));
    EXPECT_EVENTS(*poll, events, ExpectEvent(ID2, Interest::READABLE));

    std::array<std::byte, 16> buf{};
    auto n = client->read(buf);
    QVERIFY_OK(n);
    QCOMPARE(str(std::span(buf).first(*n)), std::string("hello"));
    ASSERT_WOULD_BLOCK(client->read(buf));

    // Drained: no new edge until new data arrives.
    EXPECT_NO_EVENTS(*poll, events);

    QVERIFY_OK(server->stream.write("hello"));
    EXPECT_EVENTS(*poll, events, ExpectEvent(ID2, Interest::READABLE));
    n = client->read(buf);
    QVERIFY_OK(n);
    QCOMPARE(str(std::span(buf).first(*n)), std::string("hello"));
    ASSERT_WOULD_BLOCK(client->read(buf));
  }

  // mio: poll.rs::drop_cancels_interest_and_shuts_down. After an event and a would-block
  // read, destroying the registered stream closes it: the peer's blocking read (time-
  // limited) returns end-of-file. (mio also accepts UnexpectedEof; Linux gives 0 bytes.)
  void drop_cancels_interest_and_shuts_down() {
    auto listener = net::TcpListener::bind(any_local_address());  // mio: a std listener
    QVERIFY_OK(listener);
    auto addr = listener->local_addr();
    QVERIFY_OK(addr);
    QVERIFY_OK(make_blocking(*listener));
    std::optional<std::size_t> bytes_read;
    Worker server = accept_and_read_once(*listener, bytes_read);

    auto poll = Poll::create();
    QVERIFY_OK(poll);
    auto connected = net::TcpStream::connect(*addr);
    QVERIFY_OK(connected);
    std::optional<net::TcpStream> stream(std::move(*connected));
    QVERIFY_OK(poll->registry().add(*stream, Token(1), Interest::READABLE | Interest::WRITABLE));
    Events events(16);
    QVERIFY2(wait_for_token(*poll, events, Token(1)), "no event for the connecting stream");

    std::array<std::byte, 1024> buf{};
    ASSERT_WOULD_BLOCK(stream->read(buf));

    stream.reset();
    QVERIFY_JOINED(server);
    QVERIFY(bytes_read.has_value());
    QCOMPARE(*bytes_read, std::size_t{0});
  }

  // mio: poll.rs::registry_behind_arc. A cloned Registry (try_clone) shared by two
  // threads: one adds a listener, one a connecting stream, while this thread polls; at
  // least one event arrives within 1 s.
  void registry_behind_arc() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    auto clone = poll->registry().try_clone();
    QVERIFY_OK(clone);
    auto registry = std::make_shared<const Registry>(std::move(*clone));
    Events events(128);

    auto listener = net::TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    auto addr = listener->local_addr();
    QVERIFY_OK(addr);

    Gate release;
    Worker t1(
        [&release, registry, l = std::move(*listener)]() mutable {
          auto r = registry->add(l, Token(0), Interest::READABLE);
          release.wait();
          return r ? std::string() : failure("add", r.error());
        },
        [&release] { release.open(); });
    Worker t2(
        [&release, registry, a = *addr] {
          auto stream = net::TcpStream::connect(a);
          if (!stream) {
            release.wait();
            return failure("connect", stream.error());
          }
          auto r = registry->add(*stream, Token(1), Interest::READABLE | Interest::WRITABLE);
          release.wait();
          return r ? std::string() : failure("add", r.error());
        },
        [&release] { release.open(); });

    auto n = poll->poll(events, 1000ms);
    QVERIFY_OK(n);
    QVERIFY2(*n >= 1, "no event within 1 s");

    release.open();
    QVERIFY_JOINED(t1);
    QVERIFY_JOINED(t2);
  }

  // mio: poll.rs::registry_operations_are_thread_safe. Three threads run add, remove,
  // add, modify on a listener, a UDP socket and a stream through one shared cloned
  // Registry; the final registrations all produce their events.
  void registry_operations_are_thread_safe() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto clone = poll->registry().try_clone();
    QVERIFY_OK(clone);
    auto registry = std::make_shared<const Registry>(std::move(*clone));

    auto listener = net::TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    auto addr = listener->local_addr();
    QVERIFY_OK(addr);

    Gate done1, done2, done3, release;
    std::error_code error1, error2, error3;
    // Each thread keeps its source (and reports its error) until `release`.
    Worker t1(
        [&, registry, l = std::move(*listener)]() mutable {
          if (auto r = registry_ops_flow(*registry, l, ID1, Interest::READABLE, Interest::READABLE); !r)
            error1 = r.error();
          done1.open();
          release.wait();
          return std::string();
        },
        [&release] { release.open(); });
    Worker t2(
        [&, registry] {
          auto udp = net::UdpSocket::bind(any_local_address());
          if (!udp)
            error2 = udp.error();
          else if (auto r = registry_ops_flow(*registry, *udp, ID2, Interest::WRITABLE,
                                              Interest::WRITABLE.add(Interest::READABLE));
                   !r)
            error2 = r.error();
          done2.open();
          release.wait();
          return std::string();
        },
        [&release] { release.open(); });
    Worker t3(
        [&, registry, a = *addr] {
          auto stream = net::TcpStream::connect(a);
          if (!stream)
            error3 = stream.error();
          else if (auto r = registry_ops_flow(*registry, *stream, ID3, Interest::READABLE,
                                              Interest::READABLE | Interest::WRITABLE);
                   !r)
            error3 = r.error();
          done3.open();
          release.wait();
          return std::string();
        },
        [&release] { release.open(); });

    // Wait for the threads to finish their operations before expecting events.
    QVERIFY(done1.wait() && done2.wait() && done3.wait());
    QVERIFY2(!error1, error1.message().c_str());
    QVERIFY2(!error2, error2.message().c_str());
    QVERIFY2(!error3, error3.message().c_str());
    EXPECT_EVENTS(*poll, events, ExpectEvent(ID1, Interest::READABLE), ExpectEvent(ID2, Interest::WRITABLE),
                  ExpectEvent(ID3, Interest::WRITABLE));

    release.open();
    QVERIFY_JOINED(t1);
    QVERIFY_JOINED(t2);
    QVERIFY_JOINED(t3);
  }

  // mio: poll.rs::register_during_poll. A source added by another thread while this one
  // is blocked in a 5 s poll wakes that poll: epoll_ctl during epoll_wait is seen. Exactly
  // one event, for that token, writable.
  void register_during_poll() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto clone = poll->registry().try_clone();
    QVERIFY_OK(clone);

    Gate start, finish;
    Worker t(
        [&start, &finish, registry = std::move(*clone)] {
          auto socket = net::UdpSocket::bind(any_local_address());
          if (!socket) return failure("bind", socket.error());
          start.wait();
          // Give the main thread time to enter its 5 s poll.
          std::this_thread::sleep_for(200ms);
          auto r = registry.add(*socket, ID1, Interest::WRITABLE);
          finish.wait();  // the socket lives until the main thread has seen the event
          return r ? std::string() : failure("add", r.error());
        },
        [&start, &finish] {
          start.open();
          finish.open();
        });

    start.open();
    auto n = poll->poll(events, 5s);
    QVERIFY_OK(n);
    QVERIFY2(*n >= 1, "the blocked poll was not woken by the registration");
    QCOMPARE(*n, std::size_t{1});
    QCOMPARE(events[0].token(), ID1);
    QVERIFY(events[0].is_writable());

    finish.open();
    QVERIFY_JOINED(t);
  }

  // mio: poll.rs::reregister_interest_token_usage. modify fully replaces token and
  // interest: it may reuse the token, change it, and be repeated; the event then comes
  // with the last token and only for the last interest.
  void reregister_interest_token_usage() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto udp = net::UdpSocket::bind(any_local_address());
    QVERIFY_OK(udp);

    QVERIFY_OK(poll->registry().add(*udp, ID1, Interest::READABLE));
    QVERIFY_OK(poll->registry().modify(*udp, ID1, Interest::READABLE));
    QVERIFY_OK(poll->registry().modify(*udp, ID2, Interest::WRITABLE));

    EXPECT_EVENTS(*poll, events, ExpectEvent(ID2, Interest::WRITABLE));
  }

  // mio: poll.rs::double_register_different_token [debug-only in mio]. A second add of
  // the same listener (new token) fails with already_registered, before any epoll_ctl.
  void double_register_different_token() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    auto listener = net::TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);

    QVERIFY_OK(poll->registry().add(*listener, Token(0), Interest::READABLE));
    auto again = poll->registry().add(*listener, Token(1), Interest::READABLE);
    ASSERT_ERROR(again, Errc::already_registered);
    QVERIFY(again.error().message().find("already registered") != std::string::npos);
    QVERIFY(listener->is_registered());
  }

  // mio: poll.rs::poll_ok_after_cancelling_pending_ops. (On Windows a modify cancels a
  // pending AFD poll; on epoll it is one EPOLL_CTL_MOD.) The listener's event comes with
  // the modified token ID2; a stream added later from another thread through a cloned
  // Registry is then seen WRITABLE as ID3.
  void poll_ok_after_cancelling_pending_ops() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto listener = net::TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    auto address = listener->local_addr();
    QVERIFY_OK(address);
    auto clone = poll->registry().try_clone();
    QVERIFY_OK(clone);
    auto registry = std::make_shared<const Registry>(std::move(*clone));

    QVERIFY_OK(registry->add(*listener, ID1, Interest::READABLE));
    QVERIFY_OK(poll->poll(events, 0ms));
    QVERIFY_OK(registry->modify(*listener, ID2, Interest::READABLE));

    Gate go_register, release;
    Worker t(
        [&go_register, &release, registry, a = *address] {
          auto stream = net::TcpStream::connect(a);
          if (!stream) return failure("connect", stream.error());
          if (!go_register.wait()) return std::string();
          auto r = registry->add(*stream, ID3, Interest::WRITABLE);
          release.wait();
          return r ? std::string() : failure("add", r.error());
        },
        [&go_register, &release] {
          go_register.open();
          release.open();
        });

    EXPECT_EVENTS(*poll, events, ExpectEvent(ID2, Interest::READABLE));
    QVERIFY_OK(listener->accept());
    go_register.open();

    EXPECT_EVENTS(*poll, events, ExpectEvent(ID3, Interest::WRITABLE));

    release.open();
    QVERIFY_JOINED(t);
  }

  // mio: poll.rs::reregister_without_register [debug-only in mio]. modify of a source
  // that was never added fails with not_registered (no epoll_ctl is made).
  void reregister_without_register() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    auto listener = net::TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    auto r = poll->registry().modify(*listener, ID1, Interest::READABLE);
    ASSERT_ERROR(r, Errc::not_registered);
    QVERIFY(r.error().message().find("not registered") != std::string::npos);
  }

  // mio: poll.rs::deregister_without_register [debug-only in mio]. remove of a source that
  // was never added fails with not_registered.
  void deregister_without_register() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    auto listener = net::TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    auto r = poll->registry().remove(*listener);
    ASSERT_ERROR(r, Errc::not_registered);
    QVERIFY(r.error().message().find("not registered") != std::string::npos);
  }

  // mio: poll.rs::poll_registration. The Registry forwards add/modify/remove to a user
  // Source exactly once each, with the given registry, token, interest (and trigger, which
  // mio does not have). mio reuses Token(0)/READABLE for reregister; distinct values here
  // show the new ones are passed.
  void poll_registration() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    const Registry& registry = poll->registry();

    TestEventSource source;
    const Token token(0);
    const Interest interest = Interest::READABLE;
    QVERIFY_OK(registry.add(source, token, interest));
    QCOMPARE(source.registrations.size(), std::size_t{1});
    QCOMPARE(source.registrations[0].token, token);
    QVERIFY(source.registrations[0].interest == interest);
    QVERIFY(source.registrations[0].trigger == Trigger::edge);  // the default, as in mio
    QCOMPARE(source.registrations[0].registry, &registry);
    QVERIFY(source.reregistrations.empty());
    QCOMPARE(source.deregister_count, std::size_t{0});

    const Token re_token(7);
    const Interest re_interest = Interest::WRITABLE | Interest::PRIORITY;
    QVERIFY_OK(registry.modify(source, re_token, re_interest, Trigger::level));
    QCOMPARE(source.registrations.size(), std::size_t{1});
    QCOMPARE(source.reregistrations.size(), std::size_t{1});
    QCOMPARE(source.reregistrations[0].token, re_token);
    QVERIFY(source.reregistrations[0].interest == re_interest);
    QVERIFY(source.reregistrations[0].trigger == Trigger::level);
    QCOMPARE(source.reregistrations[0].registry, &registry);
    QCOMPARE(source.deregister_count, std::size_t{0});

    QVERIFY_OK(registry.remove(source));
    QCOMPARE(source.registrations.size(), std::size_t{1});
    QCOMPARE(source.reregistrations.size(), std::size_t{1});
    QCOMPARE(source.deregister_count, std::size_t{1});
    QCOMPARE(source.deregistered_with, &registry);
  }

  // mio: poll.rs::poll_erroneous_registration. A user Source whose methods fail: the
  // Registry passes each error back unchanged (same category, value and message).
  void poll_erroneous_registration() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    const Registry& registry = poll->registry();

    ErroneousTestEventSource source;
    const Token token(0);
    const Interest interest = Interest::READABLE;
    auto r1 = registry.add(source, token, interest);
    ASSERT_ERROR(r1, std::error_code(1, test_category()));
    QCOMPARE(QString::fromStdString(r1.error().message()), QString("register"));
    auto r2 = registry.modify(source, token, interest);
    ASSERT_ERROR(r2, std::error_code(2, test_category()));
    QCOMPARE(QString::fromStdString(r2.error().message()), QString("reregister"));
    auto r3 = registry.remove(source);
    ASSERT_ERROR(r3, std::error_code(3, test_category()));
    QCOMPARE(QString::fromStdString(r3.error().message()), QString("deregister"));
  }

  // mio: src/poll.rs (in-crate test) as_raw_fd. The Poll's descriptor is a valid fd (> 0),
  // shared with its Registry, and close-on-exec (epoll_create1(EPOLL_CLOEXEC)).
  void as_raw_fd() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    QVERIFY(poll->as_raw_fd() > 0);
    QCOMPARE(poll->registry().as_raw_fd(), poll->as_raw_fd());
    QVERIFY(is_close_on_exec(poll->as_raw_fd()));
    // A clone is a different descriptor (F_DUPFD_CLOEXEC) for the same epoll set.
    auto clone = poll->registry().try_clone();
    QVERIFY_OK(clone);
    QVERIFY(clone->as_raw_fd() > 0);
    QVERIFY(clone->as_raw_fd() != poll->as_raw_fd());
    QVERIFY(is_close_on_exec(clone->as_raw_fd()));
    QCOMPARE(clone->poll_id(), poll->registry().poll_id());
  }

  // Not a mio test (mio's Poll::poll docs, PRs #1615 and #1948): the epoll_wait timeout
  // for a poll timeout. No limit is -1; zero stays 0; anything else rounds up to whole
  // milliseconds (so a sub-millisecond timeout waits instead of busy-looping); values
  // beyond INT_MAX ms are clamped.
  void timeout_ms_data() {
    QTest::addColumn<bool>("has_timeout");
    QTest::addColumn<qint64>("nanos");
    QTest::addColumn<int>("expected_ms");

    constexpr qint64 ms = 1'000'000;
    QTest::newRow("nullopt -> -1") << false << qint64{0} << -1;
    QTest::newRow("0 -> 0") << true << qint64{0} << 0;
    QTest::newRow("1ns -> 1") << true << qint64{1} << 1;
    QTest::newRow("100us -> 1") << true << qint64{100'000} << 1;
    QTest::newRow("999us -> 1") << true << qint64{999'000} << 1;
    QTest::newRow("1ms-1ns -> 1") << true << ms - 1 << 1;
    QTest::newRow("1ms -> 1") << true << ms << 1;
    QTest::newRow("1ms+1ns -> 2") << true << ms + 1 << 2;
    QTest::newRow("1.5ms -> 2") << true << ms * 3 / 2 << 2;
    QTest::newRow("100ms -> 100") << true << 100 * ms << 100;
    QTest::newRow("INT_MAX ms -> INT_MAX") << true << qint64{INT_MAX} * ms << INT_MAX;
    QTest::newRow("INT_MAX ms+1ns -> INT_MAX") << true << qint64{INT_MAX} * ms + 1 << INT_MAX;
    QTest::newRow("INT_MAX+1 ms -> INT_MAX") << true << (qint64{INT_MAX} + 1) * ms << INT_MAX;
    QTest::newRow("huge -> INT_MAX") << true << std::numeric_limits<qint64>::max() << INT_MAX;
  }
  void timeout_ms() {
    QFETCH(bool, has_timeout);
    QFETCH(qint64, nanos);
    QFETCH(int, expected_ms);
    const std::optional<std::chrono::nanoseconds> timeout =
        has_timeout ? std::optional(std::chrono::nanoseconds(nanos)) : std::nullopt;
    QCOMPARE(Poll::timeout_ms(timeout), expected_ms);
  }

  // Not a mio test (mio #1614/#1615): a 100 us timeout becomes a 1 ms epoll_wait, so the
  // poll really waits at least 1 ms (the kernel's deadline is absolute, never early). The
  // upper bound is only a sanity check.
  void poll_timeout_rounds_up_to_whole_ms() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(4);
    const auto start = std::chrono::steady_clock::now();
    auto n = poll->poll(events, 100us);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    QVERIFY_OK(n);
    QCOMPARE(*n, std::size_t{0});
    QVERIFY2(elapsed >= 1ms,
             ("waited only " +
              std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()) + " us")
                 .c_str());
    QVERIFY(elapsed < 5s);
  }

  // Not a mio test (mio's error table, "Release build, or SourceFd"): a SourceFd has no
  // ownership bookkeeping, so misuse gets the raw epoll_ctl errno: a second ADD is EEXIST,
  // MOD or DEL of an fd not in the set is ENOENT (system category, not ready::Errc).
  void double_register_same_poll_sourcefd_gets_eexist() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    const Registry& registry = poll->registry();
    auto efd = unix::EventFd::create();
    QVERIFY_OK(efd);
    SourceFd source(efd->as_raw_fd());

    QVERIFY_OK(registry.add(source, ID1, Interest::READABLE));
    auto again = registry.add(source, ID2, Interest::READABLE);
    ASSERT_ERROR(again, os_error(EEXIST));
    QVERIFY(again.error() == std::errc::file_exists);
    QVERIFY(again.error() != Errc::already_registered);

    QVERIFY_OK(registry.modify(source, ID2, Interest::WRITABLE));
    QVERIFY_OK(registry.remove(source));

    auto modify = registry.modify(source, ID1, Interest::READABLE);
    ASSERT_ERROR(modify, os_error(ENOENT));
    QVERIFY(modify.error() == std::errc::no_such_file_or_directory);
    QVERIFY(modify.error() != Errc::not_registered);
    auto remove = registry.remove(source);
    ASSERT_ERROR(remove, os_error(ENOENT));
    QVERIFY(remove.error() == std::errc::no_such_file_or_directory);

    // The eventfd object's own bookkeeping was never involved.
    QVERIFY(!efd->is_registered());
  }

  // Not a mio test (mio's error table, debug build: "reregister with another Poll"): a
  // source registered with poll1 cannot be modified or removed through poll2
  // (registered_with_other_poll) nor added to it (already_registered); the failed calls
  // leave the poll1 registration intact. A clone of poll1's Registry counts as poll1.
  void register_with_other_poll_fails() {
    auto poll1 = Poll::create();
    QVERIFY_OK(poll1);
    auto poll2 = Poll::create();
    QVERIFY_OK(poll2);
    Events events(16);
    auto efd = unix::EventFd::create(1);  // readable from the start
    QVERIFY_OK(efd);

    QVERIFY_OK(poll1->registry().add(*efd, ID1, Interest::READABLE));
    ASSERT_ERROR(poll2->registry().modify(*efd, ID2, Interest::READABLE), Errc::registered_with_other_poll);
    ASSERT_ERROR(poll2->registry().remove(*efd), Errc::registered_with_other_poll);
    ASSERT_ERROR(poll2->registry().add(*efd, ID2, Interest::READABLE), Errc::already_registered);
    QVERIFY(efd->is_registered());

    EXPECT_EVENTS(*poll1, events, ExpectEvent(ID1, Interest::READABLE));
    EXPECT_NO_EVENTS(*poll2, events);

    auto clone = poll1->registry().try_clone();
    QVERIFY_OK(clone);
    QVERIFY_OK(clone->modify(*efd, ID3, Interest::READABLE));  // re-evaluates: still readable
    EXPECT_EVENTS(*poll1, events, ExpectEvent(ID3, Interest::READABLE));
    QVERIFY_OK(clone->remove(*efd));
    QVERIFY(!efd->is_registered());
  }

  // Not a mio test: epoll refuses regular files (they are always ready), so adding one
  // through a SourceFd fails with EPERM.
  void register_regular_file_gets_eperm() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    const std::string path = temp_path("regular");
    OwnedFd file(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    QVERIFY2(file.valid(), last_error().message().c_str());
    ::unlink(path.c_str());

    SourceFd source(file.get());
    auto r = poll->registry().add(source, ID1, Interest::READABLE);
    ASSERT_ERROR(r, os_error(EPERM));
    QVERIFY(r.error() == std::errc::operation_not_permitted);
  }
};

QTEST_GUILESS_MAIN(TestPoll)
#include "tst_poll.moc"
