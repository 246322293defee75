// Opening a recording in the window: a live capture (a real engine, loopback sockets, echo)
// recorded as the window saves it, then opened in a second window through a RecordingFeed,
// shows the same sources, lanes and log rows; bad files, cancel, a file without its final
// stats line, and the read-only window.
#include <QAction>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QLabel>
#include <QMimeData>
#include <QUrl>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "models/event_log_model.h"
#include "models/source_table.h"
#include "models/sources_model.h"
#include "panels/source_actions.h"
#include "peer.h"
#include "ready/capture/recording.h"
#include "ready_test.h"
#include "session/recording_feed.h"
#include "timeline/laneindex.h"
#include "window/main_window.h"
#include "window/open_recording.h"
#include "window_test_util.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::ui;
using namespace ready::test;

namespace {

/// Every cell of a model, as text: DisplayRole and CheckStateRole, row by row.
QStringList cells(const QAbstractItemModel& m) {
  QStringList out;
  for (int r = 0; r < m.rowCount(); ++r) {
    QStringList row;
    for (int c = 0; c < m.columnCount(); ++c) {
      const QModelIndex i = m.index(r, c);
      row << m.data(i, Qt::DisplayRole).toString();
      if (const QVariant check = m.data(i, Qt::CheckStateRole); check.isValid()) row << check.toString();
    }
    out << row.join(QLatin1Char('|'));
  }
  return out;
}

/// The lanes in display order: token, kind, and the readiness and action marks of the
/// whole capture (count and flags of one column spanning it).
QStringList lanes(const LaneIndex& index) {
  QStringList out;
  const TimeWindow w = index.data_window();
  const TimeScale scale(0, w.t1 + 1, 0, 1);
  for (const std::uint32_t id : index.order()) {
    const TimelineLane& lane = index.lane(id);
    if (lane.is_poll || lane.gone) continue;
    MarkColumn ready[1], acts[1];
    index.readiness_columns(id, scale, ready);
    index.action_columns(id, scale, acts);
    out << QStringLiteral("#%1 kind=%2 readiness=%3/%4 actions=%5/%6")
               .arg(lane.token)
               .arg(lane.kind ? static_cast<int>(*lane.kind) : -1)
               .arg(ready[0].count)
               .arg(ready[0].flags)
               .arg(acts[0].count)
               .arg(acts[0].flags);
  }
  return out;
}

/// Writes the window's store as File > Save recording does (the lookups of the session).
bool save(const CaptureSession& session, const std::string& path) {
  RecordingWriterOptions wo;
  wo.note_text = [&session](std::uint64_t id) -> std::optional<std::string> {
    const QString t = session.note_text(id);
    return t.isEmpty() ? std::nullopt : std::optional(t.toStdString());
  };
  wo.peer_text = [&session](std::uint64_t id) -> std::optional<std::string> {
    const QString t = session.peer_text(id);
    return t.isEmpty() ? std::nullopt : std::optional(t.toStdString());
  };
  wo.addresses = [&session](std::uint64_t token) -> std::optional<SourceAddresses> {
    const SourceRow* r = session.sources().find(token);
    if (!r) return std::nullopt;
    return SourceAddresses{r->local, r->peer};
  };
  auto w = RecordingWriter::create(path, std::move(wo));
  if (!w) return false;
  const RecordStore& store = session.store();
  for (std::uint64_t i = store.begin_index(); i < store.end_index(); ++i)
    if (!w->write(store.at(i))) return false;
  return w->close().has_value();
}

/// A made-up but well-formed capture: a listener, an accepted stream with readiness and
/// reads, `n` records in all, the final stats line when `stats`.
std::vector<Record> synthetic(std::size_t n, bool stats) {
  std::vector<Record> out;
  const auto added = [&](std::uint64_t token, SourceKind kind, std::uint64_t related) {
    Record r;
    r.kind = RecordKind::source_added;
    r.token = token;
    r.fd = static_cast<std::int32_t>(token + 5);
    r.op = static_cast<std::uint8_t>(kind);
    r.bits = SourceBits{}.pack();
    r.value = related;
    r.t_ns = out.size() * 1000;
    out.push_back(r);
  };
  added(1, SourceKind::tcp_listener, 0);
  added(2, SourceKind::tcp_stream, 1);
  while (out.size() < n - (stats ? 1 : 0)) {
    Record r;
    r.t_ns = out.size() * 1000;
    r.token = 2;
    r.fd = 7;
    if (out.size() % 2 == 0) {
      r.kind = RecordKind::readiness;
      r.bits = 0x1;  // EPOLLIN
    } else {
      r.kind = RecordKind::action;
      r.op = static_cast<std::uint8_t>(Op::read);
      r.outcome = Outcome::ok;
      r.value = 10;
    }
    out.push_back(r);
  }
  if (stats) {
    Record r;
    r.kind = RecordKind::stats;
    r.t_ns = out.size() * 1000;
    r.value = out.size();  // produced
    r.value2 = 0;          // dropped
    out.push_back(r);
  }
  return out;
}

bool write_file(const std::string& path, const std::vector<Record>& records) {
  auto w = RecordingWriter::create(path);
  return w && w->write(records) && w->close();
}

/// Replaces line `line` (1-based) of a text file.
bool replace_line(const std::string& path, std::size_t line, const std::string& text) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  if (line == 0 || line > lines.size()) return false;
  lines[line - 1] = text;
  std::ofstream out(path, std::ios::trunc);
  for (const std::string& l : lines) out << l << '\n';
  return static_cast<bool>(out);
}

