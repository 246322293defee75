// Follow stream: the conversation model and its socat -v / hexdump -C style printing
// (ready/capture/follow.h).
#include "ready/capture/follow.h"

#include <algorithm>
#include <cstdio>

namespace ready::capture {

namespace {

bool printable(unsigned char c) noexcept { return c >= 0x20 && c < 0x7f; }

constexpr char kHexDigits[] = "0123456789abcdef";

void put_hex(std::string& out, unsigned char c) {
  out += kHexDigits[c >> 4];
  out += kHexDigits[c & 0xf];
}

}  // namespace

std::uint64_t follow_client_leg(std::uint64_t token,
                                const std::function<std::optional<FollowLeg>(std::uint64_t)>& leg) {
  const auto is_stream = [](SourceKind k) { return k == SourceKind::tcp_stream || k == SourceKind::unix_stream; };
  const auto self = leg(token);
  if (!self || self->reaction != Reaction::relay || !is_stream(self->kind) || self->related == 0) return 0;
  const auto parent = leg(self->related);
  if (!parent || parent->reaction != Reaction::relay) return 0;
  if (parent->kind == SourceKind::tcp_listener || parent->kind == SourceKind::unix_listener) return token;
  return is_stream(parent->kind) ? self->related : 0;
}

void Conversation::take(const PayloadChunk& chunk, std::vector<FollowItem>& out) {
  const std::uint64_t end = chunk.offset + chunk.bytes.size();
  if (end <= next_) return;  // seen already
  if (chunk.offset > next_) {
    // Bytes between what was seen and this chunk were evicted before anyone looked.
    FollowItem gap;
    gap.not_kept = chunk.offset - next_;
    gap.t_ns = chunk.t_ns;
    gap.stream_offset = next_;
    not_kept_ += gap.not_kept;
    out.push_back(std::move(gap));
    next_ = chunk.offset;
  }
  // A chunk that began below next() (cut by an earlier snapshot's end): only its new bytes.
  const std::size_t skip = static_cast<std::size_t>(next_ - chunk.offset);
  FollowItem item;
  item.t_ns = chunk.t_ns;
  item.direction = chunk.direction;
  item.stream_offset = next_;
  item.bytes.assign(chunk.bytes.begin() + static_cast<std::ptrdiff_t>(skip), chunk.bytes.end());
  std::uint64_t& seen = chunk.direction == Direction::in ? in_ : out_;
  ++(chunk.direction == Direction::in ? in_chunks_ : out_chunks_);
  item.from = seen;
  seen += item.bytes.size();
  next_ = end;
  out.push_back(std::move(item));
}

std::vector<FollowItem> Conversation::add(const PayloadSnapshot& snapshot) {
  std::vector<FollowItem> out;
  out.reserve(snapshot.chunks.size() + 1);
  for (const PayloadChunk& c : snapshot.chunks) take(c, out);
  if (snapshot.next > next_) {
    // Everything up to snapshot.next was evicted (no chunk of it was left to copy).
    FollowItem gap;
    gap.not_kept = snapshot.next - next_;
    gap.stream_offset = next_;
    not_kept_ += gap.not_kept;
    out.push_back(std::move(gap));
    next_ = snapshot.next;
  }
  return out;
}

std::vector<FollowItem> Conversation::add(const PayloadChunk& chunk) {
  std::vector<FollowItem> out;
  take(chunk, out);
  return out;
}

std::string follow_time(std::uint64_t t_ns) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%llu.%06llu s", static_cast<unsigned long long>(t_ns / 1'000'000'000),
                static_cast<unsigned long long>(t_ns % 1'000'000'000 / 1000));
  return buf;
}

std::string follow_header(const FollowItem& item, std::string_view connection) {
  std::string out;
  if (item.is_gap()) {
    out = "... " + std::to_string(item.not_kept) + " bytes not kept (payload bound) ...";
  } else {
    out += follow_mark(item.direction);
    out += ' ';
    out += follow_time(item.t_ns);
    out += "  length=" + std::to_string(item.bytes.size()) + " from=" + std::to_string(item.from) +
           " to=" + std::to_string(item.to());
  }
  if (!connection.empty()) {
    out += "  connection=";
    out += connection;
  }
  return out;
}

std::string follow_text(std::span<const std::byte> bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 8 + 1);
  for (const std::byte b : bytes) {
    const auto c = static_cast<unsigned char>(b);
    switch (c) {
      case '\n': out += '\n'; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\\': out += "\\\\"; break;
      default:
        if (printable(c)) {
          out += static_cast<char>(c);
        } else {
          out += "\\x";
          put_hex(out, c);
        }
    }
  }
  if (out.empty() || out.back() != '\n') out += '\n';
  return out;
}

std::string follow_hex(std::span<const std::byte> bytes, std::uint64_t first_offset) {
  std::string out;
  out.reserve((bytes.size() / 16 + 1) * 80);
  for (std::size_t at = 0; at < bytes.size(); at += 16) {
    char offset[24];
    std::snprintf(offset, sizeof offset, "%08llx  ", static_cast<unsigned long long>(first_offset + at));
    out += offset;
    const std::size_t n = std::min<std::size_t>(16, bytes.size() - at);
    for (std::size_t i = 0; i < 16; ++i) {
      if (i < n) {
        put_hex(out, static_cast<unsigned char>(bytes[at + i]));
        out += ' ';
      } else {
        out += "   ";
      }
      if (i == 7) out += ' ';
    }
    out += " |";
    for (std::size_t i = 0; i < n; ++i) {
      const auto c = static_cast<unsigned char>(bytes[at + i]);
      out += printable(c) ? static_cast<char>(c) : '.';
    }
    out += "|\n";
  }
  return out;
}

std::string follow_format(const FollowItem& item, FollowFormat format, std::string_view connection) {
  std::string out = follow_header(item, connection);
  out += '\n';
  if (item.is_gap()) return out;
  out += format == FollowFormat::hex ? follow_hex(item.bytes, item.from) : follow_text(item.bytes);
  return out;
}

}  // namespace ready::capture
