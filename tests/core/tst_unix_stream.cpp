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

#include "peer.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::net;
using namespace ready::test;

namespace {

constexpr std::string_view DATA1 = "Hello same host!";
constexpr std::string_view DATA2 = "Why hello mio!";
constexpr std::size_t DATA1_LEN = 16;
constexpr std::size_t DATA2_LEN = 14;
constexpr std::size_t DEFAULT_BUF_SIZE = 64;
constexpr Token TOKEN_1{0};
constexpr Token TOKEN_2{1};

using Buf = std::array<std::byte, DEFAULT_BUF_SIZE>;

}  // namespace

// Binds a plain listener on a fresh path into `path_var` (an Unlink) and `fd_var`.
#define STD_LISTENER(path_var, fd_var, name)     \
  const Unlink path_var{temp_path(name)};        \
  auto fd_var = plain_listener((path_var).path); \
  QVERIFY_OK(fd_var)

class TestUnixStream : public CoreTest {
  Q_OBJECT

  // mio: unix_stream.rs::smoke_test. `connect_stream` gets the echo listener's path.
  static void smoke_test(const std::function<io_result<UnixStream>(const std::string&)>& connect_stream,
                         const char* test_name) {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    STD_LISTENER(path, listener, test_name);
    Worker handle = echo_listener(listener->get(), 1);

    auto stream = connect_stream(path.path);
    QVERIFY_OK(stream);

    QVERIFY(is_non_blocking(stream->as_raw_fd()));
    QVERIFY(is_close_on_exec(stream->as_raw_fd()));

    QVERIFY_OK(poll->registry().add(*stream, TOKEN_1, Interest::WRITABLE | Interest::READABLE));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::WRITABLE});

    Buf buf{};
    ASSERT_WOULD_BLOCK(stream->read(buf));

    CHECKED_WRITE(stream->write(DATA1), DATA1.size());
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::READABLE});
    EXPECT_READ(stream->read(buf), buf, DATA1);

    ASSERT_NO_SOCKET_ERROR(*stream);
    ASSERT_WOULD_BLOCK(stream->read(buf));

    const std::array<iovec, 2> out{
        {{const_cast<char*>(DATA1.data()), DATA1.size()}, {const_cast<char*>(DATA2.data()), DATA2.size()}}};
    const auto wrote = stream->write_vectored(out);
    QVERIFY_OK(wrote);
    QCOMPARE(*wrote, DATA1_LEN + DATA2_LEN);
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::READABLE});

    std::array<char, DATA1_LEN> buf1;
    buf1.fill(1);
    std::array<char, DATA2_LEN + 1> buf2;
    buf2.fill(2);
    const std::array<iovec, 2> in{{{buf1.data(), buf1.size()}, {buf2.data(), buf2.size()}}};
    const auto read = stream->read_vectored(in);
    QVERIFY_OK(read);
    QCOMPARE(*read, DATA1_LEN + DATA2_LEN);
    QCOMPARE(qs(std::string_view(buf1.data(), buf1.size())), qs(DATA1));
    QCOMPARE(qs(std::string_view(buf2.data(), DATA2.size())), qs(DATA2));
    // The last byte is untouched.
    QCOMPARE(buf2[DATA2.size()], char{2});

    // Close the connection so the echo thread finishes.
    drop(*stream);
    QVERIFY_JOINED(handle);
  }

  // mio: unix_stream.rs::unix_stream_connect (and the connect_addr variant): writable once
  // connected, readable when the server closes its end (end-of-file).
  static void connect_test(bool by_addr) {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    STD_LISTENER(path, listener, by_addr ? "unix_stream_connect_addr" : "unix_stream_connect");

    io_result<UnixStream> stream = std::unexpected(std::error_code{});
    if (by_addr) {
      const auto addr = UnixAddr::from_path(path.path);
      QVERIFY(addr);
      stream = UnixStream::connect_addr(*addr);
    } else {
      stream = UnixStream::connect(path.path);
    }
    QVERIFY_OK(stream);

    Barrier barrier(2);
    Worker handle = start_listener(listener->get(), 1, &barrier);  // accepts, closes after the barrier

    QVERIFY_OK(poll->registry().add(*stream, TOKEN_1, Interest::READABLE | Interest::WRITABLE));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::WRITABLE});

    QVERIFY(barrier.wait());
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::READABLE});
    Buf buf{};
    EXPECT_READ(stream->read(buf), buf, "");  // end-of-file

    QVERIFY_JOINED(handle);
  }

 private slots:
  // mio: unix_stream.rs::unix_stream_send_and_sync [R]: not ported (Rust type check).

  // mio: unix_stream.rs::unix_stream_smoke
  void unix_stream_smoke() {
    smoke_test([](const std::string& path) { return UnixStream::connect(path); }, "unix_stream_smoke");
  }

  // mio: unix_stream.rs::unix_stream_connect
  void unix_stream_connect() { connect_test(false); }

  // mio: unix_stream.rs::unix_stream_connect_addr (connect_addr with a pathname UnixAddr)
  void unix_stream_connect_addr() { connect_test(true); }

  // mio: unix_stream.rs::unix_stream_from_std
  void unix_stream_from_std() {
    smoke_test(
        [](const std::string& path) -> io_result<UnixStream> {
          auto local = plain_connect(path);
          if (!local) return std::unexpected(local.error());
          // Blocking, as std's are: make it non-blocking before adopting it.
          if (auto r = make_nonblocking(local->get()); !r) return std::unexpected(r.error());
          return UnixStream::from_fd(std::move(*local));
        },
        "unix_stream_from_std");
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
    STD_LISTENER(path, listener, "unix_stream_peer_addr");
    Worker handle = echo_listener(listener->get(), 1);

    auto stream = UnixStream::connect(path.path);
    QVERIFY_OK(stream);
    const auto peer = stream->peer_addr();
    QVERIFY_OK(peer);
    QVERIFY(peer->as_pathname());
    QCOMPARE(qs(*peer->as_pathname()), qs(path.path));
    const auto local = stream->local_addr();
    QVERIFY_OK(local);
    QVERIFY(!local->as_pathname());

    drop(*stream);
    QVERIFY_JOINED(handle);
  }

  // mio: unix_stream.rs::unix_stream_shutdown_read. mio asserts an empty read only on the
  // BSDs/Apple; on Linux data already queued can still be read after shutdown(read), and
  // then reads give end-of-file. Asserted here.
  void unix_stream_shutdown_read() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    STD_LISTENER(path, listener, "unix_stream_shutdown_read");
    Worker handle = echo_listener(listener->get(), 1);

    auto stream = UnixStream::connect(path.path);
    QVERIFY_OK(stream);
    QVERIFY_OK(poll->registry().add(*stream, TOKEN_1, Interest::READABLE | Interest::WRITABLE));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::WRITABLE});

    CHECKED_WRITE(stream->write(DATA1), DATA1.size());
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::READABLE});

    QVERIFY_OK(stream->shutdown(Shutdown::read));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Readiness::READ_CLOSED});

    // Linux: the queued echo is still there, then end-of-file.
    Buf buf{};
    EXPECT_READ(stream->read(buf), buf, DATA1);
    EXPECT_READ(stream->read(buf), buf, "");

    drop(*stream);
    QVERIFY_JOINED(handle);
  }

  // mio: unix_stream.rs::unix_stream_shutdown_write. WRITE_CLOSED after a local
  // shutdown(write) is asserted by mio only on the BSDs/Apple: on epoll it is not
  // signalled (EPOLLHUP needs both directions shut). A write fails with EPIPE; the echo
  // already sent can still be read.
  void unix_stream_shutdown_write() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    STD_LISTENER(path, listener, "unix_stream_shutdown_write");
    Worker handle = echo_listener(listener->get(), 1);

    auto stream = UnixStream::connect(path.path);
    QVERIFY_OK(stream);
    QVERIFY_OK(poll->registry().add(*stream, TOKEN_1, Interest::WRITABLE | Interest::READABLE));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::WRITABLE});

    CHECKED_WRITE(stream->write(DATA1), DATA1.size());
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::READABLE});

    QVERIFY_OK(stream->shutdown(Shutdown::write));

    ASSERT_ERROR(stream->write(DATA2), os_error(EPIPE));

    // Reading is still fine.
    Buf buf{};
    EXPECT_READ(stream->read(buf), buf, DATA1);

    drop(*stream);
    QVERIFY_JOINED(handle);
  }

  // mio: unix_stream.rs::unix_stream_shutdown_both. Linux: shutting down both directions
  // makes EPOLLHUP (WRITE_CLOSED); a write then fails with EPIPE.
  void unix_stream_shutdown_both() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    STD_LISTENER(path, listener, "unix_stream_shutdown_both");
    Worker handle = echo_listener(listener->get(), 1);

    auto stream = UnixStream::connect(path.path);
    QVERIFY_OK(stream);
    QVERIFY_OK(poll->registry().add(*stream, TOKEN_1, Interest::WRITABLE | Interest::READABLE));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::WRITABLE});

    CHECKED_WRITE(stream->write(DATA1), DATA1.size());
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::READABLE});

    QVERIFY_OK(stream->shutdown(Shutdown::both));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Readiness::WRITE_CLOSED});

    ASSERT_ERROR(stream->write(DATA2), os_error(EPIPE));

    drop(*stream);
    QVERIFY_JOINED(handle);
  }

  // mio: unix_stream.rs::unix_stream_shutdown_listener_write. The server's
  // shutdown(write) gives the client READ_CLOSED (EPOLLIN|EPOLLRDHUP).
  void unix_stream_shutdown_listener_write() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    STD_LISTENER(path, listener, "unix_stream_shutdown_listener_write");
    Barrier barrier(2);
    Worker handle = start_listener(listener->get(), 1, &barrier, true);  // mio's new_noop_listener

    auto stream = UnixStream::connect(path.path);
    QVERIFY_OK(stream);
    QVERIFY_OK(poll->registry().add(*stream, TOKEN_1, Interest::READABLE | Interest::WRITABLE));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::WRITABLE});

    QVERIFY(barrier.wait());  // the peer now shuts its writing side
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Readiness::READ_CLOSED});

    QVERIFY(barrier.wait());
    QVERIFY_JOINED(handle);
  }

  // mio: unix_stream.rs::unix_stream_register
  void unix_stream_register() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    STD_LISTENER(path, listener, "unix_stream_register");
    Worker handle = echo_listener(listener->get(), 1);

    auto stream = UnixStream::connect(path.path);
    QVERIFY_OK(stream);
    QVERIFY_OK(poll->registry().add(*stream, TOKEN_1, Interest::READABLE));
    EXPECT_NO_EVENTS(*poll, events);

    drop(*stream);
    QVERIFY_JOINED(handle);
  }

  // mio: unix_stream.rs::unix_stream_reregister
  void unix_stream_reregister() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    STD_LISTENER(path, listener, "unix_stream_reregister");
    Worker handle = echo_listener(listener->get(), 1);

    auto stream = UnixStream::connect(path.path);
    QVERIFY_OK(stream);
    QVERIFY_OK(poll->registry().add(*stream, TOKEN_1, Interest::READABLE));
    QVERIFY_OK(poll->registry().modify(*stream, TOKEN_1, Interest::WRITABLE));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::WRITABLE});

    drop(*stream);
    QVERIFY_JOINED(handle);
  }

  // mio: unix_stream.rs::unix_stream_deregister
  void unix_stream_deregister() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    STD_LISTENER(path, listener, "unix_stream_deregister");
    Worker handle = echo_listener(listener->get(), 1);

    auto stream = UnixStream::connect(path.path);
    QVERIFY_OK(stream);
    QVERIFY_OK(poll->registry().add(*stream, TOKEN_1, Interest::WRITABLE));
    QVERIFY_OK(poll->registry().remove(*stream));
    EXPECT_NO_EVENTS(*poll, events);

    drop(*stream);
    QVERIFY_JOINED(handle);
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
    const std::array<iovec, 1> out{{{const_cast<char*>(DATA1.data()), DATA1.size()}}};
    ASSERT_ERROR(s1.write_vectored(out), os_error(EPIPE));

    sigset_t pending;
    sigemptyset(&pending);
    QCOMPARE(::sigpending(&pending), 0);
    QVERIFY(!sigismember(&pending, SIGPIPE));
  }
};

QTEST_GUILESS_MAIN(TestUnixStream)
#include "tst_unix_stream.moc"