/// Opens `path` in a recording window and waits until it loaded; null on failure.
std::unique_ptr<MainWindow> open_and_wait(const QString& path, RecordingFeed::Limits limits = {}) {
  auto w = make_recording_window(path, {}, limits);
  if (!w) return nullptr;
  RecordingView* view = recording_view(**w);
  if (!view) return nullptr;
  QSignalSpy loaded(view, &RecordingView::loaded);
  (*w)->show();
  if (!QTest::qWaitForWindowExposed(w->get())) return nullptr;
  if (loaded.isEmpty() && !loaded.wait(kUiWaitMs)) return nullptr;
  return std::move(*w);
}

}  // namespace

class TestOpenRecording : public CoreTest {
  Q_OBJECT

  QTemporaryDir m_dir;

  std::string file(const char* name) const { return (m_dir.path() + QLatin1Char('/') + QLatin1String(name)).toStdString(); }

 private slots:
  void initTestCase() {
    QVERIFY(m_dir.isValid());
    QVERIFY(prepare_window_suite(QStringLiteral("tst_open_recording"), m_dir.path() + QStringLiteral("/settings")));
  }

  // The issue's first test: record a live capture, open it, see the same thing.
  void aLiveCaptureOpensAsItWasShown() {
    START_BRIDGE(bridge, EngineConfig{}, Bridge::Options{});
    MainWindow live(std::move(bridge));
    live.show();
    QVERIFY(QTest::qWaitForWindowExposed(&live));
    CaptureSession& s = live.session();

    // An echo listener and an echo UDP socket, a real client for each, a note.
    const SourceOptions echo{Interest::READABLE, Trigger::edge, ReactionSpec{Reaction::echo}};
    const auto l = s.submit(cmd::TcpListen{any_local_address(), echo});
    const auto u = s.submit(cmd::UdpBind{any_local_address(), echo});
    QVERIFY(l && u);
    QTRY_VERIFY_WITH_TIMEOUT(s.source_addresses(l->token.value) && s.source_addresses(u->token.value), kUiWaitMs);
    const auto tcp_addr = net::SocketAddr::parse(s.source_addresses(l->token.value)->local);
    const auto udp_addr = net::SocketAddr::parse(s.source_addresses(u->token.value)->local);
    QVERIFY(tcp_addr && udp_addr);
    (void)s.submit(cmd::Note{"client connects now"});
    auto client = plain_connect(*tcp_addr);
    QVERIFY_OK(client);
    auto datagram = plain_udp_socket(any_local_address());
    QVERIFY_OK(datagram);
    QVERIFY_OK(connect_fd(datagram->get(), *udp_addr));
    const std::string hello = "hello";
    const auto bytes = std::as_bytes(std::span(hello));
    QVERIFY_OK(plain_send(client->get(), bytes));
    QVERIFY_OK(plain_send(datagram->get(), bytes));
    std::array<std::byte, 16> back{};
    QVERIFY(wait_readable(client->get()));
    QCOMPARE(plain_recv(client->get(), back).value_or(0), hello.size());
    QVERIFY(wait_readable(datagram->get()));
    QCOMPARE(plain_recv(datagram->get(), back).value_or(0), hello.size());
    // The accepted stream's row names both ends (asked while it is open); then the client
    // goes: the accepted stream reads end-of-file.
    const std::string client_addr = local_address(client->get()).to_string();
    QTRY_VERIFY_WITH_TIMEOUT(([&] {
                               for (const SourceRow& r : s.sources().rows())
                                 if (r.related == l->token.value && r.peer == client_addr) return true;
                               return false;
                             }()),
                             kUiWaitMs);
    client->reset();
    const auto n = s.submit(cmd::Note{"done"});
    QVERIFY(n);
    std::optional<std::uint64_t> at;
    WAIT_RECORD(live.bridge(), at,
                [&s](const Record& r) { return r.kind == RecordKind::note && s.note_text(r.value) == QLatin1String("done"); });
    // Stop the engine: its last records (sources closed, the final stats) come in, and the
    // live window shows the final state.
    s.stop();
    QCoreApplication::processEvents();
    const QStringList live_sources = cells(*live.sourcesModel());
    const QStringList live_lanes = lanes(live.laneIndex());
    const QStringList live_log = cells(*live.eventLogModel());
    QVERIFY(live_sources.size() >= 3);  // listener, UDP socket, accepted stream
    QVERIFY(live_lanes.size() >= 3);
    QVERIFY(live_log.join(QLatin1Char('\n')).contains(QLatin1String("client connects now")));

    const std::string path = file("live.jsonl");
    QVERIFY(save(s, path));
    const auto opened = open_and_wait(QString::fromStdString(path));
    QVERIFY(opened);
    const RecordingFeed& feed = recording_view(*opened)->feed();
    QVERIFY(feed.outcome() && feed.outcome()->has_value());
    QVERIFY((*feed.outcome())->ended_with_stats);
    QCOMPARE(opened->bridge().store().size(), live.bridge().store().size());
    QCOMPARE(cells(*opened->sourcesModel()), live_sources);
    QCOMPARE(lanes(opened->laneIndex()), live_lanes);
    QCOMPARE(cells(*opened->eventLogModel()), live_log);
    const QString badge = recording_view(*opened)->badge()->text();
    QVERIFY2(badge.contains(QStringLiteral("%1 records").arg(QLocale().toString(live.bridge().store().size()))),
             qPrintable(badge));
    QVERIFY2(!badge.contains(QLatin1String("stopped before")), qPrintable(badge));
  }

