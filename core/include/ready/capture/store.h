// The record store: every record the consumer drained, kept in time order for queries.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <memory>
#include <unordered_map>
#include <vector>

#include "ready/capture/record.h"

namespace ready::capture {

/// The bounds of a RecordStore.
struct StoreLimits {
  /// Records per chunk: a power of two, at least 2. Storage is allocated a chunk at a time
  /// and old chunks never move.
  std::size_t chunk_records = std::size_t{1} << 16;
  /// The most records kept: at least `chunk_records`, at most `RecordStore::kMaxRecords`.
  /// When an append would exceed it, the oldest chunk is evicted first, so after the first
  /// eviction the store holds between `max_records - chunk_records + 1` and `max_records`.
  std::uint64_t max_records = std::uint64_t{1} << 24;
};

/// An append-only, chunked, time-ordered store of Records. Single-threaded: the consumer
/// that drains the ring appends; readers must be on the same thread (or synchronise).
///
/// Indices. Every appended record gets the next global index (0, 1, 2, ...), never reused;
/// the store holds the indices in [begin_index(), end_index()). Eviction only raises
/// begin_index(), one whole chunk at a time (the oldest), and adds to `evicted()`.
///
/// Time order. Times are kept non-decreasing: a record whose `t_ns` is less than the last
/// appended time is stored with the last time instead (clamped, not rejected: the record is
/// kept, its order of arrival is kept, and `clamped()` counts it). The engine's clock is
/// monotonic, so only merged or hand-made input is ever clamped.
///
/// Storage per record, in the chunk's parallel arrays: time (8 bytes), token id (4), kind
/// (1), and 4 more bytes that hold the epoll bits of a readiness record or, for every other
/// record, the position of the full 48-byte Record kept beside the chunk. Records about a
/// source (see `is_indexed_by_token`) also cost 4 bytes in their token's index. A readiness
/// record is stored compactly, in `kReadinessBytes` = 21 bytes, when its fd is the fd first
/// seen with its token and its unused fields (value, value2, err, op, outcome, reserved)
/// are zero, which is what the engine produces; otherwise it is kept in full. An action
/// record is stored compactly too, in the same 21 bytes (value and op in the 4 bytes,
/// outcome beside the kind), when its fd is its token's, its value is below 2^27, its op
/// below 32, and value2, err, bits and reserved are zero: what the engine's reactions
/// produce (a command's action carries its command id in value2 and is kept in full).
/// Either way `at()` returns exactly the Record appended (with the clamped time, if it was
/// clamped).
///
/// Per-token state (token value, its fd, its index) is kept while the store holds a record
/// of the token, and freed when its last one is evicted (its slot serves the next new token):
/// O(tokens with records held), so at most `max_records` however many sources a long capture
/// creates. A token seen again after that starts afresh (its fd: the one of its next record).
///
/// Costs (n = size(), k = records returned): append O(1) amortised (an eviction is O(chunk)
/// once per chunk); `lower_bound` and `range` O(log n): binary search over the chunks'
/// last times, then within one chunk; `token_range` O(log n) to find its ends in the
/// token's index, then O(1) per element; `count` O(1) on average (a hash lookup).
class RecordStore {
 public:
  /// The largest `max_records` allowed (so a token's index fits 32-bit offsets).
  static constexpr std::uint64_t kMaxRecords = std::uint64_t{1} << 31;
  /// Bytes per compactly stored readiness record, its token-index entry included.
  static constexpr std::size_t kReadinessBytes = sizeof(std::uint64_t) + 3 * sizeof(std::uint32_t) + 1;
  static_assert(kReadinessBytes <= 24, "a readiness record must be stored in at most 24 bytes");

  /// Global indices [begin, end).
  struct IndexRange {
    std::uint64_t begin = 0;
    std::uint64_t end = 0;
    [[nodiscard]] std::uint64_t size() const noexcept { return end - begin; }
    [[nodiscard]] bool empty() const noexcept { return begin == end; }
    friend bool operator==(const IndexRange&, const IndexRange&) = default;
  };

