// The Follow stream panel on a real relay: a plain client and server on loopback talk
// through cmd::Relay in a live CaptureSession; the panel shows their conversation (headers,
// text, hex), its counts, finds text and saves one direction's raw bytes. In the window, a
// real HTTP exchange (python3 -m http.server behind the relay, curl in front) fills the
// panel of the selected connection; the window is grabbed to a PNG (READY_FOLLOW_PNG names
// where, for the docs; otherwise a temporary file).
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include "panels/follow_panel.h"
#include "models/source_table.h"
#include "peer.h"
#include "ready/capture/follow.h"
#include "session/bridge.h"
#include "session/capture_session.h"
#include "window_test_util.h"

using namespace ready;
using namespace ready::ui;
using namespace ready::test;
using capture::Direction;

namespace {

constexpr int kWaitMs = 10000;

QByteArray read_exactly(int fd, qsizetype n) {
  QByteArray out(n, '\0');
  qsizetype got = 0;
  while (got < n) {
    auto r = plain_recv(fd, std::as_writable_bytes(std::span(out.data() + got, static_cast<std::size_t>(n - got))));
    if (!r || *r == 0) break;
    got += static_cast<qsizetype>(*r);
  }
  out.truncate(got);
  return out;
}

bool send_all(int fd, const QByteArray& data) {
  const auto bytes = std::as_bytes(std::span(data.constData(), static_cast<std::size_t>(data.size())));
  for (std::size_t at = 0; at < bytes.size();) {
    auto r = plain_send(fd, bytes.subspan(at));
    if (!r) return false;
    at += *r;
  }
  return true;
}

/// The first source_added token whose related() is `parent` (0: none yet).
std::uint64_t child_of(const CaptureSession& s, std::uint64_t parent) {
  for (const SourceRow& r : s.sources().rows())
    if (r.related == parent) return r.token;
  return 0;
}

/// The chunk headers of a follow view's text: (mark, length, from, to) per header line.
struct Header {
  QChar mark;
  qulonglong length, from, to;
};
std::vector<Header> headers(const QString& text) {
  static const QRegularExpression re(QStringLiteral("^([<>]) \\d+\\.\\d{6} s  length=(\\d+) from=(\\d+) to=(\\d+)$"),
                                     QRegularExpression::MultilineOption);
  std::vector<Header> out;
  for (auto it = re.globalMatch(text); it.hasNext();) {
    const auto m = it.next();
    out.push_back({m.captured(1).at(0), m.captured(2).toULongLong(), m.captured(3).toULongLong(),
                   m.captured(4).toULongLong()});
  }
  return out;
}

/// Checks that the headers of each direction add up: offsets run on, lengths sum to `in` / `out`.
bool headers_add_up(const QString& text, qulonglong in, qulonglong out) {
  qulonglong seen_in = 0, seen_out = 0;
  for (const Header& h : headers(text)) {
    qulonglong& seen = h.mark == QLatin1Char('>') ? seen_in : seen_out;
    if (h.from != seen || h.to != h.from + h.length - 1) return false;
    seen += h.length;
  }
  return seen_in == in && seen_out == out;
}

}  // namespace

class TestFollowPanel : public CoreTest {
  Q_OBJECT

  QTemporaryDir m_settings;

 private slots:
  void initTestCase() { QVERIFY(prepare_window_suite(QStringLiteral("tst_follow_panel"), m_settings.path())); }

