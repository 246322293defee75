// The timeline's geometry without a widget: layout, lane rows, pixel columns, the legend's
// rows, axis ticks, compare brackets and the follow-live window (data tables, like hotspot's
// tst_timelinedelegate).
#include <QTest>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <vector>

#include "timeline/timeline_geometry.h"

using namespace ready::ui;
using ready::capture::RecordKind;

namespace {
constexpr quint64 kAlive = std::numeric_limits<quint64>::max();
}

Q_DECLARE_METATYPE(std::vector<std::uint32_t>)
Q_DECLARE_METATYPE(std::optional<std::uint32_t>)
Q_DECLARE_METATYPE(std::optional<int>)

class TimelineGeometryTest : public QObject {
  Q_OBJECT

 private slots:
  void layout_data() {
    QTest::addColumn<QRect>("area");
    QTest::addColumn<int>("widest");
    QTest::addColumn<int>("legendRows");
    QTest::addColumn<QRect>("legend");
    QTest::addColumn<QRect>("axis");
    QTest::addColumn<QRect>("labels");
    QTest::addColumn<QRect>("plot");
    QTest::addColumn<int>("rows");
    // Labels narrower than 120 px still get 120.
    QTest::newRow("narrow labels") << QRect(0, 0, 1000, 300) << 50 << 1 << QRect(0, 0, 1000, 20)
                                   << QRect(120, 20, 880, 22) << QRect(0, 42, 120, 258)
                                   << QRect(120, 42, 880, 258) << 9;
    // A label as wide as it needs, up to 35 % of the width.
    QTest::newRow("fits") << QRect(0, 0, 1000, 300) << 200 << 1 << QRect(0, 0, 1000, 20)
                          << QRect(200, 20, 800, 22) << QRect(0, 42, 200, 258) << QRect(200, 42, 800, 258)
                          << 9;
    QTest::newRow("capped at 35 %") << QRect(0, 0, 1000, 300) << 600 << 1 << QRect(0, 0, 1000, 20)
                                    << QRect(350, 20, 650, 22) << QRect(0, 42, 350, 258)
                                    << QRect(350, 42, 650, 258) << 9;
    // Two legend rows push everything down; an area not at the origin (render into a part).
    QTest::newRow("two legend rows, offset")
        << QRect(10, 5, 560, 200) << 0 << 2 << QRect(10, 5, 560, 40) << QRect(130, 45, 440, 22)
        << QRect(10, 67, 120, 138) << QRect(130, 67, 440, 138) << 5;
    // Too short for any lane: an empty label column, a 0-row plot.
    QTest::newRow("no room") << QRect(0, 0, 400, 30) << 0 << 1 << QRect(0, 0, 400, 20)
                             << QRect(120, 20, 280, 22) << QRect(0, 42, 120, 0) << QRect(120, 42, 280, 0)
                             << 0;
  }
  void layout() {
    QFETCH(QRect, area);
    QFETCH(int, widest);
    QFETCH(int, legendRows);
    const TimelineLayout l = timeline_layout(area, label_column_width(widest, area.width()), legendRows);
    QTEST(l.legend, "legend");
    QTEST(l.axis, "axis");
    QTEST(l.labels, "labels");
    QTEST(l.plot, "plot");
    QTEST(l.rows, "rows");
    QCOMPARE(l.area, area);
  }

  void label_extent_data() {
    QTest::addColumn<int>("text");
    QTest::addColumn<int>("depth");
    QTest::addColumn<int>("extent");
    QTest::newRow("top level") << 100 << 0 << 116;
    QTest::newRow("accepted stream") << 100 << 1 << 130;
  }
  void label_extent() {
    QFETCH(int, text);
    QFETCH(int, depth);
    QTEST(lane_label_extent(text, depth), "extent");
  }

