// The capture engine's robustness and remaining features, on real kernel objects: payload
// buffers, UDP connect and ICMP errors, echo back-pressure, the still-ready list after the
// drain bound, resets, half-close, SIGPIPE, EINTR (injected and real signals), EMFILE on an
// edge-triggered listener, and the commands and reactions tst_capture_engine does not use.
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine_util.h"
#include "linux/sys.h"  // fault injection (this suite gets core/src on its include path)
#include "poll_thread_util.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;

namespace {

std::string text(const std::vector<std::byte>& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// All of a snapshot's bytes in one direction, concatenated.
std::string joined(const PayloadSnapshot& p, Direction d) {
  std::string s;
  for (const auto& c : p.chunks)
    if (c.direction == d) s += text(c.bytes);
  return s;
}

std::uint64_t sum_values(const std::vector<Record>& rs, const std::function<bool(const Record&)>& pred) {
  std::uint64_t n = 0;
  for (const Record& r : rs)
    if (pred(r)) n += r.value;
  return n;
}

bool is_warning(const Record& r, WarningKind w) {
  return r.kind == RecordKind::warning && r.op == static_cast<std::uint8_t>(w);
}
bool no_engine_error(const std::vector<Record>& rs) {
  return std::none_of(rs.begin(), rs.end(),
                      [](const Record& r) { return is_warning(r, WarningKind::engine_error); });
}

/// A loopback UDP port nothing is bound to (a socket's port, after it closed).
net::SocketAddr closed_udp_port() {
  auto s = plain_udp_socket(any_local_address());
  return s ? local_address(s->get()) : net::SocketAddr();
}

/// The listener's address from source_info, once its source_added arrived.
std::optional<net::SocketAddr> listening_at(Engine& eng, Collector& c, Token listener) {
  if (!c.wait_for(seen(is_kind(RecordKind::source_added, listener)))) return std::nullopt;
  const auto info = eng.source_info(listener);
  return info ? net::SocketAddr::parse(info->local) : std::nullopt;
}

/// The token of the stream accepted from `listener` (the first source_added naming it).
std::optional<Token> accepted_from(Collector& c, Token listener) {
  const auto added = [&](const Record& r) {
    return r.kind == RecordKind::source_added && r.value == listener.value;
  };
  if (!c.wait_for(seen(added))) return std::nullopt;
  return Token(static_cast<std::size_t>(c.records[*c.find(added)].token));
}


std::atomic<int> g_on_poll_thread{0};
std::atomic<int> g_signals{0};
std::atomic<pid_t> g_target_tid{0};
extern "C" void on_sigusr1(int) {
  g_signals.fetch_add(1);
  if (::gettid() == g_target_tid.load()) g_on_poll_thread.fetch_add(1);
}

}  // namespace

class TestCaptureRobust : public CoreTest {
  Q_OBJECT
 private slots:
  // ---- payload ----

