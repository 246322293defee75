// mio tests/unix_stream.rs, plus two Linux facts: connecting to a missing path fails with
// ENOENT, and writing to a closed peer fails with EPIPE instead of raising SIGPIPE.
//
// mio's `from_std` variant adopts a stream made with plain syscalls (what Rust's std does:
// blocking, close-on-exec), made non-blocking with fcntl, through `from_fd`. mio's echo
// and no-op listener threads use blocking std sockets; here they are peer.h's plain peers
// (echo_listener, start_listener) in a Worker thread that every test joins. Every socket
// file a test binds is removed (unlink) when the test leaves, also after a failed check.
#include <signal.h>
#include <sys/uio.h>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>

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

class TestUnixStream : public CoreTest {
  Q_OBJECT

  using Connect = std::function<io_result<UnixStream>(const std::string&)>;

  // A stream connected to a plain peer (peer.h) listening on a fresh socket path, with the
  // test's Poll and Events. Members are destroyed in reverse: the stream closes before the
  // peer thread is joined, and the path is removed last.
  struct Connected {
    std::optional<Poll> poll;
    Events events{16};
    Barrier barrier{2};  // shared with a start_listener peer
    std::optional<Unlink> path;
    OwnedFd listener;
    std::unique_ptr<Worker> peer;
    std::optional<UnixStream> stream;
  };

  // Makes c.poll and a plain listener (as Rust's std does) on a fresh path named after
  // `name`, starts `start(listener)` as c.peer, and connects c.stream to the path with
  // `connect` (UnixStream::connect by default; not registered).
  template <class Start>
  static void connect_to_peer(Connected& c, const char* name, Start start,
                              const Connect& connect = UnixStream::connect) {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    c.poll.emplace(std::move(*poll));
    c.path.emplace(temp_path(name));
    auto listener = plain_listener(c.path->path);
    QVERIFY_OK(listener);
    c.listener = std::move(*listener);
    c.peer.reset(new Worker(start(c.listener.get())));  // a Worker cannot move

    auto stream = connect(c.path->path);
    QVERIFY_OK(stream);
    c.stream.emplace(std::move(*stream));
  }

  // connect_to_peer with mio's echo listener (one connection); close_and_join ends it.
  static void connect_to_echo_listener(Connected& c, const char* name,
                                       const Connect& connect = UnixStream::connect) {
    CHECKED_CALL(connect_to_peer(
        c, name, [](int listener) { return echo_listener(listener, 1); }, connect));
  }

  // Closes the stream (the echo peer then sees end-of-file) and joins the peer.
  static void close_and_join(Connected& c) {
    c.stream.reset();
    QVERIFY_JOINED(*c.peer);
  }

  // The start of the shutdown tests: registered READABLE|WRITABLE as TOKEN_1, the stream
  // becomes writable, sends DATA1 and becomes readable with the echo.
  static void send_data1_and_await_echo(Connected& c) {
    QVERIFY_OK(c.poll->registry().add(*c.stream, TOKEN_1, Interest::READABLE | Interest::WRITABLE));
    EXPECT_EVENTS(*c.poll, c.events, {TOKEN_1, Interest::WRITABLE});
    CHECKED_WRITE(c.stream->write(DATA1), DATA1.size());
    EXPECT_EVENTS(*c.poll, c.events, {TOKEN_1, Interest::READABLE});
  }

