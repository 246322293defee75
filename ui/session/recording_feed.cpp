#include "session/recording_feed.h"

#include <QMetaObject>

#include <algorithm>
#include <system_error>

namespace ready::ui {

using capture::Record;
using capture::RecordKind;

/// read_recording's sink: everything goes straight to the feed (on the reader thread).
class RecordingFeed::Sink final : public capture::RecordingSink {
 public:
  explicit Sink(RecordingFeed& feed) : feed_(feed) {}

  void on_records(std::span<const Record> batch) override { (void)feed_.push(batch); }
  void on_note(std::uint64_t id, const std::string& text) override {
    const std::lock_guard lock(feed_.tables_mutex_);
    feed_.notes_[id] = text;
  }
  void on_source(std::uint64_t token, const capture::SourceAddresses& addresses) override {
    const std::lock_guard lock(feed_.tables_mutex_);
    feed_.addresses_.emplace(token, addresses);
  }
  void on_peer(std::uint64_t id, const std::string& text) override {
    const std::lock_guard lock(feed_.tables_mutex_);
    feed_.peers_.emplace(id, text);
  }
  void on_payload(std::uint64_t token, const capture::PayloadChunk& chunk) override {
    const std::lock_guard lock(feed_.tables_mutex_);
    feed_.payload_.add(token, chunk);
  }

