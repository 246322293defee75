// `readyscope --headless --relay LISTEN=UPSTREAM` between real programs: 100 MiB each way
// (TCP and Unix sockets) with identical bytes at both ends, a real HTTP exchange (Python's
// http.server and urllib) recorded on both legs, an nc conversation, and the flags' errors.
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <set>

#include "headless_app.h"
#include "peer.h"

using namespace ready::test;

namespace {

const QString kPeer = QStringLiteral(RELAY_PEER_PY);

QString python() { return QStandardPaths::findExecutable(QStringLiteral("python3")); }

/// A program whose stdout is read line by line.
class Program {
 public:
  Program(const QString& exe, const QStringList& args) {
    m_p.setProcessChannelMode(QProcess::SeparateChannels);
    m_p.start(exe, args);
  }
  ~Program() {
    if (m_p.state() != QProcess::NotRunning) {
      m_p.kill();
      m_p.waitForFinished();
    }
  }
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;
  /// The first stdout line starting with `prefix` (without it), or nullopt after `ms`.
  std::optional<QString> line(const QString& prefix, int ms = 60000) {
    QElapsedTimer t;
    t.start();
    for (;;) {
      while (m_p.canReadLine()) {
        const QString l = QString::fromLocal8Bit(m_p.readLine()).trimmed();
        if (l.startsWith(prefix)) return l.mid(prefix.size());
      }
      if (t.elapsed() > ms || (m_p.state() == QProcess::NotRunning && !m_p.canReadLine())) return std::nullopt;
      (void)m_p.waitForReadyRead(200);
    }
  }
  QProcess& process() { return m_p; }

 private:
  QProcess m_p;
};

/// The relay's bound address from the run's "token 1: --relay ... : LISTEN -> UPSTREAM" line.
QString relayAddress(App& app) { return app.firstSource().section(QStringLiteral(" -> "), 0, 0); }

/// A free loopback port (bound, then released).
quint16 freePort() {
  auto l = plain_listener(ready::net::SocketAddr::loopback_v4(0));
  return l ? local_address(l->get()).port() : 0;
}

/// "sent=... received=... count=N" as a map.
QMap<QString, QString> fields(const QString& line) {
  QMap<QString, QString> m;
  for (const QString& kv : line.split(u' ', Qt::SkipEmptyParts)) m.insert(kv.section(u'=', 0, 0), kv.section(u'=', 1));
  return m;
}

/// 100 MiB each way between relay_peer.py's server and client, through a relay from
/// `listen` to the server at `upstream`.
void bulkBothWays(const QString& listen, const QString& serverAddr) {
  constexpr qint64 kBytes = 100LL << 20;
  Program server(python(), {kPeer, QStringLiteral("server"), serverAddr, QString::number(kBytes), QStringLiteral("1")});
  const auto up = server.line(QStringLiteral("listening "));
  QVERIFY2(up, "the server never listened");
  App app({QStringLiteral("--relay"), listen + u'=' + *up});
  const QString front = relayAddress(app);
  QVERIFY2(!front.isEmpty(), qPrintable(app.err()));
  Program client(python(), {kPeer, QStringLiteral("client"), front, QString::number(kBytes), QStringLiteral("2")});
  const auto c = client.line(QStringLiteral("sent="), 120000);
  const auto s = server.line(QStringLiteral("sent="), 120000);
  QVERIFY2(c && s, "an end did not finish its exchange");
  const auto cf = fields(QStringLiteral("sent=") + *c), sf = fields(QStringLiteral("sent=") + *s);
  QCOMPARE(cf.value(QStringLiteral("count")).toLongLong(), kBytes);
  QCOMPARE(sf.value(QStringLiteral("count")).toLongLong(), kBytes);
  QCOMPARE(sf.value(QStringLiteral("received")), cf.value(QStringLiteral("sent")));
  QCOMPARE(cf.value(QStringLiteral("received")), sf.value(QStringLiteral("sent")));
  QCOMPARE(app.stop(), 0);
}

}  // namespace

