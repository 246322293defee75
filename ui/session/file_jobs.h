// Writing a capture to files from the window without stalling it: saving the store (as a
// recording, a trace or a CSV) and recording while watching.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QTimer>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "session/background_writer.h"
#include "session/capture_session.h"

namespace ready::ui {

class CaptureSession;

/// Writes the records the session's store holds when the job starts ([begin, end) then) to a
/// WriteTarget through a BackgroundWriter. The GUI thread copies the records in slices (at
/// most kSliceRecords and about kSliceNs per event-loop turn, only while the writer's queue
/// has room), so a big store never freezes the window and nothing is dropped: a slice waits
/// for room instead. `filter` (optional) keeps only the records it accepts (the log's filter).
/// Records the store evicts before their slice was copied (a live capture at its bound) are
/// counted in evictedBeforeCopy() and reported; the capture keeps running meanwhile.
///
/// `cancel()` stops copying, completes the file and removes it (a cancelled export leaves
/// nothing behind). `finished` comes once, after the file is complete (or removed). A job
/// destroyed before it copied everything (its window closed) removes its file too.
class StoreWriteJob : public QObject {
  Q_OBJECT

 public:
  static constexpr std::size_t kSliceRecords = 65536;
  static constexpr qint64 kSliceNs = 6'000'000;

  StoreWriteJob(CaptureSession& session, std::unique_ptr<WriteTarget> target, QString path,
                std::function<bool(std::uint64_t index)> filter = {}, QObject* parent = nullptr);
  ~StoreWriteJob() override;

  void start();
  void cancel();

  [[nodiscard]] QString path() const { return path_; }
  /// Records examined so far of total() (the store's size when the job started).
  [[nodiscard]] std::uint64_t done() const noexcept { return cursor_ - first_; }
  [[nodiscard]] std::uint64_t total() const noexcept { return last_ - first_; }
  [[nodiscard]] std::uint64_t written() const noexcept { return writer_->written(); }
  [[nodiscard]] std::uint64_t evictedBeforeCopy() const noexcept { return evicted_; }
  [[nodiscard]] bool cancelled() const noexcept { return cancelled_; }

 signals:
  void progress(std::uint64_t done, std::uint64_t total);
  /// error: "" on success; "cancelled" when cancelled (the file is removed).
  void finished(const QString& error);

 private:
  void slice();
  void writerFinished(const QString& error);

  CaptureSession& session_;
  QString path_;
  std::function<bool(std::uint64_t)> filter_;
  std::unique_ptr<BackgroundWriter> writer_;
  QTimer timer_;
  std::uint64_t first_ = 0, last_ = 0, cursor_ = 0, evicted_ = 0;
  bool cancelled_ = false;
};

/// Records while watching: every record the session appends from now on goes, batched per
/// frame, to a WriteTarget on a BackgroundWriter. A disk slower than the capture never
/// blocks the GUI thread: a batch that finds the writer's queue full (kMaxQueuedRecords) is
/// not written, and counted (notWritten(), shown by the window).
class LiveRecorder : public QObject, public RecordObserver, public FrameConsumer {
  Q_OBJECT

 public:
  static constexpr std::size_t kMaxQueuedRecords = std::size_t{1} << 21;  // 96 MiB of records

  LiveRecorder(CaptureSession& session, std::unique_ptr<WriteTarget> target, QString path, QObject* parent = nullptr);
  ~LiveRecorder() override;

  /// Stops taking records and completes the file (finished follows).
  void stop();

  [[nodiscard]] QString path() const { return path_; }
  [[nodiscard]] std::uint64_t seen() const noexcept { return seen_; }
  [[nodiscard]] std::uint64_t written() const noexcept { return writer_->written(); }
  [[nodiscard]] std::uint64_t notWritten() const noexcept { return writer_->notWritten(); }
  [[nodiscard]] bool stopped() const noexcept { return stopped_; }

  void on_record(const capture::Record& r, std::uint64_t index) override;
  void take_frame(const Frame& frame) override;

 signals:
  void finished(const QString& error);

 private:
  void flush();

  CaptureSession& session_;
  QString path_;
  std::unique_ptr<BackgroundWriter> writer_;
  std::vector<capture::Record> batch_;
  BatchContext context_;
  std::uint64_t seen_ = 0;
  bool stopped_ = false;
};

}  // namespace ready::ui
