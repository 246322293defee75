// The sources table's bound: at most SourceTable::kMaxClosedRows closed sources keep their
// row; the earliest created closed rows beyond it are evicted, counted, and folded by the
// model into one last "N closed sources evicted" row. Live sources always keep theirs.
#include <QAbstractItemModelTester>
#include <QTest>
#include <cstdint>
#include <memory>
#include <vector>

#include "models/source_table.h"
#include "models/sources_model.h"
#include "models_test_util.h"
#include "ready_test.h"
#include "session/bridge.h"
#include "session/capture_session.h"
#include "window/main_window.h"

#include <QComboBox>

using namespace ready;
using namespace ready::capture;
using namespace ready::test;
using ready::ui::Bridge;
using ready::ui::CaptureSession;
using ready::ui::SourcesModel;
using ready::ui::SourceTable;

namespace {

constexpr std::size_t kBound = SourceTable::kMaxClosedRows;

Record source_record(RecordKind k, std::uint64_t token, std::uint64_t t, SourceKind kind = SourceKind::tcp_stream) {
  Record r;
  r.kind = k;
  r.t_ns = t;
  r.token = token;
  r.fd = static_cast<int>(100 + token % 1000);
  r.op = static_cast<std::uint8_t>(kind);
  r.bits = SourceBits{Interest::READABLE, Trigger::edge, Reaction::none}.pack();
  return r;
}

/// Tokens 1.. : every `live_every`-th stays open, the others open and close.
std::vector<Record> churn(std::uint64_t first, std::uint64_t count, std::uint64_t live_every, std::uint64_t& t) {
  std::vector<Record> out;
  for (std::uint64_t tok = first; tok < first + count; ++tok) {
    out.push_back(source_record(RecordKind::source_added, tok, ++t));
    if (tok % live_every != 0) out.push_back(source_record(RecordKind::source_removed, tok, ++t));
  }
  return out;
}

/// The table's rows are in creation order and row_of agrees with them.
bool consistent(const SourceTable& table) {
  const auto& rows = table.rows();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i > 0 && rows[i - 1].token >= rows[i].token) return false;
    if (table.row_of(rows[i].token) != static_cast<int>(i)) return false;
  }
  return true;
}

std::size_t closed_in(const SourceTable& table) {
  std::size_t n = 0;
  for (const auto& r : table.rows()) n += r.is_closed() ? 1 : 0;
  return n;
}

}  // namespace

class TestSourceTableBound : public CoreTest {
  Q_OBJECT
 private slots:
  // Qt-free: 5000 sources, every 50th left open; the closed rows stay within the bound
  // (2 x kMaxClosedRows between take_dirty calls, exactly kMaxClosedRows after one), the
  // live ones all stay, and the evicted ones are counted.
  void closed_rows_are_bounded() {
    SourceTable table;
    std::uint64_t t = 0;
    for (const Record& r : churn(1, 5000, 50, t)) {
      table.on_record(r, 0);
      QVERIFY(table.closed_rows() <= 2 * kBound);
    }
    QCOMPARE(closed_in(table), table.closed_rows());
    QVERIFY(consistent(table));
    const SourceTable::Dirty d = table.take_dirty();
    QVERIFY(d.removed.empty());  // nothing was handed out before: nothing to remove
    QCOMPARE(table.closed_rows(), kBound);
    QCOMPARE(closed_in(table), kBound);
    QCOMPARE(table.evicted_closed(), std::uint64_t{5000 - 100 - kBound});
    QCOMPARE(table.size(), std::size_t{100} + kBound);
    QVERIFY(consistent(table));
    for (std::uint64_t tok = 50; tok <= 5000; tok += 50) QVERIFY(table.find(tok) && !table.find(tok)->is_closed());
    // The latest closed ones are kept, the earliest evicted.
    QVERIFY(table.find(4999));
    QVERIFY(!table.find(1));
    QCOMPARE(d.end, table.size());
  }

  // Removal positions handed out by take_dirty replay the table's evictions on a copy of
  // the rows handed out before (what the model does).
  void removed_positions_replay_on_the_reported_rows() {
    SourceTable table;
    std::uint64_t t = 0;
    std::vector<std::uint64_t> shown;  // what a model shows
    std::uint64_t next = 1;
    for (int frame = 0; frame < 12; ++frame) {
      // Every third frame, the live ones close too: rows handed out earlier get evicted.
      for (const Record& r : churn(next, 400, 9, t)) table.on_record(r, 0);
      if (frame % 3 == 2)
        for (std::uint64_t tok = 9; tok < next; tok += 9)
          if (const auto* row = table.find(tok); row && !row->is_closed())
            table.on_record(source_record(RecordKind::source_removed, tok, ++t), 0);
      next += 400;
      const SourceTable::Dirty d = table.take_dirty();
      for (std::size_t p : d.removed) {
        QVERIFY(p < shown.size());
        shown.erase(shown.begin() + static_cast<std::ptrdiff_t>(p));
      }
      QCOMPARE(d.first_new, shown.size());
      for (std::size_t r = d.first_new; r < d.end; ++r) shown.push_back(table.rows()[r].token);
      QCOMPARE(shown.size(), table.size());
      for (std::size_t i = 0; i < shown.size(); ++i) QCOMPARE(shown[i], table.rows()[i].token);
      QVERIFY(table.closed_rows() <= kBound);
    }
    QVERIFY(table.evicted_closed() > 0);
  }

