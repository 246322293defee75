// The relay in the window (issue 16): New source > Relay, the lanes of a relay grouped per
// connection, a leg paused by back-pressure in the table, the records and the lane, the
// filters, and the live fault knobs. A real engine relays between real loopback sockets: a
// plain blocking listener is the upstream server, plain sockets are the clients.
#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QGroupBox>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTableView>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

#include <fcntl.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "models/record_format.h"
#include "models/source_table.h"
#include "models/sources_model.h"
#include "panels/new_source_dialog.h"
#include "panels/relay_faults.h"
#include "peer.h"
#include "ready_test.h"
#include "timeline/laneindex.h"
#include "timeline/timelineview.h"
#include "window_test_util.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::ui;
using namespace ready::test;

namespace {

constexpr int kWaitMs = 10000;

/// Sends `data` on a blocking plain socket, all of it.
bool send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    auto n = plain_send(fd, std::as_bytes(std::span(data)).subspan(sent));
    if (!n || *n == 0) return false;
    sent += *n;
  }
  return true;
}

/// Reads exactly `n` bytes from a blocking plain socket (its receive timeout bounds the wait).
std::string recv_exactly(int fd, std::size_t n) {
  std::string out;
  std::vector<std::byte> buf(65536);
  while (out.size() < n) {
    auto got = plain_recv(fd, std::span(buf).first(std::min(buf.size(), n - out.size())));
    if (!got || *got == 0) break;
    out.append(reinterpret_cast<const char*>(buf.data()), *got);
  }
  return out;
}

}  // namespace

class TestRelayWindow : public CoreTest {
  Q_OBJECT

  QTemporaryDir m_settings;
  std::unique_ptr<MainWindow> m_window;
  MainWindow& window() { return *m_window; }
  const SourceRow* row(std::uint64_t token) { return window().sourceTable().find(token); }

  /// The tokens of the rows with `role`, in table order.
  std::vector<std::uint64_t> rowsWith(RelayRole role) {
    std::vector<std::uint64_t> out;
    for (const SourceRow& r : window().sourceTable().rows())
      if (r.relay == role) out.push_back(r.token);
    return out;
  }

  /// Starts a relay from the window's session to `upstream`, listening on a free port; its
  /// listener's token once the listener's row is there with its address (nullopt: it failed).
  std::optional<std::uint64_t> startRelay(const net::SocketAddr& upstream, RelayFaultSet faults = {}) {
    cmd::Relay relay;
    relay.listen.tcp = closed_port();
    relay.upstream.tcp = upstream;
    relay.faults = faults;
    const std::size_t before = rowsWith(RelayRole::listener).size();
    auto ticket = window().session().submit(relay);
    if (!ticket) {
      qWarning("relay refused: %s", describe(ticket).c_str());
      return std::nullopt;
    }
    // The listener is found by its row (its source_added), not by the ticket's token.
    if (!QTest::qWaitFor([&] { return rowsWith(RelayRole::listener).size() > before; }, kWaitMs)) {
      qWarning("no relay listener row (%s)", qPrintable(window().statusMessage()));
      return std::nullopt;
    }
    const std::uint64_t listener = rowsWith(RelayRole::listener).back();
    if (row(listener)->local.empty()) return std::nullopt;
    return listener;
  }

 private slots:
  void initTestCase() {
    QVERIFY(m_settings.isValid());
    QVERIFY(prepare_window_suite(QStringLiteral("tst_relay_window"), m_settings.path()));
  }

  void init() {
    EngineConfig config;
    config.relay_buffer_bytes = 4096;  // the smallest: back-pressure comes after a few KiB
    auto bridge = Bridge::start(config, {});
    QVERIFY_OK(bridge);
    m_window = std::make_unique<MainWindow>(std::move(*bridge));
    m_window->resize(1400, 800);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
  }
  void cleanup() { m_window.reset(); }