  // A bad line N: one line naming the file and line N; the N-2 records before it stay
  // (line 1 is the header), the badge says where it stopped, the window keeps working.
  void aCorruptLineKeepsWhatCameBefore() {
    const std::string path = file("corrupt.jsonl");
    // Past the first batch of 4096 records, so both a handed-over batch and a partial one
    // are in play.
    QVERIFY(write_file(path, synthetic(6000, true)));
    constexpr std::size_t kBadLine = 5000;
    QVERIFY(replace_line(path, kBadLine, R"({"type":"readiness","t_ns":12,"token":2,"fd":7,"flags":["readable"],"epoll":)"));
    const auto w = open_and_wait(QString::fromStdString(path));
    QVERIFY(w);
    RecordingView* view = recording_view(*w);
    QVERIFY(view->feed().outcome() && !view->feed().outcome()->has_value());
    const RecordingError& e = view->feed().outcome()->error();
    QCOMPARE(e.line, std::uint64_t{kBadLine});
    QVERIFY(!e.cancelled);
    QVERIFY(view->errorBox());
    const QString message = view->errorBox()->text();
    QVERIFY2(message.startsWith(QString::fromStdString(path) + QStringLiteral(":5000:")), qPrintable(message));
    QVERIFY(!message.contains(QLatin1Char('\n')));
    QVERIFY(view->badge()->text().contains(QLatin1String("incomplete: stopped at line 5000")));
    QCOMPARE(w->bridge().store().size(), std::uint64_t{kBadLine - 2});
    QCOMPARE(w->eventLogModel()->rowCount(), static_cast<int>(kBadLine - 2));
    // Still usable: the message is not modal; records can be focused.
    QVERIFY(view->errorBox()->isVisible());
    QCOMPARE(view->errorBox()->windowModality(), Qt::NonModal);
    QVERIFY(!QApplication::activeModalWidget());
    view->errorBox()->accept();
    w->focusRecord(w->bridge().store().begin_index() + 10);
    QVERIFY(w->eventLogView()->currentIndex().isValid());
    QVERIFY(!view->progressBar()->isVisible());
  }

