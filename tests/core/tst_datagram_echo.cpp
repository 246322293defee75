// Datagram sockets through a real Engine (issue 14, behaviours 1 and 2): echo sends each
// datagram back to its sender, every read is its own action with its size and peer, an
// ICMP error is recorded and the socket reads on, a Unix datagram sender without a name is
// recorded as an error and the others are still served.
#include <QtTest>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "engine_util.h"
#include "ready/net/udp.h"
#include "ready/net/unix.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;
using namespace std::chrono_literals;

namespace {

/// Waits for one datagram on a non-blocking UDP socket; its bytes and sender.
std::optional<net::Received<net::SocketAddr>> recv_one(const net::UdpSocket& s, std::vector<std::byte>& buf) {
  buf.resize(65536);
  for (Deadline d; !d.expired();) {
    auto r = s.recv_from(buf);
    if (r) {
      buf.resize(r->n);
      return *r;
    }
    if (!is_would_block(r.error()) || !wait_readable(s.as_raw_fd(), 500ms)) continue;
  }
  return std::nullopt;
}

std::optional<std::string> recv_unix(const net::UnixDatagram& s) {
  std::array<std::byte, 65536> buf{};
  for (Deadline d; !d.expired();) {
    auto r = s.recv(buf);
    if (r) return str(std::span(buf).first(*r));
    if (!is_would_block(r.error())) return std::nullopt;
    (void)wait_readable(s.as_raw_fd(), 500ms);
  }
  return std::nullopt;
}

/// The ok actions of `op` on `token`, in order.
std::vector<Record> ok_actions(const std::vector<Record>& rs, Token token, Op op) {
  std::vector<Record> out;
  for (const Record& r : rs)
    if (r.kind == RecordKind::action && r.token == token.value && r.action_op() == op && r.outcome == Outcome::ok)
      out.push_back(r);
  return out;
}

std::vector<std::uint64_t> sizes(const std::vector<Record>& rs) {
  std::vector<std::uint64_t> n;
  for (const Record& r : rs) n.push_back(r.n());
  return n;
}

net::SocketAddr local_of(Engine& eng, Token t) {
  const auto info = eng.source_info(t);
  return info ? net::SocketAddr::parse(info->local).value_or(net::SocketAddr()) : net::SocketAddr();
}

const std::vector<std::uint64_t> kSizes{1, 100, 1400};

}  // namespace

class TestDatagramEcho : public CoreTest {
  Q_OBJECT

