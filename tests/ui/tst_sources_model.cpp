// The sources model over a real engine: rows from records, interest check boxes that go
// through the engine (EPOLL_CTL_MOD and all), mode / reaction editing, refused edits,
// closed rows greyed, dataChanged for changed rows only.
#include <QAbstractItemModelTester>
#include <QPalette>
#include <QSignalSpy>
#include <QTest>

#include "session/bridge.h"
#include "session/capture_session.h"
#include "models_test_util.h"
#include "ready_test.h"
#include "models/source_table.h"
#include "models/sources_model.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;
using ready::ui::Bridge;
using ready::ui::SourcesModel;
using ready::ui::SourceTable;

namespace {

/// A bridge, a capture session over it (its source table) and the model under a
/// QAbstractItemModelTester.
struct Fixture {
  explicit Fixture(std::unique_ptr<Bridge> b)
      : bridge(std::move(b)),
        session(*bridge),
        model(session),
        tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest) {}
  ~Fixture() { bridge->stop(); }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  QVariant at(Token t, int column, int role = Qt::DisplayRole) const {
    return model.data(model.index(model.rowOf(t.value), column), role);
  }
  bool checked(Token t, int column) const {
    return at(t, column, Qt::CheckStateRole).value<Qt::CheckState>() == Qt::Checked;
  }
  bool set(Token t, int column, const QVariant& v, int role) {
    return model.setData(model.index(model.rowOf(t.value), column), v, role);
  }
  /// True when no readiness of `t` with `flag` lies in store indices [from, to).
  bool no_flag_between(Token t, std::uint8_t flag, std::uint64_t from, std::uint64_t to) const {
    for (std::uint64_t i = from; i < to; ++i) {
      const Record r = bridge->store().at(i);
      if (r.kind == RecordKind::readiness && r.token == t.value && (readiness_flags(r.bits) & flag))
        return false;
    }
    return true;
  }
  /// Submits a note and waits for its record; returns its store index (every record of
  /// commands queued before it, and of the poll iteration that ran them, is before it).
  std::optional<std::uint64_t> barrier(const char* text) {
    auto t = bridge->submit(cmd::Note{text});
    if (!t) return std::nullopt;
    const std::uint64_t id = t->id;
    const auto pred = [id](const Record& r) { return r.kind == RecordKind::note && r.value2 == id; };
    if (!QTest::qWaitFor([&] { return find_record(bridge->store(), pred).has_value(); }, kUiWaitMs))
      return std::nullopt;
    return find_record(bridge->store(), pred);
  }

  std::unique_ptr<Bridge> bridge;
  ready::ui::CaptureSession session;
  SourcesModel model;
  QAbstractItemModelTester tester;
};

}  // namespace

class TestSourcesModel : public CoreTest {
  Q_OBJECT

