// What a new user tries first from the command line (issue 14, behaviours 1, 3 and 4), run
// against the real binary with real loopback peers: a UDP echo server, a listener whose
// streams are accepted and left unread (edge: one event per arrival; level: it refires), and
// a --connect whose source lines name the peer it is trying to reach.
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "headless_app.h"
#include "peer.h"
#include "ready/capture/recording.h"
#include "ready/capture/store.h"
#include "ready/net/udp.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;
using namespace std::chrono_literals;

namespace {

/// --verbose lines: the token of each accepted tcp_stream, in order.
QStringList acceptedStreams(const QStringList& lines) {
  static const QRegularExpression re(QStringLiteral(R"(source_added\s+token=(\d+)\s+fd=\S+\s+tcp_stream)"));
  QStringList out;
  for (const QString& l : lines)
    if (const auto m = re.match(l); m.hasMatch()) out << m.captured(1);
  return out;
}

/// --verbose lines: readiness records of `token` that say readable.
int readableEvents(const QStringList& lines, const QString& token) {
  const QRegularExpression re(QStringLiteral(R"(readiness\s+token=%1\s.*\breadable\b)").arg(token));
  int n = 0;
  for (const QString& l : lines)
    if (re.match(l).hasMatch()) ++n;
  return n;
}

std::vector<QJsonObject> jsonLines(const QString& path) {
  QFile f(path);
  std::vector<QJsonObject> out;
  if (!f.open(QIODevice::ReadOnly)) return out;
  while (!f.atEnd()) out.push_back(QJsonDocument::fromJson(f.readLine()).object());
  return out;
}

}  // namespace

class TestCliNewUser : public CoreTest {
  Q_OBJECT

 private slots:
  // Behaviour 1: a UDP echo server answers 1, 100 and 1400 bytes whole, and the recording
  // has one read per datagram with its size and its sender as "peer".
  void udpEchoAnswersEachDatagram() {
    QTemporaryDir dir;
    const QString rec = dir.filePath(QStringLiteral("udp.jsonl"));
    App app({"--udp", "127.0.0.1:0", "--reaction", "echo", "--record", rec});
    const auto server = net::SocketAddr::parse(app.firstSource().toStdString());
    QVERIFY(server && server->port() != 0);
    auto client = net::UdpSocket::bind(net::SocketAddr::loopback_v4(0));
    QVERIFY_OK(client);
    const std::vector<std::size_t> sizes{1, 100, 1400};
    for (const std::size_t n : sizes) QVERIFY_OK(client->send_to(bytes(std::string(n, 'u')), *server));
    std::vector<std::size_t> got;
    std::vector<std::byte> buf(65536);
    while (got.size() < sizes.size()) {
      auto r = client->recv_from(buf);
      if (!r && is_would_block(r.error())) {
        QVERIFY2(wait_readable(client->as_raw_fd()), "an echo did not come back");
        continue;
      }
      QVERIFY_OK(r);
      QCOMPARE(r->from, *server);
      got.push_back(r->n);
    }
    QCOMPARE(got, sizes);
    QCOMPARE(app.stop(), 0);

    RecordStore store;
    auto info = load_recording(rec.toStdString(), store);
    QVERIFY2(info, info ? "" : info.error().message().c_str());
    std::vector<std::size_t> reads;
    const std::string sender = client->local_addr()->to_string();
    for (std::uint64_t i = store.begin_index(); i < store.end_index(); ++i) {
      const Record& r = store.at(i);
      if (r.kind != RecordKind::action || r.action_op() != Op::read || r.outcome != Outcome::ok) continue;
      reads.push_back(r.n());
      QVERIFY(r.peer_id() != 0);
      QCOMPARE(info->peers.at(r.peer_id()), sender);
    }
    QCOMPARE(reads, sizes);
  }

