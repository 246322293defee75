// The /proc parsers of ready/attach/procfs.h: text in, values out, no system call.
#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

#include "ready/attach/procfs.h"
#include "ready/capture/command.h"

namespace ready::attach {

namespace {

constexpr bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r'; }

/// The next blank-separated word of `s` (advancing it), "" at the end.
std::string_view next_word(std::string_view& s) noexcept {
  std::size_t i = 0;
  while (i < s.size() && is_blank(s[i])) ++i;
  std::size_t j = i;
  while (j < s.size() && !is_blank(s[j])) ++j;
  const std::string_view w = s.substr(i, j - i);
  s.remove_prefix(j);
  return w;
}

template <class T>
bool parse_num(std::string_view s, T& out, int base) noexcept {
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && p == s.data() + s.size();
}

/// Calls f(line, number) for each line of `text` (1-based), without the newline.
template <class F>
void for_lines(std::string_view text, F f) {
  std::size_t n = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!f(line, ++n)) return;
  }
}

std::string line_error(std::size_t line, std::string_view what) {
  return "line " + std::to_string(line) + ": " + std::string(what);
}

/// "key:value" pairs of one fdinfo line: a word ending in ':' takes the next word as its
/// value; a word with a ':' inside is split there.
template <class F>
void for_pairs(std::string_view line, F f) {
  for (;;) {
    std::string_view w = next_word(line);
    if (w.empty()) return;
    const std::size_t colon = w.find(':');
    if (colon == std::string_view::npos) continue;  // a stray word: not a key
    const std::string_view key = w.substr(0, colon);
    std::string_view value = w.substr(colon + 1);
    if (value.empty()) value = next_word(line);
    f(key, value);
  }
}

std::string inet_text(const unsigned char* addr, bool v6, unsigned port) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  if (!::inet_ntop(v6 ? AF_INET6 : AF_INET, addr, buf.data(), buf.size())) return {};
  std::string a(buf.data());
  return v6 ? "[" + a + "]:" + std::to_string(port) : a + ":" + std::to_string(port);
}

/// "0100007F:1F90" (or 32 hex digits for IPv6) as text; nullopt when it does not parse.
std::optional<std::string> parse_inet_addr(std::string_view w, bool v6, bool& unspecified) {
  const std::size_t colon = w.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view hex = w.substr(0, colon);
  unsigned port = 0;
  if (!parse_num(w.substr(colon + 1), port, 16) || port > 0xffff) return std::nullopt;
  const std::size_t words = v6 ? 4 : 1;
  if (hex.size() != words * 8) return std::nullopt;
  std::array<unsigned char, 16> bytes{};
  for (std::size_t i = 0; i < words; ++i) {
    std::uint32_t v = 0;
    if (!parse_num(hex.substr(i * 8, 8), v, 16)) return std::nullopt;
    // The kernel prints each 32-bit word of the network-order address as a host integer.
    std::memcpy(bytes.data() + i * 4, &v, 4);
  }
  unspecified = port == 0;
  for (std::size_t i = 0; i < words * 4; ++i) unspecified = unspecified && bytes[i] == 0;
  return inet_text(bytes.data(), v6, port);
}

}  // namespace

std::string mask_text(std::uint32_t events) {
  static constexpr std::array<std::pair<std::uint32_t, std::string_view>, 8> kAsked{{
      {kEpollIn, "IN"},
      {kEpollOut, "OUT"},
      {kEpollPri, "PRI"},
      {kEpollRdHup, "RDHUP"},
      {kEpollEt, "ET"},
      {kEpollOneshot, "ONESHOT"},
      {kEpollExclusive, "EXCLUSIVE"},
      {kEpollWakeup, "WAKEUP"},
  }};
  std::string out;
  std::uint32_t rest = events & ~kEpollAlways;
  for (const auto& [bit, name] : kAsked) {
    if ((rest & bit) == 0) continue;
    rest &= ~bit;
    if (!out.empty()) out += '|';
    out += name;
  }
  if (rest != 0) {
    std::array<char, 16> buf{};
    const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), rest, 16);
    if (!out.empty()) out += '|';
    out += "0x" + std::string(buf.data(), r.ptr);
  }
  const std::uint32_t always = events & kEpollAlways;
  if (always != 0) {
    if (!out.empty()) out += ' ';
    out += '+';
    if (always & kEpollErr) out += "ERR";
    if (always == kEpollAlways) out += '|';
    if (always & kEpollHup) out += "HUP";
  }
  return out.empty() ? std::string("none") : out;
}

