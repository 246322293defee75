// The timeline: one lane per source (plus the poll loop), custom-painted from LaneIndex.
// This widget holds the view's state and wires input, zoom and scrolling to the parts that
// do the work: timeline_geometry (where things go), lane_painter (the lanes),
// timeline_decorations (legend, axis, notes, brackets, selection) and timeline_hits (what is
// under the pointer, and its tooltip).
#pragma once

#include <QWidget>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <optional>
#include <vector>

#include "ready/capture/record.h"
#include "ready/capture/store.h"
#include "timeline/lane_painter.h"
#include "timeline/laneindex.h"
#include "timeline/timeline_geometry.h"
#include "timeline/timescale.h"

class QScrollBar;

namespace ready::ui {

class Bookmarks;

/// What a right click on the plot was on (TimelineView::menuRequested).
struct TimelineMenuContext {
  std::uint64_t t_ns = 0;                ///< the time under the pointer
  std::optional<std::uint64_t> token;    ///< the source lane under it (none on the poll lane)
  std::optional<std::uint64_t> record;   ///< the record under it (store index)
  std::optional<TimeWindow> range;       ///< the measured range, when the click is inside it
};

/// The timeline widget: lanes (the poll loop first, then sources in LaneIndex::order()),
/// a legend and a time axis, painted by hand (Qt Charts cannot draw millions of marks).
///
/// Each source lane shows its lifetime (shaded from source_added to source_removed), its
/// readiness marks (one fixed Okabe-Ito colour and shape per ReadinessFlag, see
/// `flagColor`), under them the interest band (interest + trigger in force; hatched while a
/// oneshot registration is disarmed) and below that the action ticks (a glyph per
/// ActionGlyph). Where marks are sparse (on average 8 px apart or more) every mark is drawn
/// as its shape; denser, each pixel column shows one 2-px stripe per kind present, shaded
/// by how many records fell in it (so a paint costs O(pixels), see LaneIndex). The poll lane
/// shows the time blocked in epoll_wait (bars from the top) and each return's events (ticks
/// from the bottom, height by log2 of the events carried).
///
/// Navigation: wheel = scroll lanes (kWheelRows a notch; a scroll bar at the right when the
/// lanes do not fit); Ctrl+wheel = zoom at the cursor; W / S zoom in / out (at the cursor when it is over
/// the lanes, else at the centre) by `kKeyZoom`; A / D pan by a fifth of the width; drag =
/// zoom to the range dragged (pushed on the zoom stack); Backspace = back; 0 / Home = the
/// whole capture; Shift+drag = measure (Δt, records in the range and their rate); Space =
/// pause (the view freezes, capture goes on); F = follow live; Up / Down / PgUp / PgDn
/// scroll lanes. Any zoom or pan by hand stops following live. Following live keeps the
/// span (or the whole capture, after a reset) and puts the newest record 1/32 of the width
/// left of the right edge. Hover shows the record under
/// the cursor; a click selects it and emits recordClicked. The replay head, when set, is a
/// magenta line with a handle on the axis (setPlayHead).
///
/// The legend takes one row, or two when the width cannot hold every key beside the live /
/// paused state (the readiness kinds stay on the first row; the interest key is left out
/// when even two rows are too narrow). Note texts on the axis are cut short where the next
/// note starts, so close notes never print over each other.
///
/// Warnings are a yellow triangle with "!" at the top of their source's lane (a warning about
/// no known source is a dashed line like a note). Two lanes pinned side by side for compare
/// mode (LaneIndex::pin_adjacent) get a bracket over their labels and, between the two labels,
/// their pin's label in small italics (in the label column: it never covers a mark).
///
/// With an empty-state hint set (setEmptyHint) and no source lane yet, the plot shows that
/// hint centred: how to create the first source.
///
/// Colours come from the palette (and repaint on a palette change) except the fixed legend
/// colours of readiness kinds and the error glyph.
class TimelineView : public QWidget {
  Q_OBJECT