  // Behaviour 3, edge-triggered: --reaction none accepts the stream and leaves it unread;
  // each of two arrivals is one readable event (a second connection, accepted after them,
  // is the witness that no third came).
  void listenNoneEdgeOneEventPerArrival() {
    App app({"--listen", "127.0.0.1:0", "--reaction", "none", "--verbose"});
    const auto addr = net::SocketAddr::parse(app.firstSource().toStdString());
    QVERIFY(addr && addr->port() != 0);
    auto client = plain_connect(*addr);
    QVERIFY_OK(client);
    QVERIFY2(app.waitFor([](const QStringList& ls) { return acceptedStreams(ls).size() == 1; }),
             "the listener accepted nobody");
    const QString stream = acceptedStreams(app.lines).front();
    QVERIFY_OK(plain_send(client->get(), bytes("0123456789")));
    QVERIFY(app.waitFor([&](const QStringList& ls) { return readableEvents(ls, stream) >= 1; }));
    QVERIFY_OK(plain_send(client->get(), bytes("abc")));
    QVERIFY(app.waitFor([&](const QStringList& ls) { return readableEvents(ls, stream) >= 2; }));
    auto witness = plain_connect(*addr);
    QVERIFY_OK(witness);
    QVERIFY(app.waitFor([](const QStringList& ls) { return acceptedStreams(ls).size() == 2; }));
    QCOMPARE(readableEvents(app.lines, stream), 2);
    QCOMPARE(app.stop(), 0);
  }

  // Behaviour 3, level-triggered: the unread bytes make the event refire.
  void listenNoneLevelRefires() {
    App app({"--listen", "127.0.0.1:0", "--reaction", "none", "--mode", "level", "--verbose"});
    const auto addr = net::SocketAddr::parse(app.firstSource().toStdString());
    QVERIFY(addr && addr->port() != 0);
    auto client = plain_connect(*addr);
    QVERIFY_OK(client);
    QVERIFY2(app.waitFor([](const QStringList& ls) { return acceptedStreams(ls).size() == 1; }),
             "the listener accepted nobody");
    const QString stream = acceptedStreams(app.lines).front();
    QVERIFY_OK(plain_send(client->get(), bytes("0123456789")));
    QVERIFY(app.waitFor([&](const QStringList& ls) { return readableEvents(ls, stream) >= 3; }));
    QCOMPARE(app.stop(), 0);
  }

  // Behaviour 4: a connect in progress (the listener's queue is full, so the SYN is dropped)
  // names its target on stdout and in every source line of the recording.
  void connectNamesItsPeer() {
    const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    QVERIFY(lfd >= 0);
    const OwnedFd listener(lfd);
    const net::SocketAddr any = net::SocketAddr::loopback_v4(0);
    QCOMPARE(::bind(lfd, any.as_sockaddr(), any.len()), 0);
    QCOMPARE(::listen(lfd, 0), 0);
    const net::SocketAddr target = local_address(lfd);
    auto filler = plain_connect(target);  // fills the accept queue
    QVERIFY_OK(filler);

    QTemporaryDir dir;
    const QString rec = dir.filePath(QStringLiteral("connect.jsonl"));
    const QString want = QString::fromStdString(target.to_string());
    App app({"--connect", want, "--record", rec});
    const QString where = app.firstSource();  // "token 1: ... fd N: LOCAL -> PEER"
    QVERIFY2(where.endsWith(QStringLiteral(" -> ") + want), qPrintable(where));
    QCOMPARE(app.stop(), 0);

    int sourceLines = 0;
    for (const QJsonObject& o : jsonLines(rec)) {
      if (o.value(QStringLiteral("type")).toString() != QLatin1String("source")) continue;
      ++sourceLines;
      QCOMPARE(o.value(QStringLiteral("peer")).toString(), want);
    }
    QCOMPARE(sourceLines, 2);  // added, removed
  }
};

QTEST_GUILESS_MAIN(TestCliNewUser)
#include "tst_cli_new_user.moc"
