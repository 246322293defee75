#include "timeline/timelineview.h"

#include <QFontMetrics>
#include <QHelpEvent>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QToolTip>
#include <QWheelEvent>

#include <algorithm>
#include <bit>
#include <cmath>

#include "ready/capture/command.h"
#include "ready/interest.h"
#include "record_format.h"

namespace ready::ui {

using capture::Record;
using capture::RecordKind;
using capture::ReadinessFlag;

namespace {

constexpr std::array<ReadinessFlag, 6> kFlags{capture::flag_readable,    capture::flag_writable,
                                              capture::flag_priority,    capture::flag_read_closed,
                                              capture::flag_write_closed, capture::flag_error};
constexpr std::array<std::uint8_t, kActionGlyphs> kGlyphs{glyph_read, glyph_write, glyph_would_block,
                                                          glyph_eof,  glyph_error, glyph_other};
constexpr int kGlyph = 11;        // readiness glyph image size
constexpr int kTick = 9;          // action glyph image size
constexpr int kMarkTop = 2;       // lane-relative rows
constexpr int kMarkCentre = 8;
constexpr int kBandTop = 16;
constexpr int kBandHeight = 4;
constexpr int kTickBottom = 29;
constexpr int kTickCentre = 25;
constexpr int kSparseSpacing = 8;  // mean px between marks at or above which shapes are drawn
constexpr int kHitRadius = 6;
const QColor kVermillion(0xD5, 0x5E, 0x00);
const QColor kWarningYellow(0xF0, 0xE4, 0x42);  // Okabe-Ito yellow: warning marks only

// Alpha by how many records share a column: the density shading of decimated marks.
int densityAlpha(std::uint32_t count) {
  return count <= 1 ? 150 : count <= 3 ? 190 : count <= 15 ? 225 : 255;
}

QRgb premul(const QColor& c, int alpha) {
  return qPremultiply(qRgba(c.red(), c.green(), c.blue(), alpha * c.alpha() / 255));
}

QString interestText(std::uint32_t bits) {
  const capture::SourceBits b = capture::SourceBits::unpack(bits);
  QStringList parts;
  if (b.interest.is_readable()) parts << QStringLiteral("R");
  if (b.interest.is_writable()) parts << QStringLiteral("W");
  if (b.interest.is_priority()) parts << QStringLiteral("P");
  static const char* const kReactions[] = {"none", "read", "drain", "echo", "discard", "auto_accept"};
  const auto r = static_cast<std::size_t>(b.reaction);
  return QStringLiteral("%1, %2, reaction %3")
      .arg(parts.join(QLatin1Char('|')), QString::fromLatin1(to_string(b.trigger)),
           QString::fromLatin1(r < std::size(kReactions) ? kReactions[r] : "?"));
}

QString actionText(const Record& r) {
  QString s = QStringLiteral("%1 %2").arg(QString::fromUtf8(to_string(static_cast<capture::Op>(r.op))),
                                          QString::fromUtf8(to_string(r.outcome)));
  if (r.outcome == capture::Outcome::error) return s + QStringLiteral(" (%1)").arg(error_text(std::error_code(r.err, std::generic_category())));
  if (r.outcome == capture::Outcome::ok) s += QStringLiteral(" %1").arg(r.value);
  return s;
}

}  // namespace

TimelineView::TimelineView(QWidget* parent) : QWidget(parent) {
  setFocusPolicy(Qt::StrongFocus);
  setMouseTracking(true);
  setAttribute(Qt::WA_OpaquePaintEvent);
  setMinimumSize(320, 160);
}

TimelineView::~TimelineView() = default;

QColor TimelineView::flagColor(ReadinessFlag f) {
  // Okabe & Ito's colour-blind-safe palette (yellow left out: too pale on light themes).
  switch (f) {
    case capture::flag_readable:
      return {0x00, 0x72, 0xB2};  // blue
    case capture::flag_writable:
      return {0x00, 0x9E, 0x73};  // bluish green
    case capture::flag_error:
      return kVermillion;
    case capture::flag_read_closed:
      return {0xE6, 0x9F, 0x00};  // orange
    case capture::flag_write_closed:
      return {0xCC, 0x79, 0xA7};  // reddish purple
    case capture::flag_priority:
      return {0x56, 0xB4, 0xE9};  // sky blue
  }
  return Qt::gray;
}

QString TimelineView::flagName(ReadinessFlag f) { return QString::fromUtf8(capture::to_string(f)); }

QString TimelineView::durationText(double ns) {
  const double a = std::abs(ns);
  auto fmt = [](double v, const char* unit) {
    return QString::number(v, 'g', 4) + QLatin1Char(' ') + QString::fromUtf8(unit);
  };
  if (a < 1e3) return fmt(ns, "ns");
  if (a < 1e6) return fmt(ns / 1e3, "µs");
  if (a < 1e9) return fmt(ns / 1e6, "ms");
  return fmt(ns / 1e9, "s");
}

void TimelineView::setData(const capture::RecordStore* store, const LaneIndex* index) {
  m_store = store;
  m_index = index;
  m_selected.reset();
  m_firstRow = 0;
  m_zoom = ZoomStack(dataWindow());
  m_fullRange = true;
  applyView(dataWindow(), false);
  update();
}

void TimelineView::setLabeler(std::function<QString(std::uint64_t)> labeler) {
  m_labeler = std::move(labeler);
  update();
}

void TimelineView::setFollowLive(bool on) {
  if (m_follow == on) return;
  m_follow = on;
  if (on && !m_paused) {
    if (m_view.span() >= dataWindow().span()) m_fullRange = true;
    applyView(liveWindow(), false);
  }
  emit followLiveChanged(on);
  update();
}

void TimelineView::setPaused(bool on) {
  if (m_paused == on) return;
  if (on) m_pausedData = m_index ? m_index->data_window() : TimeWindow{};
  m_paused = on;
  if (!on) onFrame(0, 0, 0);
  update();
}

TimeWindow TimelineView::dataWindow() const {
  if (m_paused) return m_pausedData;
  if (!m_index || m_index->store().empty()) return {0, TimeScale::kMinSpan};
  return m_index->data_window();
}

TimeWindow TimelineView::liveWindow() const {
  const TimeWindow d = dataWindow();
  if (m_fullRange) return {d.t0, d.t1 + d.span() / 32};
  const std::uint64_t span = m_view.span();
  const std::uint64_t t1 = d.t1 + span / 32;
  return {t1 - std::min(t1, span), t1};
}

void TimelineView::applyView(TimeWindow w, bool by_hand) {
  if (by_hand) {
    m_fullRange = false;
    if (m_follow) {
      m_follow = false;
      emit followLiveChanged(false);
    }
  }
  const TimeScale s(w, 0, 1);  // normalises the span
  if (s.window() == m_view) return;
  m_view = s.window();
  emit viewChanged(m_view.t0, m_view.t1);
  update();
}

void TimelineView::setView(std::uint64_t t0, std::uint64_t t1) { applyView({t0, t1}, true); }

void TimelineView::zoomBack() {
  if (const auto v = m_zoom.back()) applyView(*v, true);
}

void TimelineView::zoomReset() {
  m_zoom.set_full(dataWindow());
  applyView(m_zoom.reset(), true);
  m_fullRange = true;
}

void TimelineView::zoomAt(double factor, double x) {
  const Layout l = layoutFor(rect());
  const TimeWindow d = dataWindow();
  applyView(scaleFor(l).zoomed(factor, x).clamped(d.t0, d.t1).window(), true);
}

void TimelineView::panBy(double dx) {
  const Layout l = layoutFor(rect());
  const TimeWindow d = dataWindow();
  applyView(scaleFor(l).panned(dx).clamped(d.t0, d.t1).window(), true);
}

void TimelineView::onFrame(std::uint64_t, std::uint64_t, std::uint64_t) {
  if (m_paused) return;
  const TimeWindow d = dataWindow();
  m_zoom.set_full(d);
  if (m_follow) applyView(liveWindow(), false);
  if (m_selected && m_store && *m_selected < m_store->begin_index()) m_selected.reset();
  update();
}

void TimelineView::selectRecord(std::uint64_t index) {
  if (!m_store || index < m_store->begin_index() || index >= m_store->end_index()) {
    m_selected.reset();
    update();
    return;
  }
  m_selected = index;
  const std::uint64_t t = m_store->time_at(index);
  if (t < m_view.t0 || t >= m_view.t1) {
    const std::uint64_t half = m_view.span() / 2;
    const std::uint64_t t0 = t > half ? t - half : 0;
    applyView({t0, t0 + m_view.span()}, true);
  }
  update();
}

// ---- geometry ----

TimelineView::Layout TimelineView::layoutFor(const QRect& area) const {
  Layout l;
  l.area = area;
  // The label column fits the longest label (indent included), within [120, 35 % of the width].
  int widest = 0;
  if (m_index) {
    const QFontMetrics fm(font());
    const auto& order = m_index->order();
    // The first 256 lanes decide (a capture with thousands of streams keeps its paint cost).
    for (std::size_t i = 0; i < std::min<std::size_t>(order.size(), 256); ++i) {
      const TimelineLane& lane = m_index->lane(order[i]);
      if (lane.gone) continue;
      widest = std::max(widest, fm.horizontalAdvance(laneLabel(lane)) + 8 + lane.depth * 14 + 8);
    }
  }
  const int label_w = std::clamp(widest, 120, std::max(120, area.width() * 35 / 100));
  const int legend_h = kLegendHeight * legendRows(area.width());
  l.legend = QRect(area.left(), area.top(), area.width(), legend_h);
  l.axis = QRect(area.left() + label_w, area.top() + legend_h, area.width() - label_w, kAxisHeight);
  const int top = area.top() + legend_h + kAxisHeight;
  l.labels = QRect(area.left(), top, label_w, std::max(0, area.bottom() + 1 - top));
  l.plot = QRect(area.left() + label_w, top, std::max(1, area.width() - label_w), l.labels.height());
  l.rows = (l.plot.height() + kLaneHeight - 1) / kLaneHeight;
  return l;
}

TimeScale TimelineView::scaleFor(const Layout& l) const { return {m_view, double(l.plot.left()), double(l.plot.width())}; }

std::vector<std::uint32_t> TimelineView::visibleLanes() const {
  std::vector<std::uint32_t> out;
  if (!m_index) return out;
  for (std::uint32_t id : m_index->order()) {
    // While paused, lanes created after the pause are not shown yet.
    if (m_paused && !m_index->lane(id).is_poll && m_index->lane(id).added_ns >= m_pausedData.t1) continue;
    out.push_back(id);
  }
  return out;
}

std::optional<std::uint32_t> TimelineView::laneAt(int y) const {
  const Layout l = layoutFor(rect());
  if (y < l.plot.top() || y > l.plot.bottom()) return std::nullopt;
  const auto lanes = visibleLanes();
  const std::size_t row = static_cast<std::size_t>(m_firstRow + (y - l.plot.top()) / kLaneHeight);
  if (row >= lanes.size()) return std::nullopt;
  return lanes[row];
}

QString TimelineView::laneLabel(const TimelineLane& lane) const {
  if (lane.is_poll) return QStringLiteral("epoll_wait");
  if (m_labeler) {
    QString s = m_labeler(lane.token);
    if (!s.isEmpty()) return s;
  }
  return QStringLiteral("#%1 %2 fd %3")
      .arg(lane.token)
      .arg(lane.kind ? QString::fromUtf8(to_string(*lane.kind)) : QStringLiteral("?"))
      .arg(lane.fd);
}

std::optional<std::uint64_t> TimelineView::nearestRecord(std::uint32_t lane_id, const TimeScale& s, int x,
                                                         bool prefer_actions) const {
  if (!m_store || !m_index) return std::nullopt;
  const TimelineLane& lane = m_index->lane(lane_id);
  const std::uint64_t ta = s.time(x - kHitRadius);
  const std::uint64_t tb = s.time(x + kHitRadius + 1);
  constexpr std::size_t kCap = 4096;  // a hit test never walks more than this
  std::optional<std::uint64_t> best;
  double best_score = 1e300;
  auto consider = [&](std::uint64_t i, bool preferred) {
    const double score = std::abs(s.x(m_store->time_at(i)) - x) + (preferred ? 0 : 3);
    if (score < best_score) {
      best_score = score;
      best = i;
    }
  };
  if (lane.is_poll) {
    const auto r = m_store->range(ta, tb);
    for (std::uint64_t i = r.begin; i < r.end && i < r.begin + kCap; ++i)
      if (m_store->kind_at(i) == RecordKind::poll_return) consider(i, true);
    return best;
  }
  std::size_t seen = 0;
  for (std::uint64_t i : m_store->token_range(lane.token, ta, tb)) {
    if (++seen > kCap) break;
    const RecordKind k = m_store->kind_at(i);
    consider(i, (k == RecordKind::action) == prefer_actions);
  }
  return best;
}

std::optional<std::uint64_t> TimelineView::recordAt(QPoint pos) const {
  const Layout l = layoutFor(rect());
  if (!l.plot.contains(pos)) return std::nullopt;
  const auto lane = laneAt(pos.y());
  if (!lane) return std::nullopt;
  const int within = (pos.y() - l.plot.top()) % kLaneHeight;
  return nearestRecord(*lane, scaleFor(l), pos.x(), within >= kBandTop + kBandHeight);
}

const TimelineMarker* TimelineView::warningAt(QPoint pos) const {
  if (!m_index) return nullptr;
  const Layout l = layoutFor(rect());
  if (!l.plot.contains(pos)) return nullptr;
  const auto lane = laneAt(pos.y());
  if (!lane || (pos.y() - l.plot.top()) % kLaneHeight > 14) return nullptr;  // the mark's rows
  const TimeScale s = scaleFor(l);
  const std::uint64_t ta = s.time(pos.x() - kHitRadius);
  const std::uint64_t tb = s.time(pos.x() + kHitRadius + 1);
  const auto& markers = m_index->markers();
  auto it = std::partition_point(markers.begin(), markers.end(), [ta](const TimelineMarker& m) { return m.t_ns < ta; });
  for (; it != markers.end() && it->t_ns <= tb; ++it)  // <=: below 1 ns a pixel, times truncate
    if (it->lane == static_cast<std::int32_t>(*lane)) return &*it;
  return nullptr;
}

std::optional<QPoint> TimelineView::recordPosition(std::uint64_t index) const {
  if (!m_store || !m_index || index < m_store->begin_index() || index >= m_store->end_index()) return std::nullopt;
  const Record r = m_store->at(index);
  std::optional<std::uint32_t> lane = r.kind == RecordKind::poll_return ? std::optional<std::uint32_t>(0)
                                                                        : m_index->lane_of(r.token);
  if (!lane) return std::nullopt;
  const auto lanes = visibleLanes();
  const auto it = std::find(lanes.begin(), lanes.end(), *lane);
  if (it == lanes.end()) return std::nullopt;
  const int row = static_cast<int>(it - lanes.begin()) - m_firstRow;
  const Layout l = layoutFor(rect());
  const TimeScale s = scaleFor(l);
  if (row < 0 || r.t_ns < m_view.t0 || r.t_ns >= m_view.t1) return std::nullopt;
  const int dy = r.kind == RecordKind::action ? kTickCentre : r.kind == RecordKind::poll_return ? kTickBottom - 2 : kMarkCentre;
  const QPoint p(static_cast<int>(std::floor(s.x(r.t_ns))), l.plot.top() + row * kLaneHeight + dy);
  if (!l.plot.contains(p)) return std::nullopt;
  return p;
}

QString TimelineView::describeRecord(std::uint64_t index) const {
  if (!m_store || !m_index || index < m_store->begin_index() || index >= m_store->end_index()) return {};
  const Record r = m_store->at(index);
  QStringList lines;
  lines << QStringLiteral("t = %1  (record %2)").arg(durationText(double(r.t_ns))).arg(index);
  if (r.kind == RecordKind::poll_return) {
    lines << QStringLiteral("epoll_wait returned %1 event(s) after blocking %2").arg(r.value).arg(durationText(double(r.value2)));
    return lines.join(QLatin1Char('\n'));
  }
  const auto lane = m_index->lane_of(r.token);
  lines << (lane ? laneLabel(m_index->lane(*lane)) : QStringLiteral("#%1").arg(r.token));
  switch (r.kind) {
    case RecordKind::readiness: {
      lines << QStringLiteral("%1   epoll bits 0x%2")
                   .arg(QString::fromStdString(capture::flags_text(capture::readiness_flags(r.bits))))
                   .arg(r.bits, 8, 16, QLatin1Char('0'));
      if (lane) {
        if (const InterestSpan* in = m_index->interest_at(*lane, r.t_ns))
          lines << QStringLiteral("interest: %1").arg(interestText(in->bits));
      }
      // The action that followed on this source (before its next event).
      std::size_t seen = 0;
      for (std::uint64_t i : m_store->token_range(r.token, r.t_ns, TimeScale::kMaxTime)) {
        if (i <= index) continue;
        if (++seen > 64) break;
        const RecordKind k = m_store->kind_at(i);
        if (k == RecordKind::readiness) break;
        if (k == RecordKind::action) {
          const Record a = m_store->at(i);
          lines << QStringLiteral("then: %1 (+%2)").arg(actionText(a), durationText(double(a.t_ns - r.t_ns)));
          break;
        }
      }
      break;
    }
    case RecordKind::action:
      lines << actionText(r);
      break;
    case RecordKind::source_added:
    case RecordKind::source_changed:
      lines << QStringLiteral("%1: %2").arg(QString::fromUtf8(to_string(r.kind)), interestText(r.bits));
      break;
    default:
      lines << QString::fromUtf8(to_string(r.kind));
      break;
  }
  return lines.join(QLatin1Char('\n'));
}

// ---- painting ----

void TimelineView::ensureGlyphs() {
  const QColor text = palette().color(QPalette::Text);
  if (!m_flagGlyphs[0].isNull() && m_glyphTextRgb == text.rgba()) return;
  m_glyphTextRgb = text.rgba();
  for (std::size_t i = 0; i < kFlags.size(); ++i) {
    QImage img(kGlyph, kGlyph, QImage::Format_ARGB32_Premultiplied);
    img.fill(Qt::transparent);
    QPainter p(&img);  // no antialiasing: the fill is exactly the legend colour
    const QColor c = flagColor(kFlags[i]);
    p.setPen(Qt::NoPen);
    p.setBrush(c);
    switch (kFlags[i]) {
      case capture::flag_readable:
        p.drawPolygon(QPolygon({QPoint(5, 0), QPoint(10, 9), QPoint(0, 9)}));
        break;
      case capture::flag_writable:
        p.drawPolygon(QPolygon({QPoint(0, 1), QPoint(10, 1), QPoint(5, 10)}));
        break;
      case capture::flag_priority:
        p.drawEllipse(QRect(1, 1, 9, 9));
        break;
      case capture::flag_read_closed:
        p.drawRect(QRect(1, 1, 9, 9));
        break;
      case capture::flag_write_closed:
        p.drawPolygon(QPolygon({QPoint(5, 0), QPoint(10, 5), QPoint(5, 10), QPoint(0, 5)}));
        break;
      case capture::flag_error:
        p.setPen(QPen(c, 3));
        p.drawLine(1, 1, 9, 9);
        p.drawLine(9, 1, 1, 9);
        break;
    }
    m_flagGlyphs[i] = img;
  }
  const QColor mid = palette().color(QPalette::Mid);
  for (std::size_t i = 0; i < kGlyphs.size(); ++i) {
    QImage img(kTick, kTick, QImage::Format_ARGB32_Premultiplied);
    img.fill(Qt::transparent);
    QPainter p(&img);
    p.setPen(QPen(text, 1));
    p.setBrush(Qt::NoBrush);
    switch (kGlyphs[i]) {
      case glyph_read:
        p.setBrush(text);
        p.drawEllipse(QRect(2, 2, 5, 5));
        break;
      case glyph_write:
        p.drawRect(QRect(1, 1, 6, 6));
        break;
      case glyph_would_block:
        p.fillRect(QRect(1, 3, 7, 2), mid);
        break;
      case glyph_eof:
        p.fillRect(QRect(3, 0, 3, 9), text);
        break;
      case glyph_error:
        p.setPen(QPen(kVermillion, 2));
        p.drawLine(1, 1, 7, 7);
        p.drawLine(7, 1, 1, 7);
        break;
      case glyph_other:
        p.drawEllipse(QRect(1, 1, 6, 6));
        break;
      default:
        break;
    }
    m_actionGlyphs[i] = img;
  }
}

void TimelineView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  render(p, rect());
}