  // A request and its answer through a relay: the panel shows both, in order, with headers
  // whose lengths and offsets add up, the counts, hex, search and the saved bytes.
  void conversationOfARelayedConnection() {
    auto bridge = Bridge::start({}, {});
    QVERIFY_OK(bridge);
    CaptureSession session(std::move(*bridge));
    FollowPanel panel(session);
    panel.resize(700, 500);
    panel.show();
    connect(&session, &CaptureSession::frameDelivered, &panel, &FollowPanel::onFrame);

    auto up = plain_listener(any_local_address());
    QVERIFY_OK(up);
    auto upstream = capture::RelayEndpoint::parse(local_address(up->get()).to_string());
    QVERIFY(upstream);
    auto t = session.submit(capture::cmd::Relay{capture::RelayEndpoint{any_local_address(), {}}, *upstream});
    QVERIFY_OK(t);
    const std::uint64_t listener = t->token.value;
    QTRY_VERIFY_WITH_TIMEOUT(session.sources().find(listener) && !session.sources().find(listener)->local.empty(), kWaitMs);
    auto addr = net::SocketAddr::parse(session.sources().find(listener)->local);
    QVERIFY(addr);
    auto client = plain_connect(*addr);
    QVERIFY_OK(client);
    auto server = plain_accept(up->get());
    QVERIFY_OK(server);

    // Nothing to follow on the listener itself.
    panel.setSource(listener);
    QCOMPARE(panel.connection(), std::uint64_t{0});

    std::uint64_t client_leg = 0, upstream_leg = 0;
    QTRY_VERIFY_WITH_TIMEOUT((client_leg = child_of(session, listener)) != 0 &&
                                 (upstream_leg = child_of(session, client_leg)) != 0,
                             kWaitMs);
    panel.setSource(upstream_leg);  // either leg names the connection
    QCOMPARE(panel.connection(), client_leg);
    // The title names the three addresses: the client's, the relay's and the upstream's.
    const QString title = QStringLiteral("Connection #%1: client %2 → relay %3 → upstream %4")
                              .arg(client_leg)
                              .arg(QString::fromStdString(local_address(client->get()).to_string()),
                                   QString::fromStdString(addr->to_string()),
                                   QString::fromStdString(local_address(up->get()).to_string()));
    QTRY_COMPARE_WITH_TIMEOUT(panel.findChild<QLabel*>(QStringLiteral("followTitle"))->text(), title, kWaitMs);

    const QByteArray request("GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n");
    const QByteArray response("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nhello\tworld\n");
    QVERIFY(send_all(client->get(), request));
    QCOMPARE(read_exactly(server->get(), request.size()), request);
    QVERIFY(send_all(server->get(), response));
    QCOMPARE(read_exactly(client->get(), response.size()), response);

    QTRY_VERIFY_WITH_TIMEOUT(panel.conversation().bytes(Direction::in) == qulonglong(request.size()) &&
                                 panel.conversation().bytes(Direction::out) == qulonglong(response.size()),
                             kWaitMs);
    // Selecting the client leg keeps the same conversation.
    panel.setSource(client_leg);
    QCOMPARE(panel.conversation().bytes(Direction::in), qulonglong(request.size()));

    const QString text = panel.text();
    QVERIFY2(headers_add_up(text, request.size(), response.size()), qPrintable(text));
    const auto hs = headers(text);
    QVERIFY(!hs.empty());
    QCOMPARE(hs.front().mark, QLatin1Char('>'));  // the client spoke first
    QCOMPARE(hs.back().mark, QLatin1Char('<'));
    // socat -v text: the request line with its CR spelled out, the tab in the body too.
    const QByteArray firstLine = request.left(request.indexOf('\n') + 1);
    QVERIFY(text.contains(QString::fromStdString(capture::follow_text(std::as_bytes(std::span(firstLine.constData(), static_cast<std::size_t>(firstLine.size())))))));
    QVERIFY(text.contains(QStringLiteral("hello\\tworld")));
    QVERIFY(panel.countsText().contains(QString::number(request.size()) + QStringLiteral(" B")));
    QVERIFY(panel.countsText().contains(QString::number(response.size()) + QStringLiteral(" B")));

    // Search: the next match is selected; past the last one it starts again from the top.
    QVERIFY(panel.findNext(QStringLiteral("Content-Length")));
    QCOMPARE(panel.selectedText(), QStringLiteral("Content-Length"));
    QVERIFY(panel.findNext(QStringLiteral("HTTP/1.")));
    const int firstAt = panel.findChild<QPlainTextEdit*>(QStringLiteral("followView"))->textCursor().position();
    QVERIFY(panel.findNext(QStringLiteral("HTTP/1.")));
    QVERIFY(panel.findChild<QPlainTextEdit*>(QStringLiteral("followView"))->textCursor().position() > firstAt);
    QVERIFY(panel.findNext(QStringLiteral("HTTP/1.")));  // wrapped to the first again
    QCOMPARE(panel.findChild<QPlainTextEdit*>(QStringLiteral("followView"))->textCursor().position(), firstAt);
    QVERIFY(!panel.findNext(QStringLiteral("not in the bytes")));

    // Hex: hexdump -C lines from offset 0 of each direction; the headers stay.
    panel.setHex(true);
    QVERIFY(panel.isHex());
    const QString hex = panel.text();
    QVERIFY(headers_add_up(hex, request.size(), response.size()));
    const QString firstHex = QStringLiteral("00000000  ") + QString::fromLatin1(request.left(4).toHex(' ')) + QLatin1Char(' ');
    QVERIFY2(hex.contains(firstHex), qPrintable(hex));
    QVERIFY(hex.contains(QStringLiteral("|GET /hello.txt H")));
    QVERIFY(!hex.contains(QStringLiteral("\\r")));
    panel.setHex(false);
    QCOMPARE(panel.text(), text);

    // Saved bytes are the raw bytes of one direction.
    QTemporaryDir dir;
    const QString in_path = dir.filePath(QStringLiteral("c2s.bin"));
    const QString out_path = dir.filePath(QStringLiteral("s2c.bin"));
    QVERIFY(panel.saveDirection(Direction::in, in_path));
    QVERIFY(panel.saveDirection(Direction::out, out_path));
    QFile in_file(in_path), out_file(out_path);
    QVERIFY(in_file.open(QIODevice::ReadOnly) && out_file.open(QIODevice::ReadOnly));
    QCOMPARE(in_file.readAll(), request);
    QCOMPARE(out_file.readAll(), response);
    QString error;
    QVERIFY(!panel.saveDirection(Direction::in, dir.filePath(QStringLiteral("no/such/dir/x.bin")), &error));
    QVERIFY(!error.isEmpty());

    // Hidden, it fetches nothing; shown again it catches up.
    panel.hide();
    const QByteArray more("second request\n");
    QVERIFY(send_all(client->get(), more));
    QCOMPARE(read_exactly(server->get(), more.size()), more);
    QTest::qWait(100);
    QCOMPARE(panel.conversation().bytes(Direction::in), qulonglong(request.size()));
    panel.show();
    QTRY_COMPARE_WITH_TIMEOUT(panel.conversation().bytes(Direction::in), qulonglong(request.size() + more.size()), kWaitMs);
    QVERIFY(headers_add_up(panel.text(), request.size() + more.size(), response.size()));

    client->reset();
    server->reset();
    up->reset();
    session.stop();
  }

