// The capture engine: one poll thread that owns every source and reports what happens as Records.
#pragma once

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <system_error>
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
/// A source's payload buffer starts with this many bytes (or payload_bytes_per_source, if
/// less) and doubles as it holds more, up to payload_bytes_per_source (docs/engine.md, "Payload").
inline constexpr std::size_t kPayloadStartBytes = 4096;
/// Engine::payload's default `max_bytes`: everything kept.
inline constexpr std::size_t kAllPayload = static_cast<std::size_t>(-1);
/// The range of EngineConfig::pitfall_grace.
inline constexpr std::chrono::milliseconds kMinPitfallGrace{1};
inline constexpr std::chrono::milliseconds kMaxPitfallGrace{60'000};
/// The largest EngineConfig::peer_addresses.
inline constexpr std::size_t kMaxPeerAddresses = std::size_t{1} << 20;
/// The largest EngineConfig::pitfall_spin_events.
inline constexpr std::uint32_t kMaxPitfallSpinEvents = 1u << 20;
/// The largest EngineConfig::command_queue_capacity and max_notes.
inline constexpr std::size_t kMaxCommandQueueCapacity = std::size_t{1} << 24;
inline constexpr std::size_t kMaxNotes = std::size_t{1} << 24;
/// The largest EngineConfig::max_note_bytes and accept_budget.
inline constexpr std::size_t kMaxNoteBytes = std::size_t{1} << 20;
inline constexpr std::uint32_t kMaxAcceptBudget = 1u << 20;

/// The engine's bounds. `Engine::start` refuses (EINVAL) a config that breaks a stated range.
struct EngineConfig {
  /// Records the ring holds (a power of two, >= 2). A full ring drops (and counts) records:
  /// the poll thread never waits for the consumer.
  std::size_t ring_capacity = 65536;
  /// Bytes of payload kept per source, at most 2^30 (docs/engine.md, "Payload"); 0 keeps none.
  /// Beyond it the oldest bytes are evicted and counted. The chunk table beside it holds at
  /// most max(16, payload_bytes_per_source / 128) chunks (many tiny reads evict the same
  /// way). A buffer grows with what it holds, from kPayloadStartBytes (4 KiB) by doubling:
  /// a source that moved a few bytes costs about 5 KiB. At most: (live sources with payload +
  /// payload_closed_sources) x ~1.2 x this (24-byte chunk entries; UDP sources ~1.45 x, 28
  /// more bytes per chunk for the sender; Unix datagram ~2.1 x).
  std::size_t payload_bytes_per_source = 64 * 1024;
  /// How many closed sources keep their payload readable; the oldest closed one is
  /// forgotten when one more closes. Live sources always keep theirs.
  std::size_t payload_closed_sources = 64;
  /// Distinct datagram peers named per capture (the peer table behind Record::peer_id and
  /// Engine::peer_text), at most kMaxPeerAddresses; a peer beyond it gets id 0 and is
  /// counted (Engine::peers_dropped). docs/engine.md, "Datagrams".
  std::size_t peer_addresses = 4096;
  /// Bytes an echo holds back for a peer that does not read (>= 1). An echo reads at most
  /// this much at a time, so it never has to drop bytes (docs/engine.md, "Echo").
  std::size_t echo_pending_bytes = 64 * 1024;
  /// Most bytes one drain / fill / echo moves before yielding (>= 1; docs/engine.md, "Bounds").
  std::size_t max_drain_bytes = kDefaultMaxDrainBytes;
  /// Allow listeners and UDP sockets on non-loopback addresses for every command.
  bool allow_remote = false;
  /// How long a handling may pause before the et_partial_read and oneshot_disarmed_pending
  /// checks look at the bytes left (docs/engine.md, "Pitfalls"): from the last read of an
  /// edge's handling, and from a oneshot source's event. In [kMinPitfallGrace,
  /// kMaxPitfallGrace] = [1 ms, 60 s]. The check runs within about a millisecond after it.
  std::chrono::nanoseconds pitfall_grace = std::chrono::milliseconds(100);
  /// Writable events in a row, with nothing written, after which a level-triggered source
  /// with writable interest gets a level_writable_spin warning. In [2, kMaxPitfallSpinEvents].
  std::uint32_t pitfall_spin_events = 64;
  /// Commands waiting for the poll thread, at most (in [1, kMaxCommandQueueCapacity = 2^24]).
  /// The poll thread takes the whole queue each iteration, so this bounds what piles up
  /// between two iterations. `submit` on a full queue (or a `submit_batch` that does not fit
  /// whole) fails with ENOBUFS and queues nothing; counted in BoundsHit::commands_refused.
  /// Memory: about 100 bytes a command plus its bytes (a Write's data, a Note's text).
  std::size_t command_queue_capacity = 65536;
  /// Note texts kept (in [1, kMaxNotes = 2^24]): the newest; when one more note comes, the
  /// oldest text is forgotten (note_text() of its id is then nullopt; its note record stays).
  /// Counted in BoundsHit::note_texts_dropped.
  std::size_t max_notes = 16384;
  /// Bytes of one note's text (in [1, kMaxNoteBytes = 2^20]): a longer text is cut at a UTF-8
  /// character boundary at or below this; the note record appears as usual. The bytes cut
  /// are counted in BoundsHit::note_bytes_truncated. Notes hold at most max_notes x this
  /// (16 MiB by default).
  std::size_t max_note_bytes = 1024;
  /// Connections one listener's auto-accept takes per event (in [1, kMaxAcceptBudget =
  /// 2^20]). Past it, an edge-triggered or oneshot listener goes to the back of the
  /// still-ready list and accepts on in the next iteration, after that iteration's events
  /// (round-robin, as ReactionSpec::budget for reads): a connect flood cannot hold the loop.
  /// Counted in BoundsHit::accept_budget_yields.
  std::uint32_t accept_budget = 64;
  /// Bytes buffered per direction of each relayed connection (cmd::Relay), in [4 KiB,
  /// 64 MiB]: a read takes at most what is free, and a full buffer pauses that leg's reading
  /// (docs/relay.md, "Buffers"). Allocated when the first byte comes that way and kept while
  /// the connection lives; pages never touched cost nothing.
  std::size_t relay_buffer_bytes = 256 * 1024;
  /// Sample the kernel's queues of stream, pipe and datagram sources and record `queue`
  /// records when they change (docs/engine.md, "Queues"): at most one extra ioctl per event
  /// handled on a source the engine only reads, two on one it also writes. On by default;
  /// cmd::SetQueueSampling switches it while the engine runs.
  bool queue_sampling = true;
};

/// Why the poll thread stopped by itself (Engine::failure; docs/engine.md, "Failure").
struct EngineFailure {
  /// The errno: epoll_wait's (EBADF, EINVAL, EFAULT...), ENOMEM for a failed allocation,
  /// a std::system_error's code, EIO for any other exception.
  std::error_code error;
  /// What failed: "epoll_wait", "allocation" or "exception" (static text).
  const char* where = "";
  /// Commands that were queued when it stopped and never ran.
  std::uint64_t commands_discarded = 0;
};

/// How often the bounds of EngineConfig were hit, since start (Engine::bounds_hit).
struct BoundsHit {
  std::uint64_t commands_refused = 0;      ///< commands refused with ENOBUFS (a batch counts each)
  std::uint64_t note_texts_dropped = 0;    ///< note texts forgotten (the oldest, beyond max_notes)
  std::uint64_t note_bytes_truncated = 0;  ///< bytes cut from note texts longer than max_note_bytes
  std::uint64_t accept_budget_yields = 0;  ///< auto-accepts that stopped at accept_budget
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
  /// UDP: the datagram's sender (in) or its echo's destination (out); nullopt otherwise.
  std::optional<net::SocketAddr> peer;
  /// A Unix datagram socket: the sender (in) or echo destination (out), when it has a name.
  std::optional<net::UnixAddr> unix_peer;
  std::vector<std::byte> bytes;
};

/// A copy of (part of) a source's payload buffer.
struct PayloadSnapshot {
  std::vector<PayloadChunk> chunks;  ///< oldest first; only bytes at offset >= `since`
  std::uint64_t next = 0;            ///< the stream offset after the last byte copied: the next `since`
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

/// The capture engine: one poll thread that owns every source, runs commands submitted from
/// any thread, and reports readiness, actions and results as Records through a bounded ring
/// to one consumer thread. The specification (threads, the loop, record times, accounting,
/// bounds, payload, echo, datagrams, pitfalls, stop, signals) is docs/engine.md; the contracts
/// below refer to its sections.
class Engine {
 public:
  /// The default of EngineConfig::max_drain_bytes.
  static constexpr std::size_t kMaxDrainBytes = kDefaultMaxDrainBytes;

  /// The errno `submit` and `submit_batch` fail with once the poll thread stopped by itself
  /// (ENOTRECOVERABLE, "State not recoverable"); `failure()` says why it stopped.
  static constexpr int kFailedErrno = ENOTRECOVERABLE;

  /// Starts the poll thread; sets SIGPIPE to ignored, process-wide (docs/engine.md,
  /// "Signals"). Errors: the config is invalid (EINVAL: a ring capacity that is not a power
  /// of two in [2, 2^30], echo_pending_bytes or max_drain_bytes 0, payload_bytes_per_source
  /// above 2^30, pitfall_grace, pitfall_spin_events, command_queue_capacity, max_notes,
  /// max_note_bytes or accept_budget out of range), the ring cannot be
  /// allocated (ENOMEM), or creating the Poll, Waker, Notifier, reserve descriptor or thread
  /// failed.
  [[nodiscard]] static io_result<std::unique_ptr<Engine>> start(EngineConfig config = {});

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine();

  /// Queues a command (any thread). Wakes the poll thread only if the queue was empty (the
  /// poll thread takes the whole queue at once, so one wake serves a burst). Fails with
  /// ESHUTDOWN once `stop` has begun, kFailedErrno (ENOTRECOVERABLE) once the poll thread
  /// stopped by itself (`failure()` says why), ENOBUFS when the queue holds
  /// EngineConfig::command_queue_capacity commands (counted in `bounds_hit()`). A refused
  /// command changes nothing.
  io_result<Ticket> submit(Command command);

  /// Queues several commands at once (any thread): they are appended under one lock, so the
  /// poll thread runs them back to back in one loop iteration, with no poll between them
  /// (three writes make one batch of data before the reader is polled; two sources become
  /// ready in the same epoll_wait). One Ticket per command, in order. ESHUTDOWN once `stop`
  /// has begun (nothing is queued then).
  io_result<std::vector<Ticket>> submit_batch(std::vector<Command> commands);

  /// Refuses further commands, lets the poll thread run those already queued, close every
  /// source and record a final stats record, and joins it (docs/engine.md, "Stop"). Afterwards
  /// the engine holds only the Notifier's eventfd. Any thread but the poll thread; idempotent;
  /// also run by the destructor.
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
  /// The address of a datagram action's peer (Record::peer_id): "127.0.0.1:5000", a Unix
  /// path; nullopt for 0 or an unknown id.
  [[nodiscard]] std::optional<std::string> peer_text(std::uint64_t id) const;
  /// Datagram actions whose peer had no room in the peer table (EngineConfig::peer_addresses).
  [[nodiscard]] std::uint64_t peers_dropped() const noexcept { return peers_dropped_.load(std::memory_order_relaxed); }
  /// A live source's kind, fd and addresses; nullopt once it is closed (or never existed).
  [[nodiscard]] std::optional<SourceInfo> source_info(Token token) const;
  /// A copy of the payload kept for `token` from stream offset `since` on, at most
  /// `max_bytes` bytes of it, oldest first (pass the last snapshot's `next` to get what
  /// follows: the rest, or what is new); nullopt when nothing was ever kept for it or it was
  /// forgotten (docs/engine.md, "Payload"). Any thread. Holds the source's buffer lock while
  /// copying (at most min(max_bytes, payload_bytes_per_source) bytes): the only time the poll
  /// thread could wait for a consumer (the doc says why a mutex).
  [[nodiscard]] std::optional<PayloadSnapshot> payload(Token token, std::uint64_t since = 0,
                                                       std::size_t max_bytes = kAllPayload) const;
  [[nodiscard]] const EngineConfig& config() const noexcept { return config_; }
  /// Why the poll thread stopped by itself (an epoll_wait error, an allocation that failed),
  /// or nullopt while it runs or after an ordinary `stop` (docs/engine.md, "Failure"). Set
  /// before the engine_error record is pushed: a consumer that sees that record finds it here.
  [[nodiscard]] std::optional<EngineFailure> failure() const;
  /// How often each bound was hit so far.
  [[nodiscard]] BoundsHit bounds_hit() const noexcept;

 private:
  struct Impl;           // the poll thread's state (core/src/capture/engine/poll_thread.h)
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

  mutable std::mutex queue_mutex_;
  std::vector<Queued> queue_;          // guarded by queue_mutex_
  std::optional<EngineFailure> failure_;  // guarded by queue_mutex_; set once, by the poll thread
  bool accepting_ = true;              // guarded by queue_mutex_
  bool stopping_ = false;              // guarded by queue_mutex_
  std::uint64_t next_command_id_ = 1;  // guarded by queue_mutex_
  std::atomic<std::uint64_t> next_token_{1};

  mutable std::mutex text_mutex_;
  std::deque<std::string> notes_;  // guarded by text_mutex_; the newest max_notes texts
  std::uint64_t first_note_id_ = 1;  // guarded by text_mutex_; the id of notes_.front()
  std::unordered_map<std::uint64_t, SourceInfo> infos_;  // guarded by text_mutex_
  std::vector<std::string> peers_;                       // guarded by text_mutex_; id = index + 1
  std::atomic<std::uint64_t> peers_dropped_{0};

  // Taken by the poll thread only when a source's buffer is created or the source closes.
  mutable std::mutex payload_mutex_;
  std::unordered_map<std::uint64_t, std::shared_ptr<PayloadBuffer>> payloads_;  // guarded by payload_mutex_
  std::deque<std::uint64_t> closed_payloads_;  // guarded by payload_mutex_; oldest first

  // BoundsHit: written by the poll thread (notes, accepts) or under queue_mutex_ (refusals).
  std::atomic<std::uint64_t> commands_refused_{0};
  std::atomic<std::uint64_t> note_texts_dropped_{0};
  std::atomic<std::uint64_t> note_bytes_truncated_{0};
  std::atomic<std::uint64_t> accept_budget_yields_{0};

  std::mutex stop_mutex_;  // serialises stop() callers
  std::thread thread_;
};

}  // namespace ready::capture