 private slots:
  void interest_check_boxes_go_through_the_engine() {
    START_BRIDGE(b, EngineConfig{}, Bridge::Options{});
    Fixture f(std::move(b));
    QSignalSpy failed(&f.session, &ready::ui::CaptureSession::commandFailed);
    QSignalSpy inserted(&f.model, &QAbstractItemModel::rowsInserted);

    // A listener that accepts by itself; a client; the accepted stream (reaction none,
    // interest READABLE, edge) is the source under test.
    auto l = f.bridge->submit(cmd::TcpListen{
        net::SocketAddr::loopback_v4(0),
        SourceOptions{Interest::READABLE, Trigger::edge, ReactionSpec{Reaction::auto_accept}}});
    QVERIFY_OK(l);
    QTRY_VERIFY_WITH_TIMEOUT(f.model.rowOf(l->token.value) == 0, kUiWaitMs);
    QCOMPARE(f.model.tokenAt(0), l->token.value);
    QCOMPARE(f.at(l->token, SourcesModel::StateColumn).toString(), QStringLiteral("listening"));
    const auto addr =
        net::SocketAddr::parse(f.at(l->token, SourcesModel::LocalColumn).toString().toStdString());
    QVERIFY(addr.has_value());
    auto c = f.bridge->submit(cmd::TcpConnect{*addr});
    QVERIFY_OK(c);
    std::optional<std::uint64_t> acc;
    WAIT_RECORD(*f.bridge, acc, action_of(l->token, Op::accept, Outcome::ok));
    const Token a(f.bridge->store().at(*acc).value);
    QTRY_VERIFY_WITH_TIMEOUT(f.model.rowOf(a.value) >= 0, kUiWaitMs);
    QVERIFY(!inserted.isEmpty());
    QCOMPARE(f.model.rowCount(), 3);
    QVERIFY(f.checked(a, SourcesModel::ReadableColumn));
    QVERIFY(!f.checked(a, SourcesModel::WritableColumn));
    QVERIFY(!f.checked(a, SourcesModel::PriorityColumn));
    QVERIFY(f.model.flags(f.model.index(f.model.rowOf(a.value), SourcesModel::ReadableColumn)) &
            Qt::ItemIsUserCheckable);

    // Unticking the only interest bit is refused: a message, no command, no change.
    QVERIFY(!f.set(a, SourcesModel::ReadableColumn, Qt::Unchecked, Qt::CheckStateRole));
    QCOMPARE(failed.count(), 1);
    QVERIFY(failed.front().front().toString().contains(QStringLiteral("interest")));
    auto after_refusal = f.barrier("after refusal");
    QVERIFY(after_refusal);
    QVERIFY(!find_record(f.bridge->store(), kind_of(RecordKind::source_changed, a)));
    QVERIFY(f.checked(a, SourcesModel::ReadableColumn));

    // Tick Writable: readable|writable once the engine says so, not before.
    // As a view's delegate sends it: the check state as a plain int.
    QVERIFY(f.set(a, SourcesModel::WritableColumn, QVariant(int{Qt::Checked}), Qt::CheckStateRole));
    QVERIFY(!f.checked(a, SourcesModel::WritableColumn));
    QTRY_VERIFY_WITH_TIMEOUT(f.checked(a, SourcesModel::WritableColumn), kUiWaitMs);
    QVERIFY(f.checked(a, SourcesModel::ReadableColumn));

    // Untick Readable: writable only. Data arriving now makes no readable mark.
    QVERIFY(f.set(a, SourcesModel::ReadableColumn, Qt::Unchecked, Qt::CheckStateRole));
    QVERIFY(f.checked(a, SourcesModel::ReadableColumn));  // still the engine's value
    QTRY_VERIFY_WITH_TIMEOUT(!f.checked(a, SourcesModel::ReadableColumn), kUiWaitMs);
    const std::uint64_t unticked = f.bridge->store().end_index();
    QVERIFY_OK(f.bridge->submit(cmd::Write{c->token, "pending"}));
    std::optional<std::uint64_t> wrote;
    WAIT_RECORD(*f.bridge, wrote, action_of(c->token, Op::write, Outcome::ok));
    QCOMPARE(f.bridge->store().at(*wrote).value, std::uint64_t{7});
    // Two barriers: the poll iteration after the write (where an event would show) is done.
    QVERIFY(f.barrier("one"));
    auto settled = f.barrier("two");
    QVERIFY(settled);
    QVERIFY(f.no_flag_between(a, flag_readable, unticked, *settled));
    const auto events_before = f.at(a, SourcesModel::EventsColumn).toULongLong();

    // Tick Readable again: EPOLL_CTL_MOD re-evaluates, and the pending data is reported at once.
    QVERIFY(f.set(a, SourcesModel::ReadableColumn, Qt::Checked, Qt::CheckStateRole));
    QTRY_VERIFY_WITH_TIMEOUT(f.checked(a, SourcesModel::ReadableColumn), kUiWaitMs);
    std::optional<std::uint64_t> readable;
    WAIT_RECORD(*f.bridge, readable, [&](const Record& r) {
      return r.kind == RecordKind::readiness && r.token == a.value &&
             (readiness_flags(r.bits) & flag_readable);
    });
    QVERIFY(*readable > *settled);
    QTRY_VERIFY_WITH_TIMEOUT(f.at(a, SourcesModel::EventsColumn).toULongLong() > events_before, kUiWaitMs);
    QCOMPARE(failed.count(), 1);  // nothing else was refused
  }

