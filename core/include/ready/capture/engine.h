// The capture engine: one poll thread that owns every source and reports what happens as Records.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
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

struct EngineConfig {
  /// Records the ring holds (a power of two, >= 2). A full ring drops (and counts) records:
  /// the poll thread never waits for the consumer.
  std::size_t ring_capacity = 65536;
  /// Bound of the per-source payload buffer. TODO: payload bytes are not kept yet (reads go
  /// to a scratch buffer); this will bound the buffer once it exists.
  std::size_t payload_bytes_per_source = 64 * 1024;
  /// Allow listeners and UDP sockets on non-loopback addresses for every command.
  bool allow_remote = false;
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
/// (value = events, value2 = ns blocked; the Waker's own event is counted but not recorded);
/// run the queued commands in order; for each event of a source, a `readiness` record (raw
/// epoll bits, token, fd) followed by the source's reaction; a `stats` record when a second
/// has passed since the last one; then one Notifier::notify if anything was pushed. An event
/// for a source closed earlier in the same batch is skipped (its token is gone).
///
/// Accounting. Every record goes through RecordRing::try_push: a full ring drops it and
/// counts it. `stats` records carry value = produced and value2 = dropped *before* the stats
/// record itself. After `stop` returns and the consumer drained the ring to empty,
/// produced() == delivered() + dropped() exactly.
///
/// Bounds. The ring (`ring_capacity` records); a drain or fill moves at most kMaxDrainBytes
/// per command or event (then it records outcome ok instead of would_block: for an edge-
/// triggered source, more may be pending that no new edge will announce); an echo that
/// cannot write back everything (the peer does not read) drops the rest and records a
/// payload_truncated warning.
///
/// Stop. `stop` (also run by the destructor) refuses further commands, wakes the poll thread
/// and joins it. The poll thread first runs the commands already queued, then removes
/// (deregisters) and closes every source, recording source_removed for each, and a final
/// stats record. Then the Poll, its Waker and the reserve descriptor are closed: after `stop`
/// the only descriptor the engine still holds is the Notifier's eventfd (a consumer may still
/// be waiting on it; closing it under a waiting poll(2) or QSocketNotifier would be a bug); it
/// is closed when the Engine is destroyed. Idempotent.
///
/// Signals. `start` sets SIGPIPE to ignored, process-wide (a write to a closed pipe then
/// fails with EPIPE instead of killing the process).
class Engine {
 public:
  /// Largest number of bytes one drain / fill / echo moves before yielding.
  static constexpr std::size_t kMaxDrainBytes = 16 * 1024 * 1024;

  /// Starts the poll thread. Errors: the ring capacity is invalid (EINVAL: not a power of two
  /// in [2, 2^30]), the ring cannot be allocated (ENOMEM), or creating the
  /// Poll, Waker, Notifier, reserve descriptor or thread failed.
  [[nodiscard]] static io_result<std::unique_ptr<Engine>> start(EngineConfig config = {});

  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine();

  /// Queues a command (any thread). Wakes the poll thread only if the queue was empty (the
  /// poll thread takes the whole queue at once, so one wake serves a burst). Fails with
  /// ESHUTDOWN once `stop` has begun.
  io_result<Ticket> submit(Command command);

  /// Stops and joins the poll thread (see the class comment). Any thread but the poll thread.
  void stop();

  // ---- consumer side (one thread) ----

  /// Wait for its fd to be readable, call `begin_drain()`, then `drain` until it returns 0.
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
  [[nodiscard]] const EngineConfig& config() const noexcept { return config_; }

 private:
  struct Impl;  // the poll thread's state (sources, scratch buffers): touched by it only
  struct Queued {
    Command command;
    Ticket ticket;
  };

  Engine(EngineConfig config, Notifier notifier, std::unique_ptr<Impl> impl);
  void run() noexcept;

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

  std::mutex stop_mutex_;  // serialises stop() callers
  std::thread thread_;
};

}  // namespace ready::capture
