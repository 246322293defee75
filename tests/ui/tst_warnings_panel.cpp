// The warnings list: warning records fed through a bridge become rows in words, each with the
// lesson that explains it; the list is bounded and counts what it drops; in the window a
// warning marks its source's lane and its lesson link opens the Lessons panel.
#include <QDockWidget>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

#include "session/bridge.h"
#include "session/capture_session.h"
#include "panels/lessons_panel.h"
#include "window/main_window.h"
#include "models_test_util.h"
#include "ready_test.h"
#include "models/record_format.h"
#include "timeline/laneindex.h"
#include "timeline/timelineview.h"
#include "panels/warnings_panel.h"
#include "window_test_util.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::ui;
using namespace ready::test;

namespace {

Record warning(std::uint64_t t, std::uint64_t token, WarningKind kind, std::uint64_t value) {
  Record r;
  r.t_ns = t;
  r.token = token;
  r.fd = 7;
  r.kind = RecordKind::warning;
  r.op = static_cast<std::uint8_t>(kind);
  r.value = value;
  return r;
}

Record added(std::uint64_t t, std::uint64_t token) {
  Record r;
  r.t_ns = t;
  r.token = token;
  r.fd = 7;
  r.kind = RecordKind::source_added;
  r.op = static_cast<std::uint8_t>(SourceKind::unix_stream);
  return r;
}

Record note(std::uint64_t t) {
  Record r;
  r.t_ns = t;
  r.kind = RecordKind::note;
  return r;
}

// A bridge over a ring the test fills; frames only when the test flushes.
struct Fed {
  Fed() {
    auto owned = std::make_unique<RingFeed>(1 << 15);
    feed = owned.get();
    Bridge::Options o;
    o.frame_interval_ms = 3'600'000;
    bridge = std::make_unique<Bridge>(std::move(owned), o);
  }
  void push(const Record& r) {
    while (!feed->ring.try_push(r)) bridge->drain_now();
  }
  void deliver() {
    (void)feed->notifier.notify();
    while (bridge->drain_now() > 0) {
    }
    bridge->flush_frame();
  }
  RingFeed* feed = nullptr;
  std::unique_ptr<Bridge> bridge;
};

}  // namespace

class TestWarningsPanel : public CoreTest {
  Q_OBJECT

  QTemporaryDir m_settingsDir;

 private slots:
  void initTestCase() { QVERIFY(prepare_window_suite(QStringLiteral("tst_warnings_panel"), m_settingsDir.path())); }

  void everyWarningKindHasWordsAndItsLesson() {
    // Pitfalls name their lesson; bounds (payload_truncated, engine_error) have none.
    const struct {
      WarningKind kind;
      const char* lesson;
      const char* words;
    } cases[] = {
        {WarningKind::et_partial_read, "et-partial-read", "edge-triggered read stopped with 6 bytes left and no new edge will come"},
        {WarningKind::oneshot_disarmed_pending, "oneshot-rearm", "not rearmed while 6 bytes wait"},
        {WarningKind::level_writable_spin, "writable-interest", "writable reported 6 times with nothing written"},
        {WarningKind::read_after_close, "half-close", "after read_closed"},
        {WarningKind::event_after_close, "stale-event", "already closed"},
        {WarningKind::emfile, "emfile-listener", "descriptor limit"},
        {WarningKind::payload_truncated, "", "cut short"},
        {WarningKind::engine_error, "", "unexpected error"},
    };
    Fed f;
    ready::ui::CaptureSession session(*f.bridge);
    WarningsModel& model = session.warnings();
    model.setLabeler([](std::uint64_t t) { return QStringLiteral("src%1").arg(t); });
    std::uint64_t t = 100;
    for (const auto& c : cases) f.push(warning(t++, 3, c.kind, 6));
    f.push(note(t++));  // not a warning: no row
    f.deliver();
    QCOMPARE(model.rowCount(), static_cast<int>(std::size(cases)));
    for (int row = 0; row < model.rowCount(); ++row) {
      const auto& c = cases[row];
      const QString words = model.index(row, WarningsModel::DetailColumn).data().toString();
      QVERIFY2(words.contains(QLatin1String(c.words)), qPrintable(words));
      QCOMPARE(model.index(row, WarningsModel::WarningColumn).data().toString(), warning_title(c.kind));
      QVERIFY(warning_title(c.kind) != QString::fromUtf8(to_string(c.kind)));  // words, not the enum's name
      QCOMPARE(model.index(row, WarningsModel::SourceColumn).data().toString(), QStringLiteral("src3"));
      QCOMPARE(model.index(row, WarningsModel::TimeColumn).data().toString(), format_time_ns(100 + row));
      QCOMPARE(model.lessonAt(row), QLatin1String(c.lesson));
      const QString link = model.index(row, WarningsModel::LessonColumn).data().toString();
      QCOMPARE(link.isEmpty(), QLatin1String(c.lesson).isEmpty());
      if (!link.isEmpty()) QVERIFY(link.contains(QLatin1String(c.lesson)));
    }
    QCOMPARE(model.dropped(), std::uint64_t{0});
    QCOMPARE(model.total(), std::uint64_t{std::size(cases)});
  }