  void mode_and_reaction_are_edited_through_the_engine() {
    START_BRIDGE(b, EngineConfig{}, Bridge::Options{});
    Fixture f(std::move(b));
    QSignalSpy failed(&f.session, &ready::ui::CaptureSession::commandFailed);
    auto e = f.bridge->submit(cmd::EventFdCreate{});
    QVERIFY_OK(e);
    QTRY_VERIFY_WITH_TIMEOUT(f.model.rowOf(e->token.value) >= 0, kUiWaitMs);
    QCOMPARE(f.at(e->token, SourcesModel::ModeColumn).toString(), QStringLiteral("edge"));
    QVERIFY(f.model.flags(f.model.index(0, SourcesModel::ModeColumn)) & Qt::ItemIsEditable);
    QVERIFY(!(f.model.flags(f.model.index(0, SourcesModel::EventsColumn)) & Qt::ItemIsEditable));

    QVERIFY(f.set(e->token, SourcesModel::ModeColumn, QStringLiteral("oneshot"), Qt::EditRole));
    QCOMPARE(f.at(e->token, SourcesModel::ModeColumn).toString(), QStringLiteral("edge"));
    QTRY_COMPARE_WITH_TIMEOUT(f.at(e->token, SourcesModel::ModeColumn, Qt::EditRole).toString(),
                              QStringLiteral("oneshot"), kUiWaitMs);
    // One event disarms it: the cell says so.
    QVERIFY_OK(f.bridge->submit(cmd::EventFdWrite{e->token, 1}));
    QTRY_COMPARE_WITH_TIMEOUT(f.at(e->token, SourcesModel::ModeColumn).toString(),
                              QStringLiteral("oneshot (disarmed)"), kUiWaitMs);

    QVERIFY(f.set(e->token, SourcesModel::ReactionColumn, QStringLiteral("drain"), Qt::EditRole));
    QTRY_COMPARE_WITH_TIMEOUT(f.at(e->token, SourcesModel::ReactionColumn).toString(),
                              QStringLiteral("drain"), kUiWaitMs);

    QVERIFY(!f.set(e->token, SourcesModel::ModeColumn, QStringLiteral("sideways"), Qt::EditRole));
    QVERIFY(!f.set(e->token, SourcesModel::ReactionColumn, QStringLiteral("juggle"), Qt::EditRole));
    QCOMPARE(failed.count(), 2);
    QVERIFY(failed.at(0).front().toString().contains(QStringLiteral("sideways")));
    QVERIFY(failed.at(1).front().toString().contains(QStringLiteral("juggle")));
  }

