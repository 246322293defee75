// The bridge: the GUI thread's side of the capture engine.
#pragma once

#include <QObject>
#include <QSocketNotifier>
#include <QString>
#include <QTimer>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "ready/capture/engine.h"
#include "ready/capture/notifier.h"
#include "ready/capture/recording.h"
#include "ready/capture/record.h"
#include "ready/capture/ring.h"
#include "ready/capture/store.h"
#include "ready/error.h"

namespace ready::ui {

/// Where the bridge's records come from: the notify eventfd to watch and the ring to drain,
/// and what the records refer to but do not hold (note texts, peers, addresses, payload).
/// `EngineFeed` is the live capture's; `RecordingFeed` (session/recording_feed.h) reads a
/// recording; a benchmark or a test may feed a bare RecordRing + Notifier (`RingFeed`).
///
/// The lookups are asked on the GUI thread by the bridge and the session (the views reach
/// them only through CaptureSession), never by the feed's producer. Their defaults answer
/// "unknown": a feed that knows nothing besides records shows them as records alone.
class RecordFeed {
 public:
  virtual ~RecordFeed() = default;
  /// The descriptor that becomes readable when records are waiting (level-triggered use).
  [[nodiscard]] virtual int notify_fd() const = 0;
  /// Called once per wake-up before `drain` (Notifier::begin_drain).
  virtual void begin_drain() = 0;
  /// Moves up to out.size() records into `out`; 0 when empty.
  virtual std::size_t drain(std::span<capture::Record> out) = 0;
  /// The ring's accounting (RecordRing::produced / dropped) and capacity.
  [[nodiscard]] virtual std::uint64_t produced() const = 0;
  [[nodiscard]] virtual std::uint64_t dropped() const = 0;
  [[nodiscard]] virtual std::size_t ring_capacity() const = 0;

  /// The text of a note record (Record::value), or nullopt when unknown.
  [[nodiscard]] virtual std::optional<std::string> note_text(std::uint64_t id) const {
    (void)id;
    return std::nullopt;
  }
  /// The address of a datagram action's peer (Record::peer_id), or nullopt when unknown.
  [[nodiscard]] virtual std::optional<std::string> peer_text(std::uint64_t id) const {
    (void)id;
    return std::nullopt;
  }
  /// A source's local and peer addresses, or nullopt when unknown. An engine knows them
  /// while the source is open; a recording, as its source lines named them.
  [[nodiscard]] virtual std::optional<capture::SourceAddresses> source_addresses(std::uint64_t token) const {
    (void)token;
    return std::nullopt;
  }
  /// Whether the source is still open (more records about it may come). Default: false.
  [[nodiscard]] virtual bool is_open(std::uint64_t token) const {
    (void)token;
    return false;
  }
  /// The payload bytes kept for a source from stream position `since` on, at most
  /// `max_bytes`, oldest first (Engine::payload's contract); nullopt when unknown.
  [[nodiscard]] virtual std::optional<capture::PayloadSnapshot> payload(std::uint64_t token, std::uint64_t since,
                                                                        std::size_t max_bytes) const {
    (void)token, (void)since, (void)max_bytes;
    return std::nullopt;
  }
  /// The most payload bytes kept per source (0: none kept).
  [[nodiscard]] virtual std::uint64_t payload_bound() const { return 0; }
  /// Bridge::stop on a feed that is not an engine: stop producing (a reader thread is
  /// cancelled and joined). Records already handed over stay drainable. Default: nothing.
  virtual void stop() {}
};

/// Something kept up to date with the store, record by record, as the bridge appends.
/// Observers run on the GUI thread inside the bridge's drain, right after each append, so
/// their state always matches the store's; they must be cheap (O(1) per record).
class RecordObserver {
 public:
  virtual ~RecordObserver() = default;
  /// `r` was appended to the store at global index `index`.
  virtual void on_record(const capture::Record& r, std::uint64_t index) = 0;
  /// The store evicted its oldest records: it now begins at `new_begin` (a global index).
  virtual void on_evicted(std::uint64_t new_begin) { (void)new_begin; }
};

/// The bridge: owns the engine (or another RecordFeed) on the GUI side and the RecordStore.
///
/// A QSocketNotifier on the feed's notify fd drains the ring in batches (`kBatch` records)
/// into the store as soon as records arrive, so the ring stays empty and the poll thread
/// never drops for want of a reader. Views are told at most once per frame: a frame timer
/// (`frame_interval_ms`, 16 ms by default) emits `frame(begin, end)` with the global index
/// range appended since the previous frame, and only if something was. The timer runs only
/// while records arrive: the first drain that brings records emits its frame at once and
/// starts it, and a frame with
/// nothing new once the rate has fallen to zero stops it (`idle()`), so an idle window costs no
/// wake-ups (docs/performance.md, "Idle"). Commands from every
/// widget go through `submit`; a refused submit is reported by `commandFailed` too.
///
/// One drain takes at most `kMaxPerWake` records, and stops after the batch that passes
/// `kMaxWakeNs` (4 ms), before returning to the event loop (it re-arms itself with a
/// zero-time timer), so a flood never freezes the window: a slice costs at most a quarter
/// of a frame plus one batch, and paints and timers run between slices.
class Bridge : public QObject {
  Q_OBJECT