  void theListIsBoundedAndCountsWhatItDrops() {
    Fed f;
    ready::ui::CaptureSession session(*f.bridge);
    WarningsPanel panel(session);
    WarningsModel& model = *panel.model();
    constexpr int kExtra = 25;
    const int n = WarningsModel::kMaxRows + kExtra;
    // In two frames, so both the table's and the queue's bound are crossed.
    for (int i = 0; i < n / 2; ++i) f.push(warning(1000 + i, 1, WarningKind::et_partial_read, i));
    f.deliver();
    QCOMPARE(model.rowCount(), n / 2);
    for (int i = n / 2; i < n; ++i) f.push(warning(1000 + i, 1, WarningKind::et_partial_read, i));
    f.deliver();
    QCOMPARE(model.rowCount(), WarningsModel::kMaxRows);
    QCOMPARE(model.dropped(), std::uint64_t{kExtra});
    QCOMPARE(model.total(), std::uint64_t(n));
    // The oldest left; the newest stay, in order.
    QCOMPARE(model.rowAt(0).record.value, std::uint64_t{kExtra});
    QCOMPARE(model.rowAt(model.rowCount() - 1).record.value, std::uint64_t(n - 1));
    QVERIFY2(panel.countText().contains(QStringLiteral("%1 older dropped").arg(kExtra)), qPrintable(panel.countText()));
    QVERIFY(panel.countText().contains(QString::number(WarningsModel::kMaxRows)));

    // More than the bound in a single frame: only the newest kMaxRows are kept.
    Fed g;
    ready::ui::CaptureSession gs(*g.bridge);
    WarningsModel& one = gs.warnings();
    for (int i = 0; i < n; ++i) g.push(warning(1000 + i, 1, WarningKind::et_partial_read, i));
    g.deliver();
    QCOMPARE(one.rowCount(), WarningsModel::kMaxRows);
    QCOMPARE(one.dropped(), std::uint64_t{kExtra});
    QCOMPARE(one.rowAt(0).record.value, std::uint64_t{kExtra});
  }

  void rowsSelectTheirRecordAndLinkTheirLesson() {
    Fed f;
    ready::ui::CaptureSession session(*f.bridge);
    WarningsPanel panel(session);
    f.push(warning(10, 2, WarningKind::payload_truncated, 100));
    f.push(warning(20, 2, WarningKind::read_after_close, 1));
    f.deliver();
    QCOMPARE(panel.model()->rowCount(), 2);
    QSignalSpy lessons(&panel, &WarningsPanel::lessonRequested);
    QSignalSpy records(&panel, &WarningsPanel::recordActivated);
    // No lesson for a bound.
    QVERIFY(!panel.openLessonOf(0));
    QVERIFY(panel.openLessonOf(1));
    QCOMPARE(lessons.count(), 1);
    QCOMPARE(lessons.first().first().toString(), QStringLiteral("half-close"));
    // Selecting a row activates its record (its global store index).
    panel.view()->selectRow(1);
    QCOMPARE(records.count(), 1);
    QCOMPARE(records.first().first().toULongLong(), panel.model()->rowAt(1).index);
    QCOMPARE(f.bridge->store().at(panel.model()->rowAt(1).index).op, static_cast<std::uint8_t>(WarningKind::read_after_close));
    QVERIFY(panel.lessonButton()->isEnabled());
    panel.view()->selectRow(0);
    QVERIFY(!panel.lessonButton()->isEnabled());
  }

