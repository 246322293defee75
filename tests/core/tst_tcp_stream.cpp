// mio tests/tcp_stream.rs.
//
// mio's echo_listener and start_listener run a blocking std::net listener in a thread;
// here they are the plain peers of peer.h in a Worker thread that every test joins before
// it returns. The listening socket is made on the test's thread, so its address is known
// at once (mio sends it over a channel).
#include <sys/uio.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "peer.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::net;
using namespace ready::test;
using namespace std::chrono_literals;

namespace {

constexpr Token ID1{0};
constexpr Token ID2{1};
constexpr std::string_view DATA1 = "Hello world!";
constexpr std::string_view DATA2 = "Hello mars!";
constexpr std::string_view ZERO_BYTE("\0", 1);

}  // namespace

class TestTcpStream : public CoreTest {
  Q_OBJECT

 private slots:
  // mio: tcp_stream::tcp_stream_ipv4 (smoke test against an echo server, via connect).
  void tcp_stream_ipv4() { CHECKED_CALL(smoke_test_tcp_stream(any_local_address(), TcpStream::connect)); }

  // mio: tcp_stream::tcp_stream_ipv6 (the same on [::1]).
  void tcp_stream_ipv6() {
    SKIP_WITHOUT_IPV6();
    CHECKED_CALL(smoke_test_tcp_stream(any_local_ipv6_address(), TcpStream::connect));
  }

  // mio: tcp_stream::tcp_stream_std. A stream connected with plain syscalls (blocking, as
  // std::net::TcpStream::connect), switched to O_NONBLOCK and adopted with from_fd.
  void tcp_stream_std() {
    CHECKED_CALL(
        smoke_test_tcp_stream(any_local_address(), [](const SocketAddr& addr) -> io_result<TcpStream> {
          auto fd = plain_connect(addr);
          if (!fd) return std::unexpected(fd.error());
          if (auto r = make_nonblocking(fd->get()); !r) return std::unexpected(r.error());
          return TcpStream::from_fd(std::move(*fd));
        }));
  }

  // mio: tcp_stream::set_get_ttl. Once connected (writable), a TTL of 10 round-trips.
  void set_get_ttl() {
    CHECKED_CALL(with_connected_stream([](const TcpStream& stream) {
      constexpr std::uint32_t TTL = 10;
      QVERIFY_OK(stream.set_ttl(TTL));
      auto ttl = stream.ttl();
      QVERIFY_OK(ttl);
      QCOMPARE(*ttl, TTL);
    }));
  }

  // mio: tcp_stream::get_ttl_without_previous_set.
  void get_ttl_without_previous_set() {
    CHECKED_CALL(with_connected_stream([](const TcpStream& stream) { QVERIFY_OK(stream.ttl()); }));
  }

  // mio: tcp_stream::set_get_nodelay. TCP_NODELAY on round-trips.
  void set_get_nodelay() {
    CHECKED_CALL(with_connected_stream([](const TcpStream& stream) {
      QVERIFY_OK(stream.set_nodelay(true));
      auto nodelay = stream.nodelay();
      QVERIFY_OK(nodelay);
      QCOMPARE(*nodelay, true);
    }));
  }

  // mio: tcp_stream::get_nodelay_without_previous_set.
  void get_nodelay_without_previous_set() {
    CHECKED_CALL(with_connected_stream([](const TcpStream& stream) { QVERIFY_OK(stream.nodelay()); }));
  }

  // mio: tcp_stream::shutdown_read. shutdown(read) succeeds after the echo arrived. mio
  // asserts an empty read only on the BSDs/Apple; Linux still hands out the data already
  // queued (the echo) and only then reports end-of-stream, which is asserted here.
  void shutdown_read() {
    Connected c;
    CHECKED_CALL(connect_to_echo_listener(c));
    QVERIFY_OK(c.poll->registry().add(*c.stream, ID1, Interest::WRITABLE.add(Interest::READABLE)));
    EXPECT_EVENTS(*c.poll, c.events, ExpectEvent(ID1, Interest::WRITABLE));
    CHECKED_WRITE(c.stream->write(DATA2), DATA2.size());
    EXPECT_EVENTS(*c.poll, c.events, ExpectEvent(ID1, Interest::READABLE));

    QVERIFY_OK(c.stream->shutdown(Shutdown::read));
    std::array<std::byte, 20> buf{};
    EXPECT_READ(c.stream->read(buf), buf, DATA2);  // Linux: queued data is still readable
    EXPECT_READ(c.stream->read(buf), buf, "");     // then end-of-stream

    CHECKED_CALL(close_and_join(c));  // close, so the echo thread ends
  }

