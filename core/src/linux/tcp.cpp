#include "ready/net/tcp.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "linux/net_util.h"

namespace ready::net {

io_result<TcpListener> TcpListener::bind(const SocketAddr& addr, int backlog) {
  auto fd = sys::socket(addr.family(), SOCK_STREAM);
  if (!fd) return std::unexpected(fd.error());
  TcpListener l(std::move(*fd));
  if (auto r = l.set_int_option(SOL_SOCKET, SO_REUSEADDR, 1); !r) return std::unexpected(r.error());
  if (auto r = sys::call(::bind, l.as_raw_fd(), addr.as_sockaddr(), addr.len()); !r)
    return std::unexpected(r.error());
  if (auto r = sys::call(::listen, l.as_raw_fd(), backlog); !r) return std::unexpected(r.error());
  return l;
}

io_result<Accepted<TcpStream, SocketAddr>> TcpListener::accept() const noexcept {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  auto fd = sys::accept(as_raw_fd(), reinterpret_cast<sockaddr*>(&ss), &len);
  if (!fd) return std::unexpected(fd.error());
  auto peer = SocketAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
  return Accepted<TcpStream, SocketAddr>{TcpStream(std::move(*fd)), peer.value_or(SocketAddr{})};
}

io_result<SocketAddr> TcpListener::local_addr() const noexcept { return sys::inet_name(as_raw_fd(), false); }

io_result<TcpStream> TcpStream::connect(const SocketAddr& addr) {
  auto fd = sys::connect_new(addr.family(), SOCK_STREAM, addr.as_sockaddr(), addr.len());
  if (!fd) return std::unexpected(fd.error());
  return TcpStream(std::move(*fd));
}

io_result<SocketAddr> TcpStream::peer_addr() const noexcept { return sys::inet_name(as_raw_fd(), true); }
io_result<SocketAddr> TcpStream::local_addr() const noexcept { return sys::inet_name(as_raw_fd(), false); }

io_result<void> TcpStream::set_nodelay(bool on) const noexcept {
  return set_int_option(IPPROTO_TCP, TCP_NODELAY, on);
}

io_result<bool> TcpStream::nodelay() const noexcept {
  return sys::map(get_int_option(IPPROTO_TCP, TCP_NODELAY), [](int v) { return v != 0; });
}

io_result<void> TcpStream::set_linger(std::optional<int> seconds) const noexcept {
  linger l{seconds.has_value() ? 1 : 0, seconds.value_or(0)};
  return sys::ok_or_error(sys::call(::setsockopt, as_raw_fd(), SOL_SOCKET, SO_LINGER,
                                    static_cast<const void*>(&l), socklen_t{sizeof l}));
}

io_result<std::size_t> TcpStream::send_oob(std::byte b) const noexcept {
  auto r = sys::call_retry(::send, as_raw_fd(), static_cast<const void*>(&b), std::size_t{1},
                           MSG_OOB | MSG_NOSIGNAL);
  if (!r) return std::unexpected(r.error());
  return static_cast<std::size_t>(*r);
}

}  // namespace ready::net
