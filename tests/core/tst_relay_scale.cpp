// Scale of the relay (cmd::Relay, issue 16): 2,000 connections relayed at once to a real
// loopback server, each sending a message the server echoes. Every byte comes back intact,
// the client legs keep both directions as payload, 4,000 legs are open at the same time,
// every record reaches the consumer (produced == delivered + dropped, dropped 0), and once
// the clients close, every leg is closed and the process holds the descriptors it held
// before (no leak). Not timed: speed is readyscope-bench -o relay's business.
//
// One process holds all of it: 2,000 clients (this thread), 4,000 legs (the engine), 2,000
// server ends (a peer thread): the soft RLIMIT_NOFILE is raised to the hard one.
#include <sys/epoll.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine_util.h"

using namespace ready;
using namespace ready::test;

namespace {

constexpr std::size_t kConnections = 2000;
constexpr std::size_t kMessage = 100;
constexpr std::size_t kWindow = 256;  // connects ahead of the replies read (the listener's backlog)

/// Client i's message: 100 bytes that name it.
std::string message(std::size_t i) {
  char head[32];
  std::snprintf(head, sizeof head, "client %05zu ", i);
  std::string m(head);
  while (m.size() < kMessage) m += static_cast<char>('a' + (i + m.size()) % 26);
  return m;
}

/// The engine's consumer on its own thread (as the app's): waits on the Notifier with
/// edge-triggered epoll, drains the ring to empty on every wake, keeps every record.
class Consumer {
 public:
  explicit Consumer(Engine& e) : e_(e) {
    auto p = Poll::create();
    if (!p) return;
    poll_.emplace(std::move(*p));
    if (!poll_->registry().add(source_, Token(1), Interest::READABLE, Trigger::edge)) return;
    ok_ = true;
    thread_ = std::thread([this] { run(); });
  }
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;
  ~Consumer() { finish(); }
  [[nodiscard]] bool ok() const { return ok_; }
  void finish() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  std::vector<Record> snapshot() const {
    std::lock_guard lock(m_);
    return records_;
  }

 private:
  void run() {
    Events events(4);
    std::vector<Record> buf(1024);
    for (;;) {
      const bool last = stop_.load();
      (void)poll_->poll(events, last ? 0ms : 20ms);
      (void)e_.notifier().begin_drain_edge();
      for (std::size_t n; (n = e_.drain(buf)) != 0;) {
        std::lock_guard lock(m_);
        records_.insert(records_.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
      }
      if (last) return;
    }
  }
  Engine& e_;
  SourceFd source_{e_.notifier().as_raw_fd()};  // the Notifier's eventfd (the engine owns it)
  std::optional<Poll> poll_;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  mutable std::mutex m_;
  std::vector<Record> records_;
  std::thread thread_;
};

/// The legs among `rs`: client legs (parent: the listener) and upstream legs (parent: a
/// client leg), and how many of them were removed.
struct Legs {
  std::set<std::uint64_t> client, upstream;
  std::size_t removed = 0;
  std::size_t connects_ok = 0;
};
Legs legs_of(const std::vector<Record>& rs, Token listener) {
  Legs l;
  for (const Record& r : rs) {
    if (r.kind == RecordKind::source_added && r.related() == listener.value) l.client.insert(r.token);
    if (r.kind == RecordKind::source_added && l.client.count(r.related())) l.upstream.insert(r.token);
  }
  for (const Record& r : rs) {
    const bool leg = l.client.count(r.token) || l.upstream.count(r.token);
    if (leg && r.kind == RecordKind::source_removed) ++l.removed;
    if (l.upstream.count(r.token) && r.kind == RecordKind::action && r.action_op() == Op::connect &&
        r.outcome == Outcome::ok)
      ++l.connects_ok;
  }
  return l;
}

std::string bytes_of(const PayloadSnapshot& p, Direction d) {
  std::string s;
  for (const PayloadChunk& c : p.chunks)
    if (c.direction == d) s.append(reinterpret_cast<const char*>(c.bytes.data()), c.bytes.size());
  return s;
}

}  // namespace

class RelayScale : public QObject {
  Q_OBJECT

