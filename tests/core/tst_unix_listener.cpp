// mio tests/unix_listener.rs, plus the sun_path length limit.
//
// mio's `from_std` variant adopts a listener made with plain syscalls (what Rust's std
// does: blocking, close-on-exec), made non-blocking with fcntl, through `from_fd`.
// mio's open_connections thread is ConnectThread below. Every socket file a test binds is
// removed (unlink) when the test leaves, also after a failed check.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "ready_test.h"

using namespace ready;
using namespace ready::net;
using namespace ready::test;

namespace {

constexpr std::size_t DEFAULT_BUF_SIZE = 64;
constexpr Token TOKEN_1{0};

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

// What Rust's std::os::unix::net::UnixListener::bind does: blocking, close-on-exec,
// bound, listening (std's backlog: 128).
OwnedFd std_listener_bind(const std::string& path) {
  OwnedFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const sockaddr_un a = std_unix_addr(path);
  if (fd && (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 ||
             ::listen(fd.get(), 128) != 0))
    fd.reset();
  return fd;
}

// std's set_nonblocking(true).
bool std_set_nonblocking(int fd) {
  const int fl = ::fcntl(fd, F_GETFL);
  return fl != -1 && ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

// Waits (plain poll(2), up to 2 s) until a connection is pending on a listener. poll(2)
// consumes nothing and leaves epoll's edge state alone; it only makes sure the helper
// thread's connect has landed before a no-events check.
bool wait_connection_pending(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 2000) == 1 && (p.revents & POLLIN);
}

// An abstract name no other test run uses.
std::string unique_abstract_name(std::string_view what) {
  static std::atomic<int> counter{0};
  return "ready-test-" + std::string(what) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter.fetch_add(1));
}

