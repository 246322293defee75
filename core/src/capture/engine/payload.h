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
/// mapped in at once by os::populate (as RecordStore's are) instead of a page fault each:
/// zero-filling a 64 KiB payload buffer faulted 16 pages in one by one (15-20 us each on the
/// project's VMs). Best effort: without the madvise, pages fault on use.
template <class T>
class PopulatedArray {
  static_assert(std::is_trivially_default_constructible_v<T> && std::is_trivially_destructible_v<T>);

 public:
  PopulatedArray() = default;
  explicit PopulatedArray(std::size_t n) : p_(std::make_unique_for_overwrite<T[]>(n)), n_(n) {
    os::populate(p_.get(), n * sizeof(T));
  }
  [[nodiscard]] std::size_t size() const noexcept { return n_; }
  [[nodiscard]] T* data() noexcept { return p_.get(); }
  [[nodiscard]] const T* data() const noexcept { return p_.get(); }
  T& operator[](std::size_t i) noexcept { return p_[i]; }
  const T& operator[](std::size_t i) const noexcept { return p_[i]; }
  void swap(PopulatedArray& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
  }

 private:
  std::unique_ptr<T[]> p_;
  std::size_t n_ = 0;
};

}  // namespace detail

/// One source's kept payload: a byte ring and a ring of chunk descriptions that grow with
/// what they hold (docs/engine.md, "Payload"): the bytes from kPayloadStartBytes, doubling up
/// to payload_bytes_per_source; the chunk table from chunks_for(its bytes), doubling up to
/// chunks_for(payload_bytes_per_source). Once grown, they are never allocated again. Byte
/// offset o of the source's payload stream sits at bytes[o % bytes.size()]; [tail, head) is
/// kept, everything below tail was evicted. The poll thread appends (and grows) under `m`;
/// payload() copies out under `m` (memcpy only: docs/engine.md, "Payload").
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

  /// The chunk descriptions a byte ring of `bytes` has room for (the bound's rule, 1 per 128 bytes).
  static constexpr std::size_t chunks_for(std::size_t bytes) noexcept {
    return std::max<std::size_t>(16, bytes / 128);
  }

  /// `bound`: payload_bytes_per_source (> 0). `slot_bytes`: the size of a sender slot per
  /// chunk: sizeof(sockaddr_in6) for UDP, sizeof(sockaddr_un) for a Unix datagram socket, 0
  /// for sources without senders.
  PayloadBuffer(std::size_t bound, std::size_t slot_bytes)
      : max_bytes(bound),
        max_chunks(chunks_for(bound)),
        bytes(std::min(bound, kPayloadStartBytes)),
        metas(chunks_for(bytes.size())),
        peers(slot_bytes * metas.size()),
        peer_bytes(slot_bytes) {}

  /// Keeps `data` (growing the rings, or evicting the oldest bytes and chunks once they are at
  /// their bound); returns the bytes this call evicted (including any of `data` itself beyond
  /// the bound). Throws std::bad_alloc if growing failed (nothing changed then).
  std::uint64_t append(Direction d, std::uint64_t t_ns, std::span<const std::byte> data,
                       const detail::PeerAddr* peer) {
    // The poll thread is the only writer of the indices, so it reads them without the lock.
    // Once both rings are at their bound, this is two comparisons per append.
    if (bytes.size() < max_bytes && head - tail + data.size() > bytes.size()) [[unlikely]]
      grow(head - tail + data.size(), count);
    if (count == metas.size() && metas.size() < max_chunks) [[unlikely]]
      grow(0, count + 1);
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

  /// A copy of the chunks from stream offset `since` on, at most `max_bytes_out` of their bytes
  /// (payload.cpp: the consumer's side).
  PayloadSnapshot snapshot(std::uint64_t since, std::size_t max_bytes_out) const;

  /// Bytes allocated for this buffer's rings now (for the docs' and tests' accounting).
  [[nodiscard]] std::size_t allocated_bytes() const noexcept {
    return bytes.size() + metas.size() * sizeof(Meta) + peers.size();
  }

  // Ordered (and the struct aligned) so that an append touches two cache lines: the lock
  // and the indices it reads first, then the rest of the indices, the bounds and the arrays'
  // pointers.
  mutable std::mutex m;
  std::uint64_t head = 0;                   // guarded by m: bytes ever appended
  std::size_t first = 0;                    // guarded by m: index of the oldest chunk in metas
  std::size_t count = 0;                    // guarded by m
  std::size_t head_pos = 0;                 // guarded by m: head % bytes.size()
  std::uint64_t tail = 0;                   // guarded by m: bytes evicted (everything below it)
  const std::size_t max_bytes;              // payload_bytes_per_source: the byte ring's bound
  const std::size_t max_chunks;             // chunks_for(max_bytes): the chunk table's bound
  detail::PopulatedArray<std::byte> bytes;  // guarded by m (replaced only by grow)
  detail::PopulatedArray<Meta> metas;       // guarded by m (replaced only by grow)
  detail::PopulatedArray<unsigned char> peers;  // guarded by m (replaced only by grow): a slot per meta, or empty
  bool closed = false;                      // guarded by m
  const std::size_t peer_bytes;             // a sender slot's size (0: no senders)

 private:
  /// Poll thread, cold (payload.cpp): grows the byte ring to hold `held_bytes` (doubling, at
  /// most max_bytes) and the chunk table to hold `held_chunks` (likewise, at most
  /// max_chunks). Allocates before taking the lock, then moves the kept bytes and chunks over.
  void grow(std::uint64_t held_bytes, std::size_t held_chunks);
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
  std::uint64_t evicted = 0;
  try {
    evicted = s.payload->append(d, stamp(), data, peer);
  } catch (const std::bad_alloc&) {  // growing failed: what is kept stays readable
    s.payload_failed = true;
    warning(&s, WarningKind::engine_error, 0, ENOMEM);
    return;
  }
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
