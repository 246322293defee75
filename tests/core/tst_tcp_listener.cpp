// mio tests/tcp_listener.rs, plus listener properties beyond mio's suite.
//
// mio's start_connections (std::net clients in a thread, held open until a barrier) is
// peer.h's start_connections: plain blocking clients in a Worker thread that every test
// joins before it returns.
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <fstream>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "peer.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::net;
using namespace ready::test;
using namespace std::chrono_literals;

namespace {

constexpr Token ID1{0};
constexpr Token ID2{1};

/// TcpListener::bind with its default backlog.
io_result<TcpListener> bind_listener(const SocketAddr& addr) { return TcpListener::bind(addr); }

int int_option(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  return ::getsockopt(fd, level, name, &v, &len) == 0 ? v : -1;
}

}  // namespace

class TestTcpListener : public CoreTest {
  Q_OBJECT

 private slots:
  // mio: tcp_listener::tcp_listener (smoke test with TcpListener::bind on 127.0.0.1).
  void tcp_listener() { CHECKED_CALL(smoke_test_tcp_listener(any_local_address(), bind_listener)); }

  // mio: tcp_listener::tcp_listener_ipv6 (the same smoke test on [::1]).
  void tcp_listener_ipv6() {
    SKIP_WITHOUT_IPV6();
    CHECKED_CALL(smoke_test_tcp_listener(any_local_ipv6_address(), bind_listener));
  }

  // mio: tcp_listener::tcp_listener_std. A listener made with plain syscalls, as
  // std::net::TcpListener::bind does (socket with close-on-exec, SO_REUSEADDR, bind,
  // listen), switched to O_NONBLOCK (mio: set_nonblocking) and adopted with from_fd.
  void tcp_listener_std() {
    CHECKED_CALL(
        smoke_test_tcp_listener(any_local_address(), [](const SocketAddr& addr) -> io_result<TcpListener> {
          auto fd = plain_listener(addr);
          if (!fd) return std::unexpected(fd.error());
          if (auto r = make_nonblocking(fd->get()); !r) return std::unexpected(r.error());
          return TcpListener::from_fd(std::move(*fd));
        }));
  }

  // mio: tcp_listener::set_get_ttl. A TTL of 10 round-trips; no pending error.
  void set_get_ttl() {
    auto listener = TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    constexpr std::uint32_t TTL = 10;
    QVERIFY_OK(listener->set_ttl(TTL));
    auto ttl = listener->ttl();
    QVERIFY_OK(ttl);
    QCOMPARE(*ttl, TTL);
    ASSERT_NO_SOCKET_ERROR(*listener);
  }

  // mio: tcp_listener::get_ttl_without_previous_set. Reading the TTL works without a set;
  // on Linux it is the system default (net.ipv4.ip_default_ttl).
  void get_ttl_without_previous_set() {
    auto listener = TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    auto ttl = listener->ttl();
    QVERIFY_OK(ttl);
    std::uint32_t system_default = 0;
    if (std::ifstream("/proc/sys/net/ipv4/ip_default_ttl") >> system_default) QCOMPARE(*ttl, system_default);
    ASSERT_NO_SOCKET_ERROR(*listener);
  }

  // mio: tcp_listener::raw_fd. as_raw_fd equals the descriptor into_fd gives up; a listener
  // rebuilt with from_fd keeps the descriptor and the local address.
  void raw_fd() {
    auto listener = TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    const auto address = listener->local_addr();
    QVERIFY_OK(address);

    const int raw_fd1 = listener->as_raw_fd();
    OwnedFd owned = listener->into_fd();
    const int raw_fd2 = owned.get();
    QCOMPARE(raw_fd1, raw_fd2);
    QCOMPARE(listener->as_raw_fd(), -1);  // the old object gave it up

    const TcpListener rebuilt = TcpListener::from_fd(std::move(owned));
    QCOMPARE(rebuilt.as_raw_fd(), raw_fd1);
    auto again = rebuilt.local_addr();
    QVERIFY_OK(again);
    QCOMPARE(*again, *address);
  }

