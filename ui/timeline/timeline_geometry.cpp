#include "timeline/timeline_geometry.h"

#include <algorithm>
#include <limits>

namespace ready::ui {

int label_column_width(int widest_extent, int area_width) noexcept {
  return std::clamp(widest_extent, 120, std::max(120, area_width * 35 / 100));
}

TimelineLayout timeline_layout(const QRect& area, int label_width, int legend_rows) noexcept {
  TimelineLayout l;
  l.area = area;
  const int legend_h = kLegendHeight * legend_rows;
  l.legend = QRect(area.left(), area.top(), area.width(), legend_h);
  l.axis = QRect(area.left() + label_width, area.top() + legend_h, area.width() - label_width, kAxisHeight);
  const int top = area.top() + legend_h + kAxisHeight;
  l.labels = QRect(area.left(), top, label_width, std::max(0, area.bottom() + 1 - top));
  l.plot = QRect(area.left() + label_width, top, std::max(1, area.width() - label_width), l.labels.height());
  l.rows = (l.plot.height() + kLaneHeight - 1) / kLaneHeight;
  return l;
}

ColumnRange lifetime_columns(const TimeScale& s, std::uint64_t added_ns, std::uint64_t removed_ns,
                             int width) noexcept {
  constexpr std::uint64_t kAlive = std::numeric_limits<std::uint64_t>::max();
  const double w = width;
  ColumnRange c;
  c.begin = static_cast<int>(std::clamp(std::floor(s.x(added_ns) - s.x0()), 0.0, w));
  c.end = removed_ns == kAlive ? width
                               : static_cast<int>(std::clamp(std::ceil(s.x(removed_ns) - s.x0()), 0.0, w));
  // A source that lived less than a pixel, in view, still shows.
  if (c.end <= c.begin && added_ns < s.t1() && (removed_ns == kAlive || removed_ns >= s.t0()))
    c.end = std::min(width, c.begin + 1);
  return c;
}

std::optional<std::uint32_t> LaneRows::lane_at(int y) const noexcept {
  if (y < top_ || y > bottom_) return std::nullopt;
  return lane_in_row((y - top_) / kLaneHeight);
}

std::optional<std::uint32_t> LaneRows::lane_in_row(int row) const noexcept {
  const int i = first_row_ + row;
  if (i < 0 || static_cast<std::size_t>(i) >= lanes_.size()) return std::nullopt;
  return lanes_[static_cast<std::size_t>(i)];
}

std::optional<int> LaneRows::row_of(std::uint32_t lane) const noexcept {
  const auto it = std::find(lanes_.begin(), lanes_.end(), lane);
  if (it == lanes_.end()) return std::nullopt;
  return static_cast<int>(it - lanes_.begin()) - first_row_;
}

std::vector<CompareBracket> compare_brackets(
    std::span<const std::uint32_t> lanes, int first_row, int rows,
    const std::function<std::optional<std::uint32_t>(std::uint32_t)>& pinned_right) {
  std::vector<CompareBracket> out;
  for (int row = 0; row + 1 < rows; ++row) {
    const auto i = static_cast<std::size_t>(first_row + row);
    if (i + 1 >= lanes.size()) break;
    const auto right = pinned_right(lanes[i]);
    if (right && lanes[i + 1] == *right) out.push_back({row, lanes[i]});
  }
  return out;
}

BracketPlacement bracket_placement(int left, int y) noexcept {
  BracketPlacement b;
  b.x = left + 3;
  b.y_top = y + 4;
  b.y_bottom = y + 2 * kLaneHeight - 4;
  b.label_x = b.x + 8;
  // Labels are centred in their lanes, so the boundary between the two is free.
  b.label_y = y + kLaneHeight;
  return b;
}

LegendPlan legend_plan(const std::array<int, 3>& w, int state_width, int width) noexcept {
  LegendPlan plan;
  // The state keeps room at the right of the first row, or of the second when the readiness
  // kinds alone fill the first.
  plan.state_row = w[0] + state_width <= width - 6 ? 0 : 1;
  const int room[2] = {width - 6 - (plan.state_row == 0 ? state_width : 0),
                       width - 12 - (plan.state_row == 1 ? state_width : 0)};
  int row = 0;
  int x = w[0];
  for (std::size_t g = 1; g < 3; ++g) {
    if (x + w[g] > room[row] && row == 0) {
      row = 1;
      x = 0;
    }
    if (x + w[g] > room[row] && g == 2) {
      plan.row[g] = -1;  // the interest key is a nicety; the glyph keys always show
      continue;
    }
    plan.row[g] = row;
    x += w[g];
  }
  plan.rows = std::max(row, plan.state_row) + 1;
  return plan;
}

AxisTicks axis_ticks(const TimeScale& s) noexcept {
  const double min_step = s.ns_per_pixel() * 100;
  double step = 1;
  while (step < min_step) {
    if (step * 2 >= min_step) {
      step *= 2;
      break;
    }
    if (step * 5 >= min_step) {
      step *= 5;
      break;
    }
    step *= 10;
  }
  AxisTicks a;
  a.unit = step >= 1e9 ? 1e9 : step >= 1e6 ? 1e6 : step >= 1e3 ? 1e3 : 1;
  a.unit_name = a.unit == 1e9 ? "s" : a.unit == 1e6 ? "ms" : a.unit == 1e3 ? "µs" : "ns";
  a.decimals = std::max(0, static_cast<int>(std::ceil(std::log10(a.unit / step) - 1e-9)));
  a.step = static_cast<std::uint64_t>(step);
  a.first = (s.t0() / a.step) * a.step;
  if (a.first < s.t0()) a.first += a.step;
  return a;
}

TimeWindow live_window(TimeWindow d, TimeWindow view, bool full_range) noexcept {
  if (full_range) return {d.t0, d.t1 + d.span() / 32};
  const std::uint64_t span = view.span();
  const std::uint64_t t1 = d.t1 + span / 32;
  return {t1 - std::min(t1, span), t1};
}

TimeWindow anchored_window(TimeWindow d, std::uint64_t from) noexcept {
  const std::uint64_t end = std::max(d.t1, from + 1);
  return {from, end + (end - from) / 32};
}

TimeWindow centred_on(TimeWindow view, std::uint64_t t) noexcept {
  const std::uint64_t half = view.span() / 2;
  const std::uint64_t t0 = t > half ? t - half : 0;
  return {t0, t0 + view.span()};
}

}  // namespace ready::ui
