// Unix-domain sockets.
#include <sys/un.h>

#include "linux/net_util.h"
#include "ready/net/unix.h"

namespace ready::net {

namespace {
io_result<UnixAddr> path_addr(std::string_view path) noexcept {
  auto a = UnixAddr::from_path(path);
  if (!a) return std::unexpected(os_error(path.empty() ? EINVAL : ENAMETOOLONG));
  return *a;
}

io_result<std::pair<OwnedFd, OwnedFd>> socket_pair(int type) noexcept {
  int sv[2];
  if (auto r = sys::call(::socketpair, AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv); !r)
    return std::unexpected(r.error());
  return std::pair{OwnedFd(sv[0]), OwnedFd(sv[1])};
}
}  // namespace

io_result<UnixListener> UnixListener::bind(std::string_view path) {
  return sys::then(path_addr(path), [](const UnixAddr& a) { return bind_addr(a); });
}

io_result<UnixListener> UnixListener::bind_addr(const UnixAddr& addr) {
  auto fd = sys::bind_new(AF_UNIX, SOCK_STREAM, addr.as_sockaddr(), addr.len());
  if (!fd) return std::unexpected(fd.error());
  // -1: the kernel's maximum backlog (somaxconn), as mio does.
  if (auto r = sys::call(::listen, fd->get(), -1); !r) return std::unexpected(r.error());
  return UnixListener(std::move(*fd));
}

io_result<Accepted<UnixStream, UnixAddr>> UnixListener::accept() const noexcept {
  sockaddr_un su{};
  socklen_t len = sizeof su;
  auto fd = sys::accept(as_raw_fd(), reinterpret_cast<sockaddr*>(&su), &len);
  if (!fd) return std::unexpected(fd.error());
  return Accepted<UnixStream, UnixAddr>{UnixStream(std::move(*fd)),
                                        UnixAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&su), len)};
}

io_result<UnixAddr> UnixListener::local_addr() const noexcept { return sys::unix_name(as_raw_fd(), false); }

io_result<UnixStream> UnixStream::connect(std::string_view path) {
  return sys::then(path_addr(path), [](const UnixAddr& a) { return connect_addr(a); });
}

io_result<UnixStream> UnixStream::connect_addr(const UnixAddr& addr) {
  auto fd = sys::connect_new(AF_UNIX, SOCK_STREAM, addr.as_sockaddr(), addr.len());
  if (!fd) return std::unexpected(fd.error());
  return UnixStream(std::move(*fd));
}

io_result<std::pair<UnixStream, UnixStream>> UnixStream::pair() {
  return sys::map(socket_pair(SOCK_STREAM), [](auto p) {
    return std::pair{UnixStream(std::move(p.first)), UnixStream(std::move(p.second))};
  });
}

io_result<UnixAddr> UnixStream::local_addr() const noexcept { return sys::unix_name(as_raw_fd(), false); }
io_result<UnixAddr> UnixStream::peer_addr() const noexcept { return sys::unix_name(as_raw_fd(), true); }

io_result<UnixDatagram> UnixDatagram::bind(std::string_view path) {
  return sys::then(path_addr(path), [](const UnixAddr& a) { return bind_addr(a); });
}

io_result<UnixDatagram> UnixDatagram::bind_addr(const UnixAddr& addr) {
  auto fd = sys::bind_new(AF_UNIX, SOCK_DGRAM, addr.as_sockaddr(), addr.len());
  if (!fd) return std::unexpected(fd.error());
  return UnixDatagram(std::move(*fd));
}

io_result<UnixDatagram> UnixDatagram::unbound() {
  auto fd = sys::socket(AF_UNIX, SOCK_DGRAM);
  if (!fd) return std::unexpected(fd.error());
  return UnixDatagram(std::move(*fd));
}

io_result<std::pair<UnixDatagram, UnixDatagram>> UnixDatagram::pair() {
  return sys::map(socket_pair(SOCK_DGRAM), [](auto p) {
    return std::pair{UnixDatagram(std::move(p.first)), UnixDatagram(std::move(p.second))};
  });
}

io_result<void> UnixDatagram::connect(std::string_view path) const noexcept {
  return sys::then(path_addr(path), [this](const UnixAddr& a) { return connect_addr(a); });
}

io_result<void> UnixDatagram::connect_addr(const UnixAddr& addr) const noexcept {
  return sys::connect(as_raw_fd(), addr.as_sockaddr(), addr.len());
}

io_result<std::size_t> UnixDatagram::send_to(std::span<const std::byte> buf,
                                             std::string_view path) const noexcept {
  return sys::then(path_addr(path), [&](const UnixAddr& a) { return send_to_addr(buf, a); });
}

io_result<std::size_t> UnixDatagram::send_to_addr(std::span<const std::byte> buf,
                                                  const UnixAddr& to) const noexcept {
  return sys::send_to(as_raw_fd(), buf, to.as_sockaddr(), to.len());
}

io_result<Received<UnixAddr>> UnixDatagram::recv_from(std::span<std::byte> buf) const noexcept {
  sockaddr_un su{};
  socklen_t len = sizeof su;
  auto n = sys::recv_from(as_raw_fd(), buf, 0, reinterpret_cast<sockaddr*>(&su), &len);
  if (!n) return std::unexpected(n.error());
  return Received<UnixAddr>{*n, UnixAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&su), len)};
}

io_result<UnixAddr> UnixDatagram::local_addr() const noexcept { return sys::unix_name(as_raw_fd(), false); }
io_result<UnixAddr> UnixDatagram::peer_addr() const noexcept { return sys::unix_name(as_raw_fd(), true); }

}  // namespace ready::net
