// Where the timeline puts things: the layout of its areas, the rows of a lane, which lane a
// y falls in, which pixel column a time falls in, the legend's rows, the axis' ticks and the
// compare brackets. Plain values and functions (no widget, no painter, no font) so that
// tst_timeline_geometry checks them with data tables; the painters and the hit tests read
// the same numbers, so what is drawn and what is hit cannot drift apart.
#pragma once

#include <QRect>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "ready/capture/record.h"
#include "timeline/timescale.h"

namespace ready::ui {

/// A lane's rows, relative to its top: readiness marks, then the interest band, then the
/// action ticks.
inline constexpr int kLaneHeight = 32;
inline constexpr int kLegendHeight = 20;  ///< per legend row
inline constexpr int kAxisHeight = 22;
inline constexpr int kMarkTop = 2;  ///< first row of the decimated mark stripes (2 rows per kind)
inline constexpr int kMarkCentre = 8;
inline constexpr int kBandTop = 16;
inline constexpr int kBandHeight = 4;
inline constexpr int kTickBottom = 29;
inline constexpr int kTickCentre = 25;
/// The queue band: from this row of a lane up kQueueBandRows rows (under everything else).
inline constexpr int kQueueBandBottom = kLaneHeight - 2;
inline constexpr int kQueueBandRows = kLaneHeight - 3;
inline constexpr int kWarningRows = 14;  ///< a warning mark covers the lane's rows [0, 14]
inline constexpr int kGlyph = 11;        ///< readiness glyph image size
inline constexpr int kTick = 9;          ///< action glyph image size
/// Mean pixels between marks at or above which marks are drawn as shapes, not stripes.
inline constexpr int kSparseSpacing = 8;
/// How far (px) from a mark a pointer still hits it.
inline constexpr int kHitRadius = 6;

/// The timeline's areas inside the rectangle it paints: the legend on top, the time axis
/// under it (right of the label column), then the lane labels and the lanes' plot.
struct TimelineLayout {
  QRect area, legend, axis, labels, plot;
  int rows = 0;  ///< lane rows that fit (the last may be cut)
};

/// The label column's left indent of a lane at `depth` (an accepted stream sits under its
/// listener).
constexpr int lane_label_indent(int depth) noexcept { return 8 + depth * 14; }
/// The label column's width a label `text_width` px wide needs at `depth`.
constexpr int lane_label_extent(int text_width, int depth) noexcept {
  return text_width + lane_label_indent(depth) + 8;
}
/// The label column's width: the widest label's extent, within [120, 35 % of the width].
int label_column_width(int widest_extent, int area_width) noexcept;
/// The areas of a timeline painted into `area` with a label column `label_width` px wide and
/// `legend_rows` legend rows.
TimelineLayout timeline_layout(const QRect& area, int label_width, int legend_rows) noexcept;

/// The pixel column (widget x) where time `t` is drawn.
inline int column_of(const TimeScale& s, std::uint64_t t) noexcept {
  return static_cast<int>(std::floor(s.x(t)));
}
/// A lane's lifetime as plot columns [begin, end) of a plot `width` px wide (relative to the
/// plot's left); a lifetime that is in view but narrower than a pixel still gets one column.
/// `removed_ns` is TimelineLane::kAlive (UINT64_MAX) while the source lives.
struct ColumnRange {
  int begin = 0, end = 0;
  friend bool operator==(const ColumnRange&, const ColumnRange&) = default;
};
ColumnRange lifetime_columns(const TimeScale& s, std::uint64_t added_ns, std::uint64_t removed_ns,
                             int width) noexcept;

/// The row (relative to the lane's top) where a record of kind `k` is drawn: readiness marks
/// at the top, action ticks at the bottom, a poll return's tick near the bottom.
constexpr int record_row(capture::RecordKind k) noexcept {
  return k == capture::RecordKind::action        ? kTickCentre
         : k == capture::RecordKind::poll_return ? kTickBottom - 2
                                                 : kMarkCentre;
}
/// Whether a pointer `within` rows of its lane's top points at the action ticks (below the
/// interest band) rather than the readiness marks.
constexpr bool points_at_actions(int within) noexcept { return within >= kBandTop + kBandHeight; }
/// Whether a pointer `within` rows of its lane's top is on a warning mark's rows.
constexpr bool points_at_warning(int within) noexcept { return within <= kWarningRows; }

/// The lanes shown, row by row, scrolled to `first_row`, in a plot starting at `plot_top`.
/// A view over the caller's lane list (which must outlive it).
class LaneRows {
 public:
  LaneRows(std::span<const std::uint32_t> lanes, int first_row, int plot_top, int plot_bottom) noexcept
      : lanes_(lanes), first_row_(first_row), top_(plot_top), bottom_(plot_bottom) {}