 public:
  /// Zoom factor of one W / S press (and one Ctrl+wheel notch).
  static constexpr double kKeyZoom = 1.5;
  /// Lanes scrolled by one wheel notch.
  static constexpr double kWheelRows = 3;
  static constexpr int kLaneHeight = ready::ui::kLaneHeight;
  static constexpr int kLegendHeight = ready::ui::kLegendHeight;
  static constexpr int kAxisHeight = ready::ui::kAxisHeight;

  explicit TimelineView(QWidget* parent = nullptr);
  ~TimelineView() override;

  /// What to draw (not owned; both must outlive the view or be replaced). Shows everything.
  void setData(const capture::RecordStore* store, const LaneIndex* index);
  /// Lane labels ("#3 tcp_stream 127.0.0.1:5000"); default "#token kind fd N".
  void setLabeler(std::function<QString(std::uint64_t token)> labeler);

  void setFollowLive(bool on);
  [[nodiscard]] bool followLive() const noexcept { return m_follow; }
  /// While paused the view ignores new frames (it still pans and zooms over what it had).
  void setPaused(bool on);
  [[nodiscard]] bool isPaused() const noexcept { return m_paused; }

  /// Pops the zoom stack (Backspace); no-op when empty.
  void zoomBack();
  /// The whole capture (0 / Home); forgets the zoom stack.
  void zoomReset();
  /// Follows live from `t0` on: the view is [t0, newest + 1/32) and grows with the capture,
  /// so what happened since t0 fills the width (a lesson's step as it runs). nullopt ends it;
  /// so does any zoom or pan by hand.
  void followFrom(std::optional<std::uint64_t> t0);
  /// Shows [t0, t1) plus 1/32 and keeps it while frames come (a lesson step's span: records
  /// that come later, such as the poll thread's idle returns, do not widen it); any zoom or
  /// pan by hand ends it, as does followFrom.
  void followSpan(std::uint64_t t0, std::uint64_t t1);
  [[nodiscard]] std::optional<std::uint64_t> followedFrom() const noexcept { return m_anchor; }
  /// The first lane row shown (scrolled by the wheel, the keys and the scroll bar).
  [[nodiscard]] int firstRow() const noexcept { return m_firstRow; }
  /// The lane scroll bar (shown when the lanes do not fit).
  [[nodiscard]] QScrollBar* laneScrollBar() const noexcept { return m_vbar; }
  /// Shows [t0, t1) (stops following live). Emits viewChanged if it changed.
  void setView(std::uint64_t t0, std::uint64_t t1);
  [[nodiscard]] TimeWindow view() const noexcept { return m_view; }
  [[nodiscard]] const ZoomStack& zoomStack() const noexcept { return m_zoom; }

  /// Highlights the record at global index `index` and, if it is out of view, centres it
  /// (same span). Unknown indices clear the selection.
  void selectRecord(std::uint64_t index);
  [[nodiscard]] std::optional<std::uint64_t> selectedRecord() const noexcept { return m_selected; }

  /// The replay head (see PlayHead) at the record at global index `index`, drawn as a line
  /// through the lanes at its time with a handle on the axis (nullopt: none). When its time
  /// is out of view the view moves, keeping its span, so that the head is a tenth of the
  /// span inside the edge it left by (playing forward it lands near the left edge and has
  /// the width to run through). Costs O(1) besides the repaint.
  void setPlayHead(std::optional<std::uint64_t> index);
  [[nodiscard]] std::optional<std::uint64_t> playHead() const noexcept { return m_playHead; }

  /// Shows only the lanes whose label (the labeler's text, with the token and kind) contains
  /// `text`, case-insensitively; several words separated by spaces must all match. Empty shows
  /// every lane. The poll lane always stays. The matching lanes are found once per filter and
  /// again only when lanes are added or removed (O(lanes) then, a label each), not per frame.
  void setLaneFilter(const QString& text);
  [[nodiscard]] QString laneFilter() const { return m_laneFilter; }
  /// Lanes shown now (the poll lane included), after the filter and pause.
  [[nodiscard]] std::size_t shownLaneCount() const { return visibleLanes().size(); }

