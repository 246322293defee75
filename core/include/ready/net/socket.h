// What every socket type shares: options common to all sockets and stream I/O.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>

#include "ready/source.h"

namespace ready {

/// The bytes of a string, for write/send calls.
inline std::span<const std::byte> as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

namespace net {

enum class Shutdown { read, write, both };

/// Base of every socket type. All sockets are created non-blocking and close-on-exec
/// in the creating call. Sends use MSG_NOSIGNAL, so writing to a closed peer gives
/// EPIPE, never SIGPIPE.
class Socket : public IoSource {
 public:
  /// The pending socket error (SO_ERROR), which reading also clears: an empty code
  /// when there is none. After a non-blocking connect, this is how a failure is seen.
  [[nodiscard]] io_result<std::error_code> take_error() const noexcept;
  /// shutdown(2).
  io_result<void> shutdown(Shutdown how) const noexcept;
  /// Switches O_NONBLOCK (for descriptors adopted with `from_fd`).
  io_result<void> set_nonblocking(bool on) const noexcept;
  /// Gives up the descriptor; this object becomes empty.
  [[nodiscard]] OwnedFd into_fd() noexcept { return take_fd(); }

 protected:
  using IoSource::IoSource;
  Socket(Socket&&) noexcept = default;
  Socket& operator=(Socket&&) noexcept = default;
  ~Socket() = default;
  io_result<std::size_t> recv_flags(std::span<std::byte> buf, int flags) const noexcept;
  io_result<std::size_t> send_flags(std::span<const std::byte> buf) const noexcept;
  io_result<int> get_int_option(int level, int name) const noexcept;
  io_result<void> set_int_option(int level, int name, int value) const noexcept;
  /// IP_TTL (IPv4) or IPV6_UNICAST_HOPS (IPv6); made public by the IP socket types.
  io_result<void> set_ttl(std::uint32_t ttl) const noexcept;
  [[nodiscard]] io_result<std::uint32_t> ttl() const noexcept;
};

/// Byte-stream I/O shared by TcpStream and UnixStream. Would-block is returned as an
/// error value (`is_would_block`); a read of 0 bytes into a non-empty buffer is
/// end-of-file.
class StreamSocket : public Socket {
 public:
  io_result<std::size_t> read(std::span<std::byte> buf) const noexcept { return recv_flags(buf, 0); }
  io_result<std::size_t> write(std::span<const std::byte> buf) const noexcept { return send_flags(buf); }
  io_result<std::size_t> write(std::string_view s) const noexcept { return send_flags(as_bytes(s)); }
  /// Reads without consuming. Peeking does not use up an edge: a peek that would block
  /// leaves the registration armed, and new data brings a new event.
  io_result<std::size_t> peek(std::span<std::byte> buf) const noexcept { return recv_flags(buf, MSG_PEEK); }
  /// Scatter read (recvmsg) into the buffers in order.
  io_result<std::size_t> read_vectored(std::span<const iovec> bufs) const noexcept;
  /// Gather write (sendmsg, MSG_NOSIGNAL).
  io_result<std::size_t> write_vectored(std::span<const iovec> bufs) const noexcept;

 protected:
  using Socket::Socket;
  StreamSocket(StreamSocket&&) noexcept = default;
  StreamSocket& operator=(StreamSocket&&) noexcept = default;
  ~StreamSocket() = default;
};

}  // namespace net
}  // namespace ready
