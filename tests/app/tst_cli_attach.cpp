// --attach against the real binary (issue 17, docs/attach.md): a Python epoll program
// (tests/attach/epoll_target.py) is attached to headless; the recording names its
// registrations with their addresses and reads back with the attached fields; the run stops
// by itself when the program exits; the error paths exit 2 with one line: no such process,
// another user's process (a real one: this suite runs readyscope as `nobody` with setpriv
// against a target of its own user when it is root), bad values.
#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <unistd.h>

#include <array>
#include <set>
#include <span>

#include "attach_target.h"
#include "headless_app.h"
#include "peer.h"
#include "ready/attach/procfs.h"
#include "ready/capture/recording.h"
#include "ready/capture/store.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;

namespace {

/// Runs readyscope with `args` (no --headless added) to its end: exit code, stderr.
std::pair<int, QString> run(const QString& program, const QStringList& args) {
  QProcess p;
  p.start(program, args);
  if (!p.waitForFinished(kProcessLimitMs)) {
    p.kill();
    p.waitForFinished();
    return {-1, QStringLiteral("did not finish")};
  }
  return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromLocal8Bit(p.readAllStandardError())};
}

}  // namespace

class TstCliAttach : public QObject {
  Q_OBJECT

 private slots:
  void records_the_registrations() {
    AttachTarget t;
    QVERIFY(t.start());
    QTemporaryDir dir;
    const QString rec = dir.filePath(QStringLiteral("attach.jsonl"));
    App app({QStringLiteral("--attach"), QString::number(t.pid()), QStringLiteral("--attach-interval"),
             QStringLiteral("10"), QStringLiteral("--record"), rec});
    const QString port = QString::number(t.port);
    // The listener's line names its address.
    QVERIFY2(app.waitFor([&](const QStringList& ls) {
      return !ls.filter(QStringLiteral("(tcp_listener) 127.0.0.1:") + port).isEmpty();
    }),
             qPrintable(app.lines.join('\n') + app.err()));
    QVERIFY(!app.lines.filter(QStringLiteral("attached to process %1").arg(t.pid())).isEmpty());
    // A client: its accepted connection is a tcp_stream whose peer is the client.
    auto client = plain_connect(*net::SocketAddr::parse("127.0.0.1:" + std::to_string(t.port)));
    QVERIFY_OK(client);
    const QString peer = QString::fromStdString(local_address(client->get()).to_string());
    QVERIFY(app.waitFor([&](const QStringList& ls) { return !ls.filter(QStringLiteral("-> ") + peer).isEmpty(); }));
    QCOMPARE(app.stop(), 0);

    // The recording reads back: every attached line with its pid, epoll fd, mask and data.
    RecordStore store;
    auto info = load_recording(rec.toStdString(), store);
    QVERIFY2(info, info ? "" : info.error().message().c_str());
    QVERIFY(info->ended_with_stats);
    int listeners = 0, streams = 0;
    for (std::uint64_t i = store.begin_index(); i < store.end_index(); ++i) {
      const Record& r = store.at(i);
      if (r.kind != RecordKind::source_added || r.attached_pid() != t.pid()) continue;
      QVERIFY(r.attached_epoll_fd() >= 0);
      QCOMPARE(r.attached_data() & 0xffff'ffffu, static_cast<std::uint64_t>(r.fd));  // Python's data is the fd
      QCOMPARE(r.attached_events() & attach::kEpollAlways, attach::kEpollAlways);
      const SourceAddresses& a = info->sources.at(r.token);
      if (r.source_kind() == SourceKind::tcp_listener) {
        ++listeners;
        QCOMPARE(QString::fromStdString(a.local), QStringLiteral("127.0.0.1:") + port);
      } else if (r.source_kind() == SourceKind::tcp_stream) {
        ++streams;
        QCOMPARE(QString::fromStdString(a.peer), peer);
        QVERIFY(r.attached_events() & attach::kEpollEt);
      }
    }
    QCOMPARE(listeners, 1);
    QCOMPARE(streams, 1);
    QVERIFY(t.proc.state() == QProcess::Running);  // unharmed
  }

  void stops_when_the_process_exits() {
    AttachTarget t;
    QVERIFY(t.start());
    QTemporaryDir dir;
    const QString rec = dir.filePath(QStringLiteral("exit.jsonl"));
    App app({QStringLiteral("--attach"), QString::number(t.pid()), QStringLiteral("--record"), rec});
    QVERIFY(app.waitFor([](const QStringList& ls) { return !ls.filter(QStringLiteral("(tcp_listener)")).isEmpty(); }));
    QVERIFY(t.send("exit"));
    // It stops by itself, exit 0.
    QVERIFY(app.waitFor([&](const QStringList& ls) {
      return !ls.filter(QStringLiteral("process %1 exited").arg(t.pid())).isEmpty();
    }));
    QCOMPARE(app.stop(), 0);
    RecordStore store;
    auto info = load_recording(rec.toStdString(), store);
    QVERIFY2(info, info ? "" : info.error().message().c_str());
    QVERIFY(info->ended_with_stats);
    bool detached = false;
    for (std::uint64_t i = store.begin_index(); i < store.end_index(); ++i) {
      const Record& r = store.at(i);
      detached = detached || (r.kind == RecordKind::action && r.action_op() == Op::detach && r.outcome == Outcome::eof &&
                              r.value == static_cast<std::uint64_t>(t.pid()));
    }
    QVERIFY(detached);
  }

  // Level 2 from the first syscall: --trace -- PROGRAM starts the target under the trace; what
  // its epoll_wait returned is recorded on the lanes of its registrations.
  void trace_launches_a_program() {
    const QString python = QStandardPaths::findExecutable(QStringLiteral("python3"));
    QVERIFY(!python.isEmpty());
    QTemporaryDir dir;
    const QString rec = dir.filePath(QStringLiteral("launch.jsonl"));
    App app({QStringLiteral("--trace"), QStringLiteral("--record"), rec, QStringLiteral("--"), python,
             QStringLiteral(READY_ATTACH_TARGET)});
    // The program shares readyscope's stdout: its "port N" line is there.
    QString portLine;
    QVERIFY2(app.waitFor([&](const QStringList& ls) {
      const QStringList p = ls.filter(QRegularExpression(QStringLiteral("^port \\d+$")));
      if (!p.isEmpty()) portLine = p.constFirst();
      return !portLine.isEmpty() && !ls.filter(QStringLiteral("(tcp_listener)")).isEmpty();
    }),
             qPrintable(app.lines.join('\n') + app.err()));
    QVERIFY(!app.lines.filter(QStringLiteral("tracing ")).isEmpty());
    auto client = plain_connect(*net::SocketAddr::parse("127.0.0.1:" + portLine.section(' ', 1, 1).toStdString()));
    QVERIFY_OK(client);
    const std::string msg = "ping";
    QVERIFY_OK(plain_send(client->get(), std::as_bytes(std::span(msg))));
    std::array<std::byte, 16> buf{};
    auto n = plain_recv(client->get(), buf);
    QVERIFY_OK(n);
    QCOMPARE(*n, msg.size());
    QCOMPARE(app.stop(), 0);
    RecordStore store;
    auto info = load_recording(rec.toStdString(), store);
    QVERIFY2(info, info ? "" : info.error().message().c_str());
    std::set<std::uint64_t> attachedTokens;
    std::size_t ready = 0;
    for (std::uint64_t i = store.begin_index(); i < store.end_index(); ++i) {
      const Record& r = store.at(i);
      if (r.attached_pid() != 0) attachedTokens.insert(r.token);
      if (r.kind == RecordKind::readiness && attachedTokens.contains(r.token)) ++ready;
    }
    QVERIFY2(ready >= 2, qPrintable(QString::number(ready)));  // the accept and the message, at least
  }

  void no_such_process() {
    const auto [code, err] = run(kApp, {QStringLiteral("--headless"), QStringLiteral("--attach"), QStringLiteral("2147483000")});
    QCOMPARE(code, 2);
    QCOMPARE(err.trimmed(), QStringLiteral("readyscope: --attach 2147483000: no process with id 2147483000"));
  }

  void another_users_process() {
    AttachTarget t;
    QVERIFY(t.start());
    const QString setpriv = QStandardPaths::findExecutable(QStringLiteral("setpriv"));
    if (::geteuid() != 0 || setpriv.isEmpty())
      QSKIP("needs root and setpriv to run readyscope as another user (the engine's refusal is covered by "
            "tst_attach's injected EACCES)");
    // nobody must be able to run the binary: every directory above it searchable.
    for (QFileInfo fi(kApp); fi.absolutePath() != QStringLiteral("/"); fi = QFileInfo(fi.absolutePath()))
      if (!(QFileInfo(fi.absolutePath()).permissions() & QFileDevice::ExeOther))
        QSKIP(qPrintable(QStringLiteral("%1 is not searchable by other users").arg(fi.absolutePath())));
    const auto [code, err] =
        run(setpriv, {QStringLiteral("--reuid=65534"), QStringLiteral("--regid=65534"), QStringLiteral("--clear-groups"),
                      kApp, QStringLiteral("--headless"), QStringLiteral("--attach"), QString::number(t.pid())});
    QCOMPARE(code, 2);
    QVERIFY2(err.contains(QStringLiteral("belongs to user 0, not to you (uid 65534): run readyscope as that user, "
                                         "or as root")),
             qPrintable(err));
    QCOMPARE(err.count(QLatin1Char('\n')), 1);  // one line
  }

  void bad_usage() {
    AttachTarget t;
    QVERIFY(t.start());
    const QString pid = QString::number(t.pid());
    const struct {
      QStringList args;
      QString says;
    } cases[] = {
        {{QStringLiteral("--attach"), QStringLiteral("12x")}, QStringLiteral("expected a process id")},
        {{QStringLiteral("--attach"), QStringLiteral("0")}, QStringLiteral("expected a process id")},
        {{QStringLiteral("--attach-interval"), QStringLiteral("10")}, QStringLiteral("--attach-interval needs --attach")},
        {{QStringLiteral("--attach"), pid, QStringLiteral("--attach-interval"), QStringLiteral("0")},
         QStringLiteral("expected whole milliseconds from 1 to 60000")},
        {{QStringLiteral("--attach"), pid, QStringLiteral("--attach-interval"), QStringLiteral("60001")},
         QStringLiteral("expected whole milliseconds from 1 to 60000")},
        {{QStringLiteral("--attach"), pid, QStringLiteral("--scenario"), QStringLiteral("half-close")},
         QStringLiteral("cannot be combined with --scenario")},
    };
    for (const auto& c : cases) {
      const auto [code, err] = run(kApp, QStringList{QStringLiteral("--headless")} + c.args);
      QVERIFY2(code == 2 && err.contains(c.says), qPrintable(c.args.join(' ') + " -> " + err));
    }
  }
};

QTEST_GUILESS_MAIN(TstCliAttach)
#include "tst_cli_attach.moc"