  void lane_rows_data() {
    QTest::addColumn<std::vector<std::uint32_t>>("lanes");
    QTest::addColumn<int>("firstRow");
    QTest::addColumn<int>("y");
    QTest::addColumn<std::optional<std::uint32_t>>("lane");
    QTest::addColumn<int>("within");
    const std::vector<std::uint32_t> lanes{0, 4, 2, 7};
    // The plot runs from y 100 to 299.
    QTest::newRow("first row top") << lanes << 0 << 100 << std::optional<std::uint32_t>(0) << 0;
    QTest::newRow("first row bottom") << lanes << 0 << 131 << std::optional<std::uint32_t>(0) << 31;
    QTest::newRow("second row") << lanes << 0 << 132 << std::optional<std::uint32_t>(4) << 0;
    QTest::newRow("scrolled by 2") << lanes << 2 << 140 << std::optional<std::uint32_t>(7) << 8;
    QTest::newRow("past the last lane") << lanes << 0 << 240 << std::optional<std::uint32_t>() << 12;
    QTest::newRow("above the plot") << lanes << 0 << 99 << std::optional<std::uint32_t>() << -1;
    QTest::newRow("below the plot") << lanes << 0 << 300 << std::optional<std::uint32_t>() << 8;
    QTest::newRow("no lanes") << std::vector<std::uint32_t>{} << 0 << 120 << std::optional<std::uint32_t>()
                              << 20;
  }
  void lane_rows() {
    QFETCH(std::vector<std::uint32_t>, lanes);
    QFETCH(int, firstRow);
    QFETCH(int, y);
    const LaneRows rows(lanes, firstRow, 100, 299);
    QTEST(rows.lane_at(y), "lane");
    QTEST(rows.within(y), "within");
  }

  void row_of_lane_data() {
    QTest::addColumn<int>("firstRow");
    QTest::addColumn<std::uint32_t>("lane");
    QTest::addColumn<std::optional<int>>("row");
    QTest::addColumn<int>("top");
    QTest::newRow("first") << 0 << 0u << std::optional<int>(0) << 100;
    QTest::newRow("third") << 0 << 2u << std::optional<int>(2) << 164;
    QTest::newRow("scrolled above") << 2 << 4u << std::optional<int>(-1) << 68;
    QTest::newRow("not shown") << 0 << 9u << std::optional<int>() << 0;
  }
  void row_of_lane() {
    QFETCH(int, firstRow);
    QFETCH(std::uint32_t, lane);
    QFETCH(std::optional<int>, row);
    QFETCH(int, top);
    const std::vector<std::uint32_t> lanes{0, 4, 2, 7};
    const LaneRows rows(lanes, firstRow, 100, 299);
    QCOMPARE(rows.row_of(lane), row);
    if (row) {
      QCOMPARE(rows.top(*row), top);
      // The row the lane is drawn in is the row hit testing finds it in.
      if (*row >= 0) QCOMPARE(rows.lane_at(top + kMarkCentre), std::optional(lane));
    }
  }

  void first_row_clamp_data() {
    QTest::addColumn<int>("firstRow");
    QTest::addColumn<int>("lanes");
    QTest::addColumn<int>("clamped");
    QTest::newRow("in range") << 2 << 5 << 2;
    QTest::newRow("past the end keeps the last lane") << 9 << 5 << 4;
    QTest::newRow("negative") << -3 << 5 << 0;
    QTest::newRow("no lanes") << 3 << 0 << 0;
  }
  void first_row_clamp() {
    QFETCH(int, firstRow);
    QFETCH(int, lanes);
    QTEST(clamp_first_row(firstRow, static_cast<std::size_t>(lanes)), "clamped");
  }

  void record_rows_data() {
    QTest::addColumn<RecordKind>("kind");
    QTest::addColumn<int>("row");
    QTest::addColumn<bool>("actions");
    QTest::newRow("readiness") << RecordKind::readiness << kMarkCentre << false;
    QTest::newRow("source") << RecordKind::source_added << kMarkCentre << false;
    QTest::newRow("action") << RecordKind::action << kTickCentre << true;
    QTest::newRow("poll return") << RecordKind::poll_return << kTickBottom - 2 << true;
  }
  void record_rows() {
    // Where a record is drawn is where a pointer must be to prefer it.
    QFETCH(RecordKind, kind);
    QFETCH(int, row);
    QFETCH(bool, actions);
    QCOMPARE(record_row(kind), row);
    QCOMPARE(points_at_actions(record_row(kind)), actions);
    QVERIFY(!points_at_actions(kBandTop + kBandHeight - 1));
    QVERIFY(points_at_warning(kMarkCentre));
    QVERIFY(!points_at_warning(kTickCentre));
  }

