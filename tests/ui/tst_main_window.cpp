// The main window end to end, through its widgets, on a real engine and loopback sockets:
// sources created from the new-source dialog, bytes sent from the inspector, readiness
// appearing in the lanes, interest toggled in the sources table, a refused connect.
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QMenu>
#include <QMenuBar>
#include <QTabWidget>
#include <QTableView>
#include <QToolButton>
#include <QTimer>
#include <QtTest>

#include <functional>
#include <memory>

#include "session/bridge.h"
#include "panels/inspector.h"
#include "panels/rates_view.h"
#include "panels/source_actions.h"
#include "window/main_window.h"
#include "models_test_util.h"
#include "panels/new_source_dialog.h"
#include "ready_test.h"
#include "models/source_table.h"
#include "models/sources_model.h"
#include "timeline/laneindex.h"
#include "timeline/timelineview.h"
#include "window_test_util.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::ui;
using namespace ready::test;

namespace {

constexpr int kWaitMs = 10000;

}  // namespace

class TestMainWindow : public CoreTest {
  Q_OBJECT

  std::unique_ptr<MainWindow> m_window;

  MainWindow& window() { return *m_window; }

  /// Opens File > New source… with the dialog filled by `fill`; returns the token of the
  /// source it created (0 if none appeared).
  std::uint64_t createFromDialog(std::function<void(NewSourceDialog&)> fill) {
    const std::size_t before = window().sourceTable().rows().size();
    answerNextDialog(std::move(fill));
    QAction* act = nullptr;
    for (QAction* a : window().findChildren<QAction*>())
      if (a->objectName() == QLatin1String("actionNewSource")) act = a;
    if (!act) return 0;
    act->trigger();
    if (!QTest::qWaitFor([&] { return window().sourceTable().rows().size() > before; }, kWaitMs)) return 0;
    return window().sourceTable().rows()[before].token;
  }

  const SourceRow* row(std::uint64_t token) { return window().sourceTable().find(token); }

  /// The union of the readiness flags the timeline's lane of `token` holds.
  std::uint8_t laneFlags(std::uint64_t token) {
    const LaneIndex& lanes = window().laneIndex();
    const auto lane = lanes.lane_of(token);
    if (!lane) return 0;
    const TimeWindow w = lanes.data_window();
    MarkColumn col[1];
    // One column from time 0: every summary bucket starts inside it (a bucket is drawn in
    // the column of its start, so a window starting mid-bucket would leave one out).
    lanes.readiness_columns(*lane, TimeScale(0, w.t1 + 1, 0, 1), col);
    return col[0].flags;
  }

  /// Readiness records of `token` from store index `from` on with `flag`.
  int readinessWith(std::uint64_t token, std::uint8_t flag, std::uint64_t from) {
    const RecordStore& s = window().bridge().store();
    int n = 0;
    for (std::uint64_t i = std::max(from, s.begin_index()); i < s.end_index(); ++i) {
      if (s.kind_at(i) != RecordKind::readiness) continue;
      const Record r = s.at(i);
      if (r.token == token && (readiness_flags(r.bits) & flag)) ++n;
    }
    return n;
  }

 private slots:
  void init() {
    auto bridge = Bridge::start({}, {});
    QVERIFY_OK(bridge);
    m_window = std::make_unique<MainWindow>(std::move(*bridge));
    m_window->resize(1400, 800);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
  }
  void cleanup() { m_window.reset(); }