void TimelineView::render(QPainter& p, const QRect& area) {
  ensureGlyphs();
  const Layout l = layoutFor(area);
  const TimeScale s = scaleFor(l);
  p.save();
  p.setClipRect(area);
  p.setRenderHint(QPainter::Antialiasing, false);
  // The plot is painted opaque by paintLanes; only the label column needs a background.
  p.fillRect(QRect(l.area.left(), l.labels.top(), l.labels.width(), l.labels.height()), palette().color(QPalette::Base));
  paintLegend(p, l);
  paintAxis(p, l, s);
  paintLanes(p, l, s);
  paintOverlays(p, l, s);
  paintComparePins(p, l);
  if (showsEmptyHint()) paintEmptyHint(p, l);
  p.restore();
}

void TimelineView::setEmptyHint(const QString& hint) {
  m_emptyHint = hint;
  update();
}

bool TimelineView::showsEmptyHint() const {
  if (m_emptyHint.isEmpty()) return false;
  if (!m_index) return true;
  const auto& order = m_index->order();
  return std::none_of(order.begin(), order.end(), [this](std::uint32_t id) { return !m_index->lane(id).is_poll; });
}

void TimelineView::paintEmptyHint(QPainter& p, const Layout& l) {
  // Below the poll lane, centred in what is left of the plot.
  const QRect box = l.plot.adjusted(12, kLaneHeight + 12, -12, -12);
  if (box.height() < 2 * QFontMetrics(font()).height()) return;
  p.save();
  p.setPen(palette().color(QPalette::PlaceholderText));
  p.drawText(box, Qt::AlignCenter | Qt::TextWordWrap, m_emptyHint);
  p.restore();
}

