// The relay (cmd::Relay, docs/relay.md) between real loopback sockets: bytes both ways,
// half-close, back-pressure as interest changes, a reset passed on as a reset, a failed
// upstream connect, Unix sockets, and each fault knob's effect in the records.
#include <sys/socket.h>

#include <QtTest>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "engine_util.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;
using namespace std::chrono_literals;

namespace {

/// A relay from an ephemeral loopback port to `upstream`, and the address it listens on.
struct RelayUnderTest {
  Token listener;
  net::SocketAddr address;
};

std::optional<RelayUnderTest> start_relay(Engine& eng, Collector& c, RelayEndpoint upstream,
                                          RelayFaultSet faults = {}) {
  cmd::Relay r;
  r.listen.tcp = net::SocketAddr::loopback_v4(0);
  r.upstream = std::move(upstream);
  r.faults = faults;
  auto t = eng.submit(r);
  if (!t) return std::nullopt;
  if (!c.wait_for(seen(is_kind(RecordKind::source_added, t->token)))) return std::nullopt;
  auto info = eng.source_info(t->token);
  if (!info) return std::nullopt;
  auto a = net::SocketAddr::parse(info->local);
  if (!a) return std::nullopt;
  return RelayUnderTest{t->token, *a};
}

RelayEndpoint tcp_endpoint(const net::SocketAddr& a) {
  RelayEndpoint e;
  e.tcp = a;
  return e;
}

/// A plain server behind a new relay (with `faults`), a client connected through it, and the
/// server's end of that connection.
struct Ends {
  RelayUnderTest relay;
  OwnedFd up, client, server;
};
std::optional<Ends> through_relay(Engine& eng, Collector& c, RelayFaultSet faults = {}) {
  auto up = plain_listener(net::SocketAddr::loopback_v4(0));
  if (!up) return std::nullopt;
  auto relay = start_relay(eng, c, tcp_endpoint(local_address(up->get())), faults);
  if (!relay) return std::nullopt;
  auto client = plain_connect(relay->address);
  if (!client) return std::nullopt;
  auto server = plain_accept(up->get());
  if (!server) return std::nullopt;
  return Ends{*relay, std::move(*up), std::move(*client), std::move(*server)};
}

/// Blocking send of everything (the fd is blocking).
bool send_all(int fd, const std::vector<std::byte>& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  return true;
}

/// Blocking receive until end-of-file (or an error: `err` then holds the errno).
std::vector<std::byte> recv_all(int fd, int* err = nullptr) {
  std::vector<std::byte> out;
  std::vector<std::byte> buf(65536);
  for (;;) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (err) *err = n < 0 ? errno : 0;
      return out;
    }
    out.insert(out.end(), buf.begin(), buf.begin() + n);
  }
}

std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
  std::vector<std::byte> v(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& b : v) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<std::byte>(x >> 24);
  }
  return v;
}

/// The legs of the first relayed connection: the client leg (related = the listener) and
/// its upstream leg (related = the client leg).
struct Legs {
  Token client, upstream;
};
std::optional<Legs> legs_of(const std::vector<Record>& rs, Token listener) {
  Legs l{};
  for (const Record& r : rs) {
    if (r.kind != RecordKind::source_added) continue;
    if (r.related() == listener.value && r.token != listener.value) l.client = Token(r.token);
    if (l.client.value != 0 && r.related() == l.client.value) l.upstream = Token(r.token);
  }
  if (l.client.value == 0 || l.upstream.value == 0) return std::nullopt;
  return l;
}

std::uint64_t moved(const std::vector<Record>& rs, Token t, Op op) {
  std::uint64_t n = 0;
  for (const Record& r : rs)
    if (r.kind == RecordKind::action && r.token == t.value && r.action_op() == op && r.outcome == Outcome::ok)
      n += r.n();
  return n;
}

bool removed(const std::vector<Record>& rs, Token t) {
  return std::any_of(rs.begin(), rs.end(),
                     [&](const Record& r) { return r.kind == RecordKind::source_removed && r.token == t.value; });
}

std::string note_texts(Engine& eng, const std::vector<Record>& rs) {
  std::string all;
  for (const Record& r : rs)
    if (r.kind == RecordKind::note) all += eng.note_text(r.note_id()).value_or("") + "\n";
  return all;
}

}  // namespace

class TestRelay : public QObject {
  Q_OBJECT

