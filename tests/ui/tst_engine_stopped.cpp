// The window when the capture engine's poll thread stops by itself (docs/engine.md,
// "Failure"): the status bar says it stopped and why, the records up to the final stats record
// reach the store, and a command afterwards is refused with a message that says why. The
// fault is injected through the syscall layer (core/src/linux/sys.h), aimed at the poll thread.
#include <QLabel>
#include <QTemporaryDir>
#include <QtTest>

#include <sys/epoll.h>

#include <cerrno>
#include <memory>

#include "poll_thread_util.h"
#include "ready/capture/engine.h"
#include "session/bridge.h"
#include "session/capture_session.h"
#include "window/main_window.h"
#include "window_test_util.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::ui;
using namespace ready::test;

namespace {
constexpr int kWaitMs = 10000;
}

class TestEngineStopped : public QObject {
  Q_OBJECT

  /// Opens a window over a real engine, fails its poll thread with `fault` and checks the
  /// status bar, the store and a refused command.
  void stopAndCheck(bool allocation, int err, const QString& where, const QString& errName) {
    auto bridge = Bridge::start({}, {});
    QVERIFY(bridge.has_value());
    MainWindow w(std::move(*bridge));
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    const auto* poll = w.findChild<QLabel*>(QStringLiteral("statusPoll"));
    QVERIFY(poll);
    QTRY_COMPARE_WITH_TIMEOUT(poll->text(), QStringLiteral("poll thread running"), kWaitMs);

    const pid_t tid = wait_poll_thread();
    QVERIFY(tid != 0);
    const FaultGuard faults;
    QVERIFY(allocation ? sys::fault::inject(sys::fault::allocation, err, 1, tid)
                       : sys::fault::inject(::epoll_wait, err, 1, tid));
    w.submit(cmd::Note{"wakes the poll thread"});

    QTRY_VERIFY_WITH_TIMEOUT(poll->text().startsWith(QLatin1String("poll thread stopped: ")), kWaitMs);
    QVERIFY2(poll->text().contains(where + QLatin1String(" failed")), qPrintable(poll->text()));
    QVERIFY2(poll->text().contains(errName), qPrintable(poll->text()));
    QVERIFY(!w.session().is_live());
    QVERIFY(!w.bridge().status().poll_thread_running);
    // Every record came through, to the final stats record (after the fatal engine_error).
    const RecordStore& store = w.bridge().store();
    QTRY_VERIFY_WITH_TIMEOUT(store.size() > 0 && store.at(store.end_index() - 1).kind == RecordKind::stats, kWaitMs);
    bool fatal = false;
    for (std::uint64_t i = store.begin_index(); i < store.end_index(); ++i) {
      const Record r = store.at(i);
      fatal = fatal || (r.kind == RecordKind::warning && r.warning_kind() == WarningKind::engine_error &&
                        r.detail() == 1 && r.err == err);
    }
    QVERIFY(fatal);

    // A command now is refused, and the message says the poll thread stopped and why.
    w.submit(cmd::Note{"refused"});
    QVERIFY2(w.statusMessage().contains(QLatin1String("ENOTRECOVERABLE")), qPrintable(w.statusMessage()));
    QVERIFY2(w.statusMessage().contains(QLatin1String("poll thread stopped")), qPrintable(w.statusMessage()));
    QVERIFY2(w.statusMessage().contains(errName), qPrintable(w.statusMessage()));
  }

 private slots:
  void initTestCase() { QVERIFY(prepare_window_suite(QStringLiteral("tst_engine_stopped"), m_settingsDir.path())); }

  void epollWaitErrorShowsInTheStatusBar() {
    stopAndCheck(false, EBADF, QStringLiteral("epoll_wait"), QStringLiteral("EBADF"));
  }

  void allocationFailureShowsInTheStatusBar() {
    stopAndCheck(true, ENOMEM, QStringLiteral("allocation"), QStringLiteral("ENOMEM"));
  }

 private:
  QTemporaryDir m_settingsDir;
};

QTEST_MAIN(TestEngineStopped)
#include "tst_engine_stopped.moc"
