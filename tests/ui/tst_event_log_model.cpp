// The event log: a virtual table over the store fed by a real engine (and by a test ring
// for the big sliced scan), its filters, eviction from the front and jump-to-time.
#include <sys/epoll.h>

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTest>

#include "session/bridge.h"
#include "session/capture_session.h"
#include "models/event_log_model.h"
#include "models_test_util.h"
#include "ready_test.h"
#include "models/record_format.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;
using ready::ui::Bridge;
using ready::ui::CaptureSession;
using ready::ui::EventLogModel;

namespace {

QString cell(const EventLogModel& m, int row, int column) { return m.data(m.index(row, column)).toString(); }

/// Every row's store index, through the model.
std::vector<std::uint64_t> indices_of(const EventLogModel& m) {
  std::vector<std::uint64_t> out;
  for (int r = 0; r < m.rowCount(); ++r) out.push_back(*m.storeIndexAt(r));
  return out;
}

/// Store indices in [begin, end) satisfying pred.
std::vector<std::uint64_t> expected(const RecordStore& s, const std::function<bool(const Record&)>& pred) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t i = s.begin_index(); i < s.end_index(); ++i)
    if (pred(s.at(i))) out.push_back(i);
  return out;
}

/// Some traffic: a pipe written to and read from, a note. Returns the pipe's ticket.
std::optional<Ticket> traffic(Bridge& b, const char* note) {
  auto p = b.submit(cmd::Pipe{});
  if (!p) return std::nullopt;
  (void)b.submit(cmd::Write{p->token, "hello"});
  (void)b.submit(cmd::Read{p->token2, 100});
  (void)b.submit(cmd::Read{p->token2, 100});
  (void)b.submit(cmd::Note{note});
  return *p;
}

}  // namespace

class TestEventLogModel : public CoreTest {
  Q_OBJECT

 private slots:
  // Unfiltered: row i is store index begin + i, the text is record_format's.
  void rows_follow_the_store() {
    START_BRIDGE(bridge, EngineConfig{}, Bridge::Options{});
    CaptureSession session(*bridge);
    EventLogModel model(session);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    auto p = traffic(*bridge, "first marker");
    QVERIFY(p);
    std::optional<std::uint64_t> note;
    WAIT_RECORD(*bridge, note, [](const Record& r) { return r.kind == RecordKind::note; });
    bridge->stop();  // drains and flushes: the model has every record now
    const auto& store = bridge->store();
    QCOMPARE(static_cast<std::uint64_t>(model.rowCount()), store.size());
    QCOMPARE(model.columnCount(), int{EventLogModel::ColumnCount});
    for (int r = 0; r < model.rowCount(); ++r) {
      QCOMPARE(*model.storeIndexAt(r), static_cast<std::uint64_t>(r));
      QCOMPARE(model.rowForStoreIndex(static_cast<std::uint64_t>(r)), r);
      const Record rec = store.at(static_cast<std::uint64_t>(r));
      QCOMPARE(cell(model, r, EventLogModel::TimeColumn), ui::format_time_ns(rec.t_ns));
      QCOMPARE(cell(model, r, EventLogModel::WhatColumn), ui::record_what(rec));
      QCOMPARE(cell(model, r, EventLogModel::ResultColumn), ui::record_result(rec));
      QCOMPARE(model.data(model.index(r, 0), EventLogModel::TimeRole).toULongLong(), rec.t_ns);
    }
    QCOMPARE(cell(model, static_cast<int>(*note), EventLogModel::DetailColumn),
             QStringLiteral("first marker"));
    QCOMPARE(cell(model, static_cast<int>(*note), EventLogModel::TokenColumn), QString());
    // The write and its result, worded once for every view.
    std::optional<std::uint64_t> write = find_record(store, action_of(p->token, Op::write));
    QVERIFY(write);
    QCOMPARE(cell(model, static_cast<int>(*write), EventLogModel::WhatColumn), QStringLiteral("write"));
    QCOMPARE(cell(model, static_cast<int>(*write), EventLogModel::ResultColumn), QStringLiteral("ok 5"));
    auto wb = find_record(store, action_of(p->token2, Op::read, Outcome::would_block));
    QVERIFY(wb);
    QCOMPARE(cell(model, static_cast<int>(*wb), EventLogModel::ResultColumn), QStringLiteral("would_block"));
    QVERIFY(!model.storeIndexAt(model.rowCount()));
    QCOMPARE(model.rowForStoreIndex(store.end_index()), -1);
  }

