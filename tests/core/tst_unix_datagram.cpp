// mio tests/unix_datagram.rs, plus Linux abstract-namespace datagram sockets.
//
// mio's `_from_std` variants adopt a socket made with plain syscalls (what Rust's std
// does: blocking, close-on-exec; peer.h's plain_datagram), made non-blocking with fcntl,
// through `from_fd`.
// Every socket file a test binds is removed (unlink) when the test leaves, also after a
// failed check.
#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "peer.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::net;
using namespace ready::test;

namespace {

constexpr std::string_view DATA1 = "Hello same host!";
constexpr std::string_view DATA2 = "Why hello mio!";
constexpr std::size_t DEFAULT_BUF_SIZE = 64;
constexpr Token TOKEN_1{0};
constexpr Token TOKEN_2{1};

using Buf = std::array<std::byte, DEFAULT_BUF_SIZE>;

}  // namespace

// mio's expect_read!(recv_from(...), data, path: p): the datagram and its sender's path.
#define EXPECT_READ_FROM_PATH(call, buf, data, path)                     \
  do {                                                                   \
    const auto& rd_ = (call);                                            \
    QVERIFY_OK(rd_);                                                     \
    QCOMPARE(qbytes(std::span(buf).first(rd_->n)), qbytes(data));        \
    QVERIFY2(rd_->from.as_pathname().has_value(), "sender has no path"); \
    QCOMPARE(qs(*rd_->from.as_pathname()), qs(path));                    \
  } while (false)

class TestUnixDatagram : public CoreTest {
  Q_OBJECT

  // The exchange of smoke_test_connected and unix_datagram_pair between two connected
  // sockets: registered READABLE|WRITABLE as TOKEN_1 and TOKEN_2 both are writable and
  // nothing can be received; each sends to the other and becomes readable, and receives
  // exactly what the other sent; no error is pending.
  static void exchange_connected(Poll& poll, Events& events, UnixDatagram& datagram1,
                                 UnixDatagram& datagram2) {
    QVERIFY_OK(poll.registry().add(datagram1, TOKEN_1, Interest::READABLE | Interest::WRITABLE));
    QVERIFY_OK(poll.registry().add(datagram2, TOKEN_2, Interest::READABLE | Interest::WRITABLE));
    EXPECT_EVENTS(poll, events, {TOKEN_1, Interest::WRITABLE}, {TOKEN_2, Interest::WRITABLE});

    Buf buf{};
    ASSERT_WOULD_BLOCK(datagram1.recv(buf));
    ASSERT_WOULD_BLOCK(datagram2.recv(buf));

    CHECKED_WRITE(datagram1.send(bytes(DATA1)), DATA1.size());
    CHECKED_WRITE(datagram2.send(bytes(DATA2)), DATA2.size());
    EXPECT_EVENTS(poll, events, {TOKEN_1, Interest::READABLE}, {TOKEN_2, Interest::READABLE});

    EXPECT_READ(datagram1.recv(buf), buf, DATA2);
    EXPECT_READ(datagram2.recv(buf), buf, DATA1);

    ASSERT_NO_SOCKET_ERROR(datagram1);
    ASSERT_NO_SOCKET_ERROR(datagram2);
  }

  // How a smoke test's sockets are made: with UnixDatagram::bind, or (mio's `_from_std`
  // variants) with plain syscalls as Rust's std does (blocking, close-on-exec), connected
  // there if need be, and adopted with from_fd once non-blocking.
  enum class Made { by_bind, from_std };

