// The Lessons panel on a real engine, offscreen: a built-in lesson played step by step (the
// highlighted narration, the note on the timeline, the pass marks), Reset closing the
// lesson's sources, a failing lesson's mark, compare pins placing two lanes side by side.
#include <QAction>
#include <QComboBox>
#include <QDockWidget>
#include <QListWidget>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>
#include <string>

#include "session/bridge.h"
#include "lane_records.h"
#include "models/lessons.h"
#include "panels/lessons_panel.h"
#include "window/main_window.h"
#include "models_test_util.h"
#include "ready/capture/scenario.h"
#include "ready/capture/store.h"
#include "ready_test.h"
#include "session/scenario_player.h"
#include "timeline/laneindex.h"
#include "window_test_util.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::ui;
using namespace ready::test;

namespace {

constexpr int kWaitMs = 15000;

// A partial read with a wrong expectation: step 2 reads 4 bytes and expects 5.
constexpr std::string_view kFailing = R"({
  "name": "failing", "title": "A lesson that fails", "description": "a wrong expectation",
  "sources": [{"id": "pair", "kind": "socketpair", "ends": ["w", "r"], "mode": "edge", "interest": ["readable"]}],
  "steps": [
    {"note": "write ten", "op": "write", "source": "w", "data": "0123456789",
     "expect": [{"source": "r", "seen": ["readable"]}]},
    {"note": "read four, expect five", "op": "read", "source": "r", "n": 4,
     "expect": [{"source": "r", "action": "read", "result": "ok", "n": 5}]},
    {"note": "drain", "op": "drain", "source": "r"}
  ]})";

// Two socketpairs with the same traffic, the readers edge- and level-triggered.
constexpr std::string_view kCompare = R"({
  "name": "compare-test", "title": "Edge vs level", "description": "d",
  "sources": [
    {"id": "a", "kind": "socketpair", "ends": ["aw", "ar"], "mode": "edge", "interest": ["readable"]},
    {"id": "gap", "kind": "eventfd"},
    {"id": "b", "kind": "socketpair", "ends": ["bw", "br"], "mode": "level", "interest": ["readable"]}
  ],
  "steps": [
    {"note": "write to both", "op": "write", "source": "aw", "data": "abc"},
    {"op": "write", "source": "bw", "data": "abc"}
  ]})";

bool hasNote(const LaneIndex& lanes, const QString& text) {
  for (const TimelineMarker& m : lanes.markers())
    if (m.lane < 0 && m.text == text) return true;
  return false;
}

bool sourceRemoved(const RecordStore& store, Token t) {
  return find_record(store, kind_of(RecordKind::source_removed, t)).has_value();
}

}  // namespace

class TestLessonsPanel : public CoreTest {
  Q_OBJECT

  QTemporaryDir m_settingsDir;

  std::unique_ptr<MainWindow> openWindow() { return open_live_window(); }

 private slots:
  void initTestCase() { QVERIFY(prepare_window_suite(QStringLiteral("tst_lessons_panel"), m_settingsDir.path())); }

