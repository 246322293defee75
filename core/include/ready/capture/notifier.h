// The consumer wake-up of the record ring: an eventfd written only when the consumer may sleep.
#pragma once

#include <atomic>
#include <cstdint>

#include "ready/error.h"
#include "ready/owned_fd.h"

namespace ready::capture {

/// Wakes the consumer of a RecordRing, coalescing wake-ups the way libuv's
/// `uv_async_send` does: the eventfd is written at most once per drain of the consumer.
///
/// The consumer waits until `as_raw_fd()` is readable (poll(2), epoll, or a Qt
/// QSocketNotifier). The protocol, with `pending` an atomic flag:
///
///   producer, after pushing a batch:       consumer, when the fd is readable:
///     push records (release of the tail)     begin_drain():
///     notify():                                read the eventfd (resets it to 0)
///       if (!pending.exchange(true))           pending.exchange(false)
///         write 1 to the eventfd             then pop until the ring is empty
///
/// Why no wake-up is lost. Both sides change `pending` with read-modify-write operations
/// (acq_rel), so all of them are totally ordered on that one flag. Take a push P followed
/// by its notify N, and the consumer's clear C in the drain that might miss it.
///  - If N comes before C on the flag, C reads N's `true` (or a later one) and acquires it:
///    P happens-before the consumer's pops after C, so that drain sees P's record.
///  - If N comes after C, N reads `false` (written by C, or a later notify that itself
///    saw false and wrote the fd), so the eventfd is written after C: the consumer's
///    read of the fd came before C, so the fd stays readable and the consumer wakes again.
/// Reading the eventfd *before* clearing the flag matters: cleared first, a write landing
/// between the clear and the read would be consumed by that read and lost. Draining the
/// ring *to empty* after `begin_drain` matters too: records pushed before the clear caused
/// no new write, so a consumer that stops early must not go back to sleep (it may call
/// `begin_drain` again and continue, or reschedule itself).
///
/// While `pending` is true, `notify` costs one atomic exchange and no syscall: N notifies
/// with no drain in between make exactly one write (`writes()` counts them, to show the
/// coalescing). The eventfd counter therefore never exceeds 1 and a write never finds it
/// full. A spurious wake (fd readable, ring empty, or `begin_drain` with nothing to read)
/// is harmless.
///
/// Thread-safety: `notify` from one producer thread (several would also be safe),
/// `begin_drain` from the one consumer thread; the counters from any thread.
/// The eventfd is created EFD_NONBLOCK | EFD_CLOEXEC and owned here. Moving a Notifier is
/// only allowed before it is shared between threads.
class Notifier {
 public:
  /// A new eventfd, counter 0, nothing pending.
  [[nodiscard]] static io_result<Notifier> create();

  Notifier(Notifier&& o) noexcept;
  Notifier& operator=(Notifier&& o) noexcept;
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;
  ~Notifier() = default;

  /// Producer: call after pushing a batch. Writes the eventfd only if no wake-up is pending
  /// since the consumer's last `begin_drain`. Returns whether it wrote; an error only if
  /// write(2) failed (which a valid eventfd does not do).
  io_result<bool> notify() noexcept;

  /// Consumer: call when woken, before draining the ring to empty. Reads the eventfd (would-
  /// block is not an error: the wake was spurious or the fd was not waited on), then clears
  /// the pending flag. Returns whether the eventfd was readable.
  io_result<bool> begin_drain() noexcept;

  /// Consumer, edge-triggered variant: only clears the pending flag and does not read the
  /// eventfd, saving one read(2) per wake-up. Call it instead of `begin_drain` when woken,
  /// before draining the ring to empty, and ONLY if the consumer waits on `as_raw_fd()` with
  /// edge-triggered epoll (EPOLLIN | EPOLLET, as ready::Poll registers): the counter is never
  /// reset, so the fd stays readable and a level-triggered waiter (poll(2), epoll without
  /// EPOLLET, a Qt QSocketNotifier) would be woken again and again. Those use `begin_drain`.
  ///
  /// Why no wake-up is lost. The argument of the class comment holds up to its last step:
  /// if N comes after the clear C on the flag, N writes the eventfd after C. What changes
  /// is why that write wakes the consumer although the fd was readable all along. Every
  /// successful write(2) to an eventfd wakes the fd's wait queue (the counter grows), and
  /// edge-triggered epoll queues the fd as ready on every such wake-up, not only on a change
  /// from unreadable to readable (epoll(7): an event is reported again after new data
  /// arrives). The consumer's epoll_wait that reported the previous edge returned before C,
  /// so the write after C queues a new edge and a later epoll_wait returns it: the consumer
  /// wakes again. A write between that epoll_wait and C queues an edge too: one spurious,
  /// harmless wake.
  ///
  /// The counter. `notify` writes 1 at most once per clear, so the counter grows by at most
  /// one per drain: it reaches the eventfd's maximum (2^64 - 2, where a write would block)
  /// only after ~1.8e19 wake-ups, so `notify`'s write still never finds it full. Switching
  /// to `begin_drain` later is allowed (its read resets the counter); so is mixing the two.
  void begin_drain_edge() noexcept { pending_.exchange(false, std::memory_order_acq_rel); }

  /// The eventfd to wait on for readability (still owned by this Notifier).
  [[nodiscard]] int as_raw_fd() const noexcept { return fd_.get(); }
  /// write(2) calls made by `notify` so far.
  [[nodiscard]] std::uint64_t writes() const noexcept { return writes_.load(std::memory_order_relaxed); }
  /// `notify` calls so far (writes() of them wrote; the rest were coalesced).
  [[nodiscard]] std::uint64_t notifies() const noexcept { return notifies_.load(std::memory_order_relaxed); }

 private:
  explicit Notifier(OwnedFd fd) noexcept : fd_(std::move(fd)) {}

  OwnedFd fd_;
  std::atomic<bool> pending_{false};
  std::atomic<std::uint64_t> writes_{0};
  std::atomic<std::uint64_t> notifies_{0};
};

}  // namespace ready::capture