std::uint32_t source_bits_of(std::uint32_t events) noexcept {
  std::uint8_t b = 0;
  if (events & kEpollIn) b |= Interest::READABLE.bits();
  if (events & kEpollOut) b |= Interest::WRITABLE.bits();
  if (events & kEpollPri) b |= Interest::PRIORITY.bits();
  const Trigger t = (events & kEpollOneshot) ? Trigger::oneshot : (events & kEpollEt) ? Trigger::edge : Trigger::level;
  capture::SourceBits sb;
  sb.interest = Interest::from_bits(b).value_or(Interest::READABLE);
  sb.paused = b == 0;
  sb.trigger = t;
  sb.reaction = capture::Reaction::none;
  return sb.pack();
}

std::expected<FdInfo, std::string> parse_fdinfo(std::string_view text) {
  FdInfo info;
  std::string error;
  for_lines(text, [&](std::string_view line, std::size_t n) {
    std::string_view probe = line;
    const std::string_view first = next_word(probe);
    if (first.starts_with("tfd:")) {
      EpollEntry e;
      bool have_tfd = false, have_events = false, have_data = false, bad = false;
      std::string_view bad_key;
      for_pairs(line, [&](std::string_view key, std::string_view v) {
        bool ok = true;
        if (key == "tfd") {
          ok = parse_num(v, e.tfd, 10) && e.tfd >= 0;
          have_tfd = ok;
        } else if (key == "events") {
          ok = parse_num(v, e.events, 16);
          have_events = ok;
        } else if (key == "data") {
          ok = parse_num(v, e.data, 16);
          have_data = ok;
        } else if (key == "pos") {
          std::uint64_t p = 0;
          ok = parse_num(v, p, 10);
          if (ok) e.pos = p;
        } else if (key == "ino") {
          std::uint64_t i = 0;
          ok = parse_num(v, i, 16);
          if (ok) e.ino = i;
        } else if (key == "sdev") {
          std::uint32_t d = 0;
          ok = parse_num(v, d, 16);
          if (ok) e.sdev = d;
        }
        if (!ok && !bad) {
          bad = true;
          bad_key = key;
        }
      });
      if (bad) {
        error = line_error(n, "bad value of \"" + std::string(bad_key) + "\" in a tfd line");
        return false;
      }
      if (!have_tfd || !have_events || !have_data) {
        error = line_error(n, "a tfd line without tfd, events and data");
        return false;
      }
      if (info.entries.size() == kMaxEpollEntries) {
        error = line_error(n, "more than " + std::to_string(kMaxEpollEntries) + " watched descriptors");
        return false;
      }
      info.entries.push_back(e);
      return true;
    }
    if (first == "pos:" || first == "flags:") {
      const std::string_view v = next_word(probe);
      bool ok = false;
      if (first == "pos:") {
        std::uint64_t p = 0;
        ok = parse_num(v, p, 10);
        if (ok) info.pos = p;
      } else {
        std::uint32_t f = 0;
        ok = parse_num(v, f, 8);
        if (ok) info.flags = f;
      }
      if (!ok) {
        error = line_error(n, "bad value of \"" + std::string(first.substr(0, first.size() - 1)) + "\"");
        return false;
      }
    }
    return true;  // any other line: not ours (newer kernels add some)
  });
  if (!error.empty()) return std::unexpected(std::move(error));
  return info;
}

LinkTarget classify_link(std::string_view link) noexcept {
  const auto bracketed = [&](std::string_view prefix, LinkKind k) -> std::optional<LinkTarget> {
    if (!link.starts_with(prefix) || !link.ends_with("]")) return std::nullopt;
    std::uint64_t ino = 0;
    if (!parse_num(link.substr(prefix.size(), link.size() - prefix.size() - 1), ino, 10)) return std::nullopt;
    return LinkTarget{k, ino};
  };
  if (auto s = bracketed("socket:[", LinkKind::socket)) return *s;
  if (auto p = bracketed("pipe:[", LinkKind::pipe)) return *p;
  if (link == "anon_inode:[eventfd]") return {LinkKind::eventfd, 0};
  if (link == "anon_inode:[timerfd]") return {LinkKind::timerfd, 0};
  if (link == "anon_inode:[signalfd]") return {LinkKind::signalfd, 0};
  if (link == "anon_inode:[eventpoll]") return {LinkKind::epoll, 0};
  if (link.starts_with('/')) return {LinkKind::file, 0};
  return {LinkKind::other, 0};
}