  // Cancel stops the reader: with a one-batch queue and the GUI not draining, the reader
  // waits after its first batch, and a cancel then wakes and stops it.
  void cancelStopsTheLoad() {
    const std::string path = file("cancel.jsonl");
    constexpr std::size_t kRecords = 10 * RecordingSink::kBatch;
    QVERIFY(write_file(path, synthetic(kRecords, true)));
    RecordingFeed::Limits limits;
    limits.queue_batches = 1;
    auto w = make_recording_window(QString::fromStdString(path), {}, limits);
    QVERIFY(w);
    RecordingView* view = recording_view(**w);
    QVERIFY(view->isLoading());
    QSignalSpy loaded(view, &RecordingView::loaded);
    // No event is processed here, so nothing drains: the reader fills the one-batch queue and
    // waits (the bound, counted). Cancel must wake it.
    for (Deadline d; view->feed().queue_full_waits() == 0 && !d.expired();) std::this_thread::sleep_for(1ms);
    QCOMPARE(view->feed().queue_full_waits(), std::uint64_t{1});
    view->cancelButton()->click();
    QVERIFY(loaded.wait(kUiWaitMs));
    const auto& outcome = view->feed().outcome();
    QVERIFY(outcome && !outcome->has_value());
    QVERIFY(outcome->error().cancelled);
    QVERIFY((*w)->bridge().store().size() < kRecords);
    QVERIFY2(view->badge()->text().contains(QStringLiteral("cancelled at %1 records")
                                                .arg(QLocale().toString((*w)->bridge().store().size()))),
             qPrintable(view->badge()->text()));
    QVERIFY(!view->errorBox());  // a cancel is not an error to report
  }

  // A recording whose recorder was killed (no final stats line) opens with a warning; the
  // same records with the stats line do not warn.
  void aFileWithoutFinalStatsWarns() {
    const std::string cut = file("no-stats.jsonl"), whole = file("stats.jsonl");
    QVERIFY(write_file(cut, synthetic(100, false)));
    QVERIFY(write_file(whole, synthetic(100, true)));
    const auto a = open_and_wait(QString::fromStdString(cut));
    const auto b = open_and_wait(QString::fromStdString(whole));
    QVERIFY(a && b);
    QVERIFY(recording_view(*a)->badge()->text().contains(QLatin1String("stopped before it finished")));
    QVERIFY(!recording_view(*b)->badge()->text().contains(QLatin1String("stopped before it finished")));
    QCOMPARE(a->bridge().store().size(), std::uint64_t{100});
  }

  // More records than the store keeps: the oldest are evicted, and the badge counts them.
  void evictedRecordsAreCounted() {
    const std::string path = file("big.jsonl");
    QVERIFY(write_file(path, synthetic(3 * 4096, true)));
    Bridge::Options options;
    options.store.max_records = 4096;
    options.store.chunk_records = 1024;
    auto w = make_recording_window(QString::fromStdString(path), options);
    QVERIFY(w);
    QSignalSpy loaded(recording_view(**w), &RecordingView::loaded);
    QVERIFY(loaded.wait(kUiWaitMs));
    const std::uint64_t evicted = (*w)->bridge().store().evicted();
    QVERIFY(evicted > 0);
    QVERIFY2(recording_view(**w)->badge()->text().contains(
                 QStringLiteral("%1 oldest records not kept (store bound)").arg(QLocale().toString(evicted))),
             qPrintable(recording_view(**w)->badge()->text()));
  }

