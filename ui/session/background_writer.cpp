#include "session/background_writer.h"

#include <QMetaObject>

#include <utility>

#include "models/source_table.h"
#include "session/capture_session.h"

namespace ready::ui {

using capture::Record;
using capture::RecordKind;

void BatchContext::resolve(const Record& r, const CaptureSession& session) {
  switch (r.kind) {
    case RecordKind::source_added:
    case RecordKind::source_changed:
    case RecordKind::source_removed: {
      if (sources.contains(r.token)) break;
      // The session's table keeps a closed source's addresses; the engine knows an open one's.
      if (const SourceRow* row = session.sources().find(r.token); row && (!row->local.empty() || !row->peer.empty()))
        sources.emplace(r.token, capture::SourceAddresses{row->local, row->peer});
      else if (auto a = session.source_addresses(r.token))
        sources.emplace(r.token, std::move(*a));
      break;
    }
    case RecordKind::note:
      if (!notes.contains(r.note_id())) {
        const QString text = session.note_text(r.note_id());
        if (!text.isEmpty()) notes.emplace(r.note_id(), text.toStdString());
      }
      break;
    case RecordKind::action:
      if (const std::uint64_t id = r.peer_id(); id != 0 && !peers.contains(id)) {
        const QString text = session.peer_text(id);
        if (!text.isEmpty()) peers.emplace(id, text.toStdString());
      }
      break;
    default:
      break;
  }
}

std::expected<std::unique_ptr<WriteTarget>, std::string> RecorderTarget::create(capture::RecorderOptions options) {
  auto self = std::unique_ptr<RecorderTarget>(new RecorderTarget());
  answer_from(options, &self->ctx_);
  auto r = capture::Recorder::create(std::move(options));
  if (!r) return std::unexpected(r.error().message());
  self->recorder_.emplace(std::move(*r));
  return std::unique_ptr<WriteTarget>(std::move(self));
}

WriteTarget::Result RecorderTarget::write(std::span<const Record> records, const BatchContext& context) {
  ctx_ = &context;
  auto r = recorder_->write(records);
  ctx_ = &empty_;
  if (!r) return std::unexpected(r.error().message());
  return {};
}

WriteTarget::Result RecorderTarget::finish() {
  if (auto r = recorder_->close(); !r) return std::unexpected(r.error().message());
  return {};
}

std::optional<std::string> BatchContext::note(std::uint64_t id) const {
  const auto it = notes.find(id);
  return it == notes.end() ? std::nullopt : std::optional<std::string>(it->second);
}

std::optional<capture::SourceAddresses> BatchContext::addresses(std::uint64_t token) const {
  const auto it = sources.find(token);
  return it == sources.end() ? std::nullopt : std::optional<capture::SourceAddresses>(it->second);
}

std::optional<std::string> BatchContext::peer(std::uint64_t id) const {
  const auto it = peers.find(id);
  return it == peers.end() ? std::nullopt : std::optional<std::string>(it->second);
}

BackgroundWriter::BackgroundWriter(std::unique_ptr<WriteTarget> target, std::size_t max_queued_records,
                                   QObject* parent)
    : QObject(parent), target_(std::move(target)), max_queued_(max_queued_records) {
  worker_ = std::thread([this] { run(); });
}

BackgroundWriter::~BackgroundWriter() {
  finish();
  if (worker_.joinable()) worker_.join();
}

bool BackgroundWriter::offer(std::vector<Record> records, BatchContext context) {
  const std::size_t n = records.size();
  {
    std::lock_guard lock(mu_);
    if (!closing_ && error_.isEmpty() && queued_records_ + n <= max_queued_) {
      queued_records_ += n;
      queue_.push_back(Batch{std::move(records), std::move(context)});
      cv_.notify_one();
      return true;
    }
  }
  not_written_.fetch_add(n, std::memory_order_relaxed);
  return false;
}

bool BackgroundWriter::hasRoom(std::size_t n) const {
  std::lock_guard lock(mu_);
  return !closing_ && queued_records_ + n <= max_queued_;
}

void BackgroundWriter::finish() {
  std::lock_guard lock(mu_);
  closing_ = true;
  cv_.notify_one();
}

std::uint64_t BackgroundWriter::queued() const {
  std::lock_guard lock(mu_);
  return queued_records_;
}

QString BackgroundWriter::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

void BackgroundWriter::run() {
  QString failure;
  for (;;) {
    Batch batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) break;  // closing, everything written
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    const std::size_t n = batch.records.size();
    WriteTarget::Result r = failure.isEmpty() ? target_->write(batch.records, batch.context) : WriteTarget::Result{};
    {
      std::lock_guard lock(mu_);
      queued_records_ -= n;
      if (!failure.isEmpty()) {
        not_written_.fetch_add(n, std::memory_order_relaxed);
      } else if (!r) {
        failure = QString::fromStdString(r.error());
        error_ = failure;
        not_written_.fetch_add(n, std::memory_order_relaxed);
      } else {
        written_.fetch_add(n, std::memory_order_relaxed);
      }
    }
  }
  if (auto c = target_->finish(); !c && failure.isEmpty()) {
    failure = QString::fromStdString(c.error());
    std::lock_guard lock(mu_);
    error_ = failure;
  }
  done_.store(true, std::memory_order_release);
  QMetaObject::invokeMethod(this, [this, failure] { emit finished(failure); }, Qt::QueuedConnection);
}

}  // namespace ready::ui