  // Two sockets bound to fresh paths named after `name`, made as `made` says, each
  // connected to the other when `connected`: they are non-blocking and close-on-exec, and
  // pass smoke_test_connected or smoke_test_unconnected.
  static void smoke_test(std::string_view name, Made made, bool connected) {
    const Unlink path1{temp_path(std::string(name) + "1")};
    const Unlink path2{temp_path(std::string(name) + "2")};
    std::optional<UnixDatagram> datagram1, datagram2;
    if (made == Made::from_std) {
      auto fd1 = plain_datagram(path1.path);
      QVERIFY_OK(fd1);
      auto fd2 = plain_datagram(path2.path);
      QVERIFY_OK(fd2);
      if (connected) {
        QVERIFY_OK(connect_fd(fd1->get(), path2.path));
        QVERIFY_OK(connect_fd(fd2->get(), path1.path));
      }
      QVERIFY_OK(make_nonblocking(fd1->get()));
      QVERIFY_OK(make_nonblocking(fd2->get()));
      datagram1.emplace(UnixDatagram::from_fd(std::move(*fd1)));
      datagram2.emplace(UnixDatagram::from_fd(std::move(*fd2)));
    } else {
      auto bound1 = UnixDatagram::bind(path1.path);
      QVERIFY_OK(bound1);
      auto bound2 = UnixDatagram::bind(path2.path);
      QVERIFY_OK(bound2);
      if (connected) {
        QVERIFY_OK(bound1->connect(path2.path));
        QVERIFY_OK(bound2->connect(path1.path));
      }
      datagram1.emplace(std::move(*bound1));
      datagram2.emplace(std::move(*bound2));
    }
    for (const auto* datagram : {&datagram1, &datagram2}) {
      QVERIFY(is_non_blocking((*datagram)->as_raw_fd()));
      QVERIFY(is_close_on_exec((*datagram)->as_raw_fd()));
    }

    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    if (connected)
      CHECKED_CALL(smoke_test_connected(*poll, events, *datagram1, *datagram2));
    else
      CHECKED_CALL(smoke_test_unconnected(*poll, events, *datagram1, *datagram2));
  }

  // mio: unix_datagram.rs::smoke_test_unconnected
  static void smoke_test_unconnected(Poll& poll, Events& events, UnixDatagram& datagram1,
                                     UnixDatagram& datagram2) {
    const auto addr1 = datagram1.local_addr();
    QVERIFY_OK(addr1);
    const auto addr2 = datagram2.local_addr();
    QVERIFY_OK(addr2);
    const auto path1 = addr1->as_pathname();
    QVERIFY2(path1, "failed to get pathname");
    const auto path2 = addr2->as_pathname();
    QVERIFY2(path2, "failed to get pathname");

    QVERIFY_OK(poll.registry().add(datagram1, TOKEN_1, Interest::READABLE | Interest::WRITABLE));
    QVERIFY_OK(poll.registry().add(datagram2, TOKEN_2, Interest::READABLE | Interest::WRITABLE));
    EXPECT_EVENTS(poll, events, {TOKEN_1, Interest::WRITABLE}, {TOKEN_2, Interest::WRITABLE});

    Buf buf{};
    ASSERT_WOULD_BLOCK(datagram1.recv_from(buf));
    ASSERT_WOULD_BLOCK(datagram2.recv_from(buf));

    CHECKED_WRITE(datagram1.send_to(bytes(DATA1), *path2), DATA1.size());
    CHECKED_WRITE(datagram2.send_to(bytes(DATA2), *path1), DATA2.size());
    EXPECT_EVENTS(poll, events, {TOKEN_1, Interest::READABLE}, {TOKEN_2, Interest::READABLE});

    EXPECT_READ_FROM_PATH(datagram1.recv_from(buf), buf, DATA2, *path2);
    EXPECT_READ_FROM_PATH(datagram2.recv_from(buf), buf, DATA1, *path1);

    ASSERT_NO_SOCKET_ERROR(datagram1);
    ASSERT_NO_SOCKET_ERROR(datagram2);
  }

  // mio: unix_datagram.rs::smoke_test_connected
  static void smoke_test_connected(Poll& poll, Events& events, UnixDatagram& datagram1,
                                   UnixDatagram& datagram2) {
    const auto local_addr1 = datagram1.local_addr();
    QVERIFY_OK(local_addr1);
    const auto peer_addr1 = datagram1.peer_addr();
    QVERIFY_OK(peer_addr1);
    const auto local_addr2 = datagram2.local_addr();
    QVERIFY_OK(local_addr2);
    const auto peer_addr2 = datagram2.peer_addr();
    QVERIFY_OK(peer_addr2);
    QVERIFY2(local_addr1->as_pathname() && peer_addr2->as_pathname(), "failed to get pathname");
    QCOMPARE(qs(*local_addr1->as_pathname()), qs(*peer_addr2->as_pathname()));
    QVERIFY2(local_addr2->as_pathname() && peer_addr1->as_pathname(), "failed to get pathname");
    QCOMPARE(qs(*local_addr2->as_pathname()), qs(*peer_addr1->as_pathname()));

    CHECKED_CALL(exchange_connected(poll, events, datagram1, datagram2));
  }

