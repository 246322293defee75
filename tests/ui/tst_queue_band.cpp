// The queue band (issue 18): LaneIndex's decimated queue columns, the band the lanes paint
// under their marks (pixels of a grabbed image), and its tooltip in bytes.
#include <QImage>
#include <QTest>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "lane_records.h"
#include "ready/capture/record.h"
#include "timeline/lane_painter.h"
#include "timeline/laneindex.h"
#include "timeline/timeline_geometry.h"
#include "timeline/timeline_hits.h"
#include "timeline/timelineview.h"

using namespace ready;
using namespace ready::test;
using ready::ui::QueueColumn;
using ready::ui::TimelineView;
using ready::ui::TimeScale;

namespace {

constexpr std::uint64_t ms = 1'000'000;

Record queue(std::uint64_t t, std::uint64_t token, std::uint64_t readable, std::uint64_t unsent) {
  Record r = on_token(t, token, RecordKind::queue);
  r.value = readable;
  r.value2 = unsent;
  return r;
}

/// A socketpair (tokens 1 writer, 2 reader): the reader gets 10 bytes at 10 ms, reads 4 at
/// 60 ms (6 stay until 500 ms, then 0); the writer's unsent is 4096 from 100 ms to 300 ms.
struct Scene {
  Scene() {
    feed.add(source(0, 1, SourceKind::unix_stream, 2));
    feed.add(source(0, 2, SourceKind::unix_stream, 1));
    feed.add(queue(10 * ms, 2, 10, 0));
    feed.add(queue(60 * ms, 2, 6, 0));
    feed.add(queue(100 * ms, 1, 0, 4096));
    feed.add(queue(300 * ms, 1, 0, 0));
    feed.add(queue(500 * ms, 2, 0, 0));
  }
  Feed feed;
};

/// Rows of the band painted in column x of the lane whose top is `top` (rows other than the
/// lane's background, the interest band's rows left out).
int band_rows(const QImage& img, int x, int top, QRgb background) {
  int n = 0;
  for (int r = ui::kQueueBandBottom - ui::kQueueBandRows + 1; r <= ui::kQueueBandBottom; ++r) {
    if (r >= ui::kBandTop - 1 && r <= ui::kBandTop + ui::kBandHeight) continue;
    n += (img.pixel(x, top + r) | 0xff000000u) != (background | 0xff000000u);
  }
  return n;
}

}  // namespace

class QueueBandTest : public QObject {
  Q_OBJECT

 private slots:
  // The step function per column, from the summary levels (a coarse view) and from exact
  // records (a view finer than the finest bucket): the value in force, the peak where it changed.
  void queue_columns_hold_the_value_in_force() {
    Scene s;
    const auto lane = s.feed.index.lane_of(2);
    QVERIFY(lane);
    QCOMPARE(s.feed.index.lane(*lane).queue_peak, std::uint32_t{10});
    {
      const TimeScale coarse(0, 1000 * ms, 0, 1000);  // 1 ms a column: summaries
      QVERIFY(ui::LaneIndex::level_for(coarse));
      std::vector<QueueColumn> cols(1000);
      s.feed.index.queue_columns(*lane, coarse, cols);
      QCOMPARE(cols[5].readable, std::uint32_t{0});
      QCOMPARE(cols[10].readable, std::uint32_t{10});
      QCOMPARE(cols[58].readable, std::uint32_t{10});
      // The change at 60 ms counts in the column where its bucket starts (59 or 60): that
      // column shows the peak, 10; after it, 6.
      QCOMPARE(std::max(cols[59].readable, cols[60].readable), std::uint32_t{10});
      QCOMPARE(cols[61].readable, std::uint32_t{6});
      QCOMPARE(cols[499].readable, std::uint32_t{6});
      QCOMPARE(cols[501].readable, std::uint32_t{0});
    }
    {
      const TimeScale fine(250 * ms, 250 * ms + 1000, 0, 1000);  // 1 ns a column: exact records
      QVERIFY(!ui::LaneIndex::level_for(fine));
      std::vector<QueueColumn> cols(1000);
      s.feed.index.queue_columns(*lane, fine, cols);
      for (const QueueColumn& c : cols) QCOMPARE(c.readable, std::uint32_t{6});
    }
    QCOMPARE(s.feed.index.queue_at(*lane, 15 * ms).readable, std::uint32_t{10});
    QCOMPARE(s.feed.index.queue_at(*lane, 60 * ms).readable, std::uint32_t{6});
    QCOMPARE(s.feed.index.queue_at(*lane, 499 * ms).readable, std::uint32_t{6});
    QCOMPARE(s.feed.index.queue_at(*lane, 600 * ms).readable, std::uint32_t{0});
    const auto writer = s.feed.index.lane_of(1);
    QVERIFY(writer);
    QCOMPARE(s.feed.index.queue_at(*writer, 200 * ms).unsent, std::uint32_t{4096});
  }

