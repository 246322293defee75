// RecordStore: chunked parallel arrays, a per-token index of 32-bit offsets.
#include "ready/capture/store.h"


#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <new>
#include <stdexcept>
#include <type_traits>

#include "linux/os.h"


namespace ready::capture {

namespace {
template <class T>
std::unique_ptr<T[]> populated_array(std::size_t n) {
  auto a = std::make_unique_for_overwrite<T[]>(n);
  os::populate(a.get(), n * sizeof(T));
  return a;
}

/// Records per block of a chunk's full records (48 KiB: below malloc's mmap threshold, so
/// freed blocks go back to the heap and are reused instead of being unmapped).
constexpr std::size_t kFullBlock = 1024;

/// A chunk's full records, in fixed blocks of kFullBlock that never move. A vector growing
/// by doubling copied every record once more on average, and each doubling allocated (and
/// populated) a new buffer and unmapped the old one: in the pipeline benchmark that page
/// work was most of the consumer's time in append. Blocks are populated like the arrays.
class FullRecords {
  struct Free {
    void operator()(Record* p) const noexcept { ::operator delete(static_cast<void*>(p)); }
  };

 public:
  [[nodiscard]] std::size_t size() const noexcept { return n_; }
  /// Bytes allocated (whole blocks).
  [[nodiscard]] std::size_t capacity_bytes() const noexcept {
    return blocks_.size() * kFullBlock * sizeof(Record);
  }
  const Record& operator[](std::size_t i) const noexcept {
    return blocks_[i / kFullBlock].get()[i % kFullBlock];
  }
  void push_back(const Record& r) {
    const std::size_t at = n_ % kFullBlock;
    if (at == 0 && n_ / kFullBlock == blocks_.size()) {
      // Raw storage, populated before any record is written (a Record's default
      // initialisation would fault every page in first).
      std::unique_ptr<Record, Free> block(static_cast<Record*>(::operator new(kFullBlock * sizeof(Record))));
      os::populate(block.get(), kFullBlock * sizeof(Record));
      blocks_.push_back(std::move(block));
    }
    ::new (static_cast<void*>(blocks_[n_ / kFullBlock].get() + at)) Record(r);
    ++n_;
  }
  /// Forgets the records, keeps the blocks for reuse.
  void clear() noexcept { n_ = 0; }
  /// Forgets the records and gives the blocks back.
  void release() noexcept {
    blocks_.clear();
    n_ = 0;
  }

