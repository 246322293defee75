// mio tests/unix_stream.rs, plus two Linux facts: connecting to a missing path fails with
// ENOENT, and writing to a closed peer fails with EPIPE instead of raising SIGPIPE.
//
// mio's `from_std` variant adopts a stream made with plain syscalls (what Rust's std does:
// blocking, close-on-exec), made non-blocking with fcntl, through `from_fd`. mio's echo
// and no-op listener threads use blocking std sockets; here they are plain syscalls too,
// with every wait bounded so a failed test can always join them. Every socket file a test
// binds is removed (unlink) when the test leaves, also after a failed check.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>

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

QString qs(std::string_view s) { return QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size())); }

// Removes a bound socket's file when the test leaves scope.
struct Unlink {
  std::string path;
  explicit Unlink(std::string p) : path(std::move(p)) {}
  Unlink(const Unlink&) = delete;
  Unlink& operator=(const Unlink&) = delete;
  ~Unlink() { ::unlink(path.c_str()); }
};

sockaddr_un std_unix_addr(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), std::min(path.size(), sizeof a.sun_path - 1));
  return a;
}

// Rust's std::os::unix::net::UnixListener::bind: blocking, close-on-exec, listening.
OwnedFd std_listener_bind(const std::string& path) {
  OwnedFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const sockaddr_un a = std_unix_addr(path);
  if (fd && (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 ||
             ::listen(fd.get(), 128) != 0))
    fd.reset();
  return fd;
}

// Rust's std::os::unix::net::UnixStream::connect: blocking, close-on-exec.
OwnedFd std_stream_connect(const std::string& path) {
  OwnedFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const sockaddr_un a = std_unix_addr(path);
  if (fd && ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) fd.reset();
  return fd;
}

