// `readyscope --headless` when the capture engine's poll thread stops by itself (docs/engine.md,
// "Failure"): the run ends at once with exit code 1 and one line on stderr saying why, and the
// recording in progress holds every record to the final stats record and is complete. The
// runner is called in-process (the same library the binary runs) so that the fault can be
// injected through the syscall layer (core/src/linux/sys.h) into its poll thread.
#include <QTemporaryDir>
#include <QtTest>

#include <sys/epoll.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "cli.h"
#include "headless.h"
#include "poll_thread_util.h"
#include "ready/capture/recording.h"
#include "ready/capture/store.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;
using namespace readyscope;

namespace {

std::string contents(std::FILE* f) {
  std::string s;
  std::rewind(f);
  char buf[4096];
  while (const std::size_t n = std::fread(buf, 1, sizeof buf, f)) s.append(buf, n);
  return s;
}

}  // namespace

class TestHeadlessFailure : public QObject {
  Q_OBJECT
 private slots:
  void engineFailureExitsOneAndKeepsTheRecording_data() {
    QTest::addColumn<bool>("allocation");
    QTest::addColumn<int>("err");
    QTest::addColumn<QString>("said");
    QTest::newRow("epoll_wait EBADF") << false << EBADF << QStringLiteral("epoll_wait failed: EBADF");
    QTest::newRow("bad_alloc") << true << ENOMEM << QStringLiteral("allocation failed: ENOMEM");
  }

  void engineFailureExitsOneAndKeepsTheRecording() {
    QFETCH(bool, allocation);
    QFETCH(int, err);
    QFETCH(QString, said);
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string path = dir.filePath(QStringLiteral("run.jsonl")).toStdString();

    HeadlessPlan plan;
    SourceRequest udp;
    udp.kind = SourceRequest::Kind::udp;
    udp.flag = QStringLiteral("--udp 127.0.0.1:0");
    udp.address = *net::SocketAddr::parse("127.0.0.1:0");
    plan.sources.push_back(udp);
    plan.options.reaction = ReactionSpec{Reaction::drain};
    plan.record_path = path;
    // Only a safety net: before, a dead engine went unnoticed and the run ended here, exit 0.
    plan.duration = std::chrono::seconds(60);

    // Aimed at the poll thread once it exists. Nothing else wakes it: its stats timer does,
    // within a second, and its next epoll_wait (or stats record) then fails.
    const FaultGuard faults;
    std::atomic<bool> injected{false};
    std::thread aim([&] {
      const pid_t tid = wait_poll_thread();
      if (tid != 0)
        injected = allocation ? sys::fault::inject(sys::fault::allocation, err, 1, tid)
                              : sys::fault::inject(::epoll_wait, err, 1, tid);
    });
    std::FILE* out = std::tmpfile();
    std::FILE* errf = std::tmpfile();
    QVERIFY(out && errf);
    const auto started = std::chrono::steady_clock::now();
    const int code = runHeadless(plan, out, errf);
    const auto took = std::chrono::steady_clock::now() - started;
    aim.join();
    const QString stdoutText = QString::fromStdString(contents(out));
    const QString stderrText = QString::fromStdString(contents(errf));
    std::fclose(out);
    std::fclose(errf);
    QVERIFY(injected);

    QCOMPARE(code, int{kExitRuntime});
    QVERIFY2(took < std::chrono::seconds(60), "the run waited for --duration: the failure went unnoticed");
    // One line on stderr, saying what stopped and why.
    QVERIFY2(stderrText.endsWith(QLatin1Char('\n')) && stderrText.count(QLatin1Char('\n')) == 1,
             qPrintable(stderrText));
    QVERIFY2(stderrText.contains(QLatin1String("poll thread stopped")), qPrintable(stderrText));
    QVERIFY2(stderrText.contains(said), qPrintable(stderrText));
    QVERIFY2(stdoutText.contains(QLatin1String("written to")), qPrintable(stdoutText));

    // The recording is complete and valid: the fatal engine_error, the UDP socket removed,
    // and the final stats record last.
    RecordStore store;
    auto info = load_recording(path, store);
    QVERIFY2(info.has_value(), info ? "" : info.error().message().c_str());
    QVERIFY(store.size() > 0);
    QCOMPARE(store.at(store.end_index() - 1).kind, RecordKind::stats);
    std::optional<std::uint64_t> fatal_at;
    bool added = false;
    bool removed_after = false;
    for (std::uint64_t i = store.begin_index(); i < store.end_index(); ++i) {
      const Record r = store.at(i);
      if (r.kind == RecordKind::warning && r.warning_kind() == WarningKind::engine_error && r.detail() == 1 &&
          r.err == err)
        fatal_at = i;
      added = added || (r.kind == RecordKind::source_added && r.source_kind() == SourceKind::udp);
      if (fatal_at && r.kind == RecordKind::source_removed && r.source_kind() == SourceKind::udp) removed_after = true;
    }
    QVERIFY(fatal_at);
    // (The fault may come before the poll thread ran the create command: then no socket, and
    // the command is among those discarded.)
    QVERIFY(!added || removed_after);
  }
};

QTEST_GUILESS_MAIN(TestHeadlessFailure)
#include "tst_headless_failure.moc"
