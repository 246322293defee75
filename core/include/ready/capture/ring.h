// The record ring: the poll thread's only way to hand records to a consumer.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "ready/capture/record.h"

namespace ready::capture {

/// A bounded single-producer / single-consumer queue of Records.
///
/// Exactly one thread pushes (the producer: the poll thread) and exactly one thread pops
/// (the consumer); each may be any thread, but not two at once on the same side. The
/// producer never blocks and never allocates: `try_push` on a full ring drops the record,
/// counts it and returns false. The consumer takes records in batches with `pop`.
///
/// Bounds: `capacity()` records (a power of two, at least 2, fixed at construction), i.e.
/// `capacity() * sizeof(Record)` bytes (48 each) allocated once.
///
/// Accounting is exact. Every record offered to `try_push` is produced; it is then either
/// dropped (the ring was full) or stored, and every stored record is delivered by exactly
/// one `pop`, in push order. At any moment
///     produced() == delivered() + dropped() + (records still in the ring).
/// Each counter is monotonic and readable from any thread; read while the other side is
/// running, the three are individually exact but not a snapshot of one instant. With both
/// sides quiescent (or from the producer after the consumer has stopped) the equation holds
/// exactly. Counters are 64-bit and do not wrap in practice (2^64 records).
///
/// Implementation: head and tail are free-running 64-bit indices (slot = index & mask) on
/// separate cache lines; the producer publishes a slot with a release store of the tail, the
/// consumer frees slots with a release store of the head, each reads the other's index with
/// acquire. Each side keeps a private copy of the other side's index and reloads it only
/// when its copy says the ring is full (producer) or holds too few records (consumer), so
/// in the steady state the two cache lines are not bounced between cores on every record.
class RecordRing {
 public:
  /// A ring of `capacity` slots. Throws std::invalid_argument unless `capacity` is a power of
  /// two and at least 2 (and small enough to allocate).
  explicit RecordRing(std::size_t capacity);
  RecordRing(const RecordRing&) = delete;
  RecordRing& operator=(const RecordRing&) = delete;
  ~RecordRing();

  [[nodiscard]] std::size_t capacity() const noexcept { return mask_ + 1; }

  // ---- producer side (one thread) ----

  /// Stores a copy of `r` and returns true, or, when the ring is full, counts a drop and
  /// returns false. Never blocks, never allocates. Producer thread only.
  bool try_push(const Record& r) noexcept {
    const std::uint64_t t = prod_.tail.load(std::memory_order_relaxed);
    if (t - prod_.cached_head > mask_) {
      prod_.cached_head = cons_.head.load(std::memory_order_acquire);
      if (t - prod_.cached_head > mask_) {
        // Single writer: a plain load + store is enough, and cheaper than fetch_add.
        prod_.dropped.store(prod_.dropped.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        return false;
      }
    }
    slots_[t & mask_] = r;
    prod_.tail.store(t + 1, std::memory_order_release);
    return true;
  }

  // ---- consumer side (one thread) ----

  /// Moves up to `out.size()` records, oldest first, into `out` and returns how many.
  /// 0 means the ring was empty (or `out` is empty). Never blocks. Consumer thread only.
  std::size_t pop(std::span<Record> out) noexcept {
    const std::uint64_t h = cons_.head.load(std::memory_order_relaxed);
    std::uint64_t avail = cons_.cached_tail - h;
    if (avail < out.size()) {
      cons_.cached_tail = prod_.tail.load(std::memory_order_acquire);
      avail = cons_.cached_tail - h;
    }
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(avail, out.size()));
    if (n == 0) return 0;
    // At most two contiguous pieces: up to the end of the buffer, then from its start.
    const std::size_t first = static_cast<std::size_t>(h & mask_);
    const std::size_t part = std::min(n, capacity() - first);
    std::copy_n(slots_.get() + first, part, out.data());
    std::copy_n(slots_.get(), n - part, out.data() + part);
    cons_.head.store(h + n, std::memory_order_release);
    return n;
  }

  // ---- accounting (any thread) ----

  /// Records offered to `try_push`: stored + dropped.
  [[nodiscard]] std::uint64_t produced() const noexcept {
    // Dropped first: both only grow, so this never reports fewer than were produced
    // before the call began.
    const std::uint64_t d = dropped();
    return prod_.tail.load(std::memory_order_acquire) + d;
  }
  /// Records refused because the ring was full.
  [[nodiscard]] std::uint64_t dropped() const noexcept {
    return prod_.dropped.load(std::memory_order_relaxed);
  }
  /// Records handed out by `pop`.
  [[nodiscard]] std::uint64_t delivered() const noexcept {
    return cons_.head.load(std::memory_order_acquire);
  }
  /// Records stored and not yet popped (exact from either side's own thread when the other
  /// side is quiescent; otherwise a value that was true at some moment during the call).
  [[nodiscard]] std::size_t size() const noexcept {
    const std::uint64_t h = cons_.head.load(std::memory_order_acquire);
    const std::uint64_t t = prod_.tail.load(std::memory_order_acquire);
    return static_cast<std::size_t>(t >= h ? t - h : 0);
  }

 private:
  static constexpr std::size_t kCacheLine = 64;

  // Written by the producer only (tail, dropped); cached_head is producer-private.
  struct alignas(kCacheLine) ProducerSide {
    std::atomic<std::uint64_t> tail{0};
    std::atomic<std::uint64_t> dropped{0};
    std::uint64_t cached_head = 0;
  };
  // Written by the consumer only (head); cached_tail is consumer-private.
  struct alignas(kCacheLine) ConsumerSide {
    std::atomic<std::uint64_t> head{0};
    std::uint64_t cached_tail = 0;
  };

  ProducerSide prod_;
  ConsumerSide cons_;
  // Read-only after construction: on its own line, so neither side's writes evict it.
  alignas(kCacheLine) std::uint64_t mask_;
  std::unique_ptr<Record[]> slots_;
};

}  // namespace ready::capture
