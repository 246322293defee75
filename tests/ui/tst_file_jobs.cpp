// Writing a capture from the window off the GUI thread: Save recording (the store, in
// slices, nothing dropped), Record to… (every record from the moment it starts), Cancel
// (the unfinished file is removed), and the background writer's bound (a batch that does
// not fit is refused and counted). A real engine, a listener and a loopback client.
#include <QAction>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "models/event_log_model.h"
#include "models/source_table.h"
#include "models_test_util.h"
#include "peer.h"
#include "ready/capture/command.h"
#include "ready/capture/export.h"
#include "ready/capture/recording.h"
#include "ready_test.h"
#include "session/background_writer.h"
#include "session/file_jobs.h"
#include "window/file_actions.h"
#include "window/main_window.h"
#include "window/open_recording.h"
#include "window_test_util.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::ui;
using namespace ready::test;

namespace {

/// A WriteTarget that holds each write until released, so the writer's queue fills; what it
/// is given is counted. (The bound under test is the queue's, in front of any file.)
class GatedTarget final : public WriteTarget {
 public:
  Result write(std::span<const Record> records, const BatchContext&) override {
    std::unique_lock lock(mu);
    cv.wait(lock, [this] { return open; });
    got += records.size();
    return {};
  }
  Result finish() override { return {}; }
  void release() {
    std::lock_guard lock(mu);
    open = true;
    cv.notify_all();
  }
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::uint64_t got = 0;
};

bool same_record(const Record& a, const Record& b) {
  return a.kind == b.kind && a.t_ns == b.t_ns && a.token == b.token && a.fd == b.fd && a.op == b.op &&
         a.outcome == b.outcome && a.bits == b.bits && a.value == b.value && a.value2 == b.value2 && a.err == b.err;
}

}  // namespace

class TestFileJobs : public CoreTest {
  Q_OBJECT

  std::unique_ptr<MainWindow> m_window;
  QTemporaryDir m_dir;

  MainWindow& window() { return *m_window; }
  FileActions& files() { return *window().fileActions(); }

  /// A listener that echoes, and `n` round trips of a loopback client through it.
  void echoTraffic(int n) {
    window().submit(cmd::TcpListen{net::SocketAddr::parse("127.0.0.1:0").value(),
                                   SourceOptions{Interest::READABLE, Trigger::edge, {Reaction::echo}}});
    QTRY_VERIFY_WITH_TIMEOUT(!window().sourceTable().rows().empty() &&
                                 !window().sourceTable().rows().front().local.empty(),
                             kUiWaitMs);
    const auto addr = net::SocketAddr::parse(window().sourceTable().rows().front().local);
    QVERIFY(addr.has_value());
    auto client = plain_connect(*addr);
    QVERIFY_OK(client);
    for (int i = 0; i < n; ++i) {
      const std::string msg = "hello " + std::to_string(i);
      QVERIFY(::write(client->get(), msg.data(), msg.size()) == static_cast<ssize_t>(msg.size()));
      char buf[64];
      std::size_t got = 0;
      while (got < msg.size()) {
        const ssize_t r = ::read(client->get(), buf, sizeof buf);
        QVERIFY(r > 0);
        got += static_cast<std::size_t>(r);
      }
    }
    client->reset();
    // The server side sees the end of stream.
    QTRY_VERIFY_WITH_TIMEOUT(window().sourceTable().rows().size() >= 2 &&
                                 window().sourceTable().rows()[1].state == SourceState::closed,
                             kUiWaitMs);
  }

 private slots:
  void initTestCase() {
    QVERIFY(m_dir.isValid());
    QVERIFY(prepare_window_suite(QStringLiteral("tst_file_jobs"), m_dir.path()));
  }
  void init() {
    auto bridge = Bridge::start({}, {});
    QVERIFY_OK(bridge);
    m_window = std::make_unique<MainWindow>(std::move(*bridge));
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
  }
  void cleanup() { m_window.reset(); }

