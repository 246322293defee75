// TimeScale and ZoomStack: the timeline's time <-> pixel mapping and zoom history.
#include <QTest>

#include <cmath>
#include <cstdint>
#include <limits>

#include "timeline/timescale.h"

using ready::ui::TimeScale;
using ready::ui::TimeWindow;
using ready::ui::ZoomStack;

namespace {
constexpr quint64 kMax = std::numeric_limits<quint64>::max();
}

class TimelineScaleTest : public QObject {
  Q_OBJECT

 private slots:
  void x_of_time_data() {
    QTest::addColumn<quint64>("t0");
    QTest::addColumn<quint64>("t1");
    QTest::addColumn<double>("x0");
    QTest::addColumn<double>("width");
    QTest::addColumn<quint64>("t");
    QTest::addColumn<double>("x");
    QTest::newRow("start") << quint64(1000) << quint64(2000) << 10.0 << 100.0 << quint64(1000) << 10.0;
    QTest::newRow("end") << quint64(1000) << quint64(2000) << 10.0 << 100.0 << quint64(2000) << 110.0;
    QTest::newRow("middle") << quint64(1000) << quint64(2000) << 10.0 << 100.0 << quint64(1500) << 60.0;
    QTest::newRow("before") << quint64(1000) << quint64(2000) << 0.0 << 100.0 << quint64(500) << -50.0;
    QTest::newRow("zero before huge t0") << quint64(kMax - 1000) << quint64(kMax) << 0.0 << 1000.0 << quint64(0)
                                          << -static_cast<double>(kMax - 1000);
    // Offsets are exact integers before they become doubles: a 1-ns step near 2^64 shows.
    QTest::newRow("near 2^64") << quint64(kMax - 1000) << quint64(kMax) << 0.0 << 1000.0 << quint64(kMax - 999)
                               << 1.0;
    QTest::newRow("full range") << quint64(0) << kMax << 0.0 << 1000.0 << kMax / 2 << 500.0;
  }
  void x_of_time() {
    QFETCH(quint64, t0);
    QFETCH(quint64, t1);
    QFETCH(double, x0);
    QFETCH(double, width);
    QFETCH(quint64, t);
    QFETCH(double, x);
    const TimeScale s(t0, t1, x0, width);
    QCOMPARE(s.x(t), x);
  }

  void time_of_x_data() {
    QTest::addColumn<quint64>("t0");
    QTest::addColumn<quint64>("t1");
    QTest::addColumn<double>("x");
    QTest::addColumn<quint64>("t");
    QTest::newRow("start") << quint64(1000) << quint64(2000) << 0.0 << quint64(1000);
    QTest::newRow("fraction rounds down") << quint64(1000) << quint64(2000) << 0.55 << quint64(1005);
    QTest::newRow("end") << quint64(1000) << quint64(2000) << 100.0 << quint64(2000);
    QTest::newRow("saturates at 0") << quint64(1000) << quint64(2000) << -1000.0 << quint64(0);
    QTest::newRow("saturates at max") << quint64(kMax - 100) << kMax << 1e6 << kMax;
    QTest::newRow("near max") << quint64(kMax - 1000) << kMax << 1.0 << quint64(kMax - 990);
  }
  void time_of_x() {
    QFETCH(quint64, t0);
    QFETCH(quint64, t1);
    QFETCH(double, x);
    QFETCH(quint64, t);
    const TimeScale s(t0, t1, 0, 100);
    QCOMPARE(quint64(s.time(x)), t);
  }

  void round_trip_data() {
    QTest::addColumn<quint64>("t0");
    QTest::addColumn<quint64>("span");
    QTest::newRow("ns") << quint64(0) << quint64(1920);
    QTest::newRow("s") << quint64(5'000'000'000) << quint64(1'000'000'000);
    QTest::newRow("days, high") << (quint64(1) << 40) << quint64(86'400'000'000'000);
  }
  void round_trip() {
    QFETCH(quint64, t0);
    QFETCH(quint64, span);
    const TimeScale s(t0, t0 + span, 7, 1920);
    for (int px = 0; px <= 1920; px += 97) {
      const std::uint64_t t = s.time(7 + px);
      // The time found maps back into the same pixel (time() rounds down).
      QVERIFY2(s.x(t) <= 7 + px + 1e-6 && s.x(t) > 7 + px - 1.0, qPrintable(QString::number(s.x(t))));
    }
  }

