// Time <-> pixel mapping and the zoom history of the timeline: plain classes, no widgets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace ready::ui {

/// A half-open time window [t0, t1) in nanoseconds since the capture started.
struct TimeWindow {
  std::uint64_t t0 = 0;
  std::uint64_t t1 = 0;
  [[nodiscard]] std::uint64_t span() const noexcept { return t1 > t0 ? t1 - t0 : 0; }
  friend bool operator==(const TimeWindow&, const TimeWindow&) = default;
};

/// Maps the time window [t0, t1) onto the pixels [x0, x0 + width) and back.
///
/// Linear, in double precision: a time's offset from t0 is taken as an exact 64-bit integer
/// difference before it becomes a double, so times near 2^64 ns map as precisely as times
/// near 0 and nothing overflows. `x(t0) == x0`, `x(t1) == x0 + width`. Times before t0 map
/// left of x0 (negative offsets); `time(x)` saturates at 0 and at UINT64_MAX.
///
/// The window always spans at least `kMinSpan` ns (a 1-ns view of a 2000-px widget would
/// only show rounding), and the width is at least 1 px. Zoom and pan return new scales;
/// `clamped` keeps a window inside the data.
class TimeScale {
 public:
  static constexpr std::uint64_t kMinSpan = 16;
  static constexpr std::uint64_t kMaxTime = std::numeric_limits<std::uint64_t>::max();

  TimeScale() = default;
  /// The window [t0, t1) on [x0, x0 + width). t1 is raised to t0 + kMinSpan if needed
  /// (t0 lowered instead near kMaxTime); width below 1 becomes 1.
  TimeScale(std::uint64_t t0, std::uint64_t t1, double x0, double width) noexcept;
  TimeScale(TimeWindow w, double x0, double width) noexcept : TimeScale(w.t0, w.t1, x0, width) {}

  [[nodiscard]] std::uint64_t t0() const noexcept { return t0_; }
  [[nodiscard]] std::uint64_t t1() const noexcept { return t1_; }
  [[nodiscard]] TimeWindow window() const noexcept { return {t0_, t1_}; }
  [[nodiscard]] std::uint64_t span() const noexcept { return t1_ - t0_; }
  [[nodiscard]] double x0() const noexcept { return x0_; }
  [[nodiscard]] double width() const noexcept { return width_; }
  /// Nanoseconds per pixel (> 0).
  [[nodiscard]] double ns_per_pixel() const noexcept { return static_cast<double>(span()) / width_; }

  /// The pixel of time t (fractional; outside [x0, x0 + width) for times outside the window).
  [[nodiscard]] double x(std::uint64_t t) const noexcept;
  /// The time at pixel x, rounded down, saturating at 0 and kMaxTime.
  [[nodiscard]] std::uint64_t time(double x) const noexcept;
  /// The signed duration of dx pixels, in ns (as a double).
  [[nodiscard]] double duration(double dx) const noexcept { return dx * ns_per_pixel(); }

  /// The same pixels, showing `factor` times less time (factor > 1 zooms in, < 1 out),
  /// with the time under pixel `at` kept under it. The span is kept >= kMinSpan and the
  /// window inside [0, kMaxTime]. A factor <= 0 or not finite returns *this.
  [[nodiscard]] TimeScale zoomed(double factor, double at) const noexcept;
  /// The same span moved by dx pixels: dx > 0 shows later times (the content moves left).
  /// Saturates at 0 and kMaxTime, keeping the span.
  [[nodiscard]] TimeScale panned(double dx) const noexcept;
  /// This window moved (span kept) to lie inside [lo, hi); if the span is wider than the
  /// data, the window becomes [lo, hi) itself (at least kMinSpan). hi <= lo returns *this.
  [[nodiscard]] TimeScale clamped(std::uint64_t lo, std::uint64_t hi) const noexcept;
  /// The window [t0, t1) on the same pixels.
  [[nodiscard]] TimeScale with_window(std::uint64_t t0, std::uint64_t t1) const noexcept {
    return {t0, t1, x0_, width_};
  }
  /// The same window on other pixels.
  [[nodiscard]] TimeScale with_pixels(double x0, double width) const noexcept { return {t0_, t1_, x0, width}; }

  friend bool operator==(const TimeScale&, const TimeScale&) = default;

 private:
  std::uint64_t t0_ = 0;
  std::uint64_t t1_ = kMinSpan;
  double x0_ = 0;
  double width_ = 1;
};

/// The views to go back to (hotspot's zoom stack): a drag-zoom pushes the view it leaves,
/// Backspace pops it, reset forgets them all and returns the full range. Wheel and key
/// zooms and pans do not push (they are their own undo). Holds at most `kMaxDepth` views;
/// pushing more forgets the oldest.
class ZoomStack {
 public:
  static constexpr std::size_t kMaxDepth = 64;

  /// `full` is what reset() returns.
  explicit ZoomStack(TimeWindow full = {}) : full_(full) {}
  void set_full(TimeWindow full) noexcept { full_ = full; }
  [[nodiscard]] TimeWindow full() const noexcept { return full_; }

  /// Remembers `view` (the view being left) to come back to.
  void push(TimeWindow view);
  [[nodiscard]] bool can_go_back() const noexcept { return !views_.empty(); }
  /// The last view pushed, removed from the stack; nullopt when there is none.
  std::optional<TimeWindow> back();
  /// Forgets every view pushed and returns full().
  TimeWindow reset() noexcept;
  [[nodiscard]] std::size_t depth() const noexcept { return views_.size(); }

 private:
  TimeWindow full_;
  std::vector<TimeWindow> views_;
};

}  // namespace ready::ui