 public:
  static constexpr std::size_t kBatch = 4096;
  /// The ring capacity the window starts its engine with (readyscope without --headless and
  /// no --queue-capacity): 2^18 records, 12 MiB, a quarter of a second at 1M records/s, so a
  /// GUI thread held up by a slow paint or a busy machine does not make the engine drop.
  static constexpr std::size_t kWindowRingCapacity = std::size_t{1} << 18;
  static constexpr std::size_t kMaxPerWake = 256 * 1024;
  static constexpr std::uint64_t kMaxWakeNs = 4'000'000;

  struct Options {
    capture::StoreLimits store{};
    int frame_interval_ms = 16;
  };

  /// Starts an engine with `config` and a bridge over it.
  static io_result<std::unique_ptr<Bridge>> start(capture::EngineConfig config, Options options,
                                                  QObject* parent = nullptr);
  /// A bridge over any feed (benchmarks, tests). No engine: `engine()` is null and `submit`
  /// fails with ENOTCONN.
  Bridge(std::unique_ptr<RecordFeed> feed, Options options, QObject* parent = nullptr);
  ~Bridge() override;

  /// The engine, or null when the feed is not one. For commands and scenario runners only:
  /// what the records refer to (notes, peers, addresses, payload) is asked of `feed()`.
  [[nodiscard]] capture::Engine* engine() const noexcept { return engine_; }
  /// Where the records come from (the engine's feed for a live capture).
  [[nodiscard]] const RecordFeed& feed() const noexcept { return *feed_; }
  [[nodiscard]] const capture::RecordStore& store() const noexcept { return store_; }

  /// Adds an observer (not owned; it must outlive the bridge or be removed first). It sees
  /// only records appended from now on.
  void add_observer(RecordObserver* o);
  void remove_observer(RecordObserver* o);

  /// Queues a command on the engine. On failure emits commandFailed with the message, too.
  io_result<capture::Ticket> submit(capture::Command command);

  /// The text of a note record, or an empty string.
  [[nodiscard]] QString note_text(std::uint64_t id) const;
  /// The address of a datagram action's peer (Record::peer_id), or an empty string.
  [[nodiscard]] QString peer_text(std::uint64_t id) const;

  /// Status-bar figures.
  struct Status {
    std::uint64_t stored = 0;           ///< records in the store now
    std::uint64_t received = 0;         ///< records drained from the ring since start
    std::uint64_t produced = 0;         ///< records the engine produced
    std::uint64_t dropped = 0;          ///< records the ring dropped (full)
    std::uint64_t evicted = 0;          ///< records the store evicted (its bound)
    double records_per_s = 0;           ///< received, over the last second or so
    std::size_t ring_capacity = 0;
    std::uint64_t ring_fill = 0;        ///< records in the ring now (produced - dropped - received)
    bool poll_thread_running = false;
    /// Why the poll thread stopped by itself ("epoll_wait failed: EBADF: Bad file
    /// descriptor"), or empty (running, stopped by the user, or no engine).
    QString poll_thread_failure;
  };
  [[nodiscard]] Status status() const;

  /// Drains everything waiting now (tests; the notifier does this by itself).
  std::size_t drain_now();
  /// Emits `frame` now if records were appended since the last one (tests, --png).
  void flush_frame();
  /// True while the frame timer runs (records arrived lately); false when idle.
  [[nodiscard]] bool frame_timer_active() const noexcept { return frame_timer_.isActive(); }
  /// Stops the engine (joins the poll thread), or the feed (RecordFeed::stop), then drains
  /// what is left; records stay in the store.
  void stop();