  void saveWritesEveryRecordHeld() {
    echoTraffic(20);
    const QString path = m_dir.filePath(QStringLiteral("saved.jsonl"));
    QSignalSpy done(&files(), &FileActions::jobFinished);
    const std::uint64_t begin = window().session().store().begin_index();
    const std::uint64_t end = window().session().store().end_index();
    QVERIFY(files().saveTo(path, FileActions::Format::recording));
    QVERIFY(done.wait(kUiWaitMs));
    QCOMPARE(done.front().at(1).toString(), QString());
    RecordStore loaded;
    auto info = load_recording(path.toStdString(), loaded);
    QVERIFY2(info.has_value(), info ? "" : info.error().message().c_str());
    // Exactly the records held when the save began, in order (the capture ran on meanwhile).
    QCOMPARE(loaded.size(), end - begin);
    for (std::uint64_t i = 0; i < end - begin; ++i)
      QVERIFY2(same_record(loaded.at(loaded.begin_index() + i), window().session().store().at(begin + i)),
               qPrintable(QStringLiteral("record %1 differs").arg(i)));
    // The listener's address went through the GUI-side lookup into the file.
    const std::uint64_t listener = window().sourceTable().rows().front().token;
    QVERIFY(info->sources.contains(listener));
    QCOMPARE(QString::fromStdString(info->sources.at(listener).local),
             QString::fromStdString(window().sourceTable().rows().front().local));
  }

  void recordToWritesFromStartToStop() {
    const QString path = m_dir.filePath(QStringLiteral("live.jsonl"));
    QVERIFY(files().startRecording({path, false, false, 0, 0}));
    QVERIFY(files().recordAction()->isChecked());
    const std::uint64_t first = window().session().store().end_index();
    echoTraffic(30);
    QSignalSpy done(&files(), &FileActions::recordingFinished);
    QPointer<LiveRecorder> rec = files().recorder();
    QVERIFY(rec);
    const std::uint64_t seen = rec->seen();
    files().stopRecording();
    QVERIFY(done.wait(kUiWaitMs));
    QCOMPARE(done.front().at(1).toString(), QString());
    QVERIFY(!files().recordAction()->isChecked());
    RecordStore loaded;
    auto info = load_recording(path.toStdString(), loaded);
    QVERIFY2(info.has_value(), info ? "" : info.error().message().c_str());
    QVERIFY(seen > 0);
    // Every record seen, then the stats line the recorder ends a file with (the engine's own
    // final stats come only when it stops).
    QCOMPARE(loaded.size(), seen + 1);
    QCOMPARE(loaded.at(loaded.end_index() - 1).kind, RecordKind::stats);
    for (std::uint64_t i = 0; i < seen; ++i)
      QVERIFY(same_record(loaded.at(loaded.begin_index() + i), window().session().store().at(first + i)));
  }

  // The "done when", through the window: recorded with payload while watching, opened
  // again in a recording's window, the bytes are there for the inspector; saved from that
  // window, the file reads back as the same records.
  void payloadRecordedOpensAndSavesAgain() {
    const QString path = m_dir.filePath(QStringLiteral("payload.jsonl"));
    QVERIFY(files().startRecording({path, false, /*payload=*/true, 0, 0}));
    echoTraffic(12);
    const std::uint64_t stream = window().sourceTable().rows()[1].token;
    QSignalSpy done(&files(), &FileActions::recordingFinished);
    files().stopRecording();
    QVERIFY(done.wait(kUiWaitMs));
    QCOMPARE(done.front().at(1).toString(), QString());

    auto opened = make_recording_window(path);
    QVERIFY_OK(opened);
    MainWindow& rw = **opened;
    QSignalSpy loaded(recording_view(rw), &RecordingView::loaded);
    QVERIFY(loaded.wait(kUiWaitMs));
    QVERIFY(!rw.session().is_live());
    QVERIFY(!rw.fileActions()->recordAction()->isEnabled());
    const auto snap = rw.session().payload(stream, 0);
    QVERIFY(snap.has_value());
    std::string in, out;
    for (const PayloadChunk& c : snap->chunks)
      (c.direction == Direction::in ? in : out).append(reinterpret_cast<const char*>(c.bytes.data()), c.bytes.size());
    std::string sent;
    for (int i = 0; i < 12; ++i) sent += "hello " + std::to_string(i);
    QCOMPARE(in, sent);  // what the client sent, read by the echo server
    QCOMPARE(out, sent);  // and written back

    const QString again = m_dir.filePath(QStringLiteral("again.jsonl"));
    QSignalSpy saved(rw.fileActions(), &FileActions::jobFinished);
    QVERIFY(rw.fileActions()->saveTo(again, FileActions::Format::recording));
    QVERIFY(saved.wait(kUiWaitMs));
    QCOMPARE(saved.front().at(1).toString(), QString());
    RecordStore a, b;
    QVERIFY(load_recording(path.toStdString(), a).has_value());
    QVERIFY(load_recording(again.toStdString(), b).has_value());
    QCOMPARE(b.size(), a.size());
    for (std::uint64_t i = 0; i < a.size(); ++i)
      QVERIFY(same_record(a.at(a.begin_index() + i), b.at(b.begin_index() + i)));
  }