  // The dialog refuses what cmd::Relay cannot take, each with its reason, and builds the
  // relay (with its fault knobs) once the fields are right; OK submits it.
  void newSourceDialogRefusesThenSubmitsARelay() {
    auto upstream = plain_listener(any_local_address());
    QVERIFY_OK(upstream);
    const QString up = QString::fromStdString(local_address(upstream->get()).to_string());
    const QString listen = QString::fromStdString(closed_port().to_string());

    NewSourceDialog d;
    d.setChoice(SourceChoice::relay);
    QVERIFY(d.relayListenEdit()->isVisibleTo(&d));
    QVERIFY(!d.reactionBox()->isVisibleTo(&d));  // the relay's reaction is not chosen
    QVERIFY(!d.relayFaultsEditor()->isVisibleTo(&d));  // fault knobs folded away at first
    d.relayListenEdit()->setEditText(QStringLiteral("127.0.0.1"));
    d.relayUpstreamEdit()->setEditText(up);
    QVERIFY(!d.command());
    QVERIFY(!d.okEnabled());
    QVERIFY2(d.errorText().startsWith(QLatin1String("Listen:")), qPrintable(d.errorText()));
    const QLabel* error = d.findChild<QLabel*>(QStringLiteral("error"));
    QVERIFY(error);
    QCOMPARE(error->text(), d.errorText());
    // Not loopback: refused unless allowed.
    d.relayListenEdit()->setEditText(QStringLiteral("192.0.2.1:8080"));
    QVERIFY(!d.command());
    QVERIFY2(d.errorText().contains(QLatin1String("loopback")), qPrintable(d.errorText()));
    d.relayListenEdit()->setEditText(listen);
    QVERIFY(d.command());
    // Oneshot is not a relay's trigger.
    d.triggerBox()->setCurrentIndex(d.triggerBox()->findData(static_cast<int>(Trigger::oneshot)));
    QVERIFY(!d.command());
    QVERIFY2(d.errorText().contains(QLatin1String("oneshot")), qPrintable(d.errorText()));
    d.triggerBox()->setCurrentIndex(d.triggerBox()->findData(static_cast<int>(Trigger::level)));
    // Fault knobs: jitter over latency is refused with RelayFaults::invalid()'s reason.
    d.relayFaultsBox()->setChecked(true);
    QVERIFY(d.relayFaultsEditor()->isVisibleTo(&d));
    d.relayFaultsEditor()->knob(0, 1)->setValue(20);
    QVERIFY(!d.command());
    QVERIFY2(d.errorText().startsWith(QLatin1String("To upstream:")), qPrintable(d.errorText()));
    d.relayFaultsEditor()->knob(0, 1)->setValue(0);
    d.relayFaultsEditor()->knob(1, 3)->setValue(7);  // to client: slices of 7 bytes
    const auto c = d.command();
    QVERIFY(c);
    const auto* relay = std::get_if<cmd::Relay>(&*c);
    QVERIFY(relay);
    QCOMPARE(QString::fromStdString(relay->listen.to_string()), listen);
    QCOMPARE(QString::fromStdString(relay->upstream.to_string()), up);
    QCOMPARE(relay->trigger, Trigger::level);
    QCOMPARE(relay->faults.to_client.slice_bytes, 7u);
    QVERIFY(!relay->faults.to_upstream.any());

    // Through the window: File > New > Relay…, filled and accepted.
    QAction* act = nullptr;
    for (QAction* a : window().findChildren<QAction*>())
      if (a->objectName() == QLatin1String("actionNewRelay")) act = a;
    QVERIFY(act);
    answerNextDialog([&](NewSourceDialog& nd) {
      QCOMPARE(nd.choice(), SourceChoice::relay);
      nd.relayListenEdit()->setEditText(listen);
      nd.relayUpstreamEdit()->setEditText(up);
      nd.relayFaultsBox()->setChecked(true);
      nd.relayFaultsEditor()->knob(0, 3)->setValue(2);  // to upstream: 2-byte slices
      nd.relayFaultsEditor()->knob(0, 4)->setValue(3);  // 3 ms apart
    });
    act->trigger();
    QTRY_VERIFY_WITH_TIMEOUT(rowsWith(RelayRole::listener).size() == 1, kWaitMs);
    const std::uint64_t listener = rowsWith(RelayRole::listener).front();
    QTRY_VERIFY_WITH_TIMEOUT(!row(listener)->local.empty(), kWaitMs);
    QCOMPARE(QString::fromStdString(row(listener)->local), listen);
    QCOMPARE(QString::fromStdString(row(listener)->peer), up);
    QCOMPARE(row(listener)->reaction, Reaction::relay);
    QCOMPARE(QString::fromStdString(row(listener)->label()),
             QStringLiteral("relay %1 \u2192 %2 #%3").arg(listen, up).arg(listener));
    // The faults it was made with are the ones in force for the faults dialog.
    const auto faults = window().session().relay_faults(listener);
    QVERIFY(faults);
    QCOMPARE(faults->to_upstream.slice_bytes, 2u);
    QCOMPARE(faults->to_upstream.slice_delay, std::chrono::nanoseconds(std::chrono::milliseconds(3)));
  }

