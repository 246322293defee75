// The engine's live pitfall warnings, on real socketpairs and pipes through a real Engine:
// each of et_partial_read, oneshot_disarmed_pending, level_writable_spin and read_after_close
// is triggered by a mistake, and the same traffic handled correctly triggers nothing.
//
// "Nothing happened" is shown without timing: grace checks run in the order of their
// deadlines, so a witness source whose check is due later (and that does warn) proves the
// earlier check ran and found nothing.
#include <sys/epoll.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "engine_util.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;

namespace {

EngineConfig short_grace() {
  EngineConfig cfg;
  cfg.pitfall_grace = std::chrono::milliseconds(20);
  return cfg;
}

std::function<bool(const Record&)> is_warning(Token t, WarningKind w) {
  return [=](const Record& r) {
    return r.kind == RecordKind::warning && r.token == t.value && r.op == static_cast<std::uint8_t>(w);
  };
}

std::size_t count_if(const std::vector<Record>& rs, const std::function<bool(const Record&)>& p) {
  return static_cast<std::size_t>(std::count_if(rs.begin(), rs.end(), p));
}

std::function<bool(const Record&)> readable_event(Token t) {
  return [=](const Record& r) { return is_kind(RecordKind::readiness, t)(r) && (r.bits & EPOLLIN); };
}

std::function<bool(const std::vector<Record>&)> seen_n(std::function<bool(const Record&)> p, std::size_t n) {
  return [p = std::move(p), n](const std::vector<Record>& rs) { return count_if(rs, p) >= n; };
}

/// Any pitfall warning (the four kinds this suite is about) for `t`.
std::function<bool(const Record&)> any_pitfall(Token t) {
  return [=](const Record& r) {
    if (r.kind != RecordKind::warning || r.token != t.value) return false;
    const auto w = static_cast<WarningKind>(r.op);
    return w == WarningKind::et_partial_read || w == WarningKind::oneshot_disarmed_pending ||
           w == WarningKind::level_writable_spin || w == WarningKind::read_after_close;
  };
}

std::optional<std::pair<Token, Token>> make_pair(Engine& eng, Collector& c, SourceOptions o) {
  auto t = eng.submit(cmd::SocketPair{o});
  if (!t) return std::nullopt;
  if (!c.wait_for(seen(is_kind(RecordKind::source_added, t->token2)))) return std::nullopt;
  return std::pair{t->token, t->token2};
}

const SourceOptions kEdge{Interest::READABLE, Trigger::edge, {}};
const SourceOptions kOneshot{Interest::READABLE, Trigger::oneshot, {}};

}  // namespace

class TestPitfalls : public CoreTest {
  Q_OBJECT
 private slots:
  // Out-of-range pitfall bounds are refused (EINVAL) before anything is opened.
  void config_bounds_are_checked() {
    const std::size_t fds = open_fd_count();
    const auto refused = [](EngineConfig cfg) {
      auto e = Engine::start(cfg);
      return !e && e.error().value() == EINVAL;
    };
    QVERIFY(refused(EngineConfig{.pitfall_grace = std::chrono::microseconds(999)}));
    QVERIFY(refused(EngineConfig{.pitfall_grace = std::chrono::seconds(61)}));
    QVERIFY(refused(EngineConfig{.pitfall_spin_events = 1}));
    QVERIFY(refused(EngineConfig{.pitfall_spin_events = kMaxPitfallSpinEvents + 1}));
    QCOMPARE(open_fd_count(), fds);
    QVERIFY_OK(Engine::start(
        EngineConfig{.pitfall_grace = kMaxPitfallGrace, .pitfall_spin_events = kMaxPitfallSpinEvents}));
    QVERIFY_OK(Engine::start(EngineConfig{.pitfall_grace = kMinPitfallGrace, .pitfall_spin_events = 2}));
  }

  // (1) Ten bytes arrive on an edge-triggered stream; the handler reads 4 and stops: 6 bytes
  // wait and no new edge will come. One warning, value 6, with the source's token and fd.
  void et_partial_read_warns() {
    START_ENGINE(eng, c, short_grace());
    auto p = make_pair(eng, c, kEdge);
    QVERIFY(p);
    const auto [a, b] = *p;
    QVERIFY_OK(eng.submit(cmd::Write{a, "0123456789"}));
    QVERIFY(c.wait_for(seen(readable_event(b))));
    QVERIFY_OK(eng.submit(cmd::Read{b, 4}));
    QVERIFY(c.wait_for(seen(is_warning(b, WarningKind::et_partial_read))));
    const auto w = c.find(is_warning(b, WarningKind::et_partial_read));
    const auto rd = c.find(is_action(b, Op::read, Outcome::ok));
    QVERIFY(w && rd && *rd < *w);
    QCOMPARE(c.records[*w].value, std::uint64_t{6});
    QCOMPARE(c.records[*w].fd, c.records[*rd].fd);
    eng.stop();
    c.pump();
    QCOMPARE(count_if(c.records, is_warning(b, WarningKind::et_partial_read)),
             std::size_t{1});  // once per edge
  }

