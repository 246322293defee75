// The background writer: a worker thread that writes records to a file (a recording, a
// trace, a CSV) so that a slow disk never stalls the GUI thread.
#pragma once

#include <QObject>
#include <QString>

#include <atomic>
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
#include <vector>

#include "ready/capture/record.h"
#include "ready/capture/recorder.h"
#include "ready/capture/recording.h"
#include "ready/error.h"

namespace ready::ui {

class CaptureSession;

/// What a batch's records refer to, looked up on the GUI thread when the batch is made: the
/// session's lookups (note texts, addresses, datagram peers) are not for other threads.
struct BatchContext {
  std::unordered_map<std::uint64_t, std::string> notes;                 ///< note id -> text
  std::unordered_map<std::uint64_t, capture::SourceAddresses> sources;  ///< token -> addresses
  std::unordered_map<std::uint64_t, std::string> peers;                 ///< peer id -> text

  /// Adds what `r` refers to, asking `session` (GUI thread).
  void resolve(const capture::Record& r, const CaptureSession& session);

  [[nodiscard]] std::optional<std::string> note(std::uint64_t id) const;
  [[nodiscard]] std::optional<capture::SourceAddresses> addresses(std::uint64_t token) const;
  [[nodiscard]] std::optional<std::string> peer(std::uint64_t id) const;
};

/// Sets the note_text / addresses / peer_text lookups of a writer's options (RecordingWriter,
/// TraceWriter, CsvWriter, Recorder) to answer from `*current`: the batch being written.
template <class Options>
void answer_from(Options& options, const BatchContext* const* current) {
  options.note_text = [current](std::uint64_t id) { return (*current)->note(id); };
  options.addresses = [current](std::uint64_t token) { return (*current)->addresses(token); };
  options.peer_text = [current](std::uint64_t id) { return (*current)->peer(id); };
}

/// One file (or ring of files) being written on the worker thread. Errors are one line of
/// text saying what failed (with the file's name when the writer gives it).
class WriteTarget {
 public:
  using Result = std::expected<void, std::string>;
  virtual ~WriteTarget() = default;
  /// Writes records; `context` holds what they refer to.
  virtual Result write(std::span<const capture::Record> records, const BatchContext& context) = 0;
  /// Completes the file (flush, final lines, close).
  virtual Result finish() = 0;
};

/// A WriteTarget over a writer with RecordingWriter's shape: `W::create(path, options)`
/// where options has the note_text / addresses / peer_text lookups, then `write(span)` and
/// `close()`. The lookups answer from the batch being written.
template <class W, class Options>
class LookupTarget final : public WriteTarget {
 public:
  static io_result<std::unique_ptr<WriteTarget>> create(const std::string& path, Options options) {
    auto self = std::unique_ptr<LookupTarget>(new LookupTarget());
    answer_from(options, &self->ctx_);
    auto w = W::create(path, std::move(options));
    if (!w) return std::unexpected(w.error());
    self->writer_.emplace(std::move(*w));
    self->path_ = path;
    return std::unique_ptr<WriteTarget>(std::move(self));
  }
  Result write(std::span<const capture::Record> records, const BatchContext& context) override {
    ctx_ = &context;
    auto r = writer_->write(records);
    ctx_ = &empty_;
    if (!r) return std::unexpected(path_ + ": " + r.error().message());
    return {};
  }
  Result finish() override {
    if (auto r = writer_->close(); !r) return std::unexpected(path_ + ": " + r.error().message());
    return {};
  }

 private:
  LookupTarget() = default;
  std::string path_;
  BatchContext empty_;
  const BatchContext* ctx_ = &empty_;
  std::optional<W> writer_;
};

/// A WriteTarget over a capture::Recorder (a recording or a ring of them, payload
/// optional): the lookups answer from the batch being written; `options`' payload_fetch,
/// counts and on_file_closed are kept as given and run on the worker thread, so they must be
/// safe there (Engine::payload, Engine::produced and Engine::dropped are).
class RecorderTarget final : public WriteTarget {
 public:
  static std::expected<std::unique_ptr<WriteTarget>, std::string> create(capture::RecorderOptions options);
  Result write(std::span<const capture::Record> records, const BatchContext& context) override;
  Result finish() override;
  /// The recorder's counts (read them on the worker thread, or once the writer finished).
  [[nodiscard]] const capture::RecorderCounts& counts() const noexcept { return recorder_->counts(); }

 private:
  RecorderTarget() = default;
  BatchContext empty_;
  const BatchContext* ctx_ = &empty_;
  std::optional<capture::Recorder> recorder_;
};

/// Writes batches of records to a WriteTarget on its own thread, in the order offered.
///
/// The queue is bounded (`max_queued_records`): `offer` refuses a batch that does not fit
/// and counts its records as not written (a live recording under a disk slower than the
/// capture); a caller that must lose nothing (saving a store) offers only when
/// `has_room` says so and waits otherwise. A write error stops the worker: later batches are
/// counted as not written and `finished` reports the error. `finish()` closes the target
/// after the queued batches; `finished` is emitted once, on the GUI thread. The destructor
/// finishes and joins (it does not wait for the GUI's event loop).
class BackgroundWriter : public QObject {
  Q_OBJECT

 public:
  static constexpr std::size_t kDefaultMaxQueuedRecords = std::size_t{1} << 20;  // 48 MiB of records

  explicit BackgroundWriter(std::unique_ptr<WriteTarget> target,
                            std::size_t max_queued_records = kDefaultMaxQueuedRecords, QObject* parent = nullptr);
  ~BackgroundWriter() override;
  BackgroundWriter(const BackgroundWriter&) = delete;
  BackgroundWriter& operator=(const BackgroundWriter&) = delete;

  /// Queues a batch. False when it does not fit (its records are counted in notWritten())
  /// or after finish().
  bool offer(std::vector<capture::Record> records, BatchContext context);
  /// Whether a batch of `n` records fits now.
  [[nodiscard]] bool hasRoom(std::size_t n) const;
  /// No more batches: the worker writes what is queued, then completes the file.
  void finish();

  [[nodiscard]] std::uint64_t written() const noexcept { return written_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t notWritten() const noexcept { return not_written_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t queued() const;
  [[nodiscard]] bool isFinished() const noexcept { return done_.load(std::memory_order_acquire); }
  /// The error that stopped the writer ("" while none).
  [[nodiscard]] QString error() const;

 signals:
  /// The file is complete (error empty) or the writer failed (error says why).
  void finished(const QString& error);

 private:
  struct Batch {
    std::vector<capture::Record> records;
    BatchContext context;
  };
  void run();

  std::unique_ptr<WriteTarget> target_;
  const std::size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;       // guarded by mu_
  std::size_t queued_records_ = 0;  // guarded by mu_
  bool closing_ = false;            // guarded by mu_
  QString error_;                   // guarded by mu_
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> not_written_{0};
  std::atomic<bool> done_{false};
  std::thread worker_;
};

}  // namespace ready::ui
