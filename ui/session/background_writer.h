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
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ready/capture/record.h"
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
};

/// One file being written on the worker thread.
class WriteTarget {
 public:
  virtual ~WriteTarget() = default;
  /// Writes records; `context` holds what they refer to.
  virtual io_result<void> write(std::span<const capture::Record> records, const BatchContext& context) = 0;
  /// Completes the file (flush, final lines, close).
  virtual io_result<void> finish() = 0;
};

/// A WriteTarget over a writer with RecordingWriter's shape: `W::create(path, options)`
/// where options has the note_text / addresses / peer_text lookups, then `write(span)` and
/// `close()`. The lookups answer from the batch being written.
template <class W, class Options>
class LookupTarget final : public WriteTarget {
 public:
  static io_result<std::unique_ptr<WriteTarget>> create(const std::string& path, Options options) {
    auto self = std::unique_ptr<LookupTarget>(new LookupTarget());
    LookupTarget* t = self.get();
    options.note_text = [t](std::uint64_t id) -> std::optional<std::string> {
      const auto it = t->ctx_->notes.find(id);
      return it == t->ctx_->notes.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    options.addresses = [t](std::uint64_t token) -> std::optional<capture::SourceAddresses> {
      const auto it = t->ctx_->sources.find(token);
      return it == t->ctx_->sources.end() ? std::nullopt : std::optional<capture::SourceAddresses>(it->second);
    };
    options.peer_text = [t](std::uint64_t id) -> std::optional<std::string> {
      const auto it = t->ctx_->peers.find(id);
      return it == t->ctx_->peers.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    auto w = W::create(path, std::move(options));
    if (!w) return std::unexpected(w.error());
    self->writer_.emplace(std::move(*w));
    return std::unique_ptr<WriteTarget>(std::move(self));
  }
  io_result<void> write(std::span<const capture::Record> records, const BatchContext& context) override {
    ctx_ = &context;
    auto r = writer_->write(records);
    ctx_ = &empty_;
    return r;
  }
  io_result<void> finish() override { return writer_->close(); }

 private:
  LookupTarget() = default;
  BatchContext empty_;
  const BatchContext* ctx_ = &empty_;
  std::optional<W> writer_;
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