namespace {

constexpr const char* kGlyphNames[] = {"read", "write", "EAGAIN", "EOF", "error", "other"};
constexpr const char* kInterestKeys[] = {"edge", "level", "oneshot", "disarmed"};

// Legend widths, in pixels, of its three groups.
std::array<int, 3> legendGroupWidths(const QFontMetrics& fm) {
  std::array<int, 3> w{0, 0, 0};
  for (std::size_t i = 0; i < kFlags.size(); ++i)
    w[0] += kGlyph + 3 + fm.horizontalAdvance(TimelineView::flagName(kFlags[i])) + 10;
  w[1] = 6;
  for (const char* name : kGlyphNames) w[1] += kTick + 3 + fm.horizontalAdvance(QString::fromLatin1(name)) + 8;
  w[2] = 6 + fm.horizontalAdvance(QStringLiteral("interest:")) + 6;
  for (const char* name : kInterestKeys) w[2] += 18 + fm.horizontalAdvance(QString::fromLatin1(name)) + 8;
  return w;
}

}  // namespace

TimelineView::LegendPlan TimelineView::legendPlan(int width) const {
  const QFontMetrics fm(font());
  const auto w = legendGroupWidths(fm);
  // The state text ("PAUSED" is the wider one) keeps room at the right of the first row, or
  // of the second when the readiness kinds alone fill the first.
  const int state = fm.horizontalAdvance(QStringLiteral("PAUSED")) + 18;
  LegendPlan plan;
  plan.state_row = w[0] + state <= width - 6 ? 0 : 1;
  const int room[2] = {width - 6 - (plan.state_row == 0 ? state : 0), width - 12 - (plan.state_row == 1 ? state : 0)};
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

int TimelineView::legendRows(int width) const { return legendPlan(width).rows; }

void TimelineView::paintLegend(QPainter& p, const Layout& l) {
  const QColor text = palette().color(QPalette::Text);
  p.fillRect(l.legend, palette().color(QPalette::Window));
  p.setPen(palette().color(QPalette::WindowText));
  const QFontMetrics fm(font());
  const LegendPlan plan = legendPlan(l.legend.width());
  std::array<int, 2> xs{l.legend.left() + 6, l.legend.left() + 6};
  const auto cy = [&](int row) { return l.legend.top() + row * kLegendHeight + kLegendHeight / 2; };
  const auto base = [&](int row) { return cy(row) + fm.ascent() / 2 - 1; };

  {
    int& x = xs[0];
    for (std::size_t i = 0; i < kFlags.size(); ++i) {
      p.drawImage(x, cy(0) - kGlyph / 2, m_flagGlyphs[i]);
      x += kGlyph + 3;
      const QString name = flagName(kFlags[i]);
      p.drawText(x, base(0), name);
      x += fm.horizontalAdvance(name) + 10;
    }
  }
  if (plan.row[1] >= 0) {
    const int row = plan.row[1];
    int& x = xs[static_cast<std::size_t>(row)];
    x += row == 0 ? 6 : 0;
    for (std::size_t i = 0; i < kGlyphs.size(); ++i) {
      p.drawImage(x, cy(row) - kTick / 2, m_actionGlyphs[i]);
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
    const QColor alt = palette().color(QPalette::AlternateBase);
    const QColor colours[] = {palette().color(QPalette::Text), palette().color(QPalette::Highlight),
                              palette().color(QPalette::Link), palette().color(QPalette::Text)};
    x += 6;
    p.drawText(x, base(row), QStringLiteral("interest:"));
    x += fm.horizontalAdvance(QStringLiteral("interest:")) + 6;
    for (std::size_t k = 0; k < std::size(kInterestKeys); ++k) {
      const bool hatched = k == 3;
      const QRect sw(x, cy(row) - 2, 14, kBandHeight);
      p.fillRect(sw, alt);
      QColor c = colours[k];
      c.setAlpha(hatched ? 120 : k == 0 ? 90 : 200);
      if (hatched) {
        for (int i = 0; i < sw.width(); i += 3) p.fillRect(QRect(sw.left() + i, sw.top(), 1, sw.height()), c);
      } else {
        p.fillRect(sw, c);
      }
      x += 18;
      const QString name = QString::fromLatin1(kInterestKeys[k]);
      p.drawText(x, base(row), name);
      x += fm.horizontalAdvance(name) + 8;
    }
  }
  // State at the right: live / paused.
  const QString state = m_paused ? QStringLiteral("PAUSED") : m_follow ? QStringLiteral("live") : QString();
  if (!state.isEmpty()) {
    p.setPen(m_paused ? palette().color(QPalette::Highlight) : text);
    p.drawText(QRect(l.legend.left(), l.legend.top() + plan.state_row * kLegendHeight, l.legend.width() - 6, kLegendHeight),
               Qt::AlignRight | Qt::AlignVCenter, state);
  }
}

void TimelineView::paintAxis(QPainter& p, const Layout& l, const TimeScale& s) {
  p.fillRect(QRect(l.area.left(), l.axis.top(), l.area.width(), l.axis.height()), palette().color(QPalette::Window));
  const QColor fg = palette().color(QPalette::WindowText);
  p.setPen(fg);
  // The view's span, left of the axis.
  p.drawText(QRect(l.area.left() + 6, l.axis.top(), l.labels.width() - 12, l.axis.height()),
             Qt::AlignLeft | Qt::AlignVCenter, QStringLiteral("view %1").arg(durationText(double(s.span()))));
  // Ticks 1-2-5 x 10^k ns apart, at least ~100 px.
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
  const double unit = step >= 1e9 ? 1e9 : step >= 1e6 ? 1e6 : step >= 1e3 ? 1e3 : 1;
  const char* unit_name = unit == 1e9 ? "s" : unit == 1e6 ? "ms" : unit == 1e3 ? "µs" : "ns";
  const int decimals = std::max(0, static_cast<int>(std::ceil(std::log10(unit / step) - 1e-9)));
  const auto st = static_cast<std::uint64_t>(step);
  std::uint64_t t = (s.t0() / st) * st;
  if (t < s.t0()) t += st;
  for (; t < s.t1(); t += st) {
    const int x = static_cast<int>(std::floor(s.x(t)));
    p.drawLine(x, l.axis.bottom() - 5, x, l.axis.bottom());
    const QString label = QString::number(double(t) / unit, 'f', decimals) + QLatin1Char(' ') + QString::fromUtf8(unit_name);
    p.drawText(x + 3, l.axis.bottom() - 6, label);
    if (t > TimeScale::kMaxTime - st) break;
  }
  p.drawLine(l.axis.left(), l.axis.bottom(), l.axis.right(), l.axis.bottom());
}

namespace {

// `src` (premultiplied) over the opaque `dst`.
QRgb over(QRgb src, QRgb dst) {
  const int ia = 255 - qAlpha(src);
  return qRgb(qRed(src) + qRed(dst) * ia / 255, qGreen(src) + qGreen(dst) * ia / 255, qBlue(src) + qBlue(dst) * ia / 255);
}

}  // namespace

// The plot is painted into an opaque image, pixel by pixel for what is O(pixels) (lane
// backgrounds, decimated marks, bands, ticks, poll bars), then copied in one drawImage:
// an opaque copy is far cheaper than blending a translucent layer, and no pixel is
// painted twice. Marks lie inside their lane's lifetime, so their colours are blended
// once per frame over the lifetime colour and written as they are.
void TimelineView::paintLanes(QPainter& p, const Layout& l, const TimeScale& s) {
  const QRect& plot = l.plot;
  if (m_layer.size() != plot.size()) m_layer = QImage(plot.size(), QImage::Format_RGB32);
  const QRgb base = palette().color(QPalette::Base).rgb();
  if (!m_index || !m_store) {
    m_layer.fill(base);
    p.drawImage(plot.topLeft(), m_layer);
    return;
  }
  const auto lanes = visibleLanes();
  m_firstRow = std::clamp(m_firstRow, 0, std::max(0, static_cast<int>(lanes.size()) - 1));
  const QRgb alt = palette().color(QPalette::AlternateBase).rgb();
  const QColor sep = palette().color(QPalette::Mid);
  const QColor text = palette().color(QPalette::Text);
  const QFontMetrics fm(font());
  const int w = plot.width();
  uchar* const bits = m_layer.bits();
  const qsizetype bpl = m_layer.bytesPerLine();
  auto line = [&](int y) { return reinterpret_cast<QRgb*>(bits + y * bpl); };
  m_glyphDraws.clear();
  m_pollLabels.clear();
  std::uint32_t prev_group = ~0u;
  int y_end = 0;
  for (int row = 0; row < l.rows; ++row) {
    const std::size_t i = static_cast<std::size_t>(m_firstRow + row);
    if (i >= lanes.size()) break;
    const TimelineLane& lane = m_index->lane(lanes[i]);
    const int y = plot.top() + row * kLaneHeight;
    const int ly = row * kLaneHeight;
    const int rows_here = std::min(kLaneHeight, plot.height() - ly);
    y_end = ly + rows_here;
    // Label column (indented under a listener), a line between groups.
    const int indent = 8 + lane.depth * 14;
    if (lane.depth > 0) {
      p.setPen(sep);
      p.drawLine(l.area.left() + indent - 10, y + 2, l.area.left() + indent - 10, y + kLaneHeight / 2);
      p.drawLine(l.area.left() + indent - 10, y + kLaneHeight / 2, l.area.left() + indent - 4, y + kLaneHeight / 2);
    }
    p.setPen(text);
    const QString label = fm.elidedText(laneLabel(lane), Qt::ElideMiddle, l.labels.width() - indent - 4);
    p.drawText(QRect(l.area.left() + indent, y, l.labels.width() - indent - 4, kLaneHeight),
               Qt::AlignLeft | Qt::AlignVCenter, label);
    const bool new_group = lane.group != prev_group && row > 0;
    if (new_group) {
      p.setPen(sep);
      p.drawLine(l.area.left(), y, l.labels.right(), y);
    }
    prev_group = lane.group;
    // Background: the lifetime shaded, the rest base, a separator line between groups.
    int xa = 0, xb = w;
    if (!lane.is_poll) {
      xa = static_cast<int>(std::clamp(std::floor(s.x(lane.added_ns) - s.x0()), 0.0, double(w)));
      xb = lane.removed_ns == TimelineLane::kAlive
               ? w
               : static_cast<int>(std::clamp(std::ceil(s.x(lane.removed_ns) - s.x0()), 0.0, double(w)));
      if (xb <= xa && lane.added_ns < s.t1() && (lane.removed_ns == TimelineLane::kAlive || lane.removed_ns >= s.t0()))
        xb = std::min(w, xa + 1);
    }
    for (int r = 0; r < rows_here; ++r) {
      QRgb* px = line(ly + r);
      if (r == 0 || r == kLaneHeight - 1) {
        std::fill_n(px, w, r == 0 && new_group ? sep.rgb() : base);
        continue;
      }
      std::fill_n(px, xa, base);
      std::fill(px + xa, px + std::max(xa, xb), alt);
      std::fill(px + std::max(xa, xb), px + w, base);
    }
    if (rows_here < kLaneHeight) continue;  // a partly visible last lane shows its background only
    if (lane.is_poll) {
      paintPollLane(m_layer, ly, s);
      // Few returns in view: write how many events each carried.
      std::size_t used = 0;
      for (const PollColumn& c : m_poll) used += c.returns != 0;
      if (used * 24 <= static_cast<std::size_t>(w)) {
        p.setPen(text);
        // A label that would touch the previous one is left out (the tooltip has it).
        int free_x = 0;
        for (int x = 0; x < w; ++x) {
          const PollColumn& c = m_poll[static_cast<std::size_t>(x)];
          if (!c.returns || x < free_x) continue;
          m_pollLabels.push_back({plot.left() + x + 3, y + kTickBottom - 2, c.events});
          free_x = x + 3 + fm.horizontalAdvance(QString::number(c.events)) + 4;
        }
      }
    }
    else
      paintSourceLane(m_layer, lane, lanes[i], ly, s, plot);
  }
  for (int y = y_end; y < plot.height(); ++y) std::fill_n(line(y), w, base);
  if (!m_glyphDraws.empty()) {
    QPainter lp(&m_layer);
    for (const GlyphDraw& g : m_glyphDraws) lp.drawImage(g.x, g.y, *g.image);
  }
  p.drawImage(plot.topLeft(), m_layer);
  if (!m_pollLabels.empty()) {
    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.8);
    p.setFont(small);
    p.setPen(text);
    for (const PollLabel& pl : m_pollLabels) p.drawText(pl.x, pl.y, QString::number(pl.events));
    p.setFont(font());
    m_pollLabels.clear();
  }
}

void TimelineView::paintSourceLane(QImage& layer, const TimelineLane& lane, std::uint32_t id, int ly,
                                   const TimeScale& s, const QRect& plot) {
  const int w = plot.width();
  const QRgb alt = palette().color(QPalette::AlternateBase).rgb();
  uchar* const bits = layer.bits();
  const qsizetype bpl = layer.bytesPerLine();
  auto row = [&](int r) { return reinterpret_cast<QRgb*>(bits + (ly + r) * bpl); };

  // Readiness marks.
  m_marks.resize(static_cast<std::size_t>(w));
  m_index->readiness_columns(id, s, m_marks);
  std::size_t used = 0;
  for (const MarkColumn& c : m_marks) used += c.count != 0;
  if (used * kSparseSpacing <= static_cast<std::size_t>(w)) {
    for (int x = 0; x < w; ++x) {
      const MarkColumn& c = m_marks[static_cast<std::size_t>(x)];
      if (c.count == 0) continue;
      // Several kinds in one column: side by side, centred on the column.
      const int kinds = std::popcount(static_cast<unsigned>(c.flags));
      int gx = x - kGlyph / 2 - (kinds - 1) * (kGlyph - 2) / 2;
      for (std::size_t k = 0; k < kFlags.size(); ++k) {
        if (!(c.flags & kFlags[k])) continue;
        m_glyphDraws.push_back({gx, ly + kMarkCentre - kGlyph / 2, &m_flagGlyphs[k]});
        gx += kGlyph - 2;
      }
    }
  } else {
    std::array<std::array<QRgb, 4>, kFlags.size()> colours{};
    for (std::size_t k = 0; k < kFlags.size(); ++k)
      for (std::size_t a = 0; a < 4; ++a)
        colours[k][a] = over(premul(flagColor(kFlags[k]), densityAlpha(a == 0 ? 1 : a == 1 ? 2 : a == 2 ? 4 : 16)), alt);
    for (int x = 0; x < w; ++x) {
      const MarkColumn& c = m_marks[static_cast<std::size_t>(x)];
      if (c.count == 0) continue;
      const std::size_t a = c.count <= 1 ? 0 : c.count <= 3 ? 1 : c.count <= 15 ? 2 : 3;
      for (std::size_t k = 0; k < kFlags.size(); ++k) {
        if (!(c.flags & kFlags[k])) continue;
        const int r = kMarkTop + 2 * static_cast<int>(k);
        row(r)[x] = colours[k][a];
        row(r + 1)[x] = colours[k][a];
      }
    }
  }

  // Interest band: spans binary-searched, sub-pixel spans skipped a column at a time.
  {
    const QRgb edge = over(premul(palette().color(QPalette::Text), 90), alt);
    const QRgb level = over(premul(palette().color(QPalette::Highlight), 170), alt);
    const QRgb oneshot = over(premul(palette().color(QPalette::Link), 200), alt);
    const QRgb off_hi = over(premul(palette().color(QPalette::Text), 120), alt);
    const QRgb off_lo = over(premul(palette().color(QPalette::Text), 25), alt);
    const QRgb boundary = over(premul(palette().color(QPalette::Text), 230), alt);
    const auto& spans = lane.interest;
    auto it = std::partition_point(spans.begin(), spans.end(), [&](const InterestSpan& sp) { return sp.t1 <= s.t0(); });
    while (it != spans.end() && it->t0 < s.t1()) {
      const int xa = std::max(0, static_cast<int>(std::floor(s.x(it->t0) - s.x0())));
      const int xb = it->t1 == InterestSpan::kOpen ? w : std::min(w, static_cast<int>(std::ceil(s.x(it->t1) - s.x0())));
      const auto trig = capture::SourceBits::unpack(it->bits).trigger;
      const QRgb on = trig == Trigger::edge ? edge : trig == Trigger::level ? level : oneshot;
      const int end = std::min(w, std::max(xb, xa + 1));
      for (int r = 0; r < kBandHeight; ++r) {
        QRgb* px = row(kBandTop + r);
        if (it->armed) {
          std::fill(px + xa, px + end, on);
        } else {
          for (int x = xa; x < end; ++x) px[x] = (x + r) % 3 == 0 ? off_hi : off_lo;
        }
      }
      if (it->t0 > s.t0() && xa < w)
        for (int r = -1; r <= kBandHeight; ++r) row(kBandTop + r)[xa] = boundary;
      // Skip the spans that would end inside the column just drawn.
      const std::uint64_t next = s.time(s.x0() + end);
      ++it;
      if (it != spans.end() && it->t1 <= next)
        it = std::partition_point(it, spans.end(), [next](const InterestSpan& sp) { return sp.t1 <= next; });
    }
  }

  // Action ticks.
  m_ticks.resize(static_cast<std::size_t>(w));
  m_index->action_columns(id, s, m_ticks);
  used = 0;
  for (const MarkColumn& c : m_ticks) used += c.count != 0;
  if (used * kSparseSpacing <= static_cast<std::size_t>(w)) {
    for (int x = 0; x < w; ++x) {
      const MarkColumn& c = m_ticks[static_cast<std::size_t>(x)];
      if (c.count == 0) continue;
      const int kinds = std::popcount(static_cast<unsigned>(c.flags));
      int gx = x - kTick / 2 - (kinds - 1) * (kTick - 1) / 2;
      for (std::size_t k = 0; k < kGlyphs.size(); ++k) {
        if (!(c.flags & kGlyphs[k])) continue;
        m_glyphDraws.push_back({gx, ly + kTickCentre - kTick / 2, &m_actionGlyphs[k]});
        gx += kTick - 1;
      }
    }
  } else {
    const QRgb err = kVermillion.rgb();
    const QRgb strong = palette().color(QPalette::Text).rgb();
    const QRgb normal = over(premul(palette().color(QPalette::Text), 170), alt);
    const QRgb weak = over(premul(palette().color(QPalette::Mid), 255), alt);
    for (int x = 0; x < w; ++x) {
      const MarkColumn& c = m_ticks[static_cast<std::size_t>(x)];
      if (c.count == 0) continue;
      int h = 5;
      QRgb col = normal;
      if (c.flags & glyph_error) {
        h = 8;
        col = err;
      } else if (c.flags & glyph_eof) {
        h = 8;
        col = strong;
      } else if (c.flags == glyph_would_block) {
        h = 3;
        col = weak;
      }
      for (int r = 0; r < h; ++r) row(kTickBottom - r)[x] = col;
    }
  }
}

void TimelineView::paintPollLane(QImage& layer, int ly, const TimeScale& s) {
  const int w = layer.width();
  m_poll.resize(static_cast<std::size_t>(w));
  m_index->poll_columns(s, m_poll);
  // A return's blocked time lies before it: spread it right to left over the columns.
  m_blocked.assign(static_cast<std::size_t>(w), 0.0);
  const double nspp = s.ns_per_pixel();
  double carry = 0;
  for (int x = w - 1; x >= 0; --x) {
    carry += double(m_poll[static_cast<std::size_t>(x)].blocked_ns);
    const double here = std::min(carry, nspp);
    m_blocked[static_cast<std::size_t>(x)] = here / nspp;
    carry -= here;
  }
  uchar* const bits = layer.bits();
  const qsizetype bpl = layer.bytesPerLine();
  auto row = [&](int r) { return reinterpret_cast<QRgb*>(bits + (ly + r) * bpl); };
  const QRgb alt = palette().color(QPalette::AlternateBase).rgb();
  const QRgb blocked = over(premul(palette().color(QPalette::Mid), 220), alt);
  const QRgb events = palette().color(QPalette::Highlight).rgb();
  const QRgb empty = over(premul(palette().color(QPalette::Text), 120), alt);
  for (int x = 0; x < w; ++x) {
    const auto ux = static_cast<std::size_t>(x);
    const int bh = static_cast<int>(std::lround(m_blocked[ux] * 12));
    for (int r = 0; r < bh; ++r) row(2 + r)[x] = blocked;
    const PollColumn& c = m_poll[ux];
    if (c.returns == 0) continue;
    if (c.max_events == 0) {
      row(kTickBottom)[x] = empty;
      continue;
    }
    const int h = std::min(14, 2 + static_cast<int>(2 * std::log2(1.0 + c.max_events)));
    for (int r = 0; r < h; ++r) row(kTickBottom - r)[x] = events;
  }
}

void TimelineView::paintOverlays(QPainter& p, const Layout& l, const TimeScale& s) {
  if (!m_index || !m_store) return;
  const QRect& plot = l.plot;
  p.save();
  p.setClipRect(QRect(plot.left(), l.axis.top(), plot.width(), plot.bottom() - l.axis.top() + 1));
  // Notes: a dashed line through the lanes, the text on the axis. Warnings: "!" in the lane.
  const auto lanes = visibleLanes();
  const auto& markers = m_index->markers();
  const auto first = std::partition_point(markers.begin(), markers.end(),
                                          [&](const TimelineMarker& m) { return m.t_ns < s.t0(); });
  // One note per column is enough, and one warning per column and lane; a note does not
  // hide a warning in the same column (a step's narration and the pitfall it shows).
  int last_note_x = -1000, last_warning_x = -1000;
  std::int32_t last_warning_lane = -1;
  const QFontMetrics fm(font());
  for (auto it = first; it != markers.end() && it->t_ns < s.t1(); ++it) {
    const int x = static_cast<int>(std::floor(s.x(it->t_ns)));
    if (it->lane < 0) {
      if (x == last_note_x) continue;
      last_note_x = x;
    } else {
      if (x == last_warning_x && it->lane == last_warning_lane) continue;
      last_warning_x = x;
      last_warning_lane = it->lane;
    }
    if (it->lane < 0) {
      p.setPen(QPen(palette().color(QPalette::Link), 1, Qt::DashLine));
      p.drawLine(x, l.axis.top(), x, plot.bottom());
      // The text runs to the next note's line (or the plot's edge), elided to fit; a note
      // with no room for a few letters shows its line only (its text is in the tooltip
      // of the log and in the event log).
      int next_x = plot.right();
      for (auto n = std::next(it); n != markers.end() && n->t_ns < s.t1(); ++n) {
        if (n->lane >= 0) continue;
        const int nx = static_cast<int>(std::floor(s.x(n->t_ns)));
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
                   palette().color(QPalette::Window));
        p.setPen(palette().color(QPalette::Link));
        p.drawText(x + 3, l.axis.top() + 11, text);
      }
    } else {
      const auto row = std::find(lanes.begin(), lanes.end(), static_cast<std::uint32_t>(it->lane));
      const int r = static_cast<int>(row - lanes.begin()) - m_firstRow;
      if (row == lanes.end() || r < 0 || r >= l.rows) continue;
      // A warning: a yellow triangle outlined in vermillion with a "!" at the lane's top,
      // a shape no readiness mark or action glyph has.
      const int y = plot.top() + r * kLaneHeight;
      p.save();
      p.setRenderHint(QPainter::Antialiasing, true);
      const QPointF tri[3] = {QPointF(x + 0.5, y + 1.5), QPointF(x - 5.5, y + 12.5), QPointF(x + 6.5, y + 12.5)};
      p.setPen(QPen(kVermillion, 1.5));
      p.setBrush(kWarningYellow);
      p.drawPolygon(tri, 3);
      p.setPen(QPen(Qt::black, 1.5));
      p.drawLine(QPointF(x + 0.5, y + 5), QPointF(x + 0.5, y + 8.5));
      p.drawPoint(QPointF(x + 0.5, y + 10.5));
      p.restore();
    }
  }
  // The selected record.
  if (m_selected) {
    if (const auto pos = recordPosition(*m_selected)) {
      const QColor hl = palette().color(QPalette::Highlight);
      p.setPen(QPen(hl, 1));
      p.drawLine(pos->x(), plot.top(), pos->x(), plot.bottom());
      p.setPen(QPen(hl, 2));
      p.setBrush(Qt::NoBrush);
      p.drawEllipse(*pos, 7, 7);
    }
  }
  // Drag: the range to zoom to, or the measurement.
  if (m_drag != Drag::none || m_measureShown) {
    const int xa = std::clamp(std::min(m_dragFrom.x(), m_dragTo.x()), plot.left(), plot.right());
    const int xb = std::clamp(std::max(m_dragFrom.x(), m_dragTo.x()), plot.left(), plot.right());
    QColor hl = palette().color(QPalette::Highlight);
    hl.setAlpha(60);
    p.fillRect(QRect(xa, plot.top(), xb - xa + 1, plot.height()), hl);
    p.setPen(palette().color(QPalette::Highlight));
    p.drawLine(xa, plot.top(), xa, plot.bottom());
    p.drawLine(xb, plot.top(), xb, plot.bottom());
    if (m_drag == Drag::measure || m_measureShown) {
      const std::uint64_t ta = s.time(xa);
      const std::uint64_t tb = s.time(xb);
      const auto n = m_store->range(ta, tb).size();
      const double dt = double(tb - ta);
      const QString text = QStringLiteral("Δt %1 · %2 records · %3/s")
                               .arg(durationText(dt))
                               .arg(n)
                               .arg(dt > 0 ? QString::number(double(n) * 1e9 / dt, 'g', 4) : QStringLiteral("-"));
      QRect box = fm.boundingRect(text).adjusted(-4, -2, 4, 2);
      box.moveTopLeft(QPoint(std::min(xb + 6, plot.right() - box.width()), plot.top() + 4));
      p.fillRect(box, palette().color(QPalette::ToolTipBase));
      p.setPen(palette().color(QPalette::ToolTipText));
      p.drawText(box, Qt::AlignCenter, text);
    }
  }
  p.restore();
}