  // The window over a recording acts on nothing: no engine, every command path disabled
  // with a reason, the title and badge name the file.
  void theRecordingWindowIsReadOnly() {
    const std::string path = file("ro.jsonl");
    QVERIFY(write_file(path, synthetic(50, true)));
    const auto w = open_and_wait(QString::fromStdString(path));
    QVERIFY(w);
    QVERIFY(w->isReadOnly());
    QVERIFY(!w->session().is_live());
    QCOMPARE(w->windowTitle(), QStringLiteral("ro.jsonl — ReadyScope (recording)"));
    QCOMPARE(recording_view(*w)->badge()->toolTip(), QFileInfo(QString::fromStdString(path)).absoluteFilePath());
    int checked = 0;
    for (QAction* a : w->findChildren<QAction*>()) {
      if (a->objectName() == QLatin1String("actionNewSource")) {
        QVERIFY(!a->isEnabled());
        QVERIFY(!a->toolTip().isEmpty());
        ++checked;
      }
      // Another recording can be opened from here (Ctrl+O); a scenario cannot play here.
      if (a->objectName() == QLatin1String("actionOpenRecording")) {
        QVERIFY(a->isEnabled());
        QCOMPARE(a->shortcut(), QKeySequence(QKeySequence::Open));
        ++checked;
      }
      if (a->shortcut() == QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O)) {
        QVERIFY(!a->isEnabled());
        ++checked;
      }
    }
    QCOMPARE(checked, 3);
    // Selecting a source (an open one: the listener has no source_removed) leaves its
    // actions disabled, where a live window enables them.
    w->selectSource(1);
    QVERIFY(!w->sourceActions()->current().empty());
    for (QAction* a : w->sourceActions()->current()) {
      QVERIFY(!a->isEnabled());
      QVERIFY(a->toolTip().contains(QLatin1String("read-only")));
    }
    // An interest box does not toggle: the model is asked nothing (no command refused).
    QSignalSpy failed(&w->session(), &CaptureSession::commandFailed);
    const QModelIndex box = w->sourcesModel()->index(w->sourcesModel()->rowOf(1), SourcesModel::WritableColumn);
    QVERIFY(box.isValid());
    QVERIFY(w->sourcesView()->itemDelegateForIndex(box)->editorEvent(nullptr, w->sourcesModel(), {}, box) == false);
    QVERIFY(!w->bridge().submit(cmd::Note{"x"}));
    QCOMPARE(failed.count(), 1);  // the submit above, refused: no engine
  }

  // A file dropped on a live window opens in a new window; the live capture keeps running.
  void aDroppedFileOpensInANewWindow() {
    const std::string path = file("drop.jsonl");
    QVERIFY(write_file(path, synthetic(20, true)));
    START_BRIDGE(bridge, EngineConfig{}, Bridge::Options{});
    MainWindow live(std::move(bridge));
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(QString::fromStdString(path))});
    QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    enter.setAccepted(false);
    QCoreApplication::sendEvent(&live, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    drop.setAccepted(false);
    QCoreApplication::sendEvent(&live, &drop);
    QVERIFY(drop.isAccepted());
    MainWindow* opened = nullptr;
    QTRY_VERIFY_WITH_TIMEOUT(([&] {
                               for (QWidget* w : QApplication::topLevelWidgets())
                                 if (auto* m = qobject_cast<MainWindow*>(w); m && m != &live && recording_view(*m)) opened = m;
                               return opened != nullptr;
                             }()),
                             kUiWaitMs);
    QTRY_VERIFY_WITH_TIMEOUT(!recording_view(*opened)->isLoading(), kUiWaitMs);
    QCOMPARE(opened->bridge().store().size(), std::uint64_t{20});
    QVERIFY(live.session().is_live());
    QVERIFY(opened->testAttribute(Qt::WA_DeleteOnClose));
    opened->close();
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
    // A directory is not a recording to drop.
    QMimeData dir;
    dir.setUrls({QUrl::fromLocalFile(m_dir.path())});
    QDragEnterEvent refused(QPoint(10, 10), Qt::CopyAction, &dir, Qt::LeftButton, Qt::NoModifier);
    refused.setAccepted(false);
    QCoreApplication::sendEvent(&live, &refused);
    QVERIFY(!refused.isAccepted());
  }

  // A recording's payload lines as the inspector reads them: per-source bound (the oldest
  // chunks evicted), total bound (new chunks not kept), since and max_bytes trimming.
  void payloadTableKeepsItsBounds() {
    PayloadTable t(100, 150);
    const auto chunk = [](std::uint64_t offset, std::size_t n, char fill) {
      PayloadChunk c;
      c.offset = offset;
      c.t_ns = offset;
      c.bytes.assign(n, std::byte(fill));
      return c;
    };
    QVERIFY(!t.snapshot(1, 0, kAllPayload, false));
    t.add(1, chunk(0, 40, 'a'));
    t.add(1, chunk(40, 40, 'b'));
    auto s = t.snapshot(1, 0, kAllPayload, false);
    QVERIFY(s);
    QCOMPARE(s->chunks.size(), std::size_t{2});
    QCOMPARE(s->next, std::uint64_t{80});
    QCOMPARE(s->evicted, std::uint64_t{0});
    // A third chunk passes the source's 100 bytes: the oldest goes, counted.
    t.add(1, chunk(80, 40, 'c'));
    s = t.snapshot(1, 0, kAllPayload, true);
    QCOMPARE(s->chunks.size(), std::size_t{2});
    QCOMPARE(s->chunks.front().offset, std::uint64_t{40});
    QCOMPARE(s->evicted, std::uint64_t{40});
    QVERIFY(s->closed);
    QCOMPARE(t.cut(), std::uint64_t{40});
    // From the middle of a chunk, at most 30 bytes.
    s = t.snapshot(1, 50, 30, false);
    QCOMPARE(s->chunks.size(), std::size_t{1});
    QCOMPARE(s->chunks.front().offset, std::uint64_t{50});
    QCOMPARE(s->chunks.front().bytes.size(), std::size_t{30});
    QCOMPARE(s->chunks.front().bytes.front(), std::byte('b'));
    QCOMPARE(s->next, std::uint64_t{80});
    // The total bound (150): source 2 gets 70 more, then a chunk that would pass it is cut.
    t.add(2, chunk(0, 70, 'x'));
    QCOMPARE(t.bytes(), std::uint64_t{150});
    t.add(2, chunk(70, 10, 'y'));
    QCOMPARE(t.bytes(), std::uint64_t{150});
    QCOMPARE(t.cut(), std::uint64_t{50});
    QCOMPARE(t.snapshot(2, 0, kAllPayload, false)->next, std::uint64_t{70});
    // Larger than a source's share: not kept at all.
    t.add(3, chunk(0, 101, 'z'));
    QVERIFY(t.snapshot(3, 0, kAllPayload, false)->chunks.empty());
    QCOMPARE(t.snapshot(3, 0, kAllPayload, false)->evicted, std::uint64_t{101});
    QCOMPARE(t.cut(), std::uint64_t{151});
  }

  // The command line's way in: a missing file is one line, found before any window.
  void unreadableFilesAreNamed() {
    const QString missing = m_dir.path() + QStringLiteral("/missing.jsonl");
    QCOMPARE(unreadable_reason(missing), missing + QStringLiteral(": no such file"));
    QVERIFY(unreadable_reason(m_dir.path()).contains(QLatin1String("is a directory")));
    const std::string ok = file("readable.jsonl");
    QVERIFY(write_file(ok, synthetic(10, true)));
    QVERIFY(unreadable_reason(QString::fromStdString(ok)).isEmpty());
  }

  // Open recent: newest first, at most kMaxRecent, a missing file dropped.
  void recentListKeepsTheLastTen() {
    QSettings().remove(QStringLiteral("recent/recordings"));
    for (int i = 0; i < kMaxRecent + 2; ++i) remember_recording(m_dir.path() + QStringLiteral("/r%1.jsonl").arg(i));
    QStringList list = recent_recordings();
    QCOMPARE(list.size(), kMaxRecent);
    QCOMPARE(list.front(), m_dir.path() + QStringLiteral("/r%1.jsonl").arg(kMaxRecent + 1));
    remember_recording(m_dir.path() + QStringLiteral("/r5.jsonl"));
    QCOMPARE(recent_recordings().front(), m_dir.path() + QStringLiteral("/r5.jsonl"));
    QCOMPARE(recent_recordings().size(), kMaxRecent);
    // Opening one that is gone says so (the message box is closed here) and drops it.
    QTimer::singleShot(0, [] {
      if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) box->accept();
    });
    QVERIFY(open_recording_in_new_window(m_dir.path() + QStringLiteral("/r5.jsonl"), nullptr) == nullptr);
    QVERIFY(!recent_recordings().contains(m_dir.path() + QStringLiteral("/r5.jsonl")));
    QCOMPARE(recent_recordings().size(), kMaxRecent - 1);
  }
};

QTEST_MAIN(TestOpenRecording)
#include "tst_open_recording.moc"