 private:
  static_assert(std::is_trivially_destructible_v<Record>, "records are never destroyed one by one");
  std::vector<std::unique_ptr<Record, Free>> blocks_;
  std::size_t n_ = 0;
};

// The kind byte of a record kept in full: its aux word is a position in Chunk::full.
constexpr std::uint8_t kFullFlag = 0x80;

// The compact forms (no kFullFlag). Readiness: kind byte = readiness, aux = epoll bits.
// Action: kind byte = action | outcome << 4, aux = value | op << kActionOpShift.
constexpr std::uint8_t kCompactKindMask = 0x0f;
constexpr unsigned kOutcomeShift = 4;
constexpr unsigned kActionOpShift = 27;
constexpr std::uint32_t kActionValueMask = (std::uint32_t{1} << kActionOpShift) - 1;
static_assert(static_cast<unsigned>(RecordKind::stats) <= kCompactKindMask, "a RecordKind must fit 4 bits");

bool is_compact_readiness(const Record& r) noexcept {
  return r.kind == RecordKind::readiness && r.value == 0 && r.value2 == 0 && r.err == 0 && r.op == 0 &&
         r.outcome == Outcome::ok && r.reserved == 0;
}

// An action as the engine's reactions record it: a value below 2^27 (bytes moved or a
// counter), an op below 32, an outcome below 8, and nothing in value2 (no command id), err,
// bits or reserved. (Actions of commands carry their command id in value2: kept in full.)
bool is_compact_action(const Record& r) noexcept {
  return r.kind == RecordKind::action && r.value <= kActionValueMask &&
         r.op < (1u << (32 - kActionOpShift)) &&
         static_cast<unsigned>(r.outcome) < (1u << (7 - kOutcomeShift)) && r.value2 == 0 && r.err == 0 &&
         r.bits == 0 && r.reserved == 0;
}
}  // namespace

// One chunk: parallel arrays of `chunk_records` slots, allocated once, never moved.
struct RecordStore::Chunk {
  explicit Chunk(std::size_t n)
      : t(populated_array<std::uint64_t>(n)),
        token(populated_array<std::uint32_t>(n)),
        aux(populated_array<std::uint32_t>(n)),
        kind(populated_array<std::uint8_t>(n)) {}
  std::unique_ptr<std::uint64_t[]> t;      // time, non-decreasing
  std::unique_ptr<std::uint32_t[]> token;  // token id, or kNoToken
  std::unique_ptr<std::uint32_t[]> aux;    // epoll bits (compact readiness) or position in `full`
  std::unique_ptr<std::uint8_t[]> kind;    // RecordKind, | kFullFlag when kept in full
  FullRecords full;
  std::size_t count = 0;  // slots used
};
static_assert(RecordStore::kReadinessBytes == sizeof(std::uint64_t) + sizeof(std::uint32_t) * 2 +
                                                  sizeof(std::uint8_t) + sizeof(std::uint32_t),
              "kReadinessBytes must match the chunk slot plus one token-index offset");

RecordStore::RecordStore(StoreLimits limits) : limits_(limits) {
  if (limits.chunk_records < 2 || !std::has_single_bit(limits.chunk_records) ||
      limits.chunk_records > (std::size_t{1} << 30))
    throw std::invalid_argument(
        "ready::capture::RecordStore: chunk_records must be a power of two in [2, 2^30]");
  if (limits.max_records < limits.chunk_records || limits.max_records > kMaxRecords)
    throw std::invalid_argument("ready::capture::RecordStore: max_records must be in [chunk_records, 2^31]");
  shift_ = static_cast<unsigned>(std::countr_zero(limits.chunk_records));
  mask_ = limits.chunk_records - 1;
}

RecordStore::RecordStore(RecordStore&&) noexcept = default;
RecordStore& RecordStore::operator=(RecordStore&&) noexcept = default;
RecordStore::~RecordStore() = default;

// The cache hit, inlined into append; the miss is out of line (it needs many registers,
// which a call saves and restores on every record otherwise).
inline std::uint32_t RecordStore::token_id(std::uint64_t token, std::int32_t fd) {
  const TokenSlot& cached = token_cache_[static_cast<std::size_t>(token % kTokenCache)];
  if (cached.id != kNoToken && cached.token == token) [[likely]]
    return cached.id;
  return token_id_miss(token, fd);
}

std::uint32_t RecordStore::token_id_miss(std::uint64_t token, std::int32_t fd) {
  TokenSlot& cached = token_cache_[static_cast<std::size_t>(token % kTokenCache)];
  const std::uint32_t next_id = free_ids_.empty() ? static_cast<std::uint32_t>(tokens_.size()) : free_ids_.back();
  auto [it, inserted] = token_ids_.try_emplace(token, next_id);
  if (inserted) {
    if (next_id >= kNoToken) {
      token_ids_.erase(it);
      throw std::length_error("ready::capture::RecordStore: too many distinct tokens");
    }
    if (free_ids_.empty()) {
      tokens_.emplace_back();
    } else {
      free_ids_.pop_back();
    }
    TokenState& s = tokens_[next_id];
    s.token = token;
    s.fd = fd;
    s.base = end_;
  }
  cached.token = token;
  cached.id = it->second;
  return it->second;
}

const RecordStore::TokenState* RecordStore::find_token(std::uint64_t token) const {
  auto it = token_ids_.find(token);
  return it == token_ids_.end() ? nullptr : &tokens_[it->second];
}

std::uint64_t RecordStore::append(const Record& r) {
  std::uint64_t t = r.t_ns;
  if (t < last_t_) {
    t = last_t_;
    ++clamped_;
  }
  if (size() >= limits_.max_records) evict_oldest();

  const std::size_t slot = static_cast<std::size_t>(end_ & mask_);
  if (slot == 0) {
    // max_records >= chunk_records, so there is at most one spare after an eviction.
    std::unique_ptr<Chunk> c = spare_ ? std::move(spare_) : std::make_unique<Chunk>(limits_.chunk_records);
    c->full.clear();
    c->count = 0;
    if (chunks_.empty()) first_chunk_ = end_ >> shift_;
    chunks_.push_back(std::move(c));
  }
  Chunk& c = *chunks_.back();

  const std::uint32_t id = is_indexed_by_token(r.kind) ? token_id(r.token, r.fd) : kNoToken;
  c.t[slot] = t;
  c.token[slot] = id;
  const bool own_fd = id != kNoToken && tokens_[id].fd == r.fd;
  if (own_fd && is_compact_readiness(r)) {
    c.kind[slot] = static_cast<std::uint8_t>(RecordKind::readiness);
    c.aux[slot] = r.bits;
  } else if (own_fd && is_compact_action(r)) {
    c.kind[slot] = static_cast<std::uint8_t>(static_cast<unsigned>(RecordKind::action) |
                                             static_cast<unsigned>(r.outcome) << kOutcomeShift);
    c.aux[slot] = static_cast<std::uint32_t>(r.value) | static_cast<std::uint32_t>(r.op) << kActionOpShift;
  } else {
    c.kind[slot] = static_cast<std::uint8_t>(static_cast<std::uint8_t>(r.kind) | kFullFlag);
    c.aux[slot] = static_cast<std::uint32_t>(c.full.size());
    Record copy = r;
    copy.t_ns = t;
    c.full.push_back(copy);
    ++full_count_;
  }
  c.count = slot + 1;

  if (id != kNoToken) {
    TokenState& s = tokens_[id];
    if (end_ - s.base > std::numeric_limits<std::uint32_t>::max()) {
      // Rebase on the oldest offset held: every held record is within max_records (< 2^31)
      // of the newest, so the offsets fit again.
      const std::uint64_t new_base = s.offsets.empty() ? end_ : s.base + s.offsets.front();
      const auto shift = static_cast<std::uint32_t>(new_base - s.base);
      for (auto& o : s.offsets) o -= shift;
      s.base = new_base;
    }
    s.offsets.push_back(static_cast<std::uint32_t>(end_ - s.base));
  }
  last_t_ = t;
  return end_++;
}

void RecordStore::evict_oldest() {
  std::unique_ptr<Chunk> c = std::move(chunks_.front());
  chunks_.pop_front();
  // Each token's offsets are ascending and those below begin_ are gone already, so the
  // ones in this chunk are at the front.
  for (std::size_t i = 0; i < c->count; ++i) {
    const std::uint32_t id = c->token[i];
    if (id == kNoToken) continue;
    TokenState& s = tokens_[id];
    s.offsets.pop_front();
    if (s.offsets.empty()) release_token(id);  // its last record held: no slot names it now
  }
  begin_ += c->count;
  evicted_ += c->count;
  ++first_chunk_;
  c->full.release();  // give the full records' memory back; the arrays are reused
  spare_ = std::move(c);
}

void RecordStore::release_token(std::uint32_t id) {
  TokenState& s = tokens_[id];
  token_ids_.erase(s.token);
  TokenSlot& cached = token_cache_[static_cast<std::size_t>(s.token % kTokenCache)];
  if (cached.id == id) cached = TokenSlot{};
  s.token = 0;
  s.fd = -1;
  s.base = 0;
  free_ids_.push_back(id);  // the slot (and its deque's blocks) serve the next new token
}

const RecordStore::Chunk& RecordStore::chunk_of(std::uint64_t i) const noexcept {
  return *chunks_[static_cast<std::size_t>((i >> shift_) - first_chunk_)];
}

std::uint64_t RecordStore::time_at(std::uint64_t i) const noexcept {
  return chunk_of(i).t[static_cast<std::size_t>(i & mask_)];
}

RecordKind RecordStore::kind_at(std::uint64_t i) const noexcept {
  const std::uint8_t k = chunk_of(i).kind[static_cast<std::size_t>(i & mask_)];
  return static_cast<RecordKind>(k & kFullFlag ? k & ~kFullFlag : k & kCompactKindMask);
}

Record RecordStore::at(std::uint64_t i) const {
  if (i < begin_ || i >= end_) throw std::out_of_range("ready::capture::RecordStore::at: index not held");
  const Chunk& c = chunk_of(i);
  const auto slot = static_cast<std::size_t>(i & mask_);
  if (c.kind[slot] & kFullFlag) return c.full[c.aux[slot]];
  const TokenState& s = tokens_[c.token[slot]];
  Record r;
  r.t_ns = c.t[slot];
  r.token = s.token;
  r.fd = s.fd;
  const std::uint8_t k = c.kind[slot];
  if ((k & kCompactKindMask) == static_cast<std::uint8_t>(RecordKind::action)) {
    r.kind = RecordKind::action;
    r.outcome = static_cast<Outcome>(k >> kOutcomeShift);
    r.op = static_cast<std::uint8_t>(c.aux[slot] >> kActionOpShift);
    r.value = c.aux[slot] & kActionValueMask;
    return r;
  }
  r.bits = c.aux[slot];
  r.kind = RecordKind::readiness;
  return r;
}

std::uint64_t RecordStore::lower_bound(std::uint64_t t_ns) const noexcept {
  // The first chunk whose last time is >= t_ns, then the first slot in it.
  std::size_t lo = 0, hi = chunks_.size();
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    const Chunk& c = *chunks_[mid];
    if (c.t[c.count - 1] < t_ns)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == chunks_.size()) return end_;
  const Chunk& c = *chunks_[lo];
  const std::uint64_t* first = c.t.get();
  const auto slot = static_cast<std::uint64_t>(std::lower_bound(first, first + c.count, t_ns) - first);
  return ((first_chunk_ + lo) << shift_) + slot;
}

