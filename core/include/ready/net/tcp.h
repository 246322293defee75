#pragma once

#include "ready/net/addr.h"
#include "ready/net/socket.h"

namespace ready::net {

class TcpStream;

/// A stream accepted by a listener, with the peer's address.
template <class Stream, class Addr>
struct Accepted {
  Stream stream;
  Addr peer;
};

/// A non-blocking TCP listener.
///
/// Readable when a connection is pending. With the edge trigger, accept until
/// would-block after each event: connections that stay pending give no new event.
class TcpListener final : public Socket {
 public:
  /// socket, SO_REUSEADDR, bind, listen(backlog). Binds exactly the given address;
  /// choosing loopback is the caller's policy. The default backlog, kMaxBacklog, is the
  /// kernel's maximum (net.core.somaxconn, 4096 on Linux >= 5.4), as a Unix listener's: with
  /// 128, a burst of 10,000 connects had its SYNs dropped and retried a second later.
  [[nodiscard]] static io_result<TcpListener> bind(const SocketAddr& addr, int backlog = kMaxBacklog);
  /// listen(2) clamps a larger backlog to net.core.somaxconn: -1 asks for that maximum.
  static constexpr int kMaxBacklog = -1;
  /// Adopts a listening socket (the caller makes it non-blocking).
  [[nodiscard]] static TcpListener from_fd(OwnedFd fd) noexcept { return TcpListener(std::move(fd)); }
  /// accept4(NONBLOCK|CLOEXEC). Would-block when nothing is pending.
  [[nodiscard]] io_result<Accepted<TcpStream, SocketAddr>> accept() const noexcept;
  [[nodiscard]] io_result<SocketAddr> local_addr() const noexcept;
  using Socket::set_ttl;
  using Socket::ttl;

 private:
  using Socket::Socket;
};

/// A non-blocking TCP stream.
///
/// `connect` returns at once, usually before the connection is made. To learn the
/// outcome: register with WRITABLE, wait for a writable event, then `take_error()`
/// (a non-empty code: the connect failed, e.g. ECONNREFUSED) and `peer_addr()`
/// (ENOTCONN: not yet, wait again; an address: connected). Writable alone does not
/// mean connected.
class TcpStream final : public StreamSocket {
 public:
  [[nodiscard]] static io_result<TcpStream> connect(const SocketAddr& addr);
  [[nodiscard]] static TcpStream from_fd(OwnedFd fd) noexcept { return TcpStream(std::move(fd)); }
  [[nodiscard]] io_result<SocketAddr> peer_addr() const noexcept;
  [[nodiscard]] io_result<SocketAddr> local_addr() const noexcept;
  io_result<void> set_nodelay(bool on) const noexcept;
  [[nodiscard]] io_result<bool> nodelay() const noexcept;
  using Socket::set_ttl;
  using Socket::ttl;
  /// SO_LINGER; `seconds` 0 makes close send a reset (RST) instead of FIN.
  io_result<void> set_linger(std::optional<int> seconds) const noexcept;
  /// Sends one byte of out-of-band data (MSG_OOB): the peer sees PRIORITY.
  io_result<std::size_t> send_oob(std::byte b) const noexcept;

 private:
  friend class TcpListener;
  using StreamSocket::StreamSocket;
};

}  // namespace ready::net