  void exportsWriteTraceAndCsv() {
    echoTraffic(4);
    for (const auto format : {FileActions::Format::trace, FileActions::Format::csv_all}) {
      const QString path = m_dir.filePath(format == FileActions::Format::trace ? QStringLiteral("t.json")
                                                                                : QStringLiteral("c.csv"));
      QSignalSpy done(&files(), &FileActions::jobFinished);
      QVERIFY(files().saveTo(path, format));
      QVERIFY(done.wait(kUiWaitMs));
      QCOMPARE(done.front().at(1).toString(), QString());
      QFile f(path);
      QVERIFY(f.open(QIODevice::ReadOnly));
      const QByteArray head = f.read(64);
      if (format == FileActions::Format::trace)
        QVERIFY(head.startsWith("{\"displayTimeUnit\""));
      else
        QVERIFY(head.startsWith(QByteArray::fromStdString(CsvWriter::header().substr(0, 10))));
    }
    // The log as filtered: only the kinds the log shows.
    window().eventLogModel()->setKindFilter(EventLogModel::kindBit(RecordKind::readiness));
    const QString path = m_dir.filePath(QStringLiteral("filtered.csv"));
    QSignalSpy done(&files(), &FileActions::jobFinished);
    QVERIFY(files().saveTo(path, FileActions::Format::csv_filtered));
    QVERIFY(done.wait(kUiWaitMs));
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = f.readAll().split('\n');
    std::uint64_t readiness = 0;
    for (std::uint64_t i = window().session().store().begin_index(); i < window().session().store().end_index(); ++i)
      if (window().session().store().at(i).kind == RecordKind::readiness) ++readiness;
    // header + one row per readiness record (+ the empty piece after the last line end)
    QCOMPARE(std::uint64_t(lines.size()), readiness + 2);
    for (int i = 1; i + 1 < lines.size(); ++i) QVERIFY2(lines[i].contains(",readiness,"), lines[i].constData());
  }

  void cancelRemovesTheFile() {
    echoTraffic(5);
    const QString path = m_dir.filePath(QStringLiteral("cancelled.jsonl"));
    QSignalSpy done(&files(), &FileActions::jobFinished);
    QVERIFY(files().saveTo(path, FileActions::Format::recording));
    QVERIFY(files().job());
    files().job()->cancel();  // before its first slice ran
    QVERIFY(done.wait(kUiWaitMs));
    QCOMPARE(done.front().at(1).toString(), QStringLiteral("cancelled"));
    QVERIFY(!QFile::exists(path));
  }

  void closingTheWindowMidSaveLeavesNoPartFile() {
    echoTraffic(5);
    const QString path = m_dir.filePath(QStringLiteral("unfinished.jsonl"));
    QVERIFY(files().saveTo(path, FileActions::Format::recording));
    QVERIFY(QFile::exists(path));  // created at once, with its header
    m_window.reset();               // before the first slice was copied
    QVERIFY(!QFile::exists(path));
  }

  void aFullQueueRefusesAndCounts() {
    auto gated = std::make_unique<GatedTarget>();
    GatedTarget* target = gated.get();
    BackgroundWriter writer(std::move(gated), /*max_queued_records=*/100);
    QSignalSpy finished(&writer, &BackgroundWriter::finished);
    QVERIFY(writer.offer(std::vector<Record>(60), {}));
    QVERIFY(writer.offer(std::vector<Record>(40), {}));
    QVERIFY(!writer.hasRoom(1));
    QVERIFY(!writer.offer(std::vector<Record>(10), {}));
    QCOMPARE(writer.notWritten(), std::uint64_t{10});
    target->release();
    writer.finish();
    QVERIFY(finished.wait(kUiWaitMs));
    QCOMPARE(writer.written(), std::uint64_t{100});
    QCOMPARE(target->got, std::uint64_t{100});
    QVERIFY(!writer.offer(std::vector<Record>(1), {}));  // after finish
    QCOMPARE(writer.notWritten(), std::uint64_t{11});
  }
};

QTEST_MAIN(TestFileJobs)
#include "tst_file_jobs.moc"
