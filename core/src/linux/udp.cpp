#include "ready/net/udp.h"

#include <netinet/in.h>

#include "linux/net_util.h"

namespace ready::net {

namespace {
io_result<Received<SocketAddr>> recv_from_inet(int fd, std::span<std::byte> buf, int flags) noexcept {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  auto n = sys::recv_from(fd, buf, flags, reinterpret_cast<sockaddr*>(&ss), &len);
  if (!n) return std::unexpected(n.error());
  return Received<SocketAddr>{
      *n, SocketAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len).value_or(SocketAddr{})};
}

io_result<bool> as_bool(io_result<int> v) noexcept {
  return sys::map(v, [](int x) { return x != 0; });
}
}  // namespace

io_result<UdpSocket> UdpSocket::bind(const SocketAddr& addr) {
  auto fd = sys::bind_new(addr.family(), SOCK_DGRAM, addr.as_sockaddr(), addr.len());
  if (!fd) return std::unexpected(fd.error());
  return UdpSocket(std::move(*fd));
}

io_result<void> UdpSocket::connect(const SocketAddr& addr) const noexcept {
  return sys::connect(as_raw_fd(), addr.as_sockaddr(), addr.len());
}

io_result<std::size_t> UdpSocket::send_to(std::span<const std::byte> buf,
                                          const SocketAddr& to) const noexcept {
  return sys::send_to(as_raw_fd(), buf, to.as_sockaddr(), to.len());
}

io_result<Received<SocketAddr>> UdpSocket::recv_from(std::span<std::byte> buf) const noexcept {
  return recv_from_inet(as_raw_fd(), buf, 0);
}

io_result<Received<SocketAddr>> UdpSocket::peek_from(std::span<std::byte> buf) const noexcept {
  return recv_from_inet(as_raw_fd(), buf, MSG_PEEK);
}

io_result<SocketAddr> UdpSocket::local_addr() const noexcept { return sys::inet_name(as_raw_fd(), false); }
io_result<SocketAddr> UdpSocket::peer_addr() const noexcept { return sys::inet_name(as_raw_fd(), true); }

io_result<void> UdpSocket::set_broadcast(bool on) const noexcept {
  return set_int_option(SOL_SOCKET, SO_BROADCAST, on);
}
io_result<bool> UdpSocket::broadcast() const noexcept {
  return as_bool(get_int_option(SOL_SOCKET, SO_BROADCAST));
}

io_result<void> UdpSocket::set_multicast_loop_v4(bool on) const noexcept {
  return set_int_option(IPPROTO_IP, IP_MULTICAST_LOOP, on);
}
io_result<bool> UdpSocket::multicast_loop_v4() const noexcept {
  return as_bool(get_int_option(IPPROTO_IP, IP_MULTICAST_LOOP));
}
io_result<void> UdpSocket::set_multicast_ttl_v4(std::uint32_t ttl) const noexcept {
  return set_int_option(IPPROTO_IP, IP_MULTICAST_TTL, static_cast<int>(ttl));
}
io_result<std::uint32_t> UdpSocket::multicast_ttl_v4() const noexcept {
  return sys::map(get_int_option(IPPROTO_IP, IP_MULTICAST_TTL),
                  [](int v) { return static_cast<std::uint32_t>(v); });
}
io_result<void> UdpSocket::set_multicast_loop_v6(bool on) const noexcept {
  return set_int_option(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, on);
}
io_result<bool> UdpSocket::multicast_loop_v6() const noexcept {
  return as_bool(get_int_option(IPPROTO_IPV6, IPV6_MULTICAST_LOOP));
}
io_result<bool> UdpSocket::only_v6() const noexcept {
  return as_bool(get_int_option(IPPROTO_IPV6, IPV6_V6ONLY));
}

namespace {
template <class Req>
io_result<void> set_struct(int fd, int level, int name, const Req& req) noexcept {
  return sys::ok_or_error(
      sys::call(::setsockopt, fd, level, name, static_cast<const void*>(&req), socklen_t{sizeof req}));
}
}  // namespace

io_result<void> UdpSocket::join_multicast_v4(const in_addr& group, const in_addr& iface) const noexcept {
  return set_struct(as_raw_fd(), IPPROTO_IP, IP_ADD_MEMBERSHIP, ip_mreq{group, iface});
}
io_result<void> UdpSocket::leave_multicast_v4(const in_addr& group, const in_addr& iface) const noexcept {
  return set_struct(as_raw_fd(), IPPROTO_IP, IP_DROP_MEMBERSHIP, ip_mreq{group, iface});
}
io_result<void> UdpSocket::join_multicast_v6(const in6_addr& group, unsigned iface_index) const noexcept {
  return set_struct(as_raw_fd(), IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, ipv6_mreq{group, iface_index});
}
io_result<void> UdpSocket::leave_multicast_v6(const in6_addr& group, unsigned iface_index) const noexcept {
  return set_struct(as_raw_fd(), IPPROTO_IPV6, IPV6_DROP_MEMBERSHIP, ipv6_mreq{group, iface_index});
}

}  // namespace ready::net
