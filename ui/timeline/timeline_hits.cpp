#include "timeline/timeline_hits.h"

#include <QStringList>
#include <algorithm>
#include <cmath>

#include "models/record_format.h"
#include "timeline/lane_painter.h"
#include "timeline/timeline_geometry.h"

namespace ready::ui {

using capture::Record;
using capture::RecordKind;

std::optional<std::uint64_t> nearest_record(const capture::RecordStore& store, const TimelineLane& lane,
                                            const TimeScale& s, int x, bool prefer_actions) {
  const std::uint64_t ta = s.time(x - kHitRadius);
  const std::uint64_t tb = s.time(x + kHitRadius + 1);
  constexpr std::size_t kCap = 4096;  // a hit test never walks more than this
  std::optional<std::uint64_t> best;
  double best_score = 1e300;
  auto consider = [&](std::uint64_t i, bool preferred) {
    const double score = std::abs(s.x(store.time_at(i)) - x) + (preferred ? 0 : 3);
    if (score < best_score) {
      best_score = score;
      best = i;
    }
  };
  if (lane.is_poll) {
    const auto r = store.range(ta, tb);
    for (std::uint64_t i = r.begin; i < r.end && i < r.begin + kCap; ++i)
      if (store.kind_at(i) == RecordKind::poll_return) consider(i, true);
    return best;
  }
  std::size_t seen = 0;
  for (std::uint64_t i : store.token_range(lane.token, ta, tb)) {
    if (++seen > kCap) break;
    const RecordKind k = store.kind_at(i);
    consider(i, (k == RecordKind::action) == prefer_actions);
  }
  return best;
}

const TimelineMarker* warning_near(std::span<const TimelineMarker> markers, std::uint32_t lane,
                                   const TimeScale& s, int x) {
  const std::uint64_t ta = s.time(x - kHitRadius);
  const std::uint64_t tb = s.time(x + kHitRadius + 1);
  auto it = std::partition_point(markers.begin(), markers.end(),
                                 [ta](const TimelineMarker& m) { return m.t_ns < ta; });
  for (; it != markers.end() && it->t_ns <= tb; ++it)  // <=: below 1 ns a pixel, times truncate
    if (it->lane == static_cast<std::int32_t>(lane)) return &*it;
  return nullptr;
}

namespace {

// The log's what and result, and for an error the errno in words as well.
QString summary(const Record& r) {
  QString s = record_summary(r);
  if (r.kind == RecordKind::action && r.outcome == capture::Outcome::error && r.err != 0)
    s += QStringLiteral(" (%1)").arg(errno_description(r.err));
  return s;
}

}  // namespace

QString describe_record(const capture::RecordStore& store, const LaneIndex& index, std::uint64_t i,
                        const std::function<QString(std::uint64_t)>& labeler) {
  if (i < store.begin_index() || i >= store.end_index()) return {};
  const Record r = store.at(i);
  QStringList lines;
  lines << QStringLiteral("t = %1  (record %2)").arg(format_time_ns(r.t_ns)).arg(i);
  // The poll loop's records are on lane 0.
  const auto lane =
      r.kind == RecordKind::poll_return ? std::optional<std::uint32_t>(0) : index.lane_of(r.token);
  lines << (lane ? lane_label(index.lane(*lane), labeler) : QStringLiteral("#%1").arg(r.token));
  lines << summary(r);
  // A note's text is not looked up: notes are markers, never a hovered record.
  if (const QString detail = record_detail(r); !detail.isEmpty()) lines << detail;
  if (r.kind != RecordKind::readiness) return lines.join(QLatin1Char('\n'));
  if (lane) {
    if (const InterestSpan* in = index.interest_at(*lane, r.t_ns))
      lines << QStringLiteral("interest: %1").arg(source_bits_text(capture::SourceBits::unpack(in->bits)));
  }
  // The action that followed on this source (before its next event).
  std::size_t seen = 0;
  for (std::uint64_t j : store.token_range(r.token, r.t_ns, TimeScale::kMaxTime)) {
    if (j <= i) continue;
    if (++seen > 64) break;
    const RecordKind k = store.kind_at(j);
    if (k == RecordKind::readiness) break;
    if (k == RecordKind::action) {
      const Record a = store.at(j);
      lines << QStringLiteral("then: %1 (+%2)").arg(summary(a), format_duration_ns(a.t_ns - r.t_ns));
      break;
    }
  }
  return lines.join(QLatin1Char('\n'));
}

QString describe_warning(const capture::RecordStore* store, const TimelineMarker& w) {
  const bool stored = store && w.index >= store->begin_index() && w.index < store->end_index();
  return QStringLiteral(
             "t = %1  (record %2)\nwarning: %3\n(the Warnings list links the lesson that explains it)")
      .arg(format_time_ns(w.t_ns))
      .arg(w.index)
      .arg(stored ? warning_text(store->at(w.index)) : w.text);
}

QString describe_queue(const LaneIndex& index, std::uint32_t lane, std::uint64_t t,
                       const std::function<QString(std::uint64_t)>& labeler) {
  const TimelineLane& l = index.lane(lane);
  if (l.is_poll || l.queue_peak == 0 || t < l.added_ns || t >= l.removed_ns) return {};
  const QueueColumn q = index.queue_at(lane, t);
  return QStringLiteral("%1\nqueue at %2: %3 readable, %4 unsent (bytes)")
      .arg(lane_label(l, labeler), format_time_ns(t))
      .arg(q.readable)
      .arg(q.unsent);
}

}  // namespace ready::ui
