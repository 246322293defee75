// The replay cursor (PlayHead) over the records of a real capture (a TCP echo listener and a
// client exchanging bytes on loopback): stepping by record and by event, seeking, playing by
// explicit ticks; and, over hand-made stores, eviction under the head, a store that grows
// while playing, and records of one time on two tokens.
#include <QSignalSpy>
#include <QtTest>

#include <algorithm>
#include <memory>
#include <numeric>
#include <vector>

#include "lane_records.h"
#include "models_test_util.h"
#include "ready_test.h"
#include "session/bridge.h"
#include "session/play_head.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::ui;
using namespace ready::test;

namespace {

/// The indices positionChanged announced, in order.
std::vector<std::uint64_t> indices_of(const QSignalSpy& spy) {
  std::vector<std::uint64_t> out;
  for (const auto& args : spy) out.push_back(args.at(0).toULongLong());
  return out;
}

/// The store indices of readiness records (of `token` only, when given), oldest first.
std::vector<std::uint64_t> readiness_indices(const RecordStore& s, std::optional<std::uint64_t> token = {}) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t i = s.begin_index(); i < s.end_index(); ++i)
    if (s.kind_at(i) == RecordKind::readiness && (!token || s.at(i).token == *token)) out.push_back(i);
  return out;
}

}  // namespace

class TestPlayHead : public CoreTest {
  Q_OBJECT

  /// A stopped capture into `out`: an echo listener, a draining client (its token in
  /// `client`) that sends `messages` pings and reads every echo back.
  void capture(std::unique_ptr<Bridge>& out, std::uint64_t& client, int messages) {
    START_BRIDGE(bridge, EngineConfig{}, Bridge::Options{});
    const auto l = bridge->submit(cmd::TcpListen{
        net::SocketAddr::loopback_v4(0), SourceOptions{Interest::READABLE, Trigger::edge, ReactionSpec{Reaction::echo}}});
    QVERIFY_OK(l);
    std::optional<std::uint64_t> at;
    WAIT_RECORD(*bridge, at, kind_of(RecordKind::source_added, l->token));
    const auto info = bridge->engine()->source_info(l->token);
    QVERIFY(info.has_value());
    const auto addr = net::SocketAddr::parse(info->local);
    QVERIFY(addr.has_value());
    const auto c = bridge->submit(cmd::TcpConnect{
        *addr, SourceOptions{Interest::READABLE | Interest::WRITABLE, Trigger::edge, ReactionSpec{Reaction::drain}}});
    QVERIFY_OK(c);
    WAIT_RECORD(*bridge, at, action_of(c->token, Op::connect, Outcome::ok));
    const auto echoed = [&] {
      std::uint64_t n = 0;
      const RecordStore& s = bridge->store();
      for (std::uint64_t i = s.begin_index(); i < s.end_index(); ++i) {
        if (s.kind_at(i) != RecordKind::action) continue;
        const Record r = s.at(i);
        if (r.token == c->token.value && r.op == static_cast<std::uint8_t>(Op::drain)) n += r.value;
      }
      return n;
    };
    for (int i = 0; i < messages; ++i) {
      QVERIFY_OK(bridge->submit(cmd::Write{c->token, "ping"}));
      // One echo at a time: each is its own readable event on the client.
      QTRY_VERIFY_WITH_TIMEOUT(echoed() == 4u * static_cast<std::uint64_t>(i + 1), kUiWaitMs);
    }
    bridge->stop();  // drains: the store holds everything
    client = c->token.value;
    out = std::move(bridge);
  }

