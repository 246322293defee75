// `readyscope --headless --relay ... --follow` against the real binary: python3's http.server
// behind the relay, a plain socket client in front; the printed chunk headers of each direction
// add up to what the client sent and received, the bodies read back to those bytes, --follow
// TOKEN picks one connection, and `--open FILE --follow` prints the same chunks from a
// recording made with --record-payload. Bad --follow values are refused before anything opens.
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <array>

#include "headless_app.h"
#include "peer.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::test;

namespace {

constexpr int kWaitMs = 20000;

/// python3 -m http.server on a free loopback port, serving `dir`.
class HttpServer {
 public:
  explicit HttpServer(const QString& dir) {
    m_p.setProcessChannelMode(QProcess::MergedChannels);
    m_p.start(QStandardPaths::findExecutable(QStringLiteral("python3")),
              {QStringLiteral("-u"), QStringLiteral("-m"), QStringLiteral("http.server"), QStringLiteral("0"),
               QStringLiteral("--bind"), QStringLiteral("127.0.0.1"), QStringLiteral("--directory"), dir});
  }
  ~HttpServer() {
    m_p.terminate();
    if (!m_p.waitForFinished(kWaitMs)) {
      m_p.kill();
      m_p.waitForFinished();
    }
  }
  /// The port it serves on, once its banner says so (0: it did not start).
  int port() {
    static const QRegularExpression re(QStringLiteral("port (\\d+)"));
    QByteArray banner;
    for (QDeadlineTimer d(kWaitMs); !d.hasExpired();) {
      banner += m_p.readAll();
      if (const auto m = re.match(QString::fromUtf8(banner)); m.hasMatch()) return m.captured(1).toInt();
      if (m_p.state() == QProcess::NotRunning) return 0;
      m_p.waitForReadyRead(200);
    }
    return 0;
  }

