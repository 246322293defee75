// The inspector on a real engine: payload shown per direction, the send box (text, hex,
// bad hex), the buttons each kind gets and the commands they submit.
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTest>
#include <QThreadPool>

#include "session/bridge.h"
#include "session/capture_session.h"
#include "models/hex.h"
#include "panels/inspector.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::ui;
using capture::SourceKind;
using A = InspectorAction;

Q_DECLARE_METATYPE(capture::SourceKind)
Q_DECLARE_METATYPE(std::vector<ready::ui::InspectorAction>)

namespace {

std::unique_ptr<Bridge> start_bridge(capture::EngineConfig config = {}) {
  auto b = Bridge::start(config, {});
  if (!b) qFatal("Bridge::start: %s", b.error().message().c_str());
  return std::move(*b);
}

/// True once the store holds a record of `kind` for `token` (with op `op` for actions).
bool has_record(const Bridge& bridge, std::uint64_t token, capture::RecordKind kind,
                std::optional<capture::Op> op = std::nullopt, capture::Outcome outcome = capture::Outcome::ok) {
  const auto& s = bridge.store();
  for (std::uint64_t i = s.begin_index(); i < s.end_index(); ++i) {
    const auto r = s.at(i);
    if (r.token != token || r.kind != kind) continue;
    if (!op) return true;
    if (r.op == static_cast<std::uint8_t>(*op) && r.outcome == outcome) return true;
  }
  return false;
}

void send_line(Inspector& in, const QString& text) {
  in.sendEdit()->clear();
  QTest::keyClicks(in.sendEdit(), text);
  QTest::keyClick(in.sendEdit(), Qt::Key_Return);
}

}  // namespace

class TestInspector : public ready::test::CoreTest {
  Q_OBJECT

  struct Pair {
    std::unique_ptr<Bridge> bridge;
    capture::Ticket ticket;
    std::unique_ptr<ready::ui::CaptureSession> session = std::make_unique<ready::ui::CaptureSession>(*bridge);
  };

  /// A socketpair whose ends drain whatever arrives, so a write on one shows up as payload in
  /// on the other without a button press.
  static Pair draining_pair(capture::EngineConfig config = {}) {
    Pair p{start_bridge(config), {}};
    capture::SourceOptions o;
    o.reaction.kind = capture::Reaction::drain;
    auto t = p.bridge->submit(capture::cmd::SocketPair{o});
    if (!t) qFatal("submit");
    p.ticket = *t;
    return p;
  }

  /// An inspector on each end of `p` (a: token, b: token2), both following the bridge's
  /// frames, set once the pair exists; false if it never appeared.
  struct Ends {
    std::unique_ptr<Inspector> a, b;
  };
  static bool watch_ends(Pair& p, Ends& e) {
    e.a = std::make_unique<Inspector>(*p.session);
    e.b = std::make_unique<Inspector>(*p.session);
    connect(p.bridge.get(), &Bridge::frame, e.a.get(), &Inspector::onFrame);
    connect(p.bridge.get(), &Bridge::frame, e.b.get(), &Inspector::onFrame);
    if (!QTest::qWaitFor([&] { return has_record(*p.bridge, p.ticket.token2.value, capture::RecordKind::source_added); },
                         10000))
      return false;
    e.a->setSource(p.ticket.token.value, SourceKind::unix_stream, QStringLiteral("a"));
    e.b->setSource(p.ticket.token2.value, SourceKind::unix_stream, QStringLiteral("b"));
    return true;
  }

