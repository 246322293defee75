// Socket basics shared by every socket type.
#include "ready/net/socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

#include "linux/sys.h"

namespace ready {

io_result<OwnedFd> sys::socket(int domain, int type) noexcept {
  return own(call(::socket, domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
}

namespace net {

io_result<std::error_code> Socket::take_error() const noexcept {
  auto v = get_int_option(SOL_SOCKET, SO_ERROR);
  if (!v) return std::unexpected(v.error());
  return *v == 0 ? std::error_code{} : os_error(*v);
}

io_result<void> Socket::shutdown(Shutdown how) const noexcept {
  const int h = how == Shutdown::read ? SHUT_RD : how == Shutdown::write ? SHUT_WR : SHUT_RDWR;
  return sys::ok_or_error(sys::call(::shutdown, fd_.get(), h));
}

io_result<void> Socket::set_nonblocking(bool on) const noexcept {
  int v = on ? 1 : 0;
  return sys::ok_or_error(sys::call(::ioctl, fd_.get(), FIONBIO, &v));
}

io_result<std::size_t> Socket::recv_flags(std::span<std::byte> buf, int flags) const noexcept {
  auto r = sys::call_retry(::recv, fd_.get(), static_cast<void*>(buf.data()), buf.size(), flags);
  if (!r) return std::unexpected(r.error());
  return static_cast<std::size_t>(*r);
}

io_result<std::size_t> Socket::send_flags(std::span<const std::byte> buf) const noexcept {
  auto r = sys::call_retry(::send, fd_.get(), static_cast<const void*>(buf.data()), buf.size(), MSG_NOSIGNAL);
  if (!r) return std::unexpected(r.error());
  return static_cast<std::size_t>(*r);
}

io_result<int> Socket::get_int_option(int level, int name) const noexcept {
  int v = 0;
  socklen_t len = sizeof v;
  if (auto r = sys::call(::getsockopt, fd_.get(), level, name, static_cast<void*>(&v), &len); !r)
    return std::unexpected(r.error());
  return v;
}

io_result<void> Socket::set_int_option(int level, int name, int value) const noexcept {
  return sys::ok_or_error(sys::call(::setsockopt, fd_.get(), level, name, static_cast<const void*>(&value),
                                    socklen_t{sizeof value}));
}

namespace {
// IP_TTL for IPv4 sockets, IPV6_UNICAST_HOPS for IPv6 ones.
std::pair<int, int> ttl_option(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  const bool v6 = ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 && ss.ss_family == AF_INET6;
  return v6 ? std::pair{IPPROTO_IPV6, IPV6_UNICAST_HOPS} : std::pair{IPPROTO_IP, IP_TTL};
}

io_result<std::size_t> msg_io(bool out, int fd, std::span<const iovec> bufs) noexcept {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(bufs.data());  // sendmsg/recvmsg take a non-const pointer
  msg.msg_iovlen = bufs.size();
  auto r = out ? sys::call_retry(::sendmsg, fd, static_cast<const msghdr*>(&msg), MSG_NOSIGNAL)
               : sys::call_retry(::recvmsg, fd, &msg, 0);
  if (!r) return std::unexpected(r.error());
  return static_cast<std::size_t>(*r);
}
}  // namespace

io_result<void> Socket::set_ttl(std::uint32_t ttl) const noexcept {
  auto [level, name] = ttl_option(fd_.get());
  return set_int_option(level, name, static_cast<int>(ttl));
}

io_result<std::uint32_t> Socket::ttl() const noexcept {
  auto [level, name] = ttl_option(fd_.get());
  return sys::map(get_int_option(level, name), [](int v) { return static_cast<std::uint32_t>(v); });
}

io_result<std::size_t> StreamSocket::read_vectored(std::span<const iovec> bufs) const noexcept {
  return msg_io(false, fd_.get(), bufs);
}

io_result<std::size_t> StreamSocket::write_vectored(std::span<const iovec> bufs) const noexcept {
  return msg_io(true, fd_.get(), bufs);
}

}  // namespace net
}  // namespace ready
