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
#include "ready/capture/recording.h"
#include "ready_test.h"
#include "session/background_writer.h"
#include "session/file_jobs.h"
#include "window/file_actions.h"
#include "window/main_window.h"
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
  io_result<void> write(std::span<const Record> records, const BatchContext&) override {
    std::unique_lock lock(mu);
    cv.wait(lock, [this] { return open; });
    got += records.size();
    return {};
  }
  io_result<void> finish() override { return {}; }
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
    QVERIFY(files().startRecording(path, false));
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
    QCOMPARE(loaded.size(), seen);
    QVERIFY(seen > 0);
    for (std::uint64_t i = 0; i < seen; ++i)
      QVERIFY(same_record(loaded.at(loaded.begin_index() + i), window().session().store().at(first + i)));
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