std::vector<std::string> dir_entries(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// mio's open_connections: a thread that connects `n` times with a blocking std stream,
// and for each waits for go() from the test (mio's Barrier) before closing it. Its wait
// is bounded and ends once the test is leaving, so the destructor can always join.
class ConnectThread {
 public:
  ConnectThread(std::string path, int n) : thread_([this, path = std::move(path), n] { run(path, n); }) {}
  ~ConnectThread() {
    {
      std::lock_guard l(m_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  ConnectThread(const ConnectThread&) = delete;
  ConnectThread& operator=(const ConnectThread&) = delete;

  void go() {
    {
      std::lock_guard l(m_);
      ++steps_;
    }
    cv_.notify_all();
  }
  // Joins and returns what went wrong in the thread ("" when nothing did).
  std::string join() {
    thread_.join();
    return error_;
  }

 private:
  void run(const std::string& path, int n) {
    for (int i = 0; i < n; ++i) {
      OwnedFd conn(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
      const sockaddr_un a = std_unix_addr(path);
      if (!conn || ::connect(conn.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0)
        return fail("connect failed: " + errno_name(errno));
      std::unique_lock l(m_);
      if (!cv_.wait_for(l, std::chrono::seconds(10), [&] { return steps_ > 0 || stopping_; }) || steps_ == 0)
        return;
      --steps_;
    }
  }
  void fail(std::string what) {
    std::lock_guard l(m_);
    error_ = std::move(what);
  }

  std::mutex m_;
  std::condition_variable cv_;
  int steps_ = 0;
  bool stopping_ = false;
  std::string error_;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace

// take_error() reports no pending error.
#define ASSERT_NO_SOCKET_ERROR(sock)                                      \
  do {                                                                    \
    const auto te_ = (sock).take_error();                                 \
    QVERIFY_OK(te_);                                                      \
    QVERIFY2(!*te_, ("pending socket error: " + te_->message()).c_str()); \
  } while (false)

// Joins a ConnectThread and fails on what went wrong in it.
#define JOIN_OK(thread)                   \
  do {                                    \
    const auto err_ = (thread).join();    \
    QVERIFY2(err_.empty(), err_.c_str()); \
  } while (false)

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

    ConnectThread handle(path, 1);
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::READABLE});

    auto accepted = listener.accept();
    QVERIFY_OK(accepted);

    std::array<std::byte, DEFAULT_BUF_SIZE> buf{};
    ASSERT_WOULD_BLOCK(accepted->stream.read(buf));

    ASSERT_WOULD_BLOCK(listener.accept());
    ASSERT_NO_SOCKET_ERROR(listener);

    handle.go();
    JOIN_OK(handle);
  }

 private slots:
  // mio: unix_listener.rs::unix_listener_send_and_sync [R]: not ported (Rust type check).

  // mio: unix_listener.rs::unix_listener_smoke
  void unix_listener_smoke() {
    const Unlink path{temp_path("unix_listener_smoke")};
    auto listener = UnixListener::bind(path.path);
    QVERIFY_OK(listener);
    smoke_test(std::move(*listener), path.path);
  }

  // mio: unix_listener.rs::unix_listener_from_std
  void unix_listener_from_std() {
    const Unlink path{temp_path("unix_listener_from_std")};
    OwnedFd listener = std_listener_bind(path.path);
    QVERIFY(listener);
    // Blocking, as std's are: make it non-blocking before adopting it.
    QVERIFY(std_set_nonblocking(listener.get()));
    smoke_test(UnixListener::from_fd(std::move(listener)), path.path);
  }

  // mio: unix_listener.rs::unix_listener_local_addr. The accepted stream's local address
  // is the listener's path; the connecting peer is unnamed.
  void unix_listener_local_addr() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);

    const Unlink path{temp_path("unix_listener_local_addr")};
    auto listener = UnixListener::bind(path.path);
    QVERIFY_OK(listener);
    QVERIFY_OK(poll->registry().add(*listener, TOKEN_1, Interest::WRITABLE | Interest::READABLE));

    ConnectThread handle(path.path, 1);
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::READABLE});

    auto accepted = listener->accept();
    QVERIFY_OK(accepted);
    const auto local = accepted->stream.local_addr();
    QVERIFY_OK(local);
    QVERIFY(local->as_pathname());
    QCOMPARE(qs(*local->as_pathname()), qs(path.path));
    QVERIFY(!accepted->peer.as_pathname());
    QVERIFY(accepted->peer.is_unnamed());

    handle.go();
    JOIN_OK(handle);
  }

  // mio: unix_listener.rs::unix_listener_register
  void unix_listener_register() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);

    const Unlink path{temp_path("unix_listener_register")};
    auto listener = UnixListener::bind(path.path);
    QVERIFY_OK(listener);
    QVERIFY_OK(poll->registry().add(*listener, TOKEN_1, Interest::READABLE));
    EXPECT_NO_EVENTS(*poll, events);
  }

  // mio: unix_listener.rs::unix_listener_reregister. Registered WRITABLE only, a pending
  // connection gives no event (a listener is never writable); here the connection is
  // known to be pending before the no-events poll.
  void unix_listener_reregister() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);

    const Unlink path{temp_path("unix_listener_reregister")};
    auto listener = UnixListener::bind(path.path);
    QVERIFY_OK(listener);
    QVERIFY_OK(poll->registry().add(*listener, TOKEN_1, Interest::WRITABLE));

    ConnectThread handle(path.path, 1);
    QVERIFY(wait_connection_pending(listener->as_raw_fd()));
    EXPECT_NO_EVENTS(*poll, events);

    QVERIFY_OK(poll->registry().modify(*listener, TOKEN_1, Interest::READABLE));
    EXPECT_EVENTS(*poll, events, {TOKEN_1, Interest::READABLE});

    handle.go();
    JOIN_OK(handle);
  }

  // mio: unix_listener.rs::unix_listener_deregister. Here the connection is known to be
  // pending (readiness already queued) before the source is removed.
  void unix_listener_deregister() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);

    const Unlink path{temp_path("unix_listener_deregister")};
    auto listener = UnixListener::bind(path.path);
    QVERIFY_OK(listener);
    QVERIFY_OK(poll->registry().add(*listener, TOKEN_1, Interest::READABLE));

    ConnectThread handle(path.path, 1);
    QVERIFY(wait_connection_pending(listener->as_raw_fd()));

    QVERIFY_OK(poll->registry().remove(*listener));
    EXPECT_NO_EVENTS(*poll, events);

    handle.go();
    JOIN_OK(handle);
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
