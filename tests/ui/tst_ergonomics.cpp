// The window's ergonomics on a real engine: an idle window runs no frame timer, a lesson
// folds the panels and the view follows its steps, the wheel scrolls lanes (Ctrl+wheel
// zooms), the lane scroll bar, the sources table's drop-downs, Jump to time with the log's
// own text.
#include <QComboBox>
#include <QDockWidget>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>
#include <memory>

#include "models/bookmarks.h"
#include "models/event_log_model.h"
#include "models/sources_model.h"
#include "models/time_text.h"
#include "panels/choice_delegate.h"
#include "panels/lessons_panel.h"
#include "ready/capture/store.h"
#include "ready_test.h"
#include "session/scenario_player.h"
#include "timeline/timelineview.h"
#include "window/lesson_layout.h"
#include "window_test_util.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::ui;
using namespace ready::test;

namespace {

constexpr int kWaitMs = 15000;

// Active QTimers the window owns (its status timer among them), by object or class name.
QStringList activeTimers(const QObject& root) {
  QStringList out;
  for (const QTimer* t : root.findChildren<QTimer*>())
    if (t->isActive()) out << (t->objectName().isEmpty() ? QStringLiteral("QTimer") : t->objectName());
  return out;
}

}  // namespace

class TestErgonomics : public QObject {
  Q_OBJECT

  QTemporaryDir m_settingsDir;

  std::unique_ptr<MainWindow> openWindow() { return open_live_window(); }

 private slots:
  void initTestCase() { QVERIFY(prepare_window_suite(QStringLiteral("tst_ergonomics"), m_settingsDir.path())); }