  /// What the interest band at `pos` says (the lane, the interest in force there and since
  /// when; "paused" for a leg held back by back-pressure), or "" when `pos` is not on a band.
  [[nodiscard]] QString interestTipAt(QPoint pos) const;
  /// What the queue band of the lane at `pos` says at that time (bytes readable and unsent),
  /// or "" when the lane has no queue records (describe_queue).
  [[nodiscard]] QString queueTipAt(QPoint pos) const;

  /// Collapses (or expands) a lane group: only its first lane stays, its label followed by
  /// "[+N]" (the lanes hidden). Double-clicking a label toggles its group; so does the
  /// label's context menu. The filter and the collapse combine.
  void setGroupCollapsed(std::uint32_t group, bool collapsed);
  [[nodiscard]] bool isGroupCollapsed(std::uint32_t group) const { return m_collapsed.contains(group); }
  /// The group of a source's lane, if it has a lane in a group of more than one lane.
  [[nodiscard]] std::optional<std::uint32_t> groupOf(std::uint64_t token) const;

  /// Bookmarks drawn on the axis and through the lanes (not owned; null: none).
  void setBookmarks(const Bookmarks* bookmarks);

  /// Text shown in the plot while there is no source lane (lines separated by '\n'); empty
  /// (the default) shows nothing. The window uses it to tell a new user how to start.
  void setEmptyHint(const QString& hint);
  [[nodiscard]] QString emptyHint() const { return m_emptyHint; }
  /// True while the hint is painted: a hint is set and no source lane exists.
  [[nodiscard]] bool showsEmptyHint() const;
  /// Legend rows (1 or 2) a view of width `width` uses.
  [[nodiscard]] int legendRows(int width) const;

  /// Paints lanes, legend and time axis into `area` of any painter (the app's --png too).
  void render(QPainter& p, const QRect& area);

  /// The lane raster of the last paint (device pixels: the plot's size times the paint
  /// device's pixel ratio, see LanePainter) and the glyphs drawn on it.
  [[nodiscard]] const QImage& laneRaster() const noexcept { return m_lanes.raster(); }
  [[nodiscard]] const TimelineGlyphs& glyphs() const noexcept { return m_glyphs; }
  /// The lanes' plot area (right of the labels, below the axis) in widget coordinates.
  [[nodiscard]] QRect plotRect() const { return layoutFor(rect()).plot; }
  /// The widget point where the record at `index` is drawn, if it is in view.
  [[nodiscard]] std::optional<QPoint> recordPosition(std::uint64_t index) const;
  /// The record nearest to `pos` (within a few pixels, same lane), if any.
  [[nodiscard]] std::optional<std::uint64_t> recordAt(QPoint pos) const;
  /// The warning mark under `pos` (a lane's warning, within a few pixels), if any; its
  /// tooltip is the warning in words.
  [[nodiscard]] const TimelineMarker* warningAt(QPoint pos) const;
  /// The lane drawn at widget y, if any.
  [[nodiscard]] std::optional<std::uint32_t> laneAt(int y) const;

  /// The text the hover tooltip shows for a record, in the event log's words: time, lane,
  /// what and result, the log's detail, and for a readiness record the interest in force and
  /// the action that followed (see describe_record).
  [[nodiscard]] QString describeRecord(std::uint64_t index) const;

  /// The fixed colour (Okabe-Ito) of a readiness kind.
  [[nodiscard]] static QColor flagColor(capture::ReadinessFlag f);
  /// The legend's name of a kind ("readable", ...).
  [[nodiscard]] static QString flagName(capture::ReadinessFlag f);
  /// Duration text with a sensible unit ("250 ns", "1.5 µs", "12.25 ms", "3 s").
  [[nodiscard]] static QString durationText(double ns);

 public slots:
  /// Connect to Bridge::frame: repaints (unless paused) and follows the newest records.
  void onFrame(std::uint64_t begin, std::uint64_t end, std::uint64_t evicted_to);