std::expected<std::vector<InetSocket>, std::string> parse_inet_table(std::string_view text, bool v6) {
  std::vector<InetSocket> out;
  std::string error;
  for_lines(text, [&](std::string_view line, std::size_t n) {
    if (n == 1) return true;  // the column names
    std::string_view rest = line;
    const std::string_view sl = next_word(rest);
    if (sl.empty()) return true;
    if (n > kMaxNetLines) {
      error = line_error(n, "more than " + std::to_string(kMaxNetLines) + " lines");
      return false;
    }
    const std::string_view local = next_word(rest), remote = next_word(rest), st = next_word(rest);
    for (int skip = 0; skip < 5; ++skip) (void)next_word(rest);  // queues, timer, retransmits, uid, timeout
    const std::string_view inode = next_word(rest);
    InetSocket s;
    bool unspec_local = false, unspec_peer = false;
    auto l = parse_inet_addr(local, v6, unspec_local);
    auto r = parse_inet_addr(remote, v6, unspec_peer);
    if (!sl.ends_with(':') || !l || !r || !parse_num(st, s.state, 16) || !parse_num(inode, s.inode, 10)) {
      error = line_error(n, "not a net table line (sl local remote st ... inode)");
      return false;
    }
    s.local = std::move(*l);
    if (!unspec_peer) s.peer = std::move(*r);
    out.push_back(std::move(s));
    return true;
  });
  if (!error.empty()) return std::unexpected(std::move(error));
  return out;
}

std::expected<std::vector<UnixSocket>, std::string> parse_unix_table(std::string_view text) {
  constexpr std::uint32_t kAcceptCon = 0x10000;  // __SO_ACCEPTCON: a listening socket
  std::vector<UnixSocket> out;
  std::string error;
  for_lines(text, [&](std::string_view line, std::size_t n) {
    if (n == 1) return true;
    std::string_view rest = line;
    const std::string_view num = next_word(rest);
    if (num.empty()) return true;
    if (n > kMaxNetLines) {
      error = line_error(n, "more than " + std::to_string(kMaxNetLines) + " lines");
      return false;
    }
    (void)next_word(rest);  // RefCount
    (void)next_word(rest);  // Protocol
    const std::string_view flags = next_word(rest), type = next_word(rest);
    (void)next_word(rest);  // St
    const std::string_view inode = next_word(rest);
    UnixSocket u;
    std::uint32_t f = 0;
    if (!num.ends_with(':') || !parse_num(flags, f, 16) || !parse_num(type, u.type, 16) ||
        !parse_num(inode, u.inode, 10)) {
      error = line_error(n, "not a unix table line (Num RefCount Protocol Flags Type St Inode Path)");
      return false;
    }
    u.listening = (f & kAcceptCon) != 0;
    while (!rest.empty() && is_blank(rest.front())) rest.remove_prefix(1);
    u.path = std::string(rest);  // may hold blanks
    out.push_back(std::move(u));
    return true;
  });
  if (!error.empty()) return std::unexpected(std::move(error));
  return out;
}

Resolved resolve(std::string_view link, const NetTables& net, std::optional<std::uint32_t> open_flags) {
  using capture::SourceKind;
  const LinkTarget t = classify_link(link);
  Resolved r;
  switch (t.kind) {
    case LinkKind::socket:
      if (const auto it = net.tcp.find(t.inode); it != net.tcp.end()) {
        r.kind = it->second.state == kTcpListen ? SourceKind::tcp_listener : SourceKind::tcp_stream;
        r.local = it->second.local;
        r.peer = it->second.peer;
      } else if (const auto u = net.udp.find(t.inode); u != net.udp.end()) {
        r.kind = SourceKind::udp;
        r.local = u->second.local;
        r.peer = u->second.peer;
      } else if (const auto x = net.unix_sockets.find(t.inode); x != net.unix_sockets.end()) {
        r.kind = x->second.listening  ? SourceKind::unix_listener
                 : x->second.type == 2 ? SourceKind::unix_datagram
                                       : SourceKind::unix_stream;
        r.local = x->second.path;
      } else {
        r.kind = SourceKind::socket;
        r.local = std::string(link);
      }
      return r;
    case LinkKind::pipe:
      // O_ACCMODE == O_WRONLY (1): the write end.
      r.kind = open_flags && (*open_flags & 3u) == 1u ? SourceKind::pipe_sender : SourceKind::pipe_receiver;
      r.local = std::string(link);
      return r;
    case LinkKind::eventfd:
      r.kind = SourceKind::eventfd;
      return r;
    case LinkKind::timerfd:
      r.kind = SourceKind::timerfd;
      return r;
    case LinkKind::signalfd:
      r.kind = SourceKind::signalfd;
      return r;
    case LinkKind::epoll:
      r.kind = SourceKind::epoll;
      return r;
    case LinkKind::file:
      r.kind = SourceKind::file;
      r.local = std::string(link);
      return r;
    case LinkKind::other:
      break;
  }
  r.kind = SourceKind::other;
  r.local = std::string(link);
  return r;
}

}  // namespace ready::attach