  // Token, kind and text filters, alone and together, and new records arriving under a filter.
  void filters() {
    START_BRIDGE(bridge, EngineConfig{}, Bridge::Options{});
    CaptureSession session(*bridge);
    EventLogModel model(session);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy finished(&model, &EventLogModel::scanFinished);
    auto p = traffic(*bridge, "Needle in the log");
    QVERIFY(p);
    auto q = traffic(*bridge, "other");
    QVERIFY(q);
    std::optional<std::uint64_t> last;
    WAIT_RECORD(*bridge, last, [&](const Record& r) {
      return r.kind == RecordKind::note && bridge->note_text(r.value) == QStringLiteral("other");
    });
    bridge->flush_frame();
    const auto& store = bridge->store();

    model.setTokenFilter(p->token2.value);
    QVERIFY(model.isScanning());
    QCOMPARE(model.rowCount(), 0);  // rows come from the scan, not the reset
    QTRY_VERIFY_WITH_TIMEOUT(!model.isScanning(), kUiWaitMs);
    QVERIFY(!finished.isEmpty());
    const auto of_receiver = expected(store, [&](const Record& r) {
      return r.token == p->token2.value && RecordStore::is_indexed_by_token(r.kind);
    });
    QVERIFY(of_receiver.size() >= 3);  // added, read ok, read would_block (a readiness maybe)
    QCOMPARE(indices_of(model), of_receiver);
    QCOMPARE(model.rowForStoreIndex(of_receiver[1]), 1);
    QCOMPARE(model.rowForStoreIndex(*last), -1);  // a note: not the token's

    // Token and kind: the receiver's actions only.
    model.setKindFilter(EventLogModel::kindBit(RecordKind::action));
    QTRY_VERIFY_WITH_TIMEOUT(!model.isScanning(), kUiWaitMs);
    QCOMPARE(indices_of(model), expected(store, [&](const Record& r) {
               return r.token == p->token2.value && r.kind == RecordKind::action;
             }));

    // New records under a filter: rows appended as they arrive.
    const int before = model.rowCount();
    QVERIFY_OK(bridge->submit(cmd::Read{p->token2, 1}));
    QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), before + 1, kUiWaitMs);
    QCOMPARE(cell(model, before, EventLogModel::WhatColumn), QStringLiteral("read"));

    // Text, case-insensitive, over the formatted row (a note's text is in its detail).
    model.setFilter(
        EventLogModel::Filter{std::nullopt, EventLogModel::kAllKinds, QStringLiteral("NEEDLE IN"), std::nullopt});
    QTRY_VERIFY_WITH_TIMEOUT(!model.isScanning(), kUiWaitMs);
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(cell(model, 0, EventLogModel::KindColumn), QStringLiteral("note"));
    // Text matching a result: every would_block row, and nothing else.
    model.setTextFilter(QStringLiteral("would_block"));
    QTRY_VERIFY_WITH_TIMEOUT(!model.isScanning(), kUiWaitMs);
    const auto wb = expected(store, [](const Record& r) {
      return r.kind == RecordKind::action && r.outcome == Outcome::would_block;
    });
    QVERIFY(wb.size() >= 2);
    QCOMPARE(indices_of(model), wb);

    // No filter again: every record. The engine keeps producing (a stats record a second), and
    // a record stored by the bridge becomes a row at the next frame: compare until they agree.
    model.setFilter({});
    QVERIFY(!model.isScanning());
    QTRY_COMPARE_WITH_TIMEOUT(static_cast<std::uint64_t>(model.rowCount()), store.end_index() - store.begin_index(),
                              kUiWaitMs);
    bridge->stop();
  }

  // A small store: evicted records leave the log from the front, filtered or not.
  void eviction_removes_rows_at_the_front() {
    Bridge::Options o;
    o.store = StoreLimits{4, 8};
    START_BRIDGE(bridge, EngineConfig{}, o);
    CaptureSession session(*bridge);
    EventLogModel model(session);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    EventLogModel notes(session);
    QAbstractItemModelTester notes_tester(&notes, QAbstractItemModelTester::FailureReportingMode::QtTest);
    notes.setKindFilter(EventLogModel::kindBit(RecordKind::note));
    QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
    QSignalSpy notes_removed(&notes, &QAbstractItemModel::rowsRemoved);
    // Several frames, so rows the model announced are evicted later.
    for (int round = 0; round < 5; ++round) {
      for (int i = 0; i < 6; ++i) QVERIFY_OK(bridge->submit(cmd::Note{"n"}));
      QTRY_VERIFY_WITH_TIMEOUT(bridge->store().end_index() >= static_cast<std::uint64_t>(6 * (round + 1)),
                               kUiWaitMs);
      bridge->flush_frame();
      QVERIFY(static_cast<std::uint64_t>(model.rowCount()) <= 8);
    }
    bridge->stop();
    const auto& store = bridge->store();
    QVERIFY(store.begin_index() > 0);
    QVERIFY(!removed.isEmpty());
    QVERIFY(!notes_removed.isEmpty());
    for (const auto& args : removed) QCOMPARE(args[1].toInt(), 0);  // always from the front
    QCOMPARE(static_cast<std::uint64_t>(model.rowCount()), store.size());
    QCOMPARE(*model.storeIndexAt(0), store.begin_index());
    QCOMPARE(model.rowForStoreIndex(store.begin_index() - 1), -1);
    QTRY_VERIFY_WITH_TIMEOUT(!notes.isScanning(), kUiWaitMs);
    QCOMPARE(indices_of(notes), expected(store, [](const Record& r) { return r.kind == RecordKind::note; }));
    for (int r = 0; r < model.rowCount(); ++r) QVERIFY(!cell(model, r, EventLogModel::KindColumn).isEmpty());
  }

  // Jump to time: the first row at or after t, filtered or not; -1 past the end.
  void jump_to_time() {
    auto owned = std::make_unique<RingFeed>(1024);
    RingFeed& feed = *owned;
    Bridge bridge(std::move(owned), Bridge::Options{});
    CaptureSession session(bridge);
    EventLogModel model(session);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    // Times 100, 200, 200, 300, ...; odd ones readiness of token 7, even ones notes.
    const std::vector<std::uint64_t> times = {100, 200, 200, 300, 400, 400, 400, 500};
    for (std::size_t i = 0; i < times.size(); ++i) {
      Record r;
      r.t_ns = times[i];
      if (i % 2) {
        r.kind = RecordKind::readiness;
        r.token = 7;
        r.fd = 3;
        r.bits = EPOLLIN;
      } else {
        r.kind = RecordKind::note;
      }
      QVERIFY(feed.ring.try_push(r));
    }
    QVERIFY_OK(feed.notifier.notify());
    QTRY_COMPARE_WITH_TIMEOUT(bridge.store().size(), times.size(), kUiWaitMs);
    bridge.flush_frame();
    QCOMPARE(model.rowCount(), 8);
    QCOMPARE(model.rowForTime(0), 0);
    QCOMPARE(model.rowForTime(100), 0);
    QCOMPARE(model.rowForTime(150), 1);
    QCOMPARE(model.rowForTime(200), 1);
    QCOMPARE(model.rowForTime(201), 3);
    QCOMPARE(model.rowForTime(400), 4);
    QCOMPARE(model.rowForTime(500), 7);
    QCOMPARE(model.rowForTime(501), -1);
    model.setTokenFilter(7);  // rows: indices 1, 3, 5, 7 (times 200, 300, 400, 500)
    QTRY_VERIFY_WITH_TIMEOUT(!model.isScanning(), kUiWaitMs);
    QCOMPARE(indices_of(model), (std::vector<std::uint64_t>{1, 3, 5, 7}));
    QCOMPARE(model.rowForTime(0), 0);
    QCOMPARE(model.rowForTime(250), 1);
    QCOMPARE(model.rowForTime(400), 2);
    QCOMPARE(model.rowForTime(450), 3);
    QCOMPARE(model.rowForTime(600), -1);
    QCOMPARE(cell(model, 0, EventLogModel::WhatColumn), QStringLiteral("readable"));
  }

  // A filter over many records is scanned in slices from the event loop: the reset leaves
  // no rows, each slice inserts what it found, and the result is every match in order.
  void filter_scan_runs_in_slices() {
    constexpr std::uint64_t kRecords = 20000;
    auto owned = std::make_unique<RingFeed>(1 << 15);
    RingFeed& feed = *owned;
    Bridge bridge(std::move(owned), Bridge::Options{});
    CaptureSession session(bridge);
    EventLogModel model(session);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    for (std::uint64_t i = 0; i < kRecords; ++i) {
      Record r;
      r.t_ns = i;
      r.kind = RecordKind::readiness;
      r.token = 1 + i % 3;
      r.fd = static_cast<int>(10 + i % 3);
      r.bits = i % 10 == 0 ? EPOLLOUT : EPOLLIN;  // every tenth is "writable"
      QVERIFY(feed.ring.try_push(r));
    }
    QVERIFY_OK(feed.notifier.notify());
    QTRY_COMPARE_WITH_TIMEOUT(bridge.store().size(), kRecords, kUiWaitMs);
    bridge.flush_frame();
    QCOMPARE(static_cast<std::uint64_t>(model.rowCount()), kRecords);

    model.setScanSliceRecords(1000);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QSignalSpy finished(&model, &EventLogModel::scanFinished);
    model.setTextFilter(QStringLiteral("writable"));
    QCOMPARE(model.rowCount(), 0);
    QVERIFY(model.isScanning());
    QVERIFY(finished.isEmpty());
    QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty(), kUiWaitMs);
    QVERIFY(!model.isScanning());
    // At most 1000 records a slice over 20000 with a match every 10: at least 20 slices.
    QVERIFY2(inserted.count() >= static_cast<int>(kRecords / 1000),
             qPrintable(QString::number(inserted.count())));
    QCOMPARE(static_cast<std::uint64_t>(model.rowCount()), kRecords / 10);
    for (int r = 0; r < model.rowCount(); ++r)
      QCOMPARE(*model.storeIndexAt(r), static_cast<std::uint64_t>(r) * 10);

    // The token filter walks the token's own index: the same slices, a third of the rows.
    model.setFilter(EventLogModel::Filter{2, EventLogModel::kAllKinds, {}, std::nullopt});
    QTRY_VERIFY_WITH_TIMEOUT(!model.isScanning(), kUiWaitMs);
    QCOMPARE(static_cast<std::uint64_t>(model.rowCount()), (kRecords + 1) / 3);
    QCOMPARE(*model.storeIndexAt(0), std::uint64_t{1});
    QCOMPARE(*model.storeIndexAt(1), std::uint64_t{4});
  }

  // The row bound: the window follows the newest maxRows records; showIndex / showTime
  // move it to an older record (following stops, new records do not move it), and
  // followLatest brings it back. A filter keeps its newest maxRows matches.
  void rows_are_bounded_by_a_moving_window() {
    auto owned = std::make_unique<RingFeed>(1 << 12);
    RingFeed& feed = *owned;
    Bridge bridge(std::move(owned), Bridge::Options{});
    CaptureSession session(bridge);
    EventLogModel model(session);
    model.setMaxRows(100);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    std::uint64_t pushed = 0;
    auto push = [&](std::uint64_t n) {
      for (std::uint64_t k = 0; k < n; ++k, ++pushed) {
        Record r;
        r.t_ns = pushed * 10;
        r.kind = RecordKind::readiness;
        r.token = 1;
        r.fd = 10;
        r.bits = pushed % 10 == 0 ? EPOLLOUT : EPOLLIN;
        QVERIFY(feed.ring.try_push(r));
      }
      QVERIFY_OK(feed.notifier.notify());
      QTRY_COMPARE_WITH_TIMEOUT(bridge.store().size(), pushed, kUiWaitMs);
      bridge.flush_frame();
    };
    push(250);
    QCOMPARE(model.rowCount(), 100);
    QVERIFY(model.isFollowing());
    QCOMPARE(*model.storeIndexAt(0), std::uint64_t{150});
    QCOMPARE(*model.storeIndexAt(99), std::uint64_t{249});
    QCOMPARE(model.rowForStoreIndex(10), -1);

    // Back to record 10: the window moves (clamped at the store's start) and stays put.
    const int row = model.showIndex(10);
    QCOMPARE(*model.storeIndexAt(row), std::uint64_t{10});
    QVERIFY(!model.isFollowing());
    QCOMPARE(model.rowCount(), 100);
    QCOMPARE(*model.storeIndexAt(0), std::uint64_t{0});
    push(50);
    QCOMPARE(*model.storeIndexAt(0), std::uint64_t{0});
    QCOMPARE(model.rowCount(), 100);
    // Jump to time: record 120 (t = 1200) is outside [0, 100): the window centres on it.
    const int at = model.showTime(1200);
    QCOMPARE(*model.storeIndexAt(at), std::uint64_t{120});
    QCOMPARE(*model.storeIndexAt(0), std::uint64_t{70});

    model.followLatest();
    QVERIFY(model.isFollowing());
    QCOMPARE(*model.storeIndexAt(0), std::uint64_t{200});
    QCOMPARE(*model.storeIndexAt(99), std::uint64_t{299});
    push(30);
    QCOMPARE(*model.storeIndexAt(99), std::uint64_t{329});
    QCOMPARE(model.rowCount(), 100);

    // A filter: every tenth record matches (33 of 330); with a bound of 20, the newest 20.
    model.setMaxRows(20);
    model.setTextFilter(QStringLiteral("writable"));
    QTRY_VERIFY_WITH_TIMEOUT(!model.isScanning(), kUiWaitMs);
    QCOMPARE(model.rowCount(), 20);
    QCOMPARE(*model.storeIndexAt(19), std::uint64_t{320});
    QCOMPARE(*model.storeIndexAt(0), std::uint64_t{130});
  }
};

QTEST_MAIN(TestEventLogModel)
#include "tst_event_log_model.moc"