 private slots:
  void stepsVisitEveryRecordInOrderAndBack() {
    std::unique_ptr<Bridge> bridge;
    std::uint64_t client_token = 0;
    capture(bridge, client_token, 3);
    if (QTest::currentTestFailed()) return;
    const RecordStore& s = bridge->store();
    QVERIFY(s.size() > 10);
    PlayHead head(s);
    QSignalSpy moved(&head, &PlayHead::positionChanged);
    QVERIFY(!head.position());
    while (head.nextRecord()) {
    }
    std::vector<std::uint64_t> all(s.size());
    std::iota(all.begin(), all.end(), s.begin_index());
    QCOMPARE(indices_of(moved), all);
    QCOMPARE(head.position(), std::optional(s.end_index() - 1));
    // Each signal carries the record's own time.
    for (const auto& args : moved) QCOMPARE(args.at(1).toULongLong(), s.time_at(args.at(0).toULongLong()));

    moved.clear();
    while (head.previousRecord()) {
    }
    std::reverse(all.begin(), all.end());
    all.erase(all.begin());  // it started at the last one
    QCOMPARE(indices_of(moved), all);
    QCOMPARE(head.position(), std::optional(s.begin_index()));
    QVERIFY(!head.previousRecord());  // nowhere to go: no signal
    QCOMPARE(moved.size(), static_cast<qsizetype>(all.size()));
  }

  void eventStepsVisitExactlyTheReadinessRecords() {
    std::unique_ptr<Bridge> bridge;
    std::uint64_t client_token = 0;
    capture(bridge, client_token, 3);
    if (QTest::currentTestFailed()) return;
    const RecordStore& s = bridge->store();
    const auto every = readiness_indices(s);
    const auto client = readiness_indices(s, client_token);
    // The listener, the accepted stream and the client all had events: the filter matters.
    QVERIFY(client.size() >= 3);
    QVERIFY(client.size() < every.size());

    PlayHead head(s);
    QSignalSpy moved(&head, &PlayHead::positionChanged);
    while (head.nextEvent()) {
    }
    QCOMPARE(indices_of(moved), every);
    moved.clear();
    while (head.previousEvent()) {
    }
    std::vector<std::uint64_t> back(every.rbegin() + 1, every.rend());
    QCOMPARE(indices_of(moved), back);

    // One source's: from nowhere, forwards; then from the last one, backwards.
    PlayHead one(s);
    one.setEventToken(client_token);
    QSignalSpy oneMoved(&one, &PlayHead::positionChanged);
    while (one.nextEvent()) {
    }
    QCOMPARE(indices_of(oneMoved), client);
    oneMoved.clear();
    while (one.previousEvent()) {
    }
    QCOMPARE(indices_of(oneMoved), std::vector<std::uint64_t>(client.rbegin() + 1, client.rend()));

    // From a record that is not an event, the steps land on its neighbours among the events.
    const std::uint64_t between = client[1] - 1;
    QVERIFY(s.kind_at(between) != RecordKind::readiness || s.at(between).token != client_token);
    QVERIFY(one.setPosition(between));
    QVERIFY(one.nextEvent());
    QCOMPARE(one.position(), std::optional(client[1]));
    QVERIFY(one.setPosition(between));
    QVERIFY(one.previousEvent());
    QCOMPARE(one.position(), std::optional(client[0]));
  }

  void playAt16xReachesTheEndAndStops() {
    std::unique_ptr<Bridge> bridge;
    std::uint64_t client_token = 0;
    capture(bridge, client_token, 4);
    if (QTest::currentTestFailed()) return;
    const RecordStore& s = bridge->store();
    const std::uint64_t last = s.end_index() - 1;
    PlayHead head(s);
    QVERIFY(head.setSpeed(16));
    QVERIFY(head.toStart());
    QSignalSpy moved(&head, &PlayHead::positionChanged);
    QSignalSpy playing(&head, &PlayHead::playingChanged);
    QSignalSpy finished(&head, &PlayHead::finished);
    head.play();
    QVERIFY(head.isPlaying());
    QCOMPARE(head.playEnd(), last);

    // 20 µs of wall time per tick: 320 µs of capture time.
    constexpr std::int64_t kTick = 20'000;
    std::uint64_t play_t = s.time_at(s.begin_index());
    std::uint64_t pos = s.begin_index();
    int ticks = 0;
    while (head.isPlaying()) {
      QVERIFY2(++ticks < 1'000'000, "play never ended");
      const qsizetype before = moved.size();
      head.tick(kTick);
      play_t += 16 * kTick;
      QCOMPARE(head.playTime(), play_t);
      QVERIFY(moved.size() - before <= 1);  // one signal per tick, however many records passed
      const std::uint64_t now = *head.position();
      QVERIFY(now >= pos);                   // monotonic
      QVERIFY(s.time_at(now) <= play_t);     // never past the play time
      // ... and at the last record the play time reached.
      QVERIFY(now == last || s.time_at(now + 1) > play_t);
      pos = now;
    }
    QCOMPARE(head.position(), std::optional(last));
    QVERIFY(play_t >= s.time_at(last));
    QVERIFY(play_t - 16 * kTick < s.time_at(last));  // it stopped at the first tick that got there
    QCOMPARE(finished.size(), 1);
    QCOMPARE(playing.size(), 2);
    QCOMPARE(playing.at(1).at(0).toBool(), false);
    head.tick(kTick);  // not playing: nothing
    QCOMPARE(head.position(), std::optional(last));

    // Play from the end starts again from the first record; one long tick reaches the end
    // with one signal.
    moved.clear();
    head.play();
    QCOMPARE(head.position(), std::optional(s.begin_index()));
    head.tick(std::int64_t{1} << 40);
    QCOMPARE(head.position(), std::optional(last));
    QCOMPARE(moved.size(), 2);
    QCOMPARE(finished.size(), 2);
  }

