// Rates over capture time: events/s per source and in total, bytes/s in and out.
#pragma once

#include <QWidget>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bridge.h"
#include "ready/capture/record.h"

class QChart;
class QChartView;
class QLineSeries;
class QValueAxis;

namespace ready::ui {

/// Pre-binned rates of a capture, kept up to date record by record (a RecordObserver; no Qt).
///
/// What is counted. Events: `readiness` records (one per epoll event). Bytes in: the `value`
/// of read and drain actions; bytes out: of write and fill actions (echo's reads and writes
/// included). The counter reads of eventfd and timerfd sources are not bytes and are skipped
/// (their kind comes from the source_added record). Every other record is ignored.
///
/// Bins. Capture time is cut into bins of `bin_ns()` nanoseconds starting at t = 0; bin i
/// covers [i * bin_ns, (i + 1) * bin_ns). It starts at `kInitialBinNs` (1 ms); whenever a
/// record falls beyond `kMaxBins` bins, the width doubles and neighbouring bins are summed
/// (`merges()` counts this), so counts stay exact and the resolution is max(1 ms, capture
/// length / kMaxBins): 8 s of capture at 1 ms, an hour at about 0.5 s.
///
/// Queries return buckets of a whole number of bins, at most `max_points` of them for the
/// range asked, aligned to multiples of their width (so a pan does not reshuffle them). The
/// view asks for 2 points per pixel of its plot width.
///
/// Memory (counted by `memory_bytes()`): three totals of kMaxBins 8-byte counters; per source
/// a sorted list of (bin, count) pairs for its non-empty bins, 8 bytes each, and ~80 bytes of
/// state. The pairs of all sources are bounded by `kMaxTokenEntries`: past it, the half of the
/// sources with the fewest events lose their per-source series (they stay in the totals, so
/// the view's "others" still counts them; `folded_tokens()` counts them).
class RatesModel : public RecordObserver {
 public:
  static constexpr std::size_t kMaxBins = 8192;
  static constexpr std::uint64_t kInitialBinNs = 1'000'000;
  static constexpr std::size_t kMaxTokenEntries = std::size_t{1} << 20;

  /// Counts per bucket: buckets[i] covers [start_ns + i * bucket_ns, start_ns + (i+1) * bucket_ns).
  struct Binned {
    std::uint64_t start_ns = 0;
    std::uint64_t bucket_ns = 0;
    std::vector<std::uint64_t> counts;
    [[nodiscard]] std::uint64_t sum() const noexcept;
  };
  enum class Total : std::uint8_t { events, bytes_in, bytes_out };

  void on_record(const capture::Record& r, std::uint64_t index) override;

  /// The total `which` over [t0, t1) in at most `max_points` (>= 1) buckets.
  [[nodiscard]] Binned total(Total which, std::uint64_t t0, std::uint64_t t1, std::size_t max_points) const;
  /// One source's events over [t0, t1) in the same buckets as total(); all zero for a token
  /// without a per-source series (unknown or folded).
  [[nodiscard]] Binned token_events(std::uint64_t token, std::uint64_t t0, std::uint64_t t1,
                                    std::size_t max_points) const;
  /// The (at most) n tokens with the most events in [t0, t1), most first (ties: lower token
  /// first). O(per-source pairs in the range).
  [[nodiscard]] std::vector<std::uint64_t> top_tokens(std::uint64_t t0, std::uint64_t t1, std::size_t n) const;

  [[nodiscard]] std::uint64_t bin_ns() const noexcept { return m_binNs; }
  /// Bins in use (<= kMaxBins).
  [[nodiscard]] std::size_t bin_count() const noexcept { return m_events.size(); }
  /// The latest record time seen (0 before any).
  [[nodiscard]] std::uint64_t last_time_ns() const noexcept { return m_lastNs; }

  // ---- accounting ----
  [[nodiscard]] std::uint64_t events() const noexcept { return m_eventCount; }
  [[nodiscard]] std::uint64_t bytes_in() const noexcept { return m_bytesIn; }
  [[nodiscard]] std::uint64_t bytes_out() const noexcept { return m_bytesOut; }
  [[nodiscard]] std::uint64_t merges() const noexcept { return m_merges; }
  [[nodiscard]] std::uint64_t folded_tokens() const noexcept { return m_folded; }
  [[nodiscard]] std::size_t token_count() const noexcept { return m_tokens.size(); }
  /// Per-source (bin, count) pairs held (<= kMaxTokenEntries).
  [[nodiscard]] std::size_t token_entries() const noexcept { return m_tokenEntries; }
  [[nodiscard]] std::size_t memory_bytes() const noexcept;

  /// Forgets everything (a new capture).
  void clear();

 private:
  struct TokenBins {
    capture::SourceKind kind = capture::SourceKind::tcp_stream;
    bool counter = false;  ///< eventfd / timerfd: reads are counters, not bytes
    bool folded = false;   ///< its per-source series was dropped (kMaxTokenEntries)
    std::uint64_t events = 0;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> bins;  // (bin, events), bin ascending
  };
  std::size_t bin_of(std::uint64_t t_ns);
  void merge();
  void fold();
  /// Buckets of k bins covering [t0, t1): (first bin, end bin, k).
  struct Layout {
    std::uint64_t first = 0, end = 0, k = 1;
  };
  [[nodiscard]] Layout layout(std::uint64_t t0, std::uint64_t t1, std::size_t max_points) const;
  /// Zeroed buckets covering the layout (none for an empty range).
  [[nodiscard]] Binned empty_binned(const Layout& l) const;

  std::uint64_t m_binNs = kInitialBinNs;
  std::vector<std::uint64_t> m_events, m_in, m_out;
  std::unordered_map<std::uint64_t, TokenBins> m_tokens;
  std::size_t m_tokenEntries = 0;
  std::uint64_t m_lastNs = 0;
  std::uint64_t m_eventCount = 0, m_bytesIn = 0, m_bytesOut = 0, m_merges = 0, m_folded = 0;
};

/// Two Qt Charts line charts over capture time (seconds): events/s in total, for the
/// `kTopTokens` sources with the most events in the range and for all others summed; and
/// bytes/s in and out.
///
/// It owns a RatesModel registered with the bridge, and redraws on the bridge's `frame`
/// (while hidden, only once when shown again): once per frame at most, each series' points set with one QXYSeries::replace() (never an
/// append per event), at most 2 points per pixel of the plot width. The range follows the
/// newest record (`setLive`, the default: the whole capture) or is fixed (`setRange`, to
/// follow the timeline's view). Colours come from the palette (line colours for the sources
/// are hues spaced from the palette's highlight; bytes in/out use direction_colour) and are
/// re-applied when the palette changes. No OpenGL (it crashes offscreen).
class RatesView : public QWidget {
  Q_OBJECT

 public:
  static constexpr int kTopTokens = 8;

  explicit RatesView(Bridge& bridge, QWidget* parent = nullptr);
  ~RatesView() override;

  [[nodiscard]] RatesModel& model() noexcept { return m_model; }

  /// Shows [t0_ns, t1_ns) of capture time until setLive.
  void setRange(std::uint64_t t0_ns, std::uint64_t t1_ns);
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
  void onFrame(std::uint64_t begin, std::uint64_t end, std::uint64_t evicted_to);
  /// Recomputes every series from the model for the current range.
  void refresh();

 protected:
  void changeEvent(QEvent* e) override;
  void showEvent(QShowEvent* e) override;
  void resizeEvent(QResizeEvent* e) override;

 private:
  void applyPalette();

  Bridge& m_bridge;
  RatesModel m_model;
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