 private:
  QProcess m_p;
};

/// One request through the relay at `addr` ("127.0.0.1:PORT") from a plain blocking socket;
/// the response, read to the server's close.
QByteArray fetch(const QString& addr, const QByteArray& request) {
  const auto to = net::SocketAddr::parse(addr.toStdString());
  if (!to) return {};
  auto s = plain_connect(*to);
  if (!s) return {};
  const auto bytes = std::as_bytes(std::span(request.constData(), static_cast<std::size_t>(request.size())));
  for (std::size_t at = 0; at < bytes.size();) {
    auto n = plain_send(s->get(), bytes.subspan(at));
    if (!n) return {};
    at += *n;
  }
  QByteArray out;
  std::array<std::byte, 4096> buf{};
  for (;;) {
    auto n = plain_recv(s->get(), buf);
    if (!n || *n == 0) break;
    out.append(reinterpret_cast<const char*>(buf.data()), static_cast<qsizetype>(*n));
  }
  return out;
}

/// A chunk as printed: the header's fields and the body lines after it.
struct Chunk {
  QChar mark;
  qulonglong length = 0, from = 0, to = 0;
  QString connection;
  QStringList body;
};

/// The chunks of --follow's output (lines that are neither '#' lines nor the run's own
/// "readyscope:" / "token" lines belong to the chunk above them).
std::vector<Chunk> chunks(const QStringList& lines) {
  static const QRegularExpression header(
      QStringLiteral("^([<>]) \\d+\\.\\d{6} s  length=(\\d+) from=(\\d+) to=(\\d+)(?:  connection=(\\d+))?$"));
  std::vector<Chunk> out;
  bool in_chunk = false;  // a '#', "readyscope:" or "token" line ends a chunk's body
  for (const QString& l : lines) {
    if (const auto m = header.match(l); m.hasMatch()) {
      out.push_back({m.captured(1).at(0), m.captured(2).toULongLong(), m.captured(3).toULongLong(),
                     m.captured(4).toULongLong(), m.captured(5), {}});
      in_chunk = true;
    } else if (l.startsWith(QLatin1Char('#')) || l.startsWith(QLatin1String("readyscope:")) ||
               l.startsWith(QLatin1String("token "))) {
      in_chunk = false;
    } else if (in_chunk) {
      out.back().body << l;
    }
  }
  return out;
}

/// socat -v text back to bytes ("\r" "\t" "\\" "\xHH"; each body line ended with '\n' unless
/// it was the line the printer completed).
QByteArray unescape(const QString& line) {
  QByteArray out;
  const QByteArray s = line.toLatin1();
  for (qsizetype i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    const char e = s[++i];
    if (e == 'r') out += '\r';
    else if (e == 't') out += '\t';
    else if (e == '\\') out += '\\';
    else if (e == 'x') {
      out += static_cast<char>(s.mid(i + 1, 2).toInt(nullptr, 16));
      i += 2;
    }
  }
  return out;
}

/// The bytes of one direction, from text-mode chunks: each chunk's lines joined with '\n',
/// the last line's '\n' only where the chunk's length says it had one.
QByteArray text_bytes(const std::vector<Chunk>& cs, QChar mark) {
  QByteArray out;
  for (const Chunk& c : cs) {
    if (c.mark != mark) continue;
    QByteArray b;
    for (const QString& l : c.body) b += unescape(l) + '\n';
    if (qulonglong(b.size()) == c.length + 1) b.chop(1);  // the printer ended the line
    out += b;
  }
  return out;
}

/// Each direction's offsets run on from 0; the lengths add up to `in` / `out`.
bool adds_up(const std::vector<Chunk>& cs, qulonglong in, qulonglong out, QString* why) {
  qulonglong seen_in = 0, seen_out = 0;
  for (const Chunk& c : cs) {
    qulonglong& seen = c.mark == QLatin1Char('>') ? seen_in : seen_out;
    if (c.from != seen || c.to != c.from + c.length - 1) {
      *why = QStringLiteral("%1 chunk from=%2 to=%3, expected from=%4").arg(c.mark).arg(c.from).arg(c.to).arg(seen);
      return false;
    }
    seen += c.length;
  }
  *why = QStringLiteral("> %1 of %2, < %3 of %4").arg(seen_in).arg(in).arg(seen_out).arg(out);
  return seen_in == in && seen_out == out;
}

/// The listener address printed for token 1 ("token 1: --relay ... : 127.0.0.1:P -> upstream").
QString relay_address(App& app) { return app.firstSource().section(QStringLiteral(" -> "), 0, 0); }

}  // namespace

class TestCliFollow : public CoreTest {
  Q_OBJECT

  QTemporaryDir m_root;
  QByteArray m_body;

 private slots:
  void initTestCase() {
    if (QStandardPaths::findExecutable(QStringLiteral("python3")).isEmpty()) QSKIP("needs python3 (http.server)");
    m_body = QByteArray("Hello through the relay\r\n\tand a tab, a backslash \\ and a byte \x01.\n");
    QFile f(m_root.filePath(QStringLiteral("hello.txt")));
    QVERIFY(f.open(QIODevice::WriteOnly) && f.write(m_body) == m_body.size());
  }