  // mio: tcp_stream::shutdown_write (#[ignore]d in mio as flaky: "doesn't always receive an
  // event after shutting down the write side"). Deterministic on Linux: the write after
  // shutdown(write) fails with EPIPE at once (no SIGPIPE: MSG_NOSIGNAL); the echo of what
  // was written before still arrives, with a readable event (EXPECT_EVENTS waits up to
  // 1.5 s for it), followed by the echo server's end-of-stream.
  void shutdown_write() {
    Connected c;
    CHECKED_CALL(connect_to_echo_listener(c));
    QVERIFY_OK(c.poll->registry().add(*c.stream, ID1, Interest::WRITABLE.add(Interest::READABLE)));
    EXPECT_EVENTS(*c.poll, c.events, ExpectEvent(ID1, Interest::WRITABLE));
    CHECKED_WRITE(c.stream->write(DATA1), DATA1.size());

    QVERIFY_OK(c.stream->shutdown(Shutdown::write));
    ASSERT_ERROR(c.stream->write(DATA2), os_error(EPIPE));

    EXPECT_EVENTS(*c.poll, c.events, ExpectEvent(ID1, Interest::READABLE));
    std::array<std::byte, 20> buf{};
    EXPECT_READ(c.stream->read(buf), buf, DATA1);

    // The echo server saw our end-of-stream and closed: the read side ends too.
    QVERIFY_JOINED(*c.peer);
    for (Deadline d;; std::this_thread::sleep_for(1ms)) {
      QVERIFY2(!d.expired(), "no end-of-stream after the echo server closed");
      auto r = c.stream->read(buf);
      if (is_would_block(r)) continue;
      EXPECT_READ(std::move(r), buf, "");
      break;
    }
  }

  // mio: tcp_stream::shutdown_both. After shutdown(both) a write fails with EPIPE (mio's
  // BrokenPipe). mio asserts an empty read only on the BSDs/Apple.
  void shutdown_both() {
    Connected c;
    CHECKED_CALL(connect_to_echo_listener(c));
    QVERIFY_OK(c.poll->registry().add(*c.stream, ID1, Interest::WRITABLE.add(Interest::READABLE)));
    EXPECT_EVENTS(*c.poll, c.events, ExpectEvent(ID1, Interest::WRITABLE));
    CHECKED_WRITE(c.stream->write(DATA1), DATA1.size());
    EXPECT_EVENTS(*c.poll, c.events, ExpectEvent(ID1, Interest::READABLE));

    QVERIFY_OK(c.stream->shutdown(Shutdown::both));
    ASSERT_ERROR(c.stream->write(DATA2), os_error(EPIPE));

    CHECKED_CALL(close_and_join(c));
  }

  // mio: tcp_stream::raw_fd. as_raw_fd equals the descriptor into_fd gives up; a stream
  // rebuilt with from_fd keeps the descriptor and the local address.
  void raw_fd() {
    auto listener = plain_listener(any_local_address());
    QVERIFY_OK(listener);
    Worker peer = start_listener(listener->get(), 1);

    auto stream = TcpStream::connect(local_address(listener->get()));
    QVERIFY_OK(stream);
    const auto address = stream->local_addr();
    QVERIFY_OK(address);

    const int raw_fd1 = stream->as_raw_fd();
    OwnedFd owned = stream->into_fd();
    const int raw_fd2 = owned.get();
    QCOMPARE(raw_fd1, raw_fd2);
    QCOMPARE(stream->as_raw_fd(), -1);  // the old object gave it up

    const TcpStream rebuilt = TcpStream::from_fd(std::move(owned));
    QCOMPARE(rebuilt.as_raw_fd(), raw_fd1);
    auto again = rebuilt.local_addr();
    QVERIFY_OK(again);
    QCOMPARE(*again, *address);
    QVERIFY_JOINED(peer);
  }

  // mio: tcp_stream::registering. A stream registered READABLE with no data: no events.
  void registering() {
    Connected c;
    CHECKED_CALL(connect_to_echo_listener(c));
    QVERIFY_OK(c.poll->registry().add(*c.stream, ID1, Interest::READABLE));
    EXPECT_NO_EVENTS(*c.poll, c.events);

    CHECKED_CALL(close_and_join(c));
  }