 private slots:
  // mio: unix_datagram.rs::is_send_and_sync [R]: not ported (Rust type check).

  // mio: unix_datagram.rs::unix_datagram_smoke_unconnected
  void unix_datagram_smoke_unconnected() {
    CHECKED_CALL(smoke_test("unix_datagram_smoke_unconnected", Made::by_bind, false));
  }

  // mio: unix_datagram.rs::unix_datagram_smoke_connected
  void unix_datagram_smoke_connected() {
    CHECKED_CALL(smoke_test("unix_datagram_smoke_connected", Made::by_bind, true));
  }

  // mio: unix_datagram.rs::unix_datagram_smoke_unconnected_from_std
  void unix_datagram_smoke_unconnected_from_std() {
    CHECKED_CALL(smoke_test("unix_datagram_smoke_unconnected_from_std", Made::from_std, false));
  }

  // mio: unix_datagram.rs::unix_datagram_smoke_connected_from_std
  void unix_datagram_smoke_connected_from_std() {
    CHECKED_CALL(smoke_test("unix_datagram_smoke_connected_from_std", Made::from_std, true));
  }

  // mio: unix_datagram.rs::unix_datagram_connect. Connecting a socket to its own path
  // succeeds (here also: its peer is then itself).
  void unix_datagram_connect() {
    const Unlink path1{temp_path("unix_datagram_connect1")};
    const Unlink path2{temp_path("unix_datagram_connect2")};
    auto datagram1 = UnixDatagram::bind(path1.path);
    QVERIFY_OK(datagram1);
    const auto datagram1_local = datagram1->local_addr();
    QVERIFY_OK(datagram1_local);
    auto datagram2 = UnixDatagram::bind(path2.path);
    QVERIFY_OK(datagram2);
    const auto datagram2_local = datagram2->local_addr();
    QVERIFY_OK(datagram2_local);

    const auto p1 = datagram1_local->as_pathname();
    QVERIFY2(p1, "failed to get pathname");
    QVERIFY_OK(datagram1->connect(*p1));
    const auto p2 = datagram2_local->as_pathname();
    QVERIFY2(p2, "failed to get pathname");
    QVERIFY_OK(datagram2->connect(*p2));

    const auto peer1 = datagram1->peer_addr();
    QVERIFY_OK(peer1);
    QVERIFY(*peer1 == *datagram1_local);
  }