  void min_span_and_width() {
    const TimeScale s(100, 100, 0, 0);
    QCOMPARE(s.span(), TimeScale::kMinSpan);
    QCOMPARE(s.width(), 1.0);
    const TimeScale top(kMax, kMax, 0, 10);
    QCOMPARE(top.t1(), kMax);
    QCOMPARE(top.span(), TimeScale::kMinSpan);
  }

  void zoom_data() {
    QTest::addColumn<quint64>("t0");
    QTest::addColumn<quint64>("t1");
    QTest::addColumn<double>("factor");
    QTest::addColumn<double>("at");
    QTest::addColumn<quint64>("new_t0");
    QTest::addColumn<quint64>("new_t1");
    // 1000 px.
    QTest::newRow("in x2 at left") << quint64(0) << quint64(1000) << 2.0 << 0.0 << quint64(0) << quint64(500);
    QTest::newRow("in x2 at centre") << quint64(0) << quint64(1000) << 2.0 << 500.0 << quint64(250)
                                     << quint64(750);
    QTest::newRow("in x2 at right") << quint64(0) << quint64(1000) << 2.0 << 1000.0 << quint64(500)
                                    << quint64(1000);
    QTest::newRow("out x2 at centre") << quint64(1000) << quint64(2000) << 0.5 << 500.0 << quint64(500)
                                      << quint64(2500);
    QTest::newRow("out stops at 0") << quint64(100) << quint64(1100) << 0.5 << 500.0 << quint64(0)
                                    << quint64(2000);
    QTest::newRow("out stops at max") << quint64(kMax - 1000) << kMax << 0.5 << 500.0 << quint64(kMax - 2000)
                                      << kMax;
    QTest::newRow("in stops at min span") << quint64(0) << quint64(1000) << 1000.0 << 0.0 << quint64(0)
                                          << quint64(TimeScale::kMinSpan);
    QTest::newRow("bad factor") << quint64(0) << quint64(1000) << -1.0 << 0.0 << quint64(0) << quint64(1000);
    QTest::newRow("cursor outside clamps") << quint64(0) << quint64(1000) << 2.0 << 5000.0 << quint64(500)
                                           << quint64(1000);
  }
  void zoom() {
    QFETCH(quint64, t0);
    QFETCH(quint64, t1);
    QFETCH(double, factor);
    QFETCH(double, at);
    QFETCH(quint64, new_t0);
    QFETCH(quint64, new_t1);
    const TimeScale z = TimeScale(t0, t1, 0, 1000).zoomed(factor, at);
    QCOMPARE(quint64(z.t0()), new_t0);
    QCOMPARE(quint64(z.t1()), new_t1);
  }

  void zoom_keeps_time_under_cursor_data() {
    QTest::addColumn<double>("factor");
    QTest::addColumn<double>("at");
    QTest::newRow("in") << 1.25 << 333.0;
    QTest::newRow("out") << 0.8 << 900.0;
    QTest::newRow("deep in") << 64.0 << 10.0;
  }
  void zoom_keeps_time_under_cursor() {
    QFETCH(double, factor);
    QFETCH(double, at);
    const TimeScale s(3'000'000'000, 4'000'000'000, 0, 1000);
    const TimeScale z = s.zoomed(factor, at);
    const double before = static_cast<double>(s.time(at));
    const double after = static_cast<double>(z.time(at));
    QVERIFY2(std::abs(before - after) <= 2 + s.ns_per_pixel() * 1e-9, qPrintable(QString::number(after - before)));
    QVERIFY(std::abs(static_cast<double>(z.span()) - static_cast<double>(s.span()) / factor) <= 1);
  }

