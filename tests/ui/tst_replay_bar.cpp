// The replay bar in the window, over a live capture (a TCP echo listener and a client
// exchanging bytes on loopback): stepping pauses the live view, each move focuses its record
// in the log, the timeline and the sources, the keys work where the timeline or the log has
// the focus, event steps keep to the selected source, the timeline pages to keep the head in
// view, and play to the end can follow live again.
#include <QAction>
#include <QComboBox>
#include <QLocale>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <functional>
#include <memory>
#include <vector>

#include "models/event_log_model.h"
#include "models/source_table.h"
#include "models_test_util.h"
#include "panels/inspector.h"
#include "panels/replay_bar.h"
#include "ready_test.h"
#include "session/play_head.h"
#include "timeline/timeline_decorations.h"
#include "timeline/timelineview.h"
#include "window/main_window.h"
#include "window_test_util.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::ui;
using namespace ready::test;

using Control = ReplayBar::Control;

class TestReplayBar : public CoreTest {
  Q_OBJECT

  /// A window over a live engine: an echo listener and a draining client (token in
  /// `client`) that sent `messages` pings and read every echo back.
  void openLive(std::unique_ptr<MainWindow>& out, std::uint64_t& client, int messages) {
    auto bridge = Bridge::start({}, {});
    QVERIFY_OK(bridge);
    auto w = std::make_unique<MainWindow>(std::move(*bridge));
    w->resize(1400, 800);
    w->show();
    QVERIFY(QTest::qWaitForWindowExposed(w.get()));
    Bridge& b = w->bridge();
    const auto l = b.submit(cmd::TcpListen{net::SocketAddr::loopback_v4(0),
                                           SourceOptions{Interest::READABLE, Trigger::edge, ReactionSpec{Reaction::echo}}});
    QVERIFY_OK(l);
    std::optional<std::uint64_t> at;
    WAIT_RECORD(b, at, kind_of(RecordKind::source_added, l->token));
    const auto info = b.engine()->source_info(l->token);
    QVERIFY(info.has_value());
    const auto addr = net::SocketAddr::parse(info->local);
    QVERIFY(addr.has_value());
    const auto c = b.submit(cmd::TcpConnect{
        *addr, SourceOptions{Interest::READABLE | Interest::WRITABLE, Trigger::edge, ReactionSpec{Reaction::drain}}});
    QVERIFY_OK(c);
    WAIT_RECORD(b, at, action_of(c->token, Op::connect, Outcome::ok));
    for (int i = 0; i < messages; ++i) {
      const std::uint64_t from = b.store().end_index();
      QVERIFY_OK(b.submit(cmd::Write{c->token, "ping"}));
      QTRY_VERIFY_WITH_TIMEOUT(find_record(b.store(), action_of(c->token, Op::drain), from).has_value(), kUiWaitMs);
    }
    // Every record has reached the models (a frame after the last one).
    QTRY_COMPARE_WITH_TIMEOUT(static_cast<std::uint64_t>(w->eventLogModel()->rowCount()), b.store().size(),
                              kUiWaitMs);
    client = c->token.value;
    out = std::move(w);
  }

  /// The store index of the event log's current row.
  static std::optional<std::uint64_t> logCurrent(MainWindow& w) {
    const QModelIndex cur = w.eventLogView()->currentIndex();
    return cur.isValid() ? w.eventLogModel()->storeIndexAt(cur.row()) : std::nullopt;
  }

  /// The head is at `index` and the window shows it: the log's current row, the timeline's
  /// selection and play head, and (for a record about a live source) the inspector.
  static void checkFocused(MainWindow& w, std::uint64_t index) {
    QCOMPARE(w.replayBar()->playHead().position(), std::optional(index));
    QCOMPARE(logCurrent(w), std::optional(index));
    QCOMPARE(w.timeline()->selectedRecord(), std::optional(index));
    QCOMPARE(w.timeline()->playHead(), std::optional(index));
    const Record r = w.bridge().store().at(index);
    if (r.token != 0 && w.sourceTable().find(r.token)) QCOMPARE(w.inspector()->token(), r.token);
    const QString expected = QStringLiteral("record %1 of ").arg(QLocale().toString(static_cast<qulonglong>(index + 1)));
    QVERIFY2(w.replayBar()->positionText().startsWith(expected), qPrintable(w.replayBar()->positionText()));
  }