 private:
  RecordingFeed& feed_;
};

io_result<std::unique_ptr<RecordingFeed>> RecordingFeed::open(std::string path, Limits limits) {
  if (limits.queue_batches == 0) return std::unexpected(std::make_error_code(std::errc::invalid_argument));
  auto notifier = capture::Notifier::create();
  if (!notifier) return std::unexpected(notifier.error());
  std::unique_ptr<RecordingFeed> feed(new RecordingFeed(std::move(path), limits, std::move(*notifier)));
  try {
    feed->reader_ = std::thread([f = feed.get()] { f->run(); });
  } catch (const std::system_error& e) {
    return std::unexpected(e.code());
  }
  return feed;
}

RecordingFeed::RecordingFeed(std::string path, Limits limits, capture::Notifier notifier)
    : path_(std::move(path)),
      limits_(limits),
      notifier_(std::move(notifier)),
      payload_(limits.payload_bytes_per_source, limits.payload_bytes_total) {}

RecordingFeed::~RecordingFeed() { stop(); }

void RecordingFeed::stop() {
  cancel();
  if (reader_.joinable()) reader_.join();
}

void RecordingFeed::cancel() {
  {
    // Under the queue's mutex: a reader about to wait sees the flag, or is woken below.
    const std::lock_guard lock(queue_mutex_);
    progress_.cancel.store(true, std::memory_order_relaxed);
  }
  space_.notify_all();
}

void RecordingFeed::run() {
  Sink sink(*this);
  Outcome result = capture::read_recording(path_, sink, limits_.file, &progress_);
  {
    const std::lock_guard lock(tables_mutex_);
    tables_final_ = true;
  }
  {
    const std::lock_guard lock(queue_mutex_);
    result_ = std::move(result);
    reader_done_ = true;
  }
  // The bridge drains what is left and, finding the queue empty and the reader done,
  // announces the end (drain()).
  (void)notifier_.notify();
}

bool RecordingFeed::push(std::span<const Record> batch) {
  if (batch.empty()) return true;
  std::vector<Record> v;
  {
    std::unique_lock lock(queue_mutex_);
    if (queue_.size() >= limits_.queue_batches) ++full_waits_;
    space_.wait(lock, [this] {
      return queue_.size() < limits_.queue_batches || progress_.cancel.load(std::memory_order_relaxed);
    });
    if (progress_.cancel.load(std::memory_order_relaxed)) return false;
    if (!spare_.empty()) {
      v = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  // The copy and the open-source bookkeeping outside the queue's lock: the GUI drains meanwhile.
  v.assign(batch.begin(), batch.end());
  {
    const std::lock_guard lock(tables_mutex_);
    for (const Record& r : batch) {
      if (r.kind == RecordKind::source_added)
        open_.insert(r.token);
      else if (r.kind == RecordKind::source_removed)
        open_.erase(r.token);
    }
  }
  {
    const std::lock_guard lock(queue_mutex_);
    queue_.push_back(std::move(v));
    produced_ += batch.size();
  }
  (void)notifier_.notify();
  return true;
}

std::size_t RecordingFeed::drain(std::span<Record> out) {
  std::size_t n = 0;
  bool freed = false;
  bool announce = false;
  {
    const std::lock_guard lock(queue_mutex_);
    while (n < out.size() && !queue_.empty()) {
      std::vector<Record>& front = queue_.front();
      const std::size_t k = std::min(out.size() - n, front.size() - front_pos_);
      std::copy_n(front.begin() + static_cast<std::ptrdiff_t>(front_pos_), k, out.begin() + static_cast<std::ptrdiff_t>(n));
      n += k;
      front_pos_ += k;
      if (front_pos_ == front.size()) {
        front_pos_ = 0;
        if (spare_.size() < limits_.queue_batches) spare_.push_back(std::move(front));
        queue_.pop_front();
        freed = true;
      }
    }
    if (n == 0 && queue_.empty() && reader_done_ && !announced_ && !outcome_) {
      outcome_ = std::move(result_);
      announce = true;
    }
  }
  if (freed) space_.notify_one();
  if (announce) {
    // Queued: the bridge is inside its drain; the window's handler may open a dialog.
    announced_ = true;
    QMetaObject::invokeMethod(this, [this] { emit finished(); }, Qt::QueuedConnection);
  }
  return n;
}

std::uint64_t RecordingFeed::queue_full_waits() const {
  const std::lock_guard lock(queue_mutex_);
  return full_waits_;
}

std::uint64_t RecordingFeed::produced() const {
  const std::lock_guard lock(queue_mutex_);
  return produced_;
}

std::uint64_t RecordingFeed::payload_bytes_cut() const {
  const std::lock_guard lock(tables_mutex_);
  return payload_.cut();
}

std::optional<std::string> RecordingFeed::note_text(std::uint64_t id) const {
  const std::lock_guard lock(tables_mutex_);
  const auto it = notes_.find(id);
  if (it == notes_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> RecordingFeed::peer_text(std::uint64_t id) const {
  const std::lock_guard lock(tables_mutex_);
  const auto it = peers_.find(id);
  if (it == peers_.end()) return std::nullopt;
  return it->second;
}

std::optional<capture::SourceAddresses> RecordingFeed::source_addresses(std::uint64_t token) const {
  const std::lock_guard lock(tables_mutex_);
  const auto it = addresses_.find(token);
  if (it == addresses_.end()) return std::nullopt;
  return it->second;
}

bool RecordingFeed::is_open(std::uint64_t token) const {
  const std::lock_guard lock(tables_mutex_);
  return open_.contains(token);
}

std::optional<capture::PayloadSnapshot> RecordingFeed::payload(std::uint64_t token, std::uint64_t since,
                                                               std::size_t max_bytes) const {
  const std::lock_guard lock(tables_mutex_);
  return payload_.snapshot(token, since, max_bytes, tables_final_ || !open_.contains(token));
}

void PayloadTable::add(std::uint64_t token, const capture::PayloadChunk& chunk) {
  const std::uint64_t size = chunk.bytes.size();
  Source& p = sources_[token];
  if (size > per_source_) {
    // Larger than a source's whole share: eviction would leave a fragment. None of it.
    cut_ += size;
    p.evicted += size;
    return;
  }
  while (!p.chunks.empty() && p.bytes + size > per_source_) {
    const std::uint64_t n = p.chunks.front().bytes.size();
    p.bytes -= n;
    p.evicted += n;
    held_ -= n;
    cut_ += n;
    p.chunks.pop_front();
  }
  if (held_ + size > total_) {
    cut_ += size;
    return;
  }
  p.chunks.push_back(chunk);
  p.bytes += size;
  held_ += size;
}

std::optional<capture::PayloadSnapshot> PayloadTable::snapshot(std::uint64_t token, std::uint64_t since,
                                                               std::size_t max_bytes, bool closed) const {
  const auto it = sources_.find(token);
  if (it == sources_.end()) return std::nullopt;
  const Source& p = it->second;
  capture::PayloadSnapshot snap;
  snap.evicted = p.evicted;
  snap.closed = closed;
  snap.next = since;
  std::uint64_t left = max_bytes;
  for (const capture::PayloadChunk& c : p.chunks) {
    if (left == 0) break;
    const std::uint64_t end = c.offset + c.bytes.size();
    if (end <= since) continue;
    const std::uint64_t skip = since > c.offset ? since - c.offset : 0;
    const std::uint64_t take = std::min<std::uint64_t>(c.bytes.size() - skip, left);
    capture::PayloadChunk part;
    part.offset = c.offset + skip;
    part.t_ns = c.t_ns;
    part.direction = c.direction;
    part.peer = c.peer;
    part.unix_peer = c.unix_peer;
    part.bytes.assign(c.bytes.begin() + static_cast<std::ptrdiff_t>(skip),
                      c.bytes.begin() + static_cast<std::ptrdiff_t>(skip + take));
    left -= take;
    snap.next = part.offset + take;
    snap.chunks.push_back(std::move(part));
  }
  return snap;
}

}  // namespace ready::ui
