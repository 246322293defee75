// A RecordFeed over a recording file, read on a thread of its own.
#pragma once

#include <QObject>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <expected>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ready/capture/notifier.h"
#include "ready/capture/recording.h"
#include "session/bridge.h"

namespace ready::ui {

/// The payload bytes of a recording's payload lines, kept per source up to `per_source`
/// bytes (the oldest chunks evicted, as the engine's buffer does: PayloadSnapshot::evicted)
/// and up to `total` bytes over all sources (beyond it new chunks are not kept). `cut()`
/// counts the bytes either bound left out. Not thread-safe (RecordingFeed locks it).
class PayloadTable {
 public:
  PayloadTable(std::uint64_t per_source, std::uint64_t total) : per_source_(per_source), total_(total) {}
  /// Keeps the chunk of `token` (chunks of a source come in stream order). A chunk larger
  /// than `per_source` is not kept (counted as evicted and cut).
  void add(std::uint64_t token, const capture::PayloadChunk& chunk);
  /// Engine::payload's contract: the bytes at stream offsets >= `since`, at most
  /// `max_bytes`, oldest first; `next` is the offset after the last byte copied (`since`
  /// when none). nullopt for a source with no chunk.
  [[nodiscard]] std::optional<capture::PayloadSnapshot> snapshot(std::uint64_t token, std::uint64_t since,
                                                                 std::size_t max_bytes, bool closed) const;
  [[nodiscard]] std::uint64_t cut() const noexcept { return cut_; }
  [[nodiscard]] std::uint64_t bytes() const noexcept { return held_; }

 private:
  struct Source {
    std::deque<capture::PayloadChunk> chunks;
    std::uint64_t bytes = 0;
    std::uint64_t evicted = 0;
  };
  std::uint64_t per_source_;
  std::uint64_t total_;
  std::unordered_map<std::uint64_t, Source> sources_;
  std::uint64_t held_ = 0;
  std::uint64_t cut_ = 0;
};

/// Serves a recording (docs/recording-format.md) to a Bridge as if it were a capture: the
/// window over it fills the same views as over a live engine, read-only (no engine: the
/// bridge's `submit` fails, CaptureSession::is_live is false).
///
/// A reader thread runs capture::read_recording from the first line to the last. Records go
/// through a bounded queue of `Limits::queue_batches` batches (of at most
/// RecordingSink::kBatch records); when it is full the reader WAITS for the GUI thread to
/// drain: a file never loses records on the way (`dropped()` is always 0). Each batch
/// queued wakes the bridge through `notify_fd()` (a capture::Notifier, the engine's
/// coalescing wake-up). The side tables (note texts, peers, source addresses, payload) are
/// filled by the reader before the batch that refers to them and answered under a mutex.
///
/// Payload lines are kept in a PayloadTable: per source up to
/// `Limits::payload_bytes_per_source`, in all up to `Limits::payload_bytes_total`;
/// `payload_bytes_cut()` counts the bytes left out by either bound.
///
/// Loading ends when the reader reached the end of the file, found a bad line (the records
/// before it stay), or was cancelled (`cancel`, or the destructor). `finished` is emitted
/// once, on the thread the feed lives on (the GUI thread), after the reader ended AND the
/// bridge drained the last record it read: `outcome()` is set from then on.
///
/// Thread-safety: the reader thread is internal; every public member is for the GUI thread
/// but `progress()` (atomics, any thread) and `cancel` (any thread).
class RecordingFeed final : public QObject, public RecordFeed {
  Q_OBJECT

 public:
  struct Limits {
    /// Batches queued between the reader and the bridge (each up to RecordingSink::kBatch
    /// records, 4096): 64 is 262144 records, 12 MiB, the window's ring capacity.
    std::size_t queue_batches = 64;
    /// Payload bytes kept per source: the engine's default buffer
    /// (EngineConfig::payload_bytes_per_source), so the inspector shows what it did live.
    std::uint64_t payload_bytes_per_source = 64 * 1024;
    /// Payload bytes kept over all sources.
    std::uint64_t payload_bytes_total = std::uint64_t{64} << 20;
    /// The reader's own bounds (file size, line length).
    capture::RecordingLimits file{};
  };

  using Outcome = std::expected<capture::RecordingInfo, capture::RecordingError>;

  /// Starts reading `path` on a new thread. Errors: the notifier's eventfd or the thread
  /// could not be created. A file that cannot be opened or read is not an error here: the
  /// reader ends at once and `outcome()` says why (RecordingError, line 0).
  [[nodiscard]] static io_result<std::unique_ptr<RecordingFeed>> open(std::string path, Limits limits);
  [[nodiscard]] static io_result<std::unique_ptr<RecordingFeed>> open(std::string path) {
    return open(std::move(path), Limits{});
  }
  /// Cancels the reader and joins it.
  ~RecordingFeed() override;

