#include "timeline/lane_painter.h"

#include <QFont>
#include <QFontMetrics>
#include <QPainter>
#include <QPalette>
#include <QPolygon>
#include <algorithm>
#include <bit>
#include <cmath>

#include "models/record_format.h"

namespace ready::ui {

namespace {

QRgb premul(const QColor& c, int alpha) {
  return qPremultiply(qRgba(c.red(), c.green(), c.blue(), alpha * c.alpha() / 255));
}

// `src` (premultiplied) over the opaque `dst`.
QRgb over(QRgb src, QRgb dst) {
  const int ia = 255 - qAlpha(src);
  return qRgb(qRed(src) + qRed(dst) * ia / 255, qGreen(src) + qGreen(dst) * ia / 255,
              qBlue(src) + qBlue(dst) * ia / 255);
}

// Alpha by how many records share a column: the density shading of decimated marks.
int densityAlpha(std::uint32_t count) {
  return count <= 1 ? 150 : count <= 3 ? 190 : count <= 15 ? 225 : 255;
}

}  // namespace

QColor readiness_colour(capture::ReadinessFlag f) {
  // Okabe & Ito's colour-blind-safe palette (yellow left out: too pale on light themes).
  switch (f) {
    case capture::flag_readable:
      return {0x00, 0x72, 0xB2};  // blue
    case capture::flag_writable:
      return {0x00, 0x9E, 0x73};  // bluish green
    case capture::flag_error:
      return QColor(kVermillion);
    case capture::flag_read_closed:
      return {0xE6, 0x9F, 0x00};  // orange
    case capture::flag_write_closed:
      return {0xCC, 0x79, 0xA7};  // reddish purple
    case capture::flag_priority:
      return {0x56, 0xB4, 0xE9};  // sky blue
  }
  return Qt::gray;
}

QColor queue_colour(bool unsent) {
  // The readable and writable marks' colours: bytes to read, bytes still to send.
  return unsent ? readiness_colour(capture::flag_writable) : readiness_colour(capture::flag_readable);
}

QString lane_label(const TimelineLane& lane, const std::function<QString(std::uint64_t)>& labeler) {
  if (lane.is_poll) return QStringLiteral("epoll_wait");
  if (labeler) {
    QString s = labeler(lane.token);
    if (!s.isEmpty()) return s;
  }
  return QStringLiteral("#%1 %2 fd %3")
      .arg(lane.token)
      .arg(lane.kind ? kind_text(*lane.kind) : QStringLiteral("?"))
      .arg(lane.fd);
}

int raster_scale(const QPainter& p) {
  const QPaintDevice* d = p.device();
  return d ? std::max(1, static_cast<int>(std::ceil(d->devicePixelRatio() - 1e-6))) : 1;
}

void TimelineGlyphs::ensure(const QPalette& palette, int scale) {
  const QColor text = palette.color(QPalette::Text);
  scale = std::max(1, scale);
  if (!flags_[0].isNull() && text_rgb_ == text.rgba() && scale_ == scale) return;
  text_rgb_ = text.rgba();
  scale_ = scale;
  // Painted in logical pixels on an image `scale` times larger (its pixel ratio).
  auto canvas = [scale](int size) {
    QImage img(size * scale, size * scale, QImage::Format_ARGB32_Premultiplied);
    img.setDevicePixelRatio(scale);
    img.fill(Qt::transparent);
    return img;
  };
  for (std::size_t i = 0; i < kReadinessKinds.size(); ++i) {
    QImage img = canvas(kGlyph);
    QPainter p(&img);  // no antialiasing: the fill is exactly the legend colour
    const QColor c = readiness_colour(kReadinessKinds[i]);
    p.setPen(Qt::NoPen);
    p.setBrush(c);
    switch (kReadinessKinds[i]) {
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
    flags_[i] = img;
  }
  const QColor mid = palette.color(QPalette::Mid);
  for (std::size_t i = 0; i < kActionGlyphKinds.size(); ++i) {
    QImage img = canvas(kTick);
    QPainter p(&img);
    p.setPen(QPen(text, 1));
    p.setBrush(Qt::NoBrush);
    switch (kActionGlyphKinds[i]) {
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
        p.setPen(QPen(QColor(kVermillion), 2));
        p.drawLine(1, 1, 7, 7);
        p.drawLine(7, 1, 1, 7);
        break;
      case glyph_other:
        p.drawEllipse(QRect(1, 1, 6, 6));
        break;
      default:
        break;
    }
    actions_[i] = img;
  }
}

void LanePainter::paint(QPainter& p, const LaneFrame& f, const TimelineGlyphs& glyphs,
                        const QPalette& palette, const QFont& font) {
  const TimelineLayout& l = f.layout;
  const QRect& plot = l.plot;
  scale_ = raster_scale(p);
  const int k = scale_;
  const QSize raster_size(plot.width() * k, plot.height());
  if (layer_.size() != raster_size) layer_ = QImage(raster_size, QImage::Format_RGB32);
  const QRgb base = palette.color(QPalette::Base).rgb();
  if (!f.index || !f.store) {
    layer_.fill(base);
    present(p, plot);
    return;
  }
  // The time scale on the raster's columns: what the lane functions below read as f.scale.
  const TimeScale s = f.scale.with_pixels(0, raster_size.width());
  const LaneFrame rf{f.store, f.index, f.layout, s, f.lanes, f.first_row, f.labeler};
  const QColor sep = palette.color(QPalette::Mid);
  const QColor text = palette.color(QPalette::Text);
  const QFontMetrics fm(font);
  const int w = layer_.width();
  uchar* const bits = layer_.bits();
  const qsizetype bpl = layer_.bytesPerLine();
  auto line = [&](int y) { return reinterpret_cast<QRgb*>(bits + y * bpl); };
  const QRgb alt = palette.color(QPalette::AlternateBase).rgb();
  glyph_draws_.clear();
  poll_labels_.clear();
  std::uint32_t prev_group = ~0u;
  int y_end = 0;
  for (int row = 0; row < l.rows; ++row) {
    const std::size_t i = static_cast<std::size_t>(f.first_row + row);
    if (i >= f.lanes.size()) break;
    const TimelineLane& lane = f.index->lane(f.lanes[i]);
    const int y = plot.top() + row * kLaneHeight;
    const int ly = row * kLaneHeight;
    const int rows_here = std::min(kLaneHeight, plot.height() - ly);
    y_end = ly + rows_here;
    // Label column (indented under a listener), a line between groups.
    const int indent = lane_label_indent(lane.depth);
    if (lane.depth > 0) {
      p.setPen(sep);
      p.drawLine(l.area.left() + indent - 10, y + 2, l.area.left() + indent - 10, y + kLaneHeight / 2);
      p.drawLine(l.area.left() + indent - 10, y + kLaneHeight / 2, l.area.left() + indent - 4,
                 y + kLaneHeight / 2);
    }
    p.setPen(text);
    const QString label =
        fm.elidedText(lane_label(lane, f.labeler), Qt::ElideMiddle, l.labels.width() - indent - 4);
    p.drawText(QRect(l.area.left() + indent, y, l.labels.width() - indent - 4, kLaneHeight),
               Qt::AlignLeft | Qt::AlignVCenter, label);
    const bool new_group = lane.group != prev_group && row > 0;
    if (new_group) {
      p.setPen(sep);
      p.drawLine(l.area.left(), y, l.labels.right(), y);
    }
    prev_group = lane.group;
    // Background: the lifetime shaded, the rest base, a separator line between groups.
    const ColumnRange life =
        lane.is_poll ? ColumnRange{0, w} : lifetime_columns(s, lane.added_ns, lane.removed_ns, w);
    const int xa = life.begin, xb = life.end;
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
      paint_poll_lane(rf, ly, palette);
      // Few returns in view: write how many events each carried.
      std::size_t used = 0;
      for (const PollColumn& c : poll_) used += c.returns != 0;
      if (used * 24 * static_cast<std::size_t>(k) <= static_cast<std::size_t>(w)) {
        // A label that would touch the previous one is left out (the tooltip has it).
        int free_x = 0;
        for (int x = 0; x < w; ++x) {
          const PollColumn& c = poll_[static_cast<std::size_t>(x)];
          if (!c.returns || x < free_x) continue;
          poll_labels_.push_back({plot.left() + x / k + 3, y + kTickBottom - 2, c.events});
          free_x = x + (3 + fm.horizontalAdvance(QString::number(c.events)) + 4) * k;
        }
      }
    } else {
      paint_queue_band(rf, lane, f.lanes[i], ly, life, palette);  // first: the marks lie over it
      paint_source_lane(rf, lane, f.lanes[i], ly, glyphs, palette);
    }
  }
  for (int y = y_end; y < plot.height(); ++y) std::fill_n(line(y), w, base);
  present(p, plot);
  if (!poll_labels_.empty()) {
    QFont small = font;
    small.setPointSizeF(small.pointSizeF() * 0.8);
    p.setFont(small);
    p.setPen(text);
    for (const PollLabel& pl : poll_labels_) p.drawText(pl.x, pl.y, QString::number(pl.events));
    p.setFont(font);
    poll_labels_.clear();
  }
}

void LanePainter::present(QPainter& p, const QRect& plot) {
  QImage* out = &layer_;
  if (scale_ > 1) {
    // Rows repeated (nearest): the columns are already the device's.
    device_ = layer_.scaled(layer_.width(), layer_.height() * scale_);
    device_.setDevicePixelRatio(scale_);
    out = &device_;
  }
  if (!glyph_draws_.empty()) {
    QPainter lp(out);  // logical coordinates: the glyphs land at the device's resolution
    for (const GlyphDraw& g : glyph_draws_) lp.drawImage(QPointF(g.x, g.y), *g.image);
  }
  p.drawImage(plot.topLeft(), *out);
}

void LanePainter::paint_source_lane(const LaneFrame& f, const TimelineLane& lane, std::uint32_t id, int ly,
                                    const TimelineGlyphs& glyphs, const QPalette& palette) {
  const TimeScale& s = f.scale;
  const int w = layer_.width();  // raster columns
  const int per_px = scale_;     // raster columns per logical pixel
  const QRgb alt = palette.color(QPalette::AlternateBase).rgb();
  uchar* const bits = layer_.bits();
  const qsizetype bpl = layer_.bytesPerLine();
  auto row = [&](int r) { return reinterpret_cast<QRgb*>(bits + (ly + r) * bpl); };

  // Readiness marks.
  marks_.resize(static_cast<std::size_t>(w));
  f.index->readiness_columns(id, s, marks_);
  std::size_t used = 0;
  for (const MarkColumn& c : marks_) used += c.count != 0;
  if (used * kSparseSpacing * static_cast<std::size_t>(per_px) <= static_cast<std::size_t>(w)) {
    for (int x = 0; x < w; ++x) {
      const MarkColumn& c = marks_[static_cast<std::size_t>(x)];
      if (c.count == 0) continue;
      // Several kinds in one column: side by side, centred on the column.
      const int kinds = std::popcount(static_cast<unsigned>(c.flags));
      double gx = static_cast<double>(x) / per_px - kGlyph / 2 - (kinds - 1) * (kGlyph - 2) / 2;
      for (std::size_t k = 0; k < kReadinessKinds.size(); ++k) {
        if (!(c.flags & kReadinessKinds[k])) continue;
        glyph_draws_.push_back({gx, ly + kMarkCentre - kGlyph / 2, &glyphs.readiness(k)});
        gx += kGlyph - 2;
      }
    }
  } else {
    std::array<std::array<QRgb, 4>, kReadinessKinds.size()> colours{};
    for (std::size_t k = 0; k < kReadinessKinds.size(); ++k)
      for (std::size_t a = 0; a < 4; ++a)
        colours[k][a] = over(premul(readiness_colour(kReadinessKinds[k]), densityAlpha(a == 0   ? 1
                                                                                       : a == 1 ? 2
                                                                                       : a == 2 ? 4
                                                                                                : 16)),
                             alt);
    for (int x = 0; x < w; ++x) {
      const MarkColumn& c = marks_[static_cast<std::size_t>(x)];
      if (c.count == 0) continue;
      const std::size_t a = c.count <= 1 ? 0 : c.count <= 3 ? 1 : c.count <= 15 ? 2 : 3;
      for (std::size_t k = 0; k < kReadinessKinds.size(); ++k) {
        if (!(c.flags & kReadinessKinds[k])) continue;
        const int r = kMarkTop + 2 * static_cast<int>(k);
        row(r)[x] = colours[k][a];
        row(r + 1)[x] = colours[k][a];
      }
    }
  }

  // Interest band: spans binary-searched, sub-pixel spans skipped a column at a time.
  {
    const QRgb edge = over(premul(palette.color(QPalette::Text), 90), alt);
    const QRgb level = over(premul(palette.color(QPalette::Highlight), 170), alt);
    const QRgb oneshot = over(premul(palette.color(QPalette::Link), 200), alt);
    const QRgb off_hi = over(premul(palette.color(QPalette::Text), 120), alt);
    const QRgb off_lo = over(premul(palette.color(QPalette::Text), 25), alt);
    const QRgb boundary = over(premul(palette.color(QPalette::Text), 230), alt);
    const QRgb paused_hatch = over(premul(QColor::fromRgb(kVermillion), 230), alt);
    const auto& spans = lane.interest;
    auto it = std::partition_point(spans.begin(), spans.end(),
                                   [&](const InterestSpan& sp) { return sp.t1 <= s.t0(); });
    while (it != spans.end() && it->t0 < s.t1()) {
      const int xa = std::max(0, static_cast<int>(std::floor(s.x(it->t0) - s.x0())));
      const int xb =
          it->t1 == InterestSpan::kOpen ? w : std::min(w, static_cast<int>(std::ceil(s.x(it->t1) - s.x0())));
      const auto sb = capture::SourceBits::unpack(it->bits);
      const auto trig = sb.trigger;
      const QRgb on = trig == Trigger::edge ? edge : trig == Trigger::level ? level : oneshot;
      const int end = std::min(w, std::max(xb, xa + 1));
      for (int r = 0; r < kBandHeight; ++r) {
        QRgb* px = row(kBandTop + r);
        if (sb.paused) {
          // Paused (registered for nothing: a relay leg under back-pressure): an empty band
          // between two dashed vermillion lines.
          const bool rim = r == 0 || r == kBandHeight - 1;
          for (int x = xa; x < end; ++x) px[x] = !rim ? alt : (x / (2 * per_px)) % 2 == 0 ? paused_hatch : off_lo;
        } else if (it->armed) {
          std::fill(px + xa, px + end, on);
        } else {
          for (int x = xa; x < end; ++x) px[x] = (x / per_px + r) % 3 == 0 ? off_hi : off_lo;
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
  ticks_.resize(static_cast<std::size_t>(w));
  f.index->action_columns(id, s, ticks_);
  used = 0;
  for (const MarkColumn& c : ticks_) used += c.count != 0;
  if (used * kSparseSpacing * static_cast<std::size_t>(per_px) <= static_cast<std::size_t>(w)) {
    for (int x = 0; x < w; ++x) {
      const MarkColumn& c = ticks_[static_cast<std::size_t>(x)];
      if (c.count == 0) continue;
      const int kinds = std::popcount(static_cast<unsigned>(c.flags));
      double gx = static_cast<double>(x) / per_px - kTick / 2 - (kinds - 1) * (kTick - 1) / 2;
      for (std::size_t k = 0; k < kActionGlyphKinds.size(); ++k) {
        if (!(c.flags & kActionGlyphKinds[k])) continue;
        glyph_draws_.push_back({gx, ly + kTickCentre - kTick / 2, &glyphs.action(k)});
        gx += kTick - 1;
      }
    }
  } else {
    const QRgb err = kVermillion;
    const QRgb strong = palette.color(QPalette::Text).rgb();
    const QRgb normal = over(premul(palette.color(QPalette::Text), 170), alt);
    const QRgb weak = over(premul(palette.color(QPalette::Mid), 255), alt);
    for (int x = 0; x < w; ++x) {
      const MarkColumn& c = ticks_[static_cast<std::size_t>(x)];
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

void LanePainter::paint_poll_lane(const LaneFrame& f, int ly, const QPalette& palette) {
  const TimeScale& s = f.scale;
  const int w = layer_.width();
  poll_.resize(static_cast<std::size_t>(w));
  f.index->poll_columns(s, poll_);
  // A return's blocked time lies before it: spread it right to left over the columns.
  blocked_.assign(static_cast<std::size_t>(w), 0.0);
  const double nspp = s.ns_per_pixel();
  double carry = 0;
  for (int x = w - 1; x >= 0; --x) {
    carry += double(poll_[static_cast<std::size_t>(x)].blocked_ns);
    const double here = std::min(carry, nspp);
    blocked_[static_cast<std::size_t>(x)] = here / nspp;
    carry -= here;
  }
  uchar* const bits = layer_.bits();
  const qsizetype bpl = layer_.bytesPerLine();
  auto row = [&](int r) { return reinterpret_cast<QRgb*>(bits + (ly + r) * bpl); };
  const QRgb alt = palette.color(QPalette::AlternateBase).rgb();
  const QRgb blocked = over(premul(palette.color(QPalette::Mid), 220), alt);
  const QRgb events = palette.color(QPalette::Highlight).rgb();
  const QRgb empty = over(premul(palette.color(QPalette::Text), 120), alt);
  for (int x = 0; x < w; ++x) {
    const auto ux = static_cast<std::size_t>(x);
    const int bh = static_cast<int>(std::lround(blocked_[ux] * 12));
    for (int r = 0; r < bh; ++r) row(2 + r)[x] = blocked;
    const PollColumn& c = poll_[ux];
    if (c.returns == 0) continue;
    if (c.max_events == 0) {
      row(kTickBottom)[x] = empty;
      continue;
    }
    const int h = std::min(14, 2 + static_cast<int>(2 * std::log2(1.0 + c.max_events)));
    for (int r = 0; r < h; ++r) row(kTickBottom - r)[x] = events;
  }
}

void LanePainter::paint_queue_band(const LaneFrame& f, const TimelineLane& lane, std::uint32_t id, int ly,
                                   ColumnRange life, const QPalette& palette) {
  if (lane.queue_peak == 0) return;
  const int w = layer_.width();  // raster columns: f.scale maps onto them
  queue_.resize(static_cast<std::size_t>(w));
  f.index->queue_columns(id, f.scale, queue_);
  const QRgb alt = palette.color(QPalette::AlternateBase).rgb();
  const QRgb fill[2] = {over(premul(queue_colour(false), 80), alt), over(premul(queue_colour(true), 80), alt)};
  const QRgb top[2] = {over(premul(queue_colour(false), 230), alt), over(premul(queue_colour(true), 230), alt)};
  uchar* const bits = layer_.bits();
  const qsizetype bpl = layer_.bytesPerLine();
  const double peak = lane.queue_peak;
  // Rows kQueueBandBottom up to kQueueBandTop: 0 bytes draws nothing, the lane's peak the full height.
  const auto height = [&](std::uint32_t v) {
    return v == 0 ? 0 : std::max(1, static_cast<int>(std::ceil(v * double(kQueueBandRows) / peak)));
  };
  for (int x = std::max(0, life.begin); x < std::min(w, life.end); ++x) {
    const QueueColumn& c = queue_[static_cast<std::size_t>(x)];
    const int h[2] = {height(c.readable), height(c.unsent)};
    // The taller first, so the shorter stays visible over it.
    const int order[2] = {h[0] >= h[1] ? 0 : 1, h[0] >= h[1] ? 1 : 0};
    for (const int k : order) {
      for (int r = 0; r < h[k]; ++r) {
        auto* px = reinterpret_cast<QRgb*>(bits + (ly + kQueueBandBottom - r) * bpl);
        px[x] = r == h[k] - 1 ? top[k] : fill[k];
      }
    }
  }
}

}  // namespace ready::ui