 private slots:
  void initTestCase() { QVERIFY(prepare_window_suite(QStringLiteral("tst_replay_bar"), m_settingsDir.path())); }

  void stepsPauseTheLiveViewAndFocusTheRecord() {
    std::unique_ptr<MainWindow> w;
    std::uint64_t client = 0;
    openLive(w, client, 2);
    if (QTest::currentTestFailed()) return;
    ReplayBar* bar = w->replayBar();
    const RecordStore& s = w->bridge().store();
    QVERIFY(!w->timeline()->isPaused());

    bar->action(Control::nextRecord)->trigger();  // from nowhere: the first record
    QVERIFY(w->timeline()->isPaused());
    checkFocused(*w, s.begin_index());
    bar->action(Control::nextRecord)->trigger();
    checkFocused(*w, s.begin_index() + 1);
    bar->action(Control::previousRecord)->trigger();
    checkFocused(*w, s.begin_index());

    // Event by event: each stop is a readiness record, focused everywhere.
    int events = 0;
    for (;;) {
      const auto before = bar->playHead().position();
      bar->action(Control::nextEvent)->trigger();
      const auto now = bar->playHead().position();
      if (now == before) break;
      QCOMPARE(s.kind_at(*now), RecordKind::readiness);
      checkFocused(*w, *now);
      ++events;
    }
    QVERIFY(events >= 3);
    QVERIFY(bar->positionText().contains(QLatin1String("nothing further")));

    // The capture goes on while the view is paused; the head stays on its record.
    const std::uint64_t held = *bar->playHead().position();
    const std::uint64_t from = s.end_index();
    QVERIFY_OK(w->bridge().submit(cmd::Write{Token(client), "more"}));
    QTRY_VERIFY_WITH_TIMEOUT(find_record(s, action_of(Token(client), Op::drain), from).has_value(), kUiWaitMs);
    QCOMPARE(bar->playHead().position(), std::optional(held));
    QVERIFY(w->timeline()->isPaused());
    // ... and the next step goes on into the new records.
    bar->action(Control::nextEvent)->trigger();
    QVERIFY(*bar->playHead().position() >= from);
    checkFocused(*w, *bar->playHead().position());

    // A record clicked in the log is where the next step starts.
    const int row = w->eventLogModel()->rowForStoreIndex(s.begin_index() + 2);
    QVERIFY(row >= 0);
    w->eventLogView()->setCurrentIndex(w->eventLogModel()->index(row, 0));
    QCOMPARE(bar->playHead().position(), std::optional(s.begin_index() + 2));
    bar->action(Control::nextRecord)->trigger();
    checkFocused(*w, s.begin_index() + 3);
  }

  void keysStepWhereTheTimelineOrTheLogHasTheFocus() {
    std::unique_ptr<MainWindow> w;
    std::uint64_t client = 0;
    openLive(w, client, 1);
    if (QTest::currentTestFailed()) return;
    const RecordStore& s = w->bridge().store();
    PlayHead& head = w->replayBar()->playHead();
    w->activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(w.get()));
    w->timeline()->setFocus();
    QTRY_VERIFY(w->timeline()->hasFocus());

    QTest::keyClick(w->timeline(), Qt::Key_Period);
    QCOMPARE(head.position(), std::optional(s.begin_index()));
    QVERIFY(w->timeline()->isPaused());
    QTest::keyClick(w->timeline(), Qt::Key_Period);
    QCOMPARE(head.position(), std::optional(s.begin_index() + 1));
    QTest::keyClick(w->timeline(), Qt::Key_Comma);
    QCOMPARE(head.position(), std::optional(s.begin_index()));
    QTest::keyClick(w->timeline(), Qt::Key_BracketRight);
    QCOMPARE(s.kind_at(*head.position()), RecordKind::readiness);
    const std::uint64_t first_event = *head.position();
    QTest::keyClick(w->timeline(), Qt::Key_End, Qt::ControlModifier);
    QCOMPARE(head.position(), std::optional(s.end_index() - 1));
    QTest::keyClick(w->timeline(), Qt::Key_Home, Qt::ControlModifier);
    QCOMPARE(head.position(), std::optional(s.begin_index()));
    QTest::keyClick(w->timeline(), Qt::Key_P);
    QVERIFY(head.isPlaying());
    QTest::keyClick(w->timeline(), Qt::Key_P);
    QVERIFY(!head.isPlaying());

