// Soak under a low descriptor limit (libevent's fd-leak test and libuv's EMFILE test are the
// anchors): thousands of sequential loopback connections through an echoing listener, every
// byte echoed, and the process's descriptors back to their count at the start.
#include <sys/resource.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "engine_util.h"

using namespace ready;
using namespace ready::test;

namespace {

/// Sets RLIMIT_NOFILE's soft limit for its lifetime and restores the old limits after (also
/// when a check fails and returns early).
class NofileLimit {
 public:
  explicit NofileLimit(rlim_t soft) {
    ok_ = ::getrlimit(RLIMIT_NOFILE, &old_) == 0;
    rlimit lim = old_;
    lim.rlim_cur = soft;
    ok_ = ok_ && soft <= old_.rlim_max && ::setrlimit(RLIMIT_NOFILE, &lim) == 0;
  }
  NofileLimit(const NofileLimit&) = delete;
  NofileLimit& operator=(const NofileLimit&) = delete;
  ~NofileLimit() { (void)::setrlimit(RLIMIT_NOFILE, &old_); }
  [[nodiscard]] bool ok() const noexcept { return ok_; }

 private:
  rlimit old_{};
  bool ok_ = false;
};

std::size_t removed_streams(const std::vector<Record>& rs, Token listener) {
  std::size_t n = 0;
  for (const Record& r : rs)
    if (r.kind == RecordKind::source_removed && r.token != listener.value) ++n;
  return n;
}

}  // namespace

class TestSoakLowFd : public CoreTest {
  Q_OBJECT
 private slots:
  // RLIMIT_NOFILE = 64, 4000 sequential connections through TcpListen + Reaction::echo.
  void sequential_connections_at_64_descriptors() {
    constexpr int kConnections = 4000;
    START_ENGINE(eng, c);
    NofileLimit limit(64);
    QVERIFY2(limit.ok(), "cannot set RLIMIT_NOFILE to 64");
    QVERIFY2(open_fd_count() < 40, "the test process already holds most of its 64 descriptors");

    auto lt = eng.submit(cmd::TcpListen{any_local_address(), with(Reaction::echo)});
    QVERIFY_OK(lt);
    const Token listener = lt->token;
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, listener))));
    const auto addr = net::SocketAddr::parse(eng.source_info(listener)->local);
    QVERIFY(addr);
    const std::size_t start = open_fd_count();

    int echoed = 0;
    for (int i = 0; i < kConnections; ++i) {
      auto peer = plain_connect(*addr);
      QVERIFY_OK(peer);
      const std::string msg = "m" + std::to_string(i);
      QVERIFY_OK(plain_send(peer->get(), std::as_bytes(std::span(msg))));
      std::string got;
      std::array<std::byte, 64> buf{};
      while (got.size() < msg.size()) {
        auto n = plain_recv(peer->get(), buf);  // SO_RCVTIMEO: gives up after kWaitLimit
        QVERIFY_OK(n);
        QVERIFY2(*n > 0, qPrintable(QString("connection %1 closed before its echo").arg(i)));
        got.append(reinterpret_cast<const char*>(buf.data()), *n);
      }
      QCOMPARE(got, msg);
      ++echoed;
      c.pump();  // keep the ring from filling (its capacity is far above one connection's records)
    }
    QCOMPARE(echoed, kConnections);

    // Each accepted stream ends when its peer closes: all of them are removed, and the
    // engine holds as many descriptors as before the first connection.
    QVERIFY(c.wait_for([&](const auto& rs) { return removed_streams(rs, listener) == kConnections; }));
    QCOMPARE(open_fd_count(), start);
    QVERIFY(!c.find([](const Record& r) { return r.kind == RecordKind::warning; }));
    QCOMPARE(eng.dropped(), std::uint64_t{0});
  }
};

QTEST_GUILESS_MAIN(TestSoakLowFd)
#include "tst_soak_lowfd.moc"