  // A refused connect: "error ECONNREFUSED". A closed source stays, greyed and read-only.
  void refused_connect_and_closed_rows() {
    START_BRIDGE(b, EngineConfig{}, Bridge::Options{});
    Fixture f(std::move(b));
    auto c = f.bridge->submit(cmd::TcpConnect{closed_port()});
    QVERIFY_OK(c);
    QTRY_COMPARE_WITH_TIMEOUT(f.at(c->token, SourcesModel::StateColumn).toString(),
                              QStringLiteral("error ECONNREFUSED"), kUiWaitMs);
    QCOMPARE(f.at(c->token, SourcesModel::KindColumn).toString(), QStringLiteral("tcp_stream"));
    QVERIFY(!f.at(c->token, SourcesModel::StateColumn, Qt::ToolTipRole).toString().isEmpty());
    QVERIFY(!f.at(c->token, SourcesModel::ClosedRole, SourcesModel::ClosedRole).toBool());
    QVERIFY(!f.at(c->token, SourcesModel::TokenColumn, Qt::ForegroundRole).isValid());

    QVERIFY_OK(f.bridge->submit(cmd::Close{c->token}));
    QTRY_VERIFY_WITH_TIMEOUT(f.at(c->token, 0, SourcesModel::ClosedRole).toBool(), kUiWaitMs);
    QCOMPARE(f.model.rowCount(), 1);
    QCOMPARE(f.at(c->token, SourcesModel::StateColumn).toString(), QStringLiteral("closed (ECONNREFUSED)"));
    QCOMPARE(f.at(c->token, SourcesModel::TokenColumn, Qt::ForegroundRole).value<QBrush>(),
             QPalette().brush(QPalette::Disabled, QPalette::Text));
    const QModelIndex r = f.model.index(f.model.rowOf(c->token.value), SourcesModel::ReadableColumn);
    QVERIFY(!(f.model.flags(r) & Qt::ItemIsUserCheckable));
    QSignalSpy failed(&f.session, &ready::ui::CaptureSession::commandFailed);
    QVERIFY(!f.model.setData(r, Qt::Unchecked, Qt::CheckStateRole));
    QCOMPARE(failed.count(), 1);
  }

  // A frame repaints the rows that changed and no others.
  void data_changed_only_for_changed_rows() {
    START_BRIDGE(b, EngineConfig{}, Bridge::Options{});
    Fixture f(std::move(b));
    auto p1 = f.bridge->submit(cmd::Pipe{});
    QVERIFY_OK(p1);
    auto p2 = f.bridge->submit(cmd::Pipe{});
    QVERIFY_OK(p2);
    QTRY_COMPARE_WITH_TIMEOUT(f.model.rowCount(), 4, kUiWaitMs);
    // The senders' first writable events come in the poll iteration after their creation:
    // two barriers put them in the store, a flush hands them to the model.
    QVERIFY(f.barrier("one"));
    QVERIFY(f.barrier("two"));
    f.bridge->flush_frame();
    QVERIFY(f.at(p1->token, SourcesModel::EventsColumn).toULongLong() >= 1);
    QSignalSpy changed(&f.model, &QAbstractItemModel::dataChanged);
    QVERIFY_OK(f.bridge->submit(cmd::Write{p2->token, "x"}));
    const int row = f.model.rowOf(p2->token.value);
    QCOMPARE(row, 2);
    // The table is current as soon as the record is drained; the model says so at the frame.
    const auto covers_row = [&] {
      return std::any_of(changed.begin(), changed.end(), [&](const QList<QVariant>& args) {
        return args[0].value<QModelIndex>().row() <= row && args[1].value<QModelIndex>().row() >= row;
      });
    };
    QTRY_VERIFY_WITH_TIMEOUT(covers_row(), kUiWaitMs);
    QCOMPARE(f.at(p2->token, SourcesModel::BytesOutColumn).toULongLong(), 1ULL);
    for (const auto& args : changed) {
      const auto tl = args[0].value<QModelIndex>();
      const auto br = args[1].value<QModelIndex>();
      // The write touches the sender; its event may touch the receiver (row 3). Never the first pipe.
      QVERIFY2(tl.row() >= row && br.row() <= row + 1,
               qPrintable(QStringLiteral("%1-%2").arg(tl.row()).arg(br.row())));
    }
    QCOMPARE(f.model.headerData(SourcesModel::ReadableColumn, Qt::Horizontal).toString(),
             QStringLiteral("R"));
    QCOMPARE(f.model.tokenAt(99), std::uint64_t{0});
    QCOMPARE(f.model.rowOf(123456), -1);
  }
};

QTEST_MAIN(TestSourcesModel)
#include "tst_sources_model.moc"