  void comparePinsPlaceLanesSideBySide() {
    Feed f;
    LaneIndex& index = f.index;
    const auto add = [&](const Record& r) { f.add(r); };
    add(source(10, 1, SourceKind::tcp_listener));
    add(source(20, 2, SourceKind::unix_stream));
    add(source(21, 3, SourceKind::unix_stream, 2));  // 2's partner: same group
    add(source(30, 4, SourceKind::eventfd));
    add(source(40, 5, SourceKind::unix_stream));
    const auto lanes = [&](std::initializer_list<std::uint64_t> tokens) {
      std::vector<std::uint32_t> out{0};
      for (std::uint64_t t : tokens) out.push_back(*index.lane_of(t));
      return out;
    };
    QCOMPARE(index.order(), lanes({1, 2, 3, 4, 5}));

    // 5 moves right below 2, out of creation order and between a pair's ends.
    QVERIFY(index.pin_adjacent(2, 5, QStringLiteral("edge vs level")));
    QCOMPARE(index.order(), lanes({1, 2, 5, 3, 4}));
    const LanePin* pin = index.pin_starting_at(*index.lane_of(2));
    QVERIFY(pin);
    QCOMPARE(pin->label, QStringLiteral("edge vs level"));
    QVERIFY(!index.pin_starting_at(*index.lane_of(5)));

    // Refused, nothing changed: the same token, token 0, a lane already on a pin's right.
    QVERIFY(!index.pin_adjacent(4, 4, {}));
    QVERIFY(!index.pin_adjacent(0, 4, {}));
    QVERIFY(!index.pin_adjacent(1, 5, {}));
    QCOMPARE(index.pins().size(), std::size_t{1});

    // A pin set before its lanes exist takes effect when they appear.
    QVERIFY(index.pin_adjacent(1, 7, QStringLiteral("edge vs oneshot")));
    QCOMPARE(index.order(), lanes({1, 2, 5, 3, 4}));
    add(source(50, 7, SourceKind::eventfd));
    QCOMPARE(index.order(), lanes({1, 7, 2, 5, 3, 4}));
    QCOMPARE(index.pin_starting_at(*index.lane_of(1))->label, QStringLiteral("edge vs oneshot"));

    // Pins survive a rebuild (they are hints, not records).
    index.rebuild();
    QCOMPARE(index.order(), lanes({1, 7, 2, 5, 3, 4}));

    // The bound: kMaxPins held, the next is refused and counted.
    for (std::uint64_t t = 100; index.pins().size() < LaneIndex::kMaxPins; ++t) QVERIFY(index.pin_adjacent(4, t, {}));
    QCOMPARE(index.pins_refused(), std::uint64_t{0});
    QVERIFY(!index.pin_adjacent(4, 9999, {}));
    QCOMPARE(index.pins_refused(), std::uint64_t{1});

    index.clear_pins();
    QVERIFY(index.pins().empty());
    QCOMPARE(index.order(), lanes({1, 2, 3, 4, 5, 7}));

    // A gone lane (removed, records evicted) drops out; its pin changes nothing then.
    Feed small(StoreLimits{.chunk_records = 2, .max_records = 4});
    LaneIndex& idx2 = small.index;
    const auto add2 = [&](const Record& r) {
      small.add(r);
      if (small.store.begin_index() > 0) idx2.on_evicted(small.store.begin_index());
    };
    QVERIFY(idx2.pin_adjacent(1, 2, QStringLiteral("x")));
    add2(source(10, 1, SourceKind::eventfd));
    add2(source(11, 2, SourceKind::eventfd));
    add2(source(12, 3, SourceKind::eventfd));
    add2(removed(13, 1));
    for (std::uint64_t t = 20; t < 26; ++t) add2(source(t, 10 + t, SourceKind::eventfd));
    QVERIFY(idx2.lane(*idx2.lane_of(1)).gone);
    QVERIFY(std::find(idx2.order().begin(), idx2.order().end(), *idx2.lane_of(2)) != idx2.order().end());
    QVERIFY(!idx2.pin_starting_at(*idx2.lane_of(1)));
  }