 private slots:
  void many_connections_at_once() {
    // Descriptors: 2,000 clients + 4,000 legs + 2,000 server ends, and spare.
    const rlim_t need = kConnections * 4 + 256;
    rlimit rl{};
    QVERIFY(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (rl.rlim_max < need)
      QSKIP(qPrintable(QStringLiteral("the hard RLIMIT_NOFILE (%1) is below the %2 descriptors this test holds")
                           .arg(rl.rlim_max)
                           .arg(need)));
    const rlimit saved = rl;
    rl.rlim_cur = std::max(rl.rlim_cur, need);
    QVERIFY(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    struct Restore {
      rlimit r;
      ~Restore() { setrlimit(RLIMIT_NOFILE, &r); }
    } restore{saved};

    EngineConfig config;
    config.ring_capacity = std::size_t{1} << 20;  // every record fits: none may be dropped
    auto started = Engine::start(config);
    QVERIFY_OK(started);
    Engine& eng = **started;
    Consumer consumer(eng);
    QVERIFY(consumer.ok());

    auto server_l = plain_listener(net::SocketAddr::loopback_v4(0));
    QVERIFY_OK(server_l);
    const net::SocketAddr server_addr = local_address(server_l->get());
    // The server: accepts each relayed connection, echoes its one message, and closes it at
    // its end-of-file (after the clients closed).
    Worker server([&]() -> std::string {
      std::vector<OwnedFd> conns;
      for (std::size_t i = 0; i < kConnections; ++i) {
        auto c = plain_accept(server_l->get());
        if (!c) return failure("accept " + std::to_string(i), c.error());
        std::string got(kMessage, '\0');
        if (!read_exact_fd(c->get(), got)) return failure("read a message");
        if (!write_all_fd(c->get(), got)) return failure("echo a message");
        conns.push_back(std::move(*c));
      }
      for (OwnedFd& c : conns) {
        char b;
        const ssize_t r = ::read(c.get(), &b, 1);
        if (r != 0) return "expected end-of-file from the relay, got " + std::to_string(r);
        c = OwnedFd();
      }
      return "";
    });

    RelayEndpoint listen, upstream;
    listen.tcp = net::SocketAddr::loopback_v4(0);  // an ephemeral port
    upstream.tcp = server_addr;
    auto relay = eng.submit(cmd::Relay{listen, upstream});
    QVERIFY_OK(relay);
    std::optional<net::SocketAddr> relay_addr;
    for (Deadline d; !relay_addr && !d.expired(); std::this_thread::sleep_for(1ms))
      if (const auto info = eng.source_info(relay->token)) relay_addr = net::SocketAddr::parse(info->local);
    QVERIFY(relay_addr.has_value());
    const std::size_t fds_before = open_fd_count();

    // Each client connects and sends its message; the reply of the client kWindow back is
    // read before the next connect, so the relay's listener never has more than kWindow
    // connections waiting.
    std::vector<OwnedFd> clients;
    clients.reserve(kConnections);
    std::size_t intact = 0;
    std::string failed;
    const auto read_reply = [&](std::size_t i) {
      std::string got(kMessage, '\0');
      if (!read_exact_fd(clients[i].get(), got))
        failed = "client " + std::to_string(i) + ": no reply";
      else if (got != message(i))
        failed = "client " + std::to_string(i) + ": the reply differs from what it sent";
      else
        ++intact;
    };
    for (std::size_t i = 0; i < kConnections && failed.empty(); ++i) {
      auto c = plain_connect(*relay_addr);
      QVERIFY_OK(c);
      QVERIFY(write_all_fd(c->get(), message(i)));
      clients.push_back(std::move(*c));
      if (i >= kWindow) read_reply(i - kWindow);
    }
    for (std::size_t i = kConnections - kWindow; i < kConnections && failed.empty(); ++i) read_reply(i);
    QVERIFY2(failed.empty(), failed.c_str());
    QCOMPARE(intact, kConnections);

    // All 4,000 legs are open at once now (none removed), each upstream connect succeeded,
    // and each client leg kept both directions: what its client sent, echoed back.
    Legs legs;
    QVERIFY(wait_until([&] {
      legs = legs_of(consumer.snapshot(), relay->token);
      return legs.connects_ok == kConnections;
    }));
    QCOMPARE(legs.client.size(), kConnections);
    QCOMPARE(legs.upstream.size(), kConnections);
    QCOMPARE(legs.removed, std::size_t{0});
    std::set<std::string> sent;
    for (std::size_t i = 0; i < kConnections; ++i) sent.insert(message(i));
    for (const std::uint64_t leg : legs.client) {
      const auto p = eng.payload(Token(static_cast<std::size_t>(leg)));
      QVERIFY(p.has_value());
      const std::string in = bytes_of(*p, Direction::in);
      QVERIFY2(sent.erase(in) == 1, ("client leg " + std::to_string(leg) + " kept an unknown message").c_str());
      QCOMPARE(bytes_of(*p, Direction::out), in);
    }
    QVERIFY(sent.empty());

    // The clients close: the relay passes each end-of-file on, the server closes, and every
    // leg is closed; the descriptors are back to what they were before the first connect.
    clients.clear();
    QCOMPARE(server.join(), std::string());
    QVERIFY(wait_until([&] { return legs_of(consumer.snapshot(), relay->token).removed == 2 * kConnections; },
                       30s));
    QVERIFY(wait_until([&] { return open_fd_count() == fds_before; }));
    QCOMPARE(open_fd_count(), fds_before);

    eng.stop();
    consumer.finish();
    QCOMPARE(eng.dropped(), std::uint64_t{0});
    QCOMPARE(eng.produced(), eng.delivered() + eng.dropped());
    QCOMPARE(static_cast<std::uint64_t>(consumer.snapshot().size()), eng.delivered());
  }

 private:
  static bool read_exact_fd(int fd, std::string& out) {
    for (std::size_t got = 0; got < out.size();) {
      const auto r = plain_recv(fd, std::as_writable_bytes(std::span(out.data() + got, out.size() - got)));
      if (!r || *r == 0) return false;
      got += *r;
    }
    return true;
  }
  static bool write_all_fd(int fd, const std::string& s) {
    for (std::size_t put = 0; put < s.size();) {
      const auto r = plain_send(fd, std::as_bytes(std::span(s.data() + put, s.size() - put)));
      if (!r) return false;
      put += *r;
    }
    return true;
  }
  template <class Pred>
  static bool wait_until(Pred pred, std::chrono::milliseconds limit = kWaitLimit) {
    for (Deadline d(limit);; std::this_thread::sleep_for(5ms)) {
      if (pred()) return true;
      if (d.expired()) return false;
    }
  }
};

QTEST_GUILESS_MAIN(RelayScale)
#include "tst_relay_scale.moc"
