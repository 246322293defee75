// Socket addresses: IPv4/IPv6 (SocketAddr) and Unix-domain (UnixAddr).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ready::net {

/// An IPv4 or IPv6 address with a port. Parsed from numeric text only (no DNS):
/// "127.0.0.1:8080", "[::1]:0". Port 0 asks the kernel for an ephemeral port.
class SocketAddr {
 public:
  /// 0.0.0.0:0
  SocketAddr() noexcept;
  /// "a.b.c.d:port" or "[v6]:port" (port decimal 0-65535); nullopt for anything else.
  [[nodiscard]] static std::optional<SocketAddr> parse(std::string_view text);
  /// A numeric host ("127.0.0.1", "::1") and a port; nullopt if the host is not numeric.
  [[nodiscard]] static std::optional<SocketAddr> from_host_port(std::string_view host, std::uint16_t port);
  /// 127.0.0.1:port
  [[nodiscard]] static SocketAddr loopback_v4(std::uint16_t port = 0) noexcept;
  /// [::1]:port
  [[nodiscard]] static SocketAddr loopback_v6(std::uint16_t port = 0) noexcept;
  /// From what the kernel returned; nullopt if the family is not AF_INET/AF_INET6.
  [[nodiscard]] static std::optional<SocketAddr> from_sockaddr(const sockaddr* sa, socklen_t len) noexcept;

  [[nodiscard]] bool is_ipv4() const noexcept { return storage_.ss_family == AF_INET; }
  [[nodiscard]] bool is_ipv6() const noexcept { return storage_.ss_family == AF_INET6; }
  [[nodiscard]] int family() const noexcept { return storage_.ss_family; }
  [[nodiscard]] std::uint16_t port() const noexcept;
  void set_port(std::uint16_t port) noexcept;
  /// True for 127.0.0.0/8, ::1 and IPv4-mapped loopback.
  [[nodiscard]] bool is_loopback() const noexcept;
  /// The host part as text ("127.0.0.1", "::1").
  [[nodiscard]] std::string ip_string() const;
  /// "127.0.0.1:8080" or "[::1]:8080".
  [[nodiscard]] std::string to_string() const;

  [[nodiscard]] const sockaddr* as_sockaddr() const noexcept {
    return reinterpret_cast<const sockaddr*>(&storage_);
  }
  [[nodiscard]] socklen_t len() const noexcept;

  friend bool operator==(const SocketAddr& a, const SocketAddr& b) noexcept;

 private:
  sockaddr_storage storage_{};
};

/// A Unix-domain socket address: a filesystem path, a Linux abstract name (no file;
/// the name is bytes, shown with a leading '@'), or unnamed (an unbound socket, or
/// the client end of a connection).
class UnixAddr {
 public:
  /// Unnamed.
  UnixAddr() noexcept;
  /// A pathname address; nullopt if empty, too long for sun_path, or holds a NUL.
  [[nodiscard]] static std::optional<UnixAddr> from_path(std::string_view path);
  /// An abstract-namespace address; nullopt if too long.
  [[nodiscard]] static std::optional<UnixAddr> from_abstract_name(std::string_view name);
  [[nodiscard]] static UnixAddr from_sockaddr(const sockaddr* sa, socklen_t len) noexcept;

  [[nodiscard]] bool is_unnamed() const noexcept;
  /// The path, if this is a pathname address.
  [[nodiscard]] std::optional<std::string> as_pathname() const;
  /// The name (without the leading NUL), if this is an abstract address.
  [[nodiscard]] std::optional<std::string> as_abstract_name() const;
  /// The path, "@name" for an abstract one, "(unnamed)".
  [[nodiscard]] std::string to_string() const;

  [[nodiscard]] const sockaddr* as_sockaddr() const noexcept {
    return reinterpret_cast<const sockaddr*>(&addr_);
  }
  [[nodiscard]] socklen_t len() const noexcept { return len_; }

  friend bool operator==(const UnixAddr& a, const UnixAddr& b) noexcept;

 private:
  sockaddr_un addr_{};
  socklen_t len_;
};

}  // namespace ready::net