  // Two connections through a relay: lanes in relay order (listener, then per connection the
  // client leg with its upstream leg right below), labelled by role; a client that sends
  // while the server does not read pauses its leg, which the table, the records and the lane
  // show; once the server reads, the leg is resumed. The filters find the legs.
  void lanesGroupedAndBackPressureShown() {
    auto upstream = plain_listener(any_local_address());
    QVERIFY_OK(upstream);
    const net::SocketAddr up = local_address(upstream->get());
    const auto started = startRelay(up);
    QVERIFY(started);
    QVERIFY2(*started != 0, "the relay's listener has no token");
    const std::uint64_t listener = *started;
    const net::SocketAddr listen = *net::SocketAddr::parse(row(listener)->local);

    auto c1 = plain_connect(listen);
    QVERIFY_OK(c1);
    auto s1 = plain_accept(upstream->get());
    QVERIFY_OK(s1);
    auto c2 = plain_connect(listen);
    QVERIFY_OK(c2);
    auto s2 = plain_accept(upstream->get());
    QVERIFY_OK(s2);
    QTRY_VERIFY_WITH_TIMEOUT(rowsWith(RelayRole::upstream).size() == 2, kWaitMs);
    const auto clients = rowsWith(RelayRole::client);
    const auto ups = rowsWith(RelayRole::upstream);
    QCOMPARE(clients.size(), std::size_t{2});
    for (std::size_t i = 0; i < 2; ++i) {
      QTRY_VERIFY_WITH_TIMEOUT(row(ups[i])->state == SourceState::connected, kWaitMs);
      QCOMPARE(row(ups[i])->related, clients[i]);
      QCOMPARE(row(clients[i])->related, listener);
      QCOMPARE(row(clients[i])->relay_conn, static_cast<std::uint32_t>(i + 1));
      QCOMPARE(row(ups[i])->relay_conn, static_cast<std::uint32_t>(i + 1));
      QCOMPARE(row(ups[i])->relay_listener, listener);
    }
    // Labels: the client's own address (the relay's peer on that leg), the upstream's.
    QCOMPARE(QString::fromStdString(row(clients[0])->label()),
             QStringLiteral("conn 1 client %1 #%2")
                 .arg(QString::fromStdString(local_address(c1->get()).to_string()))
                 .arg(clients[0]));
    QCOMPARE(QString::fromStdString(row(ups[1])->label()),
             QStringLiteral("conn 2 upstream \u2192 %1 #%2").arg(QString::fromStdString(up.to_string())).arg(ups[1]));

    // Lane order: the relay's group is the listener, then c1, u1, c2, u2.
    const LaneIndex& lanes = window().laneIndex();
    std::vector<std::uint64_t> order;
    for (std::uint32_t id : lanes.order())
      if (!lanes.lane(id).is_poll) order.push_back(lanes.lane(id).token);
    const std::vector<std::uint64_t> expected{listener, clients[0], ups[0], clients[1], ups[1]};
    QCOMPARE(order, expected);
    QCOMPARE(lanes.lane(*lanes.lane_of(clients[0])).depth, std::uint8_t{1});
    QCOMPARE(lanes.lane(*lanes.lane_of(ups[0])).depth, std::uint8_t{2});

    // Back-pressure: client 1 sends while server 1 does not read. Once the bytes in flight
    // fill the kernel buffers and the relay's 4 KiB, the relay stops reading client 1.
    QVERIFY_OK(make_nonblocking(c1->get()));
    const std::string chunk(16384, 'x');
    std::uint64_t sent = 0;
    const auto pausedNow = [&] {
      // Keep the client's send buffer full; the relay pauses the leg once it cannot forward.
      for (int i = 0; i < 64; ++i) {
        auto n = plain_send(c1->get(), std::as_bytes(std::span(chunk)));
        if (!n) break;
        sent += *n;
      }
      return row(clients[0])->paused;
    };
    QTRY_VERIFY_WITH_TIMEOUT(pausedNow(), kWaitMs);
    QVERIFY(!row(clients[1])->paused);  // the other connection is not held back
    // The table: "paused" in the interest column, no tick; the filter finds it by that word.
    SourcesModel& model = *window().sourcesModel();
    const int r = model.rowOf(clients[0]);
    QVERIFY(r >= 0);
    QCOMPARE(model.data(model.index(r, SourcesModel::ReadableColumn)).toString(), QStringLiteral("paused"));
    QCOMPARE(model.data(model.index(r, SourcesModel::ReadableColumn), Qt::CheckStateRole).toInt(),
             int(Qt::Unchecked));
    QVERIFY(model.data(model.index(r, SourcesModel::StateColumn)).toString().endsWith(QLatin1String(", paused")));
    window().sourcesFilterEdit()->setText(QStringLiteral("paused"));
    QTRY_COMPARE_WITH_TIMEOUT(window().sourcesFilter()->rowCount(), 1, kWaitMs);  // once typing pauses
    QCOMPARE(window().sourcesFilter()->index(0, 0).data(SourcesModel::TokenRole).toULongLong(), clients[0]);
    // The record: source_changed of the client leg, its text says paused.
    std::optional<std::uint64_t> changed;
    WAIT_RECORD(window().bridge(), changed, [&](const Record& rec) {
      return rec.kind == RecordKind::source_changed && rec.token == clients[0] && SourceBits::unpack(rec.bits).paused;
    });
    const Record rec = window().bridge().store().at(*changed);
    QVERIFY2(record_result(rec).contains(QLatin1String("paused")), qPrintable(record_result(rec)));
    // The lane: an interest span with the paused bits from that record's time on.
    const InterestSpan* span = lanes.interest_at(*lanes.lane_of(clients[0]), rec.t_ns);
    QVERIFY(span);
    QVERIFY(SourceBits::unpack(span->bits).paused);

    // The server reads all of it: the leg resumes (its interest comes back).
    const std::string got = recv_exactly(s1->get(), sent);
    QCOMPARE(got.size(), sent);
    QTRY_VERIFY_WITH_TIMEOUT(!row(clients[0])->paused, kWaitMs);
    // Traffic goes on after the episode (so the lane shows the band solid again after the gap).
    QVERIFY(::fcntl(c1->get(), F_SETFL, ::fcntl(c1->get(), F_GETFL) & ~O_NONBLOCK) == 0);  // blocking again
    QVERIFY(send_all(c1->get(), std::string(1000, 'y')));
    QCOMPARE(recv_exactly(s1->get(), 1000).size(), std::size_t{1000});

    // The screenshot for the docs (when asked for): the relay after a back-pressure episode,
    // conn 1's client leg selected, the whole capture in view.
    if (const QByteArray dir = qgetenv("READYSCOPE_SCREENSHOT_DIR"); !dir.isEmpty()) {
      window().sourcesFilterEdit()->clear();
      window().laneFilterEdit()->clear();
      window().resize(1600, 900);
      // Room for the lanes: the inspector's and the warnings' docks are put away.
      for (QDockWidget* d : window().findChildren<QDockWidget*>())
        if (d->objectName() != QLatin1String("sourcesDock")) d->hide();
      window().selectSource(clients[0]);
      QTest::qWait(300);
      window().timeline()->zoomReset();
      QTest::qWait(300);
      const QDir out(QString::fromLocal8Bit(dir));
      QVERIFY(window().grab().save(out.filePath(QStringLiteral("relay-lanes.png"))));
      QVERIFY(window().timeline()->grab().scaled(window().timeline()->size() * 2).save(
          out.filePath(QStringLiteral("relay-timeline-2x.png"))));
    }

    window().sourcesFilterEdit()->setText(QStringLiteral("paused"));
    QTRY_COMPARE_WITH_TIMEOUT(window().sourcesFilter()->rowCount(), 0, kWaitMs);  // as the rows change

    // The filters: by role word and by address.
    window().sourcesFilterEdit()->setText(QStringLiteral("upstream"));
    QTRY_COMPARE_WITH_TIMEOUT(window().sourcesFilter()->rowCount(), 2, kWaitMs);  // once typing pauses
    window().laneFilterEdit()->setText(QStringLiteral("upstream"));
    QCOMPARE(window().timeline()->shownLaneCount(), std::size_t{3});  // the poll lane stays
    // Words must all match: the second client's address and "client" find its leg alone.
    window().laneFilterEdit()->setText(
        QStringLiteral("client %1").arg(QString::fromStdString(local_address(c2->get()).to_string())));
    QCOMPARE(window().timeline()->shownLaneCount(), std::size_t{2});
    window().laneFilterEdit()->clear();
    QCOMPARE(window().timeline()->shownLaneCount(), lanes.order().size());
    window().sourcesFilterEdit()->clear();
  }

