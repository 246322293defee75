#pragma once

#include "ready/net/addr.h"
#include "ready/net/socket.h"

namespace ready::net {

/// A datagram and who sent it.
template <class Addr>
struct Received {
  std::size_t n;
  Addr from;
};

/// A non-blocking UDP socket.
///
/// With the edge trigger, receive until would-block after a readable event: a datagram
/// left queued gives no new event, a new datagram does. A connected socket receives
/// only from its peer; an ICMP error for a connected socket arrives as EPOLLERR and
/// the next recv returns it (e.g. ECONNREFUSED) without closing the socket.
class UdpSocket final : public Socket {
 public:
  [[nodiscard]] static io_result<UdpSocket> bind(const SocketAddr& addr);
  [[nodiscard]] static UdpSocket from_fd(OwnedFd fd) noexcept { return UdpSocket(std::move(fd)); }
  /// Sets the default peer: `send`/`recv` then talk to it only; may be called again.
  io_result<void> connect(const SocketAddr& addr) const noexcept;
  io_result<std::size_t> send(std::span<const std::byte> buf) const noexcept { return send_flags(buf); }
  io_result<std::size_t> recv(std::span<std::byte> buf) const noexcept { return recv_flags(buf, 0); }
  io_result<std::size_t> peek(std::span<std::byte> buf) const noexcept { return recv_flags(buf, MSG_PEEK); }
  io_result<std::size_t> send_to(std::span<const std::byte> buf, const SocketAddr& to) const noexcept;
  io_result<Received<SocketAddr>> recv_from(std::span<std::byte> buf) const noexcept;
  io_result<Received<SocketAddr>> peek_from(std::span<std::byte> buf) const noexcept;
  [[nodiscard]] io_result<SocketAddr> local_addr() const noexcept;
  [[nodiscard]] io_result<SocketAddr> peer_addr() const noexcept;

  io_result<void> set_broadcast(bool on) const noexcept;
  [[nodiscard]] io_result<bool> broadcast() const noexcept;
  using Socket::set_ttl;
  using Socket::ttl;
  io_result<void> set_multicast_loop_v4(bool on) const noexcept;
  [[nodiscard]] io_result<bool> multicast_loop_v4() const noexcept;
  io_result<void> set_multicast_ttl_v4(std::uint32_t ttl) const noexcept;
  [[nodiscard]] io_result<std::uint32_t> multicast_ttl_v4() const noexcept;
  io_result<void> set_multicast_loop_v6(bool on) const noexcept;
  [[nodiscard]] io_result<bool> multicast_loop_v6() const noexcept;
  /// Joins `group` (dotted IPv4 text) on the interface with address `iface` ("0.0.0.0": any).
  io_result<void> join_multicast_v4(const in_addr& group, const in_addr& iface) const noexcept;
  io_result<void> leave_multicast_v4(const in_addr& group, const in_addr& iface) const noexcept;
  io_result<void> join_multicast_v6(const in6_addr& group, unsigned iface_index) const noexcept;
  io_result<void> leave_multicast_v6(const in6_addr& group, unsigned iface_index) const noexcept;
  /// IPV6_V6ONLY.
  [[nodiscard]] io_result<bool> only_v6() const noexcept;

 private:
  using Socket::Socket;
};

}  // namespace ready::net