  void columns_data() {
    QTest::addColumn<quint64>("t");
    QTest::addColumn<int>("x");
    // 1000 ns over 100 px starting at x 50: 10 ns a pixel.
    QTest::newRow("start") << quint64(1000) << 50;
    QTest::newRow("within the first pixel") << quint64(1009) << 50;
    QTest::newRow("second pixel") << quint64(1010) << 51;
    QTest::newRow("end") << quint64(2000) << 150;
    QTest::newRow("before the window") << quint64(995) << 49;
  }
  void columns() {
    QFETCH(quint64, t);
    const TimeScale s(1000, 2000, 50, 100);
    QTEST(column_of(s, t), "x");
  }

  void lifetime_data() {
    QTest::addColumn<quint64>("added");
    QTest::addColumn<quint64>("removed");
    QTest::addColumn<int>("begin");
    QTest::addColumn<int>("end");
    // The window [1000, 2000) on 100 px.
    QTest::newRow("alive, in view") << quint64(1200) << kAlive << 20 << 100;
    QTest::newRow("added before the view") << quint64(0) << kAlive << 0 << 100;
    QTest::newRow("removed in view") << quint64(1200) << quint64(1505) << 20 << 51;
    QTest::newRow("shorter than a pixel") << quint64(1500) << quint64(1502) << 50 << 51;
    QTest::newRow("removed before the view") << quint64(100) << quint64(500) << 0 << 0;
    QTest::newRow("added after the view") << quint64(3000) << kAlive << 100 << 100;
  }
  void lifetime() {
    QFETCH(quint64, added);
    QFETCH(quint64, removed);
    QFETCH(int, begin);
    QFETCH(int, end);
    const TimeScale s(1000, 2000, 30, 100);  // the plot's x0 does not matter: columns are plot-relative
    QCOMPARE(lifetime_columns(s, added, removed, 100), (ColumnRange{begin, end}));
  }

  void legend_data() {
    QTest::addColumn<int>("width");
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("glyphRow");
    QTest::addColumn<int>("interestRow");
    QTest::addColumn<int>("stateRow");
    // Groups 400, 300 and 250 px wide, the state 70.
    QTest::newRow("all on one row") << 1100 << 1 << 0 << 0 << 0;
    QTest::newRow("interest key wraps") << 900 << 2 << 0 << 1 << 0;
    QTest::newRow("glyphs wrap, interest follows") << 700 << 2 << 1 << 1 << 0;
    QTest::newRow("too narrow for the interest key") << 500 << 2 << 1 << -1 << 0;
    QTest::newRow("state on the second row") << 450 << 2 << 1 << -1 << 1;
  }
  void legend() {
    QFETCH(int, width);
    const LegendPlan plan = legend_plan({400, 300, 250}, 70, width);
    QTEST(plan.rows, "rows");
    QCOMPARE(plan.row[0], 0);  // the readiness kinds always lead the first row
    QTEST(plan.row[1], "glyphRow");
    QTEST(plan.row[2], "interestRow");
    QTEST(plan.state_row, "stateRow");
  }