  // mio: unix_stream.rs::smoke_test. `connect_stream` gets the echo listener's path.
  static void smoke_test(const Connect& connect_stream, const char* test_name) {
    Connected c;
    CHECKED_CALL(connect_to_echo_listener(c, test_name, connect_stream));

    QVERIFY(is_non_blocking(c.stream->as_raw_fd()));
    QVERIFY(is_close_on_exec(c.stream->as_raw_fd()));

    QVERIFY_OK(c.poll->registry().add(*c.stream, TOKEN_1, Interest::WRITABLE | Interest::READABLE));
    EXPECT_EVENTS(*c.poll, c.events, {TOKEN_1, Interest::WRITABLE});

    Buf buf{};
    ASSERT_WOULD_BLOCK(c.stream->read(buf));

    CHECKED_WRITE(c.stream->write(DATA1), DATA1.size());
    EXPECT_EVENTS(*c.poll, c.events, {TOKEN_1, Interest::READABLE});
    EXPECT_READ(c.stream->read(buf), buf, DATA1);

    ASSERT_NO_SOCKET_ERROR(*c.stream);
    ASSERT_WOULD_BLOCK(c.stream->read(buf));

    // Vectored I/O: two buffers out, two buffers in; the trailing byte stays untouched.
    CHECKED_CALL(expect_vectored_echo(*c.poll, c.events, *c.stream, TOKEN_1, DATA1, DATA2));

    CHECKED_CALL(close_and_join(c));  // so the echo thread finishes
  }

  // mio: unix_stream.rs::unix_stream_connect (and the connect_addr variant): writable once
  // connected, readable when the server closes its end (end-of-file).
  static void connect_test(bool by_addr) {
    Connected c;
    CHECKED_CALL(connect_to_peer(
        c, by_addr ? "unix_stream_connect_addr" : "unix_stream_connect",
        [&c](int listener) {
          return start_listener(listener, 1, &c.barrier);
        },  // accepts, closes after the barrier
        [by_addr](const std::string& path) -> io_result<UnixStream> {
          if (!by_addr) return UnixStream::connect(path);
          const auto addr = UnixAddr::from_path(path);
          if (!addr) return std::unexpected(os_error(ENAMETOOLONG));
          return UnixStream::connect_addr(*addr);
        }));

    QVERIFY_OK(c.poll->registry().add(*c.stream, TOKEN_1, Interest::READABLE | Interest::WRITABLE));
    EXPECT_EVENTS(*c.poll, c.events, {TOKEN_1, Interest::WRITABLE});

    QVERIFY(c.barrier.wait());
    EXPECT_EVENTS(*c.poll, c.events, {TOKEN_1, Interest::READABLE});
    Buf buf{};
    EXPECT_READ(c.stream->read(buf), buf, "");  // end-of-file

    QVERIFY_JOINED(*c.peer);
  }

 private slots:
  // mio: unix_stream.rs::unix_stream_send_and_sync [R]: not ported (Rust type check).

  // mio: unix_stream.rs::unix_stream_smoke
  void unix_stream_smoke() {
    CHECKED_CALL(
        smoke_test([](const std::string& path) { return UnixStream::connect(path); }, "unix_stream_smoke"));
  }

  // mio: unix_stream.rs::unix_stream_connect
  void unix_stream_connect() { CHECKED_CALL(connect_test(false)); }

  // mio: unix_stream.rs::unix_stream_connect_addr (connect_addr with a pathname UnixAddr)
  void unix_stream_connect_addr() { CHECKED_CALL(connect_test(true)); }

  // mio: unix_stream.rs::unix_stream_from_std
  void unix_stream_from_std() {
    CHECKED_CALL(smoke_test(
        [](const std::string& path) -> io_result<UnixStream> {
          auto local = plain_connect(path);
          if (!local) return std::unexpected(local.error());
          // Blocking, as std's are: make it non-blocking before adopting it.
          if (auto r = make_nonblocking(local->get()); !r) return std::unexpected(r.error());
          return UnixStream::from_fd(std::move(*local));
        },
        "unix_stream_from_std"));
  }