  // mio: tcp_stream::reregistering. Registered READABLE as ID1, modified to WRITABLE as
  // ID2: the writable event carries ID2.
  void reregistering() {
    Connected c;
    CHECKED_CALL(connect_to_echo_listener(c));
    QVERIFY_OK(c.poll->registry().add(*c.stream, ID1, Interest::READABLE));
    QVERIFY_OK(c.poll->registry().modify(*c.stream, ID2, Interest::WRITABLE));
    EXPECT_EVENTS(*c.poll, c.events, ExpectEvent(ID2, Interest::WRITABLE));
    QCOMPARE(c.stream->peer_addr().value(), c.address);

    CHECKED_CALL(close_and_join(c));
  }

  // mio: tcp_stream::no_events_after_deregister. Removed right after adding: no events,
  // yet the stream is connected and works (peek/read would block, a write succeeds), and
  // the echo it causes brings no event either.
  void no_events_after_deregister() {
    Connected c;
    CHECKED_CALL(connect_to_echo_listener(c));
    QVERIFY_OK(c.poll->registry().add(*c.stream, ID1, Interest::WRITABLE.add(Interest::READABLE)));
    QVERIFY_OK(c.poll->registry().remove(*c.stream));
    EXPECT_NO_EVENTS(*c.poll, c.events);

    QCOMPARE(c.stream->peer_addr().value(), c.address);
    std::array<std::byte, 16> buf{};
    ASSERT_WOULD_BLOCK(c.stream->peek(buf));
    ASSERT_WOULD_BLOCK(c.stream->read(buf));
    CHECKED_WRITE(c.stream->write(DATA1), DATA1.size());
    // The echo is back (poll(2) sees it), so the witness comes after its wake-up.
    QVERIFY2(wait_readable(c.stream->as_raw_fd()), "the echo never came back");
    EXPECT_NO_EVENTS(*c.poll, c.events);

    CHECKED_CALL(close_and_join(c));
  }

  // mio: tcp_stream::tcp_shutdown_client_read_close_event. A local shutdown(read) gives
  // read_closed (EPOLLIN|EPOLLRDHUP).
  void tcp_shutdown_client_read_close_event() {
    CHECKED_CALL(expect_local_shutdown_event(Shutdown::read, Readiness::READ_CLOSED));
  }

  // mio: tcp_stream::tcp_shutdown_client_write_close_event, #[ignore]d by mio on Linux
  // ("client write_closed events are not found"), ported as what Linux does. A local
  // shutdown(write) wakes the registration (the socket stays writable: a write would fail
  // at once) but sets no EPOLLHUP: epoll reports HUP only once both directions are shut
  // (or the connection is gone), and write_closed is essentially that HUP. So the events
  // after the shutdown are writable and none has write_closed.
  void tcp_shutdown_client_write_no_close_event_on_linux() {
    Connected c;
    CHECKED_CALL(connect_to_start_listener(c, Interest::READABLE | Interest::WRITABLE));
    QVERIFY_OK(c.stream->shutdown(Shutdown::write));

    // Every event up to the writable one, and every event by a witness made ready after it,
    // is ID1's and has neither write_closed nor EPOLLHUP.
    bool writable = false;
    std::string bad;
    const auto check = [&](const Event& e) {
      if (e.token() != ID1 || e.is_write_closed() || (e.epoll_bits() & EPOLLHUP))
        bad += " {" + e.to_string() + "}";
      writable = writable || e.is_writable();
    };
    for (Deadline d; !writable && !d.expired();) {
      QVERIFY_OK(c.poll->poll(c.events, 500ms));
      for (const Event& e : c.events) check(e);
    }
    QVERIFY2(writable, "no event after the local shutdown(write)");
    const std::string error = poll_until_witness(*c.poll, c.events, check);
    QVERIFY2(bad.empty(), ("unexpected events:" + bad).c_str());
    QVERIFY2(error.empty(), error.c_str());
    CHECKED_CALL(release_and_join(c));
  }

  // mio: tcp_stream::tcp_shutdown_server_write_close_event. The peer's shutdown(write)
  // gives the client read_closed.
  void tcp_shutdown_server_write_close_event() {
    Connected c;
    CHECKED_CALL(connect_to_start_listener(c, Interest::READABLE | Interest::WRITABLE, true));
    QVERIFY(c.barrier.wait());  // the peer now shuts its writing side
    EXPECT_EVENTS(*c.poll, c.events, ExpectEvent(ID1, Readiness::READ_CLOSED));
    CHECKED_CALL(release_and_join(c));
  }