 private slots:
  void parseHex_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QByteArray>("bytes");  // empty: an error is expected
    QTest::newRow("pairs") << "68 69" << QByteArray("hi");
    QTest::newRow("packed") << "6869" << QByteArray("hi");
    QTest::newRow("upper, 0x") << "0x4A 0X4b" << QByteArray("JK");
    QTest::newRow("tabs") << "\t00\tff " << QByteArray("\x00\xff", 2);
    QTest::newRow("zz") << "zz" << QByteArray();
    QTest::newRow("odd") << "686" << QByteArray();
    QTest::newRow("split pair") << "6 8" << QByteArray();
    QTest::newRow("empty") << "" << QByteArray();
    QTest::newRow("only 0x") << "0x" << QByteArray();
  }

  void parseHex() {
    QFETCH(QString, text);
    QFETCH(QByteArray, bytes);
    const HexParse p = parse_hex(text);
    if (bytes.isEmpty()) {
      QVERIFY(!p.bytes);
      QVERIFY(!p.error.isEmpty());
    } else {
      QVERIFY2(p.bytes, qPrintable(p.error));
      QCOMPARE(*p.bytes, bytes);
    }
  }

  void sendTextShowsAsIncomingOnThePeer() {
    auto p = draining_pair();
    Ends ends;
    QVERIFY(watch_ends(p, ends));
    Inspector& a = *ends.a;
    Inspector& b = *ends.b;

    QSignalSpy sent(&a, &Inspector::submitted);
    send_line(a, QStringLiteral("hello"));
    QCOMPARE(sent.count(), 1);
    QVERIFY(a.sendEdit()->text().isEmpty());

    QTRY_COMPARE_WITH_TIMEOUT(b.totals().bytes_in, std::uint64_t{5}, 10000);
    QCOMPARE(b.totals().bytes_out, std::uint64_t{0});
    QVERIFY2(b.payloadText().contains(QStringLiteral("hello")), qPrintable(b.payloadText()));
    QVERIFY2(b.payloadText().contains(QStringLiteral("in   5 B")), qPrintable(b.payloadText()));
    QVERIFY(b.payloadText().contains(QStringLiteral("68 65 6c 6c 6f")));
    // The writer's own view shows the same bytes going out.
    QTRY_COMPARE_WITH_TIMEOUT(a.totals().bytes_out, std::uint64_t{5}, 10000);
    QCOMPARE(a.totals().bytes_in, std::uint64_t{0});
    QVERIFY2(a.payloadText().contains(QStringLiteral("out  5 B")), qPrintable(a.payloadText()));
  }

  void hexModeSendsTheBytes() {
    auto p = draining_pair();
    Ends ends;
    QVERIFY(watch_ends(p, ends));
    Inspector& a = *ends.a;
    Inspector& b = *ends.b;

    a.setHexMode(true);
    send_line(a, QStringLiteral("00 ff 0x41 4a"));
    QVERIFY(a.sendError().isEmpty());
    QTRY_COMPARE_WITH_TIMEOUT(b.totals().bytes_in, std::uint64_t{4}, 10000);
    QVERIFY2(b.payloadText().contains(QStringLiteral("00 ff 41 4a")), qPrintable(b.payloadText()));
    QVERIFY2(b.payloadText().contains(QStringLiteral("..AJ")), qPrintable(b.payloadText()));
  }

  void badHexSendsNothing() {
    auto p = draining_pair();
    Ends ends;
    QVERIFY(watch_ends(p, ends));
    Inspector& a = *ends.a;
    Inspector& b = *ends.b;

    QSignalSpy sent(&a, &Inspector::submitted);
    a.setHexMode(true);
    QTest::keyClicks(a.sendEdit(), QStringLiteral("zz"));
    QVERIFY2(a.sendError().contains(QStringLiteral("not a hex digit")), qPrintable(a.sendError()));
    QTest::keyClick(a.sendEdit(), Qt::Key_Return);
    QCOMPARE(sent.count(), 0);
    QCOMPARE(a.sendEdit()->text(), QStringLiteral("zz"));  // kept, so it can be corrected
    send_line(a, QStringLiteral("6"));                       // an odd digit count
    QVERIFY(!a.sendError().isEmpty());
    QCOMPARE(sent.count(), 0);

    // Commands run in order: had anything gone out above, it would arrive before these 2 bytes.
    a.setHexMode(false);
    QVERIFY(a.sendError().isEmpty());
    a.sendEdit()->clear();
    QTest::keyClick(a.sendEdit(), Qt::Key_Return);  // nothing typed: nothing to send
    QVERIFY(!a.sendError().isEmpty());
    QCOMPARE(sent.count(), 0);
    send_line(a, QStringLiteral("ok"));
    QVERIFY(a.sendError().isEmpty());
    QCOMPARE(sent.count(), 1);
    QTRY_VERIFY_WITH_TIMEOUT(b.payloadText().contains(QStringLiteral("ok")), 10000);
    QCOMPARE(b.totals().bytes_in, std::uint64_t{2});
    QCOMPARE(b.totals().chunks, std::uint64_t{1});
  }

  void evictedBytesAreAnnounced() {
    capture::EngineConfig config;
    config.payload_bytes_per_source = 1024;
    auto p = draining_pair(config);
    Inspector b(*p.session);
    connect(p.bridge.get(), &Bridge::frame, &b, &Inspector::onFrame);
    QTRY_VERIFY_WITH_TIMEOUT(has_record(*p.bridge, p.ticket.token2.value, capture::RecordKind::source_added), 10000);
    b.setSource(p.ticket.token2.value, SourceKind::unix_stream, QStringLiteral("b"));
    // Written from the engine side (not through the inspector): 3 x 1000 bytes.
    for (int i = 0; i < 3; ++i)
      QVERIFY(p.bridge->submit(capture::cmd::Write{p.ticket.token, std::string(1000, 'a' + i)}));
    QTRY_VERIFY_WITH_TIMEOUT(b.totals().evicted > 0, 10000);
    bool announced = false;
    for (const QLabel* l : b.findChildren<QLabel*>())
      if (l->isVisibleTo(&b) && l->text().contains(QStringLiteral("earlier bytes evicted: 1 KiB bound"))) announced = true;
    QVERIFY(announced);
    QVERIFY(b.totals().bytes_in <= 3000);
    QTRY_VERIFY_WITH_TIMEOUT(b.payloadText().contains(QStringLiteral("ccc")), 10000);
  }

  void buttonSetsPerKind_data() {
    QTest::addColumn<SourceKind>("kind");
    QTest::addColumn<std::vector<InspectorAction>>("expected");
    const std::vector<A> stream{A::read, A::drain, A::write, A::fill, A::shutdown_read, A::shutdown_write, A::rearm, A::close};
    const std::vector<A> listener{A::accept, A::rearm, A::close};
    const std::vector<A> datagram{A::read, A::drain, A::write, A::rearm, A::close};
    QTest::newRow("tcp_stream") << SourceKind::tcp_stream << stream;
    QTest::newRow("unix_stream") << SourceKind::unix_stream << stream;
    QTest::newRow("tcp_listener") << SourceKind::tcp_listener << listener;
    QTest::newRow("unix_listener") << SourceKind::unix_listener << listener;
    QTest::newRow("udp") << SourceKind::udp << datagram;
    QTest::newRow("unix_datagram") << SourceKind::unix_datagram << datagram;
    QTest::newRow("pipe_sender") << SourceKind::pipe_sender << std::vector<A>{A::write, A::fill, A::rearm, A::close};
    QTest::newRow("pipe_receiver") << SourceKind::pipe_receiver << std::vector<A>{A::read, A::drain, A::rearm, A::close};
    QTest::newRow("eventfd") << SourceKind::eventfd
                             << std::vector<A>{A::eventfd_write, A::eventfd_read, A::rearm, A::close};
    QTest::newRow("timerfd") << SourceKind::timerfd
                             << std::vector<A>{A::read, A::timer_arm, A::timer_disarm, A::rearm, A::close};
  }

  void buttonSetsPerKind() {
    QFETCH(SourceKind, kind);
    QFETCH(std::vector<InspectorAction>, expected);
    auto bridge = start_bridge();
    ready::ui::CaptureSession session(*bridge);
    Inspector in(session);
    QVERIFY(in.visibleActions().empty());
    in.setSource(42, kind, QStringLiteral("x"));
    QCOMPARE(in.visibleActions(), expected);  // visibleActions lists in enum order
    QCOMPARE(in.sendEdit()->isVisibleTo(&in), std::ranges::find(expected, A::write) != expected.end());
    in.setSource(0, kind, {});
    QVERIFY(in.visibleActions().empty());
  }

  void buttonsSubmitTheirCommands() {
    auto bridge = start_bridge();
    ready::ui::CaptureSession session(*bridge);
    Inspector in(session);
    connect(bridge.get(), &Bridge::frame, &in, &Inspector::onFrame);
    auto t = bridge->submit(capture::cmd::EventFdCreate{});
    QVERIFY(t);
    const std::uint64_t token = t->token.value;
    QTRY_VERIFY_WITH_TIMEOUT(has_record(*bridge, token, capture::RecordKind::source_added), 10000);
    in.setSource(token, SourceKind::eventfd, QStringLiteral("eventfd"));

    QTest::mouseClick(in.button(A::eventfd_write), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(has_record(*bridge, token, capture::RecordKind::action, capture::Op::eventfd_write), 10000);
    QTest::mouseClick(in.button(A::eventfd_read), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(has_record(*bridge, token, capture::RecordKind::action, capture::Op::eventfd_read), 10000);
    // The counter was emptied by that read: a second read would block.
    QTest::mouseClick(in.button(A::eventfd_read), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(has_record(*bridge, token, capture::RecordKind::action, capture::Op::eventfd_read,
                                        capture::Outcome::would_block),
                             10000);
    QTest::mouseClick(in.button(A::close), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(has_record(*bridge, token, capture::RecordKind::source_removed), 10000);
  }

  void timerButtonsArmAndRead() {
    auto bridge = start_bridge();
    ready::ui::CaptureSession session(*bridge);
    Inspector in(session);
    auto t = bridge->submit(capture::cmd::TimerFdCreate{});
    QVERIFY(t);
    const std::uint64_t token = t->token.value;
    QTRY_VERIFY_WITH_TIMEOUT(has_record(*bridge, token, capture::RecordKind::source_added), 10000);
    in.setSource(token, SourceKind::timerfd, QStringLiteral("timerfd"));
    QTest::mouseClick(in.button(A::timer_arm), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(has_record(*bridge, token, capture::RecordKind::action, capture::Op::timer_arm), 10000);
    // The first expiry (100 ms by default) makes it readable.
    QTRY_VERIFY_WITH_TIMEOUT(has_record(*bridge, token, capture::RecordKind::readiness), 10000);
    QTest::mouseClick(in.button(A::read), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(has_record(*bridge, token, capture::RecordKind::action, capture::Op::read), 10000);
    QTest::mouseClick(in.button(A::timer_disarm), Qt::LeftButton);
    QTRY_VERIFY_WITH_TIMEOUT(has_record(*bridge, token, capture::RecordKind::action, capture::Op::timer_disarm), 10000);
  }

  void grabBothPalettes() {
    auto p = draining_pair();
    Inspector a(*p.session), b(*p.session);
    connect(p.bridge.get(), &Bridge::frame, &b, &Inspector::onFrame);
    connect(p.bridge.get(), &Bridge::frame, &a, &Inspector::onFrame);
    QTRY_VERIFY_WITH_TIMEOUT(has_record(*p.bridge, p.ticket.token2.value, capture::RecordKind::source_added), 10000);
    a.setSource(p.ticket.token.value, SourceKind::unix_stream, QStringLiteral("unix_stream (socketpair end 1)"));
    b.setSource(p.ticket.token2.value, SourceKind::unix_stream, QStringLiteral("unix_stream (socketpair end 2)"));
    send_line(a, QStringLiteral("hello, readiness! GET / HTTP/1.1"));
    QTRY_COMPARE_WITH_TIMEOUT(b.totals().bytes_in, std::uint64_t{32}, 10000);
    QVERIFY(p.bridge->submit(capture::cmd::Write{p.ticket.token2, "reply\n"}));
    QTRY_COMPARE_WITH_TIMEOUT(b.totals().bytes_out, std::uint64_t{6}, 10000);
    b.setHexMode(true);
    QTest::keyClicks(b.sendEdit(), QStringLiteral("48 zz"));  // the inline error shows in the grab
    QVERIFY(!b.sendError().isEmpty());
    b.resize(760, 420);
    for (const bool dark : {false, true}) {
      QPalette pal;
      if (dark) {
        pal.setColor(QPalette::Window, QColor(0x2b, 0x2b, 0x2b));
        pal.setColor(QPalette::Base, QColor(0x1e, 0x1e, 0x1e));
        pal.setColor(QPalette::Text, Qt::white);
        pal.setColor(QPalette::WindowText, Qt::white);
        pal.setColor(QPalette::Button, QColor(0x3c, 0x3c, 0x3c));
        pal.setColor(QPalette::ButtonText, Qt::white);
        pal.setColor(QPalette::PlaceholderText, QColor(0x9a, 0x9a, 0x9a));
      }
      b.setPalette(pal);
      const QImage img = b.grab().toImage();
      QVERIFY(!img.isNull());
      const QString out = qEnvironmentVariable("READY_GRAB_DIR");
      if (!out.isEmpty()) img.save(out + (dark ? QStringLiteral("/inspector-dark.png") : QStringLiteral("/inspector-light.png")));
    }
    // Large fills are painted by Qt's thread pool, whose threads hold an eventfd each until
    // they expire: end them, or the fd check would count them.
    QThreadPool::globalInstance()->waitForDone();
  }
};

QTEST_MAIN(TestInspector)
#include "tst_inspector.moc"
