// The capture engine: one poll thread that owns every source and reports what happens as Records.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ready/capture/command.h"
#include "ready/capture/notifier.h"
#include "ready/capture/record.h"
#include "ready/capture/ring.h"
#include "ready/error.h"

namespace ready::capture {

/// Default bound of one drain / fill / echo (EngineConfig::max_drain_bytes).
inline constexpr std::size_t kDefaultMaxDrainBytes = 16 * 1024 * 1024;
/// The range of EngineConfig::pitfall_grace.
inline constexpr std::chrono::milliseconds kMinPitfallGrace{1};
inline constexpr std::chrono::milliseconds kMaxPitfallGrace{60'000};
/// The largest EngineConfig::pitfall_spin_events.
inline constexpr std::uint32_t kMaxPitfallSpinEvents = 1u << 20;

/// The engine's bounds. `Engine::start` refuses (EINVAL) a config that breaks a stated range.
struct EngineConfig {
  /// Records the ring holds (a power of two, >= 2). A full ring drops (and counts) records:
  /// the poll thread never waits for the consumer.
  std::size_t ring_capacity = 65536;
  /// Bytes of payload kept per source, at most 2^30 (see Engine::payload); 0 keeps none.
  /// Beyond it the oldest bytes are evicted and counted. The chunk table beside it holds at
  /// most max(16, payload_bytes_per_source / 128) chunks (many tiny reads evict the same
  /// way). Memory: (live sources with payload + payload_closed_sources) x ~1.2 x this (24-byte chunk
  /// entries; UDP sources ~1.45 x, 28 more bytes per chunk for the sender).
  std::size_t payload_bytes_per_source = 64 * 1024;
  /// How many closed sources keep their payload readable; the oldest closed one is
  /// forgotten when one more closes. Live sources always keep theirs.
  std::size_t payload_closed_sources = 64;
  /// Bytes an echo holds back for a peer that does not read (>= 1). An echo reads at most
  /// this much at a time, so it never has to drop bytes (see Engine, "Echo").
  std::size_t echo_pending_bytes = 64 * 1024;
  /// Most bytes one drain / fill / echo moves before yielding (>= 1; see Engine, "Bounds").
  std::size_t max_drain_bytes = kDefaultMaxDrainBytes;
  /// Allow listeners and UDP sockets on non-loopback addresses for every command.
  bool allow_remote = false;
  /// How long a handling may pause before the et_partial_read and oneshot_disarmed_pending
  /// checks look at the bytes left (see Engine, "Pitfalls"): from the last read of an
  /// edge's handling, and from a oneshot source's event. In [kMinPitfallGrace,
  /// kMaxPitfallGrace] = [1 ms, 60 s]. The check runs within about a millisecond after it.
  std::chrono::nanoseconds pitfall_grace = std::chrono::milliseconds(100);
  /// Writable events in a row, with nothing written, after which a level-triggered source
  /// with writable interest gets a level_writable_spin warning. In [2, kMaxPitfallSpinEvents].
  std::uint32_t pitfall_spin_events = 64;
};

/// Which way payload bytes went.
enum class Direction : std::uint8_t {
  in,   ///< read from the source
  out,  ///< written to it
};

/// One read's or write's bytes, as kept in a source's payload buffer.
struct PayloadChunk {
  /// Position of bytes[0] in the source's payload stream (both directions, in the order
  /// the poll thread moved them; evicted bytes still count, so offsets never repeat).
  std::uint64_t offset = 0;
  std::uint64_t t_ns = 0;  ///< capture time (as Record::t_ns) right after the read or write
  Direction direction = Direction::in;
  /// UDP: the datagram's sender (in) or nullopt. Other kinds: nullopt.
  std::optional<net::SocketAddr> peer;
  std::vector<std::byte> bytes;
};

/// A copy of (part of) a source's payload buffer.
struct PayloadSnapshot {
  std::vector<PayloadChunk> chunks;  ///< oldest first; only bytes at offset >= `since`
  std::uint64_t next = 0;            ///< the stream offset after the last byte: the next `since`
  std::uint64_t evicted = 0;         ///< bytes evicted so far (the bound was hit); all below it
  bool closed = false;               ///< the source is closed; nothing more will come
};

/// What the engine knows about a live source (for display; the fd stays the engine's).
struct SourceInfo {
  SourceKind kind{};
  int fd = -1;
  std::string local;  ///< "127.0.0.1:4000", a Unix path, or "" when it has none
  std::string peer;   ///< the connected peer, or ""
};

/// The capture engine.
///
/// Threads. `start` creates a Poll, its Waker, a Notifier and a RecordRing and starts ONE
/// poll thread, which owns the Poll and every source: no other thread touches a source's
/// descriptor. `submit` may be called from any thread; the records have one consumer thread
/// (`notifier`, `drain`). The accessors say which thread may call them.
///
/// The poll thread's loop: poll (EINTR is retried, not an error); a `poll_return` record
/// (value = events, value2 = ns blocked; the events of the Waker and of the stats timer are
/// counted but not recorded); run the queued commands in order; for each event of a source,
/// a `readiness` record (raw epoll bits, token, fd) followed by the source's reaction; the
/// reactions of sources on the still-ready list (see "Bounds"); a `stats` record when a
/// second has passed since the last one; then one Notifier::notify if anything was pushed.
/// An event for a token that is no longer a source (closed earlier in the same batch, e.g. by
/// ReactionSpec::also_close, or a registration kept alive by a Dup copy after CloseFd) is
/// recorded as a readiness (fd -1, or the copy's fd for a CloseFd ghost) followed by an
/// event_after_close warning (value = the epoll bits). Tokens are never reused, so the token
/// names the old source unambiguously.
/// Record times: the clock is read when a record is made, except that a clock reading no
/// record has used yet serves the next record: the poll_return record carries the time the
/// poll returned, and the record after a read or write whose bytes were kept (its action)
/// carries the capture time of those bytes. Times never decrease.
/// The poll has no timeout (unless sources are still ready, then 0, or a pitfall check is
/// due, then until its deadline, rounded up to a millisecond): the second is kept by a
/// one-shot timerfd registered in the Poll, re-armed after each stats record; it is one of
/// the poll thread's descriptors and is closed when the thread ends.
///
/// Accounting. Every record goes through RecordRing::try_push: a full ring drops it and
/// counts it. `stats` records carry value = produced and value2 = dropped *before* the stats
/// record itself. After `stop` returns and the consumer drained the ring to empty,
/// produced() == delivered() + dropped() exactly.
///
/// Bounds. The ring (`ring_capacity` records). A drain, fill or echo moves at most
/// `max_drain_bytes` per command or event; it then records outcome ok instead of would_block.
/// A reaction's per-event bound can be lower: ReactionSpec::budget.
/// A reaction (drain, discard, echo) on an edge-triggered or oneshot source that stopped at
/// that bound is not forgotten (no new edge would announce the rest): the source goes on a
/// "still ready" list and its reaction continues in the next loop iterations, after that
/// iteration's events, while the loop polls with timeout 0 (tokio's budget, in bytes): each
/// ready source gets its budget in turn (round-robin). A level-triggered source is not put on
/// the list (the next poll reports it again). A continued reaction's actions follow a
/// poll_return without a readiness record of their own. Feeds (cmd::Feed): one thread and two
/// descriptors each, while their source lives. ExhaustFds: up to the highest open descriptor
/// number in ballast, process-wide, until ReleaseFds or stop.
/// The payload buffers and the echo's pending bytes: see below.
///
/// Payload. The bytes every read and write moved (except what Reaction::discard reads) are
/// kept per source in a buffer of `payload_bytes_per_source` bytes, with direction, capture
/// time and, for UDP, the sender: `payload(token, since)` copies them out, from any thread.
/// When the bound is hit the oldest bytes are evicted and counted (PayloadSnapshot::evicted);
/// the first eviction of a source is also a payload_truncated warning (value = bytes evicted
/// by that write). A source's buffer is allocated once, at its first kept byte (no allocation
/// per read), and stays readable after the source closes, for the last
/// `payload_closed_sources` closed sources, and until the Engine is destroyed.
///
/// Echo. An echo that cannot write everything back (the peer does not read) keeps the rest in
/// the source's pending buffer, stops reading (the registration becomes WRITABLE only, so a
/// level-triggered source does not spin), and writes the rest when the source is writable;
/// once it is empty the registration returns to the source's interest (EPOLL_CTL_MOD reports
/// data already waiting, so nothing is missed) and the echo resumes. Since an echo reads at
/// most `echo_pending_bytes` at a time and reads nothing while bytes are pending, no byte is
/// dropped. Source records keep showing the interest the user set.
///
/// UDP. Reads use recvfrom: the sender goes into the payload chunk. On a connected socket
/// (cmd::UdpBind::connect) an ICMP error (a closed port: ECONNREFUSED) arrives as EPOLLERR and
/// the next read returns it: an action with outcome error; the socket stays open.
///
/// Pitfalls. Every capture is checked live for four mistakes of readiness-based code; each
/// found is a `warning` record with the source's token and fd, `op` = the WarningKind and
/// `value` as below. The warnings are about what commands (a lesson, a user) and the chosen
/// reaction do: drain, discard, echo and auto-accept handle readiness correctly and trigger
/// none, but Reaction::read (one read of n bytes per event) on an edge-triggered source is
/// the partial-read mistake itself and gets et_partial_read when bytes stay behind.
///  - et_partial_read: an edge-triggered source with readable interest (a stream, a pipe
///    receiver, a datagram socket) got a readable event; at least one read followed (a Read,
///    a Drain, a reaction's read), none of which ended in would-block, end-of-file or an
///    error (nor a drain that stopped at a short stream read); no new readable event came
///    for `pitfall_grace` after the last of those reads; and FIONREAD then says bytes are
///    left (`value` = those bytes; a datagram socket: the next datagram's size). At most once
///    per edge. A source not read at all since the edge (the user has not acted yet) is not
///    warned about. A modification of the registration (SetInterest, SetTrigger, Rearm, the
///    echo's back-pressure) ends the edge: EPOLL_CTL_MOD reports a still-ready source again.
///  - oneshot_disarmed_pending: a oneshot source with readable interest (same kinds) got an
///    event, which disarmed it; it was not re-registered (Rearm, SetInterest, SetTrigger)
///    within `pitfall_grace` of that event, and FIONREAD then says bytes are waiting (`value`).
///    Checked once per firing, at the end of the grace (bytes arriving later are not seen).
///  - level_writable_spin: a level-triggered source with writable interest (not a listener or
///    timerfd) was reported writable `pitfall_spin_events` times in a row (events without
///    writable break the row) with nothing written to it in between (a write, fill, echo or
///    eventfd write resets the count, whatever its outcome). `value` = pitfall_spin_events;
///    once per streak.
///  - read_after_close: a stream or pipe receiver had an event with read_closed AND a read
///    that returned end-of-file (in either order); any read after both is a warning, once per
///    source, `value` = 1 (the reads after the close so far, counting the one warned about).
/// The per-source state is a few bytes in the source; an event of an unwatched source costs two
/// branches. Grace checks wait in a heap (one entry per source at most); the poll gets a timeout
/// only while one waits, and an entry whose source was handled meanwhile is dropped when due.
///
/// Stop. `stop` (also run by the destructor) refuses further commands, wakes the poll thread
/// and joins it. The poll thread first runs the commands already queued, then removes
/// (deregisters) and closes every source, recording source_removed for each (joining their
/// feeders), closes the CloseFd ghosts' copies (no record), gives back the ExhaustFds ballast
/// and limit (a release_fds action, value2 = 0, when something was held), and a final stats
/// record. Then the Poll, its Waker and the reserve descriptor are closed: after `stop`
/// the only descriptor the engine still holds is the Notifier's eventfd (a consumer may still
/// be waiting on it; closing it under a waiting poll(2) or QSocketNotifier would be a bug); it
/// is closed when the Engine is destroyed. Idempotent.
///
/// Signals. `start` sets SIGPIPE to ignored, process-wide (a write to a closed pipe then
/// fails with EPIPE instead of killing the process); sockets send with MSG_NOSIGNAL. A signal
/// that interrupts epoll_wait (EINTR: a handler without SA_RESTART, SIGSTOP/SIGCONT, a
/// debugger attaching) is retried, not an error; reads and writes retry EINTR too. The poll
/// thread is named "ready-poll" (top, gdb, /proc/<pid>/task/<tid>/comm).
class Engine {
 public:
  /// The default of EngineConfig::max_drain_bytes.
  static constexpr std::size_t kMaxDrainBytes = kDefaultMaxDrainBytes;

  /// Starts the poll thread. Errors: the config is invalid (EINVAL: a ring capacity that is
  /// not a power of two in [2, 2^30], echo_pending_bytes or max_drain_bytes 0,
  /// payload_bytes_per_source above 2^30, pitfall_grace or pitfall_spin_events out of
  /// range), the ring
  /// cannot be allocated (ENOMEM), or creating the
  /// Poll, Waker, Notifier, reserve descriptor or thread failed.
  [[nodiscard]] static io_result<std::unique_ptr<Engine>> start(EngineConfig config = {});

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine();

  /// Queues a command (any thread). Wakes the poll thread only if the queue was empty (the
  /// poll thread takes the whole queue at once, so one wake serves a burst). Fails with
  /// ESHUTDOWN once `stop` has begun.
  io_result<Ticket> submit(Command command);

  /// Queues several commands at once (any thread): they are appended under one lock, so the
  /// poll thread runs them back to back in one loop iteration, with no poll between them
  /// (three writes make one batch of data before the reader is polled; two sources become
  /// ready in the same epoll_wait). One Ticket per command, in order. ESHUTDOWN once `stop`
  /// has begun (nothing is queued then).
  io_result<std::vector<Ticket>> submit_batch(std::vector<Command> commands);

  /// Stops and joins the poll thread (see the class comment). Any thread but the poll thread.
  void stop();

  // ---- consumer side (one thread) ----

  /// Wait for its fd to be readable, call `begin_drain()` (or `begin_drain_edge()` when
  /// waiting with edge-triggered epoll), then `drain` until it returns 0.
  [[nodiscard]] Notifier& notifier() noexcept { return notifier_; }
  /// Moves up to out.size() records into `out`, oldest first; 0 when the ring is empty.
  std::size_t drain(std::span<Record> out) noexcept { return ring_.pop(out); }

  // ---- any thread ----

  [[nodiscard]] std::uint64_t produced() const noexcept { return ring_.produced(); }
  [[nodiscard]] std::uint64_t dropped() const noexcept { return ring_.dropped(); }
  [[nodiscard]] std::uint64_t delivered() const noexcept { return ring_.delivered(); }
  /// The text of a note record (record.value), or nullopt for an unknown id.
  [[nodiscard]] std::optional<std::string> note_text(std::uint64_t id) const;
  /// A live source's kind, fd and addresses; nullopt once it is closed (or never existed).
  [[nodiscard]] std::optional<SourceInfo> source_info(Token token) const;
  /// A copy of the payload kept for `token` from stream offset `since` on (pass the last
  /// snapshot's `next` to get only what is new); nullopt when nothing was ever kept for it
  /// or it was forgotten (see "Payload"). Any thread. It holds the source's buffer lock while
  /// copying (at most payload_bytes_per_source bytes), the only time the poll thread could
  /// wait for a consumer: a short per-source mutex rather than a lock-free ring, because
  /// readers must copy bytes the writer may overwrite, which a seqlock would make a data race
  /// (and a TSan report), and the copy is bounded and rare (a GUI inspector at frame rate).
  [[nodiscard]] std::optional<PayloadSnapshot> payload(Token token, std::uint64_t since = 0) const;
  [[nodiscard]] const EngineConfig& config() const noexcept { return config_; }

 private:
  struct Impl;           // the poll thread's state (sources, scratch buffers): touched by it only
  struct PayloadBuffer;  // one source's kept bytes: written by the poll thread, copied out by payload()
  struct Queued {
    Command command;
    Ticket ticket;
  };

  Engine(EngineConfig config, Notifier notifier, std::unique_ptr<Impl> impl);
  void run() noexcept;
  Ticket enqueue_locked(Command command);  // queue_mutex_ held

  EngineConfig config_;
  RecordRing ring_;
  Notifier notifier_;
  std::unique_ptr<Impl> impl_;

  std::mutex queue_mutex_;
  std::vector<Queued> queue_;          // guarded by queue_mutex_
  bool accepting_ = true;              // guarded by queue_mutex_
  bool stopping_ = false;              // guarded by queue_mutex_
  std::uint64_t next_command_id_ = 1;  // guarded by queue_mutex_
  std::atomic<std::uint64_t> next_token_{1};

  mutable std::mutex text_mutex_;
  std::vector<std::string> notes_;                       // guarded by text_mutex_; id = index + 1
  std::unordered_map<std::uint64_t, SourceInfo> infos_;  // guarded by text_mutex_

  // Taken by the poll thread only when a source's buffer is created or the source closes.
  mutable std::mutex payload_mutex_;
  std::unordered_map<std::uint64_t, std::shared_ptr<PayloadBuffer>> payloads_;  // guarded by payload_mutex_
  std::deque<std::uint64_t> closed_payloads_;  // guarded by payload_mutex_; oldest first

  std::mutex stop_mutex_;  // serialises stop() callers
  std::thread thread_;
};

}  // namespace ready::capture
