// Payload buffers, the consumer's side: Engine::payload and the copy it makes (payload.h).
#include "capture/engine/payload.h"

#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

namespace ready::capture {

PayloadSnapshot Engine::PayloadBuffer::snapshot(std::uint64_t since) const {
  // Allocate before taking the lock: under it, only copies (the poll thread may wait on it).
  std::vector<Meta> ms;
  ms.reserve(metas.size());
  std::vector<Peer> ps;
  ps.reserve(peer_bytes != 0 ? metas.size() : 0);
  std::vector<std::byte> raw(bytes.size());
  PayloadSnapshot out;
  std::uint64_t lo = 0;
  {
    std::lock_guard lock(m);
    out.next = head;
    out.evicted = tail;
    out.closed = closed;
    lo = std::max(tail, since);
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t slot = (first + i) % metas.size();
      const Meta& mt = metas[slot];
      if (mt.offset + mt.len > lo) {
        ms.push_back(mt);
        if (peer_bytes != 0) std::memcpy(ps.emplace_back().data(), peers.data() + slot * peer_bytes, peer_bytes);
      }
    }
    if (head > lo) {  // the kept bytes from lo on, unwrapped into raw[0, head - lo)
      const std::size_t n = static_cast<std::size_t>(head - lo);
      const std::size_t pos = static_cast<std::size_t>(lo % bytes.size());
      const std::size_t part = std::min(n, bytes.size() - pos);
      std::memcpy(raw.data(), bytes.data() + pos, part);
      std::memcpy(raw.data() + part, bytes.data(), n - part);
    }
  }
  out.chunks.reserve(ms.size());
  for (std::size_t k = 0; k < ms.size(); ++k) {
    const Meta& mt = ms[k];
    PayloadChunk c;
    const std::uint64_t begin = std::max(mt.offset, lo);
    c.offset = begin;
    c.t_ns = mt.t_ns;
    c.direction = mt.direction;
    if (mt.peer_len != 0) {
      const auto* sa = reinterpret_cast<const sockaddr*>(ps[k].data());
      if (sa->sa_family == AF_UNIX)
        c.unix_peer = net::UnixAddr::from_sockaddr(sa, mt.peer_len);
      else
        c.peer = net::SocketAddr::from_sockaddr(sa, mt.peer_len);
    }
    const auto at = raw.begin() + static_cast<std::ptrdiff_t>(begin - lo);
    c.bytes.assign(at, at + static_cast<std::ptrdiff_t>(mt.offset + mt.len - begin));
    out.chunks.push_back(std::move(c));
  }
  return out;
}

std::optional<PayloadSnapshot> Engine::payload(Token token, std::uint64_t since) const {
  std::shared_ptr<PayloadBuffer> b;
  {
    std::lock_guard lock(payload_mutex_);
    auto it = payloads_.find(token.value);
    if (it == payloads_.end()) return std::nullopt;
    b = it->second;
  }
  return b->snapshot(since);
}

}  // namespace ready::capture
