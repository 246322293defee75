// Attaching in the window (issue 17, docs/attach.md): File > Attach to process… lists a real
// Python epoll program (tests/attach/epoll_target.py), filters it, and attaching shows its
// registrations as lanes named by their addresses, one lane group per epoll instance. The
// window is grabbed to a PNG (READY_ATTACH_PNG names where, for the README; otherwise a
// temporary file).
#include <QAction>
#include <QApplication>
#include <QLineEdit>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

#include <memory>
#include <set>
#include <string>

#include "attach_target.h"
#include "models/source_table.h"
#include "panels/attach_dialog.h"
#include "peer.h"
#include "ready_test.h"
#include "timeline/laneindex.h"
#include "window_test_util.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::ui;
using namespace ready::test;

namespace {
constexpr int kWaitMs = 10000;
}

class TstAttachWindow : public QObject {
  Q_OBJECT

  QTemporaryDir m_settings;
  std::unique_ptr<MainWindow> m_window;

  std::vector<const SourceRow*> rowsOf(int pid) {
    std::vector<const SourceRow*> out;
    for (const SourceRow& r : m_window->sourceTable().rows())
      if (r.pid == pid) out.push_back(&r);
    return out;
  }

 private slots:
  void initTestCase() {
    QVERIFY(m_settings.isValid());
    QVERIFY(prepare_window_suite(QStringLiteral("tst_attach_window"), m_settings.path()));
  }

  void init() {
    m_window = open_live_window();
    QVERIFY(m_window);
  }
  void cleanup() { m_window.reset(); }

  void dialogListsAndFilters() {
    AttachTarget t;
    QVERIFY(t.start());
    AttachDialog d;
    QSignalSpy listed(&d, &AttachDialog::listed);
    QVERIFY(listed.wait(kWaitMs));
    QVERIFY(d.selectPid(t.pid()));  // listed: it holds an epoll instance
    QCOMPARE(d.pid(), std::optional<int>(t.pid()));
    auto* filter = d.findChild<QLineEdit*>(QStringLiteral("attachFilter"));
    QVERIFY(filter);
    // By its command line: only processes running the target script are left.
    filter->setText(QStringLiteral("epoll_target.py"));
    QVERIFY(d.visibleRows() >= 1);
    QVERIFY(d.selectPid(t.pid()));
    filter->setText(QStringLiteral("no process has this in its command line 7f3e"));
    QCOMPARE(d.visibleRows(), 0);
    QVERIFY(!d.selectPid(t.pid()));
    QCOMPARE(d.interval(), std::chrono::milliseconds(50));
  }

  void attachShowsLanesWithAddresses() {
    AttachTarget t;
    QVERIFY(t.start({QStringLiteral("--second-epoll")}));
    const int pid = t.pid();
    QTimer::singleShot(0, [pid] {
      auto* d = qobject_cast<AttachDialog*>(QApplication::activeModalWidget());
      if (!d) {
        qWarning("no attach dialog is open");
        return;
      }
      d->findChild<QLineEdit*>(QStringLiteral("attachFilter"))->setText(QString::number(pid));
      if (!QTest::qWaitFor([&] { return d->selectPid(pid); }, kWaitMs)) qWarning("the target is not listed");
      d->accept();
      if (d->isVisible()) d->reject();  // never hang
    });
    auto* act = m_window->findChild<QAction*>(QStringLiteral("actionAttach"));
    QVERIFY(act);
    act->trigger();

    // Its registrations become rows and lanes: the listener named by its address.
    const std::string listenAt = "127.0.0.1:" + std::to_string(t.port);
    QVERIFY2(QTest::qWaitFor(
                 [&] {
                   for (const SourceRow* r : rowsOf(pid))
                     if (r->kind == SourceKind::tcp_listener && r->label().find(listenAt) != std::string::npos)
                       return true;
                   return false;
                 },
                 kWaitMs),
             qPrintable(m_window->statusMessage()));
    // A client: its connection's lane names both ends.
    auto client = plain_connect(*net::SocketAddr::parse(listenAt));
    QVERIFY_OK(client);
    const std::string peer = local_address(client->get()).to_string();
    QVERIFY(QTest::qWaitFor(
        [&] {
          for (const SourceRow* r : rowsOf(pid))
            if (r->kind == SourceKind::tcp_stream && r->label().find(listenAt + " \u2192 " + peer) != std::string::npos)
              return true;
          return false;
        },
        kWaitMs));
    // One lane per registration; the lanes of one epoll instance share a group, the two
    // instances' groups differ.
    const LaneIndex& lanes = m_window->laneIndex();
    std::map<int, std::set<std::uint32_t>> groups;  // epoll fd -> lane groups
    for (const SourceRow* r : rowsOf(pid)) {
      const auto lane = lanes.lane_of(r->token);
      QVERIFY(lane);
      groups[r->epoll_fd].insert(lanes.lane(*lane).group);
    }
    QCOMPARE(groups.size(), 2u);
    std::set<std::uint32_t> all;
    for (const auto& [epfd, g] : groups) {
      QCOMPARE(g.size(), 1u);
      all.insert(*g.begin());
    }
    QCOMPARE(all.size(), 2u);

    QTest::qWait(300);  // a few frames of the lanes
    const QImage shot = m_window->grab().toImage();
    QVERIFY(!shot.isNull());
    QTemporaryDir out;
    const QString png = qEnvironmentVariableIsSet("READY_ATTACH_PNG") ? qEnvironmentVariable("READY_ATTACH_PNG")
                                                                       : out.filePath(QStringLiteral("attach.png"));
    QVERIFY(shot.save(png));
    qInfo("window attached to pid %d: %s", pid, qPrintable(png));
  }
};

QTEST_MAIN(TstAttachWindow)
#include "tst_attach_window.moc"