RecordStore::IndexRange RecordStore::range(std::uint64_t t0, std::uint64_t t1) const noexcept {
  if (t1 <= t0) {
    const std::uint64_t b = lower_bound(t0);
    return {b, b};
  }
  return {lower_bound(t0), lower_bound(t1)};
}

RecordStore::TokenIndices RecordStore::token_range(std::uint64_t token, std::uint64_t t0,
                                                   std::uint64_t t1) const {
  const TokenState* s = find_token(token);
  if (!s) return {};
  const auto& offs = s->offsets;
  auto before = [&](std::uint64_t t) {
    return [this, s, t](std::uint32_t off) { return time_at(s->base + off) < t; };
  };
  const auto first =
      static_cast<std::size_t>(std::partition_point(offs.begin(), offs.end(), before(t0)) - offs.begin());
  const std::size_t last =
      t1 <= t0 ? first
               : static_cast<std::size_t>(std::partition_point(offs.begin(), offs.end(), before(t1)) -
                                          offs.begin());
  return {&offs, s->base, first, last};
}

std::uint64_t RecordStore::count(std::uint64_t token) const {
  const TokenState* s = find_token(token);
  return s ? s->offsets.size() : 0;
}

std::size_t RecordStore::memory_bytes() const noexcept {
  constexpr std::size_t kSlotBytes = sizeof(std::uint64_t) + 2 * sizeof(std::uint32_t) + 1;
  // libstdc++ deques allocate 512-byte blocks, plus a small map of block pointers.
  constexpr std::size_t kDequeBlock = 512;
  constexpr std::size_t kPerBlock = kDequeBlock / sizeof(std::uint32_t);
  std::size_t bytes = chunk_count() * limits_.chunk_records * kSlotBytes;
  for (const auto& c : chunks_) bytes += c->full.capacity_bytes();
  for (const auto& s : tokens_) {
    const std::size_t blocks = s.offsets.size() / kPerBlock + 1;
    bytes += sizeof(TokenState) + blocks * (kDequeBlock + sizeof(void*)) + 64;
    bytes += sizeof(std::pair<const std::uint64_t, std::uint32_t>) + 2 * sizeof(void*);  // hash node + bucket
  }
  return bytes;
}

}  // namespace ready::capture
