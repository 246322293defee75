#include "timeline/timelineview.h"

#include <QContextMenuEvent>
#include <QFontMetrics>
#include <QHelpEvent>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QScrollBar>
#include <QPainter>
#include <QStringList>
#include <QToolTip>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>

#include "models/bookmarks.h"
#include "models/record_format.h"
#include "timeline/timeline_decorations.h"
#include "timeline/timeline_hits.h"

namespace ready::ui {

using capture::ReadinessFlag;
using capture::Record;
using capture::RecordKind;

TimelineView::TimelineView(QWidget* parent) : QWidget(parent) {
  setFocusPolicy(Qt::StrongFocus);
  setMouseTracking(true);
  setAttribute(Qt::WA_OpaquePaintEvent);
  setMinimumSize(320, 160);
  m_vbar = new QScrollBar(Qt::Vertical, this);
  m_vbar->setObjectName(QStringLiteral("laneScrollBar"));
  m_vbar->hide();
  connect(m_vbar, &QScrollBar::valueChanged, this, [this](int row) {
    if (row == m_firstRow) return;
    m_firstRow = row;
    update();
  });
}

QRect TimelineView::contentRect() const {
  // The lane scroll bar takes the right edge while it is shown (more lanes than rows).
  return m_vbar->isVisible() ? rect().adjusted(0, 0, -m_vbar->width(), 0) : rect();
}

void TimelineView::syncScrollBar() {
  const auto lanes = visibleLanes();
  const int rows_full = std::max(1, layoutFor(rect()).rows);
  const int count = static_cast<int>(lanes.size());
  const bool needed = count > rows_full;
  if (needed != m_vbar->isVisible()) m_vbar->setVisible(needed);
  if (!needed) return;
  const TimelineLayout l = layoutFor(contentRect());
  const int rows = std::max(1, l.rows);
  const int first = clamp_first_row(m_firstRow, lanes.size());
  const QSignalBlocker block(m_vbar);
  m_vbar->setGeometry(width() - m_vbar->sizeHint().width(), l.plot.top(), m_vbar->sizeHint().width(),
                      std::max(0, height() - l.plot.top()));
  m_vbar->setRange(0, std::max(0, count - rows));
  m_vbar->setPageStep(rows);
  m_vbar->setSingleStep(1);
  m_vbar->setValue(first);
}

void TimelineView::scrollRows(int delta) {
  m_firstRow = std::max(0, m_firstRow + delta);
  update();
}

TimelineView::~TimelineView() = default;

QColor TimelineView::flagColor(ReadinessFlag f) { return readiness_colour(f); }

QString TimelineView::flagName(ReadinessFlag f) { return readiness_name(f); }

QString TimelineView::durationText(double ns) { return duration_text(ns); }

void TimelineView::setData(const capture::RecordStore* store, const LaneIndex* index) {
  m_store = store;
  m_index = index;
  m_filterDirty = true;
  m_selected.reset();
  m_playHead.reset();
  m_firstRow = 0;
  m_zoom = ZoomStack(dataWindow());
  m_fullRange = true;
  applyView(dataWindow(), false);
  update();
}

void TimelineView::setLabeler(std::function<QString(std::uint64_t)> labeler) {
  m_labeler = std::move(labeler);
  m_filterDirty = true;
  update();
}

void TimelineView::setGroupCollapsed(std::uint32_t group, bool collapsed) {
  if (collapsed ? !m_collapsed.insert(group).second : m_collapsed.erase(group) == 0) return;
  m_firstRow = 0;
  update();
}

std::optional<std::uint32_t> TimelineView::groupOf(std::uint64_t token) const {
  if (!m_index) return std::nullopt;
  const auto id = m_index->lane_of(token);
  if (!id) return std::nullopt;
  const std::uint32_t group = m_index->lane(*id).group;
  std::size_t n = 0;
  for (std::uint32_t other : m_index->order())
    if (!m_index->lane(other).is_poll && m_index->lane(other).group == group) ++n;
  return n > 1 ? std::optional(group) : std::nullopt;
}

void TimelineView::mouseDoubleClickEvent(QMouseEvent* e) {
  const TimelineLayout l = layoutFor(contentRect());
  const QPoint pos = e->position().toPoint();
  if (m_index && l.labels.contains(pos)) {
    if (const auto lane = laneAt(pos.y()); lane && !m_index->lane(*lane).is_poll) {
      if (const auto g = groupOf(m_index->lane(*lane).token)) {
        setGroupCollapsed(*g, !isGroupCollapsed(*g));
        e->accept();
        return;
      }
    }
  }
  QWidget::mouseDoubleClickEvent(e);
}

void TimelineView::setFollowLive(bool on) {
  if (m_follow == on) return;
  m_follow = on;
  if (on && !m_paused) {
    if (m_view.span() >= dataWindow().span()) m_fullRange = true;
    applyView(followedWindow(), false);
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

TimeWindow TimelineView::followedWindow() const {
  const TimeWindow d = dataWindow();
  if (m_anchor && m_anchorEnd) return anchored_window({*m_anchor, *m_anchorEnd}, *m_anchor);
  if (m_anchor) return anchored_window(d, *m_anchor);
  return live_window(d, m_view, m_fullRange);
}

void TimelineView::followSpan(std::uint64_t t0, std::uint64_t t1) {
  followFrom(t0);
  m_anchorEnd = std::max(t1, t0 + 1);
  if (!m_paused) applyView(followedWindow(), false);
}

void TimelineView::followFrom(std::optional<std::uint64_t> t0) {
  m_anchor = t0;
  m_anchorEnd.reset();
  if (!t0) return;
  m_fullRange = false;
  if (!m_follow) {
    m_follow = true;
    emit followLiveChanged(true);
  }
  if (!m_paused) applyView(followedWindow(), false);
}

void TimelineView::applyView(TimeWindow w, bool by_hand) {
  if (by_hand) {
    m_anchor.reset();
    m_anchorEnd.reset();
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
  const TimelineLayout l = layoutFor(contentRect());
  const TimeWindow d = dataWindow();
  applyView(scaleFor(l).zoomed(factor, x).clamped(d.t0, d.t1).window(), true);
}

void TimelineView::panBy(double dx) {
  const TimelineLayout l = layoutFor(contentRect());
  const TimeWindow d = dataWindow();
  applyView(scaleFor(l).panned(dx).clamped(d.t0, d.t1).window(), true);
}

void TimelineView::onFrame(std::uint64_t, std::uint64_t, std::uint64_t) {
  if (m_paused) return;
  m_zoom.set_full(dataWindow());
  if (m_follow) applyView(followedWindow(), false);
  if (m_selected && m_store && *m_selected < m_store->begin_index()) m_selected.reset();
  if (m_playHead && m_store && *m_playHead < m_store->begin_index()) m_playHead.reset();
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
  if (t < m_view.t0 || t >= m_view.t1) applyView(centred_on(m_view, t), true);
  update();
}

void TimelineView::setPlayHead(std::optional<std::uint64_t> index) {
  if (index && (!m_store || *index < m_store->begin_index() || *index >= m_store->end_index())) index.reset();
  m_playHead = index;
  if (index) {
    const std::uint64_t t = m_store->time_at(*index);
    const std::uint64_t span = m_view.span(), margin = span / 10;
    if (t >= m_view.t1) {
      const std::uint64_t t0 = t > margin ? t - margin : 0;
      applyView({t0, t0 + span}, true);
    } else if (t < m_view.t0) {
      const std::uint64_t t0 = t > span - margin ? t - (span - margin) : 0;
      applyView({t0, t0 + span}, true);
    }
  }
  update();
}

void TimelineView::setEmptyHint(const QString& hint) {
  m_emptyHint = hint;
  update();
}

bool TimelineView::showsEmptyHint() const {
  if (m_emptyHint.isEmpty()) return false;
  if (!m_index) return true;
  const auto& order = m_index->order();
  return std::none_of(order.begin(), order.end(),
                      [this](std::uint32_t id) { return !m_index->lane(id).is_poll; });
}

int TimelineView::legendRows(int width) const { return legend_plan_for(font(), width).rows; }

// ---- geometry ----

TimelineLayout TimelineView::layoutFor(const QRect& area) const {
  int widest = 0;
  if (m_index) {
    const QFontMetrics fm(font());
    const auto& order = m_index->order();
    // The first 256 lanes decide (a capture with thousands of streams keeps its paint cost).
    for (std::size_t i = 0; i < std::min<std::size_t>(order.size(), 256); ++i) {
      const TimelineLane& lane = m_index->lane(order[i]);
      if (lane.gone) continue;
      widest =
          std::max(widest, lane_label_extent(fm.horizontalAdvance(lane_label(lane, m_labeler)), lane.depth));
    }
  }
  return timeline_layout(area, label_column_width(widest, area.width()), legendRows(area.width()));
}

TimeScale TimelineView::scaleFor(const TimelineLayout& l) const {
  return {m_view, double(l.plot.left()), double(l.plot.width())};
}

void TimelineView::setLaneFilter(const QString& text) {
  const QString t = text.trimmed();
  if (t == m_laneFilter) return;
  m_laneFilter = t;
  m_filterDirty = true;
  m_firstRow = 0;
  update();
}

std::vector<std::uint32_t> TimelineView::visibleLanes() const {
  std::vector<std::uint32_t> out;
  if (!m_index) return out;
  const std::vector<std::uint32_t>* lanes = &m_index->order();
  if (!m_laneFilter.isEmpty()) {
    if (m_filterDirty || m_filteredLanes != m_index->lanes().size() || m_filteredOrder != lanes->size()) {
      const QStringList words = m_laneFilter.split(QLatin1Char(' '), Qt::SkipEmptyParts);
      m_filtered.clear();
      for (std::uint32_t id : *lanes) {
        const TimelineLane& lane = m_index->lane(id);
        bool keep = lane.is_poll;
        if (!keep) {
          QString text = lane_label(lane, m_labeler);
          text += QStringLiteral(" #%1").arg(lane.token);
          if (lane.kind) text += QLatin1Char(' ') + QString::fromUtf8(to_string(*lane.kind));
          keep = std::all_of(words.begin(), words.end(),
                             [&text](const QString& w) { return text.contains(w, Qt::CaseInsensitive); });
        }
        if (keep) m_filtered.push_back(id);
      }
      m_filteredLanes = m_index->lanes().size();
      m_filteredOrder = lanes->size();
      m_filterDirty = false;
    }
    lanes = &m_filtered;
  }
  out.reserve(lanes->size());
  m_hiddenIn.clear();
  std::set<std::uint32_t> seen;  // collapsed groups whose first lane is out
  for (std::uint32_t id : *lanes) {
    const TimelineLane& lane = m_index->lane(id);
    // While paused, lanes created after the pause are not shown yet.
    if (m_paused && !lane.is_poll && lane.added_ns >= m_pausedData.t1) continue;
    if (!lane.is_poll && m_collapsed.contains(lane.group) && !seen.insert(lane.group).second) {
      ++m_hiddenIn[lane.group];
      continue;
    }
    out.push_back(id);
  }
  return out;
}

std::optional<std::uint32_t> TimelineView::laneAt(int y) const {
  const TimelineLayout l = layoutFor(contentRect());
  const auto lanes = visibleLanes();
  return rowsFor(lanes, l).lane_at(y);
}

// ---- hit testing ----

std::optional<std::uint64_t> TimelineView::recordAt(QPoint pos) const {
  if (!m_store || !m_index) return std::nullopt;
  const TimelineLayout l = layoutFor(contentRect());
  if (!l.plot.contains(pos)) return std::nullopt;
  const auto lanes = visibleLanes();
  const LaneRows rows = rowsFor(lanes, l);
  const auto lane = rows.lane_at(pos.y());
  if (!lane) return std::nullopt;
  return nearest_record(*m_store, m_index->lane(*lane), scaleFor(l), pos.x(),
                        points_at_actions(rows.within(pos.y())));
}

const TimelineMarker* TimelineView::warningAt(QPoint pos) const {
  if (!m_index) return nullptr;
  const TimelineLayout l = layoutFor(contentRect());
  if (!l.plot.contains(pos)) return nullptr;
  const auto lanes = visibleLanes();
  const LaneRows rows = rowsFor(lanes, l);
  const auto lane = rows.lane_at(pos.y());
  if (!lane || !points_at_warning(rows.within(pos.y()))) return nullptr;
  return warning_near(m_index->markers(), *lane, scaleFor(l), pos.x());
}

std::optional<QPoint> TimelineView::recordPosition(std::uint64_t index) const {
  if (!m_store || !m_index || index < m_store->begin_index() || index >= m_store->end_index())
    return std::nullopt;
  const Record r = m_store->at(index);
  // The poll loop's records are on lane 0.
  const auto lane =
      r.kind == RecordKind::poll_return ? std::optional<std::uint32_t>(0) : m_index->lane_of(r.token);
  if (!lane) return std::nullopt;
  const TimelineLayout l = layoutFor(contentRect());
  const auto lanes = visibleLanes();
  const LaneRows rows = rowsFor(lanes, l);
  const auto row = rows.row_of(*lane);
  if (!row || *row < 0 || r.t_ns < m_view.t0 || r.t_ns >= m_view.t1) return std::nullopt;
  const QPoint p(column_of(scaleFor(l), r.t_ns), rows.top(*row) + record_row(r.kind));
  if (!l.plot.contains(p)) return std::nullopt;
  return p;
}

void TimelineView::contextMenuEvent(QContextMenuEvent* e) {
  const auto lane = laneAt(e->pos().y());
  const TimelineLayout l = layoutFor(contentRect());
  if (m_index && m_store && l.plot.contains(e->pos())) {
    const TimeScale s = scaleFor(l);
    TimelineMenuContext c;
    c.t_ns = s.time(e->pos().x());
    if (lane && !m_index->lane(*lane).is_poll) c.token = m_index->lane(*lane).token;
    c.record = recordAt(e->pos());
    if (m_measureShown) {
      const int xa = std::min(m_dragFrom.x(), m_dragTo.x()), xb = std::max(m_dragFrom.x(), m_dragTo.x());
      if (e->pos().x() >= xa && e->pos().x() <= xb) c.range = TimeWindow{s.time(xa), s.time(xb)};
    }
    emit menuRequested(c, e->globalPos());
    e->accept();
    return;
  }
  if (!lane || !m_index || m_index->lane(*lane).is_poll) {
    QWidget::contextMenuEvent(e);
    return;
  }
  emit laneMenuRequested(m_index->lane(*lane).token, e->globalPos());
  e->accept();
}

void TimelineView::setBookmarks(const Bookmarks* bookmarks) {
  m_bookmarks = bookmarks;
  update();
}

QString TimelineView::interestTipAt(QPoint pos) const {
  if (!m_store || !m_index) return {};
  const TimelineLayout l = layoutFor(contentRect());
  if (!l.plot.contains(pos)) return {};
  const auto lanes = visibleLanes();
  const LaneRows rows = rowsFor(lanes, l);
  const auto lane = rows.lane_at(pos.y());
  const int within = rows.within(pos.y());
  if (!lane || m_index->lane(*lane).is_poll || within < kBandTop - 1 || within > kBandTop + kBandHeight) return {};
  const std::uint64_t t = scaleFor(l).time(pos.x());
  const InterestSpan* span = m_index->interest_at(*lane, t);
  if (!span) return {};
  const auto bits = capture::SourceBits::unpack(span->bits);
  QString tip = lane_label(m_index->lane(*lane), m_labeler) + QLatin1Char('\n') +
                QStringLiteral("interest: %1 since %2").arg(source_bits_text(bits), format_time_ns(span->t0));
  if (bits.paused)
    tip += QStringLiteral(
        "\npaused: registered for no event; the relay stopped reading this leg because the other "
        "leg has not taken what it holds yet (back-pressure)");
  else if (!span->armed)
    tip += QStringLiteral("\ndisarmed (oneshot): no event until a rearm");
  return tip;
}

QString TimelineView::queueTipAt(QPoint pos) const {
  if (!m_index) return {};
  const TimelineLayout l = layoutFor(rect());
  if (!l.plot.contains(pos)) return {};
  const auto lanes = visibleLanes();
  const auto lane = rowsFor(lanes, l).lane_at(pos.y());
  if (!lane) return {};
  return describe_queue(*m_index, *lane, scaleFor(l).time(pos.x()), m_labeler);
}

QString TimelineView::describeRecord(std::uint64_t index) const {
  if (!m_store || !m_index) return {};
  return describe_record(*m_store, *m_index, index, m_labeler);
}

// ---- painting ----

void TimelineView::paintEvent(QPaintEvent*) {
  syncScrollBar();
  QPainter p(this);
  render(p, contentRect());
}

void TimelineView::render(QPainter& p, const QRect& area) {
  m_glyphs.ensure(palette(), raster_scale(p));
  const TimelineLayout l = layoutFor(area);
  const TimeScale s = scaleFor(l);
  const auto lanes = visibleLanes();
  if (m_index && m_store) m_firstRow = clamp_first_row(m_firstRow, lanes.size());
  const LaneRows rows = rowsFor(lanes, l);
  p.save();
  p.setClipRect(area);
  p.setRenderHint(QPainter::Antialiasing, false);
  // The plot is painted opaque by the lane painter; only the label column needs a background.
  p.fillRect(QRect(l.area.left(), l.labels.top(), l.labels.width(), l.labels.height()),
             palette().color(QPalette::Base));
  paint_legend(p, l, m_glyphs, palette(), font(), m_paused, m_follow);
  paint_axis(p, l, s, palette());
  m_shownLabeler = [this](std::uint64_t token) {
    QString label = m_labeler ? m_labeler(token) : QString();
    const auto id = m_index ? m_index->lane_of(token) : std::nullopt;
    if (!id) return label;
    if (label.isEmpty()) label = lane_label(m_index->lane(*id), {});
    const auto hidden = m_hiddenIn.find(m_index->lane(*id).group);
    return hidden == m_hiddenIn.end() ? label : QStringLiteral("%1  [+%2]").arg(label).arg(hidden->second);
  };
  m_lanes.paint(p, LaneFrame{m_store, m_index, l, s, lanes, m_firstRow, m_shownLabeler}, m_glyphs, palette(),
                font());
  paintOverlays(p, l, s, rows);
  if (m_index) paint_compare_brackets(p, l, lanes, m_firstRow, *m_index, palette(), font());
  if (showsEmptyHint()) paint_empty_hint(p, l, m_emptyHint, palette(), font());
  p.restore();
}

void TimelineView::paintOverlays(QPainter& p, const TimelineLayout& l, const TimeScale& s,
                                 const LaneRows& rows) {
  if (!m_index || !m_store) return;
  const QRect& plot = l.plot;
  p.save();
  p.setClipRect(QRect(plot.left(), l.axis.top(), plot.width(), plot.bottom() - l.axis.top() + 1));
  paint_markers(p, l, s, m_index->markers(), rows, palette(), font());
  if (m_selected) {
    if (const auto pos = recordPosition(*m_selected)) paint_selection(p, plot, *pos, palette());
  }
  if (m_playHead && *m_playHead >= m_store->begin_index() && *m_playHead < m_store->end_index()) {
    const std::uint64_t t = m_store->time_at(*m_playHead);
    if (t >= m_view.t0 && t < m_view.t1) paint_play_head(p, l, column_of(s, t), palette());
  }
  if (m_bookmarks) paint_bookmarks(p, l, s, m_bookmarks->all(), palette(), font());
  if (m_drag != Drag::none || m_measureShown)
    paint_range(p, plot, s, m_dragFrom.x(), m_dragTo.x(), m_drag == Drag::measure || m_measureShown, *m_store,
                palette(), font());
  p.restore();
}

// ---- input ----

void TimelineView::wheelEvent(QWheelEvent* e) {
  const double notches = e->angleDelta().y() / 120.0;
  if (notches == 0) return;
  if (e->modifiers() & Qt::ControlModifier) {
    zoomAt(std::pow(kKeyZoom, notches), e->position().x());
  } else {
    // A notch scrolls the lanes by kWheelRows (a touchpad's fractions add up to whole rows).
    m_wheelRows += -notches * kWheelRows;
    const int rows = static_cast<int>(m_wheelRows);
    m_wheelRows -= rows;
    if (rows != 0) scrollRows(rows);
  }
  e->accept();
}

void TimelineView::keyPressEvent(QKeyEvent* e) {
  const TimelineLayout l = layoutFor(contentRect());
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
      scrollRows(-1);
      break;
    case Qt::Key_Down:
      scrollRows(1);
      break;
    case Qt::Key_PageUp:
      scrollRows(-rows);
      break;
    case Qt::Key_PageDown:
      scrollRows(rows);
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
  const TimelineLayout l = layoutFor(contentRect());
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
    if (const TimelineMarker* w = warningAt(he->pos()))
      QToolTip::showText(he->globalPos(), describe_warning(m_store, *w), this);
    else if (const auto idx = recordAt(he->pos()))
      QToolTip::showText(he->globalPos(), describeRecord(*idx), this);
    else if (const QString tip = interestTipAt(he->pos()); !tip.isEmpty())
      QToolTip::showText(he->globalPos(), tip, this);
    else if (const QString q = queueTipAt(he->pos()); !q.isEmpty())
      QToolTip::showText(he->globalPos(), q, this);
    else
      QToolTip::hideText();
    return true;
  }
  return QWidget::event(e);
}

void TimelineView::changeEvent(QEvent* e) {
  if (e->type() == QEvent::PaletteChange) {
    m_glyphs.invalidate();  // action glyphs use palette colours: rebuild
    update();
  }
  QWidget::changeEvent(e);
}

}  // namespace ready::ui
