// The capture engine on real loopback sockets: commands in, records out, nothing leaked.
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "engine_util.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;

class TestCaptureEngine : public CoreTest {
  Q_OBJECT
 private slots:
  // A listener with the echo reaction accepts a plain client, echoes, and closes at EOF;
  // every step is a record in order.
  void listener_auto_accept_echo() {
    START_ENGINE(eng, c);
    auto lt = eng.submit(cmd::TcpListen{any_local_address(), with(Reaction::echo)});
    QVERIFY_OK(lt);
    const Token listener = lt->token;
    QCOMPARE(listener, Token(1));
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, listener))));
    const auto info = eng.source_info(listener);
    QVERIFY(info);
    QCOMPARE(info->kind, SourceKind::tcp_listener);
    const auto addr = net::SocketAddr::parse(info->local);
    QVERIFY2(addr, info->local.c_str());

    auto client = plain_connect(*addr);
    QVERIFY_OK(client);
    CHECKED_WRITE(plain_send(client->get(), bytes("hello")), 5);
    std::array<std::byte, 16> buf{};
    EXPECT_READ(plain_recv(client->get(), buf), buf, "hello");
    client->reset();  // EOF for the engine's stream

    // The accepted stream: a source_added whose value names the listener.
    const auto accepted_added = [&](const Record& r) {
      return r.kind == RecordKind::source_added && r.value == listener.value;
    };
    QVERIFY(c.wait_for(seen(accepted_added)));
    const Record added = c.records[*c.find(accepted_added)];
    const Token stream(static_cast<std::size_t>(added.token));
    QCOMPARE(added.op, static_cast<std::uint8_t>(SourceKind::tcp_stream));
    QVERIFY(stream.value > listener.value);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_removed, stream))));

    const auto& rs = c.records;
    const auto l_added = c.find(is_kind(RecordKind::source_added, listener));
    const auto l_ready = c.find(is_kind(RecordKind::readiness, listener));
    const auto accepted = c.find(is_action(listener, Op::accept, Outcome::ok));
    const auto s_added = c.find(is_kind(RecordKind::source_added, stream));
    const auto s_ready = c.find(
        [&](const Record& r) { return is_kind(RecordKind::readiness, stream)(r) && (r.bits & EPOLLIN); });
    QVERIFY(l_added && l_ready && accepted && s_added && s_ready);
    QVERIFY(*l_added < *l_ready && *l_ready < *accepted && *accepted < *s_added && *s_added < *s_ready);
    QCOMPARE(rs[*accepted].value, std::uint64_t{stream.value});
    QVERIFY(rs[*l_ready].bits & EPOLLIN);
    QVERIFY(rs[*s_ready].fd >= 0);
    QCOMPARE(rs[*s_ready].fd, rs[*s_added].fd);
    const auto read5 =
        c.find([&](const Record& r) { return is_action(stream, Op::read, Outcome::ok)(r) && r.value == 5; },
               *s_ready);
    QVERIFY(read5);
    const auto write5 =
        c.find([&](const Record& r) { return is_action(stream, Op::write, Outcome::ok)(r) && r.value == 5; },
               *read5);
    QVERIFY(write5);
    const auto eof = c.find(is_action(stream, Op::read, Outcome::eof), *write5);
    QVERIFY(eof);
    const auto removed = c.find(is_kind(RecordKind::source_removed, stream), *eof);
    QVERIFY(removed);
    QCOMPARE(rs[*removed].value, std::uint64_t{5});   // bytes in
    QCOMPARE(rs[*removed].value2, std::uint64_t{5});  // bytes out
    QVERIFY(!eng.source_info(stream));
    eng.stop();
  }

  // A connect to a closed port: in progress, then the event, then the refusal from SO_ERROR.
  void connect_refused() {
    const net::SocketAddr target = closed_port();
    QVERIFY(target.port() != 0);
    START_ENGINE(eng, c);
    auto t = eng.submit(cmd::TcpConnect{target});
    QVERIFY_OK(t);
    QVERIFY(c.wait_for(seen(is_action(t->token, Op::connect, Outcome::error))));
    const auto progress = c.find(is_action(t->token, Op::connect, Outcome::in_progress));
    const auto ready = c.find(is_kind(RecordKind::readiness, t->token));
    const auto refused = c.find(is_action(t->token, Op::connect, Outcome::error));
    QVERIFY(progress && ready && refused);
    QVERIFY(*progress < *ready && *ready < *refused);
    QCOMPARE(c.records[*refused].err, ECONNREFUSED);
    QVERIFY(!c.find(is_action(t->token, Op::connect, Outcome::ok)));
    // Reaction none: the user closes it.
    QVERIFY(eng.source_info(t->token));
    QVERIFY_OK(eng.submit(cmd::Close{t->token}));
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_removed, t->token))));
    eng.stop();
  }

  // A connect to a listener: in progress, then writable, then connected. Never before the event.
  void connect_connected() {
    auto listener = plain_listener(any_local_address());
    QVERIFY_OK(listener);
    START_ENGINE(eng, c);
    auto t = eng.submit(cmd::TcpConnect{local_address(listener->get())});
    QVERIFY_OK(t);
    QVERIFY(c.wait_for(seen(is_action(t->token, Op::connect, Outcome::ok))));
    const auto progress = c.find(is_action(t->token, Op::connect, Outcome::in_progress));
    const auto ready = c.find(is_kind(RecordKind::readiness, t->token));
    const auto ok = c.find(is_action(t->token, Op::connect, Outcome::ok));
    QVERIFY(progress && ready && ok);
    QVERIFY(*progress < *ready && *ready < *ok);
    QVERIFY(c.records[*ready].bits & EPOLLOUT);
    QVERIFY(!c.find(is_action(t->token, Op::connect, Outcome::error)));
    auto info = eng.source_info(t->token);
    QVERIFY(info);
    QCOMPARE(info->peer, local_address(listener->get()).to_string());
    auto peer = plain_accept(listener->get());
    QVERIFY_OK(peer);
    eng.stop();
  }

  // Asked for readable only, in level mode: the connect's outcome is still seen (writable
  // is watched while it is in progress), and afterwards writable no longer fires.
  void connect_outcome_with_readable_interest_only() {
    auto listener = plain_listener(any_local_address());
    QVERIFY_OK(listener);
    START_ENGINE(eng, c);
    auto t = eng.submit(cmd::TcpConnect{local_address(listener->get()), SourceOptions{Interest::READABLE, Trigger::level}});
    QVERIFY_OK(t);
    QVERIFY(c.wait_for(seen(is_action(t->token, Op::connect, Outcome::ok))));
    auto peer = plain_accept(listener->get());
    QVERIFY_OK(peer);
    QVERIFY_OK(plain_send(peer->get(), bytes("hi")));
    // Level-triggered readable fires again and again while the 2 bytes stay unread; a
    // writable event after the connect would mean the interest was not restored.
    QVERIFY(c.wait_for([&](const std::vector<Record>& rs) {
      return std::count_if(rs.begin(), rs.end(), [&](const Record& r) {
               return r.kind == RecordKind::readiness && r.token == t->token.value && (r.bits & EPOLLIN);
             }) >= 3;
    }));
    const auto ok = c.find(is_action(t->token, Op::connect, Outcome::ok));
    QVERIFY(ok);
    for (std::size_t i = *ok + 1; i < c.records.size(); ++i) {
      const Record& r = c.records[i];
      if (r.kind == RecordKind::readiness && r.token == t->token.value) QVERIFY2(!(r.bits & EPOLLOUT), "writable after connect");
    }
    eng.stop();
  }

  // Non-loopback binds are refused without allow_remote, and nothing is opened.
  void non_loopback_refused() {
    START_ENGINE(eng, c);
    const auto any = net::SocketAddr::parse("0.0.0.0:0");
    QVERIFY(any);
    const std::size_t fds = open_fd_count();
    auto tl = eng.submit(cmd::TcpListen{*any, with(Reaction::drain)});
    auto tu = eng.submit(cmd::UdpBind{*any, with(Reaction::drain)});
    QVERIFY_OK(tl);
    QVERIFY_OK(tu);
    QVERIFY(c.wait_for(seen(is_action(tu->token, Op::create, Outcome::error))));
    const auto refused = c.find(is_action(tl->token, Op::create, Outcome::error));
    QVERIFY(refused);
    QCOMPARE(c.records[*refused].err, EACCES);
    QCOMPARE(c.records[*c.find(is_action(tu->token, Op::create, Outcome::error))].err, EACCES);
    QVERIFY(!c.find(is_kind(RecordKind::source_added, tl->token)));
    QVERIFY(!c.find(is_kind(RecordKind::source_added, tu->token)));
    QCOMPARE(open_fd_count(), fds);

    // The command's explicit flag allows it.
    auto allowed = eng.submit(cmd::TcpListen{*any, with(Reaction::drain), true});
    QVERIFY_OK(allowed);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, allowed->token))));
    QCOMPARE(open_fd_count(), fds + 1);
    eng.stop();
    // The listener is gone, and the epoll, waker, reserve and stats timer fds.
    QCOMPARE(open_fd_count(), fds - 4);
  }

  // A ring capacity that is not a power of two is refused before anything is opened.
  void bad_ring_capacity_refused() {
    const std::size_t fds = open_fd_count();
    auto e = Engine::start(EngineConfig{.ring_capacity = 100});
    QVERIFY(!e);
    QCOMPARE(e.error().value(), EINVAL);
    QCOMPARE(open_fd_count(), fds);
  }

  // A tiny ring under a flood: records are dropped and counted, never lost otherwise.
  void accounting_exact_under_flood() {
    START_ENGINE(eng, c, EngineConfig{.ring_capacity = 8});
    // A level-triggered readable eventfd nobody reads: every poll reports it.
    auto t =
        eng.submit(cmd::EventFdCreate{1, false, with(Reaction::none, Interest::READABLE, Trigger::level)});
    QVERIFY_OK(t);
    // Nobody drains: the ring fills and records are dropped; drained once, it fills again.
    const auto dropped_past = [&](std::uint64_t n) {
      for (Deadline d; !d.expired(); std::this_thread::sleep_for(1ms))
        if (eng.dropped() > n) return true;
      return false;
    };
    QVERIFY(dropped_past(0));
    c.pump();
    QVERIFY(dropped_past(eng.dropped()));
    eng.stop();
    c.pump();
    QVERIFY(eng.dropped() > 0);
    QCOMPARE(eng.delivered(), std::uint64_t{c.records.size()});
    QCOMPARE(eng.produced(), eng.delivered() + eng.dropped());
    QVERIFY(count(c.records, RecordKind::readiness) > 0);
    // A stats record's numbers describe the records before it.
    for (std::size_t i = 0; i < c.records.size(); ++i)
      if (c.records[i].kind == RecordKind::stats) QVERIFY(c.records[i].value >= i + c.records[i].value2);
  }

  // stop() joins, removes and closes every source: the fd count is back where it was.
  void stop_closes_everything() {
    const std::size_t before = open_fd_count();
    START_ENGINE(eng, c);
    auto l = eng.submit(cmd::TcpListen{any_local_address(), with(Reaction::drain)});
    QVERIFY_OK(l);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, l->token))));
    const auto addr = net::SocketAddr::parse(eng.source_info(l->token)->local);
    QVERIFY(addr);
    QVERIFY_OK(eng.submit(cmd::TcpConnect{*addr, with(Reaction::drain)}));
    QVERIFY_OK(eng.submit(cmd::SocketPair{}));
    QVERIFY_OK(eng.submit(cmd::Pipe{}));
    QVERIFY_OK(eng.submit(cmd::EventFdCreate{}));
    auto timer = eng.submit(cmd::TimerFdCreate{with(Reaction::read)});
    QVERIFY_OK(timer);
    QVERIFY_OK(eng.submit(cmd::TimerArm{timer->token, 1ms, 1ms}));
    QVERIFY_OK(eng.submit(cmd::UdpBind{any_local_address()}));
    // listener, connect, accepted, 2 + 2 pair/pipe, eventfd, timerfd, udp
    QVERIFY(c.wait_for([](const auto& rs) { return count(rs, RecordKind::source_added) >= 10; }));
    QVERIFY(open_fd_count() > before);
    eng.stop();
    // Only the notifier's eventfd is left (the consumer may still wait on it) ...
    QCOMPARE(open_fd_count(), before + 1);
    c.pump();
    QCOMPARE(count(c.records, RecordKind::source_removed), count(c.records, RecordKind::source_added));
    QCOMPARE(c.records.back().kind, RecordKind::stats);
    QCOMPARE(c.records.back().value2, std::uint64_t{0});
    QCOMPARE(c.records.back().value + 1, eng.produced());
    auto late = eng.submit(cmd::Note{"too late"});
    QVERIFY(!late);
    QCOMPARE(late.error().value(), ESHUTDOWN);
    eng.stop();  // idempotent
    eng_started->reset();
    QCOMPARE(open_fd_count(), before);  // ... and it goes with the engine.
  }

  // Tokens are never reused, even when the fd number is.
  void tokens_never_reused() {
    START_ENGINE(eng, c);
    auto a = eng.submit(cmd::EventFdCreate{});
    QVERIFY_OK(a);
    QVERIFY_OK(eng.submit(cmd::Close{a->token}));
    auto b = eng.submit(cmd::EventFdCreate{});
    QVERIFY_OK(b);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, b->token))));
    QVERIFY(b->token.value > a->token.value);
    const auto first = c.find(is_kind(RecordKind::source_added, a->token));
    const auto second = c.find(is_kind(RecordKind::source_added, b->token));
    QVERIFY(first && second);
    QCOMPARE(c.records[*second].fd, c.records[*first].fd);  // the kernel reused the number
    // The old token names nothing now.
    QVERIFY_OK(eng.submit(cmd::Close{a->token}));
    QVERIFY(c.wait_for(seen(is_action(a->token, Op::close, Outcome::error))));
    QCOMPARE(c.records[*c.find(is_action(a->token, Op::close, Outcome::error))].err, EBADF);
    eng.stop();
  }

  // Sources whose tokens share a slot of the engine's token -> source cache (tokens 256
  // apart): each command reaches its own source, and a closed source's token stays unknown
  // (EBADF) although its slot was last filled by it and then by its slot mate.
  void source_lookup_shared_slots() {
    START_ENGINE(eng, c);
    auto a = eng.submit(cmd::EventFdCreate{});
    QVERIFY_OK(a);
    std::optional<Ticket> b;
    for (int i = 0; i < 256 && !b; ++i) {  // tokens come in sequence: a + 256 within 256 creates
      auto t = eng.submit(cmd::EventFdCreate{});
      QVERIFY_OK(t);
      if (t->token.value == a->token.value + 256) b = *t;
      if (i % 64 == 0) c.pump();
    }
    QVERIFY(b);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, b->token))));
    const auto wrote = [&](Token t, std::uint64_t v) {
      return [=](const Record& r) { return is_action(t, Op::eventfd_write, Outcome::ok)(r) && r.value == v; };
    };
    QVERIFY_OK(eng.submit(cmd::EventFdWrite{a->token, 3}));  // a's slot now names a
    QVERIFY_OK(eng.submit(cmd::Close{a->token}));
    QVERIFY_OK(eng.submit(cmd::EventFdWrite{a->token, 4}));  // a is gone: EBADF
    QVERIFY_OK(eng.submit(cmd::EventFdWrite{b->token, 5}));  // the slot now names b
    QVERIFY_OK(eng.submit(cmd::EventFdWrite{a->token, 6}));  // still EBADF
    QVERIFY_OK(eng.submit(cmd::EventFdRead{b->token}));
    QVERIFY(c.wait_for(seen(is_action(b->token, Op::eventfd_read))));
    QVERIFY(c.find(wrote(a->token, 3)));
    QVERIFY(c.find(wrote(b->token, 5)));
    const auto read = c.find(is_action(b->token, Op::eventfd_read));
    QCOMPARE(c.records[*read].outcome, Outcome::ok);
    QCOMPARE(c.records[*read].value, std::uint64_t{5});  // b's counter: only b's write
    const auto bad = [&](const Record& r) {
      return is_action(a->token, Op::eventfd_write, Outcome::error)(r) && r.err == EBADF;
    };
    QCOMPARE(std::count_if(c.records.begin(), c.records.end(), bad), 2);
    eng.stop();
  }

  // A note's text comes back by the id its record carries.
  void notes_round_trip() {
    START_ENGINE(eng, c);
    auto n1 = eng.submit(cmd::Note{"first marker"});
    auto n2 = eng.submit(cmd::Note{"second: ünïcode"});
    QVERIFY_OK(n1);
    QVERIFY_OK(n2);
    QVERIFY(c.wait_for([](const auto& rs) { return count(rs, RecordKind::note) == 2; }));
    std::vector<Record> notes;
    std::copy_if(c.records.begin(), c.records.end(), std::back_inserter(notes),
                 [](const Record& r) { return r.kind == RecordKind::note; });
    QCOMPARE(notes[0].value2, n1->id);
    QCOMPARE(notes[1].value2, n2->id);
    QCOMPARE(qs(eng.note_text(notes[0].value).value_or("")), qs("first marker"));
    QCOMPARE(qs(eng.note_text(notes[1].value).value_or("")), qs("second: ünïcode"));
    QVERIFY(!eng.note_text(0));
    QVERIFY(!eng.note_text(99));
    eng.stop();
  }

  // 2000 create/close cycles of every cheap kind leave the fd count unchanged; every token is new.
  void create_close_cycles() {
    START_ENGINE(eng, c);
    const std::size_t fds = open_fd_count();
    constexpr int kCycles = 2000;
    for (int i = 0; i < kCycles; ++i) {
      if (i % 100 == 0) c.pump();  // keep the ring from filling (the test counts no drops)
      auto p = eng.submit(cmd::SocketPair{});
      auto q = eng.submit(cmd::Pipe{});
      auto e = eng.submit(cmd::EventFdCreate{});
      auto l = eng.submit(cmd::TcpListen{any_local_address()});
      QVERIFY(p && q && e && l);
      for (Token t : {p->token, p->token2, q->token, q->token2, e->token, l->token})
        QVERIFY_OK(eng.submit(cmd::Close{t}));
    }
    const std::size_t expected = kCycles * 6;
    QVERIFY(c.wait_for([&](const auto& rs) { return count(rs, RecordKind::source_removed) == expected; }));
    QCOMPARE(count(c.records, RecordKind::source_added), expected);
    QCOMPARE(open_fd_count(), fds);
    std::set<std::uint64_t> tokens;
    for (const Record& r : c.records)
      if (r.kind == RecordKind::source_added) tokens.insert(r.token);
    QCOMPARE(tokens.size(), expected);
    QCOMPARE(eng.dropped(), std::uint64_t{0});
    eng.stop();
  }

  // A second passes: a stats record says how many records came before it.
  void stats_every_second() {
    START_ENGINE(eng, c);
    QVERIFY(c.wait_for([](const auto& rs) { return count(rs, RecordKind::stats) >= 1; }, 3s));
    const auto s = c.find([](const Record& r) { return r.kind == RecordKind::stats; });
    QCOMPARE(c.records[*s].value, std::uint64_t{*s});
    QCOMPARE(c.records[*s].value2, std::uint64_t{0});
    QVERIFY(c.records[*s].t_ns >= 900'000'000);
    eng.stop();
  }
  // Pipe: a write, a read of what was written, EOF once the sender is gone; and a write to a
  // pipe whose reader is gone is an EPIPE action, not a SIGPIPE.
  void pipe_write_read_eof_epipe() {
    START_ENGINE(eng, c);
    auto p = eng.submit(cmd::Pipe{});
    QVERIFY_OK(p);
    QVERIFY_OK(eng.submit(cmd::Write{p->token, "abc"}));
    QVERIFY_OK(eng.submit(cmd::Read{p->token2, 10}));
    QVERIFY_OK(eng.submit(cmd::Close{p->token}));
    QVERIFY_OK(eng.submit(cmd::Read{p->token2, 10}));
    QVERIFY(c.wait_for([&](const auto& rs) {
      return std::count_if(rs.begin(), rs.end(), is_action(p->token2, Op::read)) == 2;
    }));
    const auto wrote = c.find(is_action(p->token, Op::write, Outcome::ok));
    const auto read = c.find(is_action(p->token2, Op::read, Outcome::ok));
    QVERIFY(wrote && read);
    QCOMPARE(c.records[*wrote].value, std::uint64_t{3});
    QCOMPARE(c.records[*read].value, std::uint64_t{3});
    QVERIFY(c.find(is_action(p->token2, Op::read, Outcome::eof), *read));

    auto q = eng.submit(cmd::Pipe{});
    QVERIFY_OK(q);
    QVERIFY_OK(eng.submit(cmd::Close{q->token2}));
    QVERIFY_OK(eng.submit(cmd::Write{q->token, "x"}));
    QVERIFY(c.wait_for(seen(is_action(q->token, Op::write))));
    const auto epipe = c.find(is_action(q->token, Op::write));
    QCOMPARE(c.records[*epipe].outcome, Outcome::error);
    QCOMPARE(c.records[*epipe].err, EPIPE);
    eng.stop();
  }

  // eventfd write / read / would-block; a one-shot timer read by the read reaction.
  void eventfd_and_timerfd() {
    START_ENGINE(eng, c);
    auto e = eng.submit(cmd::EventFdCreate{});
    QVERIFY_OK(e);
    QVERIFY_OK(eng.submit(cmd::EventFdWrite{e->token, 5}));
    QVERIFY_OK(eng.submit(cmd::EventFdRead{e->token}));
    QVERIFY_OK(eng.submit(cmd::EventFdRead{e->token}));
    auto t = eng.submit(cmd::TimerFdCreate{with(Reaction::read)});
    QVERIFY_OK(t);
    QVERIFY_OK(eng.submit(cmd::TimerArm{t->token, 1ms, 0ms}));
    QVERIFY(c.wait_for(seen(is_action(t->token, Op::read, Outcome::ok))));
    QVERIFY(c.wait_for(seen(is_action(e->token, Op::eventfd_read, Outcome::would_block))));
    const auto read = c.find(is_action(e->token, Op::eventfd_read, Outcome::ok));
    QVERIFY(read);
    QCOMPARE(c.records[*read].value, std::uint64_t{5});
    QVERIFY(c.find(is_action(t->token, Op::timer_arm, Outcome::ok)));
    const auto fired = c.find(is_kind(RecordKind::readiness, t->token));
    const auto expired = c.find(is_action(t->token, Op::read, Outcome::ok));
    QVERIFY(fired && *fired < *expired);
    QCOMPARE(c.records[*expired].value, std::uint64_t{1});
    eng.stop();
  }

  // Oneshot: one event, then silence until rearmed; the rearm re-fires a still-ready source.
  void oneshot_rearm() {
    START_ENGINE(eng, c);
    auto e =
        eng.submit(cmd::EventFdCreate{1, false, with(Reaction::none, Interest::READABLE, Trigger::oneshot)});
    QVERIFY_OK(e);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::readiness, e->token))));
    // Still readable, but disarmed: no second event by a witness's (a level or edge
    // registration would be reported again by the epoll_wait that reports the witness).
    QVERIFY(await_witness(eng, c));
    QCOMPARE(std::count_if(c.records.begin(), c.records.end(), is_kind(RecordKind::readiness, e->token)), 1);
    QVERIFY_OK(eng.submit(cmd::Rearm{e->token}));
    QVERIFY(c.wait_for([&](const auto& rs) {
      return std::count_if(rs.begin(), rs.end(), is_kind(RecordKind::readiness, e->token)) == 2;
    }));
    QVERIFY(c.find(is_action(e->token, Op::rearm, Outcome::ok)));
    QVERIFY_OK(eng.submit(cmd::SetTrigger{e->token, Trigger::edge}));
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_changed, e->token))));
    eng.stop();
  }

  // Unix stream listener with echo, a Unix connect with the read reaction: the bytes come back.
  void unix_listener_echo() {
    const Unlink path(temp_path("engine-echo"));
    START_ENGINE(eng, c);
    auto l = eng.submit(cmd::UnixListen{path.path, with(Reaction::echo)});
    auto s = eng.submit(cmd::UnixConnect{path.path, with(Reaction::read)});
    QVERIFY_OK(l);
    QVERIFY_OK(s);
    QVERIFY_OK(eng.submit(cmd::Write{s->token, "ping"}));
    QVERIFY(c.wait_for(seen(
        [&](const Record& r) { return is_action(s->token, Op::read, Outcome::ok)(r) && r.value == 4; })));
    QVERIFY(c.find(is_action(s->token, Op::connect, Outcome::ok)));
    QCOMPARE(eng.source_info(l->token)->local, path.path);
    eng.stop();
  }

  // EMFILE on accept: the reserve descriptor lets the engine drain the backlog (the peers see
  // EOF), a warning counts them, and the next accept works again.
  void emfile_uses_reserve() {
    START_ENGINE(eng, c);
    auto l = eng.submit(cmd::TcpListen{any_local_address()});
    QVERIFY_OK(l);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, l->token))));
    const auto addr = net::SocketAddr::parse(eng.source_info(l->token)->local);
    QVERIFY(addr);
    std::vector<OwnedFd> clients;
    for (int i = 0; i < 3; ++i) {
      auto cl = plain_connect(*addr);
      QVERIFY_OK(cl);
      clients.push_back(std::move(*cl));
    }
    rlimit old{};
    QCOMPARE(::getrlimit(RLIMIT_NOFILE, &old), 0);
    rlimit low = old;
    low.rlim_cur = open_fd_count();
    QCOMPARE(::setrlimit(RLIMIT_NOFILE, &low), 0);
    std::vector<unix::EventFd> fillers;  // take every number below the limit
    for (;;) {
      auto f = unix::EventFd::create();
      if (!f) break;
      fillers.push_back(std::move(*f));
    }
    const bool submitted = eng.submit(cmd::Accept{l->token}).has_value();
    const bool warned = submitted && c.wait_for(seen([&](const Record& r) {
      return r.kind == RecordKind::warning && r.op == static_cast<std::uint8_t>(WarningKind::emfile);
    }));
    fillers.clear();
    QCOMPARE(::setrlimit(RLIMIT_NOFILE, &old), 0);
    QVERIFY(warned);
    const auto failed = c.find(is_action(l->token, Op::accept, Outcome::error));
    QVERIFY(failed);
    QCOMPARE(c.records[*failed].err, EMFILE);
    const auto warning = c.find([](const Record& r) { return r.kind == RecordKind::warning; });
    QCOMPARE(c.records[*warning].value, std::uint64_t{3});
    for (auto& cl : clients) {
      std::array<std::byte, 4> buf{};
      auto n = plain_recv(cl.get(), buf);
      QVERIFY2(!n || *n == 0, "expected EOF or a reset");
    }
    QVERIFY(!c.find([](const Record& r) {
      return r.kind == RecordKind::warning && r.op == static_cast<std::uint8_t>(WarningKind::engine_error);
    }));
    auto again = plain_connect(*addr);
    QVERIFY_OK(again);
    QVERIFY_OK(eng.submit(cmd::Accept{l->token}));
    QVERIFY(c.wait_for(seen(is_action(l->token, Op::accept, Outcome::ok))));
    eng.stop();
  }
};

QTEST_GUILESS_MAIN(TestCaptureEngine)
#include "tst_capture_engine.moc"