  // --follow all: every connection, each header naming it; what the client sent and got
  // back is exactly what the headers count and the bodies spell.
  void followAllPrintsTheExchange() {
    HttpServer http(m_root.path());
    const int port = http.port();
    QVERIFY(port > 0);
    App app({QStringLiteral("--relay"), QStringLiteral("127.0.0.1:0=127.0.0.1:%1").arg(port), QStringLiteral("--follow"),
             QStringLiteral("all")});
    const QString addr = relay_address(app);
    QVERIFY2(!addr.isEmpty(), qPrintable(app.err()));
    const QByteArray request("GET /hello.txt HTTP/1.0\r\nHost: relay\r\n\r\n");
    const QByteArray response = fetch(addr, request);
    QVERIFY(response.startsWith("HTTP/1.0 200"));
    QVERIFY(response.endsWith(m_body));
    QVERIFY(app.waitFor([](const QStringList& ls) {
      return ls.filter(QRegularExpression(QStringLiteral("^# connection \\d+ closed"))).size() == 1;
    }));
    QCOMPARE(app.stop(), 0);

    const auto cs = chunks(app.lines);
    QVERIFY(!cs.empty());
    QString why;
    QVERIFY2(adds_up(cs, request.size(), response.size(), &why), qPrintable(why + "\n" + app.lines.join('\n')));
    QCOMPARE(cs.front().mark, QLatin1Char('>'));
    QVERIFY(std::all_of(cs.begin(), cs.end(), [&](const Chunk& c) { return c.connection == cs.front().connection; }));
    QVERIFY(!cs.front().connection.isEmpty());
    QCOMPARE(text_bytes(cs, QLatin1Char('>')), request);
    QCOMPARE(text_bytes(cs, QLatin1Char('<')), response);
    // The note, the opening and the closing line with the totals.
    QVERIFY(app.lines.contains(QStringLiteral("# chunks are read() boundaries, not messages: the kernel may join or "
                                              "split what a program wrote")));
    const QString closed = app.lines.filter(QRegularExpression(QStringLiteral("^# connection \\d+ closed"))).constFirst();
    QVERIFY2(closed.contains(QStringLiteral("> %1 bytes").arg(request.size())) &&
                 closed.contains(QStringLiteral("< %1 bytes").arg(response.size())),
             qPrintable(closed));
  }

  // --follow TOKEN with the upstream leg's token: only that connection, in hex, without a
  // connection name on the headers; the hex lines read back to the bytes.
  void followOneTokenInHex() {
    HttpServer http(m_root.path());
    const int port = http.port();
    QVERIFY(port > 0);
    // Tokens: the relay's listener is 1; the first connection's client leg 2, its upstream leg 3.
    App app({QStringLiteral("--relay"), QStringLiteral("127.0.0.1:0=127.0.0.1:%1").arg(port), QStringLiteral("--follow"),
             QStringLiteral("3"), QStringLiteral("--follow-format"), QStringLiteral("hex")});
    const QString addr = relay_address(app);
    QVERIFY2(!addr.isEmpty(), qPrintable(app.err()));
    const QByteArray first("GET /hello.txt HTTP/1.0\r\n\r\n");
    const QByteArray response = fetch(addr, first);
    QVERIFY(response.endsWith(m_body));
    QVERIFY(app.waitFor([](const QStringList& ls) { return !ls.filter(QStringLiteral("# connection 2 closed")).isEmpty(); }));
    const QByteArray second("GET /nothing-here HTTP/1.0\r\n\r\n");
    QVERIFY(fetch(addr, second).startsWith("HTTP/1.0 404"));
    QCOMPARE(app.stop(), 0);

    const auto cs = chunks(app.lines);
    QString why;
    QVERIFY2(adds_up(cs, first.size(), response.size(), &why), qPrintable(why));  // the second is not there
    QVERIFY(std::all_of(cs.begin(), cs.end(), [](const Chunk& c) { return c.connection.isEmpty(); }));
    static const QRegularExpression hex_line(QStringLiteral("^([0-9a-f]{8})  (.{49}) \\|(.*)\\|$"));
    QByteArray sent;
    for (const Chunk& c : cs) {
      if (c.mark != QLatin1Char('>')) continue;
      qulonglong at = c.from;
      for (const QString& l : c.body) {
        const auto m = hex_line.match(l);
        QVERIFY2(m.hasMatch(), qPrintable(l));
        QCOMPARE(m.captured(1).toULongLong(nullptr, 16), at);
        const QByteArray row = QByteArray::fromHex(m.captured(2).toLatin1());
        sent += row;
        at += row.size();
      }
    }
    QCOMPARE(sent, first);
  }

