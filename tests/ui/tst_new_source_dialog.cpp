// The new-source dialog: field validation as typed, the command built for every kind, the
// loopback rule, the remembered addresses, and that it opens no descriptor.
#include <QCheckBox>
#include <QComboBox>
#include <QCoreApplication>
#include <QLineEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>
#include <QThreadPool>
#include <QFile>

#include "panels/new_source_dialog.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::ui;
namespace cmd = ready::capture::cmd;

Q_DECLARE_METATYPE(ready::ui::SourceChoice)

namespace {

void type_into(QComboBox* box, const QString& text) {
  box->lineEdit()->clear();
  // keyClicks types Latin-1 only; other text is set as a paste would.
  bool ascii = std::all_of(text.begin(), text.end(), [](QChar c) { return c.unicode() < 0x80; });
  if (ascii) QTest::keyClicks(box->lineEdit(), text);
  else box->lineEdit()->setText(text);
}

// By value: the dialog's command() is a temporary.
template <class T>
T as(const std::optional<capture::Command>& c) {
  if (!c) qFatal("no command");
  const T* p = std::get_if<T>(&*c);
  if (!p) qFatal("the command has another type (index %zu)", c->index());
  return *p;
}

}  // namespace

class TestNewSourceDialog : public ready::test::CoreTest {
  Q_OBJECT

  QTemporaryDir m_settingsDir;

 private slots:
  void initTestCase() {
    QVERIFY(m_settingsDir.isValid());
    QCoreApplication::setOrganizationName(QStringLiteral("readyscope-test"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_new_source_dialog"));
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_settingsDir.path());
  }

  // ---- the validators, on their own ----

  void addressField_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("portZeroOk");
    QTest::addColumn<QString>("expected");  // the address, or a fragment of the error
    QTest::newRow("v4") << "127.0.0.1:4000" << true << "127.0.0.1:4000";
    QTest::newRow("v4 port 0 bind") << "127.0.0.1:0" << true << "127.0.0.1:0";
    QTest::newRow("v4 port 0 connect") << "127.0.0.1:0" << false << "Port 0 cannot be connected";
    QTest::newRow("v6") << "[::1]:80" << true << "[::1]:80";
    QTest::newRow("localhost") << "localhost:8080" << true << "127.0.0.1:8080";
    QTest::newRow("spaces trimmed") << "  127.0.0.1:1  " << true << "127.0.0.1:1";
    QTest::newRow("any") << "0.0.0.0:53" << true << "0.0.0.0:53";
    QTest::newRow("empty") << "" << true << "Enter an address";
    QTest::newRow("no port") << "127.0.0.1" << true << "Add a port";
    QTest::newRow("colon no port") << "127.0.0.1:" << true << "Add a port";
    QTest::newRow("port too big") << "127.0.0.1:65536" << true << "is not a port";
    QTest::newRow("port not a number") << "127.0.0.1:http" << true << "is not a port";
    QTest::newRow("port signed") << "127.0.0.1:+80" << true << "is not a port";
    QTest::newRow("name") << "example.com:80" << true << "not a numeric";
    QTest::newRow("bad v4") << "127.0.0.256:80" << true << "not a numeric";
    QTest::newRow("bare v6") << "::1:80" << true << "in brackets";
    QTest::newRow("v6 unclosed") << "[::1:80" << true << "closing";
    QTest::newRow("v6 no port") << "[::1]" << true << "Add a port";
  }

  void addressField() {
    QFETCH(QString, text);
    QFETCH(bool, portZeroOk);
    QFETCH(QString, expected);
    const AddressCheck c = check_address(text, portZeroOk);
    if (c.addr) {
      QVERIFY(c.error.isEmpty());
      QCOMPARE(QString::fromStdString(c.addr->to_string()), expected);
    } else {
      QVERIFY2(c.error.contains(expected), qPrintable(c.error));
    }
    // The dialog shows the same verdict inline and disables OK (TCP connect forbids port 0).
    NewSourceDialog d;
    d.setChoice(portZeroOk ? SourceChoice::tcp_listen : SourceChoice::tcp_connect);
    d.allowRemoteBox()->setChecked(true);  // this test is about the syntax, not the loopback rule
    type_into(d.addressEdit(), text);
    QCOMPARE(d.okEnabled(), c.addr.has_value());
    QCOMPARE(d.command().has_value(), c.addr.has_value());
    if (!c.addr) QVERIFY2(d.errorText().contains(expected), qPrintable(d.errorText()));
  }

