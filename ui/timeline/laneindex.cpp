#include "timeline/laneindex.h"

#include <algorithm>
#include <cmath>

#include "ready/capture/command.h"

namespace ready::ui {

using capture::Op;
using capture::Outcome;
using capture::Record;
using capture::RecordKind;
using capture::SourceKind;

std::uint8_t action_glyph(const Record& r) noexcept {
  switch (r.outcome) {
    case Outcome::error:
      return glyph_error;
    case Outcome::would_block:
      return glyph_would_block;
    case Outcome::eof:
      return glyph_eof;
    case Outcome::ok:
    case Outcome::in_progress:
      break;
  }
  switch (static_cast<Op>(r.op)) {
    case Op::read:
    case Op::drain:
    case Op::accept:
    case Op::eventfd_read:
      return glyph_read;
    case Op::write:
    case Op::fill:
    case Op::eventfd_write:
      return glyph_write;
    default:
      return glyph_other;
  }
}

template <class Entry>
std::size_t SummaryLevels<Entry>::lower_bound(std::size_t k, std::uint64_t bucket) const noexcept {
  const std::span<const Entry> l = level(k);
  const auto it = std::partition_point(l.begin(), l.end(),
                                       [bucket](const Entry& e) { return bucket_of(e) < bucket; });
  return static_cast<std::size_t>(it - l.begin());
}

template <class Entry>
void SummaryLevels<Entry>::drop_before(std::uint64_t t) {
  for (std::size_t k = 0; k < kLevels; ++k) {
    Level& l = levels_[k];
    // Bucket b ends at (b + 1) << shift: it is wholly before t when b < t >> shift.
    l.front += lower_bound(k, t >> shift(k));
    if (l.front > l.entries.size() / 2 && l.front > 0) {
      l.entries.erase(l.entries.begin(), l.entries.begin() + static_cast<std::ptrdiff_t>(l.front));
      l.front = 0;
    }
  }
}

template class SummaryLevels<MarkBucket>;
template class SummaryLevels<PollBucket>;
template class SummaryLevels<QueueBucket>;

namespace {

MarkBucket make_mark(std::uint64_t b) noexcept { return MarkBucket(b); }

bool is_listener(const std::optional<SourceKind>& k) {
  return k == SourceKind::tcp_listener || k == SourceKind::unix_listener;
}

// Pixel columns of a scale: the column of a time t >= t0, without TimeScale::x's signed
// arithmetic (hot: called per bucket at paint).
struct Columns {
  Columns(const TimeScale& s, std::size_t count) : t0(s.t0()), k(s.width() / static_cast<double>(s.span())), n(count) {}
  // The column of t, or n when it lies past them.
  [[nodiscard]] std::size_t of(std::uint64_t t) const noexcept {
    const double c = static_cast<double>(t - t0) * k;
    return c >= static_cast<double>(n) ? n : static_cast<std::size_t>(c);
  }
  std::uint64_t t0;
  double k;
  std::size_t n;
};

}  // namespace

LaneIndex::LaneIndex(const capture::RecordStore& store) : store_(store) { rebuild(); }

void LaneIndex::rebuild() {
  lanes_.clear();
  groups_.clear();
  attach_groups_.clear();
  by_token_.clear();
  cached_lane_ = 0;
  poll_.clear();
  markers_.clear();
  TimelineLane poll;
  poll.is_poll = true;
  lanes_.push_back(std::move(poll));
  groups_.push_back({0});
  order_dirty_ = true;
  for (std::uint64_t i = store_.begin_index(); i < store_.end_index(); ++i) on_record(store_.at(i), i);
}

std::uint32_t LaneIndex::lane_for(const Record& r) {
  if (cached_lane_ != 0 && cached_token_ == r.token) return cached_lane_;
  std::uint32_t id;
  if (const auto it = by_token_.find(r.token); it != by_token_.end()) {
    id = it->second;
  } else {
    id = static_cast<std::uint32_t>(lanes_.size());
    TimelineLane l;
    l.token = r.token;
    l.fd = r.fd;
    l.added_ns = r.t_ns;
    l.group = static_cast<std::uint32_t>(groups_.size());
    groups_.push_back({id});
    lanes_.push_back(std::move(l));
    by_token_.emplace(r.token, id);
    order_dirty_ = true;
  }
  cached_token_ = r.token;
  cached_lane_ = id;
  return id;
}

void LaneIndex::open_span(TimelineLane& l, std::uint64_t t, std::uint32_t bits, bool armed) {
  close_span(l, t);
  l.interest.push_back({t, InterestSpan::kOpen, bits, armed});
}

void LaneIndex::close_span(TimelineLane& l, std::uint64_t t) {
  if (!l.interest.empty() && l.interest.back().t1 == InterestSpan::kOpen) l.interest.back().t1 = t;
}

void LaneIndex::add_source(const Record& r) {
  const bool known = by_token_.contains(r.token);
  const std::uint32_t id = lane_for(r);
  TimelineLane& l = lanes_[id];
  l.kind = static_cast<SourceKind>(r.op);
  l.fd = r.fd;
  l.added_ns = r.t_ns;
  l.partner = r.attached_pid() != 0 ? 0 : r.value;
  l.relay = capture::SourceBits::unpack(r.bits).reaction == capture::Reaction::relay;
  if (r.attached_pid() != 0) {
    const std::uint64_t key = (static_cast<std::uint64_t>(r.attached_pid()) << 32) |
                              static_cast<std::uint32_t>(r.attached_epoll_fd());
    const auto [g, first] = attach_groups_.try_emplace(key, l.group);
    if (!known && !first && g->second != l.group) {
      groups_.pop_back();  // the group lane_for just made for it
      l.group = g->second;
      groups_[l.group].push_back(id);
      order_dirty_ = true;
    }
  } else if (!known && r.value != 0) {
    if (const auto p = by_token_.find(r.value); p != by_token_.end() && p->second != id) {
      const TimelineLane& parent = lanes_[p->second];
      // A new lane was put in a group of its own by lane_for; move it into the parent's,
      // after the lanes already there (a listener's earlier streams, or the first end).
      groups_.pop_back();
      l.group = parent.group;
      const bool relay_leg = l.relay && parent.relay && !is_listener(parent.kind);
      std::vector<std::uint32_t>& g = groups_[l.group];
      if (relay_leg) {
        // A relay's upstream leg goes right below its client leg, one step further in, even
        // when later connections were accepted in between (searched from the end: the client
        // was accepted recently, so this is short).
        l.depth = static_cast<std::uint8_t>(std::min(parent.depth + 1, 7));
        const auto at = std::find(g.rbegin(), g.rend(), p->second);
        g.insert(at.base(), id);
      } else {
        l.depth = static_cast<std::uint8_t>(parent.depth + (is_listener(parent.kind) ? 1 : 0));
        g.push_back(id);
      }
      order_dirty_ = true;
    }
  }
  open_span(l, r.t_ns, r.bits, true);
}

void LaneIndex::on_record(const Record& r, std::uint64_t index) {
  switch (r.kind) {
    case RecordKind::readiness: {
      TimelineLane& l = lanes_[lane_for(r)];
      const std::uint8_t flags = capture::readiness_flags(r.bits);
      l.readiness.add(r.t_ns, make_mark, [flags](MarkBucket& b) { b.add(flags); });
      if (!l.interest.empty()) {
        const InterestSpan& s = l.interest.back();
        if (s.t1 == InterestSpan::kOpen && s.armed &&
            capture::SourceBits::unpack(s.bits).trigger == Trigger::oneshot)
          open_span(l, r.t_ns, s.bits, false);
      }
      return;
    }
    case RecordKind::action: {
      if (r.token == 0) {
        // A process-wide operation (exhaust_fds, release_fds): no source, so no lane of its
        // own; a marker across the lanes, like a note, says what it did.
        markers_.push_back({r.t_ns, index, -1,
                            QStringLiteral("%1: %2 %3")
                                .arg(QString::fromUtf8(to_string(static_cast<Op>(r.op))),
                                     QString::fromUtf8(to_string(r.outcome)))
                                .arg(r.value)});
        return;
      }
      TimelineLane& l = lanes_[lane_for(r)];
      const std::uint8_t g = action_glyph(r);
      l.actions.add(r.t_ns, make_mark, [g](MarkBucket& b) { b.add(g); });
      if (static_cast<Op>(r.op) == Op::rearm && r.outcome == Outcome::ok && !l.interest.empty()) {
        const InterestSpan& s = l.interest.back();
        if (s.t1 == InterestSpan::kOpen && !s.armed) open_span(l, r.t_ns, s.bits, true);
      }
      return;
    }
    case RecordKind::poll_return:
      poll_.add(
          r.t_ns, [](std::uint64_t b) { return PollBucket{b, 0, 0, 0, 0}; },
          [&r](PollBucket& b) {
            const auto ev = static_cast<std::uint32_t>(std::min<std::uint64_t>(r.value, UINT32_MAX));
            ++b.returns;
            b.events = ev > UINT32_MAX - b.events ? UINT32_MAX : b.events + ev;
            b.max_events = std::max(b.max_events, ev);
            b.blocked_ns += r.value2;
          });
      return;
    case RecordKind::source_added:
      add_source(r);
      return;
    case RecordKind::source_changed: {
      TimelineLane& l = lanes_[lane_for(r)];
      open_span(l, r.t_ns, r.bits, true);
      return;
    }
    case RecordKind::source_removed: {
      TimelineLane& l = lanes_[lane_for(r)];
      l.removed_ns = r.t_ns;
      close_span(l, r.t_ns);
      return;
    }
    case RecordKind::note: {
      QString text = note_text_ ? note_text_(r.value) : QString();
      if (text.isEmpty()) text = QStringLiteral("note %1").arg(r.value);
      markers_.push_back({r.t_ns, index, -1, std::move(text)});
      return;
    }
    case RecordKind::warning: {
      // A warning about no source (an engine error) is a global marker, not a new lane.
      const auto known = by_token_.find(r.token);
      const std::int32_t lane = known == by_token_.end() ? -1 : static_cast<std::int32_t>(known->second);
      markers_.push_back(
          {r.t_ns, index, lane, QString::fromUtf8(to_string(static_cast<capture::WarningKind>(r.op)))});
      return;
    }
    case RecordKind::stats:
      return;
    case RecordKind::queue: {
      TimelineLane& l = lanes_[lane_for(r)];
      const auto clamp = [](std::uint64_t v) { return static_cast<std::uint32_t>(std::min<std::uint64_t>(v, UINT32_MAX)); };
      const std::uint32_t rd = clamp(r.readable()), un = clamp(r.unsent());
      l.queue_peak = std::max({l.queue_peak, rd, un});
      l.queue.add(
          r.t_ns, [](std::uint64_t b) { return QueueBucket{b}; },
          [rd, un](QueueBucket& b) {
            b.max_readable = std::max(b.max_readable, rd);
            b.max_unsent = std::max(b.max_unsent, un);
            b.last_readable = rd;
            b.last_unsent = un;
          });
      return;
    }
  }
}

void LaneIndex::on_evicted(std::uint64_t new_begin) {
  (void)new_begin;  // the store's own begin is authoritative (it may have moved on since)
  const std::uint64_t first =
      store_.empty() ? TimeScale::kMaxTime : store_.time_at(store_.begin_index());
  poll_.drop_before(first);
  for (TimelineLane& l : lanes_) {
    if (l.gone) continue;
    l.readiness.drop_before(first);
    l.actions.drop_before(first);
    l.queue.drop_before(first);
    const auto ended = std::find_if(l.interest.begin(), l.interest.end(),
                                    [first](const InterestSpan& s) { return s.t1 > first; });
    l.interest.erase(l.interest.begin(), ended);
    if (!l.is_poll && l.removed_ns != TimelineLane::kAlive && l.removed_ns < first) {
      l.gone = true;
      l.readiness.clear();
      l.actions.clear();
      l.interest.clear();
      l.interest.shrink_to_fit();
      order_dirty_ = true;
    }
  }
  const std::uint64_t begin = store_.begin_index();
  const auto kept = std::find_if(markers_.begin(), markers_.end(),
                                 [begin](const TimelineMarker& m) { return m.index >= begin; });
  markers_.erase(markers_.begin(), kept);
}

const std::vector<std::uint32_t>& LaneIndex::order() const {
  if (order_dirty_) {
    order_.clear();
    for (const auto& g : groups_)
      for (std::uint32_t id : g)
        if (!lanes_[id].gone) order_.push_back(id);
    // Compare pins: each right lane moves to just below its left lane (O(lanes) per pin;
    // there are few pins and order() is recomputed only when lanes change).
    for (const LanePin& pin : pins_) {
      const auto l = lane_of(pin.left);
      const auto r = lane_of(pin.right);
      if (!l || !r || lanes_[*l].gone || lanes_[*r].gone) continue;
      const auto rit = std::find(order_.begin(), order_.end(), *r);
      if (rit == order_.end()) continue;
      order_.erase(rit);
      const auto lit = std::find(order_.begin(), order_.end(), *l);
      order_.insert(lit == order_.end() ? order_.end() : std::next(lit), *r);
    }
    order_dirty_ = false;
  }
  return order_;
}

bool LaneIndex::pin_adjacent(std::uint64_t left, std::uint64_t right, QString label) {
  if (left == 0 || right == 0 || left == right) return false;
  if (std::any_of(pins_.begin(), pins_.end(), [right](const LanePin& p) { return p.right == right; })) return false;
  if (pins_.size() >= kMaxPins) {
    ++pins_refused_;
    return false;
  }
  pins_.push_back({left, right, std::move(label)});
  order_dirty_ = true;
  return true;
}

void LaneIndex::clear_pins() {
  if (pins_.empty()) return;
  pins_.clear();
  order_dirty_ = true;
}

const LanePin* LaneIndex::pin_starting_at(std::uint32_t lane) const {
  if (pins_.empty() || lane >= lanes_.size() || lanes_[lane].is_poll) return nullptr;
  const std::vector<std::uint32_t>& o = order();
  const auto it = std::find(o.begin(), o.end(), lane);
  if (it == o.end() || std::next(it) == o.end()) return nullptr;
  const std::uint64_t below = lanes_[*std::next(it)].token;
  for (const LanePin& p : pins_)
    if (p.left == lanes_[lane].token && p.right == below) return &p;
  return nullptr;
}

std::optional<std::uint32_t> LaneIndex::lane_of(std::uint64_t token) const {
  if (const auto it = by_token_.find(token); it != by_token_.end()) return it->second;
  return std::nullopt;
}

const InterestSpan* LaneIndex::interest_at(std::size_t lane, std::uint64_t t) const {
  const auto& spans = lanes_.at(lane).interest;
  const auto it = std::partition_point(spans.begin(), spans.end(), [t](const InterestSpan& s) { return s.t1 <= t; });
  if (it == spans.end() || it->t0 > t) return nullptr;
  return &*it;
}

TimeWindow LaneIndex::data_window() const noexcept {
  if (store_.empty()) return {};
  return {store_.time_at(store_.begin_index()), store_.time_at(store_.end_index() - 1) + 1};
}

std::optional<std::size_t> LaneIndex::level_for(const TimeScale& scale) noexcept {
  const double nspp = scale.ns_per_pixel();
  std::optional<std::size_t> best;
  for (std::size_t k = 0; k < SummaryLevels<MarkBucket>::kLevels; ++k) {
    if (static_cast<double>(SummaryLevels<MarkBucket>::width(k)) > nspp) break;
    best = k;
  }
  return best;
}

void LaneIndex::marks_columns(const SummaryLevels<MarkBucket>& levels, std::uint64_t token, RecordKind kind,
                              const TimeScale& scale, std::span<MarkColumn> out) const {
  std::fill(out.begin(), out.end(), MarkColumn{});
  const std::size_t n = out.size();
  const std::uint64_t t0 = scale.t0();
  const std::uint64_t t1 = scale.t1();
  const Columns cols(scale, n);
  if (const auto k = level_for(scale)) {
    const unsigned sh = SummaryLevels<MarkBucket>::shift(*k);
    const std::span<const MarkBucket> l = levels.level(*k);
    // Buckets that start at or after t0 (a bucket is drawn in the column of its start).
    const std::uint64_t first_bucket = (t0 >> sh) + ((t0 & ((std::uint64_t{1} << sh) - 1)) != 0 ? 1 : 0);
    for (std::size_t i = levels.lower_bound(*k, first_bucket); i < l.size(); ++i) {
      const std::uint64_t start = l[i].bucket() << sh;
      if (start >= t1) break;
      const std::size_t c = cols.of(start);
      if (c >= n) break;
      out[c].count += l[i].count();
      out[c].flags |= l[i].flags();
    }
    return;
  }
  for (std::uint64_t idx : store_.token_range(token, t0, t1)) {
    if (store_.kind_at(idx) != kind) continue;
    const std::size_t c = cols.of(store_.time_at(idx));
    if (c >= n) break;
    const Record r = store_.at(idx);
    ++out[c].count;
    out[c].flags |= kind == RecordKind::readiness ? capture::readiness_flags(r.bits) : action_glyph(r);
  }
}

void LaneIndex::readiness_columns(std::size_t lane, const TimeScale& scale, std::span<MarkColumn> out) const {
  const TimelineLane& l = lanes_.at(lane);
  marks_columns(l.readiness, l.token, RecordKind::readiness, scale, out);
}

void LaneIndex::action_columns(std::size_t lane, const TimeScale& scale, std::span<MarkColumn> out) const {
  const TimelineLane& l = lanes_.at(lane);
  marks_columns(l.actions, l.token, RecordKind::action, scale, out);
}

void LaneIndex::poll_columns(const TimeScale& scale, std::span<PollColumn> out) const {
  std::fill(out.begin(), out.end(), PollColumn{});
  const std::size_t n = out.size();
  const std::uint64_t t0 = scale.t0();
  const std::uint64_t t1 = scale.t1();
  const Columns cols(scale, n);
  auto merge = [](PollColumn& c, std::uint32_t returns, std::uint32_t events, std::uint32_t max_events,
                  std::uint64_t blocked) {
    c.returns += returns;
    c.events = events > UINT32_MAX - c.events ? UINT32_MAX : c.events + events;
    c.max_events = std::max(c.max_events, max_events);
    c.blocked_ns += blocked;
  };
  if (const auto k = level_for(scale)) {
    const unsigned sh = SummaryLevels<PollBucket>::shift(*k);
    const std::span<const PollBucket> l = poll_.level(*k);
    const std::uint64_t first_bucket = (t0 >> sh) + ((t0 & ((std::uint64_t{1} << sh) - 1)) != 0 ? 1 : 0);
    for (std::size_t i = poll_.lower_bound(*k, first_bucket); i < l.size(); ++i) {
      const std::uint64_t start = l[i].bucket << sh;
      if (start >= t1) break;
      const std::size_t c = cols.of(start);
      if (c >= n) break;
      merge(out[c], l[i].returns, l[i].events, l[i].max_events, l[i].blocked_ns);
    }
    return;
  }
  const auto range = store_.range(t0, t1);
  for (std::uint64_t idx = range.begin; idx < range.end; ++idx) {
    if (store_.kind_at(idx) != RecordKind::poll_return) continue;
    const std::size_t c = cols.of(store_.time_at(idx));
    if (c >= n) break;
    const Record r = store_.at(idx);
    const auto ev = static_cast<std::uint32_t>(std::min<std::uint64_t>(r.value, UINT32_MAX));
    merge(out[c], 1, ev, ev, r.value2);
  }
}

std::size_t LaneIndex::memory_bytes() const noexcept {
  std::size_t n = lanes_.capacity() * sizeof(TimelineLane) + poll_.memory_bytes() +
                  markers_.capacity() * sizeof(TimelineMarker) + pins_.capacity() * sizeof(LanePin) +
                  by_token_.size() * 32 +
                  order_.capacity() * sizeof(std::uint32_t);
  for (const TimelineLane& l : lanes_)
    n += l.readiness.memory_bytes() + l.actions.memory_bytes() + l.queue.memory_bytes() +
         l.interest.capacity() * sizeof(InterestSpan);
  for (const auto& g : groups_) n += g.capacity() * sizeof(std::uint32_t);
  return n;
}

std::size_t LaneIndex::summary_entries() const noexcept {
  std::size_t n = poll_.entries();
  for (const TimelineLane& l : lanes_) n += l.readiness.entries() + l.actions.entries() + l.queue.entries();
  return n;
}

// ---- the queue band ----

namespace {

/// Fills `out` from column `next` up to and including column c with `cur`, then takes in a
/// peak at c: the step function's columns as queue_columns walks its buckets or records.
void queue_step(std::span<QueueColumn> out, std::size_t& next, std::size_t c, const QueueColumn& cur,
                std::uint32_t peak_readable, std::uint32_t peak_unsent) {
  for (; next <= c; ++next) out[next] = cur;
  out[c].readable = std::max(out[c].readable, peak_readable);
  out[c].unsent = std::max(out[c].unsent, peak_unsent);
}

std::uint32_t clamp32(std::uint64_t v) { return static_cast<std::uint32_t>(std::min<std::uint64_t>(v, UINT32_MAX)); }

}  // namespace

void LaneIndex::queue_columns(std::size_t lane, const TimeScale& scale, std::span<QueueColumn> out) const {
  std::fill(out.begin(), out.end(), QueueColumn{});
  const TimelineLane& l = lanes_.at(lane);
  if (l.queue_peak == 0 || out.empty()) return;
  const std::size_t n = out.size();
  const std::uint64_t t0 = scale.t0();
  const std::uint64_t t1 = scale.t1();
  const Columns cols(scale, n);
  std::size_t next = 0;
  QueueColumn cur;
  if (const auto k = level_for(scale)) {
    const unsigned sh = SummaryLevels<QueueBucket>::shift(*k);
    const std::span<const QueueBucket> b = l.queue.level(*k);
    // As marks_columns: a bucket counts in the column of its start; the one before the first
    // such bucket gives the value in force at t0.
    const std::uint64_t first_bucket = (t0 >> sh) + ((t0 & ((std::uint64_t{1} << sh) - 1)) != 0 ? 1 : 0);
    std::size_t i = l.queue.lower_bound(*k, first_bucket);
    if (i > 0) cur = {b[i - 1].last_readable, b[i - 1].last_unsent};
    for (; i < b.size(); ++i) {
      const std::uint64_t start = b[i].bucket << sh;
      if (start >= t1) break;
      const std::size_t c = cols.of(start);
      if (c >= n) break;
      queue_step(out, next, c, cur, b[i].max_readable, b[i].max_unsent);
      cur = {b[i].last_readable, b[i].last_unsent};
    }
  } else {
    // Finer than the finest bucket: its records, from the start of the bucket holding t0.
    const unsigned sh = SummaryLevels<QueueBucket>::shift(0);
    const std::span<const QueueBucket> b = l.queue.level(0);
    const std::size_t i = l.queue.lower_bound(0, t0 >> sh);
    if (i > 0) cur = {b[i - 1].last_readable, b[i - 1].last_unsent};
    for (std::uint64_t idx : store_.token_range(l.token, (t0 >> sh) << sh, t1)) {
      if (store_.kind_at(idx) != RecordKind::queue) continue;
      const Record r = store_.at(idx);
      const QueueColumn v{clamp32(r.readable()), clamp32(r.unsent())};
      if (r.t_ns >= t0) {
        const std::size_t c = cols.of(r.t_ns);
        if (c >= n) break;
        queue_step(out, next, c, cur, v.readable, v.unsent);
      }
      cur = v;
    }
  }
  for (; next < n; ++next) out[next] = cur;
}

QueueColumn LaneIndex::queue_at(std::size_t lane, std::uint64_t t) const {
  const TimelineLane& l = lanes_.at(lane);
  if (l.queue_peak == 0) return {};
  const unsigned sh = SummaryLevels<QueueBucket>::shift(0);
  const std::span<const QueueBucket> b = l.queue.level(0);
  const std::size_t i = l.queue.lower_bound(0, t >> sh);
  QueueColumn cur;
  if (i > 0) cur = {b[i - 1].last_readable, b[i - 1].last_unsent};
  for (std::uint64_t idx : store_.token_range(l.token, (t >> sh) << sh, t + 1)) {
    if (store_.kind_at(idx) != RecordKind::queue) continue;
    const Record r = store_.at(idx);
    cur = {clamp32(r.readable()), clamp32(r.unsent())};
  }
  return cur;
}

}  // namespace ready::ui