 private slots:
  // 4 MiB each way at once, then a half-close from the client: the server still answers
  // after reading the client's end-of-file, and the connection ends when both ways ended.
  void copiesBothWaysAndPassesHalfClose() {
    START_ENGINE(eng, c, EngineConfig{.ring_capacity = 1 << 20});
    auto e = through_relay(eng, c);
    QVERIFY(e);

    const auto to_server = pattern(4 << 20, 1), to_client = pattern(4 << 20, 2);
    std::vector<std::byte> got_by_server, got_by_client;
    std::thread srv([&] {
      std::thread w([&] { (void)send_all(e->server.get(), to_client); });
      got_by_server = recv_all(e->server.get());  // until the client's half-close arrives
      w.join();
      const std::vector<std::byte> bye{std::byte{'b'}, std::byte{'y'}, std::byte{'e'}};
      (void)send_all(e->server.get(), bye);
      ::shutdown(e->server.get(), SHUT_WR);
    });
    std::thread rd([&] { got_by_client = recv_all(e->client.get()); });
    QVERIFY(send_all(e->client.get(), to_server));
    ::shutdown(e->client.get(), SHUT_WR);
    srv.join();
    rd.join();
    QCOMPARE(got_by_server.size(), to_server.size());
    QVERIFY(got_by_server == to_server);
    QCOMPARE(got_by_client.size(), to_client.size() + 3);
    QVERIFY(std::equal(to_client.begin(), to_client.end(), got_by_client.begin()));

    QVERIFY(c.wait_for([&](const std::vector<Record>& rs) {
      auto l = legs_of(rs, e->relay.listener);
      return l && removed(rs, l->client) && removed(rs, l->upstream);
    }));
    const auto l = *legs_of(c.records, e->relay.listener);
    // Every byte is an action on both legs: read from one, written to the other.
    QCOMPARE(moved(c.records, l.client, Op::read), std::uint64_t{to_server.size()});
    QCOMPARE(moved(c.records, l.upstream, Op::write), std::uint64_t{to_server.size()});
    QCOMPARE(moved(c.records, l.upstream, Op::read), std::uint64_t{to_client.size() + 3});
    QCOMPARE(moved(c.records, l.client, Op::write), std::uint64_t{to_client.size() + 3});
    // The client's end-of-file became a half-close of the upstream leg, and the reverse.
    QVERIFY(c.find(is_action(l.client, Op::read, Outcome::eof)));
    QVERIFY(c.find(is_action(l.upstream, Op::shutdown_write, Outcome::ok)));
    QVERIFY(c.find(is_action(l.client, Op::shutdown_write, Outcome::ok)));
    QVERIFY(c.find(is_action(l.upstream, Op::connect, Outcome::ok)));
    // The client leg keeps the conversation as payload: what it sent in, what it got out.
    auto p = eng.payload(l.client);
    QVERIFY(p);
    QVERIFY(!p->chunks.empty());
  }