  // (1) The same traffic read until would-block (Drain), read exactly to the last byte, or
  // not read at all yet (the user has not acted): no warning. A witness pair read partially
  // after them proves their checks ran.
  void et_drained_does_not_warn() {
    START_ENGINE(eng, c, short_grace());
    auto p1 = make_pair(eng, c, kEdge);
    auto p2 = make_pair(eng, c, kEdge);
    auto p3 = make_pair(eng, c, kEdge);
    auto p4 = make_pair(eng, c, kEdge);
    QVERIFY(p1 && p2 && p3 && p4);
    const auto [a, b] = *p1;
    const auto [e, f] = *p2;
    const auto [g, h] = *p4;
    const auto [x, y] = *p3;
    QVERIFY_OK(eng.submit(cmd::Write{a, "0123456789"}));
    QVERIFY_OK(eng.submit(cmd::Write{e, "0123456789"}));
    QVERIFY_OK(eng.submit(cmd::Write{g, "0123456789"}));
    QVERIFY(c.wait_for(seen(readable_event(b))));
    QVERIFY(c.wait_for(seen(readable_event(f))));
    QVERIFY(c.wait_for(seen(readable_event(h))));
    QVERIFY_OK(eng.submit(cmd::Drain{b}));
    QVERIFY_OK(eng.submit(cmd::Read{f, 10}));  // all of it, though it never saw would-block
    QVERIFY(c.wait_for(seen(is_action(b, Op::drain, Outcome::would_block))));
    QVERIFY(c.wait_for(seen(is_action(f, Op::read, Outcome::ok))));
    // The witness: read partially after the others, so its check is due after theirs.
    QVERIFY_OK(eng.submit(cmd::Write{x, "0123456789"}));
    QVERIFY(c.wait_for(seen(readable_event(y))));
    QVERIFY_OK(eng.submit(cmd::Read{y, 3}));
    QVERIFY(c.wait_for(seen(is_warning(y, WarningKind::et_partial_read))));
    QCOMPARE(c.records[*c.find(is_warning(y, WarningKind::et_partial_read))].value, std::uint64_t{7});
    for (const Token t : {a, b, e, f, g, h}) QVERIFY(!c.find(any_pitfall(t)));
  }