  // mio: tcp_listener::registering. A listener without connections gives no events.
  void registering() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto listener = TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    QVERIFY_OK(poll->registry().add(*listener, ID1, Interest::READABLE));
    EXPECT_NO_EVENTS(*poll, events);
  }

  // mio: tcp_listener::reregister. After modify to ID2 the connection's event carries ID2.
  void reregister() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto listener = TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    const auto address = listener->local_addr();
    QVERIFY_OK(address);
    QVERIFY_OK(poll->registry().add(*listener, ID1, Interest::READABLE));
    QVERIFY_OK(poll->registry().modify(*listener, ID2, Interest::READABLE));

    Barrier barrier(2);
    Worker connections = start_connections(*address, 1, barrier);
    EXPECT_EVENTS(*poll, events, ExpectEvent(ID2, Interest::READABLE));

    CHECKED_CALL(check_accept(*listener, *address));
    CHECKED_CALL(expect_no_more_connections(*listener, barrier, connections));
  }

  // mio: tcp_listener::no_events_after_deregister. Removed before the connection arrives:
  // no events, but accept still works, then would block.
  void no_events_after_deregister() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto listener = TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    const auto address = listener->local_addr();
    QVERIFY_OK(address);
    QVERIFY_OK(poll->registry().add(*listener, ID1, Interest::READABLE));

    Barrier barrier(2);
    Worker connections = start_connections(*address, 1, barrier);
    QVERIFY_OK(poll->registry().remove(*listener));
    // The connection is pending (poll(2) sees it), so the witness comes after its wake-up.
    QVERIFY2(wait_readable(listener->as_raw_fd()), "the connection never arrived");
    EXPECT_NO_EVENTS(*poll, events);

    CHECKED_CALL(check_accept(*listener, *address));
    CHECKED_CALL(expect_no_more_connections(*listener, barrier, connections));
  }

  // mio: tcp_listener::tcp_listener_two_streams. Accepting until would-block re-arms the
  // edge: a second connection gives a fresh readable event; then no more events.
  void tcp_listener_two_streams() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto listener = TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    const auto address = listener->local_addr();
    QVERIFY_OK(address);

    Barrier barrier(3);
    Worker connections1 = start_connections(*address, 1, barrier);
    QVERIFY_OK(poll->registry().add(*listener, ID1, Interest::READABLE));
    EXPECT_EVENTS(*poll, events, ExpectEvent(ID1, Interest::READABLE));
    CHECKED_CALL(check_accept(*listener, *address));
    ASSERT_WOULD_BLOCK(listener->accept());

    Worker connections2 = start_connections(*address, 1, barrier);
    EXPECT_EVENTS(*poll, events, ExpectEvent(ID1, Interest::READABLE));
    CHECKED_CALL(check_accept(*listener, *address));
    EXPECT_NO_EVENTS(*poll, events);

    QVERIFY(barrier.wait());
    QVERIFY_JOINED(connections1);
    QVERIFY_JOINED(connections2);
  }

  // Beyond mio: accept on a listener with nothing pending would block, before and after
  // registering (and an idle registered listener reports nothing).
  void accept_would_block_when_nothing_pending() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto listener = TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    ASSERT_WOULD_BLOCK(listener->accept());
    QVERIFY_OK(poll->registry().add(*listener, ID1, Interest::READABLE));
    EXPECT_NO_EVENTS(*poll, events);
    ASSERT_WOULD_BLOCK(listener->accept());
    ASSERT_WOULD_BLOCK(listener->accept());
  }

  // Beyond mio: TcpListener::bind makes a listening socket (SO_ACCEPTCONN) that is
  // non-blocking and close-on-exec from creation, with SO_REUSEADDR as documented; for
  // IPv4 and (when present) IPv6.
  void listener_is_nonblocking_and_cloexec() {
    std::vector<SocketAddr> addrs{any_local_address()};
    if (ipv6_loopback_available()) addrs.push_back(any_local_ipv6_address());
    for (const SocketAddr& addr : addrs) {
      auto listener = TcpListener::bind(addr);
      QVERIFY_OK(listener);
      const int fd = listener->as_raw_fd();
      QVERIFY2(is_non_blocking(fd), addr.to_string().c_str());
      QVERIFY2(is_close_on_exec(fd), addr.to_string().c_str());
      QCOMPARE(int_option(fd, SOL_SOCKET, SO_ACCEPTCONN), 1);
      QCOMPARE(int_option(fd, SOL_SOCKET, SO_REUSEADDR), 1);
      QCOMPARE(int_option(fd, SOL_SOCKET, SO_TYPE), int{SOCK_STREAM});
    }
  }

  // Beyond mio: the stream accept returns (accept4 with SOCK_NONBLOCK|SOCK_CLOEXEC) is
  // non-blocking and close-on-exec, whatever the client's socket is (a plain blocking one).
  void accepted_stream_is_nonblocking_and_cloexec() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto listener = TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    const auto address = listener->local_addr();
    QVERIFY_OK(address);
    QVERIFY_OK(poll->registry().add(*listener, ID1, Interest::READABLE));

    auto client = plain_connect(*address);
    QVERIFY_OK(client);
    QVERIFY(!is_non_blocking(client->get()));  // the peer is blocking; the accepted end is not
    EXPECT_EVENTS(*poll, events, ExpectEvent(ID1, Interest::READABLE));
    auto accepted = listener->accept();
    QVERIFY_OK(accepted);
    QVERIFY(is_non_blocking(accepted->stream.as_raw_fd()));
    QVERIFY(is_close_on_exec(accepted->stream.as_raw_fd()));
    std::array<std::byte, 8> buf{};
    ASSERT_WOULD_BLOCK(accepted->stream.read(buf));
  }

 private:
  // mio's smoke_test_tcp_listener.
  void smoke_test_tcp_listener(
      const SocketAddr& addr, const std::function<io_result<TcpListener>(const SocketAddr&)>& make_listener) {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto listener = make_listener(addr);
    QVERIFY_OK(listener);
    const auto address = listener->local_addr();
    QVERIFY_OK(address);
    QVERIFY(is_non_blocking(listener->as_raw_fd()));
    QVERIFY(is_close_on_exec(listener->as_raw_fd()));
    QVERIFY_OK(poll->registry().add(*listener, ID1, Interest::READABLE));

    Barrier barrier(2);
    Worker connections = start_connections(*address, 1, barrier);
    EXPECT_EVENTS(*poll, events, ExpectEvent(ID1, Interest::READABLE));

    // Expect a single connection.
    auto accepted = listener->accept();
    QVERIFY_OK(accepted);
    QVERIFY(accepted->peer.is_loopback());
    QCOMPARE(accepted->stream.peer_addr().value(), accepted->peer);
    QCOMPARE(accepted->stream.local_addr().value(), *address);

    // The stream is non-blocking.
    std::array<std::byte, 20> buf{};
    ASSERT_WOULD_BLOCK(accepted->stream.read(buf));

    CHECKED_CALL(expect_no_more_connections(*listener, barrier, connections));
  }

  // The end of a single-connection test: no other connection is pending, no error either,
  // and the connecting peer (start_connections) is released and joined.
  void expect_no_more_connections(const TcpListener& listener, Barrier& barrier, Worker& connections) {
    ASSERT_WOULD_BLOCK(listener.accept());
    ASSERT_NO_SOCKET_ERROR(listener);
    QVERIFY(barrier.wait());
    QVERIFY_JOINED(connections);
  }

  // One connection is pending: accept it and check its addresses (a loopback peer whose
  // address the stream reports; the listener's address as its local one).
  void check_accept(const TcpListener& listener, const SocketAddr& address) {
    auto accepted = listener.accept();
    QVERIFY_OK(accepted);
    QVERIFY(accepted->peer.is_loopback());
    auto peer = accepted->stream.peer_addr();
    QVERIFY_OK(peer);
    QCOMPARE(*peer, accepted->peer);
    auto local = accepted->stream.local_addr();
    QVERIFY_OK(local);
    QCOMPARE(*local, address);
  }
};

QTEST_GUILESS_MAIN(TestTcpListener)
#include "tst_tcp_listener.moc"