  // A server that does not read: the relay fills its buffer, the client leg stops reading
  // (its READABLE interest dropped) while the upstream leg waits for writable; once the
  // server reads, the interest comes back and every byte arrives.
  void backPressureDropsAndRestoresReadInterest() {
    START_ENGINE(eng, c, EngineConfig{.ring_capacity = 1 << 20, .relay_buffer_bytes = 64 * 1024});
    auto e = through_relay(eng, c);
    QVERIFY(e);
    QVERIFY_OK(make_nonblocking(e->client.get()));
    // Fill until the client's own send buffer is full: every buffer on the way is full then.
    std::uint64_t sent = 0;
    const auto chunk = pattern(65536, 3);
    for (Deadline d(kWaitLimit); !d.expired();) {
      const ssize_t n = ::send(e->client.get(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::uint64_t>(n);
        continue;
      }
      if (errno != EAGAIN) QFAIL("send failed");
      // Would-block: the relay may still be taking some; stop once it paused.
      auto l = legs_of(c.records, e->relay.listener);
      c.pump();
      if (l && c.find([&](const Record& r) {
            return r.kind == RecordKind::source_changed && r.token == l->client.value &&
                   SourceBits::unpack(r.bits).paused;
          }))
        break;
      std::this_thread::sleep_for(5ms);
    }
    auto l = legs_of(c.records, e->relay.listener);
    QVERIFY(l);
    const auto paused = c.find([&](const Record& r) {
      return r.kind == RecordKind::source_changed && r.token == l->client.value && SourceBits::unpack(r.bits).paused;
    });
    QVERIFY2(paused, "the client leg never dropped its read interest");
    // The upstream leg's change to WRITABLE and its would-block come from the same handling
    // as the pause, but the poll thread may be preempted between pushing them: wait for them.
    const auto upstream_writable = [&](const Record& r) {
      return r.kind == RecordKind::source_changed && r.token == l->upstream.value &&
             SourceBits::unpack(r.bits).interest.is_writable();
    };
    QVERIFY(c.wait_for([&](const std::vector<Record>&) {
      return c.find(upstream_writable) && c.find(is_action(l->upstream, Op::write, Outcome::would_block));
    }));
    // The server reads everything the client sent (the client stays open): the relay
    // resumes, and once it holds nothing the client leg is registered readable again.
    std::uint64_t got = 0;
    std::vector<std::byte> buf(65536);
    for (Deadline d(kWaitLimit); got < sent && !d.expired();) {
      if (!wait_readable(e->server.get(), 1000ms)) continue;
      const ssize_t n = ::recv(e->server.get(), buf.data(), buf.size(), 0);
      if (n > 0) got += static_cast<std::uint64_t>(n);
    }
    QCOMPARE(got, sent);
    QVERIFY(c.wait_for(seen([&](const Record& r) {
      return r.kind == RecordKind::source_changed && r.token == l->client.value && !SourceBits::unpack(r.bits).paused &&
             SourceBits::unpack(r.bits).interest.is_readable() && r.t_ns > c.records[*paused].t_ns;
    })));
    ::shutdown(e->client.get(), SHUT_WR);
    QVERIFY(c.wait_for(seen(is_action(l->upstream, Op::shutdown_write, Outcome::ok))));
  }

  // The server resets its connection: the relay resets the client's (ECONNRESET there), and
  // a note says so.
  void resetPropagatesAsReset() {
    START_ENGINE(eng, c);
    auto up = plain_listener(net::SocketAddr::loopback_v4(0));
    QVERIFY_OK(up);
    auto relay = start_relay(eng, c, tcp_endpoint(local_address(up->get())));
    QVERIFY(relay);
    auto client = plain_connect(relay->address);
    QVERIFY_OK(client);
    {
      auto server = plain_accept(up->get());
      QVERIFY_OK(server);
      QVERIFY(c.wait_for([&](const std::vector<Record>& rs) {
        auto l = legs_of(rs, relay->listener);
        return l && std::any_of(rs.begin(), rs.end(), is_action(l->upstream, Op::connect, Outcome::ok));
      }));
      const linger lg{1, 0};
      QCOMPARE(::setsockopt(server->get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    }  // closed with SO_LINGER 0: a RST
    int err = 0;
    (void)recv_all(client->get(), &err);
    QCOMPARE(err, ECONNRESET);
    const auto l = *legs_of(c.records, relay->listener);
    QVERIFY(c.wait_for([&](const std::vector<Record>& rs) { return removed(rs, l.client) && removed(rs, l.upstream); }));
    QVERIFY(note_texts(eng, c.records).find("ECONNRESET") != std::string::npos);
  }

  // Nothing listens upstream: the connect's error is recorded (at once, or as the outcome of
  // the connect in progress) and the client is closed.
  void failedUpstreamConnectClosesTheClient() {
    START_ENGINE(eng, c);
    auto relay = start_relay(eng, c, tcp_endpoint(closed_port()));
    QVERIFY(relay);
    auto client = plain_connect(relay->address);
    QVERIFY_OK(client);
    int err = -1;
    const auto got = recv_all(client->get(), &err);
    QVERIFY(got.empty());
    Token leg{};
    QVERIFY(c.wait_for([&](const std::vector<Record>& rs) {
      for (const Record& r : rs)
        if (r.kind == RecordKind::source_added && r.related() == relay->listener.value) leg = Token(r.token);
      return leg.value != 0 && removed(rs, leg);
    }));
    const auto i = c.find([](const Record& r) {
      return r.kind == RecordKind::action && r.action_op() == Op::connect && r.outcome == Outcome::error;
    });
    QVERIFY(i);
    QCOMPARE(c.records[*i].err, ECONNREFUSED);
    QVERIFY(c.records[*i].token > leg.value);  // the upstream leg's token, after the client leg's
  }

  // Unix socket to Unix socket, both ways.
  void relaysBetweenUnixSockets() {
    START_ENGINE(eng, c);
    QTemporaryDir dir;
    const std::string up_path = (dir.path() + "/up.sock").toStdString();
    const std::string relay_path = (dir.path() + "/relay.sock").toStdString();
    auto up = plain_listener(std::string_view(up_path));
    QVERIFY_OK(up);
    cmd::Relay r;
    r.listen.path = relay_path;
    r.upstream.path = up_path;
    auto t = eng.submit(r);
    QVERIFY_OK(t);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, t->token))));
    auto client = plain_connect(std::string_view(relay_path));
    QVERIFY_OK(client);
    auto server = plain_accept(up->get());
    QVERIFY_OK(server);
    const auto msg = pattern(300000, 4);
    std::vector<std::byte> got;
    std::thread rd([&] { got = recv_all(server->get()); });
    QVERIFY(send_all(client->get(), msg));
    ::shutdown(client->get(), SHUT_WR);
    rd.join();
    QVERIFY(got == msg);
    const std::vector<std::byte> reply{std::byte{'o'}, std::byte{'k'}};
    QVERIFY(send_all(server->get(), reply));
    ::shutdown(server->get(), SHUT_WR);
    QVERIFY(recv_all(client->get()) == reply);
  }

  // Remote addresses need allow_remote; faults out of range are refused; the relay manages
  // its legs' interest (SetInterest: EBUSY); SetRelayFaults needs a relay's listener.
  void refusesWhatItShould() {
    START_ENGINE(eng, c);
    cmd::Relay remote;
    remote.listen.tcp = net::SocketAddr::parse("0.0.0.0:0");
    remote.upstream.tcp = net::SocketAddr::loopback_v4(9);
    auto t1 = eng.submit(remote);
    QVERIFY_OK(t1);
    cmd::Relay bad;
    bad.listen.tcp = net::SocketAddr::loopback_v4(0);
    bad.upstream.tcp = net::SocketAddr::loopback_v4(9);
    bad.faults.to_client.jitter = 5ms;  // more jitter than latency
    auto t2 = eng.submit(bad);
    QVERIFY_OK(t2);
    auto t3 = eng.submit(cmd::SetRelayFaults{Token(12345), {}});
    QVERIFY_OK(t3);
    QVERIFY(c.wait_for(seen(is_action(Token(12345), Op::modify, Outcome::error))));
    auto i1 = c.find(is_action(t1->token, Op::create, Outcome::error));
    auto i2 = c.find(is_action(t2->token, Op::create, Outcome::error));
    QVERIFY(i1 && i2);
    QCOMPARE(c.records[*i1].err, EACCES);
    QCOMPARE(c.records[*i2].err, EINVAL);
    QCOMPARE(c.records[*c.find(is_action(Token(12345), Op::modify, Outcome::error))].err, EBADF);

    auto e = through_relay(eng, c);
    QVERIFY(e);
    QVERIFY(c.wait_for([&](const std::vector<Record>& rs) { return legs_of(rs, e->relay.listener).has_value(); }));
    const auto l = *legs_of(c.records, e->relay.listener);
    QVERIFY_OK(eng.submit(cmd::SetInterest{l.client, Interest::WRITABLE}));
    QVERIFY(c.wait_for(seen(is_action(l.client, Op::modify, Outcome::error))));
    QCOMPARE(c.records[*c.find(is_action(l.client, Op::modify, Outcome::error))].err, EBUSY);
  }

  // The slicer forwards one byte per write, a millisecond apart: the server meets partial
  // reads. Setting it live is a note.
  void slicerForwardsInPieces() {
    START_ENGINE(eng, c);
    auto e = through_relay(eng, c);
    QVERIFY(e);
    RelayFaultSet f;
    f.to_upstream.slice_bytes = 1;
    f.to_upstream.slice_delay = 1ms;
    QVERIFY_OK(eng.submit(cmd::SetRelayFaults{e->relay.listener, f}));
    const std::string req = "GET / HTTP/1.0\r\n\r\n";
    QVERIFY(send_all(e->client.get(), std::vector<std::byte>(reinterpret_cast<const std::byte*>(req.data()),
                                                            reinterpret_cast<const std::byte*>(req.data()) + req.size())));
    ::shutdown(e->client.get(), SHUT_WR);
    const auto got = recv_all(e->server.get());
    QCOMPARE(std::string(reinterpret_cast<const char*>(got.data()), got.size()), req);
    QVERIFY(c.wait_for([&](const std::vector<Record>& rs) {
      auto l = legs_of(rs, e->relay.listener);
      return l && std::any_of(rs.begin(), rs.end(), is_action(l->upstream, Op::shutdown_write, Outcome::ok));
    }));
    const auto l = *legs_of(c.records, e->relay.listener);
    std::uint64_t writes = 0, prev_t = 0, min_gap = UINT64_MAX;
    for (const Record& r : c.records) {
      if (!is_action(l.upstream, Op::write, Outcome::ok)(r)) continue;
      QCOMPARE(r.n(), std::uint64_t{1});
      if (writes++ != 0) min_gap = std::min(min_gap, r.t_ns - prev_t);
      prev_t = r.t_ns;
    }
    QCOMPARE(writes, std::uint64_t{req.size()});
    QVERIFY2(min_gap >= 1'000'000, "pieces closer than the slice delay");
    QVERIFY(note_texts(eng, c.records).find("slice 1 B every 1 ms") != std::string::npos);
  }

  // Latency holds each chunk: the write to the server comes at least that long after the
  // read from the client (record times).
  void latencyHoldsEachChunk() {
    START_ENGINE(eng, c);
    RelayFaultSet f;
    f.to_upstream.latency = 40ms;
    f.to_upstream.jitter = 10ms;
    auto e = through_relay(eng, c, f);
    QVERIFY(e);
    const std::vector<std::byte> hello(5, std::byte{'h'});
    QVERIFY(send_all(e->client.get(), hello));
    std::vector<std::byte> got(5);
    QVERIFY(wait_readable(e->server.get()));
    QCOMPARE(::recv(e->server.get(), got.data(), got.size(), MSG_WAITALL), ssize_t{5});
    QVERIFY(c.wait_for([&](const std::vector<Record>& rs) {
      auto l = legs_of(rs, e->relay.listener);
      return l && std::any_of(rs.begin(), rs.end(), is_action(l->upstream, Op::write, Outcome::ok));
    }));
    const auto l = *legs_of(c.records, e->relay.listener);
    const auto rd = c.find(is_action(l.client, Op::read, Outcome::ok));
    const auto wr = c.find(is_action(l.upstream, Op::write, Outcome::ok));
    QVERIFY(rd && wr);
    QVERIFY(c.records[*wr].t_ns - c.records[*rd].t_ns >= 30'000'000);  // 40 ms - at most 10 ms jitter
  }

  // A bandwidth limit spreads the bytes over time (10 KB/s: 20 KB takes over a second and a
  // half, less the bucket's 200 bytes); reset_after resets both legs after that many bytes.
  void bandwidthAndResetAfter() {
    START_ENGINE(eng, c);
    RelayFaultSet f;
    f.to_client.bandwidth_kbps = 10;
    f.to_upstream.reset_after = 100;
    auto e = through_relay(eng, c, f);
    QVERIFY(e);
    const auto body = pattern(20000, 5);
    QVERIFY(send_all(e->server.get(), body));
    std::vector<std::byte> got(body.size());
    QCOMPARE(::recv(e->client.get(), got.data(), got.size(), MSG_WAITALL), ssize_t(body.size()));
    QVERIFY(got == body);
    QVERIFY(c.wait_for([&](const std::vector<Record>& rs) { return legs_of(rs, e->relay.listener).has_value(); }));
    const auto l = *legs_of(c.records, e->relay.listener);
    QVERIFY(c.wait_for([&](const std::vector<Record>& rs) { return moved(rs, l.client, Op::write) == body.size(); }));
    std::uint64_t first = 0, last = 0;
    for (const Record& r : c.records)
      if (is_action(l.client, Op::write, Outcome::ok)(r)) (first == 0 ? first : last) = r.t_ns;
    QVERIFY2(last - first >= 1'500'000'000, "10 KB/s moved 20 KB in under 1.5 s");

    // 150 bytes the other way: the server gets exactly 100, then both ends a reset.
    QVERIFY(send_all(e->client.get(), pattern(150, 6)));
    int err = 0;
    const auto head = recv_all(e->server.get(), &err);
    QCOMPARE(head.size(), std::size_t{100});
    QCOMPARE(err, ECONNRESET);
    int cerr = 0;
    (void)recv_all(e->client.get(), &cerr);
    QCOMPARE(cerr, ECONNRESET);
    QVERIFY(c.wait_for([&](const std::vector<Record>& rs) { return removed(rs, l.client) && removed(rs, l.upstream); }));
    QVERIFY(note_texts(eng, c.records).find("reset limit") != std::string::npos);
  }
};

QTEST_GUILESS_MAIN(TestRelay)
#include "tst_relay.moc"