  // Both directions are kept, in order, with offsets; `since` returns only what is new; the
  // payload outlives the source.
  void payload_kept_both_directions() {
    START_ENGINE(eng, c);
    auto p = eng.submit(cmd::SocketPair{});
    QVERIFY_OK(p);
    QVERIFY_OK(eng.submit(cmd::SetReaction{p->token2, ReactionSpec{Reaction::echo}}));
    QVERIFY_OK(eng.submit(cmd::Write{p->token, "hello"}));
    QVERIFY(c.wait_for(seen(is_action(p->token2, Op::write, Outcome::ok))));
    QVERIFY_OK(eng.submit(cmd::Read{p->token, 100}));
    QVERIFY(c.wait_for(seen(is_action(p->token, Op::read, Outcome::ok))));

    const auto a = eng.payload(p->token);
    QVERIFY(a);
    QCOMPARE(a->chunks.size(), std::size_t{2});
    QCOMPARE(a->chunks[0].direction, Direction::out);
    QCOMPARE(a->chunks[1].direction, Direction::in);
    QCOMPARE(qs(text(a->chunks[0].bytes)), qs("hello"));
    QCOMPARE(qs(text(a->chunks[1].bytes)), qs("hello"));
    QCOMPARE(a->chunks[0].offset, std::uint64_t{0});
    QCOMPARE(a->chunks[1].offset, std::uint64_t{5});
    QVERIFY(a->chunks[0].t_ns <= a->chunks[1].t_ns);
    // The action reporting a kept read or write carries the capture time of its bytes.
    QCOMPARE(c.records[*c.find(is_action(p->token, Op::write, Outcome::ok))].t_ns, a->chunks[0].t_ns);
    QCOMPARE(c.records[*c.find(is_action(p->token, Op::read, Outcome::ok))].t_ns, a->chunks[1].t_ns);
    QVERIFY(!a->chunks[0].peer);
    QCOMPARE(a->next, std::uint64_t{10});
    QCOMPARE(a->evicted, std::uint64_t{0});
    QVERIFY(!a->closed);
    const auto b = eng.payload(p->token2);
    QVERIFY(b);
    QCOMPARE(qs(joined(*b, Direction::in)), qs("hello"));
    QCOMPARE(qs(joined(*b, Direction::out)), qs("hello"));

    // Only what is new, from the middle of a chunk on.
    const auto tail = eng.payload(p->token, 7);
    QVERIFY(tail);
    QCOMPARE(tail->chunks.size(), std::size_t{1});
    QCOMPARE(tail->chunks[0].offset, std::uint64_t{7});
    QCOMPARE(qs(text(tail->chunks[0].bytes)), qs("llo"));
    QVERIFY(eng.payload(p->token, a->next)->chunks.empty());

    QVERIFY_OK(eng.submit(cmd::Close{p->token}));
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_removed, p->token))));
    const auto after = eng.payload(p->token);
    QVERIFY(after);
    QVERIFY(after->closed);
    QCOMPARE(qs(joined(*after, Direction::out)), qs("hello"));
    QVERIFY(!eng.payload(Token(999)));
    eng.stop();
    QVERIFY(eng.payload(p->token2));  // until the engine is destroyed
  }

  // A tiny bound: the oldest bytes are evicted and counted; one warning per source.
  void payload_bound_evicts_and_warns() {
    START_ENGINE(eng, c, EngineConfig{.payload_bytes_per_source = 16});
    auto p = eng.submit(cmd::Pipe{});
    QVERIFY_OK(p);
    QVERIFY_OK(eng.submit(cmd::Write{p->token, "0123456789"}));
    QVERIFY_OK(eng.submit(cmd::Write{p->token, "abcdefghij"}));
    QVERIFY_OK(eng.submit(cmd::Write{p->token, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}));  // more than the bound
    QVERIFY(c.wait_for([&](const auto& rs) {
      return std::count_if(rs.begin(), rs.end(), is_action(p->token, Op::write)) == 3;
    }));
    const auto s = eng.payload(p->token);
    QVERIFY(s);
    QCOMPARE(s->next, std::uint64_t{46});
    QCOMPARE(s->evicted, std::uint64_t{30});
    QCOMPARE(s->chunks.size(), std::size_t{1});
    QCOMPARE(s->chunks[0].offset, std::uint64_t{30});
    QCOMPARE(qs(text(s->chunks[0].bytes)), qs("KLMNOPQRSTUVWXYZ"));
    const auto warned = [&](const Record& r) {
      return is_warning(r, WarningKind::payload_truncated) && r.token == p->token.value;
    };
    QCOMPARE(std::count_if(c.records.begin(), c.records.end(), warned), 1);
    QCOMPARE(c.records[*c.find(warned)].value, std::uint64_t{4});  // the second write evicted "0123"
    eng.stop();
  }

  // The discard reaction keeps nothing; closed sources' payloads are forgotten past the bound.
  void payload_discard_and_closed_bound() {
    START_ENGINE(eng, c, EngineConfig{.payload_closed_sources = 1});
    auto p = eng.submit(cmd::Pipe{with(Reaction::discard)});
    QVERIFY_OK(p);
    QVERIFY_OK(eng.submit(cmd::Write{p->token, "thrown away"}));
    QVERIFY(c.wait_for(
        seen([&](const Record& r) { return is_action(p->token2, Op::drain)(r) && r.value == 11; })));
    QVERIFY(!eng.payload(p->token2));
    QVERIFY(eng.payload(p->token));

    auto q = eng.submit(cmd::Pipe{});
    QVERIFY_OK(q);
    QVERIFY_OK(eng.submit(cmd::Write{q->token, "second"}));
    QVERIFY_OK(eng.submit(cmd::Close{p->token}));
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_removed, p->token))));
    QVERIFY(eng.payload(p->token));  // one closed source is kept
    QVERIFY_OK(eng.submit(cmd::Close{q->token}));
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_removed, q->token))));
    QVERIFY(!eng.payload(p->token));  // the older one is forgotten
    QCOMPARE(qs(joined(*eng.payload(q->token), Direction::out)), qs("second"));
    eng.stop();
  }

  // ---- UDP ----

  // An unconnected UDP socket: a read reports n, and the sender is kept with the payload.
  void udp_read_reports_peer() {
    START_ENGINE(eng, c);
    auto u = eng.submit(cmd::UdpBind{any_local_address(), with(Reaction::read)});
    QVERIFY_OK(u);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, u->token))));
    const auto at = net::SocketAddr::parse(eng.source_info(u->token)->local);
    QVERIFY(at);
    auto peer = plain_udp_socket(any_local_address());
    QVERIFY_OK(peer);
    QVERIFY_OK(connect_fd(peer->get(), *at));
    CHECKED_WRITE(plain_send(peer->get(), bytes("dgram")), 5);
    QVERIFY(c.wait_for(seen(
        [&](const Record& r) { return is_action(u->token, Op::read, Outcome::ok)(r) && r.value == 5; })));
    const auto s = eng.payload(u->token);
    QVERIFY(s);
    QCOMPARE(s->chunks.size(), std::size_t{1});
    QVERIFY(s->chunks[0].peer);
    QCOMPARE(*s->chunks[0].peer, local_address(peer->get()));
    QCOMPARE(qs(text(s->chunks[0].bytes)), qs("dgram"));
    // Unconnected, a write has no destination: an error action, nothing else.
    QVERIFY_OK(eng.submit(cmd::Write{u->token, "x"}));
    QVERIFY(c.wait_for(seen(is_action(u->token, Op::write, Outcome::error))));
    QCOMPARE(c.records[*c.find(is_action(u->token, Op::write))].err, EDESTADDRREQ);
    eng.stop();
  }

  // A connected UDP socket sending to a closed port: the ICMP error is EPOLLERR and a recorded
  // ECONNREFUSED (by hand with no reaction, and by the drain reaction); the socket stays and works.
  void udp_connected_icmp_refused() {
    const net::SocketAddr closed = closed_udp_port();
    QVERIFY(closed.port() != 0);
    START_ENGINE(eng, c);
    auto u = eng.submit(cmd::UdpBind{any_local_address(), {}, false, closed});
    QVERIFY_OK(u);
    QVERIFY(c.wait_for(seen(is_action(u->token, Op::connect, Outcome::ok))));
    QCOMPARE(qs(eng.source_info(u->token)->peer), qs(closed.to_string()));
    QVERIFY_OK(eng.submit(cmd::Write{u->token, "ping"}));
    QVERIFY(c.wait_for(seen([&](const Record& r) {
      return is_kind(RecordKind::readiness, u->token)(r) && (r.bits & EPOLLERR);
    })));
    QVERIFY_OK(eng.submit(cmd::Read{u->token, 100}));
    QVERIFY(c.wait_for(seen(is_action(u->token, Op::read))));
    const auto refused = c.find(is_action(u->token, Op::read));
    QCOMPARE(c.records[*refused].outcome, Outcome::error);
    QCOMPARE(c.records[*refused].err, ECONNREFUSED);

    QVERIFY_OK(eng.submit(cmd::SetReaction{u->token, ReactionSpec{Reaction::drain}}));
    QVERIFY_OK(eng.submit(cmd::Write{u->token, "again"}));
    QVERIFY(c.wait_for(seen(is_action(u->token, Op::drain, Outcome::error))));
    QCOMPARE(c.records[*c.find(is_action(u->token, Op::drain, Outcome::error))].err, ECONNREFUSED);
    QVERIFY(eng.source_info(u->token));  // not closed
    QVERIFY(!c.find(is_kind(RecordKind::source_removed, u->token)));

    // A non-loopback peer is refused like a non-loopback bind, and nothing is opened.
    auto remote =
        eng.submit(cmd::UdpBind{any_local_address(), {}, false, net::SocketAddr::parse("192.0.2.1:9")});
    QVERIFY_OK(remote);
    QVERIFY(c.wait_for(seen(is_action(remote->token, Op::create, Outcome::error))));
    QCOMPARE(c.records[*c.find(is_action(remote->token, Op::create))].err, EACCES);
    QVERIFY(no_engine_error(c.records));
    eng.stop();
  }

  // ---- echo back-pressure ----

  // The echo's peer fills the echo's way back and does not read: the echo holds the rest, stops
  // reading, waits for writable (an EPOLLOUT it never asked for), then resumes; nothing is lost.
  void echo_back_pressure_loses_nothing() {
    START_ENGINE(eng, c);
    auto p = eng.submit(cmd::SocketPair{});
    QVERIFY_OK(p);
    const Token user = p->token;
    const Token echo = p->token2;
    QVERIFY_OK(eng.submit(cmd::SetReaction{echo, ReactionSpec{Reaction::echo}}));
    // The echo held bytes back: a write back took less than the read before it.
    const auto held = [&](const std::vector<Record>& rs) {
      std::uint64_t last_read = 0;
      for (const Record& r : rs) {
        if (is_action(echo, Op::read, Outcome::ok)(r)) last_read = r.value;
        if (is_action(echo, Op::write)(r) && (r.outcome == Outcome::would_block || r.value < last_read))
          return true;
      }
      return false;
    };
    // Fill until the echo holds bytes and stopped reading: then its peer's fill takes nothing.
    std::uint64_t sent = 0;
    for (Deadline d;;) {
      QVERIFY(!d.expired());
      const std::size_t from = c.records.size();
      QVERIFY_OK(eng.submit(cmd::Fill{user}));
      QVERIFY(c.wait_for([&](const auto& rs) {
        return std::any_of(rs.begin() + static_cast<std::ptrdiff_t>(from), rs.end(),
                           is_action(user, Op::fill));
      }));
      const Record f = c.records[*c.find(is_action(user, Op::fill), from)];
      QCOMPARE(f.outcome == Outcome::error, false);
      sent += f.value;
      if (f.value == 0 && held(c.records)) break;
    }
    QVERIFY(sent > 0);
    std::uint64_t back = 0;
    for (Deadline d; back < sent && !d.expired();) {
      const std::size_t from = c.records.size();
      QVERIFY_OK(eng.submit(cmd::Drain{user}));
      QVERIFY(c.wait_for([&](const auto& rs) {
        return std::any_of(rs.begin() + static_cast<std::ptrdiff_t>(from), rs.end(),
                           is_action(user, Op::drain));
      }));
      back += c.records[*c.find(is_action(user, Op::drain), from)].value;
    }
    QCOMPARE(back, sent);
    QVERIFY(c.find(
        [&](const Record& r) { return is_kind(RecordKind::readiness, echo)(r) && (r.bits & EPOLLOUT); }));
    QCOMPARE(sum_values(c.records, is_action(echo, Op::write, Outcome::ok)), sent);
    QCOMPARE(sum_values(c.records, is_action(echo, Op::read, Outcome::ok)), sent);
    // Reading resumed: one more round trip works.
    QVERIFY_OK(eng.submit(cmd::Write{user, "tail"}));
    QVERIFY(c.wait_for(
        seen([&](const Record& r) { return is_action(echo, Op::write, Outcome::ok)(r) && r.value == 4; })));
    QVERIFY(no_engine_error(c.records));
    eng.stop();
  }

  // ---- the still-ready list ----

  // A drain reaction stopped by a small max_drain_bytes continues in the next iterations
  // without a new edge, until would-block: every byte is read.
  void drain_bound_continues_round_robin() {
    START_ENGINE(eng, c, EngineConfig{.max_drain_bytes = 4096});
    auto p = eng.submit(cmd::SocketPair{});
    QVERIFY_OK(p);
    QVERIFY_OK(eng.submit(cmd::SetReaction{p->token2, ReactionSpec{Reaction::drain}}));
    QVERIFY_OK(eng.submit(cmd::Write{p->token, std::string(100'000, 'r')}));
    QVERIFY(c.wait_for(seen(is_action(p->token, Op::write))));
    const std::uint64_t sent = c.records[*c.find(is_action(p->token, Op::write))].value;
    QVERIFY(sent > 3 * 4096);
    const auto drained = is_action(p->token2, Op::drain);
    QVERIFY(c.wait_for([&](const auto& rs) { return sum_values(rs, drained) == sent; }));
    QVERIFY(c.wait_for(seen(is_action(p->token2, Op::drain, Outcome::would_block))));
    const auto at_bound = [&](const Record& r) {
      return is_action(p->token2, Op::drain, Outcome::ok)(r) && r.value == 4096;
    };
    QVERIFY(std::count_if(c.records.begin(), c.records.end(), at_bound) >= 3);
    // The Fill command is bounded the same way.
    QVERIFY_OK(eng.submit(cmd::Fill{p->token}));
    QVERIFY(c.wait_for(seen(is_action(p->token, Op::fill))));
    QCOMPARE(c.records[*c.find(is_action(p->token, Op::fill))].value, std::uint64_t{4096});
    eng.stop();
  }

  // ---- resets, half-close, SIGPIPE ----

  // A peer's reset (SO_LINGER 0) is a recorded ECONNRESET, then the reaction closes the stream.
  void peer_reset_recorded_and_closed() {
    START_ENGINE(eng, c);
    auto l = eng.submit(cmd::TcpListen{any_local_address(), with(Reaction::drain)});
    QVERIFY_OK(l);
    const auto at = listening_at(eng, c, l->token);
    QVERIFY(at);
    auto client = plain_connect(*at);
    QVERIFY_OK(client);
    const auto stream = accepted_from(c, l->token);
    QVERIFY(stream);
    const linger hard{1, 0};
    QCOMPARE(::setsockopt(client->get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard), 0);
    client->reset();
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_removed, *stream))));
    const auto reset = c.find(is_action(*stream, Op::drain, Outcome::error));
    QVERIFY(reset);
    QCOMPARE(c.records[*reset].err, ECONNRESET);
    QVERIFY(*reset < *c.find(is_kind(RecordKind::source_removed, *stream)));
    QVERIFY(eng.source_info(l->token));  // the listener goes on
    eng.stop();
  }

  // Writing to a reset socket is an EPIPE action even with SIGPIPE at its default: no signal.
  void write_after_reset_is_epipe_not_sigpipe() {
    START_ENGINE(eng, c);
    DefaultSigpipe sigpipe;  // after start: Engine::start set SIGPIPE to ignored
    QVERIFY(sigpipe.installed());
    auto l = eng.submit(cmd::TcpListen{any_local_address(), with(Reaction::auto_accept)});
    QVERIFY_OK(l);
    const auto at = listening_at(eng, c, l->token);
    QVERIFY(at);
    auto client = plain_connect(*at);
    QVERIFY_OK(client);
    const auto stream = accepted_from(c, l->token);
    QVERIFY(stream);
    const linger hard{1, 0};
    QCOMPARE(::setsockopt(client->get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard), 0);
    client->reset();
    QVERIFY(c.wait_for(seen(
        [&](const Record& r) { return is_kind(RecordKind::readiness, *stream)(r) && (r.bits & EPOLLHUP); })));
    for (int i = 0; i < 3; ++i) QVERIFY_OK(eng.submit(cmd::Write{*stream, "x"}));
    QVERIFY(c.wait_for([&](const auto& rs) {
      return std::count_if(rs.begin(), rs.end(), is_action(*stream, Op::write)) == 3;
    }));
    bool epipe = false;
    for (const Record& r : c.records) {
      if (!is_action(*stream, Op::write)(r)) continue;
      QCOMPARE(r.outcome, Outcome::error);
      QVERIFY2(r.err == EPIPE || r.err == ECONNRESET, std::to_string(r.err).c_str());
      epipe = epipe || r.err == EPIPE;
    }
    QVERIFY(epipe);
    eng.stop();
  }

  // The peer shuts its write side: read_closed with the data, then the data and EOF; the
  // engine's writes still reach the peer.
  void half_close() {
    START_ENGINE(eng, c);
    auto l = eng.submit(cmd::TcpListen{any_local_address(), with(Reaction::auto_accept)});
    QVERIFY_OK(l);
    const auto at = listening_at(eng, c, l->token);
    QVERIFY(at);
    auto client = plain_connect(*at);
    QVERIFY_OK(client);
    const auto stream = accepted_from(c, l->token);
    QVERIFY(stream);
    CHECKED_WRITE(plain_send(client->get(), bytes("abc")), 3);
    QCOMPARE(::shutdown(client->get(), SHUT_WR), 0);
    QVERIFY(c.wait_for(seen([&](const Record& r) {
      return is_kind(RecordKind::readiness, *stream)(r) && (r.bits & EPOLLRDHUP);
    })));
    QVERIFY_OK(eng.submit(cmd::Drain{*stream}));
    QVERIFY(c.wait_for(seen(is_action(*stream, Op::drain))));
    const Record drained = c.records[*c.find(is_action(*stream, Op::drain))];
    QCOMPARE(drained.outcome, Outcome::eof);
    QCOMPARE(drained.value, std::uint64_t{3});
    QVERIFY_OK(eng.submit(cmd::Write{*stream, "xyz"}));
    QVERIFY(c.wait_for(seen(is_action(*stream, Op::write, Outcome::ok))));
    std::array<std::byte, 8> buf{};
    EXPECT_READ(plain_recv(client->get(), buf), buf, "xyz");
    QCOMPARE(qs(joined(*eng.payload(*stream), Direction::in)), qs("abc"));
    eng.stop();
  }

  // ---- EINTR ----

  // epoll_wait failing with EINTR (injected, three times in a row) is retried, not an error.
  void eintr_from_epoll_wait_injected() {
    START_ENGINE(eng, c);
    const pid_t tid = wait_poll_thread();
    QVERIFY(tid != 0);
    const FaultGuard faults;
    QVERIFY(sys::fault::inject(::epoll_wait, EINTR, 3, tid));
    auto first = eng.submit(cmd::Note{"wakes the wait the injection came too late for"});
    QVERIFY_OK(first);
    QVERIFY(c.wait_for(seen([](const Record& r) { return r.kind == RecordKind::note; })));
    auto second = eng.submit(cmd::Note{"after three EINTRs"});
    QVERIFY_OK(second);
    QVERIFY(c.wait_for([](const auto& rs) { return count(rs, RecordKind::note) == 2; }));
    QCOMPARE(sys::fault::remaining(::epoll_wait), 0);
    QCOMPARE(sys::fault::injected(::epoll_wait), 3);
    // The interrupted waits left no poll_return; the one that woke for the note counted the
    // Waker's event (value) and says how long it blocked (value2).
    const auto second_note = c.find([](const Record& r) { return r.kind == RecordKind::note; },
                                    *c.find([](const Record& r) { return r.kind == RecordKind::note; }) + 1);
    QVERIFY(second_note && *second_note > 0);
    const Record woke = c.records[*second_note - 1];
    QCOMPARE(woke.kind, RecordKind::poll_return);
    QVERIFY(woke.value >= 1);
    QVERIFY(no_engine_error(c.records));
    eng.stop();
  }

  // A read interrupted by EINTR is retried inside the syscall layer; an injected EAGAIN is a
  // would-block action, and the next read gets the data.
  void eintr_and_eagain_on_read_injected() {
    START_ENGINE(eng, c);
    const pid_t tid = wait_poll_thread();
    QVERIFY(tid != 0);
    auto p = eng.submit(cmd::Pipe{});
    QVERIFY_OK(p);
    QVERIFY_OK(eng.submit(cmd::Write{p->token, "abc"}));
    QVERIFY(c.wait_for(seen(is_action(p->token, Op::write, Outcome::ok))));
    const FaultGuard faults;
    QVERIFY(sys::fault::inject(::read, EINTR, 2, tid));
    QVERIFY_OK(eng.submit(cmd::Read{p->token2, 2}));
    QVERIFY(c.wait_for(seen(is_action(p->token2, Op::read))));
    const Record r1 = c.records[*c.find(is_action(p->token2, Op::read))];
    QCOMPARE(r1.outcome, Outcome::ok);
    QCOMPARE(r1.value, std::uint64_t{2});
    QCOMPARE(sys::fault::injected(::read), 2);

    QVERIFY(sys::fault::inject(::read, EAGAIN, 1, tid));
    QVERIFY_OK(eng.submit(cmd::Read{p->token2, 10}));
    QVERIFY_OK(eng.submit(cmd::Read{p->token2, 10}));
    QVERIFY(c.wait_for([&](const auto& rs) {
      return std::count_if(rs.begin(), rs.end(), is_action(p->token2, Op::read)) == 3;
    }));
    const auto blocked = c.find(is_action(p->token2, Op::read), *c.find(is_action(p->token2, Op::read)) + 1);
    QCOMPARE(c.records[*blocked].outcome, Outcome::would_block);
    const auto rest = c.find(is_action(p->token2, Op::read), *blocked + 1);
    QCOMPARE(c.records[*rest].outcome, Outcome::ok);
    QCOMPARE(c.records[*rest].value, std::uint64_t{1});
    QCOMPARE(sys::fault::injected(::read), 3);
    QVERIFY(no_engine_error(c.records));
    eng.stop();
  }

  // Real signals (a SIGUSR1 handler without SA_RESTART) sent to the blocked poll thread:
  // no error record, and the engine keeps working.
  void signals_to_poll_thread_survived() {
    START_ENGINE(eng, c);
    const pid_t tid = wait_poll_thread();
    QVERIFY(tid != 0);
    struct sigaction sa {};
    struct sigaction old {};
    sa.sa_handler = on_sigusr1;
    sa.sa_flags = 0;  // no SA_RESTART: epoll_wait returns EINTR
    sigemptyset(&sa.sa_mask);
    QCOMPARE(::sigaction(SIGUSR1, &sa, &old), 0);
    g_target_tid = tid;
    g_on_poll_thread = 0;
    g_signals = 0;
    for (int i = 0; i < 20; ++i) {
      QCOMPARE(::syscall(SYS_tgkill, ::getpid(), tid, SIGUSR1), 0L);
      std::this_thread::sleep_for(5ms);  // pacing only: let the thread block again between signals
    }
    auto note = eng.submit(cmd::Note{"still here"});
    QVERIFY_OK(note);
    const bool noted = c.wait_for(seen([](const Record& r) { return r.kind == RecordKind::note; }));
    ::sigaction(SIGUSR1, &old, nullptr);
    QVERIFY(noted);
    QVERIFY(g_on_poll_thread.load() >= 1);  // pending signals may merge; at least one interrupted
    QCOMPARE(g_on_poll_thread.load(), g_signals.load());
    auto p = eng.submit(cmd::Pipe{with(Reaction::read)});
    QVERIFY_OK(p);
    QVERIFY_OK(eng.submit(cmd::Write{p->token, "ok"}));
    QVERIFY(c.wait_for(seen(is_action(p->token2, Op::read, Outcome::ok))));
    QVERIFY(no_engine_error(c.records));
    eng.stop();
  }

  // ---- EMFILE ----

  // An edge-triggered auto-accept listener hits EMFILE: the reserve descriptor drains the
  // backlog (warning, count), and once descriptors are free again it accepts new connections.
  void emfile_edge_listener_keeps_accepting() {
    START_ENGINE(eng, c);
    auto l = eng.submit(cmd::TcpListen{any_local_address(), with(Reaction::auto_accept)});
    QVERIFY_OK(l);
    const auto at = listening_at(eng, c, l->token);
    QVERIFY(at);
    std::vector<OwnedFd> clients;  // sockets made now, connected while no descriptor is left
    for (int i = 0; i < 2; ++i) {
      auto s = plain_socket(AF_INET);
      QVERIFY_OK(s);
      clients.push_back(std::move(*s));
    }
    rlimit old{};
    QCOMPARE(::getrlimit(RLIMIT_NOFILE, &old), 0);
    rlimit low = old;
    low.rlim_cur = open_fd_count();
    QCOMPARE(::setrlimit(RLIMIT_NOFILE, &low), 0);
    std::vector<unix::EventFd> fillers;
    for (;;) {
      auto f = unix::EventFd::create();
      if (!f) break;
      fillers.push_back(std::move(*f));
    }
    bool connected = true;
    for (auto& s : clients) connected = connected && connect_fd(s.get(), *at).has_value();
    const auto emfile = [](const Record& r) { return is_warning(r, WarningKind::emfile); };
    // Both connections drained by the reserve trick (in one warning or, if the second came
    // after the first was handled, two).
    const bool warned = connected && c.wait_for([&](const auto& rs) { return sum_values(rs, emfile) == 2; });
    fillers.clear();
    QCOMPARE(::setrlimit(RLIMIT_NOFILE, &old), 0);
    QVERIFY(connected);
    QVERIFY(warned);
    QCOMPARE(c.records[*c.find(is_action(l->token, Op::accept, Outcome::error))].err, EMFILE);
    QVERIFY(!c.find(is_kind(RecordKind::source_added, Token(static_cast<std::size_t>(l->token.value + 1)))));

    auto later = plain_connect(*at);
    QVERIFY_OK(later);
    const auto stream = accepted_from(c, l->token);
    QVERIFY(stream);
    QVERIFY(no_engine_error(c.records));
    eng.stop();
  }

  // ---- the commands and reactions the other suite does not use ----

  // SetInterest, Fill, Drain, ShutdownWrite, ShutdownRead on a socketpair; EOPNOTSUPP for an
  // operation the kind cannot do.
  void stream_commands() {
    START_ENGINE(eng, c);
    auto p = eng.submit(cmd::SocketPair{});
    QVERIFY_OK(p);
    QVERIFY_OK(eng.submit(cmd::SetInterest{p->token2, Interest::READABLE | Interest::WRITABLE}));
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_changed, p->token2))));
    const Record changed = c.records[*c.find(is_kind(RecordKind::source_changed, p->token2))];
    QCOMPARE(changed.bits & 0xff, std::uint32_t{(Interest::READABLE | Interest::WRITABLE).bits()});
    QVERIFY(c.wait_for(seen([&](const Record& r) {
      return is_kind(RecordKind::readiness, p->token2)(r) && (r.bits & EPOLLOUT);
    })));

    QVERIFY_OK(eng.submit(cmd::Fill{p->token}));
    QVERIFY_OK(eng.submit(cmd::Drain{p->token2}));
    QVERIFY(c.wait_for(seen(is_action(p->token2, Op::drain))));
    const Record filled = c.records[*c.find(is_action(p->token, Op::fill))];
    const Record drained = c.records[*c.find(is_action(p->token2, Op::drain))];
    QCOMPARE(filled.outcome, Outcome::would_block);
    QVERIFY(filled.value > 0);
    QCOMPARE(drained.outcome, Outcome::would_block);
    QCOMPARE(drained.value, filled.value);

    QVERIFY_OK(eng.submit(cmd::ShutdownWrite{p->token}));
    QVERIFY_OK(eng.submit(cmd::Read{p->token2, 10}));
    QVERIFY_OK(eng.submit(cmd::ShutdownRead{p->token2}));
    QVERIFY_OK(eng.submit(cmd::Accept{p->token}));
    QVERIFY_OK(eng.submit(cmd::Read{p->token, 0}));
    QVERIFY_OK(eng.submit(cmd::SetReaction{p->token, ReactionSpec{Reaction::read, 0}}));
    QVERIFY_OK(eng.submit(cmd::EventFdWrite{p->token, 1}));
    QVERIFY(c.wait_for(seen(is_action(p->token, Op::eventfd_write))));
    QVERIFY(c.find(is_action(p->token, Op::shutdown_write, Outcome::ok)));
    QVERIFY(c.find(is_action(p->token2, Op::read, Outcome::eof)));
    QVERIFY(c.find(is_action(p->token2, Op::shutdown_read, Outcome::ok)));
    QCOMPARE(c.records[*c.find(is_action(p->token, Op::accept))].err, EOPNOTSUPP);
    QCOMPARE(c.records[*c.find(is_action(p->token, Op::eventfd_write))].err, EOPNOTSUPP);
    // Bad input: a clear error, nothing changed (a 0-byte read would look like end-of-file).
    QCOMPARE(c.records[*c.find(is_action(p->token, Op::read))].err, EINVAL);
    QCOMPARE(c.records[*c.find(is_action(p->token, Op::modify))].err, EINVAL);
    QVERIFY(!c.find(is_kind(RecordKind::source_changed, p->token)));
    eng.stop();
  }

  // A periodic timer read by the read reaction, then disarmed; an eventfd with the drain reaction.
  void timer_periodic_and_disarm() {
    START_ENGINE(eng, c);
    auto t = eng.submit(cmd::TimerFdCreate{with(Reaction::read)});
    QVERIFY_OK(t);
    QVERIFY_OK(eng.submit(cmd::TimerArm{t->token, 1ms, 1ms}));
    QVERIFY(c.wait_for([&](const auto& rs) {
      return std::count_if(rs.begin(), rs.end(), is_action(t->token, Op::read, Outcome::ok)) >= 3;
    }));
    QVERIFY_OK(eng.submit(cmd::TimerDisarm{t->token}));
    QVERIFY(c.wait_for(seen(is_action(t->token, Op::timer_disarm, Outcome::ok))));
    for (const Record& r : c.records)
      if (is_action(t->token, Op::read, Outcome::ok)(r)) QVERIFY(r.value >= 1);  // expirations
    auto e = eng.submit(cmd::EventFdCreate{0, false, with(Reaction::drain)});
    QVERIFY_OK(e);
    QVERIFY_OK(eng.submit(cmd::EventFdWrite{e->token, 7}));
    QVERIFY(c.wait_for(seen(is_action(e->token, Op::eventfd_read, Outcome::ok))));
    QCOMPARE(c.records[*c.find(is_action(e->token, Op::eventfd_read, Outcome::ok))].value, std::uint64_t{7});
    eng.stop();
  }

  // A bound Unix datagram socket with the drain reaction receives a plain peer's datagrams;
  // an unconnected one cannot write (an error action).
  void unix_datagram() {
    const Unlink path(temp_path("engine-dgram"));
    START_ENGINE(eng, c);
    auto d = eng.submit(cmd::UnixDatagramBind{path.path, with(Reaction::drain)});
    QVERIFY_OK(d);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, d->token))));
    QCOMPARE(qs(eng.source_info(d->token)->local), qs(path.path));
    auto peer = plain_socket(AF_UNIX, SOCK_DGRAM);
    QVERIFY_OK(peer);
    QVERIFY_OK(connect_fd(peer->get(), path.path));
    CHECKED_WRITE(plain_send(peer->get(), bytes("one")), 3);
    CHECKED_WRITE(plain_send(peer->get(), bytes("two!")), 4);
    QVERIFY(c.wait_for([&](const auto& rs) { return sum_values(rs, is_action(d->token, Op::drain)) == 7; }));
    QCOMPARE(qs(joined(*eng.payload(d->token), Direction::in)), qs("onetwo!"));
    QVERIFY_OK(eng.submit(cmd::Write{d->token, "x"}));
    QVERIFY(c.wait_for(seen(is_action(d->token, Op::write, Outcome::error))));
    eng.stop();
  }

  // A bad config is refused before anything is opened.
  void bad_config_refused() {
    const std::size_t fds = open_fd_count();
    auto a = Engine::start(EngineConfig{.echo_pending_bytes = 0});
    auto b = Engine::start(EngineConfig{.max_drain_bytes = 0});
    auto big = Engine::start(EngineConfig{.payload_bytes_per_source = (std::size_t{1} << 30) + 1});
    QVERIFY(!a && !b && !big);
    QCOMPARE(a.error().value(), EINVAL);
    QCOMPARE(b.error().value(), EINVAL);
    QCOMPARE(big.error().value(), EINVAL);
    QCOMPARE(open_fd_count(), fds);
  }
};

QTEST_GUILESS_MAIN(TestCaptureRobust)
#include "tst_capture_robust.moc"