  void stepByStepShowsNarrationNoteAndMarks() {
    auto window = openWindow();
    QVERIFY(window);
    // F2 (Help > Lessons) shows the panel.
    QAction* lessonsAct = window->findChild<QAction*>(QStringLiteral("actionLessons"));
    QVERIFY(lessonsAct);
    QCOMPARE(lessonsAct->shortcut(), QKeySequence(Qt::Key_F2));
    auto* dock = window->findChild<QDockWidget*>(QStringLiteral("lessonsDock"));
    QVERIFY(dock);
    dock->hide();
    lessonsAct->trigger();
    QVERIFY(dock->isVisible());

    LessonsPanel* panel = window->lessonsPanel();
    // The list holds every built-in lesson, in catalog order, titled, named in the tooltip.
    const QList<readyscope::LessonInfo> infos = readyscope::builtinLessons();
    QCOMPARE(panel->lessonList()->count(), infos.size());
    int row = -1;
    for (int i = 0; i < panel->lessonList()->count(); ++i)
      if (panel->lessonList()->item(i)->toolTip() == QLatin1String("et-partial-read")) row = i;
    QVERIFY(row >= 0);
    QCOMPARE(panel->lessonList()->item(row)->text(), infos[row].title);

    // Selecting it shows it; nothing runs yet.
    panel->lessonList()->setCurrentRow(row);
    QVERIFY(panel->scenario());
    QCOMPARE(QString::fromStdString(panel->scenario()->name), QStringLiteral("et-partial-read"));
    QVERIFY(!panel->player());
    const Scenario& lesson = *panel->scenario();
    const int steps = static_cast<int>(lesson.steps.size());
    QCOMPARE(panel->stepList()->count(), steps);
    QCOMPARE(panel->highlightedStep(), -1);

    QSignalSpy finished(panel, &LessonsPanel::lessonFinished);
    const LaneIndex& lanes = window->laneIndex();
    for (int i = 0; i < steps; ++i) {
      const ScenarioStep& st = lesson.steps[static_cast<std::size_t>(i)];
      QVERIFY(panel->stepButton()->isEnabled());
      QTest::mouseClick(panel->stepButton(), Qt::LeftButton);
      QCOMPARE(panel->highlightedStep(), i);
      QTRY_VERIFY_WITH_TIMEOUT(panel->stepMark(i) != LessonsPanel::Mark::running, kWaitMs);
      // Every check of the lesson holds: a step with checks is passed, one without ran.
      if (st.expect.empty()) {
        QCOMPARE(panel->stepMark(i), LessonsPanel::Mark::ran);
        QVERIFY(panel->stepList()->item(i)->text().startsWith(QStringLiteral("•")));
      } else {
        QCOMPARE(panel->stepMark(i), LessonsPanel::Mark::passed);
        QVERIFY2(panel->stepList()->item(i)->text().startsWith(QStringLiteral("✓")),
                 qPrintable(panel->stepList()->item(i)->text()));
        QVERIFY(!panel->stepDetail(i).isEmpty());
        QCOMPARE(panel->stepList()->item(i)->toolTip(), QStringLiteral("Passed: %1").arg(panel->stepDetail(i)));
      }
      // The highlighted narration is this step's, and the timeline holds it as a note.
      QCOMPARE(panel->highlightedStep(), i);
      QVERIFY(panel->stepList()->item(i)->font().bold());
      if (i > 0) QVERIFY(!panel->stepList()->item(i - 1)->font().bold());
      if (!st.note.empty()) {
        const QString note = QString::fromStdString(st.note);
        QCOMPARE(panel->stepNarration(i), note);
        QTRY_VERIFY_WITH_TIMEOUT(hasNote(lanes, note), kWaitMs);
      } else {
        QCOMPARE(panel->stepNarration(i),
                 QStringLiteral("step %1: %2 %3")
                     .arg(i + 1)
                     .arg(QString::fromUtf8(to_string(st.op)), QString::fromStdString(st.source)));
      }
      // Later steps are untouched.
      for (int k = i + 1; k < steps; ++k) QCOMPARE(panel->stepMark(k), LessonsPanel::Mark::none);
    }
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kWaitMs);
    QCOMPARE(finished.first().first().toBool(), true);
    QVERIFY2(panel->headerText().contains(QStringLiteral("passed")), qPrintable(panel->headerText()));
    QVERIFY(!panel->stepButton()->isEnabled());