  void axis_data() {
    QTest::addColumn<quint64>("t0");
    QTest::addColumn<quint64>("t1");
    QTest::addColumn<double>("width");
    QTest::addColumn<quint64>("step");
    QTest::addColumn<quint64>("first");
    QTest::addColumn<QString>("unit");
    QTest::addColumn<int>("decimals");
    // At least 100 px between ticks, 1-2-5 steps.
    QTest::newRow("1 s on 1000 px") << quint64(0) << quint64(1'000'000'000) << 1000.0 << quint64(100'000'000)
                                    << quint64(0) << QStringLiteral("ms") << 0;
    QTest::newRow("2 steps") << quint64(0) << quint64(1'500'000) << 1000.0 << quint64(200'000) << quint64(0)
                             << QStringLiteral("µs") << 0;
    QTest::newRow("5 steps") << quint64(0) << quint64(4'000) << 1000.0 << quint64(500) << quint64(0)
                             << QStringLiteral("ns") << 0;
    QTest::newRow("sub-unit step") << quint64(0) << quint64(1'000'000) << 500.0 << quint64(200'000)
                                   << quint64(0) << QStringLiteral("µs") << 0;
    QTest::newRow("seconds") << quint64(0) << quint64(10'000'000'000) << 1000.0 << quint64(1'000'000'000)
                             << quint64(0) << QStringLiteral("s") << 0;
    QTest::newRow("ms step in a s window") << quint64(0) << quint64(4'000'000'000) << 1000.0
                                           << quint64(500'000'000) << quint64(0) << QStringLiteral("ms") << 0;
    QTest::newRow("first tick rounds up") << quint64(1'234) << quint64(5'234) << 1000.0 << quint64(500)
                                          << quint64(1'500) << QStringLiteral("ns") << 0;
    QTest::newRow("minimum span") << quint64(100) << quint64(116) << 1000.0 << quint64(2) << quint64(100)
                                  << QStringLiteral("ns") << 0;
  }
  void axis() {
    QFETCH(quint64, t0);
    QFETCH(quint64, t1);
    QFETCH(double, width);
    const AxisTicks a = axis_ticks(TimeScale(t0, t1, 0, width));
    QTEST(quint64(a.step), "step");
    QTEST(quint64(a.first), "first");
    QTEST(QString::fromUtf8(a.unit_name), "unit");
    QTEST(a.decimals, "decimals");
  }

  void compare_brackets_data() {
    QTest::addColumn<int>("firstRow");
    QTest::addColumn<int>("rows");
    QTest::addColumn<std::vector<int>>("bracketRows");
    // Lanes 0 1 2 3 4 5; pins 1 -> 2 (adjacent), 3 -> 5 (not adjacent: no bracket), 4 -> 5.
    QTest::newRow("all in view") << 0 << 8 << std::vector<int>{1, 4};
    QTest::newRow("scrolled") << 2 << 8 << std::vector<int>{2};
    QTest::newRow("partner below the last row") << 0 << 2 << std::vector<int>{};
    QTest::newRow("partner in the last row") << 0 << 3 << std::vector<int>{1};
  }
  void compare_brackets() {
    QFETCH(int, firstRow);
    QFETCH(int, rows);
    QFETCH(std::vector<int>, bracketRows);
    const std::vector<std::uint32_t> lanes{0, 1, 2, 3, 4, 5};
    const std::map<std::uint32_t, std::uint32_t> pins{{1, 2}, {3, 5}, {4, 5}};
    const auto brackets = ready::ui::compare_brackets(lanes, firstRow, rows, [&](std::uint32_t lane) {
      const auto it = pins.find(lane);
      return it == pins.end() ? std::nullopt : std::optional(it->second);
    });
    std::vector<int> got;
    for (const CompareBracket& b : brackets) {
      got.push_back(b.row);
      QCOMPARE(b.left_lane, lanes[static_cast<std::size_t>(firstRow + b.row)]);
    }
    QCOMPARE(got, bracketRows);
  }

  void bracket_place() {
    // Spans both lanes (4 px in from each end); the label sits on the boundary between them.
    const BracketPlacement b = bracket_placement(10, 100);
    QCOMPARE(b.x, 13);
    QCOMPARE(b.y_top, 104);
    QCOMPARE(b.y_bottom, 100 + 2 * kLaneHeight - 4);
    QCOMPARE(b.label_x, 21);
    QCOMPARE(b.label_y, 100 + kLaneHeight);
  }

  void live_data() {
    QTest::addColumn<bool>("fullRange");
    QTest::addColumn<quint64>("viewSpan");
    QTest::addColumn<quint64>("t0");
    QTest::addColumn<quint64>("t1");
    // Data [1000, 33000): span 32000, so 1/32 is 1000 ns.
    QTest::newRow("whole capture") << true << quint64(5000) << quint64(1000) << quint64(34000);
    QTest::newRow("zoomed: span kept") << false << quint64(3200) << quint64(29900) << quint64(33100);
    QTest::newRow("span wider than the data") << false << quint64(100000) << quint64(0) << quint64(36125);
  }
  void live() {
    QFETCH(bool, fullRange);
    QFETCH(quint64, viewSpan);
    QFETCH(quint64, t0);
    QFETCH(quint64, t1);
    const TimeWindow w = live_window({1000, 33000}, {0, viewSpan}, fullRange);
    QCOMPARE(w, (TimeWindow{t0, t1}));
  }

  void centred_data() {
    QTest::addColumn<quint64>("t");
    QTest::addColumn<quint64>("t0");
    QTest::newRow("middle") << quint64(10000) << quint64(9500);
    QTest::newRow("near zero") << quint64(200) << quint64(0);
  }
  void centred() {
    QFETCH(quint64, t);
    QFETCH(quint64, t0);
    QCOMPARE(centred_on({0, 1000}, t), (TimeWindow{t0, t0 + 1000}));
  }
};

QTEST_GUILESS_MAIN(TimelineGeometryTest)
#include "tst_timeline_geometry.moc"
