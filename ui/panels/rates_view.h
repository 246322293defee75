// Rates over capture time: events/s per source and in total, bytes/s in and out.
#pragma once

#include <QWidget>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "models/rates_model.h"
#include "session/capture_session.h"

class QChart;
class QChartView;
class QLineSeries;
class QValueAxis;

namespace ready::ui {

/// Two Qt Charts line charts over capture time (seconds): events/s in total, for the
/// `kTopTokens` sources with the most events in the range and for all others summed; and
/// bytes/s in and out.
///
/// It reads the capture session's RatesModel and redraws once per frame (`onFrame`, called
/// by whoever shows it: the window, after the timeline), and not at all while hidden: a
/// frame or a range change that comes while hidden is caught up once when shown. Each
/// series' points are set with one QXYSeries::replace() (never an append per event), at
/// most 2 points per pixel of the plot width. The range follows the
/// newest record (`setLive`, the default: the whole capture) or is fixed (`setRange`, to
/// follow the timeline's view). Colours come from the palette (line colours for the sources
/// are hues spaced from the palette's highlight; bytes in/out use direction_colour) and are
/// re-applied when the palette changes. No OpenGL (it crashes offscreen).
class RatesView : public QWidget {
  Q_OBJECT

 public:
  static constexpr int kTopTokens = 8;

  explicit RatesView(CaptureSession& session, QWidget* parent = nullptr);

  [[nodiscard]] RatesModel& model() noexcept { return m_model; }

  /// Shows [t0_ns, t1_ns) of capture time until setLive (redraws now if shown).
  void setRange(std::uint64_t t0_ns, std::uint64_t t1_ns);
  /// As setRange, but the redraw waits for the next frame (or for being shown): the window
  /// follows the timeline's view with it while a frame is being delivered.
  void followRange(std::uint64_t t0_ns, std::uint64_t t1_ns);
  /// Follows the newest record: the last `window_ns` of capture, or all of it when 0.
  void setLive(std::uint64_t window_ns = 0);
  [[nodiscard]] bool isLive() const noexcept { return m_live; }
  /// The range shown by the last refresh.
  [[nodiscard]] std::pair<std::uint64_t, std::uint64_t> range() const noexcept { return {m_t0, m_t1}; }

  /// Names the per-source lines (the legend's text): e.g. the source table's title for a
  /// token. Without one, or when it returns "", a line is "token N".
  void setTokenTitles(std::function<QString(std::uint64_t token)> titles);

  /// The most points a series gets now: 2 per pixel of the narrower plot area's width.
  [[nodiscard]] std::size_t maxPoints() const;
  /// Refreshes done (one per frame at most, none while hidden).
  [[nodiscard]] std::uint64_t refreshCount() const noexcept { return m_refreshes; }

  // The series, for tests.
  [[nodiscard]] QLineSeries* totalSeries() const noexcept { return m_total; }
  [[nodiscard]] QLineSeries* tokenSeries(int i) const { return m_tokens.at(static_cast<std::size_t>(i)); }
  [[nodiscard]] QLineSeries* othersSeries() const noexcept { return m_others; }
  [[nodiscard]] QLineSeries* bytesInSeries() const noexcept { return m_bytesIn; }
  [[nodiscard]] QLineSeries* bytesOutSeries() const noexcept { return m_bytesOut; }
  /// The tokens of the per-source series now (at most kTopTokens), series order.
  [[nodiscard]] const std::vector<std::uint64_t>& shownTokens() const noexcept { return m_shown; }

 public slots:
  /// A frame was delivered: redraws once if shown, otherwise remembers to when shown.
  void onFrame(std::uint64_t begin, std::uint64_t end, std::uint64_t evicted_to);
  /// Recomputes every series from the model for the current range.
  void refresh();

 protected:
  void changeEvent(QEvent* e) override;
  void showEvent(QShowEvent* e) override;
  void resizeEvent(QResizeEvent* e) override;

 private:
  void applyPalette();
  /// refresh() if shown, otherwise mark stale.
  void refreshIfShown();

  RatesModel& m_model;
  bool m_live = true;
  bool m_stale = false;  ///< a frame came while hidden: refresh when shown
  std::uint64_t m_window = 0;
  std::uint64_t m_t0 = 0, m_t1 = 0;
  std::uint64_t m_refreshes = 0;
  std::vector<std::uint64_t> m_shown;
  std::function<QString(std::uint64_t)> m_titles;

  QChartView* m_eventsView = nullptr;
  QChartView* m_bytesView = nullptr;
  QChart* m_eventsChart = nullptr;
  QChart* m_bytesChart = nullptr;
  QValueAxis* m_eventsX = nullptr;
  QValueAxis* m_eventsY = nullptr;
  QValueAxis* m_bytesX = nullptr;
  QValueAxis* m_bytesY = nullptr;
  QLineSeries* m_total = nullptr;
  std::vector<QLineSeries*> m_tokens;
  QLineSeries* m_others = nullptr;
  QLineSeries* m_bytesIn = nullptr;
  QLineSeries* m_bytesOut = nullptr;
};

}  // namespace ready::ui