  // mio: unix_stream.rs::unix_stream_pair
  void unix_stream_pair() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);

    auto pair = UnixStream::pair();
    QVERIFY_OK(pair);
    auto& [s1, s2] = *pair;
    QVERIFY_OK(poll->registry().add(s1, TOKEN_1, Interest::READABLE | Interest::WRITABLE));
    QVERIFY_OK(poll->registry().add(s2, TOKEN_2, Interest::READABLE | Interest::WRITABLE));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::WRITABLE});

    Buf buf{};
    ASSERT_WOULD_BLOCK(s1.read(buf));

    CHECKED_WRITE(s1.write(DATA1), DATA1.size());
    EXPECT_READ(s2.read(buf), buf, DATA1);
    ASSERT_WOULD_BLOCK(s2.read(buf));

    CHECKED_WRITE(s2.write(DATA2), DATA2.size());
    EXPECT_READ(s1.read(buf), buf, DATA2);
    ASSERT_WOULD_BLOCK(s1.read(buf));
    ASSERT_WOULD_BLOCK(s2.read(buf));
  }

  // mio: unix_stream.rs::unix_stream_peer_addr. The peer is the listener's path; the
  // connecting end is unnamed.
  void unix_stream_peer_addr() {
    Connected c;
    CHECKED_CALL(connect_to_echo_listener(c, "unix_stream_peer_addr"));
    const auto peer = c.stream->peer_addr();
    QVERIFY_OK(peer);
    QVERIFY(peer->as_pathname());
    QCOMPARE(qs(*peer->as_pathname()), qs(c.path->path));
    const auto local = c.stream->local_addr();
    QVERIFY_OK(local);
    QVERIFY(!local->as_pathname());

    CHECKED_CALL(close_and_join(c));
  }

  // mio: unix_stream.rs::unix_stream_shutdown_read. mio asserts an empty read only on the
  // BSDs/Apple; on Linux data already queued can still be read after shutdown(read), and
  // then reads give end-of-file. Asserted here.
  void unix_stream_shutdown_read() {
    Connected c;
    CHECKED_CALL(connect_to_echo_listener(c, "unix_stream_shutdown_read"));
    CHECKED_CALL(send_data1_and_await_echo(c));

    QVERIFY_OK(c.stream->shutdown(Shutdown::read));
    EXPECT_EVENTS(*c.poll, c.events, {TOKEN_1, Readiness::READ_CLOSED});

    // Linux: the queued echo is still there, then end-of-file.
    Buf buf{};
    EXPECT_READ(c.stream->read(buf), buf, DATA1);
    EXPECT_READ(c.stream->read(buf), buf, "");

    CHECKED_CALL(close_and_join(c));
  }

  // mio: unix_stream.rs::unix_stream_shutdown_write. WRITE_CLOSED after a local
  // shutdown(write) is asserted by mio only on the BSDs/Apple: on epoll it is not
  // signalled (EPOLLHUP needs both directions shut). A write fails with EPIPE; the echo
  // already sent can still be read.
  void unix_stream_shutdown_write() {
    Connected c;
    CHECKED_CALL(connect_to_echo_listener(c, "unix_stream_shutdown_write"));
    CHECKED_CALL(send_data1_and_await_echo(c));

    QVERIFY_OK(c.stream->shutdown(Shutdown::write));

    ASSERT_ERROR(c.stream->write(DATA2), os_error(EPIPE));

    // Reading is still fine.
    Buf buf{};
    EXPECT_READ(c.stream->read(buf), buf, DATA1);

    CHECKED_CALL(close_and_join(c));
  }

  // mio: unix_stream.rs::unix_stream_shutdown_both. Linux: shutting down both directions
  // makes EPOLLHUP (WRITE_CLOSED); a write then fails with EPIPE.
  void unix_stream_shutdown_both() {
    Connected c;
    CHECKED_CALL(connect_to_echo_listener(c, "unix_stream_shutdown_both"));
    CHECKED_CALL(send_data1_and_await_echo(c));

    QVERIFY_OK(c.stream->shutdown(Shutdown::both));
    EXPECT_EVENTS(*c.poll, c.events, {TOKEN_1, Readiness::WRITE_CLOSED});

    ASSERT_ERROR(c.stream->write(DATA2), os_error(EPIPE));

    CHECKED_CALL(close_and_join(c));
  }

  // mio: unix_stream.rs::unix_stream_shutdown_listener_write. The server's
  // shutdown(write) gives the client READ_CLOSED (EPOLLIN|EPOLLRDHUP).
  void unix_stream_shutdown_listener_write() {
    Connected c;
    CHECKED_CALL(connect_to_peer(c, "unix_stream_shutdown_listener_write", [&c](int listener) {
      return start_listener(listener, 1, &c.barrier, true);  // mio's new_noop_listener
    }));
    QVERIFY_OK(c.poll->registry().add(*c.stream, TOKEN_1, Interest::READABLE | Interest::WRITABLE));
    EXPECT_EVENTS(*c.poll, c.events, {TOKEN_1, Interest::WRITABLE});

    QVERIFY(c.barrier.wait());  // the peer now shuts its writing side
    EXPECT_EVENTS(*c.poll, c.events, {TOKEN_1, Readiness::READ_CLOSED});

    QVERIFY(c.barrier.wait());
    QVERIFY_JOINED(*c.peer);
  }

  // mio: unix_stream.rs::unix_stream_register
  void unix_stream_register() {
    Connected c;
    CHECKED_CALL(connect_to_echo_listener(c, "unix_stream_register"));
    QVERIFY_OK(c.poll->registry().add(*c.stream, TOKEN_1, Interest::READABLE));
    EXPECT_NO_EVENTS(*c.poll, c.events);

    CHECKED_CALL(close_and_join(c));
  }

  // mio: unix_stream.rs::unix_stream_reregister
  void unix_stream_reregister() {
    Connected c;
    CHECKED_CALL(connect_to_echo_listener(c, "unix_stream_reregister"));
    QVERIFY_OK(c.poll->registry().add(*c.stream, TOKEN_1, Interest::READABLE));
    QVERIFY_OK(c.poll->registry().modify(*c.stream, TOKEN_1, Interest::WRITABLE));
    EXPECT_EVENTS(*c.poll, c.events, {TOKEN_1, Interest::WRITABLE});

    CHECKED_CALL(close_and_join(c));
  }

  // mio: unix_stream.rs::unix_stream_deregister
  void unix_stream_deregister() {
    Connected c;
    CHECKED_CALL(connect_to_echo_listener(c, "unix_stream_deregister"));
    QVERIFY_OK(c.poll->registry().add(*c.stream, TOKEN_1, Interest::WRITABLE));
    QVERIFY_OK(c.poll->registry().remove(*c.stream));
    EXPECT_NO_EVENTS(*c.poll, c.events);

    CHECKED_CALL(close_and_join(c));
  }

  // Beyond mio: connecting to a path where nothing is bound fails at once with ENOENT
  // (not would-block or in-progress), and no descriptor is left behind (CoreTest).
  void unix_stream_connect_to_missing_path() {
    const std::string path = temp_path("unix_stream_connect_to_missing_path");
    ASSERT_ERROR(UnixStream::connect(path), os_error(ENOENT));
    const auto addr = UnixAddr::from_path(path);
    QVERIFY(addr);
    ASSERT_ERROR(UnixStream::connect_addr(*addr), os_error(ENOENT));
  }

  // Beyond mio: with SIGPIPE at its default disposition (which kills the process) and
  // unblocked, writing to a stream whose peer is gone fails with EPIPE, for write and
  // write_vectored alike, and no SIGPIPE is raised or left pending: the library sends
  // with MSG_NOSIGNAL. Reaching the checks at all means the process survived.
  void unix_stream_write_to_closed_peer_gives_epipe_not_sigpipe() {
    DefaultSigpipe sigpipe;
    QVERIFY(sigpipe.installed());

    auto pair = UnixStream::pair();
    QVERIFY_OK(pair);
    auto& [s1, s2] = *pair;
    drop(s2);

    ASSERT_ERROR(s1.write(DATA1), os_error(EPIPE));
    const std::array<iovec, 1> out{iov(DATA1)};
    ASSERT_ERROR(s1.write_vectored(out), os_error(EPIPE));

    sigset_t pending;
    sigemptyset(&pending);
    QCOMPARE(::sigpending(&pending), 0);
    QVERIFY(!sigismember(&pending, SIGPIPE));
  }
};

QTEST_GUILESS_MAIN(TestUnixStream)
#include "tst_unix_stream.moc"
