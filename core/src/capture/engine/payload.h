// Payload buffers: the bytes each source's reads and writes moved, kept by the poll thread
// and copied out by Engine::payload from any thread (docs/engine.md, "Payload").
//
// Inline: keep() runs after every read and write that moved bytes (see poll_thread.h).
#pragma once

#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <type_traits>

#include "capture/engine/poll_thread.h"
#include "linux/os.h"

namespace ready::capture {

namespace detail {

/// A fixed array of a trivial type, allocated without initialisation; its whole pages are
/// mapped in at once by os::populate (as RecordStore's are) instead of a page fault each. A payload buffer is created on the poll thread at a source's first
/// kept byte; zero-filling its 64 KiB faulted 16 pages in one by one (15-20 us each on the
/// project's VMs), for every source. Best effort: without the madvise, pages fault on use.
template <class T>
class PopulatedArray {
  static_assert(std::is_trivially_default_constructible_v<T> && std::is_trivially_destructible_v<T>);

 public:
  explicit PopulatedArray(std::size_t n) : p_(std::make_unique_for_overwrite<T[]>(n)), n_(n) {
    os::populate(p_.get(), n * sizeof(T));
  }
  [[nodiscard]] std::size_t size() const noexcept { return n_; }
  [[nodiscard]] T* data() noexcept { return p_.get(); }
  [[nodiscard]] const T* data() const noexcept { return p_.get(); }
  T& operator[](std::size_t i) noexcept { return p_[i]; }
  const T& operator[](std::size_t i) const noexcept { return p_[i]; }

 private:
  std::unique_ptr<T[]> p_;
  std::size_t n_;
};

}  // namespace detail

/// One source's kept payload: a byte ring of payload_bytes_per_source bytes and a ring of
/// chunk descriptions, both allocated once. Byte offset o of the source's payload stream sits
/// at bytes[o % capacity]; [tail, head) is kept, everything below tail was evicted. The poll
/// thread appends under `m`; payload() copies out under `m` (memcpy only: docs/engine.md, "Payload").
struct alignas(64) Engine::PayloadBuffer {
  // No initialisers (so the ring of them is allocated uninitialised): append writes every
  // field of a slot before it is part of [first, first + count). 24 bytes, so a chunk
  // description is one cache line's third and the pipeline's many small reads touch few lines.
  struct Meta {
    std::uint64_t offset;
    std::uint64_t t_ns;
    std::uint32_t len;
    Direction direction;
    std::uint8_t peer_len;  // 0: no peer (its peer slot is written only when > 0)
  };
  /// The largest sender a chunk keeps (a Unix one); a buffer's slots are `peer_bytes` each.
  using Peer = std::array<unsigned char, sizeof(sockaddr_un)>;

  /// `slot_bytes`: the size of a sender slot per chunk: sizeof(sockaddr_in6) for UDP,
  /// sizeof(sockaddr_un) for a Unix datagram socket, 0 for sources without senders.
  PayloadBuffer(std::size_t capacity, std::size_t slot_bytes)
      : bytes(capacity),
        metas(std::max<std::size_t>(16, capacity / 128)),
        peer_bytes(slot_bytes),
        peers(slot_bytes * metas.size()) {}