// std's set_nonblocking(true).
bool std_set_nonblocking(int fd) {
  const int fl = ::fcntl(fd, F_GETFL);
  return fl != -1 && ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

// Closes a socket now (mio's `drop(stream)`).
template <class T>
void drop(T& socket) {
  T gone = std::move(socket);
}

// A helper thread of one test (mio's thread::spawn with a std listener). The test hands
// it steps with go() (mio's Barrier waits). Every wait of the thread is bounded (10 s)
// and ends early once the test is leaving, so the destructor can always join it, also
// when a failed check returned early. What goes wrong in the thread is kept for join().
class Helper {
 public:
  explicit Helper(std::function<void(Helper&)> body)
      : thread_([this, body = std::move(body)] { body(*this); }) {}
  ~Helper() {
    {
      std::lock_guard l(m_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  Helper(const Helper&) = delete;
  Helper& operator=(const Helper&) = delete;

  // Test side: allow the thread one more step.
  void go() {
    {
      std::lock_guard l(m_);
      ++steps_;
    }
    cv_.notify_all();
  }
  // Test side: joins and returns what went wrong in the thread ("" when nothing did).
  std::string join() {
    thread_.join();
    std::lock_guard l(m_);
    return error_;
  }

  // Thread side: waits for a go(); false when the test is leaving or 10 s passed.
  bool wait_go() {
    std::unique_lock l(m_);
    if (!cv_.wait_for(l, std::chrono::seconds(10), [&] { return steps_ > 0 || stopping_; }) || steps_ == 0)
      return false;
    --steps_;
    return true;
  }
  // Thread side: waits until `fd` is readable; false when the test is leaving or 10 s passed.
  bool wait_readable(int fd) {
    for (int waited = 0; waited < 10000; waited += 50) {
      {
        std::lock_guard l(m_);
        if (stopping_) return false;
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) == 1) return true;
    }
    return false;
  }
  // Thread side: records the first failure.
  void fail(const std::string& what) {
    std::lock_guard l(m_);
    if (error_.empty()) error_ = what;
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  int steps_ = 0;
  bool stopping_ = false;
  std::string error_;
  std::thread thread_;  // last: starts once the members above exist
};

// mio's new_echo_listener body: for each of `connections` clients, accept and echo what
// it sends until end-of-file (a reset, or EPIPE on the echo, also ends it: Linux resets
// when the client closes with unread data, and refuses the echo once the client has shut
// down reading); what was read must all have been written back.
std::function<void(Helper&)> echo_listener(OwnedFd listener, int connections) {
  auto shared = std::make_shared<OwnedFd>(std::move(listener));
  return [shared, connections](Helper& h) {
    const int lfd = shared->get();
    for (int i = 0; i < connections; ++i) {
      if (!h.wait_readable(lfd)) return h.fail("echo: no connection came");
      OwnedFd stream(::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC));
      if (!stream) return h.fail("echo: accept: " + errno_name(errno));
      std::size_t read = 0, written = 0;
      std::array<char, DEFAULT_BUF_SIZE> buf{};
      for (;;) {
        if (!h.wait_readable(stream.get())) return h.fail("echo: the client neither sent nor closed");
        const ssize_t n = ::read(stream.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == ECONNRESET) break;
        if (n < 0) return h.fail("echo: read: " + errno_name(errno));
        if (n == 0) break;
        read += static_cast<std::size_t>(n);
        const ssize_t w = ::send(stream.get(), buf.data(), static_cast<std::size_t>(n), MSG_NOSIGNAL);
        if (w < 0 && errno == EPIPE) break;
        if (w < 0) return h.fail("echo: write: " + errno_name(errno));
        written += static_cast<std::size_t>(w);
      }
      if (read != written) return h.fail("echo: unequal reads and writes");
    }
  };
}

// mio's new_noop_listener body: accept, wait for go(), shut down writing, wait for go(),
// close.
std::function<void(Helper&)> noop_listener(OwnedFd listener) {
  auto shared = std::make_shared<OwnedFd>(std::move(listener));
  return [shared](Helper& h) {
    if (!h.wait_readable(shared->get())) return h.fail("noop: no connection came");
    OwnedFd stream(::accept4(shared->get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!stream) return h.fail("noop: accept: " + errno_name(errno));
    if (!h.wait_go()) return;
    if (::shutdown(stream.get(), SHUT_WR) != 0) return h.fail("noop: shutdown: " + errno_name(errno));
    h.wait_go();
  };
}

}  // namespace

// mio's checked_write!: the call succeeds and writes all of `data`.
#define CHECKED_WRITE(call, data)                 \
  do {                                            \
    const auto& w_ = (call);                      \
    QVERIFY_OK(w_);                               \
    QCOMPARE(*w_, std::string_view(data).size()); \
  } while (false)

// mio's expect_read!(read(...), data).
#define EXPECT_READ(call, buf, data)                         \
  do {                                                       \
    const auto& rd_ = (call);                                \
    QVERIFY_OK(rd_);                                         \
    QCOMPARE(qs(str(std::span(buf).first(*rd_))), qs(data)); \
  } while (false)

// take_error() reports no pending error.
#define ASSERT_NO_SOCKET_ERROR(sock)                                      \
  do {                                                                    \
    const auto te_ = (sock).take_error();                                 \
    QVERIFY_OK(te_);                                                      \
    QVERIFY2(!*te_, ("pending socket error: " + te_->message()).c_str()); \
  } while (false)

// Joins a Helper and fails on what went wrong in it.
#define JOIN_OK(helper)                   \
  do {                                    \
    const auto err_ = (helper).join();    \
    QVERIFY2(err_.empty(), err_.c_str()); \
  } while (false)

// Binds a std listener on a fresh path into `path_var` (an Unlink) and `fd_var`.
#define STD_LISTENER(path_var, fd_var, name)           \
  const Unlink path_var{temp_path(name)};              \
  OwnedFd fd_var = std_listener_bind((path_var).path); \
  QVERIFY2(fd_var, "binding the std listener failed")

class TestUnixStream : public CoreTest {
  Q_OBJECT

  // mio: unix_stream.rs::smoke_test. `connect_stream` gets the echo listener's path.
  static void smoke_test(const std::function<io_result<UnixStream>(const std::string&)>& connect_stream,
                         const char* test_name) {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    STD_LISTENER(path, listener, test_name);
    Helper handle(echo_listener(std::move(listener), 1));

    auto stream = connect_stream(path.path);
    QVERIFY_OK(stream);

    QVERIFY(is_non_blocking(stream->as_raw_fd()));
    QVERIFY(is_close_on_exec(stream->as_raw_fd()));

    QVERIFY_OK(poll->registry().add(*stream, TOKEN_1, Interest::WRITABLE | Interest::READABLE));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::WRITABLE});

    Buf buf{};
    ASSERT_WOULD_BLOCK(stream->read(buf));

    CHECKED_WRITE(stream->write(DATA1), DATA1);
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
    JOIN_OK(handle);
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

    auto shared = std::make_shared<OwnedFd>(std::move(listener));
    Helper handle([shared](Helper& h) {
      if (!h.wait_readable(shared->get())) return h.fail("no connection came");
      OwnedFd accepted(::accept4(shared->get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!accepted) return h.fail("accept: " + errno_name(errno));
      h.wait_go();
    });

    QVERIFY_OK(poll->registry().add(*stream, TOKEN_1, Interest::READABLE | Interest::WRITABLE));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::WRITABLE});

    handle.go();
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::READABLE});
    Buf buf{};
    EXPECT_READ(stream->read(buf), buf, "");  // end-of-file

    JOIN_OK(handle);
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
          OwnedFd local = std_stream_connect(path);
          if (!local) return std::unexpected(last_error());
          // Blocking, as std's are: make it non-blocking before adopting it.
          if (!std_set_nonblocking(local.get())) return std::unexpected(last_error());
          return UnixStream::from_fd(std::move(local));
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

    CHECKED_WRITE(s1.write(DATA1), DATA1);
    EXPECT_READ(s2.read(buf), buf, DATA1);
    ASSERT_WOULD_BLOCK(s2.read(buf));

    CHECKED_WRITE(s2.write(DATA2), DATA2);
    EXPECT_READ(s1.read(buf), buf, DATA2);
    ASSERT_WOULD_BLOCK(s1.read(buf));
    ASSERT_WOULD_BLOCK(s2.read(buf));
  }

  // mio: unix_stream.rs::unix_stream_peer_addr. The peer is the listener's path; the
  // connecting end is unnamed.
  void unix_stream_peer_addr() {
    STD_LISTENER(path, listener, "unix_stream_peer_addr");
    Helper handle(echo_listener(std::move(listener), 1));

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
    JOIN_OK(handle);
  }

  // mio: unix_stream.rs::unix_stream_shutdown_read. mio asserts an empty read only on the
  // BSDs/Apple; on Linux data already queued can still be read after shutdown(read), and
  // then reads give end-of-file. Asserted here.
  void unix_stream_shutdown_read() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    STD_LISTENER(path, listener, "unix_stream_shutdown_read");
    Helper handle(echo_listener(std::move(listener), 1));

    auto stream = UnixStream::connect(path.path);
    QVERIFY_OK(stream);
    QVERIFY_OK(poll->registry().add(*stream, TOKEN_1, Interest::READABLE | Interest::WRITABLE));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::WRITABLE});

    CHECKED_WRITE(stream->write(DATA1), DATA1);
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::READABLE});

    QVERIFY_OK(stream->shutdown(Shutdown::read));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Readiness::READ_CLOSED});

    // Linux: the queued echo is still there, then end-of-file.
    Buf buf{};
    EXPECT_READ(stream->read(buf), buf, DATA1);
    EXPECT_READ(stream->read(buf), buf, "");

    drop(*stream);
    JOIN_OK(handle);
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
    Helper handle(echo_listener(std::move(listener), 1));

    auto stream = UnixStream::connect(path.path);
    QVERIFY_OK(stream);
    QVERIFY_OK(poll->registry().add(*stream, TOKEN_1, Interest::WRITABLE | Interest::READABLE));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::WRITABLE});

    CHECKED_WRITE(stream->write(DATA1), DATA1);
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::READABLE});

    QVERIFY_OK(stream->shutdown(Shutdown::write));

    ASSERT_ERROR(stream->write(DATA2), os_error(EPIPE));

    // Reading is still fine.
    Buf buf{};
    EXPECT_READ(stream->read(buf), buf, DATA1);

    drop(*stream);
    JOIN_OK(handle);
  }

  // mio: unix_stream.rs::unix_stream_shutdown_both. Linux: shutting down both directions
  // makes EPOLLHUP (WRITE_CLOSED); a write then fails with EPIPE.
  void unix_stream_shutdown_both() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    STD_LISTENER(path, listener, "unix_stream_shutdown_both");
    Helper handle(echo_listener(std::move(listener), 1));

    auto stream = UnixStream::connect(path.path);
    QVERIFY_OK(stream);
    QVERIFY_OK(poll->registry().add(*stream, TOKEN_1, Interest::WRITABLE | Interest::READABLE));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::WRITABLE});

    CHECKED_WRITE(stream->write(DATA1), DATA1);
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::READABLE});

    QVERIFY_OK(stream->shutdown(Shutdown::both));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Readiness::WRITE_CLOSED});

    ASSERT_ERROR(stream->write(DATA2), os_error(EPIPE));

    drop(*stream);
    JOIN_OK(handle);
  }

  // mio: unix_stream.rs::unix_stream_shutdown_listener_write. The server's
  // shutdown(write) gives the client READ_CLOSED (EPOLLIN|EPOLLRDHUP).
  void unix_stream_shutdown_listener_write() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    STD_LISTENER(path, listener, "unix_stream_shutdown_listener_write");
    Helper handle(noop_listener(std::move(listener)));

    auto stream = UnixStream::connect(path.path);
    QVERIFY_OK(stream);
    QVERIFY_OK(poll->registry().add(*stream, TOKEN_1, Interest::READABLE | Interest::WRITABLE));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::WRITABLE});

    handle.go();
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Readiness::READ_CLOSED});

    handle.go();
    JOIN_OK(handle);
  }

  // mio: unix_stream.rs::unix_stream_register
  void unix_stream_register() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    STD_LISTENER(path, listener, "unix_stream_register");
    Helper handle(echo_listener(std::move(listener), 1));

    auto stream = UnixStream::connect(path.path);
    QVERIFY_OK(stream);
    QVERIFY_OK(poll->registry().add(*stream, TOKEN_1, Interest::READABLE));
    EXPECT_NO_EVENTS(*poll, events);

    drop(*stream);
    JOIN_OK(handle);
  }

  // mio: unix_stream.rs::unix_stream_reregister
  void unix_stream_reregister() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    STD_LISTENER(path, listener, "unix_stream_reregister");
    Helper handle(echo_listener(std::move(listener), 1));

    auto stream = UnixStream::connect(path.path);
    QVERIFY_OK(stream);
    QVERIFY_OK(poll->registry().add(*stream, TOKEN_1, Interest::READABLE));
    QVERIFY_OK(poll->registry().modify(*stream, TOKEN_1, Interest::WRITABLE));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::WRITABLE});

    drop(*stream);
    JOIN_OK(handle);
  }

  // mio: unix_stream.rs::unix_stream_deregister
  void unix_stream_deregister() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    STD_LISTENER(path, listener, "unix_stream_deregister");
    Helper handle(echo_listener(std::move(listener), 1));

    auto stream = UnixStream::connect(path.path);
    QVERIFY_OK(stream);
    QVERIFY_OK(poll->registry().add(*stream, TOKEN_1, Interest::WRITABLE));
    QVERIFY_OK(poll->registry().remove(*stream));
    EXPECT_NO_EVENTS(*poll, events);

    drop(*stream);
    JOIN_OK(handle);
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
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    struct sigaction old_action {};
    QCOMPARE(::sigaction(SIGPIPE, &dfl, &old_action), 0);
    sigset_t pipe_set, old_mask;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    QCOMPARE(::pthread_sigmask(SIG_UNBLOCK, &pipe_set, &old_mask), 0);
    struct Restore {
      struct sigaction action;
      sigset_t mask;
      ~Restore() {
        ::sigaction(SIGPIPE, &action, nullptr);
        ::pthread_sigmask(SIG_SETMASK, &mask, nullptr);
      }
    } restore{old_action, old_mask};

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