  /// The global indices of one token's records in a time range, oldest first. A view into
  /// the store: valid until the next append.
  class TokenIndices {
   public:
    class iterator {
     public:
      using iterator_category = std::forward_iterator_tag;
      using value_type = std::uint64_t;
      using difference_type = std::ptrdiff_t;
      iterator() = default;
      std::uint64_t operator*() const { return (*owner_)[pos_]; }
      iterator& operator++() {
        ++pos_;
        return *this;
      }
      iterator operator++(int) {
        iterator old = *this;
        ++pos_;
        return old;
      }
      friend bool operator==(const iterator& a, const iterator& b) { return a.pos_ == b.pos_; }

     private:
      friend class TokenIndices;
      iterator(const TokenIndices* owner, std::size_t pos) : owner_(owner), pos_(pos) {}
      const TokenIndices* owner_ = nullptr;
      std::size_t pos_ = 0;
    };

    TokenIndices() = default;
    [[nodiscard]] std::size_t size() const noexcept { return last_ - first_; }
    [[nodiscard]] bool empty() const noexcept { return first_ == last_; }
    /// The i-th global index (i < size()).
    std::uint64_t operator[](std::size_t i) const { return base_ + (*offsets_)[first_ + i]; }
    [[nodiscard]] iterator begin() const { return {this, 0}; }
    [[nodiscard]] iterator end() const { return {this, size()}; }

   private:
    friend class RecordStore;
    TokenIndices(const std::deque<std::uint32_t>* offsets, std::uint64_t base, std::size_t first,
                 std::size_t last)
        : offsets_(offsets), base_(base), first_(first), last_(last) {}
    const std::deque<std::uint32_t>* offsets_ = nullptr;
    std::uint64_t base_ = 0;
    std::size_t first_ = 0;
    std::size_t last_ = 0;
  };

  /// Throws std::invalid_argument if `limits` breaks the rules stated on StoreLimits.
  explicit RecordStore(StoreLimits limits = {});
  RecordStore(const RecordStore&) = delete;
  RecordStore& operator=(const RecordStore&) = delete;
  RecordStore(RecordStore&&) noexcept;
  RecordStore& operator=(RecordStore&&) noexcept;
  ~RecordStore();

  /// Appends a copy of `r` (time clamped as described above) and returns its global index.
  /// Evicts the oldest chunk first if the store is at `max_records`.
  std::uint64_t append(const Record& r);

  /// True for the kinds that are about one source and are indexed under their token:
  /// source_added / changed / removed, readiness, action, warning. The others (poll_return,
  /// note, stats) are kept and found by time, but no token query returns them.
  static constexpr bool is_indexed_by_token(RecordKind k) noexcept {
    return k != RecordKind::poll_return && k != RecordKind::note && k != RecordKind::stats;
  }

  // ---- queries ----

  /// Records held now.
  [[nodiscard]] std::uint64_t size() const noexcept { return end_ - begin_; }
  [[nodiscard]] bool empty() const noexcept { return end_ == begin_; }
  /// The oldest index held (== end_index() when empty).
  [[nodiscard]] std::uint64_t begin_index() const noexcept { return begin_; }
  /// One past the newest index: also the number of records ever appended.
  [[nodiscard]] std::uint64_t end_index() const noexcept { return end_; }

  /// The record at global index `i`. Throws std::out_of_range unless begin_index() <= i <
  /// end_index().
  [[nodiscard]] Record at(std::uint64_t i) const;
  /// Only the time of the record at `i` (same precondition, unchecked).
  [[nodiscard]] std::uint64_t time_at(std::uint64_t i) const noexcept;
  /// Only the kind of the record at `i` (same precondition, unchecked).
  [[nodiscard]] RecordKind kind_at(std::uint64_t i) const noexcept;