    // The same keys in the event log.
    w->eventLogView()->setFocus();
    QTRY_VERIFY(w->eventLogView()->hasFocus());
    QVERIFY(head.setPosition(s.begin_index()));
    QTest::keyClick(w->eventLogView(), Qt::Key_BracketRight);
    QCOMPARE(head.position(), std::optional(first_event));
    QCOMPARE(logCurrent(*w), std::optional(first_event));
  }

  void eventStepsKeepToTheSelectedSource() {
    std::unique_ptr<MainWindow> w;
    std::uint64_t client = 0;
    openLive(w, client, 3);
    if (QTest::currentTestFailed()) return;
    const RecordStore& s = w->bridge().store();
    ReplayBar* bar = w->replayBar();
    w->selectSource(client);
    bar->sourceOnlyAction()->setChecked(true);
    std::vector<std::uint64_t> seen;
    for (;;) {
      const auto before = bar->playHead().position();
      bar->action(Control::nextEvent)->trigger();
      const auto now = bar->playHead().position();
      if (now == before) break;
      seen.push_back(*now);
      checkFocused(*w, *now);
    }
    std::vector<std::uint64_t> expected;
    for (std::uint64_t i = s.begin_index(); i <= seen.back(); ++i)
      if (s.kind_at(i) == RecordKind::readiness && s.at(i).token == client) expected.push_back(i);
    QCOMPARE(seen, expected);
    QVERIFY(seen.size() >= 3);
  }

  void theTimelinePagesToKeepTheHeadInView() {
    std::unique_ptr<MainWindow> w;
    std::uint64_t client = 0;
    openLive(w, client, 2);
    if (QTest::currentTestFailed()) return;
    const RecordStore& s = w->bridge().store();
    ReplayBar* bar = w->replayBar();
    bar->action(Control::start)->trigger();  // pauses: the view holds still
    const std::uint64_t t_first = s.time_at(s.begin_index());
    const std::uint64_t t_last = s.time_at(s.end_index() - 1);
    QVERIFY(t_last - t_first >= 1000);
    const std::uint64_t span = (t_last - t_first) / 8;
    w->timeline()->setView(t_first, t_first + span);
    QCOMPARE(w->timeline()->view().span(), span);

    bar->action(Control::end)->trigger();
    const TimeWindow v = w->timeline()->view();
    QCOMPARE(v.span(), span);  // the zoom is kept
    QVERIFY(t_last >= v.t0 && t_last < v.t1);
    QVERIFY(t_last - v.t0 <= span / 10);  // near the left edge: ahead of it, a page to play through
    // The head is drawn there: a column of the head's colour through the lanes.
    const QImage img = w->timeline()->grab().toImage().convertToFormat(QImage::Format_RGB32);
    const QRect plot = w->timeline()->plotRect();
    const double x = plot.left() + static_cast<double>(t_last - v.t0) / static_cast<double>(span) * plot.width();
    std::vector<int> columns;
    for (int cx = plot.left(); cx <= plot.right(); ++cx) {
      int n = 0;
      for (int cy = plot.top(); cy <= plot.bottom(); ++cy) n += img.pixel(cx, cy) == QColor(kPlayHeadColour).rgb();
      if (n > plot.height() / 2) columns.push_back(cx);
    }
    QVERIFY(!columns.empty());
    QVERIFY2(std::abs(columns.front() - x) <= 2 && std::abs(columns.back() - x) <= 2,
             qPrintable(QStringLiteral("head drawn at %1..%2, expected %3").arg(columns.front()).arg(columns.back()).arg(x)));
    bar->action(Control::start)->trigger();
    const TimeWindow back = w->timeline()->view();
    QCOMPARE(back.span(), span);
    QVERIFY(t_first >= back.t0 && t_first < back.t1);
  }

  void playToTheEndThenFollowLive() {
    std::unique_ptr<MainWindow> w;
    std::uint64_t client = 0;
    openLive(w, client, 2);
    if (QTest::currentTestFailed()) return;
    const RecordStore& s = w->bridge().store();
    ReplayBar* bar = w->replayBar();
    PlayHead& head = bar->playHead();
    bar->thenLiveAction()->setChecked(true);
    bar->speedBox()->setCurrentIndex(bar->speedBox()->findData(16.0));
    QCOMPARE(head.speed(), 16.0);

    bar->action(Control::start)->trigger();
    QVERIFY(w->timeline()->isPaused());
    w->timeline()->setFollowLive(false);  // as a zoom by hand does
    bar->action(Control::play)->trigger();
    QVERIFY(head.isPlaying());
    QVERIFY(bar->action(Control::play)->isChecked());
    const std::uint64_t last = head.playEnd();
    // Explicit ticks (the timer's run too, but these decide): monotonic up to the end.
    std::uint64_t pos = s.begin_index();
    for (int i = 0; head.isPlaying() && i < 1'000'000; ++i) {
      head.tick(50'000);
      QVERIFY(*head.position() >= pos);
      pos = *head.position();
    }
    QVERIFY(!head.isPlaying());
    QVERIFY(!bar->action(Control::play)->isChecked());
    QCOMPARE(head.position(), std::optional(last));
    checkFocused(*w, last);
    // "Then live": the view follows the capture again.
    QVERIFY(!w->timeline()->isPaused());
    QVERIFY(w->timeline()->followLive());
  }

  // A long live capture evicts the record under the head: the head moves to the oldest
  // record kept, and the window focuses that one.
  void evictionMovesTheHeadToTheOldestKept() {
    // A ring far larger than a flood's backlog: the source_removed record waited for below
    // must not be dropped when a sanitizer build's GUI thread falls behind the flood.
    EngineConfig config;
    config.ring_capacity = std::size_t{1} << 20;
    auto bridge = Bridge::start(config, Bridge::Options{StoreLimits{64, 256}, 16});
    QVERIFY_OK(bridge);
    auto w = std::make_unique<MainWindow>(std::move(*bridge));
    w->resize(1400, 800);
    w->show();
    QVERIFY(QTest::qWaitForWindowExposed(w.get()));
    const RecordStore& s = w->bridge().store();
    PlayHead& head = w->replayBar()->playHead();
    // A level-triggered eventfd that nobody reads is reported at every poll: a flood of
    // readiness records, stopped by closing it once `until` holds.
    const auto flood = [&](const std::function<bool()>& until) {
      const auto e = w->bridge().submit(cmd::EventFdCreate{1, false, SourceOptions{Interest::READABLE, Trigger::level}});
      QVERIFY_OK(e);
      QTRY_VERIFY_WITH_TIMEOUT(until(), kUiWaitMs);
      QVERIFY_OK(w->bridge().submit(cmd::Close{e->token}));
      std::optional<std::uint64_t> removed;
      WAIT_RECORD(w->bridge(), removed, kind_of(RecordKind::source_removed, e->token));
      // Every record has reached the window (a frame after the last one).
      QTRY_COMPARE_WITH_TIMEOUT(static_cast<std::uint64_t>(w->eventLogModel()->rowCount()), s.size(), kUiWaitMs);
    };
    flood([&] { return s.evicted() > 0; });
    if (QTest::currentTestFailed()) return;
    w->replayBar()->action(Control::start)->trigger();
    const std::uint64_t held = s.begin_index();
    checkFocused(*w, held);

    flood([&] { return s.begin_index() > held; });
    if (QTest::currentTestFailed()) return;
    QVERIFY(head.clampedByEviction() >= 1);
    checkFocused(*w, s.begin_index());
  }

 private:
  QTemporaryDir m_settingsDir;
};

QTEST_MAIN(TestReplayBar)
#include "tst_replay_bar.moc"
