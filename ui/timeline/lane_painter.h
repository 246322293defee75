// Lane painting: the label column and, per lane, the lifetime, the readiness marks, the
// interest band and the action ticks (the poll lane: time blocked and events returned).
#pragma once

#include <QColor>
#include <QImage>
#include <QString>
#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "ready/capture/record.h"
#include "timeline/laneindex.h"
#include "timeline/timeline_geometry.h"
#include "timeline/timescale.h"

class QFont;
class QPainter;
class QPalette;

namespace ready::ui {

/// Readiness kinds in the order of the legend and of the mark stripes (top to bottom).
inline constexpr std::array<capture::ReadinessFlag, 6> kReadinessKinds{
    capture::flag_readable,    capture::flag_writable,     capture::flag_priority,
    capture::flag_read_closed, capture::flag_write_closed, capture::flag_error};
/// Action glyphs in the order of the legend and of ticks sharing a column (left to right).
inline constexpr std::array<std::uint8_t, kActionGlyphs> kActionGlyphKinds{
    glyph_read, glyph_write, glyph_would_block, glyph_eof, glyph_error, glyph_other};
/// Errors (the error mark, the error glyph, a warning's outline): Okabe-Ito vermillion.
inline constexpr QRgb kVermillion = 0xffd55e00;

/// The fixed colour (Okabe-Ito, colour-blind safe) of a readiness kind.
QColor readiness_colour(capture::ReadinessFlag f);
/// The queue band's colour: readable bytes (the readable marks' blue) or unsent bytes (the
/// writable marks' green); the band fills with it faintly under a stronger top line.
QColor queue_colour(bool unsent);

/// A lane's label: "epoll_wait" for the poll lane, else what `labeler` says for its token
/// or, if it says nothing, "#token kind fd N".
QString lane_label(const TimelineLane& lane, const std::function<QString(std::uint64_t)>& labeler);

/// Device pixels per logical pixel of the lane raster painted through `p`: the device's pixel
/// ratio rounded up (1 on a plain image, 2 at 200 %), so marks and glyphs are drawn at the
/// screen's resolution.
int raster_scale(const QPainter& p);

/// The glyph images of readiness kinds (fixed colours) and action ticks (palette colours),
/// drawn once at `scale` device pixels per pixel (their device pixel ratio) and rebuilt only
/// when the palette's text colour or the scale changes.
class TimelineGlyphs {
 public:
  void ensure(const QPalette& palette, int scale = 1);
  void invalidate() noexcept { flags_[0] = QImage(); }
  [[nodiscard]] const QImage& readiness(std::size_t k) const noexcept { return flags_[k]; }
  [[nodiscard]] const QImage& action(std::size_t k) const noexcept { return actions_[k]; }

 private:
  std::array<QImage, kReadinessKinds.size()> flags_;
  std::array<QImage, kActionGlyphs> actions_;
  QRgb text_rgb_ = 0;
  int scale_ = 1;
};

/// What one frame of lanes shows.
struct LaneFrame {
  const capture::RecordStore* store = nullptr;
  const LaneIndex* index = nullptr;
  const TimelineLayout& layout;
  const TimeScale& scale;
  std::span<const std::uint32_t> lanes;  ///< visible lanes in display order
  int first_row = 0;                     ///< already clamped to the lanes
  const std::function<QString(std::uint64_t)>& labeler;
};

/// Paints the label column's labels and the plot of every lane row in view.
///
/// The plot is painted into an opaque image, pixel by pixel for what is O(pixels) (lane
/// backgrounds, decimated marks, bands, ticks, poll bars), then copied in one drawImage: an
/// opaque copy is far cheaper than blending a translucent layer, and no pixel is painted
/// twice. Marks lie inside their lane's lifetime, so their colours are blended once per
/// frame over the lifetime colour and written as they are. Scratch buffers are members so a
/// frame allocates nothing once the size is stable.
///
/// HiDPI: the raster has raster_scale(p) columns per pixel (the time scale is mapped onto the
/// device's columns, so marks, bands and stripes are as sharp as the screen) and its rows are
/// repeated as many times; glyphs are drawn on it at the device's resolution. Inside the
/// painter, x is a raster column: `layer_.width()` columns, `f.scale` maps onto them.
class LanePainter {
 public:
  void paint(QPainter& p, const LaneFrame& f, const TimelineGlyphs& glyphs, const QPalette& palette,
             const QFont& font);
  /// The raster last drawn (device pixels: its size is the plot's times its pixel ratio).
  [[nodiscard]] const QImage& raster() const noexcept { return scale_ > 1 ? device_ : layer_; }

 private:
  // The raster (glyphs drawn on it) onto `p` at the plot's place.
  void present(QPainter& p, const QRect& plot);
  // ly: the lane's first row in the plot image.
  void paint_source_lane(const LaneFrame& f, const TimelineLane& lane, std::uint32_t id, int ly,
                         const TimelineGlyphs& glyphs, const QPalette& palette);
  void paint_poll_lane(const LaneFrame& f, int ly, const QPalette& palette);
  // The queue band (queue records) under the marks: bytes readable and bytes unsent, filled
  // up from the lane's bottom, each lane on its own scale (its peak fills kQueueBandRows).
  void paint_queue_band(const LaneFrame& f, const TimelineLane& lane, std::uint32_t id, int ly, ColumnRange life,
                        const QPalette& palette);

  QImage layer_;   // raster columns x logical rows
  QImage device_;  // layer_ with its rows repeated scale_ times, when scale_ > 1
  int scale_ = 1;
  std::vector<MarkColumn> marks_, ticks_;
  std::vector<PollColumn> poll_;
  std::vector<QueueColumn> queue_;
  std::vector<double> blocked_;
  struct GlyphDraw {
    double x;  // logical pixels from the plot's left
    int y;     // logical pixels from the plot's top
    const QImage* image;
  };
  std::vector<GlyphDraw> glyph_draws_;
  struct PollLabel {
    int x, y;  // widget coordinates
    std::uint32_t events;
  };
  std::vector<PollLabel> poll_labels_;
};

}  // namespace ready::ui