  void inTheWindowAWarningMarksItsLaneAndOpensItsLesson() {
    auto owned = std::make_unique<RingFeed>(1 << 12);
    RingFeed& feed = *owned;
    auto window = std::make_unique<MainWindow>(std::make_unique<Bridge>(std::move(owned), Bridge::Options{}));
    window->resize(1400, 800);
    window->show();
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    QVERIFY(feed.ring.try_push(added(5, 4)));
    QVERIFY(feed.ring.try_push(warning(50, 4, WarningKind::et_partial_read, 6)));
    (void)feed.notifier.notify();
    WarningsPanel* panel = window->warningsPanel();
    QVERIFY(panel);
    QTRY_COMPARE_WITH_TIMEOUT(panel->model()->rowCount(), 1, kUiWaitMs);
    // The source's label as the window words it.
    QVERIFY2(panel->model()->index(0, WarningsModel::SourceColumn).data().toString().startsWith(QStringLiteral("#4")),
             qPrintable(panel->model()->index(0, WarningsModel::SourceColumn).data().toString()));
    // A mark on the source's lane.
    const LaneIndex& lanes = window->laneIndex();
    const auto lane = lanes.lane_of(4);
    QVERIFY(lane);
    QCOMPARE(lanes.markers().size(), std::size_t{1});
    QCOMPARE(lanes.markers().front().lane, static_cast<std::int32_t>(*lane));
    // The mark is found under the record's place on the lane (its tooltip words it).
    TimelineView* timeline = window->timeline();
    timeline->zoomReset();
    const std::uint64_t windex = panel->model()->rowAt(0).index;
    std::optional<QPoint> at;
    QTRY_VERIFY_WITH_TIMEOUT((at = timeline->recordPosition(windex)).has_value(), kUiWaitMs);
    const TimelineMarker* mark = timeline->warningAt(*at);
    QVERIFY2(mark, qPrintable(QStringLiteral("at %1,%2 plot %3,%4 %5x%6 view %7..%8 lane %9")
                                  .arg(at->x()).arg(at->y())
                                  .arg(timeline->plotRect().x()).arg(timeline->plotRect().y())
                                  .arg(timeline->plotRect().width()).arg(timeline->plotRect().height())
                                  .arg(timeline->view().t0).arg(timeline->view().t1)
                                  .arg(timeline->laneAt(at->y()) ? int(*timeline->laneAt(at->y())) : -1)));
    QCOMPARE(mark->index, windex);
    QVERIFY(!timeline->warningAt(*at + QPoint(0, TimelineView::kLaneHeight)));  // not on the next lane
    // Selecting the row selects its record on the timeline.
    panel->view()->selectRow(0);
    QCOMPARE(window->timeline()->selectedRecord(), std::optional<std::uint64_t>(panel->model()->rowAt(0).index));
    // The lesson link opens the lesson in the Lessons panel, shown.
    auto* dock = window->findChild<QDockWidget*>(QStringLiteral("lessonsDock"));
    QVERIFY(dock);
    dock->hide();
    QVERIFY(panel->openLessonOf(0));
    QVERIFY(dock->isVisible());
    QVERIFY(window->lessonsPanel()->scenario());
    QCOMPARE(QString::fromStdString(window->lessonsPanel()->scenario()->name), QStringLiteral("et-partial-read"));
    auto* wdock = window->findChild<QDockWidget*>(QStringLiteral("warningsDock"));
    QVERIFY(wdock && wdock->isVisible());
  }
};

QTEST_MAIN(TestWarningsPanel)
#include "tst_warnings_panel.moc"