  void pathField_data() {
    QTest::addColumn<SourceChoice>("choice");
    QTest::addColumn<QString>("path");
    QTest::addColumn<bool>("valid");
    QTest::newRow("listen") << SourceChoice::unix_listen << "/tmp/x.sock" << true;
    QTest::newRow("listen empty") << SourceChoice::unix_listen << "" << false;
    QTest::newRow("connect empty") << SourceChoice::unix_connect << "" << false;
    QTest::newRow("datagram empty (unbound)") << SourceChoice::unix_datagram << "" << true;
    QTest::newRow("107 bytes") << SourceChoice::unix_listen << QString(107, QLatin1Char('a')) << true;
    QTest::newRow("108 bytes") << SourceChoice::unix_connect << QString(108, QLatin1Char('a')) << false;
    QTest::newRow("multi-byte over") << SourceChoice::unix_listen << QString(54, QChar(0x00e9)) << false;
  }

  void pathField() {
    QFETCH(SourceChoice, choice);
    QFETCH(QString, path);
    QFETCH(bool, valid);
    NewSourceDialog d;
    d.setChoice(choice);
    type_into(d.pathEdit(), path);
    QCOMPARE(d.okEnabled(), valid);
    QCOMPARE(d.command().has_value(), valid);
    QCOMPARE(check_unix_path(path, choice == SourceChoice::unix_datagram).isEmpty(), valid);
  }