  // python3 -m http.server behind a relay, curl in front: the window's Follow stream panel
  // shows the real exchange for the selected leg, its response ending with the served file.
  void windowShowsAnHttpExchange() {
    const QString python = QStandardPaths::findExecutable(QStringLiteral("python3"));
    const QString curl = QStandardPaths::findExecutable(QStringLiteral("curl"));
    if (python.isEmpty() || curl.isEmpty()) QSKIP("needs python3 and curl on PATH");
    QTemporaryDir root;
    const QByteArray body("Hello through the relay!\r\nSecond line\twith a tab.\n");
    {
      QFile f(root.filePath(QStringLiteral("hello.txt")));
      QVERIFY(f.open(QIODevice::WriteOnly) && f.write(body) == body.size());
    }
    QProcess server;
    server.setProcessChannelMode(QProcess::MergedChannels);
    server.start(python, {QStringLiteral("-u"), QStringLiteral("-m"), QStringLiteral("http.server"), QStringLiteral("0"),
                          QStringLiteral("--bind"), QStringLiteral("127.0.0.1"), QStringLiteral("--directory"), root.path()});
    QVERIFY(server.waitForStarted());
    QByteArray banner;
    static const QRegularExpression port_re(QStringLiteral("port (\\d+)"));
    QTRY_VERIFY_WITH_TIMEOUT((banner += server.readAll(), port_re.match(QString::fromUtf8(banner)).hasMatch()), kWaitMs);
    const QString port = port_re.match(QString::fromUtf8(banner)).captured(1);

    {
      auto bridge = Bridge::start({}, {});
      QVERIFY_OK(bridge);
      MainWindow w(std::move(*bridge));
      w.resize(1500, 860);
      w.show();
      QVERIFY(QTest::qWaitForWindowExposed(&w));
      CaptureSession& session = w.session();
      auto t = session.submit(capture::cmd::Relay{capture::RelayEndpoint{any_local_address(), {}},
                                                  *capture::RelayEndpoint::parse(("127.0.0.1:" + port).toStdString())});
      QVERIFY_OK(t);
      const std::uint64_t listener = t->token.value;
      QTRY_VERIFY_WITH_TIMEOUT(session.sources().find(listener) && !session.sources().find(listener)->local.empty(), kWaitMs);
      const QString url = QStringLiteral("http://%1/hello.txt").arg(QString::fromStdString(session.sources().find(listener)->local));

      QProcess client;
      client.start(curl, {QStringLiteral("-s"), QStringLiteral("--max-time"), QStringLiteral("10"), url});
      QVERIFY(client.waitForStarted());
      QTRY_VERIFY_WITH_TIMEOUT(client.state() == QProcess::NotRunning, kWaitMs);
      QCOMPARE(client.exitCode(), 0);
      QCOMPARE(client.readAllStandardOutput(), body);

      std::uint64_t client_leg = 0, upstream_leg = 0;
      QTRY_VERIFY_WITH_TIMEOUT((client_leg = child_of(session, listener)) != 0 &&
                                   (upstream_leg = child_of(session, client_leg)) != 0,
                               kWaitMs);
      w.selectSource(upstream_leg);
      QAction* act = w.findChild<QAction*>(QStringLiteral("actionFollowStream"));
      QVERIFY(act);
      QCOMPARE(act->shortcut(), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_F));
      act->trigger();
      FollowPanel* panel = w.followPanel();
      QTRY_VERIFY_WITH_TIMEOUT(panel->isVisible(), kWaitMs);
      QCOMPARE(panel->connection(), client_leg);
      // Both legs closed once http.server closed: everything is in the payload by then.
      QTRY_VERIFY_WITH_TIMEOUT(panel->countsText().contains(QStringLiteral("closed")), kWaitMs);
      const QByteArray sent = panel->directionBytes(Direction::in);
      const QByteArray received = panel->directionBytes(Direction::out);
      QVERIFY2(sent.startsWith("GET /hello.txt HTTP/1.1\r\n"), sent.constData());
      QVERIFY(sent.endsWith("\r\n\r\n"));
      QVERIFY(received.startsWith("HTTP/1.0 200 OK\r\n"));
      QVERIFY(received.endsWith(body));
      QVERIFY(headers_add_up(panel->text(), sent.size(), received.size()));
      const SourceRow* leg = session.sources().find(client_leg);
      QVERIFY(leg);
      QCOMPARE(qulonglong(leg->bytes_in), qulonglong(sent.size()));  // the leg's read actions agree

      QVERIFY(panel->findNext(QStringLiteral("Content-Length")));
      QTest::qWait(50);
      const QImage shot = w.grab().toImage();
      QVERIFY(!shot.isNull());
      const QString png = qEnvironmentVariableIsSet("READY_FOLLOW_PNG") ? qEnvironmentVariable("READY_FOLLOW_PNG")
                                                                         : root.filePath(QStringLiteral("follow.png"));
      QVERIFY(shot.save(png));
      qInfo("window with the Follow stream panel: %s", qPrintable(png));
      // The same in the dark theme (to look at: the two direction colours on a dark base).
      w.setTheme(Theme::dark);
      QTest::qWait(50);
      const QString dark = QString(png).replace(QStringLiteral(".png"), QStringLiteral("-dark.png"));
      QVERIFY(w.grab().toImage().save(dark));
      w.setTheme(Theme::system);
    }
    server.terminate();
    QVERIFY(server.waitForFinished(kWaitMs));
  }
};

QTEST_MAIN(TestFollowPanel)
#include "tst_follow_panel.moc"