  // (1) A pipe receiver, edge-triggered, read short: warned with what is left in the pipe.
  void et_partial_read_pipe() {
    START_ENGINE(eng, c, short_grace());
    auto t = eng.submit(cmd::Pipe{kEdge});
    QVERIFY_OK(t);
    const Token sender = t->token;
    const Token receiver = t->token2;
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, receiver))));
    QVERIFY_OK(eng.submit(cmd::Write{sender, std::string(100, 'p')}));
    QVERIFY(c.wait_for(seen(readable_event(receiver))));
    QVERIFY_OK(eng.submit(cmd::Read{receiver, 30}));
    QVERIFY(c.wait_for(seen(is_warning(receiver, WarningKind::et_partial_read))));
    QCOMPARE(c.records[*c.find(is_warning(receiver, WarningKind::et_partial_read))].value, std::uint64_t{70});
    QVERIFY(!c.find(any_pitfall(sender)));
  }

  // (1) The peer writes more right after the partial read (same loop iteration): a new edge
  // comes, so the first edge's handling is not blamed; the warning comes only after the new
  // edge's own handling stops short, with what is left then.
  void et_new_edge_defers_the_check() {
    START_ENGINE(eng, c, short_grace());
    auto p = make_pair(eng, c, kEdge);
    QVERIFY(p);
    const auto [a, b] = *p;
    QVERIFY_OK(eng.submit(cmd::Write{a, "0123456789"}));
    QVERIFY(c.wait_for(seen(readable_event(b))));
    std::vector<Command> batch;
    batch.emplace_back(cmd::Read{b, 4});
    batch.emplace_back(cmd::Write{a, "abcde"});
    QVERIFY_OK(eng.submit_batch(std::move(batch)));
    QVERIFY(c.wait_for(seen_n(readable_event(b), 2)));
    QVERIFY_OK(eng.submit(cmd::Read{b, 4}));
    QVERIFY(c.wait_for(seen(is_warning(b, WarningKind::et_partial_read))));
    std::size_t second_edge = 0;
    for (std::size_t i = 0, n = 0; i < c.records.size(); ++i)
      if (readable_event(b)(c.records[i]) && ++n == 2) second_edge = i;
    const auto w = c.find(is_warning(b, WarningKind::et_partial_read));
    const auto read2 = c.find(is_action(b, Op::read, Outcome::ok), second_edge);
    QVERIFY(second_edge > 0 && w && read2);
    QVERIFY(*read2 < *w);
    QCOMPARE(c.records[*w].value, std::uint64_t{7});  // 15 written, 8 read
    eng.stop();
    c.pump();
    QCOMPARE(count_if(c.records, is_warning(b, WarningKind::et_partial_read)), std::size_t{1});
  }

  // (1) Datagram sockets too: FIONREAD gives the next datagram's size. A read with nothing
  // left after it but a datagram that came with the same edge: warned, value = its size.
  void et_partial_read_datagram() {
    START_ENGINE(eng, c, short_grace());
    auto bound = eng.submit(cmd::UdpBind{net::SocketAddr::parse("127.0.0.1:0").value(), kEdge});
    QVERIFY_OK(bound);
    const Token u = bound->token;
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, u))));
    const auto to = net::SocketAddr::parse(eng.source_info(u)->local);
    QVERIFY(to);
    auto s = net::UdpSocket::bind(net::SocketAddr::parse("127.0.0.1:0").value());
    QVERIFY_OK(s);
    CHECKED_WRITE(s->send_to(bytes("one"), *to), 3);
    CHECKED_WRITE(s->send_to(bytes("second"), *to), 6);
    QVERIFY(c.wait_for(seen(readable_event(u))));
    // Both datagrams' edges were queued before the note's wake-up: by its record, the engine
    // has taken every edge there will be.
    auto note = eng.submit(cmd::Note{"both sent"});
    QVERIFY_OK(note);
    QVERIFY(c.wait_for(
        seen([&](const Record& r) { return r.kind == RecordKind::note && r.value2 == note->id; })));
    QVERIFY_OK(eng.submit(cmd::Read{u, 100}));
    QVERIFY(c.wait_for(seen(is_warning(u, WarningKind::et_partial_read))));
    const auto w = c.find(is_warning(u, WarningKind::et_partial_read));
    QCOMPARE(c.records[*w].value, std::uint64_t{6});  // "second" waits
  }

  // (2) A oneshot stream fires and is not rearmed while its 10 bytes wait: warned, value 10.
  void oneshot_not_rearmed_warns() {
    START_ENGINE(eng, c, short_grace());
    auto p = make_pair(eng, c, kOneshot);
    QVERIFY(p);
    const auto [a, b] = *p;
    QVERIFY_OK(eng.submit(cmd::Write{a, "0123456789"}));
    QVERIFY(c.wait_for(seen(readable_event(b))));
    QVERIFY(c.wait_for(seen(is_warning(b, WarningKind::oneshot_disarmed_pending))));
    const auto w = c.find(is_warning(b, WarningKind::oneshot_disarmed_pending));
    QCOMPARE(c.records[*w].value, std::uint64_t{10});
    QVERIFY(*c.find(readable_event(b)) < *w);
    eng.stop();
    c.pump();
    QCOMPARE(count_if(c.records, is_warning(b, WarningKind::oneshot_disarmed_pending)), std::size_t{1});
  }

  // (2) The same traffic handled right: read, rearm (it fires again: bytes are left), drain,
  // rearm. No warning; a later oneshot witness left disarmed proves the checks ran.
  void oneshot_rearmed_does_not_warn() {
    START_ENGINE(eng, c, short_grace());
    auto p = make_pair(eng, c, kOneshot);
    auto wp = make_pair(eng, c, kOneshot);
    QVERIFY(p && wp);
    const auto [a, b] = *p;
    const auto [x, y] = *wp;
    QVERIFY_OK(eng.submit(cmd::Write{a, "0123456789"}));
    QVERIFY(c.wait_for(seen(readable_event(b))));
    std::vector<Command> first;
    first.emplace_back(cmd::Read{b, 4});
    first.emplace_back(cmd::Rearm{b});
    QVERIFY_OK(eng.submit_batch(std::move(first)));
    QVERIFY(c.wait_for(seen_n(readable_event(b), 2)));
    std::vector<Command> second;
    second.emplace_back(cmd::Drain{b});
    second.emplace_back(cmd::Rearm{b});
    QVERIFY_OK(eng.submit_batch(std::move(second)));
    QVERIFY(c.wait_for(seen(is_action(b, Op::rearm))));
    QVERIFY(c.wait_for(seen_n(is_action(b, Op::rearm), 2)));
    QVERIFY_OK(eng.submit(cmd::Write{x, "xyz"}));
    QVERIFY(c.wait_for(seen(is_warning(y, WarningKind::oneshot_disarmed_pending))));
    QVERIFY(!c.find(any_pitfall(b)));
    QCOMPARE(count_if(c.records, readable_event(b)), std::size_t{2});
  }

  // (3) A level-triggered pipe sender (writable interest) with nothing to write: reported
  // writable on every poll. One warning per streak, after exactly pitfall_spin_events
  // writable events; a write ends the streak, and the next warning needs a whole new streak.
  void level_writable_spin_warns() {
    EngineConfig cfg = short_grace();
    cfg.pitfall_spin_events = 8;
    cfg.ring_capacity = std::size_t{1} << 20;  // the spin makes records fast: keep them all
    START_ENGINE(eng, c, cfg);
    auto t = eng.submit(cmd::Pipe{SourceOptions{Interest::READABLE, Trigger::level, {}}});
    QVERIFY_OK(t);
    const Token sender = t->token;
    const auto writable = [=](const Record& r) {
      return is_kind(RecordKind::readiness, sender)(r) && (r.bits & EPOLLOUT);
    };
    QVERIFY(c.wait_for(seen(is_warning(sender, WarningKind::level_writable_spin))));
    QVERIFY_OK(eng.submit(cmd::Write{sender, "x"}));
    QVERIFY(c.wait_for(seen_n(is_warning(sender, WarningKind::level_writable_spin), 2)));
    QVERIFY_OK(eng.submit(cmd::Close{sender}));  // end the spin
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_removed, sender))));
    QCOMPARE(eng.dropped(), std::uint64_t{0});
    const auto w1 = c.find(is_warning(sender, WarningKind::level_writable_spin));
    QVERIFY(w1);
    QCOMPARE(c.records[*w1].value, std::uint64_t{8});
    const auto events_before = [&](std::size_t from, std::size_t to) {
      std::size_t n = 0;
      for (std::size_t i = from; i < to; ++i) n += writable(c.records[i]) ? 1 : 0;
      return n;
    };
    QCOMPARE(events_before(0, *w1), std::size_t{8});
    const auto wr = c.find(is_action(sender, Op::write, Outcome::ok), *w1);
    QVERIFY(wr);
    const auto w2 = c.find(is_warning(sender, WarningKind::level_writable_spin), *w1 + 1);
    QVERIFY(w2);
    QVERIFY(*w2 > *wr);  // once per streak: nothing more until the write
    QCOMPARE(events_before(*wr, *w2), std::size_t{8});
    QCOMPARE(count_if(c.records, is_warning(sender, WarningKind::level_writable_spin)), std::size_t{2});
  }

  // (3) Writable interest used right: only while there is something to write, with a write
  // on each writable event. The echo does that under back-pressure (its registration is
  // WRITABLE only while bytes wait, each writable event writes them); level-triggered, with
  // pitfall_spin_events at its minimum of 2, it is never warned about.
  void level_writable_used_does_not_warn() {
    EngineConfig cfg = short_grace();
    cfg.pitfall_spin_events = 2;
    START_ENGINE(eng, c, cfg);
    auto p = make_pair(eng, c, SourceOptions{Interest::READABLE, Trigger::level, {}});
    QVERIFY(p);
    const auto [a, b] = *p;
    QVERIFY_OK(eng.submit(cmd::SetReaction{b, ReactionSpec{Reaction::echo, 4096}}));
    QVERIFY_OK(eng.submit(cmd::SetTrigger{a, Trigger::edge}));  // the test's side: no level spin
    // `a` writes without reading until the echo cannot write everything back (it holds the
    // rest and waits for writability); then `a` drains until it has everything back.
    const std::string chunk(64 * 1024, 'z');
    std::uint64_t written = 0;
    const auto echo_held = [&] {
      std::uint64_t last_read = 0;
      for (const Record& r : c.records) {
        if (is_action(b, Op::read, Outcome::ok)(r)) last_read = r.value;
        if (is_action(b, Op::write)(r) &&
            (r.outcome == Outcome::would_block || (r.outcome == Outcome::ok && r.value < last_read)))
          return true;
      }
      return false;
    };
    const auto run = [&](Command cmd, Op op) -> std::optional<Record> {
      const std::size_t mark = c.records.size();
      if (!eng.submit(std::move(cmd))) return std::nullopt;
      const auto done = [&](const std::vector<Record>& rs) {
        return std::any_of(rs.begin() + static_cast<std::ptrdiff_t>(mark), rs.end(), is_action(a, op));
      };
      if (!c.wait_for(done)) return std::nullopt;
      return c.records[*c.find(is_action(a, op), mark)];
    };
    for (Deadline d; !echo_held();) {
      QVERIFY(!d.expired());
      const auto w = run(cmd::Write{a, chunk}, Op::write);
      QVERIFY(w);
      if (w->outcome == Outcome::ok) written += w->value;
    }
    std::uint64_t drained = 0;
    for (Deadline d; drained < written;) {
      QVERIFY(!d.expired());
      const auto r = run(cmd::Drain{a}, Op::drain);
      QVERIFY(r);
      drained += r->value;
    }
    QCOMPARE(drained, written);
    // The echo did wait for writability (its source saw writable events) ...
    QVERIFY(
        c.find([&](const Record& r) { return is_kind(RecordKind::readiness, b)(r) && (r.bits & EPOLLOUT); }));
    // ... and nothing is a pitfall.
    QVERIFY(!c.find(any_pitfall(a)));
    QVERIFY(!c.find(any_pitfall(b)));
  }

  // (4) The peer shut its side: read_closed is reported, a drain reads to end-of-file, and
  // then the handler reads again. Warned once (value 1), however many reads follow.
  void read_after_close_warns() {
    START_ENGINE(eng, c, short_grace());
    auto p = make_pair(eng, c, kEdge);
    QVERIFY(p);
    const auto [a, b] = *p;
    QVERIFY_OK(eng.submit(cmd::Write{a, "bye"}));
    QVERIFY_OK(eng.submit(cmd::ShutdownWrite{a}));
    const auto closed_event = [=](const Record& r) {
      return is_kind(RecordKind::readiness, b)(r) && (r.bits & (EPOLLRDHUP | EPOLLHUP));
    };
    QVERIFY(c.wait_for(seen(closed_event)));
    QVERIFY_OK(eng.submit(cmd::Drain{b}));
    QVERIFY(c.wait_for(seen(is_action(b, Op::drain, Outcome::eof))));
    QVERIFY(!c.find(any_pitfall(b)));
    QVERIFY_OK(eng.submit(cmd::Read{b, 16}));
    QVERIFY_OK(eng.submit(cmd::Read{b, 16}));
    QVERIFY(c.wait_for(seen_n(is_action(b, Op::read, Outcome::eof), 2)));
    const auto w = c.find(is_warning(b, WarningKind::read_after_close));
    QVERIFY(w);
    QCOMPARE(c.records[*w].value, std::uint64_t{1});
    QVERIFY(*c.find(is_action(b, Op::read, Outcome::eof)) < *w);
    QCOMPARE(count_if(c.records, is_warning(b, WarningKind::read_after_close)), std::size_t{1});
  }

  // (4) The same traffic handled right: drain to end-of-file, then close. No warning (a read
  // of the closed token is refused, EBADF, and is no read of the source).
  void read_to_eof_then_close_does_not_warn() {
    START_ENGINE(eng, c, short_grace());
    auto p = make_pair(eng, c, kEdge);
    QVERIFY(p);
    const auto [a, b] = *p;
    QVERIFY_OK(eng.submit(cmd::Write{a, "bye"}));
    QVERIFY_OK(eng.submit(cmd::ShutdownWrite{a}));
    QVERIFY(c.wait_for(seen([=](const Record& r) {
      return is_kind(RecordKind::readiness, b)(r) && (r.bits & (EPOLLRDHUP | EPOLLHUP));
    })));
    QVERIFY_OK(eng.submit(cmd::Drain{b}));
    QVERIFY_OK(eng.submit(cmd::Close{b}));
    QVERIFY_OK(eng.submit(cmd::Read{b, 16}));
    QVERIFY(c.wait_for(seen(is_action(b, Op::read, Outcome::error))));
    QVERIFY(c.find(is_action(b, Op::drain, Outcome::eof)));
    QVERIFY(!c.find(any_pitfall(b)));
  }
};

QTEST_GUILESS_MAIN(TestPitfalls)
#include "tst_pitfalls.moc"