  // A recording made with --record-payload, opened with --follow all, prints the same chunks
  // (headers and bodies) as the live run did.
  void followOpenedRecording() {
    HttpServer http(m_root.path());
    const int port = http.port();
    QVERIFY(port > 0);
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("relay.jsonl"));
    App live({QStringLiteral("--relay"), QStringLiteral("127.0.0.1:0=127.0.0.1:%1").arg(port), QStringLiteral("--follow"),
              QStringLiteral("all"), QStringLiteral("--record"), file, QStringLiteral("--record-payload")});
    const QString addr = relay_address(live);
    QVERIFY2(!addr.isEmpty(), qPrintable(live.err()));
    const QByteArray request("GET /hello.txt HTTP/1.0\r\nX-Test: recorded\r\n\r\n");
    const QByteArray response = fetch(addr, request);
    QVERIFY(response.endsWith(m_body));
    QVERIFY(live.waitFor([](const QStringList& ls) { return !ls.filter(QStringLiteral(" closed: ")).isEmpty(); }));
    QCOMPARE(live.stop(), 0);

    QProcess open;
    open.start(kApp, {QStringLiteral("--headless"), QStringLiteral("--open"), file, QStringLiteral("--follow"),
                      QStringLiteral("all")});
    QVERIFY(open.waitForFinished(kProcessLimitMs));
    QCOMPARE(open.exitCode(), 0);
    QStringList opened = QString::fromLocal8Bit(open.readAllStandardOutput()).split('\n');
    if (!opened.isEmpty() && opened.constLast().isEmpty()) opened.removeLast();  // after the last '\n'
    const auto from_file = chunks(opened);
    const auto from_live = chunks(live.lines);
    QString why;
    QVERIFY2(adds_up(from_file, request.size(), response.size(), &why), qPrintable(why + "\n" + opened.join('\n')));
    QCOMPARE(from_file.size(), from_live.size());
    for (std::size_t i = 0; i < from_file.size(); ++i) {
      QCOMPARE(from_file[i].mark, from_live[i].mark);
      QCOMPARE(from_file[i].length, from_live[i].length);
      QCOMPARE(from_file[i].body, from_live[i].body);
    }
    QCOMPARE(text_bytes(from_file, QLatin1Char('>')), request);
    QCOMPARE(text_bytes(from_file, QLatin1Char('<')), response);
  }

  // Bad values and combinations: exit 2 with one line naming the problem, nothing opened.
  void badFollowIsRefused_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    const QString relay = QStringLiteral("127.0.0.1:0=127.0.0.1:9");
    QTest::newRow("not a token") << QStringList{QStringLiteral("--headless"), QStringLiteral("--relay"), relay,
                                                QStringLiteral("--follow"), QStringLiteral("abc")}
                                 << QStringLiteral("--follow");
    QTest::newRow("token 0") << QStringList{QStringLiteral("--headless"), QStringLiteral("--relay"), relay,
                                            QStringLiteral("--follow"), QStringLiteral("0")}
                             << QStringLiteral("--follow");
    QTest::newRow("bad format") << QStringList{QStringLiteral("--headless"), QStringLiteral("--relay"), relay,
                                               QStringLiteral("--follow"), QStringLiteral("all"),
                                               QStringLiteral("--follow-format"), QStringLiteral("xml")}
                                << QStringLiteral("--follow-format");
    QTest::newRow("no relay") << QStringList{QStringLiteral("--headless"), QStringLiteral("--listen"),
                                             QStringLiteral("127.0.0.1:0"), QStringLiteral("--follow"),
                                             QStringLiteral("all")}
                              << QStringLiteral("--relay");
    QTest::newRow("format alone") << QStringList{QStringLiteral("--headless"), QStringLiteral("--relay"), relay,
                                                 QStringLiteral("--follow-format"), QStringLiteral("hex")}
                                  << QStringLiteral("--follow");
    QTest::newRow("window") << QStringList{QStringLiteral("--relay"), relay, QStringLiteral("--follow"),
                                           QStringLiteral("all")}
                            << QStringLiteral("--headless");
  }
  void badFollowIsRefused() {
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    QProcess p;
    p.start(kApp, args);
    QVERIFY(p.waitForFinished(kProcessLimitMs));
    QCOMPARE(p.exitCode(), 2);
    const QString err = QString::fromLocal8Bit(p.readAllStandardError());
    QVERIFY2(err.contains(message), qPrintable(err));
    QVERIFY(p.readAllStandardOutput().isEmpty());
  }
};

QTEST_GUILESS_MAIN(TestCliFollow)
#include "tst_cli_follow.moc"