  // No records, no wake-ups: the frame timer (and the status bar's) stop once records stop
  // coming, and start again with the next one.
  void idleWindowRunsNoFrameTimer() {
    auto w = openWindow();
    QVERIFY(w);
    QVERIFY(!w->bridge().frame_timer_active());  // nothing arrived yet
    // The timeline has the focus, not a line edit (whose cursor would blink forever).
    QTRY_COMPARE_WITH_TIMEOUT(QApplication::focusWidget(), static_cast<QWidget*>(w->timeline()), kWaitMs);
    const auto t = w->bridge().submit(cmd::EventFdCreate{});
    QVERIFY(t);
    QTRY_VERIFY_WITH_TIMEOUT(w->bridge().frame_timer_active(), kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(!w->bridge().frame_timer_active(), kWaitMs);
    QTRY_VERIFY2_WITH_TIMEOUT(activeTimers(*w).isEmpty(), qPrintable(activeTimers(*w).join(u' ')), kWaitMs);
    // The idle status line still has the final figures.
    QCOMPARE(w->bridge().status().records_per_s, 0.0);

    const std::uint64_t before = w->bridge().store().end_index();
    QVERIFY(w->bridge().submit(cmd::EventFdWrite{t->token, 5}));
    QTRY_VERIFY_WITH_TIMEOUT(w->bridge().frame_timer_active(), kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(w->bridge().store().end_index() > before, kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(!w->bridge().frame_timer_active(), kWaitMs);
  }

  // Playing a lesson folds the sources, log and warnings into the strip; each step's records
  // fill the width as they come; the strip brings the panels back in one click.
  void lessonFoldsThePanelsAndFollowsItsSteps() {
    auto w = openWindow();
    QVERIFY(w);
    auto* sourcesDock = w->findChild<QDockWidget*>(QStringLiteral("sourcesDock"));
    auto* warningsDock = w->findChild<QDockWidget*>(QStringLiteral("warningsDock"));
    QVERIFY(sourcesDock && warningsDock);
    QVERIFY(sourcesDock->isVisible());
    LessonLayout* layout = w->lessonLayout();
    QVERIFY(layout && !layout->isFolded() && !layout->strip()->isVisible());
    const int narrowTimeline = w->timeline()->height();

    LessonsPanel* panel = w->lessonsPanel();
    QVERIFY(panel->openLesson(QStringLiteral("et-partial-read")));
    QSignalSpy finished(panel, &LessonsPanel::lessonFinished);
    QSignalSpy stepped(panel, &LessonsPanel::stepStarted);
    panel->setSpeed(16);
    panel->play();
    QTRY_VERIFY_WITH_TIMEOUT(layout->isFolded(), kWaitMs);
    QVERIFY(layout->strip()->isVisible());
    QVERIFY(!sourcesDock->isVisible());
    QVERIFY(!warningsDock->isVisible());
    // The lessons dock, with the narration, stays beside the timeline.
    QVERIFY(panel->isVisible());
    QTRY_VERIFY_WITH_TIMEOUT(w->timeline()->height() > narrowTimeline, kWaitMs);

    // The view follows the running step from its first record: a later step's anchor is
    // after the lesson's start, and its span is at least kMinStepSpan.
    const RecordStore& store = w->bridge().store();
    QTRY_VERIFY_WITH_TIMEOUT(stepped.count() >= 2 && layout->lessonStart() && w->timeline()->followedFrom() &&
                                 *w->timeline()->followedFrom() > *layout->lessonStart(),
                             kWaitMs);
    QCOMPARE(w->timeline()->view().t0, *w->timeline()->followedFrom());
    QVERIFY(w->timeline()->view().span() >= LessonLayout::kMinStepSpan);
    QTRY_VERIFY_WITH_TIMEOUT(finished.count() == 1, 60000);
    w->bridge().flush_frame();
    // Finished: the whole lesson in view, every readiness mark of it.
    auto wholeInView = [&] {
      QCOMPARE(w->timeline()->view().t0, *layout->lessonStart());
      for (std::uint64_t i = store.begin_index(); i < store.end_index(); ++i)
        if (store.kind_at(i) == RecordKind::readiness) {
          QVERIFY(store.time_at(i) >= w->timeline()->view().t0);
          QVERIFY(store.time_at(i) < w->timeline()->view().t1);
        }
    };
    wholeInView();

    // The lesson's names come first in the lane labels (“et_reader” #…).
    const auto reader = panel->player()->runner().token_of("et_reader");
    QVERIFY(reader);
    QVERIFY2(w->laneLabel(reader->value).startsWith(QStringLiteral("“et_reader”")),
             qPrintable(w->laneLabel(reader->value)));

    // "Whole lesson": from the lesson's first record on.
    auto* whole = layout->strip()->findChild<QPushButton*>(QStringLiteral("lessonStripWhole"));
    QVERIFY(whole);
    w->timeline()->setView(0, 1000);  // a zoom by hand
    whole->click();
    QCOMPARE(w->timeline()->followedFrom(), layout->lessonStart());
    wholeInView();

    // One click brings the panels back.
    auto* show = layout->strip()->findChild<QPushButton*>(QStringLiteral("lessonStripShow"));
    QVERIFY(show);
    show->click();
    QVERIFY(!layout->isFolded());
    QVERIFY(!layout->strip()->isVisible());
    QTRY_VERIFY_WITH_TIMEOUT(sourcesDock->isVisible(), kWaitMs);
    QVERIFY(!warningsDock->isHidden());
  }

  // The wheel scrolls the lanes (with a scroll bar when they do not fit), Ctrl+wheel zooms.
  void wheelScrollsLanesCtrlWheelZooms() {
    auto w = openWindow();
    QVERIFY(w);
    w->resize(900, 500);
    for (int i = 0; i < 30; ++i) QVERIFY(w->bridge().submit(cmd::EventFdCreate{}));
    TimelineView* view = w->timeline();
    QTRY_VERIFY_WITH_TIMEOUT(view->shownLaneCount() == 31, kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(view->laneScrollBar()->isVisible(), kWaitMs);
    QScrollBar* bar = view->laneScrollBar();
    QVERIFY(bar->maximum() > 0);
    QCOMPARE(view->firstRow(), 0);

    const QPoint at = view->plotRect().center();
    const TimeWindow before = view->view();
    QWheelEvent down(at, view->mapToGlobal(at), {}, QPoint(0, -120), Qt::NoButton, {}, Qt::NoScrollPhase, false);
    QApplication::sendEvent(view, &down);
    QCOMPARE(view->firstRow(), static_cast<int>(TimelineView::kWheelRows));
    QCOMPARE(view->view(), before);  // no zoom
    view->repaint();
    QCOMPARE(bar->value(), view->firstRow());

    // The scroll bar scrolls too.
    bar->setValue(1);
    QCOMPARE(view->firstRow(), 1);

    QWheelEvent zoom(at, view->mapToGlobal(at), {}, QPoint(0, 120), Qt::NoButton, Qt::ControlModifier,
                     Qt::NoScrollPhase, false);
    QApplication::sendEvent(view, &zoom);
    QVERIFY(view->view().span() < before.span());
    QCOMPARE(view->firstRow(), 1);
  }

  // Mode and reaction are drop-downs: picking a value submits the command.
  void modeAndReactionAreDropDowns() {
    auto w = openWindow();
    QVERIFY(w);
    const auto t = w->bridge().submit(cmd::EventFdCreate{});
    QVERIFY(t);
    QTableView* table = w->sourcesView();
    QTRY_VERIFY_WITH_TIMEOUT(table->model()->rowCount() == 1, kWaitMs);
    for (int column : {int(SourcesModel::ModeColumn), int(SourcesModel::ReactionColumn)}) {
      QVERIFY(qobject_cast<ChoiceDelegate*>(table->itemDelegateForColumn(column)));
      const QModelIndex cell = table->model()->index(0, column);
      const QStringList choices = cell.data(SourcesModel::ChoicesRole).toStringList();
      QVERIFY(choices.size() >= 3);
      QVERIFY(choices.contains(cell.data(Qt::EditRole).toString()));
    }
    const QModelIndex mode = table->model()->index(0, SourcesModel::ModeColumn);
    const QString was = mode.data(Qt::EditRole).toString();
    table->setCurrentIndex(mode);
    table->edit(mode);
    auto* box = table->findChild<QComboBox*>(QStringLiteral("choiceEditor"));
    QVERIFY(box);
    QCOMPARE(box->currentText(), was);
    const QString want = was == QLatin1String("level") ? QStringLiteral("edge") : QStringLiteral("level");
    box->setCurrentIndex(box->findText(want));
    emit box->activated(box->currentIndex());
    QTRY_COMPARE_WITH_TIMEOUT(table->model()->index(0, SourcesModel::ModeColumn).data(Qt::EditRole).toString(), want,
                              kWaitMs);
  }

  // Bookmarks (named, listed, jumped to) and the log filtered to a time range.
  void bookmarksAndLogRange() {
    auto w = openWindow();
    QVERIFY(w);
    for (int i = 0; i < 6; ++i) {
      QVERIFY(w->bridge().submit(cmd::Note{"n" + std::to_string(i)}));
      QTest::qWait(30);
    }
    const RecordStore& store = w->bridge().store();
    QTRY_VERIFY_WITH_TIMEOUT(store.size() >= 6, kWaitMs);
    w->bridge().flush_frame();
    const std::uint64_t b = store.begin_index();
    const std::uint64_t t1 = store.time_at(b + 1), t4 = store.time_at(b + 4);

    QVERIFY(w->addBookmark(t4, QStringLiteral("late")));
    QVERIFY(w->addBookmark(t1, QStringLiteral(" early ")));
    QVERIFY(!w->addBookmark(t1, QStringLiteral("   ")));  // no name: refused, nothing added
    QCOMPARE(w->bookmarks().all().size(), std::size_t{2});
    QCOMPARE(w->bookmarks().all()[0], (Bookmark{t1, QStringLiteral("early")}));
    QCOMPARE(w->bookmarks().all()[1].name, QStringLiteral("late"));

    // Jumping keeps the span and puts the bookmark in view.
    w->timeline()->setView(0, 1000);
    w->jumpToTime(t4);
    QCOMPARE(w->timeline()->view().span(), std::uint64_t{1000});
    QVERIFY(w->timeline()->view().t0 <= t4 && t4 < w->timeline()->view().t1);

    // The log to [t1, t4): exactly the records held in that range.
    std::size_t expected = 0;
    for (std::uint64_t i = store.begin_index(); i < store.end_index(); ++i)
      expected += store.time_at(i) >= t1 && store.time_at(i) < t4;
    w->setLogRange(TimeWindow{t1, t4});
    auto* log = w->findChild<QTableView*>(QStringLiteral("eventLog"));
    QVERIFY(log);
    QTRY_COMPARE_WITH_TIMEOUT(static_cast<std::size_t>(log->model()->rowCount()), expected, kWaitMs);
    auto* clear = w->findChild<QPushButton*>(QStringLiteral("logRangeFilter"));
    QVERIFY(clear && clear->isVisible());
    clear->click();
    QVERIFY(!clear->isVisible());
    QTRY_COMPARE_WITH_TIMEOUT(static_cast<std::size_t>(log->model()->rowCount()), store.size(), kWaitMs);
  }

  // A group (a pipe's two ends) collapses to its first lane and expands again.
  void laneGroupsCollapse() {
    auto w = openWindow();
    QVERIFY(w);
    const auto t = w->bridge().submit(cmd::Pipe{});
    QVERIFY(t);
    TimelineView* view = w->timeline();
    QTRY_VERIFY_WITH_TIMEOUT(view->shownLaneCount() == 3, kWaitMs);  // epoll_wait + two ends
    const auto group = view->groupOf(t->token.value);
    QVERIFY(group);
    view->setGroupCollapsed(*group, true);
    QCOMPARE(view->shownLaneCount(), std::size_t{2});
    view->setGroupCollapsed(*group, false);
    QCOMPARE(view->shownLaneCount(), std::size_t{3});
  }

  // Jump to time takes what the log shows.
  void jumpToTimeTakesTheLogsText() {
    auto w = openWindow();
    QVERIFY(w);
    // More rows than the log shows at once, so the jump has to scroll.
    for (int i = 0; i < 300; ++i) QVERIFY(w->bridge().submit(cmd::Note{"n" + std::to_string(i)}));
    const RecordStore& store = w->bridge().store();
    QTRY_VERIFY_WITH_TIMEOUT(store.size() >= 300, kWaitMs);
    w->bridge().flush_frame();
    auto* log = w->findChild<QTableView*>(QStringLiteral("eventLog"));
    auto* jump = w->findChild<QLineEdit*>(QStringLiteral("jumpToTime"));
    QVERIFY(jump);
    QVERIFY(log);
    QTRY_VERIFY_WITH_TIMEOUT(log->model()->rowCount() >= 300, kWaitMs);
    log->scrollToBottom();
    const QString shown = log->model()->index(20, EventLogModel::TimeColumn).data().toString();
    QVERIFY(!log->viewport()->rect().contains(log->visualRect(log->model()->index(20, 0)).center()));
    jump->setText(shown);
    QTest::keyClick(jump, Qt::Key_Return);
    // The first row at that time is now the log's top row.
    const QModelIndex top = log->indexAt(QPoint(2, 2));
    QVERIFY(top.isValid());
    QCOMPARE(log->model()->index(top.row(), EventLogModel::TimeColumn).data().toString(), shown);
    QVERIFY(top.row() <= 20);
    // Text that is not a time: a message, nothing moves.
    jump->setText(QStringLiteral("soon"));
    QTest::keyClick(jump, Qt::Key_Return);
    QVERIFY2(w->statusMessage().startsWith(QStringLiteral("Jump to time")), qPrintable(w->statusMessage()));
  }
};

QTEST_MAIN(TestErgonomics)
#include "tst_ergonomics.moc"