 signals:
  void recordClicked(std::uint64_t index);
  /// A right click on a source's label (its token) at `global` (screen coordinates).
  void laneMenuRequested(std::uint64_t token, QPoint global);
  /// A right click on the plot: what is under the pointer, at `global`.
  void menuRequested(const ready::ui::TimelineMenuContext& context, QPoint global);
  void viewChanged(std::uint64_t t0, std::uint64_t t1);
  void followLiveChanged(bool on);

 protected:
  void paintEvent(QPaintEvent* e) override;
  void wheelEvent(QWheelEvent* e) override;
  void keyPressEvent(QKeyEvent* e) override;
  void mousePressEvent(QMouseEvent* e) override;
  void mouseMoveEvent(QMouseEvent* e) override;
  void mouseReleaseEvent(QMouseEvent* e) override;
  void mouseDoubleClickEvent(QMouseEvent* e) override;
  void leaveEvent(QEvent* e) override;
  void contextMenuEvent(QContextMenuEvent* e) override;
  bool event(QEvent* e) override;
  void changeEvent(QEvent* e) override;

 private:
  enum class Drag { none, zoom, measure };

  [[nodiscard]] TimelineLayout layoutFor(const QRect& area) const;
  [[nodiscard]] TimeScale scaleFor(const TimelineLayout& l) const;
  [[nodiscard]] LaneRows rowsFor(const std::vector<std::uint32_t>& lanes, const TimelineLayout& l) const {
    return {lanes, m_firstRow, l.plot.top(), l.plot.bottom()};
  }
  // LaneRows views the list: it must outlive the rows.
  LaneRows rowsFor(std::vector<std::uint32_t>&&, const TimelineLayout&) const = delete;
  [[nodiscard]] TimeWindow dataWindow() const;
  [[nodiscard]] std::vector<std::uint32_t> visibleLanes() const;
  void applyView(TimeWindow w, bool by_hand);
  [[nodiscard]] TimeWindow followedWindow() const;
  [[nodiscard]] QRect contentRect() const;
  void syncScrollBar();
  void scrollRows(int delta);
  void zoomAt(double factor, double x);
  void panBy(double dx);
  void paintOverlays(QPainter& p, const TimelineLayout& l, const TimeScale& s, const LaneRows& rows);

  const capture::RecordStore* m_store = nullptr;
  const LaneIndex* m_index = nullptr;
  std::function<QString(std::uint64_t)> m_labeler;
  QString m_laneFilter;
  // The lanes matching m_laneFilter, and what they were computed from.
  mutable std::vector<std::uint32_t> m_filtered;
  mutable std::size_t m_filteredLanes = 0, m_filteredOrder = 0;
  mutable bool m_filterDirty = true;
  QString m_emptyHint;
  TimeWindow m_view{0, 1'000'000'000};
  bool m_fullRange = true;  // the view is the whole capture (and grows with it)
  std::optional<std::uint64_t> m_anchor;     // followFrom, followSpan
  std::optional<std::uint64_t> m_anchorEnd;  // followSpan
  double m_wheelRows = 0;  // a touchpad's fraction of a row not scrolled yet
  QScrollBar* m_vbar = nullptr;
  const Bookmarks* m_bookmarks = nullptr;
  std::set<std::uint32_t> m_collapsed;                       // collapsed lane groups
  mutable std::map<std::uint32_t, std::size_t> m_hiddenIn;   // lanes hidden per collapsed group
  std::function<QString(std::uint64_t)> m_shownLabeler;      // m_labeler + the "[+N]" of a collapsed group
  ZoomStack m_zoom;
  bool m_follow = true;
  bool m_paused = false;
  TimeWindow m_pausedData;
  int m_firstRow = 0;
  std::optional<std::uint64_t> m_selected;
  std::optional<std::uint64_t> m_playHead;
  Drag m_drag = Drag::none;
  QPoint m_dragFrom, m_dragTo;
  bool m_measureShown = false;
  std::optional<QPoint> m_mouse;

  TimelineGlyphs m_glyphs;
  LanePainter m_lanes;  // keeps its scratch buffers from frame to frame
};

}  // namespace ready::ui
