#include "timeline/timeline_decorations.h"

#include <QFont>
#include <QFontMetrics>
#include <QPainter>
#include <QPalette>
#include <algorithm>
#include <cmath>

#include "ready/enum_names.h"
#include "ready/interest.h"
#include "models/record_format.h"

namespace ready::ui {

namespace {

// The action glyphs' legend names, in kActionGlyphKinds order (words of the legend, not
// wire names: a glyph stands for several ops and outcomes).
constexpr const char* kGlyphNames[] = {"read", "write", "EAGAIN", "EOF", "error", "other"};
static_assert(std::size(kGlyphNames) == kActionGlyphKinds.size());
// The interest band's key: one swatch per trigger, then a disarmed oneshot, then a paused
// registration (interest 0: a relay leg under back-pressure).
constexpr auto kTriggers = all_values<Trigger>();
constexpr std::size_t kInterestKeys = kTriggers.size() + 2;
static_assert(kTriggers.size() == 3,
              "the band's colours (lane_painter.cpp) and the key have one per trigger");
QString interest_key(std::size_t k) {
  if (k < kTriggers.size()) return trigger_text(kTriggers[k]);
  return k == kTriggers.size() ? QStringLiteral("disarmed") : QStringLiteral("paused");
}

const QColor kWarningYellow(0xF0, 0xE4, 0x42);  // Okabe-Ito yellow: warning marks only

// The queue band's key, after the interest key: a swatch per value, as lane_painter fills it.
constexpr const char* kQueueKeyTitle = "queue:";
constexpr const char* kQueueKeyNames[] = {"readable", "unsent"};
int queue_key_width(const QFontMetrics& fm) {
  int w = 6 + fm.horizontalAdvance(QString::fromLatin1(kQueueKeyTitle)) + 6;
  for (const char* name : kQueueKeyNames) w += 18 + fm.horizontalAdvance(QString::fromLatin1(name)) + 8;
  return w;
}
void paint_queue_key(QPainter& p, int& x, int cy, int base, const QFontMetrics& fm, const QPalette& palette) {
  x += 6;
  p.drawText(x, base, QString::fromLatin1(kQueueKeyTitle));
  x += fm.horizontalAdvance(QString::fromLatin1(kQueueKeyTitle)) + 6;
  for (std::size_t k = 0; k < std::size(kQueueKeyNames); ++k) {
    const QRect sw(x, cy - 5, 14, 10);
    p.fillRect(sw, palette.color(QPalette::AlternateBase));
    QColor c = queue_colour(k == 1);
    c.setAlpha(80);
    p.fillRect(sw, c);
    c.setAlpha(230);
    p.fillRect(QRect(sw.left(), sw.top(), sw.width(), 1), c);
    x += 18;
    const QString name = QString::fromLatin1(kQueueKeyNames[k]);
    p.drawText(x, base, name);
    x += fm.horizontalAdvance(name) + 8;
  }
}

// Legend widths, in pixels, of its three groups.
std::array<int, 3> legend_group_widths(const QFontMetrics& fm) {
  std::array<int, 3> w{0, 0, 0};
  for (const auto f : kReadinessKinds) w[0] += kGlyph + 3 + fm.horizontalAdvance(readiness_name(f)) + 10;
  w[1] = 6;
  for (const char* name : kGlyphNames)
    w[1] += kTick + 3 + fm.horizontalAdvance(QString::fromLatin1(name)) + 8;
  w[2] = 6 + fm.horizontalAdvance(QStringLiteral("interest:")) + 6;
  for (std::size_t k = 0; k < kInterestKeys; ++k) w[2] += 18 + fm.horizontalAdvance(interest_key(k)) + 8;
  w[2] += queue_key_width(fm);
  return w;
}

}  // namespace

QString readiness_name(capture::ReadinessFlag f) { return QString::fromUtf8(capture::to_string(f)); }

LegendPlan legend_plan_for(const QFont& font, int width) {
  const QFontMetrics fm(font);
  // "PAUSED" is the wider state text.
  return legend_plan(legend_group_widths(fm), fm.horizontalAdvance(QStringLiteral("PAUSED")) + 18, width);
}

void paint_legend(QPainter& p, const TimelineLayout& l, const TimelineGlyphs& glyphs, const QPalette& palette,
                  const QFont& font, bool paused, bool following) {
  const QColor text = palette.color(QPalette::Text);
  p.fillRect(l.legend, palette.color(QPalette::Window));
  p.setPen(palette.color(QPalette::WindowText));
  const QFontMetrics fm(font);
  const LegendPlan plan = legend_plan_for(font, l.legend.width());
  std::array<int, 2> xs{l.legend.left() + 6, l.legend.left() + 6};
  const auto cy = [&](int row) { return l.legend.top() + row * kLegendHeight + kLegendHeight / 2; };
  const auto base = [&](int row) { return cy(row) + fm.ascent() / 2 - 1; };

  {
    int& x = xs[0];
    for (std::size_t i = 0; i < kReadinessKinds.size(); ++i) {
      p.drawImage(x, cy(0) - kGlyph / 2, glyphs.readiness(i));
      x += kGlyph + 3;
      const QString name = readiness_name(kReadinessKinds[i]);
      p.drawText(x, base(0), name);
      x += fm.horizontalAdvance(name) + 10;
    }
  }
  if (plan.row[1] >= 0) {
    const int row = plan.row[1];
    int& x = xs[static_cast<std::size_t>(row)];
    x += row == 0 ? 6 : 0;
    for (std::size_t i = 0; i < kActionGlyphKinds.size(); ++i) {
      p.drawImage(x, cy(row) - kTick / 2, glyphs.action(i));
      x += kTick + 3;
      const QString name = QString::fromLatin1(kGlyphNames[i]);
      p.drawText(x, base(row), name);
      x += fm.horizontalAdvance(name) + 8;
    }
  }
  // The interest band's key.
  if (plan.row[2] >= 0) {
    const int row = plan.row[2];
    int& x = xs[static_cast<std::size_t>(row)];
    const QColor alt = palette.color(QPalette::AlternateBase);
    const QColor colours[] = {palette.color(QPalette::Text), palette.color(QPalette::Highlight),
                              palette.color(QPalette::Link), palette.color(QPalette::Text),
                              QColor::fromRgb(kVermillion)};
    static_assert(std::size(colours) == kInterestKeys);
    x += 6;
    p.drawText(x, base(row), QStringLiteral("interest:"));
    x += fm.horizontalAdvance(QStringLiteral("interest:")) + 6;
    for (std::size_t k = 0; k < kInterestKeys; ++k) {
      const bool hatched = k == kTriggers.size();
      const bool paused_key = k == kTriggers.size() + 1;
      const QRect sw(x, cy(row) - 2, 14, kBandHeight);
      p.fillRect(sw, alt);
      QColor c = colours[k];
      c.setAlpha(hatched ? 120 : k == 0 ? 90 : paused_key ? 230 : 200);
      if (paused_key) {
        // As lane_painter draws it: an empty band between two dashed lines.
        for (int i = 0; i < sw.width(); i += 4) {
          p.fillRect(QRect(sw.left() + i, sw.top(), 2, 1), c);
          p.fillRect(QRect(sw.left() + i, sw.bottom(), 2, 1), c);
        }
      } else if (hatched) {
        for (int i = 0; i < sw.width(); i += 3) p.fillRect(QRect(sw.left() + i, sw.top(), 1, sw.height()), c);
      } else {
        p.fillRect(sw, c);
      }
      x += 18;
      const QString name = interest_key(k);
      p.drawText(x, base(row), name);
      x += fm.horizontalAdvance(name) + 8;
    }
    paint_queue_key(p, x, cy(row), base(row), fm, palette);
  }
  const QString state = paused ? QStringLiteral("PAUSED") : following ? QStringLiteral("live") : QString();
  if (!state.isEmpty()) {
    p.setPen(paused ? palette.color(QPalette::Highlight) : text);
    p.drawText(QRect(l.legend.left(), l.legend.top() + plan.state_row * kLegendHeight, l.legend.width() - 6,
                     kLegendHeight),
               Qt::AlignRight | Qt::AlignVCenter, state);
  }
}

void paint_axis(QPainter& p, const TimelineLayout& l, const TimeScale& s, const QPalette& palette) {
  p.fillRect(QRect(l.area.left(), l.axis.top(), l.area.width(), l.axis.height()),
             palette.color(QPalette::Window));
  p.setPen(palette.color(QPalette::WindowText));
  p.drawText(QRect(l.area.left() + 6, l.axis.top(), l.labels.width() - 12, l.axis.height()),
             Qt::AlignLeft | Qt::AlignVCenter,
             QStringLiteral("view %1").arg(duration_text(double(s.span()))));
  const AxisTicks ticks = axis_ticks(s);
  for (std::uint64_t t = ticks.first; t < s.t1(); t += ticks.step) {
    const int x = column_of(s, t);
    p.drawLine(x, l.axis.bottom() - 5, x, l.axis.bottom());
    // The log's format, with the decimals the tick step needs.
    const QString label = time_text(t, ticks.step);
    p.drawText(x + 3, l.axis.bottom() - 6, label);
    if (t > TimeScale::kMaxTime - ticks.step) break;
  }
  p.drawLine(l.axis.left(), l.axis.bottom(), l.axis.right(), l.axis.bottom());
}

void paint_markers(QPainter& p, const TimelineLayout& l, const TimeScale& s,
                   std::span<const TimelineMarker> markers, const LaneRows& rows, const QPalette& palette,
                   const QFont& font) {
  const QRect& plot = l.plot;
  const auto first = std::partition_point(markers.begin(), markers.end(),
                                          [&](const TimelineMarker& m) { return m.t_ns < s.t0(); });
  // One note per column is enough, and one warning per column and lane; a note does not
  // hide a warning in the same column (a step's narration and the pitfall it shows).
  int last_note_x = -1000, last_warning_x = -1000;
  std::int32_t last_warning_lane = -1;
  const QFontMetrics fm(font);
  for (auto it = first; it != markers.end() && it->t_ns < s.t1(); ++it) {
    const int x = column_of(s, it->t_ns);
    if (it->lane < 0) {
      if (x == last_note_x) continue;
      last_note_x = x;
    } else {
      if (x == last_warning_x && it->lane == last_warning_lane) continue;
      last_warning_x = x;
      last_warning_lane = it->lane;
    }
    if (it->lane < 0) {
      p.setPen(QPen(palette.color(QPalette::Link), 1, Qt::DashLine));
      p.drawLine(x, l.axis.top(), x, plot.bottom());
      // The text runs to the next note's line (or the plot's edge), elided to fit; a note
      // with no room for a few letters shows its line only (its text is in the tooltip
      // of the log and in the event log).
      int next_x = plot.right();
      for (auto n = std::next(it); n != markers.end() && n->t_ns < s.t1(); ++n) {
        if (n->lane >= 0) continue;
        const int nx = column_of(s, n->t_ns);
        if (nx > x) {
          next_x = nx;
          break;
        }
      }
      const int room = next_x - x - 6;
      if (room >= fm.horizontalAdvance(QStringLiteral("Mm…"))) {
        // On the window colour: the text crosses the axis' tick labels.
        const QString text = fm.elidedText(it->text, Qt::ElideRight, room);
        p.fillRect(QRect(x + 1, l.axis.top() + 11 - fm.ascent(), fm.horizontalAdvance(text) + 4, fm.height()),
                   palette.color(QPalette::Window));
        p.setPen(palette.color(QPalette::Link));
        p.drawText(x + 3, l.axis.top() + 11, text);
      }
    } else {
      const auto r = rows.row_of(static_cast<std::uint32_t>(it->lane));
      if (!r || *r < 0 || *r >= l.rows) continue;
      // A warning: a yellow triangle outlined in vermillion with a "!" at the lane's top,
      // a shape no readiness mark or action glyph has.
      const int y = rows.top(*r);
      p.save();
      p.setRenderHint(QPainter::Antialiasing, true);
      const QPointF tri[3] = {QPointF(x + 0.5, y + 1.5), QPointF(x - 5.5, y + 12.5),
                              QPointF(x + 6.5, y + 12.5)};
      p.setPen(QPen(QColor(kVermillion), 1.5));
      p.setBrush(kWarningYellow);
      p.drawPolygon(tri, 3);
      p.setPen(QPen(Qt::black, 1.5));
      p.drawLine(QPointF(x + 0.5, y + 5), QPointF(x + 0.5, y + 8.5));
      p.drawPoint(QPointF(x + 0.5, y + 10.5));
      p.restore();
    }
  }
}

void paint_selection(QPainter& p, const QRect& plot, QPoint pos, const QPalette& palette) {
  const QColor hl = palette.color(QPalette::Highlight);
  p.setPen(QPen(hl, 1));
  p.drawLine(pos.x(), plot.top(), pos.x(), plot.bottom());
  p.setPen(QPen(hl, 2));
  p.setBrush(Qt::NoBrush);
  p.drawEllipse(pos, 7, 7);
}

void paint_bookmarks(QPainter& p, const TimelineLayout& l, const TimeScale& s, std::span<const Bookmark> bookmarks,
                     const QPalette& palette, const QFont& font) {
  const auto first = std::partition_point(bookmarks.begin(), bookmarks.end(),
                                          [&](const Bookmark& b) { return b.t_ns < s.t0(); });
  const QColor colour = palette.color(QPalette::Highlight);
  const QFontMetrics fm(font);
  p.save();
  p.setFont(font);
  for (auto it = first; it != bookmarks.end() && it->t_ns < s.t1(); ++it) {
    const int x = column_of(s, it->t_ns);
    p.setPen(QPen(colour, 1, Qt::DotLine));
    p.drawLine(x, l.plot.top(), x, l.plot.bottom());
    const auto next = std::next(it);
    const int room = (next != bookmarks.end() && next->t_ns < s.t1() ? column_of(s, next->t_ns) : l.axis.right()) - x - 4;
    if (room < 12) continue;
    const QString name = fm.elidedText(QStringLiteral("⚑ ") + it->name, Qt::ElideRight, room - 6);
    const QRect flag(x, l.axis.top() + 1, fm.horizontalAdvance(name) + 6, fm.height());
    p.fillRect(flag, colour);
    p.setPen(palette.color(QPalette::HighlightedText));
    p.drawText(flag.adjusted(3, 0, 0, 0), Qt::AlignLeft | Qt::AlignVCenter, name);
  }
  p.restore();
}

void paint_play_head(QPainter& p, const TimelineLayout& l, int x, const QPalette& palette) {
  const QColor head(kPlayHeadColour);
  const QColor halo = palette.color(QPalette::Base);
  p.save();
  p.setRenderHint(QPainter::Antialiasing, true);
  p.fillRect(QRect(x - 2, l.plot.top(), 5, l.plot.height()), halo);
  p.fillRect(QRect(x - 1, l.plot.top(), 2, l.plot.height()), head);
  // The handle: a triangle pointing down at the lanes, in the axis row.
  const int h = std::max(6, l.axis.height() / 2);
  const int y = l.plot.top();
  const QPolygon handle({QPoint(x - h / 2 - 1, y - h), QPoint(x + h / 2 + 1, y - h), QPoint(x, y)});
  p.setPen(QPen(halo, 1));
  p.setBrush(head);
  p.drawPolygon(handle);
  p.restore();
}

void paint_range(QPainter& p, const QRect& plot, const TimeScale& s, int from, int to, bool measure,
                 const capture::RecordStore& store, const QPalette& palette, const QFont& font) {
  const int xa = std::clamp(std::min(from, to), plot.left(), plot.right());
  const int xb = std::clamp(std::max(from, to), plot.left(), plot.right());
  QColor hl = palette.color(QPalette::Highlight);
  hl.setAlpha(60);
  p.fillRect(QRect(xa, plot.top(), xb - xa + 1, plot.height()), hl);
  p.setPen(palette.color(QPalette::Highlight));
  p.drawLine(xa, plot.top(), xa, plot.bottom());
  p.drawLine(xb, plot.top(), xb, plot.bottom());
  if (!measure) return;
  const std::uint64_t ta = s.time(xa);
  const std::uint64_t tb = s.time(xb);
  const auto n = store.range(ta, tb).size();
  const double dt = double(tb - ta);
  const QString text = QStringLiteral("Δt %1 · %2 records · %3/s")
                           .arg(duration_text(dt))
                           .arg(n)
                           .arg(dt > 0 ? QString::number(double(n) * 1e9 / dt, 'g', 4) : QStringLiteral("-"));
  const QFontMetrics fm(font);
  QRect box = fm.boundingRect(text).adjusted(-4, -2, 4, 2);
  box.moveTopLeft(QPoint(std::min(xb + 6, plot.right() - box.width()), plot.top() + 4));
  p.fillRect(box, palette.color(QPalette::ToolTipBase));
  p.setPen(palette.color(QPalette::ToolTipText));
  p.drawText(box, Qt::AlignCenter, text);
}

void paint_compare_brackets(QPainter& p, const TimelineLayout& l, std::span<const std::uint32_t> lanes,
                            int first_row, const LaneIndex& index, const QPalette& palette,
                            const QFont& font) {
  if (index.pins().empty()) return;
  const auto brackets = compare_brackets(lanes, first_row, l.rows, [&index](std::uint32_t lane) {
    const LanePin* pin = index.pin_starting_at(lane);
    return pin ? index.lane_of(pin->right) : std::nullopt;
  });
  const QColor link = palette.color(QPalette::Link);
  p.save();
  p.setClipRect(l.labels);
  for (const CompareBracket& b : brackets) {
    const BracketPlacement at = bracket_placement(l.area.left(), l.plot.top() + b.row * kLaneHeight);
    p.setPen(QPen(link, 2));
    p.drawLine(at.x, at.y_top, at.x, at.y_bottom);
    p.drawLine(at.x, at.y_top, at.x + at.arm, at.y_top);
    p.drawLine(at.x, at.y_bottom, at.x + at.arm, at.y_bottom);
    const LanePin* pin = index.pin_starting_at(b.left_lane);
    if (!pin || pin->label.isEmpty()) continue;
    QFont small = font;
    small.setPointSizeF(std::max(6.0, small.pointSizeF() * 0.85));
    small.setItalic(true);
    const QFontMetrics sm(small);
    const QString text =
        sm.elidedText(pin->label, Qt::ElideRight, std::max(20, l.labels.right() - at.label_x - 4));
    const QRect box(at.label_x - 2, at.label_y - sm.height() / 2 - 1, sm.horizontalAdvance(text) + 4,
                    sm.height() + 2);
    p.fillRect(box, palette.color(QPalette::Base));
    p.setFont(small);
    p.setPen(link);
    p.drawText(box, Qt::AlignCenter, text);
    p.setFont(font);
  }
  p.restore();
}

void paint_empty_hint(QPainter& p, const TimelineLayout& l, const QString& hint, const QPalette& palette,
                      const QFont& font) {
  const QRect box = l.plot.adjusted(12, kLaneHeight + 12, -12, -12);
  if (box.height() < 2 * QFontMetrics(font).height()) return;
  p.save();
  p.setPen(palette.color(QPalette::PlaceholderText));
  p.drawText(box, Qt::AlignCenter | Qt::TextWordWrap, hint);
  p.restore();
}

}  // namespace ready::ui