  /// The first index held whose time is >= `t_ns` (end_index() if none). O(log n).
  [[nodiscard]] std::uint64_t lower_bound(std::uint64_t t_ns) const noexcept;
  /// The records held with t0 <= t_ns < t1 (empty if t1 <= t0). O(log n).
  [[nodiscard]] IndexRange range(std::uint64_t t0, std::uint64_t t1) const noexcept;
  /// The records held of `token` with t0 <= t_ns < t1, oldest first. O(log n) + O(1) each.
  [[nodiscard]] TokenIndices token_range(std::uint64_t token, std::uint64_t t0, std::uint64_t t1) const;
  /// The records held of `token` (indexed kinds only). O(1).
  [[nodiscard]] std::uint64_t count(std::uint64_t token) const;

  // ---- accounting ----

  /// Records dropped by evicting old chunks (begin_index() == evicted()).
  [[nodiscard]] std::uint64_t evicted() const noexcept { return evicted_; }
  /// Records whose time was raised to keep the store time-ordered.
  [[nodiscard]] std::uint64_t clamped() const noexcept { return clamped_; }
  /// Records appended so far that were kept in full (not in a compact readiness or action form).
  [[nodiscard]] std::uint64_t stored_in_full() const noexcept { return full_count_; }
  /// Tokens with per-token state now: those with a record held (indexed kinds).
  [[nodiscard]] std::size_t token_count() const noexcept { return token_ids_.size(); }
  /// Per-token state slots allocated (in use, plus freed ones kept for reuse): the most
  /// tokens held at once so far.
  [[nodiscard]] std::size_t token_slots() const noexcept { return tokens_.size(); }
  /// Chunks allocated now (held, plus one spare kept for reuse after an eviction).
  [[nodiscard]] std::size_t chunk_count() const noexcept { return chunks_.size() + (spare_ ? 1 : 0); }
  /// An estimate of the heap bytes in use: chunk arrays, full records (capacity), token
  /// indices (rounded up to the deque's blocks) and per-token state.
  [[nodiscard]] std::size_t memory_bytes() const noexcept;
  [[nodiscard]] const StoreLimits& limits() const noexcept { return limits_; }

 private:
  struct Chunk;
  struct TokenState {
    std::uint64_t token = 0;
    std::int32_t fd = -1;
    std::uint64_t base = 0;             // global index the offsets are relative to
    std::deque<std::uint32_t> offsets;  // global index - base, ascending
  };
  static constexpr std::uint32_t kNoToken = 0xffffffffu;

  std::uint32_t token_id(std::uint64_t token, std::int32_t fd);
  std::uint32_t token_id_miss(std::uint64_t token, std::int32_t fd);
  const TokenState* find_token(std::uint64_t token) const;
  void evict_oldest();
  /// Frees a token's state once its last record is evicted.
  void release_token(std::uint32_t id);
  const Chunk& chunk_of(std::uint64_t i) const noexcept;

  StoreLimits limits_;
  unsigned shift_ = 0;
  std::uint64_t mask_ = 0;
  std::deque<std::unique_ptr<Chunk>> chunks_;
  std::unique_ptr<Chunk> spare_;
  std::uint64_t first_chunk_ = 0;  // chunk number (global index >> shift_) of chunks_.front()
  std::uint64_t begin_ = 0;
  std::uint64_t end_ = 0;
  std::uint64_t last_t_ = 0;
  std::uint64_t evicted_ = 0;
  std::uint64_t clamped_ = 0;
  std::uint64_t full_count_ = 0;
  std::vector<TokenState> tokens_;
  std::vector<std::uint32_t> free_ids_;  // slots of tokens_ whose token has no record held
  std::unordered_map<std::uint64_t, std::uint32_t> token_ids_;
  // A direct-mapped cache in front of token_ids_ (token % kTokenCache): the engine's tokens
  // are small consecutive numbers, so a capture's live sources rarely share a slot, and a
  // hit saves the hash map's lookup (a division by the bucket count) per record.
  struct TokenSlot {
    std::uint64_t token = 0;
    std::uint32_t id = kNoToken;
  };
  static constexpr std::size_t kTokenCache = 256;
  std::array<TokenSlot, kTokenCache> token_cache_{};
};

}  // namespace ready::capture
