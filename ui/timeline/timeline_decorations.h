// What the timeline draws around and over its lanes: the legend, the time axis, notes and
// warnings, compare brackets, the selected record, the dragged range or measurement, and
// the empty-state hint. Each is a function of what it shows and the palette and font.
#pragma once

#include <QString>
#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "models/bookmarks.h"
#include "models/time_text.h"  // duration_text: the axis' view span and measurements
#include "timeline/lane_painter.h"
#include "timeline/laneindex.h"
#include "timeline/timeline_geometry.h"
#include "timeline/timescale.h"

class QFont;
class QFontMetrics;
class QPainter;
class QPalette;
class QPoint;

namespace ready::ui {


/// The legend's name of a readiness kind ("readable", ...): the recording's flag name.
QString readiness_name(capture::ReadinessFlag f);

/// The legend's rows for a legend `width` px wide in `font`.
LegendPlan legend_plan_for(const QFont& font, int width);

/// The legend: readiness kinds, action glyphs, the interest band's key, and at the right
/// "PAUSED" (paused), "live" (following) or nothing.
void paint_legend(QPainter& p, const TimelineLayout& l, const TimelineGlyphs& glyphs, const QPalette& palette,
                  const QFont& font, bool paused, bool following);
/// The time axis: the view's span left of it, ticks and their times.
void paint_axis(QPainter& p, const TimelineLayout& l, const TimeScale& s, const QPalette& palette);
/// Notes (a dashed line through the lanes, the text on the axis, cut where the next note
/// starts) and warnings (a yellow triangle with "!" at the top of their lane's row).
void paint_markers(QPainter& p, const TimelineLayout& l, const TimeScale& s,
                   std::span<const TimelineMarker> markers, const LaneRows& rows, const QPalette& palette,
                   const QFont& font);
/// The selected record, drawn at `pos`: a line through the lanes and a ring.
void paint_selection(QPainter& p, const QRect& plot, QPoint pos, const QPalette& palette);
/// The replay head's colour: a magenta outside the readiness kinds' Okabe-Ito colours, with
/// a contrast of at least 3:1 on both the light and the dark theme's base.
inline constexpr QRgb kPlayHeadColour = 0xffe6007e;
/// The replay head at widget column `x`: a 2-px line through the lanes and a downward
/// handle on the axis, outlined in the base colour so it stands out over marks.
void paint_play_head(QPainter& p, const TimelineLayout& l, int x, const QPalette& palette);
/// Bookmarks in view: a dotted line through the lanes in the highlight colour and a flag on
/// the axis with the name (cut short where the next bookmark starts).
void paint_bookmarks(QPainter& p, const TimelineLayout& l, const TimeScale& s, std::span<const Bookmark> bookmarks,
                     const QPalette& palette, const QFont& font);
/// A dragged range between the widget xs `from` and `to`; with `measure`, a box with its
/// duration, the records in it and their rate.
void paint_range(QPainter& p, const QRect& plot, const TimeScale& s, int from, int to, bool measure,
                 const capture::RecordStore& store, const QPalette& palette, const QFont& font);
/// Compare pins (LaneIndex::pin_adjacent): a bracket over both lanes' labels and, between
/// the labels, the pin's label in small italics (in the label column: it never covers a mark).
void paint_compare_brackets(QPainter& p, const TimelineLayout& l, std::span<const std::uint32_t> lanes,
                            int first_row, const LaneIndex& index, const QPalette& palette,
                            const QFont& font);
/// The empty-state hint, centred below the poll lane (left out when it does not fit).
void paint_empty_hint(QPainter& p, const TimelineLayout& l, const QString& hint, const QPalette& palette,
                      const QFont& font);

}  // namespace ready::ui