  // mio: tcp_stream::tcp_reset_close_event. The peer closes with our data unread (Linux
  // then sends a reset): the client gets read_closed; polling then quiesces.
  void tcp_reset_close_event() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto listener = plain_listener(any_local_address());
    QVERIFY_OK(listener);
    auto stream = TcpStream::connect(local_address(listener->get()));
    QVERIFY_OK(stream);
    QVERIFY_OK(poll->registry().add(*stream, ID1, Interest::READABLE.add(Interest::WRITABLE)));
    auto server_stream = plain_accept(listener->get());
    QVERIFY_OK(server_stream);

    EXPECT_EVENTS(*poll, events, ExpectEvent(ID1, Interest::WRITABLE));
    CHECKED_WRITE(stream->write(DATA1), DATA1.size());
    std::array<std::byte, 1> one{};
    ASSERT_WOULD_BLOCK(stream->read(one));

    server_stream->reset();  // the server goes away
    EXPECT_EVENTS(*poll, events, ExpectEvent(ID1, Readiness::READ_CLOSED));

    // Quiesce (mio loops with 100 ms polls until one is empty; here until a witness made
    // ready after the last event comes alone, bounded).
    for (int i = 0;; ++i) {
      QVERIFY2(i < 50, "events never stopped");
      std::size_t others = 0;
      const std::string error = poll_until_witness(*poll, events, [&](const Event&) { ++others; });
      QVERIFY2(error.empty(), error.c_str());
      if (others == 0) break;
    }
  }

  // mio: tcp_stream::tcp_shutdown_client_both_close_event. A local shutdown(both) gives
  // write_closed (EPOLLHUP), on Linux too.
  void tcp_shutdown_client_both_close_event() {
    CHECKED_CALL(expect_local_shutdown_event(Shutdown::both, Readiness::WRITE_CLOSED));
  }

  // mio: tcp_stream::hup_event_on_disconnect. The accepted end closes with linger 0 (a
  // reset, no graceful shutdown): the client gets readable.
  void hup_event_on_disconnect() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto listener = TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    QVERIFY_OK(poll->registry().add(*listener, Token(0), Interest::READABLE));
    auto stream = TcpStream::connect(listener->local_addr().value());
    QVERIFY_OK(stream);
    QVERIFY_OK(poll->registry().add(*stream, Token(1), Interest::READABLE | Interest::WRITABLE));
    EXPECT_EVENTS(*poll, events, ExpectEvent(Token(0), Interest::READABLE),
                  ExpectEvent(Token(1), Interest::WRITABLE));

    {
      auto accepted = listener->accept();
      QVERIFY_OK(accepted);
      QVERIFY_OK(accepted->stream.set_linger(0));
    }  // closed: a reset
    EXPECT_EVENTS(*poll, events, ExpectEvent(Token(1), Interest::READABLE));
  }

  // mio: tcp_stream::priority_event_on_oob_data (Linux/Android only). Renamed with a
  // "_linux" suffix: QtTest takes any slot ending in "_data" for a data function and never
  // runs it. Registered READABLE|PRIORITY; the peer sends out-of-band data
  // (TcpStream::send_oob, MSG_OOB): the event has readable and priority (EPOLLPRI, which
  // mio counts as readable too).
  void priority_event_on_oob_data_linux() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto listener = plain_listener(any_local_address());
    QVERIFY_OK(listener);
    auto client = TcpStream::connect(local_address(listener->get()));
    QVERIFY_OK(client);
    QVERIFY_OK(poll->registry().add(*client, Token(0), Interest::READABLE | Interest::PRIORITY));
    auto accepted = plain_accept(listener->get());
    QVERIFY_OK(accepted);
    const TcpStream peer = TcpStream::from_fd(std::move(*accepted));

    CHECKED_WRITE(peer.send_oob(std::byte{'!'}), 1);
    EXPECT_EVENTS(*poll, events, ExpectEvent(Token(0), Readiness(Readiness::READABLE | Readiness::PRIORITY)));
  }

  // mio: tcp_stream::peek_ok. No events while idle; one byte arrives; peek (retried until
  // it succeeds) returns it; the readable event still arrives afterwards: peeking does not
  // use up the edge.
  void peek_ok() {
    CHECKED_CALL(with_registered_pair(
        [](Poll& poll, Events& events, const TcpStream& stream1, const TcpStream& stream2) {
          EXPECT_NO_EVENTS(poll, events);

          CHECKED_WRITE(stream2.write(ZERO_BYTE), 1);
          std::array<std::byte, 16> buf{};
          for (Deadline d;; std::this_thread::sleep_for(1ms)) {  // mio's peek_until_ok
            QVERIFY2(!d.expired(), "peek never succeeded");
            auto peeked = stream1.peek(buf);
            if (is_would_block(peeked)) continue;
            QVERIFY_OK(peeked);
            QCOMPARE(*peeked, std::size_t{1});
            break;
          }
          EXPECT_EVENTS(poll, events, ExpectEvent(ID1, Interest::READABLE));
          CHECKED_WRITE(stream1.read(buf), 1);
        }));
  }

  // mio: tcp_stream::peek_would_block. After readable, a read takes the byte and a peek
  // would block; no events follow. New data brings readable again: a peek that would
  // block leaves the registration armed (mio #1895).
  void peek_would_block() {
    CHECKED_CALL(with_registered_pair(
        [](Poll& poll, Events& events, const TcpStream& stream1, const TcpStream& stream2) {
          CHECKED_WRITE(stream2.write(ZERO_BYTE), 1);
          EXPECT_EVENTS(poll, events, ExpectEvent(ID1, Interest::READABLE));
          std::array<std::byte, 16> buf{};
          CHECKED_WRITE(stream1.read(buf), 1);
          ASSERT_WOULD_BLOCK(stream1.peek(buf));
          EXPECT_NO_EVENTS(poll, events);

          CHECKED_WRITE(stream2.write(ZERO_BYTE), 1);
          EXPECT_EVENTS(poll, events, ExpectEvent(ID1, Interest::READABLE));
          CHECKED_WRITE(stream1.peek(buf), 1);
        }));
  }

  // mio: tcp_stream::read_peek_would_block. read would block; a byte arrives: readable,
  // read it; peek would block; another byte: readable again.
  void read_peek_would_block() {
    CHECKED_CALL(with_registered_pair(
        [](Poll& poll, Events& events, const TcpStream& stream1, const TcpStream& stream2) {
          std::array<std::byte, 16> buf{};
          ASSERT_WOULD_BLOCK(stream1.read(buf));
          CHECKED_WRITE(stream2.write(ZERO_BYTE), 1);
          EXPECT_EVENTS(poll, events, ExpectEvent(ID1, Interest::READABLE));
          CHECKED_WRITE(stream1.read(buf), 1);
          ASSERT_WOULD_BLOCK(stream1.peek(buf));

          CHECKED_WRITE(stream2.write(ZERO_BYTE), 1);
          EXPECT_EVENTS(poll, events, ExpectEvent(ID1, Interest::READABLE));
        }));
  }

 private:
  // A stream connected to a plain peer (peer.h), with the test's Poll and Events. Members
  // are destroyed in reverse: the stream closes before the peer thread is joined.
  struct Connected {
    std::optional<Poll> poll;
    Events events{16};
    Barrier barrier{2};  // shared with a start_listener peer
    OwnedFd listener;
    SocketAddr address;  // the listener's
    std::unique_ptr<Worker> peer;
    std::optional<TcpStream> stream;
  };

  // Makes c.poll and a plain listener on `addr`, starts `start(listener)` as c.peer, and
  // connects c.stream to the listener with `connect` (not registered).
  template <class Start>
  void connect_to_peer(
      Connected& c, Start start, const SocketAddr& addr = any_local_address(),
      const std::function<io_result<TcpStream>(const SocketAddr&)>& connect = TcpStream::connect) {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    c.poll.emplace(std::move(*poll));
    auto listener = plain_listener(addr);
    QVERIFY_OK(listener);
    c.listener = std::move(*listener);
    c.address = local_address(c.listener.get());
    c.peer.reset(new Worker(start(c.listener.get())));  // a Worker cannot move

    auto stream = connect(c.address);
    QVERIFY_OK(stream);
    c.stream.emplace(std::move(*stream));
  }

  // connect_to_peer with mio's echo_listener (one connection); close_and_join ends it.
  void connect_to_echo_listener(
      Connected& c, const SocketAddr& addr = any_local_address(),
      const std::function<io_result<TcpStream>(const SocketAddr&)>& connect = TcpStream::connect) {
    CHECKED_CALL(connect_to_peer(
        c, [](int listener) { return echo_listener(listener, 1); }, addr, connect));
  }

  // connect_to_peer with mio's start_listener (one connection, held until c.barrier is
  // passed; see start_listener for `shutdown_write`), the stream registered as ID1 with
  // `interest` and its writable event seen; release_and_join ends it.
  void connect_to_start_listener(Connected& c, Interest interest = Interest::WRITABLE,
                                 bool shutdown_write = false) {
    CHECKED_CALL(connect_to_peer(
        c, [&](int listener) { return start_listener(listener, 1, &c.barrier, shutdown_write); }));
    // As mio: wait for writable (connected) before using socket options.
    QVERIFY_OK(c.poll->registry().add(*c.stream, ID1, interest));
    EXPECT_EVENTS(*c.poll, c.events, ExpectEvent(ID1, Interest::WRITABLE));
  }

  // Closes the stream (the echo peer then sees end-of-stream) and joins the peer.
  void close_and_join(Connected& c) {
    c.stream.reset();
    QVERIFY_JOINED(*c.peer);
  }

  // Passes the barrier the start_listener peer waits on and joins the peer.
  void release_and_join(Connected& c) {
    QVERIFY(c.barrier.wait());
    QVERIFY_JOINED(*c.peer);
  }

  // tcp_shutdown_client_{read,both}_close_event: after a local shutdown(`how`) of a stream
  // connected to a start_listener peer and registered READABLE|WRITABLE, an event with
  // `expected` arrives.
  void expect_local_shutdown_event(Shutdown how, Readiness expected) {
    Connected c;
    CHECKED_CALL(connect_to_start_listener(c, Interest::READABLE | Interest::WRITABLE));
    QVERIFY_OK(c.stream->shutdown(how));
    EXPECT_EVENTS(*c.poll, c.events, ExpectEvent(ID1, expected));
    CHECKED_CALL(release_and_join(c));
  }

  // mio's peek tests: `body` gets a Poll, its Events and a connected pair of streams, the
  // first registered READABLE as ID1.
  template <class Body>
  void with_registered_pair(Body body) {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto listener = TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    auto pair = connected_pair(*listener);
    QVERIFY_OK(pair);
    auto& [stream1, stream2] = *pair;
    QVERIFY_OK(poll->registry().add(stream1, ID1, Interest::READABLE));
    body(*poll, events, stream1, stream2);
  }

  // mio's set/get socket option tests: `check` runs on a stream connected to a
  // start_listener peer (and seen writable); then no error may be pending.
  template <class Check>
  void with_connected_stream(Check check) {
    Connected c;
    CHECKED_CALL(connect_to_start_listener(c));
    check(*c.stream);
    if (QTest::currentTestFailed()) return;
    ASSERT_NO_SOCKET_ERROR(*c.stream);
    CHECKED_CALL(release_and_join(c));
  }

  // mio's smoke_test_tcp_stream.
  void smoke_test_tcp_stream(const SocketAddr& addr,
                             const std::function<io_result<TcpStream>(const SocketAddr&)>& make_stream) {
    Connected c;
    CHECKED_CALL(connect_to_echo_listener(c, addr, make_stream));
    QVERIFY(is_non_blocking(c.stream->as_raw_fd()));
    QVERIFY(is_close_on_exec(c.stream->as_raw_fd()));
    QVERIFY_OK(c.poll->registry().add(*c.stream, ID1, Interest::WRITABLE.add(Interest::READABLE)));
    EXPECT_EVENTS(*c.poll, c.events, ExpectEvent(ID1, Interest::WRITABLE));

    std::array<std::byte, 16> buf{};
    ASSERT_WOULD_BLOCK(c.stream->peek(buf));
    ASSERT_WOULD_BLOCK(c.stream->read(buf));

    // peer_addr only after the writable event: before it the stream may not be connected.
    QCOMPARE(c.stream->peer_addr().value(), c.address);
    QVERIFY(c.stream->local_addr().value().is_loopback());

    CHECKED_WRITE(c.stream->write(DATA1), DATA1.size());
    EXPECT_EVENTS(*c.poll, c.events, ExpectEvent(ID1, Interest::READABLE));
    EXPECT_READ(c.stream->peek(buf), buf, DATA1);
    EXPECT_READ(c.stream->read(buf), buf, DATA1);
    ASSERT_NO_SOCKET_ERROR(*c.stream);
    ASSERT_WOULD_BLOCK(c.stream->read(buf));

    // Vectored I/O: two buffers out, two buffers in; the trailing byte stays untouched.
    CHECKED_CALL(expect_vectored_echo(*c.poll, c.events, *c.stream, ID1, DATA1, DATA2));

    CHECKED_CALL(close_and_join(c));  // close, so the echo thread ends
  }
};

QTEST_GUILESS_MAIN(TestTcpStream)
#include "tst_tcp_stream.moc"
