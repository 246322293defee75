// Payload buffers, the cold parts: growing a buffer (poll thread), and the consumer's side,
// Engine::payload and the copy it makes (payload.h).
#include "capture/engine/payload.h"

#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

namespace ready::capture {

void Engine::PayloadBuffer::grow(std::uint64_t held_bytes, std::size_t held_chunks) {
  std::size_t nb = bytes.size();
  while (nb < held_bytes && nb < max_bytes) nb = nb > max_bytes / 2 ? max_bytes : nb * 2;
  std::size_t nm = metas.size();
  while (nm < held_chunks && nm < max_chunks) nm = nm > max_chunks / 2 ? max_chunks : nm * 2;
  // Allocate (and populate) before taking the lock: under it, only copies.
  detail::PopulatedArray<std::byte> b2;
  detail::PopulatedArray<Meta> m2;
  detail::PopulatedArray<unsigned char> p2;
  if (nb != bytes.size()) b2 = detail::PopulatedArray<std::byte>(nb);
  if (nm != metas.size()) {
    m2 = detail::PopulatedArray<Meta>(nm);
    if (peer_bytes != 0) p2 = detail::PopulatedArray<unsigned char>(nm * peer_bytes);
  }
  std::lock_guard lock(m);
  if (b2.size() != 0) {
    // Byte offset o moves from old[o % old size] to new[o % new size]: [tail, head) in at
    // most two pieces out of the old ring and two into the new one.
    for (std::uint64_t o = tail; o < head;) {
      const std::size_t from = static_cast<std::size_t>(o % bytes.size());
      const std::size_t to = static_cast<std::size_t>(o % nb);
      const std::size_t n = static_cast<std::size_t>(
          std::min<std::uint64_t>({head - o, bytes.size() - from, nb - to}));
      std::memcpy(b2.data() + to, bytes.data() + from, n);
      o += n;
    }
    head_pos = static_cast<std::size_t>(head % nb);
    bytes.swap(b2);
  }
  if (m2.size() != 0) {
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t slot = (first + i) % metas.size();
      m2[i] = metas[slot];
      if (p2.size() != 0 && metas[slot].peer_len != 0)
        std::memcpy(p2.data() + i * peer_bytes, peers.data() + slot * peer_bytes, peer_bytes);
    }
    first = 0;
    metas.swap(m2);
    if (p2.size() != 0) peers.swap(p2);
  }
}  // the old arrays are freed here, after the lock

PayloadSnapshot Engine::PayloadBuffer::snapshot(std::uint64_t since, std::size_t max_bytes_out) const {
  // Allocate before taking the lock: under it, only copies (the poll thread may wait on it).
  // The sizes come from the bounds, which never change: the rings may grow meanwhile. Every
  // chunk copied holds at least one of the bytes copied, so `most` chunks suffice.
  const std::size_t most = std::min(max_bytes, max_bytes_out);
  const std::size_t most_chunks = std::min(max_chunks, most);
  std::vector<Meta> ms;
  ms.reserve(most_chunks);
  std::vector<Peer> ps;
  ps.reserve(peer_bytes != 0 ? most_chunks : 0);
  std::vector<std::byte> raw(most);
  PayloadSnapshot out;
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;  // copied: [lo, hi)
  {
    std::lock_guard lock(m);
    out.evicted = tail;
    out.closed = closed;
    lo = std::max(tail, since);
    hi = head > lo ? lo + std::min<std::uint64_t>(head - lo, most) : lo;
    out.next = head > lo ? hi : head;
    if (hi > lo) {
      for (std::size_t i = 0; i < count; ++i) {
        const std::size_t slot = (first + i) % metas.size();
        const Meta& mt = metas[slot];
        if (mt.offset >= hi) break;
        if (mt.offset + mt.len > lo) {
          ms.push_back(mt);
          if (peer_bytes != 0) std::memcpy(ps.emplace_back().data(), peers.data() + slot * peer_bytes, peer_bytes);
        }
      }
      // The kept bytes [lo, hi), unwrapped into raw[0, hi - lo).
      const std::size_t n = static_cast<std::size_t>(hi - lo);
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
    const std::uint64_t end = std::min(mt.offset + mt.len, hi);
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
    c.bytes.assign(at, at + static_cast<std::ptrdiff_t>(end - begin));
    out.chunks.push_back(std::move(c));
  }
  return out;
}

std::optional<PayloadSnapshot> Engine::payload(Token token, std::uint64_t since, std::size_t max_bytes) const {
  std::shared_ptr<PayloadBuffer> b;
  {
    std::lock_guard lock(payload_mutex_);
    auto it = payloads_.find(token.value);
    if (it == payloads_.end()) return std::nullopt;
    b = it->second;
  }
  return b->snapshot(since, max_bytes);
}

}  // namespace ready::capture