void TimelineView::paintComparePins(QPainter& p, const Layout& l) {
  if (!m_index || m_index->pins().empty()) return;
  const auto lanes = visibleLanes();
  const QColor link = palette().color(QPalette::Link);
  p.save();
  p.setClipRect(l.labels);
  for (int row = 0; row + 1 < l.rows; ++row) {
    const std::size_t i = static_cast<std::size_t>(m_firstRow + row);
    if (i + 1 >= lanes.size()) break;
    const LanePin* pin = m_index->pin_starting_at(lanes[i]);
    if (!pin || lanes[i + 1] != m_index->lane_of(pin->right)) continue;
    const int y = l.plot.top() + row * kLaneHeight;
    // A bracket at the left of the label column spanning both lanes...
    p.setPen(QPen(link, 2));
    const int bx = l.area.left() + 3;
    p.drawLine(bx, y + 4, bx, y + 2 * kLaneHeight - 4);
    p.drawLine(bx, y + 4, bx + 4, y + 4);
    p.drawLine(bx, y + 2 * kLaneHeight - 4, bx + 4, y + 2 * kLaneHeight - 4);
    // ...and the label between the two lanes' labels, where the label column has a gap
    // (labels are centred in their lanes), so it never covers a mark.
    if (pin->label.isEmpty()) continue;
    QFont small = font();
    small.setPointSizeF(std::max(6.0, small.pointSizeF() * 0.85));
    small.setItalic(true);
    const QFontMetrics sm(small);
    const int tx = bx + 8;
    const QString text = sm.elidedText(pin->label, Qt::ElideRight, std::max(20, l.labels.right() - tx - 4));
    const QRect box(tx - 2, y + kLaneHeight - sm.height() / 2 - 1, sm.horizontalAdvance(text) + 4, sm.height() + 2);
    p.fillRect(box, palette().color(QPalette::Base));
    p.setFont(small);
    p.setPen(link);
    p.drawText(box, Qt::AlignCenter, text);
    p.setFont(font());
  }
  p.restore();
}

