// SocketAddr and UnixAddr: parsing, printing, conversion from what the kernel returns.
#include "ready/net/addr.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace ready::net {

SocketAddr::SocketAddr() noexcept { storage_.ss_family = AF_INET; }

std::optional<SocketAddr> SocketAddr::from_host_port(std::string_view host, std::uint16_t port) {
  if (host.empty() || host.size() > INET6_ADDRSTRLEN) return std::nullopt;
  char buf[INET6_ADDRSTRLEN + 1];
  std::memcpy(buf, host.data(), host.size());
  buf[host.size()] = '\0';
  SocketAddr a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  if (inet_pton(AF_INET, buf, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
  } else if (inet_pton(AF_INET6, buf, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
  } else {
    return std::nullopt;
  }
  a.set_port(port);
  return a;
}

std::optional<SocketAddr> SocketAddr::parse(std::string_view text) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (host.find(':') == std::string_view::npos) return std::nullopt;  // brackets are for IPv6 only
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs brackets
  }
  // Decimal 0-65535 only: no sign, no spaces, no service names, no leading zeros ("080").
  if (port.empty() || port.size() > 5 || (port.size() > 1 && port.front() == '0')) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value > 65535) return std::nullopt;
  return from_host_port(host, static_cast<std::uint16_t>(value));
}

SocketAddr SocketAddr::loopback_v4(std::uint16_t port) noexcept {
  SocketAddr a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  v4->sin_family = AF_INET;
  v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.set_port(port);
  return a;
}

SocketAddr SocketAddr::loopback_v6(std::uint16_t port) noexcept {
  SocketAddr a;
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  v6->sin6_family = AF_INET6;
  v6->sin6_addr = in6addr_loopback;
  a.set_port(port);
  return a;
}

std::optional<SocketAddr> SocketAddr::from_sockaddr(const sockaddr* sa, socklen_t len) noexcept {
  SocketAddr a;
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    std::memcpy(&a.storage_, sa, sizeof(sockaddr_in));
  } else if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    std::memcpy(&a.storage_, sa, sizeof(sockaddr_in6));
  } else {
    return std::nullopt;
  }
  return a;
}

std::uint16_t SocketAddr::port() const noexcept {
  return is_ipv4() ? ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port)
                   : ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
}

void SocketAddr::set_port(std::uint16_t port) noexcept {
  if (is_ipv4())
    reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
  else
    reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
}

bool SocketAddr::is_loopback() const noexcept {
  if (is_ipv4())
    return (ntohl(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr.s_addr) >> 24) == 127;
  const auto& a6 = reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr;
  if (IN6_IS_ADDR_LOOPBACK(&a6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

std::string SocketAddr::ip_string() const {
  char buf[INET6_ADDRSTRLEN];
  const void* src =
      is_ipv4() ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr)
                : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr);
  if (!inet_ntop(family(), src, buf, sizeof buf)) return "?";
  return buf;
}

std::string SocketAddr::to_string() const {
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on "[" + std::string at -O2.
  std::string s;
  if (is_ipv6()) s += '[';
  s += ip_string();
  if (is_ipv6()) s += ']';
  s += ':';
  s += std::to_string(port());
  return s;
}

socklen_t SocketAddr::len() const noexcept { return is_ipv4() ? sizeof(sockaddr_in) : sizeof(sockaddr_in6); }

bool operator==(const SocketAddr& a, const SocketAddr& b) noexcept {
  return a.len() == b.len() && std::memcmp(a.as_sockaddr(), b.as_sockaddr(), a.len()) == 0;
}

// --- UnixAddr: len_ == offsetof(sun_path) means unnamed; sun_path[0] == 0 means abstract.

UnixAddr::UnixAddr() noexcept : len_(offsetof(sockaddr_un, sun_path)) { addr_.sun_family = AF_UNIX; }

std::optional<UnixAddr> UnixAddr::from_path(std::string_view path) {
  // The path must fit with its terminating NUL.
  if (path.empty() || path.size() >= sizeof(addr_.sun_path) || path.find('\0') != std::string_view::npos)
    return std::nullopt;
  UnixAddr a;
  std::memcpy(a.addr_.sun_path, path.data(), path.size());
  a.len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return a;
}

std::optional<UnixAddr> UnixAddr::from_abstract_name(std::string_view name) {
  if (name.size() + 1 > sizeof(addr_.sun_path)) return std::nullopt;
  UnixAddr a;
  a.addr_.sun_path[0] = '\0';
  std::memcpy(a.addr_.sun_path + 1, name.data(), name.size());
  a.len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  return a;
}

UnixAddr UnixAddr::from_sockaddr(const sockaddr* sa, socklen_t len) noexcept {
  UnixAddr a;
  if (len > sizeof a.addr_) len = sizeof a.addr_;
  if (len >= offsetof(sockaddr_un, sun_path)) {
    std::memcpy(&a.addr_, sa, len);
    a.len_ = len;
  }
  return a;
}

bool UnixAddr::is_unnamed() const noexcept { return len_ <= offsetof(sockaddr_un, sun_path); }

std::optional<std::string> UnixAddr::as_pathname() const {
  if (is_unnamed() || addr_.sun_path[0] == '\0') return std::nullopt;
  const std::size_t max = len_ - offsetof(sockaddr_un, sun_path);
  return std::string(addr_.sun_path, strnlen(addr_.sun_path, max));
}

std::optional<std::string> UnixAddr::as_abstract_name() const {
  if (is_unnamed() || addr_.sun_path[0] != '\0') return std::nullopt;
  return std::string(addr_.sun_path + 1, len_ - offsetof(sockaddr_un, sun_path) - 1);
}

std::string UnixAddr::to_string() const {
  if (auto p = as_pathname()) return *p;
  if (auto n = as_abstract_name()) return "@" + *n;
  return "(unnamed)";
}

bool operator==(const UnixAddr& a, const UnixAddr& b) noexcept {
  return a.len_ == b.len_ && std::memcmp(&a.addr_, &b.addr_, a.len_) == 0;
}

}  // namespace ready::net
