// mio tests/unix_listener.rs, plus the sun_path length limit.
//
// mio's `from_std` variant adopts a listener made with plain syscalls (what Rust's std
// does: blocking, close-on-exec; peer.h's plain_listener), made non-blocking with fcntl,
// through `from_fd`. mio's open_connections thread is peer.h's start_connections. Every
// socket file a test binds is removed (unlink) when the test leaves, also after a failed
// check.
#include <algorithm>
#include <array>
#include <filesystem>
#include <optional>
#include <vector>

#include "peer.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::net;
using namespace ready::test;

namespace {

constexpr std::size_t DEFAULT_BUF_SIZE = 64;
constexpr Token TOKEN_1{0};

std::vector<std::string> dir_entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

class TestUnixListener : public CoreTest {
  Q_OBJECT

  // mio: unix_listener.rs::smoke_test
  static void smoke_test(UnixListener listener, const std::string& path) {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);

    QVERIFY(is_non_blocking(listener.as_raw_fd()));
    QVERIFY(is_close_on_exec(listener.as_raw_fd()));

    QVERIFY_OK(poll->registry().add(listener, TOKEN_1, Interest::WRITABLE | Interest::READABLE));
    EXPECT_NO_EVENTS(*poll, events);

    Barrier barrier(2);
    Worker handle = start_connections(path, 1, barrier);
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::READABLE});

    auto accepted = listener.accept();
    QVERIFY_OK(accepted);

    std::array<std::byte, DEFAULT_BUF_SIZE> buf{};
    ASSERT_WOULD_BLOCK(accepted->stream.read(buf));

    ASSERT_WOULD_BLOCK(listener.accept());
    ASSERT_NO_SOCKET_ERROR(listener);

    QVERIFY(barrier.wait());
    QVERIFY_JOINED(handle);
  }

  // A UnixListener bound to a fresh path (removed afterwards), registered with the test's
  // Poll.
  struct Registered {
    std::optional<Poll> poll;
    Events events{16};
    std::optional<Unlink> path;
    std::optional<UnixListener> listener;
  };

  // Makes r.poll, binds r.listener to a fresh path named after `name` and registers it
  // with `interest` as TOKEN_1.
  static void bind_and_register(Registered& r, const char* name, Interest interest) {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    r.poll.emplace(std::move(*poll));
    r.path.emplace(temp_path(name));
    auto listener = UnixListener::bind(r.path->path);
    QVERIFY_OK(listener);
    r.listener.emplace(std::move(*listener));
    QVERIFY_OK(r.poll->registry().add(*r.listener, TOKEN_1, interest));
  }

 private slots:
  // mio: unix_listener.rs::unix_listener_send_and_sync [R]: not ported (Rust type check).

  // mio: unix_listener.rs::unix_listener_smoke
  void unix_listener_smoke() {
    const Unlink path{temp_path("unix_listener_smoke")};
    auto listener = UnixListener::bind(path.path);
    QVERIFY_OK(listener);
    CHECKED_CALL(smoke_test(std::move(*listener), path.path));
  }

  // mio: unix_listener.rs::unix_listener_from_std
  void unix_listener_from_std() {
    const Unlink path{temp_path("unix_listener_from_std")};
    auto listener = plain_listener(path.path);
    QVERIFY_OK(listener);
    // Blocking, as std's are: make it non-blocking before adopting it.
    QVERIFY_OK(make_nonblocking(listener->get()));
    CHECKED_CALL(smoke_test(UnixListener::from_fd(std::move(*listener)), path.path));
  }

  // mio: unix_listener.rs::unix_listener_local_addr. The accepted stream's local address
  // is the listener's path; the connecting peer is unnamed.
  void unix_listener_local_addr() {
    Registered r;
    CHECKED_CALL(bind_and_register(r, "unix_listener_local_addr", Interest::WRITABLE | Interest::READABLE));

    Barrier barrier(2);
    Worker handle = start_connections(r.path->path, 1, barrier);
    EXPECT_EVENTS(*r.poll, r.events, {TOKEN_1, Interest::READABLE});

    auto accepted = r.listener->accept();
    QVERIFY_OK(accepted);
    const auto local = accepted->stream.local_addr();
    QVERIFY_OK(local);
    QVERIFY(local->as_pathname());
    QCOMPARE(qs(*local->as_pathname()), qs(r.path->path));
    QVERIFY(!accepted->peer.as_pathname());
    QVERIFY(accepted->peer.is_unnamed());

    QVERIFY(barrier.wait());
    QVERIFY_JOINED(handle);
  }

  // mio: unix_listener.rs::unix_listener_register
  void unix_listener_register() {
    Registered r;
    CHECKED_CALL(bind_and_register(r, "unix_listener_register", Interest::READABLE));
    EXPECT_NO_EVENTS(*r.poll, r.events);
  }

  // mio: unix_listener.rs::unix_listener_reregister. Registered WRITABLE only, a pending
  // connection gives no event (a listener is never writable); here the connection is
  // known to be pending before the no-events poll.
  void unix_listener_reregister() {
    Registered r;
    CHECKED_CALL(bind_and_register(r, "unix_listener_reregister", Interest::WRITABLE));

    Barrier barrier(2);
    Worker handle = start_connections(r.path->path, 1, barrier);
    QVERIFY(wait_readable(r.listener->as_raw_fd()));
    EXPECT_NO_EVENTS(*r.poll, r.events);

    QVERIFY_OK(r.poll->registry().modify(*r.listener, TOKEN_1, Interest::READABLE));
    EXPECT_EVENTS(*r.poll, r.events, {TOKEN_1, Interest::READABLE});

    QVERIFY(barrier.wait());
    QVERIFY_JOINED(handle);
  }

  // mio: unix_listener.rs::unix_listener_deregister. Here the connection is known to be
  // pending (readiness already queued) before the source is removed.
  void unix_listener_deregister() {
    Registered r;
    CHECKED_CALL(bind_and_register(r, "unix_listener_deregister", Interest::READABLE));

    Barrier barrier(2);
    Worker handle = start_connections(r.path->path, 1, barrier);
    QVERIFY(wait_readable(r.listener->as_raw_fd()));

    QVERIFY_OK(r.poll->registry().remove(*r.listener));
    EXPECT_NO_EVENTS(*r.poll, r.events);

    QVERIFY(barrier.wait());
    QVERIFY_JOINED(handle);
  }

  // mio: unix_listener.rs::unix_listener_abstract_namespace (Linux only). A listener bound
  // to an abstract name: the name round-trips through local_addr (and there is no path), a
  // connect_addr to it makes the listener READABLE, the accepted peer is unnamed and the
  // client's peer is the abstract name. Beyond mio: the name cannot be bound twice.
  void unix_listener_abstract_namespace() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);

    const std::string name = unique_abstract_name("ulistener");
    const auto addr = UnixAddr::from_abstract_name(name);
    QVERIFY(addr);
    auto listener = UnixListener::bind_addr(*addr);
    QVERIFY_OK(listener);

    const auto local = listener->local_addr();
    QVERIFY_OK(local);
    QVERIFY(!local->as_pathname());
    QVERIFY(local->as_abstract_name());
    QCOMPARE(qs(*local->as_abstract_name()), qs(name));
    QVERIFY(*local == *addr);

    ASSERT_ERROR(UnixListener::bind_addr(*addr), os_error(EADDRINUSE));

    QVERIFY_OK(poll->registry().add(*listener, TOKEN_1, Interest::READABLE));
    auto client = UnixStream::connect_addr(*addr);
    QVERIFY_OK(client);
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::READABLE});

    auto accepted = listener->accept();
    QVERIFY_OK(accepted);
    QVERIFY(accepted->peer.is_unnamed());
    const auto client_peer = client->peer_addr();
    QVERIFY_OK(client_peer);
    QVERIFY(client_peer->as_abstract_name());
    QCOMPARE(qs(*client_peer->as_abstract_name()), qs(name));
  }

  // Beyond mio: a path that cannot fit in sun_path (108 bytes with its NUL) is refused with
  // ENAMETOOLONG by bind (listener and datagram) and connect, instead of being cut short;
  // nothing is created in the directory, and no descriptor is leaked (checked by CoreTest).
  void unix_path_too_long_is_an_error() {
    const std::string dir = std::filesystem::path(temp_path("too_long")).parent_path().string();
    QVERIFY(!dir.empty());
    const std::string path = dir + "/" + std::string(200 - dir.size() - 1, 'x');
    QCOMPARE(path.size(), std::size_t{200});
    const auto before = dir_entries(dir);

    ASSERT_ERROR(UnixListener::bind(path), os_error(ENAMETOOLONG));
    ASSERT_ERROR(UnixDatagram::bind(path), os_error(ENAMETOOLONG));
    ASSERT_ERROR(UnixStream::connect(path), os_error(ENAMETOOLONG));

    QVERIFY(!std::filesystem::exists(path));
    QVERIFY(dir_entries(dir) == before);
  }
};

QTEST_GUILESS_MAIN(TestUnixListener)
#include "tst_unix_listener.moc"