// ---- input ----

void TimelineView::wheelEvent(QWheelEvent* e) {
  const double notches = e->angleDelta().y() / 120.0;
  if (notches == 0) return;
  zoomAt(std::pow(kKeyZoom, notches), e->position().x());
  e->accept();
}

void TimelineView::keyPressEvent(QKeyEvent* e) {
  const Layout l = layoutFor(rect());
  const double at = m_mouse && l.plot.contains(*m_mouse) ? m_mouse->x() : l.plot.center().x();
  const int rows = std::max(1, l.rows - 1);
  switch (e->key()) {
    case Qt::Key_W:
      zoomAt(kKeyZoom, at);
      break;
    case Qt::Key_S:
      zoomAt(1 / kKeyZoom, at);
      break;
    case Qt::Key_A:
      panBy(-l.plot.width() / 5.0);
      break;
    case Qt::Key_D:
      panBy(l.plot.width() / 5.0);
      break;
    case Qt::Key_Backspace:
      zoomBack();
      break;
    case Qt::Key_0:
    case Qt::Key_Home:
      zoomReset();
      break;
    case Qt::Key_Space:
      setPaused(!m_paused);
      break;
    case Qt::Key_F:
      setFollowLive(!m_follow);
      break;
    case Qt::Key_Escape:
      m_measureShown = false;
      m_selected.reset();
      update();
      break;
    case Qt::Key_Up:
      m_firstRow = std::max(0, m_firstRow - 1);
      update();
      break;
    case Qt::Key_Down:
      ++m_firstRow;
      update();
      break;
    case Qt::Key_PageUp:
      m_firstRow = std::max(0, m_firstRow - rows);
      update();
      break;
    case Qt::Key_PageDown:
      m_firstRow += rows;
      update();
      break;
    default:
      QWidget::keyPressEvent(e);
      return;
  }
  e->accept();
}