  // The model over a session: rows follow the table through evictions under
  // QAbstractItemModelTester; one last row counts the evicted sources.
  void model_folds_evicted_rows() {
    auto owned = std::make_unique<ui::RingFeed>(1 << 14);
    ui::RingFeed& feed = *owned;
    Bridge bridge(std::move(owned), Bridge::Options{});
    CaptureSession session(bridge);
    SourcesModel model(session);
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    std::uint64_t t = 0;
    std::uint64_t next = 1;
    std::uint64_t pushed = 0;
    for (int frame = 0; frame < 6; ++frame) {
      for (const Record& r : churn(next, 600, 20, t)) {
        QVERIFY(feed.ring.try_push(r));
        ++pushed;
      }
      next += 600;
      QVERIFY_OK(feed.notifier.notify());
      QTRY_COMPARE_WITH_TIMEOUT(bridge.store().end_index(), pushed, kUiWaitMs);
      bridge.flush_frame();
      const SourceTable& table = session.sources();
      QCOMPARE(model.sourceRowCount(), static_cast<int>(table.size()));
      QCOMPARE(model.evictedSources(), table.evicted_closed());
      QCOMPARE(model.rowCount(), model.sourceRowCount() + (table.evicted_closed() ? 1 : 0));
      for (int row = 0; row < model.sourceRowCount(); ++row) {
        QCOMPARE(model.tokenAt(row), table.rows()[static_cast<std::size_t>(row)].token);
        QCOMPARE(model.rowOf(model.tokenAt(row)), row);
      }
    }
    const SourceTable& table = session.sources();
    QCOMPARE(table.closed_rows(), kBound);
    QCOMPARE(table.evicted_closed(), std::uint64_t{3600 - 180 - kBound});
    const int last = model.rowCount() - 1;
    QCOMPARE(model.tokenAt(last), std::uint64_t{0});
    QCOMPARE(model.data(model.index(last, SourcesModel::KindColumn)).toString(),
             QStringLiteral("%1 closed sources evicted").arg(table.evicted_closed()));
    QVERIFY(model.data(model.index(last, 0), SourcesModel::ClosedRole).toBool());
    QVERIFY(!(model.flags(model.index(last, 0)) & Qt::ItemIsSelectable));
    QVERIFY(!model.setData(model.index(last, SourcesModel::ModeColumn), QStringLiteral("level"), Qt::EditRole));
    QCOMPARE(model.rowOf(1), -1);  // evicted
    bridge.stop();
  }

  // The window: the event log's token filter lists the sources rows, evicted ones leave it,
  // but the token the log is filtered by stays chosen.
  void log_token_filter_follows_the_table() {
    auto owned = std::make_unique<ui::RingFeed>(1 << 14);
    ui::RingFeed& feed = *owned;
    auto bridge = std::make_unique<Bridge>(std::move(owned), Bridge::Options{});
    Bridge* b = bridge.get();
    ui::MainWindow w(std::move(bridge));
    auto* filter = w.findChild<QComboBox*>(QStringLiteral("logTokenFilter"));
    QVERIFY(filter);
    std::uint64_t t = 0;
    std::uint64_t next = 1;
    for (int frame = 0; frame < 5; ++frame) {
      for (const Record& r : churn(next, 600, 20, t)) QVERIFY(feed.ring.try_push(r));
      next += 600;
      QVERIFY_OK(feed.notifier.notify());
      b->drain_now();
      b->flush_frame();
      if (frame == 0) {
        filter->setCurrentIndex(filter->findData(QVariant::fromValue<qulonglong>(3)));  // closed, evicted later
        QCOMPARE(filter->currentData().toULongLong(), qulonglong{3});
      }
      const SourcesModel& model = *w.sourcesModel();
      QVERIFY(model.evictedSources() > 0 || frame < 2);
      std::vector<std::uint64_t> listed;
      for (int i = 1; i < filter->count(); ++i)
        if (filter->itemData(i).toULongLong() != 3) listed.push_back(filter->itemData(i).toULongLong());
      std::vector<std::uint64_t> rows;
      for (int row = 0; row < model.sourceRowCount(); ++row)
        if (model.tokenAt(row) != 3) rows.push_back(model.tokenAt(row));
      QCOMPARE(listed, rows);
      QCOMPARE(filter->currentData().toULongLong(), qulonglong{3});
    }
    QCOMPARE(w.sourcesModel()->rowOf(3), -1);  // evicted from the table, still the filter
  }
};

QTEST_MAIN(TestSourceTableBound)
#include "tst_source_table_bound.moc"
