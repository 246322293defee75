// SocketAddr and UnixAddr: parsing is strict (numeric hosts, decimal ports), printing
// round-trips, and addresses returned by the kernel convert back exactly.
#include "ready_test.h"

using namespace ready;
using namespace ready::test;
using net::SocketAddr;
using net::UnixAddr;

class TestAddr : public CoreTest {
  Q_OBJECT
 private slots:
  void socket_addr_parse_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<QString>("printed");
    QTest::addColumn<int>("port");
    QTest::newRow("v4") << "127.0.0.1:8080" << true << "127.0.0.1:8080" << 8080;
    QTest::newRow("v4 port 0") << "127.0.0.1:0" << true << "127.0.0.1:0" << 0;
    QTest::newRow("v4 max port") << "10.1.2.3:65535" << true << "10.1.2.3:65535" << 65535;
    QTest::newRow("v6") << "[::1]:443" << true << "[::1]:443" << 443;
    QTest::newRow("v6 long") << "[fe80:0:0:0:0:0:0:1]:1" << true << "[fe80::1]:1" << 1;
    QTest::newRow("v4-mapped") << "[::ffff:127.0.0.1]:7" << true << "[::ffff:127.0.0.1]:7" << 7;
    QTest::newRow("port too big") << "127.0.0.1:65536" << false << "" << 0;
    QTest::newRow("negative port") << "127.0.0.1:-1" << false << "" << 0;
    QTest::newRow("leading zero") << "127.0.0.1:080" << false << "" << 0;
    QTest::newRow("plus sign") << "127.0.0.1:+80" << false << "" << 0;
    QTest::newRow("exponent") << "127.0.0.1:1e3" << false << "" << 0;
    QTest::newRow("space") << "127.0.0.1: 80" << false << "" << 0;
    QTest::newRow("no port") << "127.0.0.1" << false << "" << 0;
    QTest::newRow("empty port") << "127.0.0.1:" << false << "" << 0;
    QTest::newRow("service name") << "127.0.0.1:http" << false << "" << 0;
    QTest::newRow("hostname") << "localhost:80" << false << "" << 0;
    QTest::newRow("v6 without brackets") << "::1:80" << false << "" << 0;
    QTest::newRow("v4 in brackets") << "[127.0.0.1]:80" << false << "" << 0;
    QTest::newRow("unclosed bracket") << "[::1:80" << false << "" << 0;
    QTest::newRow("v6 scope") << "[fe80::1%eth0]:80" << false << "" << 0;
    QTest::newRow("empty") << "" << false << "" << 0;
    QTest::newRow("bad octet") << "256.0.0.1:80" << false << "" << 0;
  }
  void socket_addr_parse() {
    QFETCH(QString, text);
    QFETCH(bool, valid);
    QFETCH(QString, printed);
    QFETCH(int, port);
    const auto a = SocketAddr::parse(text.toStdString());
    QCOMPARE(a.has_value(), valid);
    if (!valid) return;
    QCOMPARE(QString::fromStdString(a->to_string()), printed);
    QCOMPARE(int{a->port()}, port);
    // Printing then parsing gives the same address.
    QVERIFY(SocketAddr::parse(a->to_string()) == a);
  }

  void socket_addr_is_loopback_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("loopback");
    QTest::newRow("127.0.0.1") << "127.0.0.1:1" << true;
    QTest::newRow("127.255.0.9") << "127.255.0.9:1" << true;
    QTest::newRow("::1") << "[::1]:1" << true;
    QTest::newRow("mapped 127") << "[::ffff:127.0.0.1]:1" << true;
    QTest::newRow("0.0.0.0") << "0.0.0.0:1" << false;
    QTest::newRow("::") << "[::]:1" << false;
    QTest::newRow("10.0.0.1") << "10.0.0.1:1" << false;
    QTest::newRow("mapped 10") << "[::ffff:10.0.0.1]:1" << false;
  }
  void socket_addr_is_loopback() {
    QFETCH(QString, text);
    QFETCH(bool, loopback);
    const auto a = SocketAddr::parse(text.toStdString());
    QVERIFY(a.has_value());
    QCOMPARE(a->is_loopback(), loopback);
  }

  // The kernel's address for a bound socket converts back to the same text.
  void socket_addr_from_kernel() {
    auto l = net::TcpListener::bind(any_local_address());
    QVERIFY_OK(l);
    auto a = l->local_addr();
    QVERIFY_OK(a);
    QVERIFY(a->is_ipv4());
    QVERIFY(a->port() != 0);
    QCOMPARE(a->ip_string(), std::string("127.0.0.1"));
    QVERIFY(SocketAddr::parse(a->to_string()) == *a);
  }

  void unix_addr_kinds() {
    const auto path = UnixAddr::from_path("/tmp/x.sock");
    QVERIFY(path.has_value());
    QCOMPARE(path->as_pathname().value_or(""), std::string("/tmp/x.sock"));
    QVERIFY(!path->as_abstract_name());
    QCOMPARE(path->to_string(), std::string("/tmp/x.sock"));

    const auto abstract = UnixAddr::from_abstract_name("ready");
    QVERIFY(abstract.has_value());
    QCOMPARE(abstract->as_abstract_name().value_or(""), std::string("ready"));
    QVERIFY(!abstract->as_pathname());
    QCOMPARE(abstract->to_string(), std::string("@ready"));

    const UnixAddr unnamed;
    QVERIFY(unnamed.is_unnamed());
    QCOMPARE(unnamed.to_string(), std::string("(unnamed)"));
    QVERIFY(!(unnamed == *path));
  }

  void unix_addr_rejects_bad_paths() {
    QVERIFY(!UnixAddr::from_path(""));
    QVERIFY(!UnixAddr::from_path(std::string(200, 'a')));
    QVERIFY(!UnixAddr::from_path(std::string("a\0b", 3)));
    QVERIFY(UnixAddr::from_path(std::string(107, 'a')).has_value());  // 107 + NUL fills sun_path
    QVERIFY(!UnixAddr::from_path(std::string(108, 'a')));
    QVERIFY(!UnixAddr::from_abstract_name(std::string(108, 'a')));
  }
};

QTEST_GUILESS_MAIN(TestAddr)
#include "tst_addr.moc"