void TimelineView::mousePressEvent(QMouseEvent* e) {
  if (e->button() != Qt::LeftButton || !plotRect().contains(e->position().toPoint())) {
    QWidget::mousePressEvent(e);
    return;
  }
  m_measureShown = false;
  m_drag = (e->modifiers() & Qt::ShiftModifier) ? Drag::measure : Drag::zoom;
  m_dragFrom = m_dragTo = e->position().toPoint();
  update();
}

void TimelineView::mouseMoveEvent(QMouseEvent* e) {
  m_mouse = e->position().toPoint();
  if (m_drag != Drag::none) {
    m_dragTo = *m_mouse;
    update();
  }
}

void TimelineView::mouseReleaseEvent(QMouseEvent* e) {
  if (m_drag == Drag::none || e->button() != Qt::LeftButton) {
    QWidget::mouseReleaseEvent(e);
    return;
  }
  const Drag drag = m_drag;
  m_drag = Drag::none;
  m_dragTo = e->position().toPoint();
  if (std::abs(m_dragTo.x() - m_dragFrom.x()) < 4) {
    // A click: select the record under it.
    if (const auto idx = recordAt(m_dragFrom)) {
      m_selected = idx;
      emit recordClicked(*idx);
    } else {
      m_selected.reset();
    }
    update();
    return;
  }
  if (drag == Drag::measure) {
    m_measureShown = true;
    update();
    return;
  }
  const Layout l = layoutFor(rect());
  const TimeScale s = scaleFor(l);
  const int xa = std::clamp(std::min(m_dragFrom.x(), m_dragTo.x()), l.plot.left(), l.plot.right() + 1);
  const int xb = std::clamp(std::max(m_dragFrom.x(), m_dragTo.x()), l.plot.left(), l.plot.right() + 1);
  m_zoom.push(m_view);
  applyView({s.time(xa), s.time(xb)}, true);
}