  void counterField_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("valid");
    QTest::newRow("0") << "0" << true;
    QTest::newRow("max") << "18446744073709551614" << true;
    QTest::newRow("2^64-1") << "18446744073709551615" << false;
    QTest::newRow("overflow") << "99999999999999999999" << false;
    QTest::newRow("negative") << "-1" << false;
    QTest::newRow("hex") << "0x10" << false;
    QTest::newRow("empty") << "" << false;
  }

  void counterField() {
    QFETCH(QString, text);
    QFETCH(bool, valid);
    NewSourceDialog d;
    d.setChoice(SourceChoice::eventfd);
    d.initialEdit()->setText(text);
    QCOMPARE(d.okEnabled(), valid);
    if (valid) QCOMPARE(as<cmd::EventFdCreate>(d.command()).initial, text.toULongLong());
  }

  void interestNeedsOne() {
    NewSourceDialog d;
    d.setChoice(SourceChoice::socketpair);
    QSignalSpy validity(&d, &NewSourceDialog::validityChanged);
    QVERIFY(d.okEnabled());
    d.readableBox()->setChecked(false);
    QVERIFY(!d.okEnabled());
    QVERIFY(d.errorText().contains(QStringLiteral("at least one interest")));
    QCOMPARE(validity.count(), 1);
    QCOMPARE(validity.at(0).at(0).toBool(), false);
    d.priorityBox()->setChecked(true);
    QVERIFY(d.okEnabled());
    QCOMPARE(as<cmd::SocketPair>(d.command()).options.interest, Interest::PRIORITY);
  }

  // ---- the command for each kind ----

  void commandPerKind() {
    NewSourceDialog d;
    d.setChoice(SourceChoice::tcp_listen);
    type_into(d.addressEdit(), QStringLiteral("127.0.0.1:4000"));
    d.triggerBox()->setCurrentIndex(d.triggerBox()->findData(static_cast<int>(Trigger::level)));
    QVERIFY(d.setReaction(capture::Reaction::echo));
    {
      const auto c = as<cmd::TcpListen>(d.command());
      QCOMPARE(c.addr.to_string(), std::string("127.0.0.1:4000"));
      QVERIFY(!c.allow_remote);
      QCOMPARE(c.options.interest, Interest::READABLE);
      QCOMPARE(c.options.trigger, Trigger::level);
      QVERIFY(c.options.reaction.kind == capture::Reaction::echo);
    }

    d.setChoice(SourceChoice::tcp_connect);
    type_into(d.addressEdit(), QStringLiteral("[::1]:9"));
    {
      const auto c = as<cmd::TcpConnect>(d.command());
      QCOMPARE(c.addr.to_string(), std::string("[::1]:9"));
      QCOMPARE(c.options.interest, Interest::READABLE | Interest::WRITABLE);  // the connect default
      QVERIFY(c.options.reaction.kind == capture::Reaction::echo);          // still offered: kept
    }
    QVERIFY(!d.setReaction(capture::Reaction::auto_accept));  // listeners only

    d.setChoice(SourceChoice::udp);
    type_into(d.addressEdit(), QStringLiteral("127.0.0.1:0"));
    QVERIFY(!d.setReaction(capture::Reaction::echo));
    QVERIFY(d.setReaction(capture::Reaction::read));
    d.readSizeBox()->setValue(512);
    QVERIFY(!as<cmd::UdpBind>(d.command()).connect);
    d.connectBox()->setChecked(true);
    QVERIFY(!d.okEnabled());  // the peer is empty
    type_into(d.peerEdit(), QStringLiteral("127.0.0.1:5353"));
    {
      const auto c = as<cmd::UdpBind>(d.command());
      QVERIFY(c.connect);
      QCOMPARE(c.connect->to_string(), std::string("127.0.0.1:5353"));
      QVERIFY(c.options.reaction.kind == capture::Reaction::read);
      QCOMPARE(c.options.reaction.n, 512u);
    }

    d.setChoice(SourceChoice::unix_listen);
    type_into(d.pathEdit(), QStringLiteral("/tmp/rs.sock"));
    QVERIFY(d.setReaction(capture::Reaction::auto_accept));
    QCOMPARE(as<cmd::UnixListen>(d.command()).path, std::string("/tmp/rs.sock"));
    QVERIFY(as<cmd::UnixListen>(d.command()).options.reaction.kind == capture::Reaction::auto_accept);

    d.setChoice(SourceChoice::unix_connect);
    QVERIFY(d.reactionBox()->currentData().toInt() == static_cast<int>(capture::Reaction::none));  // not offered: reset
    QCOMPARE(as<cmd::UnixConnect>(d.command()).path, std::string("/tmp/rs.sock"));

    d.setChoice(SourceChoice::unix_datagram);
    type_into(d.pathEdit(), QString());
    QCOMPARE(as<cmd::UnixDatagramBind>(d.command()).path, std::string());

    d.setChoice(SourceChoice::socketpair);
    QVERIFY(d.setReaction(capture::Reaction::drain));
    d.shortReadBox()->setChecked(true);
    QVERIFY(as<cmd::SocketPair>(d.command()).options.reaction.stop_at_short_read);

    d.setChoice(SourceChoice::pipe);
    d.triggerBox()->setCurrentIndex(d.triggerBox()->findData(static_cast<int>(Trigger::oneshot)));
    QCOMPARE(as<cmd::Pipe>(d.command()).options.trigger, Trigger::oneshot);

    d.setChoice(SourceChoice::eventfd);
    d.initialEdit()->setText(QStringLiteral("7"));
    d.semaphoreBox()->setChecked(true);
    QCOMPARE(as<cmd::EventFdCreate>(d.command()).initial, std::uint64_t{7});
    QVERIFY(as<cmd::EventFdCreate>(d.command()).semaphore);

    d.setChoice(SourceChoice::timerfd);
    d.writableBox()->setChecked(true);
    QCOMPARE(as<cmd::TimerFdCreate>(d.command()).options.interest, Interest::READABLE | Interest::WRITABLE);
  }

  void setKindMapsEveryKind_data() {
    QTest::addColumn<int>("kind");
    QTest::addColumn<SourceChoice>("choice");
    using K = capture::SourceKind;
    QTest::newRow("tcp_listener") << int(K::tcp_listener) << SourceChoice::tcp_listen;
    QTest::newRow("tcp_stream") << int(K::tcp_stream) << SourceChoice::tcp_connect;
    QTest::newRow("udp") << int(K::udp) << SourceChoice::udp;
    QTest::newRow("unix_listener") << int(K::unix_listener) << SourceChoice::unix_listen;
    QTest::newRow("unix_stream") << int(K::unix_stream) << SourceChoice::unix_connect;
    QTest::newRow("unix_datagram") << int(K::unix_datagram) << SourceChoice::unix_datagram;
    QTest::newRow("pipe_sender") << int(K::pipe_sender) << SourceChoice::pipe;
    QTest::newRow("pipe_receiver") << int(K::pipe_receiver) << SourceChoice::pipe;
    QTest::newRow("eventfd") << int(K::eventfd) << SourceChoice::eventfd;
    QTest::newRow("timerfd") << int(K::timerfd) << SourceChoice::timerfd;
  }

  void setKindMapsEveryKind() {
    QFETCH(int, kind);
    QFETCH(SourceChoice, choice);
    NewSourceDialog d;
    d.setChoice(choice == SourceChoice::timerfd ? SourceChoice::tcp_listen : SourceChoice::timerfd);
    d.setKind(static_cast<capture::SourceKind>(kind));
    QCOMPARE(d.choice(), choice);
  }

  // ---- the loopback rule ----

  void nonLoopbackNeedsConfirmation_data() {
    QTest::addColumn<SourceChoice>("choice");
    QTest::addColumn<QString>("address");
    QTest::addColumn<QString>("peer");
    QTest::newRow("tcp any") << SourceChoice::tcp_listen << "0.0.0.0:4000" << "";
    QTest::newRow("tcp lan") << SourceChoice::tcp_listen << "192.168.1.2:4000" << "";
    QTest::newRow("tcp v6 any") << SourceChoice::tcp_listen << "[::]:4000" << "";
    QTest::newRow("udp any") << SourceChoice::udp << "0.0.0.0:0" << "";
    QTest::newRow("udp remote peer") << SourceChoice::udp << "127.0.0.1:0" << "10.0.0.1:53";
  }

  void nonLoopbackNeedsConfirmation() {
    QFETCH(SourceChoice, choice);
    QFETCH(QString, address);
    QFETCH(QString, peer);
    NewSourceDialog d;
    d.setChoice(choice);
    type_into(d.addressEdit(), address);
    if (!peer.isEmpty()) {
      d.connectBox()->setChecked(true);
      type_into(d.peerEdit(), peer);
    }
    QVERIFY(d.allowRemoteBox()->isVisibleTo(&d));
    QVERIFY(!d.okEnabled());
    QVERIFY(!d.command());
    QVERIFY2(d.errorText().contains(QStringLiteral("not a loopback address")), qPrintable(d.errorText()));
    d.allowRemoteBox()->setChecked(true);
    QVERIFY(d.okEnabled());
    const auto c = d.command();
    QVERIFY(c);
    if (choice == SourceChoice::tcp_listen) QVERIFY(as<cmd::TcpListen>(c).allow_remote);
    else QVERIFY(as<cmd::UdpBind>(c).allow_remote);
  }

  void loopbackNeedsNoConfirmation() {
    NewSourceDialog d;
    d.setChoice(SourceChoice::tcp_listen);
    for (const char* a : {"127.0.0.1:0", "127.5.5.5:80", "[::1]:0", "localhost:0"}) {
      type_into(d.addressEdit(), QString::fromLatin1(a));
      QVERIFY2(d.okEnabled(), a);
      QVERIFY(!as<cmd::TcpListen>(d.command()).allow_remote);
    }
    // A connect binds nothing: a remote peer needs no confirmation and the box is hidden.
    d.setChoice(SourceChoice::tcp_connect);
    type_into(d.addressEdit(), QStringLiteral("192.0.2.1:80"));
    QVERIFY(!d.allowRemoteBox()->isVisibleTo(&d));
    QVERIFY(d.okEnabled());
  }

  // ---- recent addresses ----

  void recentAddressesAreRemembered() {
    QSettings().remove(QStringLiteral("newSource"));
    for (int i = 0; i < 12; ++i) {
      NewSourceDialog d;
      d.setChoice(SourceChoice::tcp_listen);
      type_into(d.addressEdit(), QStringLiteral("127.0.0.1:%1").arg(4000 + i));
      d.accept();
      QCOMPARE(d.result(), int(QDialog::Accepted));
    }
    // Again the second-newest: it moves to the front, not in twice.
    {
      NewSourceDialog d;
      d.setChoice(SourceChoice::tcp_listen);
      type_into(d.addressEdit(), QStringLiteral("127.0.0.1:4010"));
      d.accept();
    }
    const QStringList recent = NewSourceDialog::recentAddresses();
    QCOMPARE(recent.size(), NewSourceDialog::kRecentCount);
    QCOMPARE(recent.front(), QStringLiteral("127.0.0.1:4010"));
    QCOMPARE(recent.at(1), QStringLiteral("127.0.0.1:4011"));
    QCOMPARE(recent.count(QStringLiteral("127.0.0.1:4010")), 1);
    QVERIFY(!recent.contains(QStringLiteral("127.0.0.1:4000")));  // the oldest fell off

    // An invalid dialog does not accept and remembers nothing.
    {
      NewSourceDialog d;
      d.setChoice(SourceChoice::tcp_listen);
      type_into(d.addressEdit(), QStringLiteral("127.0.0.1:99999"));
      d.accept();
      QCOMPARE(d.result(), int(QDialog::Rejected));
    }
    QCOMPARE(NewSourceDialog::recentAddresses(), recent);

    // A new dialog offers them, newest first, and starts from the newest.
    NewSourceDialog d;
    QCOMPARE(d.addressEdit()->count(), NewSourceDialog::kRecentCount);
    QCOMPARE(d.addressEdit()->itemText(0), QStringLiteral("127.0.0.1:4010"));
    QCOMPARE(d.addressEdit()->currentText(), QStringLiteral("127.0.0.1:4010"));

    // Paths have their own list.
    d.setChoice(SourceChoice::unix_listen);
    type_into(d.pathEdit(), QStringLiteral("/tmp/recent.sock"));
    d.accept();
    QCOMPARE(NewSourceDialog::recentPaths(), QStringList{QStringLiteral("/tmp/recent.sock")});
    QCOMPARE(NewSourceDialog::recentAddresses(), recent);
  }

  // ---- it only builds commands ----

  void opensNoDescriptor() {
    { NewSourceDialog warm; warm.show(); QCoreApplication::processEvents(); }
    const std::size_t before = ready::test::open_fd_count();
    NewSourceDialog d;
    d.show();
    for (const SourceChoice c : {SourceChoice::tcp_listen, SourceChoice::tcp_connect, SourceChoice::udp,
                                 SourceChoice::unix_listen, SourceChoice::unix_connect, SourceChoice::unix_datagram,
                                 SourceChoice::socketpair, SourceChoice::pipe, SourceChoice::eventfd,
                                 SourceChoice::timerfd}) {
      d.setChoice(c);
      // setText, not typing: the shown dialog would pop up its completer at each key.
      d.addressEdit()->lineEdit()->setText(QStringLiteral("127.0.0.1:4999"));
      d.pathEdit()->lineEdit()->setText(QStringLiteral("/tmp/never-created.sock"));
      QVERIFY(d.command());
      QCOMPARE(ready::test::open_fd_count(), before);
    }
    QVERIFY(!QFile::exists(QStringLiteral("/tmp/never-created.sock")));
  }

  void grab() {
    NewSourceDialog d;
    d.setChoice(SourceChoice::udp);
    d.connectBox()->setChecked(true);
    type_into(d.addressEdit(), QStringLiteral("0.0.0.0:5000"));
    type_into(d.peerEdit(), QStringLiteral("127.0.0.1:5001"));
    d.resize(480, d.sizeHint().height());
    const QImage img = d.grab().toImage();
    QVERIFY(!img.isNull());
    const QString out = qEnvironmentVariable("READY_GRAB_DIR");
    if (!out.isEmpty()) img.save(out + QStringLiteral("/new-source-dialog.png"));
    QThreadPool::globalInstance()->waitForDone();  // Qt's painting threads hold an eventfd each
  }
};

QTEST_MAIN(TestNewSourceDialog)
#include "tst_new_source_dialog.moc"
