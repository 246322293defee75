#include "peer.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace ready::test {

std::string failure(std::string_view what, std::error_code ec) {
  return std::string(what) + ": " + ec.message();
}

void Gate::open() {
  {
    std::lock_guard lock(m_);
    open_ = true;
  }
  cv_.notify_all();
}

bool Gate::wait(std::chrono::milliseconds limit) {
  std::unique_lock lock(m_);
  return cv_.wait_for(lock, limit, [this] { return open_; });
}

bool Barrier::wait() {
  std::unique_lock lock(m_);
  if (abandoned_) return false;
  const auto generation = generation_;
  if (++count_ == n_) {
    count_ = 0;
    ++generation_;
    cv_.notify_all();
    return true;
  }
  cv_.wait_for(lock, kWaitLimit, [&] { return generation_ != generation || abandoned_; });
  return generation_ != generation;
}

void Barrier::abandon() {
  {
    std::lock_guard lock(m_);
    abandoned_ = true;
  }
  cv_.notify_all();
}

Worker::~Worker() {
  if (!thread_.joinable()) return;
  if (abort_) abort_();
  thread_.join();
}

std::string Worker::join() {
  thread_.join();
  return error_;
}

namespace {

/// Blocking calls on `fd` fail after kWaitLimit instead of hanging a broken test.
void set_timeouts(int fd) {
  const timeval tv{static_cast<time_t>(kWaitLimit.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

io_result<net::UnixAddr> unix_address(std::string_view path) {
  auto addr = net::UnixAddr::from_path(path);
  if (!addr) return std::unexpected(os_error(ENAMETOOLONG));
  return *addr;
}

template <class Addr>
io_result<void> bind_fd(int fd, const Addr& addr) {
  if (::bind(fd, addr.as_sockaddr(), addr.len()) == -1) return std::unexpected(last_error());
  return {};
}

template <class Addr>
io_result<void> connect_addr(int fd, const Addr& addr) {
  if (::connect(fd, addr.as_sockaddr(), addr.len()) == -1) return std::unexpected(last_error());
  return {};
}

io_result<OwnedFd> listen_on(io_result<OwnedFd> fd) {
  if (fd && ::listen(fd->get(), 128) == -1) return std::unexpected(last_error());
  return fd;
}

/// `fd` once `step` succeeded on it (or the first error).
template <class Step>
io_result<OwnedFd> then(io_result<OwnedFd> fd, Step step) {
  if (!fd) return fd;
  if (auto r = step(fd->get()); !r) return std::unexpected(r.error());
  return fd;
}

Worker connections(std::function<io_result<OwnedFd>()> connect, int n, Barrier& barrier) {
  return Worker(
      [connect = std::move(connect), n, &barrier] {
        for (int i = 0; i < n; ++i) {
          auto conn = connect();
          if (!conn) return failure("connect", conn.error());
          if (!barrier.wait()) return std::string("barrier not passed");
        }
        return std::string();
      },
      [&barrier] { barrier.abandon(); });
}

}  // namespace

io_result<OwnedFd> plain_socket(int family, int type) {
  OwnedFd fd(::socket(family, type | SOCK_CLOEXEC, 0));
  if (!fd) return std::unexpected(last_error());
  set_timeouts(fd.get());
  return fd;
}

io_result<OwnedFd> plain_listener(const net::SocketAddr& addr) {
  return listen_on(then(plain_socket(addr.family()), [&](int fd) -> io_result<void> {
    const int one = 1;
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1)
      return std::unexpected(last_error());
    return bind_fd(fd, addr);
  }));
}

io_result<OwnedFd> plain_listener(std::string_view path) {
  auto addr = unix_address(path);
  if (!addr) return std::unexpected(addr.error());
  return listen_on(then(plain_socket(AF_UNIX), [&](int fd) { return bind_fd(fd, *addr); }));
}

io_result<OwnedFd> plain_connect(const net::SocketAddr& addr) {
  return then(plain_socket(addr.family()), [&](int fd) { return connect_addr(fd, addr); });
}

io_result<OwnedFd> plain_connect(std::string_view path) {
  return then(plain_socket(AF_UNIX), [&](int fd) { return connect_fd(fd, path); });
}

io_result<OwnedFd> plain_accept(int listener) {
  int fd = -1;
  do fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  while (fd == -1 && errno == EINTR);
  if (fd == -1) return std::unexpected(last_error());
  set_timeouts(fd);
  return OwnedFd(fd);
}

io_result<OwnedFd> plain_udp_socket(const net::SocketAddr& addr) {
  return then(plain_socket(addr.family(), SOCK_DGRAM), [&](int fd) { return bind_fd(fd, addr); });
}

io_result<OwnedFd> plain_datagram(std::string_view path) {
  auto addr = unix_address(path);
  if (!addr) return std::unexpected(addr.error());
  return then(plain_socket(AF_UNIX, SOCK_DGRAM), [&](int fd) { return bind_fd(fd, *addr); });
}

io_result<void> connect_fd(int fd, const net::SocketAddr& addr) { return connect_addr(fd, addr); }

io_result<void> connect_fd(int fd, std::string_view path) {
  auto addr = unix_address(path);
  if (!addr) return std::unexpected(addr.error());
  return connect_addr(fd, *addr);
}

io_result<void> make_nonblocking(int fd) {
  const int fl = ::fcntl(fd, F_GETFL);
  if (fl == -1 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) return std::unexpected(last_error());
  return {};
}

io_result<void> make_blocking(const net::Socket& socket, std::chrono::seconds limit) {
  if (auto r = socket.set_nonblocking(false); !r) return r;
  const timeval tv{static_cast<time_t>(limit.count()), 0};
  if (::setsockopt(socket.as_raw_fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1)
    return std::unexpected(last_error());
  return {};
}

net::SocketAddr local_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == -1) return {};
  return net::SocketAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len).value_or(net::SocketAddr{});
}