  // The faults dialog: it shows what is in force, refuses a bad value without submitting,
  // and Apply changes the live relay: the engine notes it and slices the bytes to upstream
  // into 1-byte writes.
  void faultsDialogAppliesLive() {
    auto upstream = plain_listener(any_local_address());
    QVERIFY_OK(upstream);
    const auto started = startRelay(local_address(upstream->get()));
    QVERIFY(started);
    QVERIFY2(*started != 0, "the relay's listener has no token");
    const std::uint64_t listener = *started;
    const net::SocketAddr listen = *net::SocketAddr::parse(row(listener)->local);

    // The action follows the selection: off for no relay, on for the relay's listener.
    QAction* act = nullptr;
    for (QAction* a : window().findChildren<QAction*>())
      if (a->objectName() == QLatin1String("actionRelayFaults")) act = a;
    QVERIFY(act);
    window().selectSource(0);
    QVERIFY(!act->isEnabled());
    window().selectSource(listener);
    QVERIFY(act->isEnabled());
    act->trigger();
    auto* dlg = window().findChild<RelayFaultsDialog*>();
    QVERIFY(dlg);
    QVERIFY(dlg->isVisible());
    QVERIFY(!dlg->isModal());
    QCOMPARE(dlg->listener(), listener);
    QVERIFY2(dlg->inForceText().contains(QLatin1String("to upstream: none")), qPrintable(dlg->inForceText()));

    const std::uint64_t notes_before = [&] {
      std::uint64_t n = 0;
      const RecordStore& s = window().bridge().store();
      for (std::uint64_t i = s.begin_index(); i < s.end_index(); ++i) n += s.kind_at(i) == RecordKind::note;
      return n;
    }();
    // Out of range: jitter above latency. Apply is off and submits nothing.
    dlg->editor()->knob(0, 1)->setValue(5);
    QVERIFY(!dlg->applyButton()->isEnabled());
    QVERIFY(!dlg->apply());
    dlg->editor()->knob(0, 1)->setValue(0);
    // A 1-byte slicer towards the upstream.
    dlg->editor()->knob(0, 3)->setValue(1);
    QVERIFY(dlg->applyButton()->isEnabled());
    QVERIFY(dlg->apply());
    QVERIFY2(dlg->inForceText().contains(QLatin1String("slice 1 B")), qPrintable(dlg->inForceText()));
    std::optional<std::uint64_t> note;
    WAIT_RECORD(window().bridge(), note, [&](const Record& r) {
      return r.kind == RecordKind::note && window().session().note_text(r.value).contains(QLatin1String("slice 1 B"));
    });
    const QString text = window().session().note_text(window().bridge().store().at(*note).value);
    QVERIFY2(text.contains(QString::number(listener)), qPrintable(text));
    std::uint64_t notes_after = 0;
    {
      const RecordStore& s = window().bridge().store();
      for (std::uint64_t i = s.begin_index(); i < s.end_index(); ++i) notes_after += s.kind_at(i) == RecordKind::note;
    }
    QCOMPARE(notes_after, notes_before + 1);  // the refused value was never submitted

    // A request through the relay reaches the server whole, written one byte at a time.
    auto client = plain_connect(listen);
    QVERIFY_OK(client);
    auto server = plain_accept(upstream->get());
    QVERIFY_OK(server);
    const std::string request = "GET / HTTP/1.0\r\n\r\n";
    QVERIFY(send_all(client->get(), request));
    QCOMPARE(recv_exactly(server->get(), request.size()), request);
    QTRY_VERIFY_WITH_TIMEOUT(rowsWith(RelayRole::upstream).size() == 1, kWaitMs);
    const std::uint64_t up = rowsWith(RelayRole::upstream).front();
    std::uint64_t writes = 0, bytes = 0;
    QTRY_VERIFY_WITH_TIMEOUT(
        ([&] {
          writes = bytes = 0;
          const RecordStore& s = window().bridge().store();
          for (std::uint64_t i = s.begin_index(); i < s.end_index(); ++i) {
            if (s.kind_at(i) != RecordKind::action) continue;
            const Record r = s.at(i);
            if (r.token != up || r.action_op() != Op::write || r.outcome != Outcome::ok) continue;
            ++writes;
            bytes += r.value;
            if (r.value != 1) return false;
          }
          return bytes == request.size();
        }()),
        kWaitMs);
    QCOMPARE(writes, std::uint64_t{request.size()});
    dlg->close();
  }
};

QTEST_MAIN(TestRelayWindow)
#include "tst_relay_window.moc"