  void listenerClientBytesAndInterestToggle() {
    // A listener that accepts (streams get no reaction: the user acts), from the dialog.
    const std::uint64_t listener = createFromDialog([](NewSourceDialog& d) {
      d.setChoice(SourceChoice::tcp_listen);
      d.addressEdit()->setEditText(QStringLiteral("127.0.0.1:0"));
      QVERIFY(d.setReaction(Reaction::auto_accept));
    });
    QVERIFY(listener != 0);
    QTRY_VERIFY_WITH_TIMEOUT(row(listener) && !row(listener)->local.empty(), kWaitMs);
    QCOMPARE(row(listener)->state, SourceState::listening);
    const QString local = QString::fromStdString(row(listener)->local);

    const std::uint64_t client = createFromDialog([&](NewSourceDialog& d) {
      d.setChoice(SourceChoice::tcp_connect);
      d.addressEdit()->setEditText(local);
      QVERIFY(d.setReaction(Reaction::none));
    });
    QVERIFY(client != 0);
    QTRY_COMPARE_WITH_TIMEOUT(row(client)->state, SourceState::connected, kWaitMs);
    // The accepted stream: a third source whose parent is the listener.
    std::uint64_t accepted = 0;
    QTRY_VERIFY_WITH_TIMEOUT(([&] {
                               for (const SourceRow& r : window().sourceTable().rows())
                                 if (r.related == listener) accepted = r.token;
                               return accepted != 0;
                             }()),
                             kWaitMs);

    // Bytes from the inspector's send box of the client.
    window().selectSource(client);
    QCOMPARE(window().inspector()->token(), client);
    window().inspector()->sendEdit()->setText(QStringLiteral("hello"));
    window().inspector()->sendInput();
    QTRY_VERIFY_WITH_TIMEOUT(readinessWith(accepted, flag_readable, 0) > 0, kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(row(client)->bytes_out, std::uint64_t{5}, kWaitMs);

    // The lanes show what happened: readable on the listener (a connection) and on the
    // accepted stream (bytes), writable on the client (its connect completed).
    QTRY_VERIFY_WITH_TIMEOUT(laneFlags(listener) & flag_readable, kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(laneFlags(accepted) & flag_readable, kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(laneFlags(client) & flag_writable, kWaitMs);

    // Untick Readable for the accepted stream in the sources table: after the engine
    // confirms, new bytes bring no readable event for it.
    SourcesModel* model = window().sourcesModel();
    // The model learns of rows at the next frame, after the source table: wait for it.
    QTRY_VERIFY_WITH_TIMEOUT(model->rowOf(accepted) >= 0, kWaitMs);
    const int r = model->rowOf(accepted);
    const QModelIndex readable = model->index(r, SourcesModel::ReadableColumn);
    QCOMPARE(model->data(readable, Qt::CheckStateRole).toInt(), int(Qt::Checked));
    // The accepted stream has interest readable only by default: add writable first so
    // unticking readable leaves a valid interest.
    QVERIFY(model->setData(model->index(r, SourcesModel::WritableColumn), Qt::Checked, Qt::CheckStateRole));
    QTRY_VERIFY_WITH_TIMEOUT(row(accepted)->interest.is_writable(), kWaitMs);
    QVERIFY(model->setData(readable, Qt::Unchecked, Qt::CheckStateRole));
    QTRY_VERIFY_WITH_TIMEOUT(!row(accepted)->interest.is_readable(), kWaitMs);
    QTRY_COMPARE_WITH_TIMEOUT(model->data(readable, Qt::CheckStateRole).toInt(), int(Qt::Unchecked), kWaitMs);
    const std::uint64_t mark = window().bridge().store().end_index();
    window().inspector()->sendEdit()->setText(QStringLiteral("more"));
    window().inspector()->sendInput();
    QTRY_COMPARE_WITH_TIMEOUT(row(client)->bytes_out, std::uint64_t{9}, kWaitMs);
    // The bytes are in the accepted stream's buffer now (the write completed on loopback);
    // the engine polled since (the client's write action came back through a poll).
    QCOMPARE(readinessWith(accepted, flag_readable, mark), 0);

    // Tick it again: EPOLL_CTL_MOD re-evaluates, the pending bytes fire at once.
    const std::uint64_t mark2 = window().bridge().store().end_index();
    QVERIFY(model->setData(readable, Qt::Checked, Qt::CheckStateRole));
    QTRY_VERIFY_WITH_TIMEOUT(readinessWith(accepted, flag_readable, mark2) > 0, kWaitMs);
  }

  void refusedConnectShowsAnErrorState() {
    const net::SocketAddr addr = closed_port();
    QVERIFY(addr.port() != 0);
    const std::uint64_t client = createFromDialog([&](NewSourceDialog& d) {
      d.setChoice(SourceChoice::tcp_connect);
      d.addressEdit()->setEditText(QString::fromStdString(addr.to_string()));
    });
    QVERIFY(client != 0);
    QTRY_COMPARE_WITH_TIMEOUT(row(client)->state, SourceState::error, kWaitMs);
    QCOMPARE(row(client)->err, ECONNREFUSED);
    // The sources panel shows it once its frame came (the table is ahead by up to a frame).
    SourcesModel* model = window().sourcesModel();
    const auto state = [&] {
      const int r = model->rowOf(client);
      return r < 0 ? QString() : model->data(model->index(r, SourcesModel::StateColumn)).toString();
    };
    QTRY_VERIFY_WITH_TIMEOUT(state().contains(QLatin1String("ECONNREFUSED")), kWaitMs);
    // And the status bar says so: an engine error is shown, not swallowed.
    QTRY_VERIFY_WITH_TIMEOUT(window().statusMessage().contains(QLatin1String("ECONNREFUSED")), kWaitMs);
  }

  // A flood of records makes the tables repaint at most every 100 ms; a trickle never does.
  void tablesRepaintLessUnderAFlood() {
    auto owned = std::make_unique<RingFeed>(1 << 14);
    RingFeed& feed = *owned;
    auto bridge = std::make_unique<Bridge>(std::move(owned), Bridge::Options{});
    Bridge* b = bridge.get();
    MainWindow w(std::move(bridge));
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    const auto push = [&](int n) {
      for (int i = 0; i < n; ++i) {
        Record r;
        r.kind = RecordKind::note;
        r.t_ns = static_cast<std::uint64_t>(i);
        QVERIFY(feed.ring.try_push(r));
      }
      feed.notifier.notify();
      b->drain_now();
      b->flush_frame();
    };
    QWidget* log = w.eventLogView()->viewport();
    push(10);
    QVERIFY(log->updatesEnabled());
    push(5000);
    QVERIFY(!log->updatesEnabled());
    QVERIFY(!w.sourcesView()->viewport()->updatesEnabled());
    // Back to painting once the interval has passed, with what arrived meanwhile.
    QTRY_VERIFY_WITH_TIMEOUT(log->updatesEnabled(), kWaitMs);
    QVERIFY(w.sourcesView()->viewport()->updatesEnabled());
    QCOMPARE(w.bridge().store().size(), std::uint64_t{5010});
  }

  // The Rates tab redraws once per delivered frame while shown (the timeline's view change
  // in the same frame does not add a second redraw) and not at all while another tab is
  // in front; it catches up once when brought forward.
  void ratesRefreshOncePerFrameAndNotWhileHidden() {
    RatesView* rates = window().rates();
    QVERIFY(!rates->isVisible());  // the Event log tab is in front
    QSignalSpy frames(&window().session(), &CaptureSession::frameDelivered);
    const std::uint64_t hidden = rates->refreshCount();
    window().submit(cmd::Pipe{});
    window().submit(cmd::Note{"hidden"});
    QTRY_VERIFY_WITH_TIMEOUT(frames.count() >= 2, kWaitMs);
    QCOMPARE(rates->refreshCount(), hidden);

    QTabWidget* tabs = nullptr;
    for (QWidget* w = rates->parentWidget(); w && !tabs; w = w->parentWidget()) tabs = qobject_cast<QTabWidget*>(w);
    QVERIFY(tabs);
    tabs->setCurrentWidget(rates);
    QTRY_VERIFY_WITH_TIMEOUT(rates->isVisible(), kWaitMs);
    QVERIFY(rates->refreshCount() > hidden);
    // Let the layout settle: showing the tab may post layout requests whose resize of the
    // charts (a refresh each) would land in the count below.
    QTest::qWait(100);

    frames.clear();
    const std::uint64_t shown = rates->refreshCount();
    for (int i = 0; i < 5; ++i) {
      window().submit(cmd::Note{"shown"});
      QTRY_VERIFY_WITH_TIMEOUT(frames.count() > i, kWaitMs);
    }
    QCOMPARE(rates->refreshCount() - shown, static_cast<std::uint64_t>(frames.count()));
  }

  // One QAction per source operation: the inspector's buttons show them, the Capture menu
  // holds them, and the sources' context menu offers the same objects.
  void sourceActionsAreSharedByEveryPlace() {
    SourceActions* actions = window().sourceActions();
    QVERIFY(actions);
    for (const InspectorAction a : SourceActions::all()) {
      QAction* act = actions->action(a);
      auto* button = qobject_cast<QToolButton*>(window().inspector()->button(a));
      QVERIFY(button);
      QCOMPARE(button->defaultAction(), act);
      bool inMenu = false;
      for (QAction* m : window().menuBar()->actions())
        if (m->menu() && m->menu()->actions().contains(act)) inMenu = true;
      QVERIFY(inMenu);
    }
    const auto t = window().bridge().submit(cmd::EventFdCreate{});
    QVERIFY(t);
    QTRY_VERIFY_WITH_TIMEOUT(row(t->token.value) != nullptr, kWaitMs);
    window().selectSource(t->token.value);
    std::vector<QAction*> expected;
    for (const InspectorAction a : SourceActions::actionsFor(SourceKind::eventfd)) expected.push_back(actions->action(a));
    QCOMPARE(actions->current(), expected);
    for (QAction* a : expected) QVERIFY(a->isVisible() && a->isEnabled());
    // Triggered from anywhere, the shared action acts on the selected source.
    actions->action(InspectorAction::eventfd_write)->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(find_record(window().bridge().store(), action_of(t->token, Op::eventfd_write, Outcome::ok)),
                             kWaitMs);
    actions->action(InspectorAction::close)->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(row(t->token.value) && row(t->token.value)->is_closed(), kWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(!actions->action(InspectorAction::close)->isEnabled(), kWaitMs);
  }

  void statusBarCountsRecords() {
    window().submit(cmd::Note{"hello"});
    QTRY_VERIFY_WITH_TIMEOUT(window().bridge().status().received > 0, kWaitMs);
    const auto* total = window().findChild<QLabel*>(QStringLiteral("statusTotal"));
    QVERIFY(total);
    QTRY_VERIFY_WITH_TIMEOUT(!total->text().startsWith(QLatin1String("0 ")), kWaitMs);
    const auto* dropped = window().findChild<QLabel*>(QStringLiteral("statusDropped"));
    QVERIFY(dropped);
    QCOMPARE(dropped->text(), QStringLiteral("dropped 0"));
  }

  void firstRunShowsHowToStart() {
    // An empty window says how to begin, in the timeline and in the inspector.
    QVERIFY(window().timeline()->showsEmptyHint());
    QVERIFY(window().timeline()->emptyHint().contains(QStringLiteral("New source")));
    const auto* payload = window().inspector()->findChild<QPlainTextEdit*>(QStringLiteral("payloadView"));
    QVERIFY(payload);
    QVERIFY(payload->placeholderText().contains(QStringLiteral("Select a source")));
    // The interest check columns explain themselves.
    const QString tip = window().sourcesView()->model()->headerData(SourcesModel::ReadableColumn, Qt::Horizontal,
                                                                    Qt::ToolTipRole).toString();
    QVERIFY(tip.contains(QStringLiteral("Tick")));
    const std::uint64_t listener = createFromDialog([](NewSourceDialog& d) {
      d.setChoice(SourceChoice::tcp_listen);
      d.addressEdit()->setEditText(QStringLiteral("127.0.0.1:0"));
    });
    QVERIFY(listener != 0);
    QTRY_VERIFY_WITH_TIMEOUT(!window().timeline()->showsEmptyHint(), kWaitMs);
  }
};

QTEST_MAIN(TestMainWindow)
#include "tst_main_window.moc"