io_result<std::size_t> plain_send(int fd, std::span<const std::byte> data) {
  for (;;) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return std::unexpected(last_error());
  }
}

io_result<std::size_t> plain_recv(int fd, std::span<std::byte> buf) {
  for (;;) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) return std::unexpected(last_error());
  }
}

bool wait_readable(int fd, std::chrono::milliseconds limit) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(limit.count())) == 1 && (p.revents & POLLIN);
}

bool wait_writable(int fd, std::chrono::milliseconds limit) {
  pollfd p{fd, POLLOUT, 0};
  return ::poll(&p, 1, static_cast<int>(limit.count())) == 1 && (p.revents & POLLOUT);
}

std::function<void()> unblock(int listener, Gate* gate) {
  return [listener, gate] {
    ::shutdown(listener, SHUT_RDWR);
    if (gate) gate->open();
  };
}

Worker echo_listener(int listener, int n) {
  return Worker(
      [listener, n] {
        std::array<std::byte, 128> buf{};
        for (int i = 0; i < n; ++i) {
          auto conn = plain_accept(listener);
          if (!conn) return failure("echo: accept", conn.error());
          for (;;) {
            auto got = plain_recv(conn->get(), buf);
            if (!got && got.error() == std::errc::connection_reset) break;
            if (!got) return failure("echo: recv", got.error());
            if (*got == 0) break;
            auto sent = plain_send(conn->get(), std::span(buf).first(*got));
            if (!sent) return failure("echo: send", sent.error());
            if (*sent != *got) return std::string("echo: short send");
          }
        }
        return std::string();
      },
      unblock(listener));
}

Worker start_listener(int listener, int n, Barrier* barrier, bool shutdown_write) {
  return Worker(
      [listener, n, barrier, shutdown_write] {
        for (int i = 0; i < n; ++i) {
          auto conn = plain_accept(listener);
          if (!conn) return failure("accept", conn.error());
          if (!barrier) continue;
          if (!barrier->wait()) return std::string("barrier not passed");
          if (shutdown_write) {
            if (::shutdown(conn->get(), SHUT_WR) == -1) return failure("shutdown(write)");
            if (!barrier->wait()) return std::string("second barrier not passed");
          }
        }
        return std::string();
      },
      [listener, barrier] {
        ::shutdown(listener, SHUT_RDWR);
        if (barrier) barrier->abandon();
      });
}

Worker start_connections(const net::SocketAddr& address, int n, Barrier& barrier) {
  return connections([address] { return plain_connect(address); }, n, barrier);
}

Worker start_connections(std::string_view path, int n, Barrier& barrier) {
  return connections([path = std::string(path)] { return plain_connect(path); }, n, barrier);
}

Worker accept_and_read_once(const net::TcpListener& listener, std::optional<std::size_t>& bytes_read) {
  return Worker(
      [&listener, &bytes_read] {
        auto accepted = listener.accept();
        if (!accepted) return failure("accept", accepted.error());
        if (auto r = make_blocking(accepted->stream); !r) return failure("make_blocking", r.error());
        std::array<std::byte, 16> buf{};
        auto r = accepted->stream.read(buf);
        if (!r) return failure("read", r.error());
        bytes_read = *r;
        return std::string();
      },
      unblock(listener.as_raw_fd()));
}

Worker wake_later(std::shared_ptr<const Waker> waker, std::chrono::milliseconds delay, Gate* gate) {
  return Worker(
      [waker = std::move(waker), delay, gate] {
        if (gate && !gate->wait()) return std::string();
        std::this_thread::sleep_for(delay);
        auto r = waker->wake();
        return r ? std::string() : failure("wake", r.error());
      },
      [gate] {
        if (gate) gate->open();
      });
}

io_result<std::pair<net::TcpStream, net::TcpStream>> connected_pair(const net::TcpListener& listener) {
  auto addr = listener.local_addr();
  if (!addr) return std::unexpected(addr.error());
  auto client = net::TcpStream::connect(*addr);
  if (!client) return std::unexpected(client.error());
  for (Deadline d; !d.expired(); std::this_thread::sleep_for(1ms)) {
    auto accepted = listener.accept();
    if (accepted) return std::pair{std::move(*client), std::move(accepted->stream)};
    if (!is_would_block(accepted.error())) return std::unexpected(accepted.error());
  }
  return std::unexpected(os_error(ETIMEDOUT));
}

}  // namespace ready::test