 private slots:
  // Two senders, three datagrams of 1, 100 and 1400 bytes: each comes back to its own sender
  // whole; every read and every reply is its own action naming the peer.
  void udp_echo_answers_each_sender() {
    START_ENGINE(eng, c);
    auto t = eng.submit(cmd::UdpBind{any_local_address(), with(Reaction::echo)});
    QVERIFY_OK(t);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, t->token))));
    const net::SocketAddr server = local_of(eng, t->token);
    QVERIFY(server.port() != 0);

    auto a = net::UdpSocket::bind(any_local_address());
    auto b = net::UdpSocket::bind(any_local_address());
    QVERIFY_OK(a);
    QVERIFY_OK(b);
    const std::string pa = a->local_addr()->to_string(), pb = b->local_addr()->to_string();
    QVERIFY_OK(a->send_to(bytes(std::string(1, 'a')), server));
    QVERIFY_OK(b->send_to(bytes(std::string(100, 'b')), server));
    QVERIFY_OK(a->send_to(bytes(std::string(1400, 'c')), server));

    std::vector<std::byte> got;
    auto r1 = recv_one(*a, got);
    QVERIFY2(r1, "no echo of the 1-byte datagram");
    QCOMPARE(str(got), std::string(1, 'a'));
    QCOMPARE(r1->from, server);
    auto r2 = recv_one(*a, got);
    QVERIFY2(r2, "no echo of the 1400-byte datagram");
    QCOMPARE(str(got), std::string(1400, 'c'));
    auto r3 = recv_one(*b, got);
    QVERIFY2(r3, "no echo of the 100-byte datagram");
    QCOMPARE(str(got), std::string(100, 'b'));

    QVERIFY(c.wait_for([&](const std::vector<Record>& rs) { return ok_actions(rs, t->token, Op::write).size() >= 3; }));
    const auto reads = ok_actions(c.records, t->token, Op::read);
    const auto writes = ok_actions(c.records, t->token, Op::write);
    QCOMPARE(sizes(reads), kSizes);
    QCOMPARE(sizes(writes), kSizes);
    const std::vector<std::string> peers{pa, pb, pa};
    for (std::size_t i = 0; i < 3; ++i) {
      QCOMPARE(eng.peer_text(reads[i].peer_id()).value_or("?"), peers[i]);
      QCOMPARE(writes[i].peer_id(), reads[i].peer_id());
    }
    QCOMPARE(eng.peers_dropped(), std::uint64_t{0});
    // Both directions in the payload, each chunk with its peer.
    const auto p = eng.payload(t->token);
    QVERIFY(p);
    QCOMPARE(p->chunks.size(), std::size_t{6});
    for (const PayloadChunk& ch : p->chunks) QVERIFY(ch.peer.has_value());
    QCOMPARE(p->chunks[0].peer->to_string(), pa);
    QCOMPARE(p->chunks[0].bytes.size(), std::size_t{1});
    eng.stop();
  }

  // A Drain command on a UDP socket: one action per datagram, with its size and sender, and
  // the would-block that ends it (streams keep one action per drain).
  void udp_drain_records_each_datagram() {
    START_ENGINE(eng, c);
    auto t = eng.submit(cmd::UdpBind{any_local_address(), with(Reaction::none)});
    QVERIFY_OK(t);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, t->token))));
    const net::SocketAddr server = local_of(eng, t->token);
    auto a = net::UdpSocket::bind(any_local_address());
    QVERIFY_OK(a);
    for (const auto n : kSizes) QVERIFY_OK(a->send_to(bytes(std::string(n, 'x')), server));
    // Delivery on loopback may lag the send: drain until all three were read.
    for (Deadline d; ok_actions(c.records, t->token, Op::drain).size() < 3;) {
      QVERIFY2(!d.expired(), "three datagrams were not read");
      const std::size_t before = c.records.size();
      QVERIFY_OK(eng.submit(cmd::Drain{t->token}));
      QVERIFY(c.wait_for([&](const std::vector<Record>& rs) {
        return std::any_of(rs.begin() + static_cast<std::ptrdiff_t>(before), rs.end(),
                           is_action(t->token, Op::drain, Outcome::would_block));
      }));
    }
    const auto drains = ok_actions(c.records, t->token, Op::drain);
    QCOMPARE(sizes(drains), kSizes);
    for (const Record& r : drains) QCOMPARE(eng.peer_text(r.peer_id()).value_or("?"), a->local_addr()->to_string());
    eng.stop();
  }

  // The drain reaction, edge-triggered: the same, without a command.
  void udp_drain_reaction_records_each_datagram() {
    START_ENGINE(eng, c);
    auto t = eng.submit(cmd::UdpBind{any_local_address(), with(Reaction::drain)});
    QVERIFY_OK(t);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, t->token))));
    const net::SocketAddr server = local_of(eng, t->token);
    auto a = net::UdpSocket::bind(any_local_address());
    QVERIFY_OK(a);
    for (const auto n : kSizes) QVERIFY_OK(a->send_to(bytes(std::string(n, 'x')), server));
    QVERIFY(c.wait_for([&](const std::vector<Record>& rs) { return ok_actions(rs, t->token, Op::drain).size() >= 3; }));
    QCOMPARE(sizes(ok_actions(c.records, t->token, Op::drain)), kSizes);
    eng.stop();
  }

  // A connected UDP socket whose peer went away: the ICMP error (ECONNREFUSED) is an action
  // of its own, and the same drain reads on to the datagram queued behind it.
  void udp_icmp_error_is_recorded_and_reading_goes_on() {
    START_ENGINE(eng, c);
    auto gone = net::UdpSocket::bind(any_local_address());
    QVERIFY_OK(gone);
    const net::SocketAddr peer = *gone->local_addr();
    auto t = eng.submit(cmd::UdpBind{any_local_address(), with(Reaction::none), false, peer});
    QVERIFY_OK(t);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, t->token))));
    const net::SocketAddr server = local_of(eng, t->token);
    drop(*gone);
    // A datagram to the closed port: the ICMP port-unreachable sets the socket's error.
    QVERIFY_OK(eng.submit(cmd::Write{t->token, "to nobody"}));
    QVERIFY(c.wait_for(seen([&](const Record& r) {
      return r.kind == RecordKind::readiness && r.token == t->token.value && (r.bits & EPOLLERR);
    })));
    // The peer comes back on the same port and sends: the witness is its readable edge.
    auto back = net::UdpSocket::bind(peer);
    QVERIFY_OK(back);
    const std::size_t mark = c.records.size();
    QVERIFY_OK(back->send_to(bytes("again"), server));
    QVERIFY(c.wait_for([&](const std::vector<Record>& rs) {
      return std::any_of(rs.begin() + static_cast<std::ptrdiff_t>(mark), rs.end(), [&](const Record& r) {
        return r.kind == RecordKind::readiness && r.token == t->token.value && (r.bits & EPOLLIN);
      });
    }));
    QVERIFY_OK(eng.submit(cmd::Drain{t->token}));
    QVERIFY(c.wait_for(seen(is_action(t->token, Op::drain, Outcome::would_block))));
    const auto refused = c.find(is_action(t->token, Op::drain, Outcome::error));
    QVERIFY2(refused, "the ICMP error was not recorded");
    QCOMPARE(c.records[*refused].err, ECONNREFUSED);
    const auto read = ok_actions(c.records, t->token, Op::drain);
    QCOMPARE(read.size(), std::size_t{1});
    QCOMPARE(read[0].n(), std::uint64_t{5});
    QVERIFY(*refused < *c.find(is_action(t->token, Op::drain, Outcome::ok)));
    QVERIFY(!c.find(is_kind(RecordKind::source_removed, t->token)));  // the socket stays
    eng.stop();
  }

  // Unix datagrams: a named sender gets its echo (its path is the peer); an unbound one
  // cannot be answered: an error action (EDESTADDRREQ), and the next sender is served.
  void unix_datagram_echo_answers_named_senders() {
    START_ENGINE(eng, c);
    const Unlink server_path(temp_path("dg-echo"));
    const Unlink client_path(temp_path("dg-client"));
    auto t = eng.submit(cmd::UnixDatagramBind{server_path.path, with(Reaction::echo)});
    QVERIFY_OK(t);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, t->token))));
    auto named = net::UnixDatagram::bind(client_path.path);
    auto anon = net::UnixDatagram::unbound();
    QVERIFY_OK(named);
    QVERIFY_OK(anon);

    QVERIFY_OK(anon->send_to(bytes("anon"), server_path.path));
    QVERIFY(c.wait_for(seen(is_action(t->token, Op::write, Outcome::error))));
    QCOMPARE(c.records[*c.find(is_action(t->token, Op::write, Outcome::error))].err, EDESTADDRREQ);

    QVERIFY_OK(named->send_to(bytes("hello"), server_path.path));
    QCOMPARE(recv_unix(*named).value_or("(nothing)"), std::string("hello"));
    QVERIFY(c.wait_for([&](const std::vector<Record>& rs) { return !ok_actions(rs, t->token, Op::write).empty(); }));
    const auto reads = ok_actions(c.records, t->token, Op::read);
    QCOMPARE(sizes(reads), (std::vector<std::uint64_t>{4, 5}));
    QCOMPARE(reads[0].peer_id(), 0u);  // no name
    QCOMPARE(eng.peer_text(reads[1].peer_id()).value_or("?"), client_path.path);
    const auto p = eng.payload(t->token);
    QVERIFY(p);
    QVERIFY(!p->chunks.empty());
    QVERIFY(!p->chunks.front().unix_peer);
    QVERIFY(p->chunks.back().unix_peer);
    QCOMPARE(p->chunks.back().unix_peer->to_string(), client_path.path);
    eng.stop();
  }

  // The peer table is bounded: a peer beyond EngineConfig::peer_addresses gets id 0 and is
  // counted; its datagram is still read and echoed.
  void peer_table_bound_is_counted() {
    START_ENGINE(eng, c, EngineConfig{.peer_addresses = 1});
    auto t = eng.submit(cmd::UdpBind{any_local_address(), with(Reaction::echo)});
    QVERIFY_OK(t);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, t->token))));
    const net::SocketAddr server = local_of(eng, t->token);
    auto a = net::UdpSocket::bind(any_local_address());
    auto b = net::UdpSocket::bind(any_local_address());
    QVERIFY_OK(a);
    QVERIFY_OK(b);
    std::vector<std::byte> got;
    QVERIFY_OK(a->send_to(bytes("a"), server));
    QVERIFY(recv_one(*a, got));
    QVERIFY_OK(b->send_to(bytes("b"), server));
    QVERIFY(recv_one(*b, got));
    QCOMPARE(str(got), std::string("b"));
    QVERIFY(c.wait_for([&](const std::vector<Record>& rs) { return ok_actions(rs, t->token, Op::write).size() >= 2; }));
    const auto reads = ok_actions(c.records, t->token, Op::read);
    QCOMPARE(reads[0].peer_id(), 1u);
    QCOMPARE(reads[1].peer_id(), 0u);
    QVERIFY(eng.peers_dropped() >= 1);
    eng.stop();
  }

  // A peer table beyond kMaxPeerAddresses is refused before anything is opened.
  void peer_table_range_checked() {
    auto e = Engine::start(EngineConfig{.peer_addresses = kMaxPeerAddresses + 1});
    QVERIFY(!e);
    QCOMPARE(e.error().value(), EINVAL);
  }
};

QTEST_GUILESS_MAIN(TestDatagramEcho)
#include "tst_datagram_echo.moc"
