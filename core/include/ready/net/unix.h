// Unix-domain sockets: listener, stream, datagram. Paths and Linux abstract names.
#pragma once

#include <string_view>
#include <utility>

#include "ready/net/addr.h"
#include "ready/net/socket.h"
#include "ready/net/tcp.h"
#include "ready/net/udp.h"

namespace ready::net {

class UnixStream;

/// A non-blocking Unix-domain stream listener (backlog: the kernel maximum).
/// Binding a path creates the socket file; removing it is the caller's job.
class UnixListener final : public Socket {
 public:
  [[nodiscard]] static io_result<UnixListener> bind(std::string_view path);
  [[nodiscard]] static io_result<UnixListener> bind_addr(const UnixAddr& addr);
  [[nodiscard]] static UnixListener from_fd(OwnedFd fd) noexcept { return UnixListener(std::move(fd)); }
  [[nodiscard]] io_result<Accepted<UnixStream, UnixAddr>> accept() const noexcept;
  [[nodiscard]] io_result<UnixAddr> local_addr() const noexcept;

 private:
  using Socket::Socket;
};

/// A non-blocking Unix-domain stream. A connect to a listener whose backlog is full
/// fails with would-block (EAGAIN), unlike TCP's EINPROGRESS.
class UnixStream final : public StreamSocket {
 public:
  [[nodiscard]] static io_result<UnixStream> connect(std::string_view path);
  [[nodiscard]] static io_result<UnixStream> connect_addr(const UnixAddr& addr);
  /// A connected pair (socketpair(AF_UNIX, SOCK_STREAM)).
  [[nodiscard]] static io_result<std::pair<UnixStream, UnixStream>> pair();
  [[nodiscard]] static UnixStream from_fd(OwnedFd fd) noexcept { return UnixStream(std::move(fd)); }
  [[nodiscard]] io_result<UnixAddr> local_addr() const noexcept;
  [[nodiscard]] io_result<UnixAddr> peer_addr() const noexcept;

 private:
  friend class UnixListener;
  using StreamSocket::StreamSocket;
};

/// A non-blocking Unix-domain datagram socket.
class UnixDatagram final : public Socket {
 public:
  [[nodiscard]] static io_result<UnixDatagram> bind(std::string_view path);
  [[nodiscard]] static io_result<UnixDatagram> bind_addr(const UnixAddr& addr);
  /// A socket with no address; it can still send_to and connect.
  [[nodiscard]] static io_result<UnixDatagram> unbound();
  [[nodiscard]] static io_result<std::pair<UnixDatagram, UnixDatagram>> pair();
  [[nodiscard]] static UnixDatagram from_fd(OwnedFd fd) noexcept { return UnixDatagram(std::move(fd)); }
  io_result<void> connect(std::string_view path) const noexcept;
  io_result<void> connect_addr(const UnixAddr& addr) const noexcept;
  io_result<std::size_t> send(std::span<const std::byte> buf) const noexcept { return send_flags(buf); }
  io_result<std::size_t> recv(std::span<std::byte> buf) const noexcept { return recv_flags(buf, 0); }
  io_result<std::size_t> send_to(std::span<const std::byte> buf, std::string_view path) const noexcept;
  io_result<std::size_t> send_to_addr(std::span<const std::byte> buf, const UnixAddr& to) const noexcept;
  io_result<Received<UnixAddr>> recv_from(std::span<std::byte> buf) const noexcept;
  [[nodiscard]] io_result<UnixAddr> local_addr() const noexcept;
  [[nodiscard]] io_result<UnixAddr> peer_addr() const noexcept;

 private:
  using Socket::Socket;
};

}  // namespace ready::net