  /// The lane drawn at widget y, if any.
  [[nodiscard]] std::optional<std::uint32_t> lane_at(int y) const noexcept;
  /// Rows from the top of the lane at y (meaningful where lane_at(y) is a lane).
  [[nodiscard]] int within(int y) const noexcept { return (y - top_) % kLaneHeight; }
  /// The screen row of `lane` (0 = the top row of the plot; negative when scrolled above it),
  /// nullopt when the lane is not in the list.
  [[nodiscard]] std::optional<int> row_of(std::uint32_t lane) const noexcept;
  /// The widget y of a screen row's top.
  [[nodiscard]] int top(int row) const noexcept { return top_ + row * kLaneHeight; }
  /// The lane shown at a screen row, if any.
  [[nodiscard]] std::optional<std::uint32_t> lane_in_row(int row) const noexcept;

 private:
  std::span<const std::uint32_t> lanes_;
  int first_row_ = 0;
  int top_ = 0;
  int bottom_ = 0;
};

/// The first row to show so that `lane_count` lanes keep at least one on screen.
constexpr int clamp_first_row(int first_row, std::size_t lane_count) noexcept {
  const int last = lane_count > 0 ? static_cast<int>(lane_count) - 1 : 0;
  return first_row < 0 ? 0 : first_row > last ? last : first_row;
}

/// A compare bracket: at screen `row` the left lane of a pin, the row below its right lane.
struct CompareBracket {
  int row = 0;
  std::uint32_t left_lane = 0;
  friend bool operator==(const CompareBracket&, const CompareBracket&) = default;
};
/// The brackets to draw: for each of the `rows` screen rows (the last one excluded: its
/// partner would be off screen) whose lane is the left of a pin whose right lane is drawn
/// right below it. `pinned_right(lane)` gives the lane pinned below `lane`, if any.
std::vector<CompareBracket> compare_brackets(
    std::span<const std::uint32_t> lanes, int first_row, int rows,
    const std::function<std::optional<std::uint32_t>(std::uint32_t)>& pinned_right);
/// Where a bracket whose first lane's top is `y` goes in a label column starting at `left`:
/// a vertical line at x from y_top to y_bottom with short arms to the right, and the pin's
/// label from label_x, centred on label_y (the gap between the two lanes' labels).
struct BracketPlacement {
  int x = 0, y_top = 0, y_bottom = 0, arm = 4, label_x = 0, label_y = 0;
  friend bool operator==(const BracketPlacement&, const BracketPlacement&) = default;
};
BracketPlacement bracket_placement(int left, int y) noexcept;

/// Where the legend's three groups go (readiness kinds, action glyphs, interest key): the row
/// of each (0 or 1; -1 = left out), and of the live / paused state.
struct LegendPlan {
  int rows = 1;
  std::array<int, 3> row{0, 0, 0};
  int state_row = 0;
  friend bool operator==(const LegendPlan&, const LegendPlan&) = default;
};
/// The plan for a legend `width` px wide whose groups are `group_widths` px wide and whose
/// state text (the wider of "live" and "PAUSED", with its margin) `state_width`: one row when
/// everything fits, else the glyph key (and the interest key, if there is room) on a second
/// row; the readiness kinds always stay on the first.
LegendPlan legend_plan(const std::array<int, 3>& group_widths, int state_width, int width) noexcept;

/// The time axis' ticks: 1-2-5 x 10^k ns apart and at least ~100 px, labelled in the unit
/// of the step with as many decimals as it needs.
struct AxisTicks {
  std::uint64_t step = 1;   ///< ns between ticks
  std::uint64_t first = 0;  ///< the first tick at or after the window's start
  double unit = 1;          ///< ns per label unit
  const char* unit_name = "ns";
  int decimals = 0;
};
AxisTicks axis_ticks(const TimeScale& s) noexcept;

/// The window that follows live data `data`: the whole capture (when `full_range`) or the
/// span of `view`, ending 1/32 of the span after the newest record.
TimeWindow live_window(TimeWindow data, TimeWindow view, bool full_range) noexcept;
/// The window that follows live data `data` from `from` on: [from, newest + 1/32 of that).
TimeWindow anchored_window(TimeWindow data, std::uint64_t from) noexcept;
/// `view` moved (span kept) so that it is centred on `t`.
TimeWindow centred_on(TimeWindow view, std::uint64_t t) noexcept;

}  // namespace ready::ui
