#include "timeline/timescale.h"

#include <algorithm>
#include <cmath>

namespace ready::ui {

namespace {

// t + d for a signed double d, saturating at 0 and kMaxTime. Doubles beyond 2^64 are not
// representable as uint64_t, so the bounds are checked before converting.
std::uint64_t offset_time(std::uint64_t t, double d) noexcept {
  constexpr double kTwo64 = 18446744073709551616.0;
  if (!(d == d)) return t;  // NaN
  if (d >= 0) {
    const double room = static_cast<double>(TimeScale::kMaxTime - t);
    if (d >= room) return TimeScale::kMaxTime;
    const double f = std::floor(d);
    return f >= kTwo64 ? TimeScale::kMaxTime : t + static_cast<std::uint64_t>(f);
  }
  const double back = std::ceil(-d);
  if (back >= static_cast<double>(t)) return 0;
  return t - static_cast<std::uint64_t>(back);
}

}  // namespace

TimeScale::TimeScale(std::uint64_t t0, std::uint64_t t1, double x0, double width) noexcept
    : t0_(t0), t1_(t1), x0_(x0), width_(width >= 1 ? width : 1) {
  if (t1_ < t0_ || t1_ - t0_ < kMinSpan) {
    if (t0_ <= kMaxTime - kMinSpan) {
      t1_ = t0_ + kMinSpan;
    } else {
      t1_ = kMaxTime;
      t0_ = kMaxTime - kMinSpan;
    }
  }
}

double TimeScale::x(std::uint64_t t) const noexcept {
  const double scale = width_ / static_cast<double>(span());
  if (t >= t0_) return x0_ + static_cast<double>(t - t0_) * scale;
  return x0_ - static_cast<double>(t0_ - t) * scale;
}

std::uint64_t TimeScale::time(double px) const noexcept { return offset_time(t0_, (px - x0_) * ns_per_pixel()); }

TimeScale TimeScale::zoomed(double factor, double at) const noexcept {
  if (!(factor > 0) || !std::isfinite(factor)) return *this;
  const double old_span = static_cast<double>(span());
  double new_span = std::max(old_span / factor, static_cast<double>(kMinSpan));
  new_span = std::min(new_span, static_cast<double>(kMaxTime));
  const double frac = std::clamp((at - x0_) / width_, 0.0, 1.0);
  const std::uint64_t anchor = time(x0_ + frac * width_);
  std::uint64_t s = static_cast<std::uint64_t>(new_span);
  if (s >= kMaxTime) return {0, kMaxTime, x0_, width_};
  std::uint64_t t0 = offset_time(anchor, -frac * new_span);
  if (t0 > kMaxTime - s) t0 = kMaxTime - s;
  return {t0, t0 + s, x0_, width_};
}

TimeScale TimeScale::panned(double dx) const noexcept {
  const std::uint64_t s = span();
  std::uint64_t t0 = offset_time(t0_, duration(dx));
  if (t0 > kMaxTime - s) t0 = kMaxTime - s;
  return {t0, t0 + s, x0_, width_};
}

TimeScale TimeScale::clamped(std::uint64_t lo, std::uint64_t hi) const noexcept {
  if (hi <= lo) return *this;
  const std::uint64_t s = span();
  if (s >= hi - lo) return {lo, hi, x0_, width_};
  std::uint64_t t0 = std::clamp(t0_, lo, hi - s);
  return {t0, t0 + s, x0_, width_};
}

void ZoomStack::push(TimeWindow view) {
  if (views_.size() == kMaxDepth) views_.erase(views_.begin());
  views_.push_back(view);
}

std::optional<TimeWindow> ZoomStack::back() {
  if (views_.empty()) return std::nullopt;
  const TimeWindow v = views_.back();
  views_.pop_back();
  return v;
}

TimeWindow ZoomStack::reset() noexcept {
  views_.clear();
  return full_;
}

}  // namespace ready::ui