  // mio: unix_datagram.rs::unix_datagram_pair
  void unix_datagram_pair() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);

    auto pair = UnixDatagram::pair();
    QVERIFY_OK(pair);
    CHECKED_CALL(exchange_connected(*poll, events, pair->first, pair->second));
  }

  // mio: unix_datagram.rs::unix_datagram_shutdown. On Linux shutdown(read) makes the socket
  // poll EPOLLIN|EPOLLRDHUP (read_closed) and shutdown of both directions EPOLLHUP
  // (write_closed); send then fails with EPIPE (BrokenPipe), without SIGPIPE.
  void unix_datagram_shutdown() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    const Unlink path1{temp_path("unix_datagram_shutdown1")};
    const Unlink path2{temp_path("unix_datagram_shutdown2")};

    auto datagram1 = UnixDatagram::bind(path1.path);
    QVERIFY_OK(datagram1);
    auto datagram2 = UnixDatagram::bind(path2.path);
    QVERIFY_OK(datagram2);

    QVERIFY_OK(poll->registry().add(*datagram1, TOKEN_1, Interest::WRITABLE | Interest::READABLE));
    QVERIFY_OK(poll->registry().add(*datagram2, TOKEN_2, Interest::WRITABLE | Interest::READABLE));

    QVERIFY_OK(datagram1->connect(path2.path));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::WRITABLE});

    CHECKED_WRITE(datagram1->send(bytes(DATA1)), DATA1.size());
    EXPECT_EVENTS(*poll, events, {TOKEN_2, Interest::READABLE});

    QVERIFY_OK(datagram1->shutdown(Shutdown::read));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Readiness::READ_CLOSED});

    QVERIFY_OK(datagram1->shutdown(Shutdown::write));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Readiness::WRITE_CLOSED});

    ASSERT_ERROR(datagram1->send(bytes(DATA2)), os_error(EPIPE));

    ASSERT_NO_SOCKET_ERROR(*datagram1);
  }

  // mio: unix_datagram.rs::unix_datagram_register
  void unix_datagram_register() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    const Unlink path{temp_path("unix_datagram_register")};

    auto datagram = UnixDatagram::bind(path.path);
    QVERIFY_OK(datagram);
    QVERIFY_OK(poll->registry().add(*datagram, TOKEN_1, Interest::READABLE));
    EXPECT_NO_EVENTS(*poll, events);
  }

  // mio: unix_datagram.rs::unix_datagram_reregister
  void unix_datagram_reregister() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    const Unlink path1{temp_path("unix_datagram_reregister1")};
    const Unlink path2{temp_path("unix_datagram_reregister2")};

    auto datagram1 = UnixDatagram::bind(path1.path);
    QVERIFY_OK(datagram1);
    QVERIFY_OK(poll->registry().add(*datagram1, TOKEN_1, Interest::READABLE));

    auto datagram2 = UnixDatagram::bind(path2.path);
    QVERIFY_OK(datagram2);
    QVERIFY_OK(datagram2->connect(path1.path));
    QVERIFY_OK(poll->registry().modify(*datagram1, TOKEN_1, Interest::WRITABLE));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::WRITABLE});
  }

  // mio: unix_datagram.rs::unix_datagram_deregister
  void unix_datagram_deregister() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    const Unlink path1{temp_path("unix_datagram_deregister1")};
    const Unlink path2{temp_path("unix_datagram_deregister2")};

    auto datagram1 = UnixDatagram::bind(path1.path);
    QVERIFY_OK(datagram1);
    QVERIFY_OK(poll->registry().add(*datagram1, TOKEN_1, Interest::WRITABLE));

    auto datagram2 = UnixDatagram::bind(path2.path);
    QVERIFY_OK(datagram2);
    QVERIFY_OK(datagram2->connect(path1.path));
    QVERIFY_OK(poll->registry().remove(*datagram1));
    EXPECT_NO_EVENTS(*poll, events);
  }

  // Beyond mio (it has bind_addr but tests the abstract namespace only for listeners):
  // datagram sockets bound to Linux abstract names. The names round-trip through
  // local_addr (no path: nothing is created in the filesystem), a datagram sent to an
  // abstract address arrives with the sender's abstract name, a name in use cannot be
  // bound again (EADDRINUSE), and it is free again once its socket is closed.
  void unix_datagram_abstract_namespace() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    const std::string name1 = unique_abstract_name("udgram1");
    const std::string name2 = unique_abstract_name("udgram2");
    const auto addr1 = UnixAddr::from_abstract_name(name1);
    QVERIFY(addr1);
    const auto addr2 = UnixAddr::from_abstract_name(name2);
    QVERIFY(addr2);

    {
      auto datagram1 = UnixDatagram::bind_addr(*addr1);
      QVERIFY_OK(datagram1);
      auto datagram2 = UnixDatagram::bind_addr(*addr2);
      QVERIFY_OK(datagram2);

      const auto local1 = datagram1->local_addr();
      QVERIFY_OK(local1);
      QVERIFY(!local1->as_pathname());
      QVERIFY(local1->as_abstract_name());
      QCOMPARE(qs(*local1->as_abstract_name()), qs(name1));
      QCOMPARE(qs(local1->to_string()), qs("@" + name1));

      ASSERT_ERROR(UnixDatagram::bind_addr(*addr1), os_error(EADDRINUSE));

      QVERIFY_OK(poll->registry().add(*datagram1, TOKEN_1, Interest::READABLE));
      CHECKED_WRITE(datagram2->send_to_addr(bytes(DATA1), *addr1), DATA1.size());
      EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::READABLE});

      Buf buf{};
      const auto r = datagram1->recv_from(buf);
      QVERIFY_OK(r);
      QCOMPARE(qbytes(std::span(buf).first(r->n)), qbytes(DATA1));
      QVERIFY(r->from.as_abstract_name());
      QCOMPARE(qs(*r->from.as_abstract_name()), qs(name2));
      ASSERT_WOULD_BLOCK(datagram1->recv_from(buf));
    }

    // Closed: the name can be bound again.
    QVERIFY_OK(UnixDatagram::bind_addr(*addr1));
  }
};

QTEST_GUILESS_MAIN(TestUnixDatagram)
#include "tst_unix_datagram.moc"