  RecordingFeed(const RecordingFeed&) = delete;
  RecordingFeed& operator=(const RecordingFeed&) = delete;

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] const Limits& limits() const noexcept { return limits_; }
  /// Bytes and records read so far, the file's size (atomics: any thread).
  [[nodiscard]] const capture::RecordingProgress& progress() const noexcept { return progress_; }
  /// Stops the reader at its next batch (a waiting reader wakes); it ends with a
  /// RecordingError whose `cancelled` is set. No effect once it ended. Any thread.
  void cancel();
  /// `finished` was emitted: the reader ended and the bridge has every record it read.
  [[nodiscard]] bool isFinished() const noexcept { return announced_; }
  /// How the read ended; nullopt until `finished`.
  [[nodiscard]] const std::optional<Outcome>& outcome() const noexcept { return outcome_; }
  /// Times the reader found the queue full and waited for the GUI thread (the queue's bound
  /// hit: the GUI thread, not the file, set the pace then).
  [[nodiscard]] std::uint64_t queue_full_waits() const;
  /// Payload bytes not kept (both payload bounds, see the class comment).
  [[nodiscard]] std::uint64_t payload_bytes_cut() const;

  // RecordFeed
  [[nodiscard]] int notify_fd() const override { return notifier_.as_raw_fd(); }
  void begin_drain() override { (void)notifier_.begin_drain(); }
  std::size_t drain(std::span<capture::Record> out) override;
  /// Records the reader queued so far.
  [[nodiscard]] std::uint64_t produced() const override;
  [[nodiscard]] std::uint64_t dropped() const override { return 0; }
  [[nodiscard]] std::size_t ring_capacity() const override {
    return limits_.queue_batches * capture::RecordingSink::kBatch;
  }
  [[nodiscard]] std::optional<std::string> note_text(std::uint64_t id) const override;
  [[nodiscard]] std::optional<std::string> peer_text(std::uint64_t id) const override;
  /// The addresses the source's first source line naming any gave.
  [[nodiscard]] std::optional<capture::SourceAddresses> source_addresses(std::uint64_t token) const override;
  /// Added and not removed in the part of the file read so far.
  [[nodiscard]] bool is_open(std::uint64_t token) const override;
  /// From the payload lines read so far; `closed` once the source was removed or the
  /// reader ended. nullopt for a source with no payload line.
  [[nodiscard]] std::optional<capture::PayloadSnapshot> payload(std::uint64_t token, std::uint64_t since,
                                                                std::size_t max_bytes) const override;
  [[nodiscard]] std::uint64_t payload_bound() const override { return limits_.payload_bytes_per_source; }
  /// Bridge::stop: cancels and joins the reader.
  void stop() override;

 signals:
  /// The reader ended and its last record was drained (see outcome()). Once.
  void finished();

 private:
  class Sink;

  RecordingFeed(std::string path, Limits limits, capture::Notifier notifier);
  void run();
  // Reader thread: queue a batch (waits while the queue is full; false once cancelled).
  bool push(std::span<const capture::Record> batch);

  const std::string path_;
  const Limits limits_;
  capture::Notifier notifier_;
  capture::RecordingProgress progress_;

  // The queue: reader -> GUI.
  mutable std::mutex queue_mutex_;
  std::condition_variable space_;
  std::deque<std::vector<capture::Record>> queue_;
  std::vector<std::vector<capture::Record>> spare_;
  std::size_t front_pos_ = 0;  // records of queue_.front() already drained
  std::uint64_t produced_ = 0;
  std::uint64_t full_waits_ = 0;
  bool reader_done_ = false;
  std::optional<Outcome> result_;  // set with reader_done_

  // The side tables: written by the reader, read by the lookups.
  mutable std::mutex tables_mutex_;
  std::unordered_map<std::uint64_t, std::string> notes_;
  std::unordered_map<std::uint64_t, std::string> peers_;
  std::unordered_map<std::uint64_t, capture::SourceAddresses> addresses_;
  std::unordered_set<std::uint64_t> open_;
  PayloadTable payload_;
  bool tables_final_ = false;  // the reader ended: nothing more comes

  // GUI thread only.
  bool announced_ = false;
  std::optional<Outcome> outcome_;

  std::thread reader_;  // last: started when everything above exists, joined first
};

}  // namespace ready::ui