  /// Keeps `data` (evicting the oldest bytes and chunks as needed); returns the bytes this
  /// call evicted (including any of `data` itself beyond the capacity).
  std::uint64_t append(Direction d, std::uint64_t t_ns, std::span<const std::byte> data,
                       const detail::PeerAddr* peer) {
    const std::uint64_t cap = bytes.size();
    const std::uint64_t n = data.size();
    const std::uint64_t skip = n > cap ? n - cap : 0;
    std::lock_guard lock(m);
    const std::uint64_t new_head = head + n;
    const std::uint64_t floor = new_head > cap ? new_head - cap : 0;  // lowest offset that stays
    const std::uint64_t before = tail;
    while (count > 0) {
      Meta& f = metas[first];
      const bool full = count == metas.size();
      if (!full && f.offset >= floor) break;
      if (full || f.offset + f.len <= floor) {
        tail = f.offset + f.len;
        if (++first == metas.size()) first = 0;  // no division on the poll thread's hot path
        --count;
        continue;
      }
      const std::uint64_t cut = floor - f.offset;  // evict the front of this chunk only
      f.offset += cut;
      f.len -= static_cast<std::uint32_t>(cut);
      tail = f.offset;
      break;
    }
    const std::uint64_t start = head + skip;
    if (count == 0) tail = start;
    const std::uint64_t keep = n - skip;
    // start % cap, without a division unless more than the capacity came in at once.
    const std::size_t pos = skip == 0 ? head_pos : static_cast<std::size_t>(start % cap);
    const std::size_t part = std::min<std::size_t>(static_cast<std::size_t>(keep), bytes.size() - pos);
    std::memcpy(bytes.data() + pos, data.data() + skip, part);
    if (keep > part)  // wrapped around the end: usually not, and then no second call
      std::memcpy(bytes.data(), data.data() + skip + part, static_cast<std::size_t>(keep) - part);
    std::size_t slot = first + count;  // first < size and count < size (one was evicted if full)
    if (slot >= metas.size()) slot -= metas.size();
    Meta& mt = metas[slot];
    mt.offset = start;
    mt.t_ns = t_ns;
    mt.len = static_cast<std::uint32_t>(keep);
    mt.direction = d;
    mt.peer_len = 0;
    if (peer && peer->len != 0 && peer->len <= peer_bytes) {
      std::memcpy(peers.data() + slot * peer_bytes, peer->bytes.data(), peer->len);
      mt.peer_len = static_cast<std::uint8_t>(peer->len);
    }
    ++count;
    head = new_head;
    head_pos = pos + static_cast<std::size_t>(keep);  // new_head % cap: pos < cap, keep <= cap
    if (head_pos >= cap) head_pos -= static_cast<std::size_t>(cap);
    return tail - before;
  }

  void close() {
    std::lock_guard lock(m);
    closed = true;
  }

  /// A copy of the chunks from stream offset `since` on (payload.cpp: the consumer's side).
  PayloadSnapshot snapshot(std::uint64_t since) const;

  // Ordered (and the struct aligned) so that an append touches two cache lines: the lock
  // and the indices it reads first, then the rest of the indices and the arrays' pointers.
  mutable std::mutex m;
  std::uint64_t head = 0;                   // guarded by m: bytes ever appended
  std::size_t first = 0;                    // guarded by m: index of the oldest chunk in metas
  std::size_t count = 0;                    // guarded by m
  std::size_t head_pos = 0;                 // guarded by m: head % bytes.size()
  std::uint64_t tail = 0;                   // guarded by m: bytes evicted (everything below it)
  detail::PopulatedArray<std::byte> bytes;  // guarded by m (its size is fixed)
  detail::PopulatedArray<Meta> metas;       // guarded by m (its size is fixed)
  std::size_t peer_bytes;                   // a sender slot's size (0: no senders)
  detail::PopulatedArray<unsigned char> peers;  // guarded by m (its size is fixed): a slot per meta, or empty
  bool closed = false;                      // guarded by m
};

inline void Engine::Impl::keep(Src& s, Direction d, std::span<const std::byte> data,
                               const detail::PeerAddr* peer) {
  const std::size_t cap = eng->config_.payload_bytes_per_source;
  if (data.empty() || cap == 0 || s.payload_failed) return;
  if (!s.payload) {
    try {
      const std::size_t peer_bytes = s.kind == SourceKind::udp             ? sizeof(sockaddr_in6)
                                     : s.kind == SourceKind::unix_datagram ? sizeof(sockaddr_un)
                                                                           : 0;
      auto b = std::make_shared<PayloadBuffer>(cap, peer_bytes);
      std::lock_guard lock(eng->payload_mutex_);
      eng->payloads_[s.token.value] = b;
      s.payload = std::move(b);
    } catch (const std::bad_alloc&) {
      s.payload_failed = true;
      warning(&s, WarningKind::engine_error, 0, ENOMEM);
      return;
    }
  }
  const std::uint64_t evicted = s.payload->append(d, stamp(), data, peer);
  if (evicted != 0 && !s.evict_warned) {
    s.evict_warned = true;
    warning(&s, WarningKind::payload_truncated, evicted);
  }
}
inline void Engine::Impl::retire_payload(Src& s) {
  if (!s.payload) return;
  s.payload->close();
  std::lock_guard lock(eng->payload_mutex_);
  eng->closed_payloads_.push_back(s.token.value);
  while (eng->closed_payloads_.size() > eng->config_.payload_closed_sources) {
    eng->payloads_.erase(eng->closed_payloads_.front());
    eng->closed_payloads_.pop_front();
  }
}
}  // namespace ready::capture
