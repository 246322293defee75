// Peers for the socket suites. mio's tests talk to blocking std::net / std::os::unix::net
// sockets in threads; here those are "plain" POSIX sockets (close-on-exec, blocking, as
// Rust's std makes them) in a Worker thread. Every blocking call and every wait gives up
// after kWaitLimit, and a Worker is unblocked and joined when it is destroyed, so a failed
// check reports instead of hanging and no thread outlives its test.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

#include "ready/ready.h"
#include "ready_test.h"

namespace ready::test {

/// "what: <message of ec>", the failure text a peer thread returns.
std::string failure(std::string_view what, std::error_code ec = last_error());

// --- Synchronisation with a time limit. ---

/// A one-shot signal between threads (mio's `channel::<()>`); wait() gives up after `limit`.
class Gate {
 public:
  void open();
  bool wait(std::chrono::milliseconds limit = kWaitLimit);

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool open_ = false;
};

/// std::sync::Barrier for `n` parties; wait() gives up after kWaitLimit, abandon() releases all.
class Barrier {
 public:
  explicit Barrier(int n) : n_(n) {}
  /// True once all `n` parties arrived; false on timeout or abandon.
  [[nodiscard]] bool wait();
  void abandon();

 private:
  std::mutex m_;
  std::condition_variable cv_;
  const int n_;
  int count_ = 0;
  unsigned generation_ = 0;
  bool abandoned_ = false;
};

/// A peer thread whose body returns "" or a failure; unjoined, its destructor runs `abort`, joins.
class Worker {
 public:
  template <class Body, std::enable_if_t<std::is_invocable_r_v<std::string, Body&>, int> = 0>
  explicit Worker(Body body, std::function<void()> abort = {})
      : abort_(std::move(abort)), thread_([this, b = std::move(body)]() mutable { error_ = b(); }) {}
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker();
  [[nodiscard]] std::string join();

 private:
  std::function<void()> abort_;
  std::string error_;
  std::thread thread_;  // last: starts once the members above exist
};

// --- Plain blocking sockets: close-on-exec, SO_RCVTIMEO/SO_SNDTIMEO of kWaitLimit. ---

/// socket(2) of `family` and `type`.
io_result<OwnedFd> plain_socket(int family, int type = SOCK_STREAM);
/// std::net::TcpListener::bind: socket, SO_REUSEADDR, bind, listen(128).
io_result<OwnedFd> plain_listener(const net::SocketAddr& addr);
/// std::os::unix::net::UnixListener::bind: socket, bind to `path`, listen(128).
io_result<OwnedFd> plain_listener(std::string_view path);
/// std::net::TcpStream::connect.
io_result<OwnedFd> plain_connect(const net::SocketAddr& addr);
/// std::os::unix::net::UnixStream::connect.
io_result<OwnedFd> plain_connect(std::string_view path);
/// accept(2) on a plain listener (EINTR retried).
io_result<OwnedFd> plain_accept(int listener);
/// std::net::UdpSocket::bind.
io_result<OwnedFd> plain_udp_socket(const net::SocketAddr& addr);
/// std::os::unix::net::UnixDatagram::bind.
io_result<OwnedFd> plain_datagram(std::string_view path);
/// connect(2) of an existing socket (a datagram socket's default peer).
io_result<void> connect_fd(int fd, const net::SocketAddr& addr);
io_result<void> connect_fd(int fd, std::string_view path);
/// std's set_nonblocking(true): O_NONBLOCK on, the rest of the file flags kept.
io_result<void> make_nonblocking(int fd);
/// Makes a ready:: socket a std-like peer: blocking, reads and accepts time out after `limit`.
io_result<void> make_blocking(const net::Socket& socket, std::chrono::seconds limit = kWaitLimit);
/// getsockname(2) of an IP socket (an empty SocketAddr if it has none).
net::SocketAddr local_address(int fd);
/// send(MSG_NOSIGNAL): a closed peer gives EPIPE, never a SIGPIPE that kills the test.
io_result<std::size_t> plain_send(int fd, std::span<const std::byte> data);
/// recv(2) (EINTR retried).
io_result<std::size_t> plain_recv(int fd, std::span<std::byte> buf);
/// poll(2) until `fd` is readable (up to `limit`); consumes nothing, leaves epoll's edges alone.
bool wait_readable(int fd, std::chrono::milliseconds limit = kWaitLimit);
/// poll(2) until `fd` is writable (a connect completed, up to `limit`); consumes nothing.
bool wait_writable(int fd, std::chrono::milliseconds limit = kWaitLimit);
/// A Worker abort: shuts `listener` down (waking a blocked accept) and opens `gate`, if any.
std::function<void()> unblock(int listener, Gate* gate = nullptr);

// --- Peers (mio's helper threads). ---

/// mio's echo_listener: accepts `n` connections in turn, echoing each until end-of-stream or reset.
Worker echo_listener(int listener, int n);
/// mio's start_listener: accepts `n` connections, each closed after `barrier` (shut_wr + barrier first).
Worker start_listener(int listener, int n, Barrier* barrier = nullptr, bool shutdown_write = false);
/// mio's start_connections: `n` plain connections (to an IP address or a path), each held until `barrier`.
Worker start_connections(const net::SocketAddr& address, int n, Barrier& barrier);
Worker start_connections(std::string_view path, int n, Barrier& barrier);
/// Accepts one connection on a make_blocking `listener` and reads from it once, into `bytes_read`.
Worker accept_and_read_once(const net::TcpListener& listener, std::optional<std::size_t>& bytes_read);
/// Wakes `waker` once from another thread, after `delay` and once `gate` (if any) is open.
Worker wake_later(std::shared_ptr<const Waker> waker, std::chrono::milliseconds delay = 0ms,
                  Gate* gate = nullptr);
/// A TcpStream::connect client and the stream `listener` accepted for it (accept retried).
io_result<std::pair<net::TcpStream, net::TcpStream>> connected_pair(const net::TcpListener& listener);

}  // namespace ready::test

/// The Worker's body succeeded (its failure message otherwise).
#define QVERIFY_JOINED(worker)                              \
  do {                                                      \
    const std::string thread_error_ = (worker).join();      \
    QVERIFY2(thread_error_.empty(), thread_error_.c_str()); \
  } while (false)
