#include "linux/net_util.h"

#include <sys/un.h>

namespace ready::sys {

io_result<net::SocketAddr> inet_name(int fd, bool peer) noexcept {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  auto* sa = reinterpret_cast<sockaddr*>(&ss);
  auto r = peer ? call(::getpeername, fd, sa, &len) : call(::getsockname, fd, sa, &len);
  if (!r) return std::unexpected(r.error());
  auto a = net::SocketAddr::from_sockaddr(sa, len);
  if (!a) return std::unexpected(os_error(EAFNOSUPPORT));
  return *a;
}

io_result<net::UnixAddr> unix_name(int fd, bool peer) noexcept {
  sockaddr_un su{};
  socklen_t len = sizeof su;
  auto* sa = reinterpret_cast<sockaddr*>(&su);
  auto r = peer ? call(::getpeername, fd, sa, &len) : call(::getsockname, fd, sa, &len);
  if (!r) return std::unexpected(r.error());
  return net::UnixAddr::from_sockaddr(sa, len);
}

io_result<OwnedFd> accept(int fd, sockaddr* addr, socklen_t* len) noexcept {
  return own(call_retry(::accept4, fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC));
}

io_result<OwnedFd> connect_new(int domain, int type, const sockaddr* addr, socklen_t len) noexcept {
  auto fd = socket(domain, type);
  if (!fd) return fd;
  if (auto r = call(::connect, fd->get(), addr, len); !r && r.error().value() != EINPROGRESS)
    return std::unexpected(r.error());
  return fd;
}

io_result<OwnedFd> bind_new(int domain, int type, const sockaddr* addr, socklen_t len) noexcept {
  auto fd = socket(domain, type);
  if (!fd) return fd;
  if (auto r = call(::bind, fd->get(), addr, len); !r) return std::unexpected(r.error());
  return fd;
}

io_result<void> connect(int fd, const sockaddr* addr, socklen_t len) noexcept {
  return ok_or_error(call(::connect, fd, addr, len));
}

io_result<std::size_t> send_to(int fd, std::span<const std::byte> buf, const sockaddr* to,
                               socklen_t len) noexcept {
  auto r = call_retry(::sendto, fd, static_cast<const void*>(buf.data()), buf.size(), MSG_NOSIGNAL, to, len);
  if (!r) return std::unexpected(r.error());
  return static_cast<std::size_t>(*r);
}

io_result<std::size_t> recv_from(int fd, std::span<std::byte> buf, int flags, sockaddr* from,
                                 socklen_t* len) noexcept {
  auto r = call_retry(::recvfrom, fd, static_cast<void*>(buf.data()), buf.size(), flags, from, len);
  if (!r) return std::unexpected(r.error());
  return static_cast<std::size_t>(*r);
}

}  // namespace ready::sys