  void pan_data() {
    QTest::addColumn<quint64>("t0");
    QTest::addColumn<double>("dx");
    QTest::addColumn<quint64>("new_t0");
    QTest::newRow("later") << quint64(10'000) << 100.0 << quint64(11'000);
    QTest::newRow("earlier") << quint64(10'000) << -100.0 << quint64(9'000);
    QTest::newRow("stops at 0") << quint64(500) << -100.0 << quint64(0);
    QTest::newRow("stops at max") << quint64(kMax - 20'000) << 1e9 << quint64(kMax - 10'000);
  }
  void pan() {
    QFETCH(quint64, t0);
    QFETCH(double, dx);
    QFETCH(quint64, new_t0);
    const TimeScale p = TimeScale(t0, t0 + 10'000, 0, 1000).panned(dx);
    QCOMPARE(quint64(p.t0()), new_t0);
    QCOMPARE(p.span(), std::uint64_t{10'000});
  }

  void clamp_data() {
    QTest::addColumn<quint64>("t0");
    QTest::addColumn<quint64>("t1");
    QTest::addColumn<quint64>("lo");
    QTest::addColumn<quint64>("hi");
    QTest::addColumn<quint64>("new_t0");
    QTest::addColumn<quint64>("new_t1");
    QTest::newRow("inside") << quint64(100) << quint64(200) << quint64(0) << quint64(1000) << quint64(100)
                            << quint64(200);
    QTest::newRow("before") << quint64(0) << quint64(100) << quint64(500) << quint64(1000) << quint64(500)
                            << quint64(600);
    QTest::newRow("after") << quint64(2000) << quint64(2100) << quint64(500) << quint64(1000) << quint64(900)
                           << quint64(1000);
    QTest::newRow("wider than data") << quint64(0) << quint64(5000) << quint64(500) << quint64(1000)
                                     << quint64(500) << quint64(1000);
    QTest::newRow("empty data") << quint64(0) << quint64(5000) << quint64(7) << quint64(7) << quint64(0)
                                << quint64(5000);
  }
  void clamp() {
    QFETCH(quint64, t0);
    QFETCH(quint64, t1);
    QFETCH(quint64, lo);
    QFETCH(quint64, hi);
    QFETCH(quint64, new_t0);
    QFETCH(quint64, new_t1);
    const TimeScale c = TimeScale(t0, t1, 0, 100).clamped(lo, hi);
    QCOMPARE(quint64(c.t0()), new_t0);
    QCOMPARE(quint64(c.t1()), new_t1);
  }

  void zoom_stack() {
    ZoomStack z({0, 1000});
    QVERIFY(!z.can_go_back());
    QVERIFY(!z.back().has_value());
    z.push({0, 1000});
    z.push({100, 200});
    QVERIFY(z.can_go_back());
    QCOMPARE(z.depth(), std::size_t{2});
    QCOMPARE(*z.back(), (TimeWindow{100, 200}));
    QCOMPARE(*z.back(), (TimeWindow{0, 1000}));
    QVERIFY(!z.can_go_back());
    z.push({1, 2});
    z.set_full({0, 5000});
    QCOMPARE(z.reset(), (TimeWindow{0, 5000}));
    QVERIFY(!z.can_go_back());
  }

  void zoom_stack_is_bounded() {
    ZoomStack z;
    for (std::uint64_t i = 0; i < ZoomStack::kMaxDepth + 10; ++i) z.push({i, i + 100});
    QCOMPARE(z.depth(), ZoomStack::kMaxDepth);
    // The newest is on top, the oldest ten were forgotten.
    QCOMPARE(z.back()->t0, ZoomStack::kMaxDepth + 9);
    std::optional<TimeWindow> last;
    while (auto v = z.back()) last = v;
    QCOMPARE(last->t0, std::uint64_t{10});
  }
};

QTEST_GUILESS_MAIN(TimelineScaleTest)
#include "tst_timeline_scale.moc"
