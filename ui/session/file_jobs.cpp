#include "session/file_jobs.h"

#include <QFile>

#include <utility>

#include "session/capture_session.h"

namespace ready::ui {

using capture::Record;

StoreWriteJob::StoreWriteJob(CaptureSession& session, std::unique_ptr<WriteTarget> target, QString path,
                             std::function<bool(std::uint64_t)> filter, QObject* parent)
    : QObject(parent),
      session_(session),
      path_(std::move(path)),
      filter_(std::move(filter)),
      writer_(std::make_unique<BackgroundWriter>(std::move(target))) {
  timer_.setInterval(0);
  connect(&timer_, &QTimer::timeout, this, &StoreWriteJob::slice);
  connect(writer_.get(), &BackgroundWriter::finished, this, &StoreWriteJob::writerFinished);
}

StoreWriteJob::~StoreWriteJob() {
  // Going before it finished (the window closed mid-save): the writer completes what it has,
  // and the file, which would hold only part of the store, is removed.
  const bool unfinished = cancelled_ || cursor_ < last_;
  writer_.reset();
  if (unfinished) QFile::remove(path_);
}

void StoreWriteJob::start() {
  const auto& store = session_.store();
  first_ = cursor_ = store.begin_index();
  last_ = store.end_index();
  if (cursor_ == last_) {
    writer_->finish();
    return;
  }
  timer_.start();
}

void StoreWriteJob::cancel() {
  if (cancelled_ || writer_->isFinished()) return;
  cancelled_ = true;
  timer_.stop();
  writer_->finish();
}

void StoreWriteJob::slice() {
  const auto& store = session_.store();
  if (cursor_ < store.begin_index()) {  // evicted before we got to them
    const std::uint64_t to = std::min(store.begin_index(), last_);
    evicted_ += to - cursor_;
    cursor_ = to;
  }
  QElapsedTimer clock;
  clock.start();
  while (cursor_ < last_ && clock.nsecsElapsed() < kSliceNs) {
    const std::uint64_t n = std::min<std::uint64_t>(kSliceRecords, last_ - cursor_);
    if (!writer_->hasRoom(n)) break;  // the disk is behind: wait for room, drop nothing
    std::vector<Record> records;
    records.reserve(n);
    BatchContext context;
    // A text filter formats each record: stop a slice on time, not only on count.
    const std::uint64_t end = cursor_ + n;
    for (; cursor_ < end; ++cursor_) {
      if (filter_ && !filter_(cursor_)) continue;
      const Record r = store.at(cursor_);
      context.resolve(r, session_);
      records.push_back(r);
      if (filter_ && (records.size() & 1023) == 0 && clock.nsecsElapsed() >= kSliceNs) {
        ++cursor_;
        break;
      }
    }
    if (!records.empty()) writer_->offer(std::move(records), std::move(context));
  }
  emit progress(done(), total());
  if (cursor_ >= last_) {
    timer_.stop();
    writer_->finish();
  }
}

void StoreWriteJob::writerFinished(const QString& error) {
  if (cancelled_) {
    QFile::remove(path_);
    emit finished(QStringLiteral("cancelled"));
    return;
  }
  emit finished(error);
}

LiveRecorder::LiveRecorder(CaptureSession& session, std::unique_ptr<WriteTarget> target, QString path, QObject* parent)
    : QObject(parent),
      session_(session),
      path_(std::move(path)),
      writer_(std::make_unique<BackgroundWriter>(std::move(target), kMaxQueuedRecords)) {
  batch_.reserve(4096);
  connect(writer_.get(), &BackgroundWriter::finished, this, &LiveRecorder::finished);
  session_.add_observer(this);
  session_.add_consumer(CaptureSession::Stage::models, this);
}

LiveRecorder::~LiveRecorder() {
  if (!stopped_) {
    session_.remove_observer(this);
    session_.remove_consumer(this);
  }
}

void LiveRecorder::on_record(const Record& r, std::uint64_t) {
  ++seen_;
  context_.resolve(r, session_);
  batch_.push_back(r);
  if (batch_.size() >= 65536) flush();
}

void LiveRecorder::take_frame(const Frame&) { flush(); }

void LiveRecorder::flush() {
  if (batch_.empty()) return;
  writer_->offer(std::exchange(batch_, {}), std::exchange(context_, {}));
  batch_.reserve(4096);
}

void LiveRecorder::stop() {
  if (stopped_) return;
  flush();
  session_.remove_observer(this);
  session_.remove_consumer(this);
  stopped_ = true;
  writer_->finish();
}

}  // namespace ready::ui
