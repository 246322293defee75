#include "session/bridge.h"

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace ready::ui {

namespace {

std::uint64_t mono_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

}  // namespace

QString error_text(std::error_code ec) {
  const std::string name = errno_name(ec.value());
  return QStringLiteral("%1: %2").arg(QString::fromStdString(name), QString::fromStdString(ec.message()));
}

QString failure_text(const capture::EngineFailure& f) {
  return QStringLiteral("%1 failed: %2").arg(QString::fromLatin1(f.where), error_text(f.error));
}

io_result<std::unique_ptr<Bridge>> Bridge::start(capture::EngineConfig config, Options options, QObject* parent) {
  auto engine = capture::Engine::start(config);
  if (!engine) return std::unexpected(engine.error());
  return std::unique_ptr<Bridge>(new Bridge(std::move(*engine), options, parent));
}

Bridge::Bridge(std::unique_ptr<capture::Engine> engine, Options options, QObject* parent)
    : Bridge(std::make_unique<EngineFeed>(*engine), options, parent) {
  owned_engine_ = std::move(engine);
  engine_ = owned_engine_.get();
}

Bridge::Bridge(std::unique_ptr<RecordFeed> feed, Options options, QObject* parent)
    : QObject(parent), feed_(std::move(feed)), options_(options), store_(options.store), batch_(kBatch) {
  notifier_ = std::make_unique<QSocketNotifier>(feed_->notify_fd(), QSocketNotifier::Read);
  connect(notifier_.get(), &QSocketNotifier::activated, this, [this] { on_readable(); });
  frame_timer_.setTimerType(Qt::PreciseTimer);
  frame_timer_.setInterval(std::max(1, options_.frame_interval_ms));
  connect(&frame_timer_, &QTimer::timeout, this, [this] { on_frame_timer(); });
  // Not started here: the first drain that brings records starts it (an idle bridge runs no timer).
  rate_base_ns_ = mono_ns();
}

Bridge::~Bridge() {
  // The notifier watches the feed's fd: gone before the feed (and the engine) close it.
  notifier_.reset();
  if (owned_engine_) owned_engine_->stop();
}

void Bridge::add_observer(RecordObserver* o) {
  if (std::find(observers_.begin(), observers_.end(), o) == observers_.end()) observers_.push_back(o);
}

void Bridge::remove_observer(RecordObserver* o) { std::erase(observers_, o); }

io_result<capture::Ticket> Bridge::submit(capture::Command command) {
  if (!engine_) {
    const auto ec = std::make_error_code(std::errc::not_connected);
    emit commandFailed(QStringLiteral("no capture engine: %1").arg(error_text(ec)));
    return std::unexpected(ec);
  }
  auto t = engine_->submit(std::move(command));
  if (!t) {
    QString why;
    if (t.error().value() == capture::Engine::kFailedErrno) {
      if (const auto f = engine_->failure()) why = QStringLiteral(" (the poll thread stopped: %1)").arg(failure_text(*f));
    } else if (t.error().value() == ENOBUFS) {
      why = QStringLiteral(" (the command queue is full: %1 commands wait)").arg(engine_->config().command_queue_capacity);
    }
    emit commandFailed(QStringLiteral("command refused: %1%2").arg(error_text(t.error()), why));
  }
  return t;
}

QString Bridge::note_text(std::uint64_t id) const {
  auto t = feed_->note_text(id);
  return t ? QString::fromStdString(*t) : QString();
}

QString Bridge::peer_text(std::uint64_t id) const {
  if (id == 0) return {};
  auto t = feed_->peer_text(id);
  return t ? QString::fromStdString(*t) : QString();
}

std::optional<capture::SourceAddresses> EngineFeed::source_addresses(std::uint64_t token) const {
  auto info = engine_.source_info(Token(token));
  if (!info) return std::nullopt;
  return capture::SourceAddresses{std::move(info->local), std::move(info->peer)};
}

void Bridge::on_readable() {
  feed_->begin_drain();
  drain_now();
}

std::size_t Bridge::drain_now() {
  const std::uint64_t start_ns = mono_ns();
  std::size_t total = 0;
  for (;;) {
    const std::size_t n = feed_->drain(batch_);
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t index = store_.append(batch_[i]);
      for (RecordObserver* o : observers_) o->on_record(batch_[i], index);
    }
    total += n;
    if (total >= kMaxPerWake || mono_ns() - start_ns >= kMaxWakeNs) {
      // Records may remain and no new wake-up is due for them (the Notifier wrote once):
      // come back from the event loop instead of freezing the window.
      if (!drain_scheduled_) {
        drain_scheduled_ = true;
        QTimer::singleShot(0, this, [this] {
          drain_scheduled_ = false;
          drain_now();
        });
      }
      break;
    }
  }
  if (store_.begin_index() != last_evicted_) {
    last_evicted_ = store_.begin_index();
    for (RecordObserver* o : observers_) o->on_evicted(last_evicted_);
  }
  received_ += total;
  if (total != 0 && !frame_timer_.isActive()) {
    // Waking from idle: the rate's window starts now, not at the last record before the pause;
    // this frame goes out at once (as soon as the store has them, so do the views) and the
    // timer paces the next ones.
    rate_base_ = received_ - total;
    rate_base_ns_ = mono_ns();
    frame_timer_.start();
    flush_frame();
  }
  return total;
}

void Bridge::on_frame_timer() {
  const std::uint64_t now = mono_ns();
  if (now - rate_base_ns_ >= 500'000'000) {
    rate_ = static_cast<double>(received_ - rate_base_) * 1e9 / static_cast<double>(now - rate_base_ns_);
    rate_base_ = received_;
    rate_base_ns_ = now;
  }
  const bool appended = store_.end_index() != frame_begin_;
  flush_frame();
  // A frame with nothing new and a rate that has fallen to zero: idle. The timer stops (an
  // idle window wakes for nothing) until a drain brings records again; at most about a second
  // (two rate windows) after the last record.
  if (!appended && rate_ == 0) {
    frame_timer_.stop();
    emit idle();
  }
}

void Bridge::flush_frame() {
  const std::uint64_t end = store_.end_index();
  const std::uint64_t begin = std::max(frame_begin_, store_.begin_index());
  if (end == frame_begin_) return;
  frame_begin_ = end;
  emit frame(begin, end, store_.begin_index());
}

Bridge::Status Bridge::status() const {
  Status s;
  s.stored = store_.size();
  s.received = received_;
  s.produced = feed_->produced();
  s.dropped = feed_->dropped();
  s.evicted = store_.evicted();
  s.records_per_s = rate_;
  s.ring_capacity = feed_->ring_capacity();
  const std::uint64_t pushed = s.produced - s.dropped;
  s.ring_fill = pushed > received_ ? pushed - received_ : 0;
  s.poll_thread_running = engine_ != nullptr && !stopped_;
  if (engine_) {
    if (const auto f = engine_->failure()) {
      s.poll_thread_running = false;
      s.poll_thread_failure = failure_text(*f);
    }
  }
  return s;
}

void Bridge::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (engine_)
    engine_->stop();
  else
    feed_->stop();
  drain_now();
  flush_frame();
}

}  // namespace ready::ui