  void theTimerPlaysToTheEnd() {
    std::unique_ptr<Bridge> bridge;
    std::uint64_t client_token = 0;
    capture(bridge, client_token, 2);
    if (QTest::currentTestFailed()) return;
    const RecordStore& s = bridge->store();
    PlayHead head(s);
    QVERIFY(head.setSpeed(16));
    QSignalSpy finished(&head, &PlayHead::finished);
    head.play();
    // The capture lasted well under a few seconds; at 16× the timer plays it through.
    QVERIFY(finished.wait(kUiWaitMs));
    QCOMPARE(head.position(), std::optional(s.end_index() - 1));
    QVERIFY(!head.isPlaying());
  }

  void speedsAndSeeks() {
    Feed f;
    for (std::uint64_t t : {100u, 200u, 200u, 300u, 1000u}) f.add(readiness(t, 1, 1));
    PlayHead head(f.store);
    for (const double sp : PlayHead::kSpeeds) QVERIFY(head.setSpeed(sp));
    QVERIFY(!head.setSpeed(3));
    QVERIFY(!head.setSpeed(0));
    QCOMPARE(head.speed(), 16.0);

    QVERIFY(head.seekTime(250));
    QCOMPARE(head.position(), std::optional<std::uint64_t>(2));  // the last of time 200
    QVERIFY(head.seekTime(50));
    QCOMPARE(head.position(), std::optional<std::uint64_t>(0));
    QVERIFY(head.seekTime(5000));
    QCOMPARE(head.position(), std::optional<std::uint64_t>(4));
    QVERIFY(!head.seekTime(5000));  // already there: no move

    // 0.25×: 400 ns of wall time is 100 ns of capture time.
    QVERIFY(head.setSpeed(0.25));
    QVERIFY(head.toStart());
    head.play();
    head.tick(399);
    QCOMPARE(head.position(), std::optional<std::uint64_t>(0));
    head.tick(1);
    QCOMPARE(head.playTime(), std::uint64_t{200});
    QCOMPARE(head.position(), std::optional<std::uint64_t>(2));
    // A step pauses play.
    QVERIFY(head.nextRecord());
    QVERIFY(!head.isPlaying());

    // Selecting elsewhere moves the head silently.
    QSignalSpy moved(&head, &PlayHead::positionChanged);
    QVERIFY(head.placeQuietly(1));
    QCOMPARE(head.position(), std::optional<std::uint64_t>(1));
    QVERIFY(!head.placeQuietly(5));
    QVERIFY(!head.setPosition(5));
    QCOMPARE(moved.size(), 0);
  }

