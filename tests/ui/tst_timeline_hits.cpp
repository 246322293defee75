// Hit testing without a widget: which record of a lane is nearest to a pixel, which warning
// mark is under it, and the tooltip text in the event log's words.
#include <QTest>
#include <cerrno>
#include <cstdint>
#include <optional>

#include "ready/capture/record.h"
#include "ready/capture/store.h"
#include "models/record_format.h"
#include "timeline/laneindex.h"
#include "timeline/timeline_hits.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::ui;

namespace {

// One source (token 1) and the poll lane over [0, 1000) ns on 100 px: 10 ns a pixel.
struct Scene {
  Scene() : index(store) {
    add(of(RecordKind::source_added, 0));
    readiness = add(of(RecordKind::readiness, 300));
    action = add(of(RecordKind::action, 330));
    Record p = of(RecordKind::poll_return, 600);
    p.token = 0;
    p.value = 1;
    poll = add(p);
    Record w = of(RecordKind::warning, 800);
    w.op = static_cast<std::uint8_t>(WarningKind::read_after_close);
    add(w);
  }
  static Record of(RecordKind k, std::uint64_t t) {
    Record r;
    r.kind = k;
    r.t_ns = t;
    r.token = 1;
    r.fd = 4;
    if (k == RecordKind::readiness) r.bits = 0x1;
    return r;
  }
  std::uint64_t add(const Record& r) {
    const std::uint64_t i = store.append(r);
    index.on_record(store.at(i), i);
    return i;
  }
  const TimelineLane& source() const { return index.lane(*index.lane_of(1)); }
  RecordStore store;
  LaneIndex index;
  std::uint64_t readiness = 0, action = 0, poll = 0;
};

const TimeScale kScale(0, 1000, 0, 100);

}  // namespace

class TimelineHitsTest : public QObject {
  Q_OBJECT

 private slots:
  void nearest_data() {
    QTest::addColumn<int>("x");
    QTest::addColumn<bool>("preferActions");
    QTest::addColumn<QString>("hit");  // "readiness", "action", "none"
    // The readiness mark is at x 30, the action tick at 33.
    QTest::newRow("on the mark") << 30 << false << "readiness";
    QTest::newRow("on the tick, in the tick row") << 33 << true << "action";
    // The preferred row wins unless the other is 3 px closer.
    QTest::newRow("on the tick, in the mark row") << 33 << false << "readiness";
    QTest::newRow("between, mark row") << 32 << false << "readiness";
    QTest::newRow("far right of both, tick row") << 38 << true << "action";
    QTest::newRow("out of reach") << 50 << false << "none";
    QTest::newRow("at the reach's edge") << 36 << false << "readiness";
  }
  void nearest() {
    QFETCH(int, x);
    QFETCH(bool, preferActions);
    QFETCH(QString, hit);
    Scene s;
    const auto got = nearest_record(s.store, s.source(), kScale, x, preferActions);
    const std::optional<std::uint64_t> want = hit == QLatin1String("readiness") ? std::optional(s.readiness)
                                              : hit == QLatin1String("action")  ? std::optional(s.action)
                                                                                : std::nullopt;
    QCOMPARE(got, want);
  }

  void poll_lane_hits_poll_returns_only() {
    Scene s;
    const TimelineLane& poll = s.index.lane(0);
    QVERIFY(poll.is_poll);
    QCOMPARE(nearest_record(s.store, poll, kScale, 60, false), std::optional(s.poll));
    QCOMPARE(nearest_record(s.store, poll, kScale, 30, false), std::nullopt);  // the source's records
  }

  void warning_data() {
    QTest::addColumn<int>("x");
    QTest::addColumn<bool>("found");
    QTest::newRow("on it") << 80 << true;
    QTest::newRow("within reach") << 85 << true;
    QTest::newRow("out of reach") << 90 << false;
  }
  void warning() {
    QFETCH(int, x);
    QFETCH(bool, found);
    Scene s;
    const TimelineMarker* w = warning_near(s.index.markers(), *s.index.lane_of(1), kScale, x);
    QCOMPARE(w != nullptr, found);
    QCOMPARE(warning_near(s.index.markers(), 0, kScale, 80), nullptr);  // not the poll lane's
  }

  // The tooltip's lines are the log's words: record_format's what, result and detail.
  void describe_uses_the_log_words() {
    Scene s;
    Record refused = Scene::of(RecordKind::action, 900);
    refused.op = static_cast<std::uint8_t>(Op::connect);
    refused.outcome = Outcome::error;
    refused.err = ECONNREFUSED;
    const std::uint64_t ri = s.add(refused);
    for (const std::uint64_t i : {s.readiness, s.action, s.poll, ri}) {
      const Record r = s.store.at(i);
      const QString tip = describe_record(s.store, s.index, i, {});
      QVERIFY2(tip.contains(QStringLiteral("t = %1").arg(format_time_ns(r.t_ns))), qPrintable(tip));
      QVERIFY2(tip.contains(record_summary(r)), qPrintable(tip));
      QVERIFY2(tip.contains(record_detail(r)), qPrintable(tip));
    }
    QVERIFY(
        describe_record(s.store, s.index, ri, {}).contains(QStringLiteral("connect error ECONNREFUSED (")));
    QVERIFY(describe_record(s.store, s.index, s.poll, {}).contains(QStringLiteral("epoll_wait")));
    QVERIFY(describe_record(s.store, s.index, s.readiness, [](std::uint64_t) {
              return QStringLiteral("the pipe");
            }).contains(QStringLiteral("the pipe")));
    QVERIFY(describe_record(s.store, s.index, 999, {}).isEmpty());
  }
};

QTEST_GUILESS_MAIN(TimelineHitsTest)
#include "tst_timeline_hits.moc"