    // Its sources stay live after the lesson.
    // (Every source the lesson declares: both ends of a pair or pipe, or the source itself.)
    std::vector<Token> tokens;
    std::string reader_id;
    for (const ScenarioSource& src : lesson.sources) {
      const bool two = src.kind == ScenarioSourceKind::socketpair || src.kind == ScenarioSourceKind::pipe;
      for (const std::string& id : two ? std::vector<std::string>{src.ends[0], src.ends[1]} : std::vector<std::string>{src.id})
        if (const auto t = panel->player()->runner().token_of(id)) {
          tokens.push_back(*t);
          reader_id = id;
        }
    }
    QVERIFY(tokens.size() >= 2);
    const Token reader = tokens.back();
    QVERIFY(window->bridge().engine()->source_info(reader).has_value());

    if (qEnvironmentVariableIsSet("READYSCOPE_LESSON_PNG")) {
      window->showLesson();
      QTest::qWait(300);
      window->grab().save(qEnvironmentVariable("READYSCOPE_LESSON_PNG"));
    }

    // Reset: the sources are closed, the lesson is back at step 0, ready to play.
    QTest::mouseClick(panel->resetButton(), Qt::LeftButton);
    for (const Token t : tokens) QTRY_VERIFY_WITH_TIMEOUT(sourceRemoved(window->bridge().store(), t), kWaitMs);
    QVERIFY(!window->bridge().engine()->source_info(reader).has_value());
    QVERIFY(!panel->player());
    QCOMPARE(panel->nextStep(), 0);
    QCOMPARE(panel->highlightedStep(), -1);
    for (int k = 0; k < steps; ++k) QCOMPARE(panel->stepMark(k), LessonsPanel::Mark::none);
    QVERIFY(panel->playButton()->isEnabled());
    QVERIFY(panel->stepButton()->isEnabled());