  // Records of one time on two tokens: one source's event steps go by index, not by time.
  void oneSourcesEventsAtTheSameTime() {
    Feed f;
    f.add(source(1, 1, SourceKind::tcp_stream));
    f.add(source(1, 2, SourceKind::tcp_stream));
    const std::uint64_t a = f.add(readiness(5, 1, 1));
    f.add(readiness(5, 2, 1));
    f.add(action(5, 1, Op::read, Outcome::ok, 3));
    const std::uint64_t c = f.add(readiness(5, 1, 4));
    f.add(readiness(6, 2, 1));
    PlayHead head(f.store);
    head.setEventToken(1);
    QVERIFY(head.nextEvent());
    QCOMPARE(head.position(), std::optional(a));
    QVERIFY(head.nextEvent());
    QCOMPARE(head.position(), std::optional(c));
    QVERIFY(!head.nextEvent());
    QVERIFY(head.previousEvent());
    QCOMPARE(head.position(), std::optional(a));
    QVERIFY(!head.previousEvent());
    head.setEventToken(7);  // no such source: nowhere to go
    QVERIFY(!head.nextEvent());
    QCOMPARE(head.position(), std::optional(a));
  }

  void evictionUnderTheHeadClamps() {
    Feed f(StoreLimits{4, 8});
    for (std::uint64_t t = 1; t <= 8; ++t) f.add(readiness(t * 10, 1, 1));
    PlayHead head(f.store);
    QVERIFY(head.setPosition(2));
    QSignalSpy moved(&head, &PlayHead::positionChanged);
    f.add(readiness(90, 1, 1));  // evicts the first chunk: 0..3
    QCOMPARE(f.store.begin_index(), std::uint64_t{4});
    QCOMPARE(head.position(), std::optional<std::uint64_t>(4));  // already read as clamped
    head.syncStore();
    QCOMPARE(indices_of(moved), std::vector<std::uint64_t>{4});
    QCOMPARE(head.clampedByEviction(), std::uint64_t{1});
    head.syncStore();  // once
    QCOMPARE(moved.size(), 1);
    QVERIFY(!head.previousRecord());  // the oldest kept

    // Playing, with the record play stops at evicted too: the head clamps and play ends.
    QVERIFY(head.setPosition(5));
    head.play();
    QCOMPARE(head.playEnd(), std::uint64_t{8});
    for (std::uint64_t t = 10; t <= 17; ++t) f.add(readiness(t * 10, 1, 1));
    QVERIFY(f.store.begin_index() > 8);
    QSignalSpy finished(&head, &PlayHead::finished);
    head.tick(1);
    QCOMPARE(head.position(), std::optional(f.store.begin_index()));
    QVERIFY(!head.isPlaying());
    QCOMPARE(finished.size(), 1);
    QCOMPARE(head.clampedByEviction(), std::uint64_t{2});
  }

  // A live capture appends while playing: play stops at the newest record of when it started.
  void playStopsAtTheEndItStartedWith() {
    Feed f;
    for (std::uint64_t t = 1; t <= 5; ++t) f.add(readiness(t * 100, 1, 1));
    PlayHead head(f.store);
    head.play();
    QCOMPARE(head.position(), std::optional<std::uint64_t>(0));
    QVERIFY(head.isPlaying());
    for (std::uint64_t t = 6; t <= 9; ++t) f.add(readiness(t * 100, 1, 1));
    head.tick(250);  // 350: record 2
    QCOMPARE(head.position(), std::optional<std::uint64_t>(2));
    head.tick(10'000);
    QCOMPARE(head.position(), std::optional<std::uint64_t>(4));
    QVERIFY(!head.isPlaying());
    // The next play takes the records that came meanwhile.
    head.play();
    QCOMPARE(head.playEnd(), std::uint64_t{8});
    head.tick(10'000);
    QCOMPARE(head.position(), std::optional<std::uint64_t>(8));
  }

  void anEmptyStoreHasNowhereToGo() {
    Feed f;
    PlayHead head(f.store);
    QVERIFY(!head.nextRecord());
    QVERIFY(!head.previousEvent());
    QVERIFY(!head.toEnd());
    head.play();
    QVERIFY(!head.isPlaying());
    QVERIFY(!head.position());
  }
};

QTEST_GUILESS_MAIN(TestPlayHead)
#include "tst_play_head.moc"