class TestCliRelay : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { QVERIFY2(!python().isEmpty(), "python3 is needed (scripts/deps.sh installs it)"); }

  void hundredMiBEachWayOverTcp() { bulkBothWays(QStringLiteral("127.0.0.1:0"), QStringLiteral("127.0.0.1:0")); }

  void hundredMiBEachWayOverUnixSockets() {
    QTemporaryDir dir;
    bulkBothWays(dir.filePath(QStringLiteral("front.sock")), dir.filePath(QStringLiteral("app.sock")));
  }

  // A real HTTP exchange: python3 -m http.server behind the relay, urllib in front; the body
  // arrives intact and the recording has both legs' readiness and the bytes in actions.
  void httpServerAndUrllib() {
    QTemporaryDir dir;
    QByteArray body(4 << 20, Qt::Uninitialized);
    for (qsizetype i = 0; i < body.size(); ++i) body[i] = static_cast<char>((i * 7919 + i / 4096) & 0xff);
    QFile f(dir.filePath(QStringLiteral("blob")));
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(body);
    f.close();
    const quint16 port = freePort();
    Program server(python(), {QStringLiteral("-m"), QStringLiteral("http.server"), QString::number(port),
                              QStringLiteral("--bind"), QStringLiteral("127.0.0.1"), QStringLiteral("--directory"),
                              dir.path()});
    const QString rec = dir.filePath(QStringLiteral("relay.jsonl"));
    App app({QStringLiteral("--relay"), QStringLiteral("127.0.0.1:0=127.0.0.1:%1").arg(port), QStringLiteral("--record"),
             rec});
    const QString front = relayAddress(app);
    QVERIFY2(!front.isEmpty(), qPrintable(app.err()));
    const QString fetch = QStringLiteral(
                              "import sys, time, urllib.request\n"
                              "for _ in range(100):\n"
                              "    try:\n"
                              "        d = urllib.request.urlopen('http://%1/blob', timeout=30).read(); break\n"
                              "    except OSError: time.sleep(0.1)\n"  // the server may still be starting
                              "sys.stdout.buffer.write(d)\n")
                              .arg(front);
    QProcess client;
    client.start(python(), {QStringLiteral("-c"), fetch});
    QVERIFY(client.waitForFinished(60000));
    const QByteArray got = client.readAllStandardOutput();
    QCOMPARE(got.size(), body.size());
    QVERIFY(got == body);
    QCOMPARE(app.stop(), 0);

    QFile r(rec);
    QVERIFY(r.open(QIODevice::ReadOnly));
    std::set<qint64> streams, ready;
    qint64 moved = 0;
    std::vector<QJsonObject> actions;
    while (!r.atEnd()) {
      const QJsonObject o = QJsonDocument::fromJson(r.readLine()).object();
      const QString type = o.value(QStringLiteral("type")).toString();
      const qint64 token = o.value(QStringLiteral("token")).toInteger();
      if (type == QLatin1String("source") && o.value(QStringLiteral("kind")).toString() == QLatin1String("tcp_stream"))
        streams.insert(token);
      if (type == QLatin1String("readiness")) ready.insert(token);
      if (type == QLatin1String("action")) actions.push_back(o);
    }
    for (const QJsonObject& a : actions)
      if (streams.count(a.value(QStringLiteral("token")).toInteger()) != 0) moved += a.value(QStringLiteral("n")).toInteger();
    QVERIFY2(streams.size() >= 2, "no client and upstream legs in the recording");
    int legsWithReadiness = 0;
    for (const qint64 t : streams) legsWithReadiness += ready.count(t) != 0 ? 1 : 0;
    QVERIFY(legsWithReadiness >= 2);
    QVERIFY2(moved >= 2 * body.size(), "the body's bytes are not all in the legs' read and write actions");
  }

  // An nc conversation: lines typed at one end come out at the other, both ways; the client's
  // end-of-file reaches the server (nc -N) and the run ends cleanly.
  void ncConversation() {
    const QString nc = QStandardPaths::findExecutable(QStringLiteral("nc"));
    QVERIFY2(!nc.isEmpty(), "nc is needed (scripts/deps.sh installs netcat-openbsd)");
    const quint16 port = freePort();
    QProcess server;
    server.start(nc, {QStringLiteral("-N"), QStringLiteral("-l"), QStringLiteral("127.0.0.1"), QString::number(port)});
    QVERIFY(server.waitForStarted());
    App app({QStringLiteral("--relay"), QStringLiteral("127.0.0.1:0=127.0.0.1:%1").arg(port)});
    const QString front = relayAddress(app);
    QVERIFY2(!front.isEmpty(), qPrintable(app.err()));
    QProcess client;
    // nc's listener may not be up yet: the relay would then close the client at once.
    QByteArray atServer;
    for (int attempt = 0; attempt < 50 && atServer.isEmpty(); ++attempt) {
      client.start(nc, {QStringLiteral("-N"), front.section(u':', 0, 0), front.section(u':', 1)});
      QVERIFY(client.waitForStarted());
      client.write("hello from the client\n");
      QElapsedTimer t;
      t.start();
      while (t.elapsed() < 2000 && !atServer.contains('\n')) {
        server.waitForReadyRead(100);
        atServer += server.readAllStandardOutput();
      }
      if (atServer.isEmpty()) {
        client.kill();
        client.waitForFinished();
      }
    }
    QCOMPARE(atServer, QByteArray("hello from the client\n"));
    server.write("hello from the server\n");
    QByteArray atClient;
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < 20000 && !atClient.contains('\n')) {
      client.waitForReadyRead(100);
      atClient += client.readAllStandardOutput();
    }
    QCOMPARE(atClient, QByteArray("hello from the server\n"));
    client.closeWriteChannel();  // EOF on nc's stdin: -N shuts its socket down
    server.closeWriteChannel();
    QVERIFY(server.waitForFinished(20000));
    QVERIFY(client.waitForFinished(20000));
    QCOMPARE(app.stop(), 0);
  }

  void refusesBadRelayFlags_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    QTest::newRow("no =") << QStringList{QStringLiteral("--relay"), QStringLiteral("127.0.0.1:8080")}
                          << QStringLiteral("expected LISTEN=UPSTREAM");
    QTest::newRow("remote") << QStringList{QStringLiteral("--relay"), QStringLiteral("10.1.2.3:8080=127.0.0.1:8000")}
                            << QStringLiteral("add --allow-remote");
    QTest::newRow("bad side") << QStringList{QStringLiteral("--relay"), QStringLiteral("127.0.0.1:8080=nowhere")}
                              << QStringLiteral("neither HOST:PORT");
    QTest::newRow("upstream port 0") << QStringList{QStringLiteral("--relay"), QStringLiteral("127.0.0.1:0=127.0.0.1:0")}
                                     << QStringLiteral("port 0 cannot be connected to");
    QTest::newRow("slice 0") << QStringList{QStringLiteral("--relay"), QStringLiteral("127.0.0.1:0=127.0.0.1:9"),
                                            QStringLiteral("--relay-slice"), QStringLiteral("0")}
                             << QStringLiteral("--relay-slice '0': expected");
    QTest::newRow("jitter > latency") << QStringList{QStringLiteral("--relay"), QStringLiteral("127.0.0.1:0=127.0.0.1:9"),
                                                     QStringLiteral("--relay-latency"), QStringLiteral("up:5:10")}
                                      << QStringLiteral("--relay-latency 'up:5:10': expected");
    QTest::newRow("fault without relay") << QStringList{QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                                                        QStringLiteral("--relay-bandwidth"), QStringLiteral("100")}
                                         << QStringLiteral("add --relay");
    QTest::newRow("oneshot") << QStringList{QStringLiteral("--relay"), QStringLiteral("127.0.0.1:0=127.0.0.1:9"),
                                            QStringLiteral("--mode"), QStringLiteral("oneshot")}
                             << QStringLiteral("oneshot is not offered");
  }
  void refusesBadRelayFlags() {
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    QProcess p;
    p.start(kApp, QStringList{QStringLiteral("--headless")} + args);
    QVERIFY(p.waitForFinished(kProcessLimitMs));
    QCOMPARE(p.exitCode(), 2);
    const QString err = QString::fromLocal8Bit(p.readAllStandardError());
    QVERIFY2(err.contains(message), qPrintable(err));
    QCOMPARE(err.count(u'\n'), 1);  // one line
  }
};

QTEST_GUILESS_MAIN(TestCliRelay)
#include "tst_cli_relay.moc"
