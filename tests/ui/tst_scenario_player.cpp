// ScenarioPlayer: a scenario played from the Qt event loop against a real engine, all at once
// or step by step, with its outcomes reported and its sources left live.
#include <QSignalSpy>
#include <QtTest>

#include <memory>

#include "session/bridge.h"
#include "session/capture_session.h"
#include "ready/capture/scenario.h"
#include "ready_test.h"
#include "session/scenario_player.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::ui;
using namespace ready::test;

namespace {

constexpr int kWaitMs = 15000;

// A partial read under edge triggering: the second step's "not seen" holds only because the
// kernel sends no second edge.
constexpr std::string_view kScenario = R"({
  "name": "partial", "title": "Partial read", "description": "d",
  "sources": [{"id": "pair", "kind": "socketpair", "ends": ["w", "r"], "mode": "edge", "interest": ["readable"]}],
  "steps": [
    {"note": "write", "op": "write", "source": "w", "data": "0123456789",
     "expect": [{"source": "r", "seen": ["readable"]}]},
    {"note": "read part", "op": "read", "source": "r", "n": 4,
     "expect": [{"source": "r", "action": "read", "result": "ok", "n": 4}, {"source": "r", "not_seen": ["any"]}]},
    {"note": "drain", "op": "drain", "source": "r",
     "expect": [{"source": "r", "action": "drain", "result": "would_block", "n": 6}]}
  ]})";

Scenario parsed(std::string_view text) {
  auto s = parse_scenario(text, "test", {});
  if (!s) qFatal("%s", s.error().message().c_str());
  return std::move(*s);
}

}  // namespace

class TestScenarioPlayer : public CoreTest {
  Q_OBJECT

 private slots:
  void playRunsEveryStepAndPasses() {
    auto bridge = Bridge::start({}, {});
    QVERIFY_OK(bridge);
    ready::ui::CaptureSession session(**bridge);
    ScenarioPlayer player(session, parsed(kScenario));
    QSignalSpy steps(&player, &ScenarioPlayer::stepDecided);
    QSignalSpy done(&player, &ScenarioPlayer::finishedPlaying);
    player.play();
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, kWaitMs);
    QCOMPARE(done.first().first().toBool(), true);
    QVERIFY(player.runner().passed());
    QCOMPARE(steps.count(), 3);
    // Its sources stay live: the pair's ends are still sources of the engine.
    const auto reader = player.runner().token_of("r");
    QVERIFY(reader);
    QVERIFY((*bridge)->engine()->source_info(*reader).has_value());
  }

  void stepRunsOneStepAtATime() {
    auto bridge = Bridge::start({}, {});
    QVERIFY_OK(bridge);
    ready::ui::CaptureSession session(**bridge);
    ScenarioPlayer player(session, parsed(kScenario));
    QSignalSpy steps(&player, &ScenarioPlayer::stepDecided);
    // Nothing runs before play() or step(): the setup only.
    QTest::qWait(100);
    QCOMPARE(steps.count(), 0);
    QCOMPARE(player.runner().current_step(), std::size_t{0});
    player.step();
    QTRY_COMPARE_WITH_TIMEOUT(steps.count(), 1, kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(player.runner().held(), kWaitMs);
    QCOMPARE(player.runner().current_step(), std::size_t{1});
    player.step();
    QTRY_COMPARE_WITH_TIMEOUT(steps.count(), 2, kWaitMs);
    QVERIFY(!player.finished());
    player.step();
    QTRY_VERIFY_WITH_TIMEOUT(player.finished(), kWaitMs);
    QVERIFY(player.runner().passed());
  }

  void aFailedExpectationIsReported() {
    auto bridge = Bridge::start({}, {});
    QVERIFY_OK(bridge);
    // Level-triggered, the partial read leaves the reader ready: "not seen" must fail.
    std::string text(kScenario);
    text.replace(text.find("\"edge\""), 6, "\"level\"");
    ready::ui::CaptureSession session(**bridge);
    ScenarioPlayer player(session, parsed(text));
    QSignalSpy done(&player, &ScenarioPlayer::finishedPlaying);
    player.play();
    QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, kWaitMs);
    QCOMPARE(done.first().first().toBool(), false);
    QVERIFY(!player.runner().passed());
  }
};

QTEST_MAIN(TestScenarioPlayer)
#include "tst_scenario_player.moc"