    // And it plays again, with new sources (Play at the fastest speed).
    panel->setSpeed(4);
    QCOMPARE(panel->dwell(), std::chrono::milliseconds(375));
    QTest::mouseClick(panel->playButton(), Qt::LeftButton);
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, kWaitMs);
    QCOMPARE(finished.last().first().toBool(), true);
    for (int k = 0; k < steps; ++k)
      QCOMPARE(panel->stepMark(k), lesson.steps[static_cast<std::size_t>(k)].expect.empty() ? LessonsPanel::Mark::ran
                                                                                          : LessonsPanel::Mark::passed);
    const auto again = panel->player()->runner().token_of(reader_id);
    QVERIFY(again && *again != reader);
  }

  void aFailingLessonShowsAFailedMark() {
    auto window = openWindow();
    QVERIFY(window);
    LessonsPanel* panel = window->lessonsPanel();
    // Not a scenario: refused, the header says why, nothing loaded.
    QVERIFY(!panel->loadScenarioText("{\"name\": 3}", QStringLiteral("bad.json")));
    QVERIFY(!panel->scenario());
    QVERIFY2(panel->headerText().contains(QStringLiteral("bad.json")), qPrintable(panel->headerText()));

    QVERIFY(panel->loadScenarioText(QByteArray(kFailing.data(), kFailing.size()), QStringLiteral("failing.json")));
    QSignalSpy finished(panel, &LessonsPanel::lessonFinished);
    panel->setSpeed(4);
    panel->play();
    QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kWaitMs);
    QCOMPARE(finished.first().first().toBool(), false);
    QCOMPARE(panel->stepMark(0), LessonsPanel::Mark::passed);
    QCOMPARE(panel->stepMark(1), LessonsPanel::Mark::failed);
    QVERIFY2(panel->stepMark(2) == LessonsPanel::Mark::ran, qPrintable(panel->stepDetail(2)));  // a failed check does not stop the run
    QVERIFY(panel->stepList()->item(1)->text().startsWith(QStringLiteral("✗")));
    QVERIFY(panel->stepList()->item(1)->toolTip().startsWith(QStringLiteral("FAILED: ")));
    QVERIFY(!panel->stepDetail(1).isEmpty());
    // The first failure stays in the header after the run, with the sources' fate.
    QVERIFY2(panel->headerText().startsWith(QStringLiteral("✗ Step 2 of 3 failed")), qPrintable(panel->headerText()));
    QVERIFY2(panel->headerText().contains(QStringLiteral("stay live")), qPrintable(panel->headerText()));
    // The failing lesson's sources stay live too; Reset closes them.
    const auto r = panel->player()->runner().token_of("r");
    QVERIFY(r && window->bridge().engine()->source_info(*r));
    panel->reset();
    QTRY_VERIFY_WITH_TIMEOUT(sourceRemoved(window->bridge().store(), *r), kWaitMs);
  }

  void compareLanesAreAdjacentWithTheirLabel() {
    auto window = openWindow();
    QVERIFY(window);
    LessonsPanel* panel = window->lessonsPanel();
    auto s = parse_scenario(kCompare, "compare.json", {});
    QVERIFY2(s, s ? "" : s.error().message().c_str());
    s->compare = {ScenarioCompare{"ar", "br", "edge vs level"}};
    panel->loadScenario(std::move(*s));
    panel->step();
    QTRY_VERIFY_WITH_TIMEOUT(panel->stepMark(0) == LessonsPanel::Mark::ran, kWaitMs);
    const auto ar = panel->player()->runner().token_of("ar");
    const auto br = panel->player()->runner().token_of("br");
    QVERIFY(ar && br);
    const LaneIndex& lanes = window->laneIndex();
    QTRY_VERIFY_WITH_TIMEOUT(lanes.lane_of(ar->value) && lanes.lane_of(br->value), kWaitMs);
    const auto& order = lanes.order();
    const auto at = std::find(order.begin(), order.end(), *lanes.lane_of(ar->value));
    QVERIFY(at != order.end() && std::next(at) != order.end());
    QCOMPARE(*std::next(at), *lanes.lane_of(br->value));
    const LanePin* pin = lanes.pin_starting_at(*lanes.lane_of(ar->value));
    QVERIFY(pin);
    QCOMPARE(pin->label, QStringLiteral("edge vs level"));
    if (qEnvironmentVariableIsSet("READYSCOPE_COMPARE_PNG")) {
      panel->step();
      QTRY_VERIFY_WITH_TIMEOUT(panel->stepMark(1) == LessonsPanel::Mark::ran, kWaitMs);
      window->showLesson();
      QTest::qWait(300);
      window->grab().save(qEnvironmentVariable("READYSCOPE_COMPARE_PNG"));
    }
    // Reset drops the pins with the run.
    panel->reset();
    QVERIFY(lanes.pins().empty());
  }

  // `readyscope --scenario NAME` and File > Open scenario go through MainWindow::playScenario:
  // the Lessons panel plays it, and its list shows which lesson it is (none for a scenario
  // that is not built in).
  void playScenarioPlaysInThePanelAndSelectsTheLesson() {
    auto window = openWindow();
    QVERIFY(window);
    LessonsPanel* panel = window->lessonsPanel();
    const auto text = readyscope::builtinLessonText(QStringLiteral("merged-writes"));
    QVERIFY(text);
    auto lesson = parse_scenario(std::string_view(text->constData(), static_cast<std::size_t>(text->size())),
                                 "merged-writes.json", {});
    QVERIFY2(lesson, lesson ? "" : lesson.error().message().c_str());
    window->playScenario(std::move(*lesson));
    QVERIFY(panel->player());
    QVERIFY(panel->lessonList()->currentItem());
    QCOMPARE(panel->lessonList()->currentItem()->toolTip(), QStringLiteral("merged-writes"));

    auto other = parse_scenario(kCompare, "compare.json", {});
    QVERIFY2(other, other ? "" : other.error().message().c_str());
    window->playScenario(std::move(*other));
    QCOMPARE(panel->lessonList()->currentRow(), -1);
    QCOMPARE(panel->scenario()->name, std::string("compare-test"));
  }
};

QTEST_MAIN(TestLessonsPanel)
#include "tst_lessons_panel.moc"