 signals:
  /// Records [begin, end) (global store indices) were appended since the last frame. Also
  /// emitted (possibly with begin == end) when the store evicted, so views can drop rows:
  /// `evicted_to` is the store's begin_index() now.
  void frame(std::uint64_t begin, std::uint64_t end, std::uint64_t evicted_to);
  /// The frame timer stopped: nothing arrived for a frame and the rate is zero (the status
  /// bar's last update until records come again).
  void idle();
  /// A command was refused (the engine is stopping) or a create/modify failed later (from
  /// its records). Human-readable, one line.
  void commandFailed(const QString& message);

 private:
  Bridge(std::unique_ptr<capture::Engine> engine, Options options, QObject* parent);
  void on_readable();
  void on_frame_timer();

  std::unique_ptr<capture::Engine> owned_engine_;
  capture::Engine* engine_ = nullptr;
  std::unique_ptr<RecordFeed> feed_;
  Options options_;
  capture::RecordStore store_;
  std::vector<capture::Record> batch_;
  std::vector<RecordObserver*> observers_;
  std::unique_ptr<QSocketNotifier> notifier_;
  QTimer frame_timer_;
  bool drain_scheduled_ = false;
  std::uint64_t frame_begin_ = 0;
  std::uint64_t last_evicted_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t rate_base_ = 0;
  std::uint64_t rate_base_ns_ = 0;
  double rate_ = 0;
  bool stopped_ = false;
};

/// A RecordFeed over an Engine (not owned).
class EngineFeed final : public RecordFeed {
 public:
  explicit EngineFeed(capture::Engine& e) : engine_(e) {}
  [[nodiscard]] int notify_fd() const override { return engine_.notifier().as_raw_fd(); }
  void begin_drain() override { engine_.notifier().begin_drain(); }
  std::size_t drain(std::span<capture::Record> out) override { return engine_.drain(out); }
  [[nodiscard]] std::uint64_t produced() const override { return engine_.produced(); }
  [[nodiscard]] std::uint64_t dropped() const override { return engine_.dropped(); }
  [[nodiscard]] std::size_t ring_capacity() const override { return engine_.config().ring_capacity; }
  [[nodiscard]] std::optional<std::string> note_text(std::uint64_t id) const override { return engine_.note_text(id); }
  [[nodiscard]] std::optional<std::string> peer_text(std::uint64_t id) const override {
    return id == 0 ? std::nullopt : engine_.peer_text(id);
  }
  [[nodiscard]] std::optional<capture::SourceAddresses> source_addresses(std::uint64_t token) const override;
  [[nodiscard]] bool is_open(std::uint64_t token) const override {
    return engine_.source_info(Token(token)).has_value();
  }
  [[nodiscard]] std::optional<capture::PayloadSnapshot> payload(std::uint64_t token, std::uint64_t since,
                                                                std::size_t max_bytes) const override {
    return engine_.payload(Token(token), since, max_bytes);
  }
  [[nodiscard]] std::uint64_t payload_bound() const override { return engine_.config().payload_bytes_per_source; }

 private:
  capture::Engine& engine_;
};

/// A RecordFeed that its owner fills itself: a bare RecordRing + Notifier, the classes the
/// engine uses. One producer thread (the owner's, or one it starts) pushes with
/// `ring.try_push` and then calls `notifier.notify()`, as the poll thread does. For
/// benchmarks (readyscope-bench -o ingest) and tests.
class RingFeed final : public RecordFeed {
 public:
  /// `capacity`: as RecordRing's (a power of two >= 2). Throws std::system_error if the
  /// notifier's eventfd cannot be created.
  explicit RingFeed(std::size_t capacity) : ring(capacity), notifier(make_notifier()) {}
  [[nodiscard]] int notify_fd() const override { return notifier.as_raw_fd(); }
  void begin_drain() override { (void)notifier.begin_drain(); }
  std::size_t drain(std::span<capture::Record> out) override { return ring.pop(out); }
  [[nodiscard]] std::uint64_t produced() const override { return ring.produced(); }
  [[nodiscard]] std::uint64_t dropped() const override { return ring.dropped(); }
  [[nodiscard]] std::size_t ring_capacity() const override { return ring.capacity(); }

  capture::RecordRing ring;
  capture::Notifier notifier;

 private:
  static capture::Notifier make_notifier() {
    auto n = capture::Notifier::create();
    if (!n) throw std::system_error(n.error(), "eventfd");
    return std::move(*n);
  }
};

/// "ECONNREFUSED: Connection refused" style text for an error code.
QString error_text(std::error_code ec);
/// Why the engine's poll thread stopped: "epoll_wait failed: EBADF: Bad file descriptor".
QString failure_text(const capture::EngineFailure& f);

}  // namespace ready::ui
