// Helpers shared by the socket types' implementations.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <span>

#include "linux/sys.h"
#include "ready/net/addr.h"

namespace ready::sys {

/// getsockname (peer = false) or getpeername (peer = true) as a SocketAddr.
io_result<net::SocketAddr> inet_name(int fd, bool peer) noexcept;
/// The same for a Unix-domain socket.
io_result<net::UnixAddr> unix_name(int fd, bool peer) noexcept;

/// accept4(NONBLOCK|CLOEXEC); fills `addr`/`len`.
io_result<OwnedFd> accept(int fd, sockaddr* addr, socklen_t* len) noexcept;

/// socket(domain, type), then connect; EINPROGRESS counts as success (the connect goes
/// on in the background and its outcome is read with SO_ERROR).
io_result<OwnedFd> connect_new(int domain, int type, const sockaddr* addr, socklen_t len) noexcept;

/// socket(domain, type), then bind.
io_result<OwnedFd> bind_new(int domain, int type, const sockaddr* addr, socklen_t len) noexcept;

/// connect(2) on an existing socket.
io_result<void> connect(int fd, const sockaddr* addr, socklen_t len) noexcept;

/// sendto(MSG_NOSIGNAL).
io_result<std::size_t> send_to(int fd, std::span<const std::byte> buf, const sockaddr* to,
                               socklen_t len) noexcept;

/// recvfrom into `from`/`len`.
io_result<std::size_t> recv_from(int fd, std::span<std::byte> buf, int flags, sockaddr* from,
                                 socklen_t* len) noexcept;

}  // namespace ready::sys