  // Painted: under the reader's lane the band is full height at 10 bytes (its peak), lower
  // at 6, absent at 0; the writer's unsent band has the other colour. Hovering the band says
  // the bytes.
  void lane_paints_the_band_and_its_tooltip_says_bytes() {
    Scene s;
    TimelineView view;
    view.resize(1200, 240);
    view.setData(&s.feed.store, &s.feed.index);
    view.setView(0, 1000 * ms);
    const QImage img = view.grab().toImage().convertToFormat(QImage::Format_RGB32);
    const QRect plot = view.plotRect();
    const TimeScale scale(0, 1000 * ms, plot.left(), plot.width());
    const auto x_of = [&](std::uint64_t t) { return static_cast<int>(scale.x(t)); };
    // The reader's lane: where its queue record at 60 ms is drawn (a queue record sits in
    // the marks' row). Records: the two sources, then the queue records in time order.
    const auto at = view.recordPosition(s.feed.store.begin_index() + 3);
    QVERIFY(at);
    const int top = at->y() - ui::kMarkCentre;
    const QRgb alt = view.palette().color(QPalette::AlternateBase).rgb();
    const int full = band_rows(img, x_of(35 * ms), top, alt);
    const int six = band_rows(img, x_of(250 * ms), top, alt);
    const int none = band_rows(img, x_of(700 * ms), top, alt);
    QVERIFY2(full > six && six > 0 && none == 0,
             qPrintable(QStringLiteral("rows at 10, 6, 0 bytes: %1 %2 %3").arg(full).arg(six).arg(none)));
    // 10 bytes, the lane's peak, fills every band row (the interest band's rows aside).
    QCOMPARE(full, ui::kQueueBandRows - (ui::kBandHeight + 2));
    const QRgb reader_band = img.pixel(x_of(250 * ms), top + ui::kQueueBandBottom);
    QVERIFY(qBlue(reader_band) > qGreen(reader_band));  // readable: the readable marks' blue
    // The writer's band: its unsent bytes, in green.
    const auto writer_row = view.recordPosition(s.feed.store.begin_index() + 4);  // queue(100 ms, 1, ...)
    QVERIFY(writer_row);
    const int wtop = writer_row->y() - ui::kMarkCentre;
    QVERIFY(band_rows(img, x_of(200 * ms), wtop, alt) > 0);
    QCOMPARE(band_rows(img, x_of(400 * ms), wtop, alt), 0);
    const QRgb writer_band = img.pixel(x_of(200 * ms), wtop + ui::kQueueBandBottom);
    QVERIFY(qGreen(writer_band) > qBlue(writer_band));
    QVERIFY(reader_band != writer_band);
    // The legend has the key: the top line's colour of each band is in it.
    bool key[2] = {false, false};
    for (int y = 0; y < plot.top(); ++y)
      for (int x = 0; x < img.width(); ++x) {
        const QRgb c = img.pixel(x, y);
        for (int k = 0; k < 2; ++k) {
          const QColor q = ui::queue_colour(k == 1);
          key[k] = key[k] || (std::abs(qRed(c) - q.red()) < 60 && std::abs(qGreen(c) - q.green()) < 60 &&
                              std::abs(qBlue(c) - q.blue()) < 60);
        }
      }
    QVERIFY(key[0] && key[1]);

    // The tooltip on the plateau: bytes readable.
    const QString tip = view.queueTipAt(QPoint(x_of(250 * ms), top + ui::kQueueBandBottom));
    QVERIFY2(tip.contains(QStringLiteral("6 readable")), qPrintable(tip));
    QVERIFY2(tip.contains(QStringLiteral("bytes")), qPrintable(tip));
    const QString wtip = view.queueTipAt(QPoint(x_of(200 * ms), wtop + ui::kQueueBandBottom));
    QVERIFY2(wtip.contains(QStringLiteral("4096 unsent")), qPrintable(wtip));
    // Before a source exists, or on a lane without queue records: no queue tip.
    QVERIFY(ui::describe_queue(s.feed.index, 0, 250 * ms, {}).isEmpty());
  }
};

QTEST_MAIN(QueueBandTest)
#include "tst_queue_band.moc"