void TimelineView::leaveEvent(QEvent* e) {
  m_mouse.reset();
  QWidget::leaveEvent(e);
}

bool TimelineView::event(QEvent* e) {
  if (e->type() == QEvent::ToolTip) {
    auto* he = static_cast<QHelpEvent*>(e);
    if (const TimelineMarker* w = warningAt(he->pos())) {
      QToolTip::showText(he->globalPos(),
                         QStringLiteral("t = %1  (record %2)\nwarning: %3\n(the Warnings list links the lesson that explains it)")
                             .arg(durationText(double(w->t_ns)))
                             .arg(w->index)
                             .arg(m_store && w->index >= m_store->begin_index() && w->index < m_store->end_index()
                                      ? warning_text(m_store->at(w->index))
                                      : w->text),
                         this);
    } else if (const auto idx = recordAt(he->pos()))
      QToolTip::showText(he->globalPos(), describeRecord(*idx), this);
    else
      QToolTip::hideText();
    return true;
  }
  return QWidget::event(e);
}

void TimelineView::changeEvent(QEvent* e) {
  if (e->type() == QEvent::PaletteChange) {
    m_flagGlyphs[0] = QImage();  // glyphs use palette colours: rebuild
    update();
  }
  QWidget::changeEvent(e);
}

}  // namespace ready::ui
