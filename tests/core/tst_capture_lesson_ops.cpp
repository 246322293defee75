// The capture engine's commands for the lessons (issue 5), on real kernel objects: Feed,
// Dup, CloseFd (and the events it leaves behind), ExhaustFds / ReleaseFds, the reaction
// options budget / also_close / emfile_reserve, and submit_batch's merged writes.
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine_util.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;

namespace {

/// Threads of this process (/proc/self/task).
std::size_t thread_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

/// Waits until the thread count is `n` (a joined thread may linger in /proc for a moment).
bool threads_become(std::size_t n) {
  for (Deadline d(kWaitLimit); !d.expired();) {
    if (thread_count() == n) return true;
    std::this_thread::sleep_for(1ms);
  }
  return thread_count() == n;
}

rlimit nofile() {
  rlimit r{};
  (void)::getrlimit(RLIMIT_NOFILE, &r);
  return r;
}

bool operator==(const rlimit& a, const rlimit& b) {
  return a.rlim_cur == b.rlim_cur && a.rlim_max == b.rlim_max;
}

/// Runs `commands`, then waits until everything the engine did before them is recorded: two
/// notes in sequence (the second runs in a later loop iteration than the first, so the
/// events of the poll after the first note were handled before it).
bool settle(Engine& eng, Collector& c) {
  for (int i = 0; i < 2; ++i) {
    auto t = eng.submit(cmd::Note{"settle"});
    if (!t) return false;
    const std::uint64_t id = t->id;
    if (!c.wait_for(seen([id](const Record& r) { return r.kind == RecordKind::note && r.value2 == id; })))
      return false;
  }
  return true;
}

std::size_t count_if(const std::vector<Record>& rs, const std::function<bool(const Record&)>& p) {
  return static_cast<std::size_t>(std::count_if(rs.begin(), rs.end(), p));
}

/// The record of a command's result (value2 = its id).
std::function<bool(const Record&)> result_of(std::uint64_t id, RecordKind k = RecordKind::action) {
  return [=](const Record& r) { return r.kind == k && r.value2 == id; };
}

std::function<bool(const Record&)> is_warning(Token t, WarningKind w) {
  return [=](const Record& r) {
    return r.kind == RecordKind::warning && r.token == t.value && r.op == static_cast<std::uint8_t>(w);
  };
}

SourceOptions reacting(Reaction r, std::uint64_t budget = 0, Token also_close = Token{0},
                       bool emfile_reserve = true) {
  SourceOptions o = with(r);
  o.reaction.budget = budget;
  o.reaction.also_close = also_close;
  o.reaction.emfile_reserve = emfile_reserve;
  return o;
}

}  // namespace

class TestCaptureLessonOps : public CoreTest {
  Q_OBJECT
 private slots:
  // A feed's bytes arrive on its source; closing the source joins the feeder: after each
  // create / close cycle the process has the same descriptors and threads as before.
  void feed_delivers_and_is_joined_on_close() {
    START_ENGINE(eng, c);
    QVERIFY(settle(eng, c));
    const std::size_t fds = open_fd_count();
    const std::size_t threads = thread_count();
    for (int round = 0; round < 3; ++round) {
      auto t = eng.submit(cmd::Feed{16, 1ms, with(Reaction::drain)});
      QVERIFY_OK(t);
      QVERIFY(c.wait_for(
          seen([&](const Record& r) { return is_action(t->token, Op::drain)(r) && r.value > 0; })));
      const Record added = c.records[*c.find(is_kind(RecordKind::source_added, t->token))];
      QCOMPARE(added.op, static_cast<std::uint8_t>(SourceKind::unix_stream));
      QCOMPARE(added.value2, t->id);
      const auto info = eng.source_info(t->token);
      QVERIFY(info);
      QCOMPARE(info->local, std::string("feed"));
      QCOMPARE(info->kind, SourceKind::unix_stream);
      QCOMPARE(thread_count(), threads + 1);  // the feeder
      const auto p = eng.payload(t->token);
      QVERIFY(p && !p->chunks.empty());
      QCOMPARE(static_cast<char>(p->chunks.front().bytes.at(0)), 'a');  // the pattern starts at 'a'
      QVERIFY_OK(eng.submit(cmd::Close{t->token}));
      QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_removed, t->token))));
      QVERIFY(threads_become(threads));
      QCOMPARE(open_fd_count(), fds);
    }
    eng.stop();
  }

  // A fire-hose nobody reads fills the socket buffer and blocks its writer; closing the source
  // still joins it (the stop signal wakes its wait), and so does stop for a feed left open.
  void feed_blocked_writer_is_joined() {
    START_ENGINE(eng, c);
    QVERIFY(settle(eng, c));
    const std::size_t threads = thread_count();
    auto a = eng.submit(cmd::Feed{65536, 0ns, with(Reaction::none)});
    auto b = eng.submit(cmd::Feed{65536, 0ns, with(Reaction::none)});
    QVERIFY_OK(a);
    QVERIFY_OK(b);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::readiness, a->token))));
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::readiness, b->token))));
    QCOMPARE(thread_count(), threads + 2);
    QVERIFY_OK(eng.submit(cmd::Close{a->token}));
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_removed, a->token))));
    QVERIFY(threads_become(threads + 1));
    eng.stop();  // b's feeder too
    c.pump();
    QVERIFY(c.find(is_kind(RecordKind::source_removed, b->token)));
    QVERIFY(threads_become(threads - 1));  // the poll thread is gone as well
  }

  // Bad feeds: a create error EINVAL and nothing else (no source, no thread).
  void feed_invalid() {
    START_ENGINE(eng, c);
    QVERIFY(settle(eng, c));
    const std::size_t threads = thread_count();
    for (const cmd::Feed& f : {cmd::Feed{0, 0ns, {}}, cmd::Feed{65537, 0ns, {}}, cmd::Feed{16, -1ns, {}}}) {
      auto t = eng.submit(f);
      QVERIFY_OK(t);
      QVERIFY(c.wait_for(seen(is_action(t->token, Op::create, Outcome::error))));
      QCOMPARE(c.records[*c.find(is_action(t->token, Op::create))].err, EINVAL);
      QVERIFY(!c.find(is_kind(RecordKind::source_added, t->token)));
      QVERIFY(!eng.source_info(t->token));
    }
    QCOMPARE(thread_count(), threads);
    // The largest chunk is fine.
    auto ok = eng.submit(cmd::Feed{65536, 1ms, with(Reaction::discard)});
    QVERIFY_OK(ok);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, ok->token))));
    eng.stop();
  }

  // Dup: an action with the copy's number (a new open descriptor); a second Dup is EBUSY,
  // an unknown token EBADF. Closing the source closes the copy (CoreTest checks the fds).
  void dup_ok_busy_and_bad_token() {
    START_ENGINE(eng, c);
    auto p = eng.submit(cmd::SocketPair{});
    QVERIFY_OK(p);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, p->token2))));
    const int fd = eng.source_info(p->token)->fd;
    auto d1 = eng.submit(cmd::Dup{p->token});
    auto d2 = eng.submit(cmd::Dup{p->token});
    auto d3 = eng.submit(cmd::Dup{Token(999)});
    QVERIFY_OK(d1);
    QVERIFY_OK(d2);
    QVERIFY_OK(d3);
    QVERIFY(c.wait_for(seen(result_of(d3->id))));
    const Record r1 = c.records[*c.find(result_of(d1->id))];
    QCOMPARE(r1.op, static_cast<std::uint8_t>(Op::dup));
    QCOMPARE(r1.outcome, Outcome::ok);
    QCOMPARE(r1.token, p->token.value);
    const int copy = static_cast<int>(r1.value);
    QVERIFY(copy >= 0 && copy != fd);
    QVERIFY(::fcntl(copy, F_GETFD) >= 0);
    QVERIFY(::fcntl(copy, F_GETFD) & FD_CLOEXEC);
    const Record r2 = c.records[*c.find(result_of(d2->id))];
    QCOMPARE(r2.outcome, Outcome::error);
    QCOMPARE(r2.err, EBUSY);
    const Record r3 = c.records[*c.find(result_of(d3->id))];
    QCOMPARE(r3.outcome, Outcome::error);
    QCOMPARE(r3.err, EBADF);
    eng.stop();
  }

  // Dup + Close: Close deregisters first, then closes both numbers: the peer's write finds
  // the socket gone (EPIPE) and the old token hears nothing.
  void dup_then_close_ends_everything() {
    START_ENGINE(eng, c);
    auto p = eng.submit(cmd::SocketPair{});
    QVERIFY_OK(p);
    const Token a = p->token, b = p->token2;
    QVERIFY_OK(eng.submit(cmd::Dup{a}));
    QVERIFY_OK(eng.submit(cmd::Close{a}));
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_removed, a))));
    auto w = eng.submit(cmd::Write{b, "x"});
    QVERIFY_OK(w);
    QVERIFY(c.wait_for(seen(result_of(w->id))));
    QCOMPARE(c.records[*c.find(result_of(w->id))].err, EPIPE);
    QVERIFY(settle(eng, c));
    QVERIFY(!c.find(is_kind(RecordKind::readiness, a)));
    QVERIFY(!c.find(is_warning(a, WarningKind::event_after_close)));
    eng.stop();
  }

  // The pitfall: Dup, then CloseFd. The source is gone from the engine's table, but the copy
  // keeps the file and so the registration: the peer's write is reported for the old token
  // (fd = the copy) with an event_after_close warning. Close on the token closes the copy,
  // which ends the registration: the next write fails (EPIPE) and no event comes.
  void closefd_with_dup_leaves_a_ghost() {
    START_ENGINE(eng, c);
    auto p = eng.submit(cmd::SocketPair{});
    QVERIFY_OK(p);
    const Token a = p->token, b = p->token2;
    auto d = eng.submit(cmd::Dup{a});
    auto cf = eng.submit(cmd::CloseFd{a});
    QVERIFY_OK(d);
    QVERIFY_OK(cf);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_removed, a))));
    const int copy = static_cast<int>(c.records[*c.find(result_of(d->id))].value);
    const auto closed = c.find(result_of(cf->id));
    QVERIFY(closed);
    QCOMPARE(c.records[*closed].op, static_cast<std::uint8_t>(Op::close_fd));
    QCOMPARE(c.records[*closed].outcome, Outcome::ok);
    QVERIFY(*closed < *c.find(is_kind(RecordKind::source_removed, a)));
    QVERIFY(!eng.source_info(a));
    // A new source may reuse the closed number: it registers and works as usual.
    auto ev = eng.submit(cmd::EventFdCreate{1, false, with(Reaction::read)});
    QVERIFY_OK(ev);
    QVERIFY(c.wait_for(seen(is_action(ev->token, Op::eventfd_read, Outcome::ok))));

    QVERIFY_OK(eng.submit(cmd::Write{b, "x"}));
    QVERIFY(c.wait_for(seen(is_warning(a, WarningKind::event_after_close))));
    const auto ready = c.find(is_kind(RecordKind::readiness, a));
    const auto warned = c.find(is_warning(a, WarningKind::event_after_close));
    QVERIFY(ready && warned);
    QCOMPARE(*warned, *ready + 1);
    QCOMPARE(c.records[*ready].fd, copy);
    QVERIFY(c.records[*ready].bits & EPOLLIN);
    QCOMPARE(c.records[*warned].value, std::uint64_t{c.records[*ready].bits});
    QCOMPARE(c.records[*warned].fd, copy);

    auto cl = eng.submit(cmd::Close{a});
    QVERIFY_OK(cl);
    QVERIFY(c.wait_for(seen(result_of(cl->id))));
    const Record closed_copy = c.records[*c.find(result_of(cl->id))];
    QCOMPARE(closed_copy.op, static_cast<std::uint8_t>(Op::close));
    QCOMPARE(closed_copy.outcome, Outcome::ok);
    QCOMPARE(closed_copy.fd, copy);
    const std::size_t after_close = c.records.size();
    auto w = eng.submit(cmd::Write{b, "y"});
    QVERIFY_OK(w);
    QVERIFY(c.wait_for(seen(result_of(w->id))));
    QCOMPARE(c.records[*c.find(result_of(w->id))].err, EPIPE);
    QVERIFY(settle(eng, c));
    QVERIFY(!c.find(is_kind(RecordKind::readiness, a), after_close));
    // A second Close: the token names nothing any more.
    auto again = eng.submit(cmd::Close{a});
    QVERIFY_OK(again);
    QVERIFY(c.wait_for(seen(result_of(again->id))));
    QCOMPARE(c.records[*c.find(result_of(again->id))].err, EBADF);
    eng.stop();
  }

  // CloseFd without a copy: the kernel drops the registration with the file (no events;
  // the peer's write fails). On an eventfd: EOPNOTSUPP, the source stays. Unknown: EBADF.
  void closefd_without_dup_and_errors() {
    START_ENGINE(eng, c);
    auto p = eng.submit(cmd::SocketPair{});
    auto e = eng.submit(cmd::EventFdCreate{});
    QVERIFY_OK(p);
    QVERIFY_OK(e);
    auto cf = eng.submit(cmd::CloseFd{p->token});
    auto ce = eng.submit(cmd::CloseFd{e->token});
    auto cx = eng.submit(cmd::CloseFd{Token(999)});
    QVERIFY_OK(cf);
    QVERIFY_OK(ce);
    QVERIFY_OK(cx);
    QVERIFY(c.wait_for(seen(result_of(cx->id))));
    QCOMPARE(c.records[*c.find(result_of(cf->id))].outcome, Outcome::ok);
    QVERIFY(c.find(is_kind(RecordKind::source_removed, p->token)));
    QCOMPARE(c.records[*c.find(result_of(ce->id))].err, EOPNOTSUPP);
    QVERIFY(eng.source_info(e->token));
    QCOMPARE(c.records[*c.find(result_of(cx->id))].err, EBADF);
    auto w = eng.submit(cmd::Write{p->token2, "x"});
    QVERIFY_OK(w);
    QVERIFY(c.wait_for(seen(result_of(w->id))));
    QCOMPARE(c.records[*c.find(result_of(w->id))].err, EPIPE);
    QVERIFY(settle(eng, c));
    QVERIFY(!c.find(is_kind(RecordKind::readiness, p->token)));
    QVERIFY(!c.find(is_warning(p->token, WarningKind::event_after_close)));
    eng.stop();
  }

  // A ghost left at stop is closed by it (CoreTest's fd check after the test).
  void ghost_closed_at_stop() {
    START_ENGINE(eng, c);
    auto p = eng.submit(cmd::SocketPair{});
    QVERIFY_OK(p);
    QVERIFY_OK(eng.submit(cmd::Dup{p->token}));
    auto cf = eng.submit(cmd::CloseFd{p->token});
    QVERIFY_OK(cf);
    QVERIFY(c.wait_for(seen(result_of(cf->id))));
    eng.stop();
  }

  // also_close and a stale event in one batch: A drains and closes C when A ends. Both peers
  // close in one batch, so A's and C's events come from the same epoll_wait, A's first; A's
  // reaction closes A and C, and C's event is then stale: readiness (fd -1) + event_after_close.
  void also_close_makes_a_stale_event() {
    START_ENGINE(eng, c);
    auto pc = eng.submit(cmd::SocketPair{});
    QVERIFY_OK(pc);
    const Token cc = pc->token, dd = pc->token2;
    auto pa = eng.submit(cmd::SocketPair{reacting(Reaction::drain, 0, cc)});
    QVERIFY_OK(pa);
    const Token aa = pa->token, bb = pa->token2;
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, bb))));
    // bb has the same reaction (drain + also_close C): it is closed by the command, not by it.
    auto batch = eng.submit_batch({cmd::Close{bb}, cmd::Close{dd}});
    QVERIFY_OK(batch);
    QVERIFY(c.wait_for(seen(is_warning(cc, WarningKind::event_after_close))));
    const auto a_ready = c.find(is_kind(RecordKind::readiness, aa));
    const auto a_eof = c.find(is_action(aa, Op::drain, Outcome::eof));
    const auto a_removed = c.find(is_kind(RecordKind::source_removed, aa));
    const auto c_removed = c.find(is_kind(RecordKind::source_removed, cc));
    const auto c_ready = c.find(is_kind(RecordKind::readiness, cc));
    const auto c_warned = c.find(is_warning(cc, WarningKind::event_after_close));
    QVERIFY(a_ready && a_eof && a_removed && c_removed && c_ready && c_warned);
    QVERIFY(*a_ready < *a_eof && *a_eof < *a_removed && *a_removed < *c_removed && *c_removed < *c_ready);
    QCOMPARE(*c_warned, *c_ready + 1);
    QCOMPARE(c.records[*c_ready].fd, -1);
    QVERIFY(c.records[*c_ready].bits & EPOLLIN);
    QCOMPARE(c.records[*c_warned].value, std::uint64_t{c.records[*c_ready].bits});
    // One epoll_wait brought both: no poll_return between A's event and C's.
    for (std::size_t i = *a_ready; i < *c_ready; ++i) QVERIFY(c.records[i].kind != RecordKind::poll_return);
    QCOMPARE(count_if(c.records, is_kind(RecordKind::source_removed, cc)), std::size_t{1});
    eng.stop();
  }

  // The budget: a fire-hose drained at most 64 KiB per event goes behind the other ready
  // sources, so a trickle's bytes are read while the fire-hose keeps flowing.
  void budget_round_robin_serves_a_trickle() {
    START_ENGINE(eng, c);
    constexpr std::uint64_t kBudget = 65536;
    auto hose = eng.submit(cmd::Feed{65536, 0ns, reacting(Reaction::discard, kBudget)});
    auto trickle = eng.submit(cmd::SocketPair{with(Reaction::drain)});
    QVERIFY_OK(hose);
    QVERIFY_OK(trickle);
    const Token h = hose->token, x = trickle->token, y = trickle->token2;
    // The budget is hit: a drain of exactly 64 KiB, outcome ok (more may be waiting).
    QVERIFY(c.wait_for(seen(
        [&](const Record& r) { return is_action(h, Op::drain, Outcome::ok)(r) && r.value == kBudget; })));
    for (int i = 0; i < 3; ++i) {
      const std::size_t from = c.records.size();
      QVERIFY_OK(eng.submit(cmd::Write{y, "t"}));
      std::size_t scanned = from;
      const bool read = c.wait_for([&](const std::vector<Record>& rs) {
        for (; scanned < rs.size(); ++scanned)
          if (is_action(x, Op::drain)(rs[scanned]) && rs[scanned].value == 1) return true;
        return false;
      });
      QVERIFY(read);
      // ... and the fire-hose goes on after it.
      const std::size_t after = scanned;
      QVERIFY(c.wait_for([&](const std::vector<Record>& rs) {
        for (; scanned < rs.size(); ++scanned)
          if (is_action(h, Op::drain)(rs[scanned]) && rs[scanned].value > 0) return true;
        return false;
      }));
      QVERIFY(scanned > after);
    }
    // Never more than the budget per event.
    QCOMPARE(
        count_if(c.records, [&](const Record& r) { return is_action(h, Op::drain)(r) && r.value > kBudget; }),
        std::size_t{0});
    QVERIFY_OK(eng.submit(cmd::Close{h}));
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_removed, h))));
    eng.stop();
  }

  // ExhaustFds / ReleaseFds: the limit is lowered and restored, the ballast counted; the
  // second exhaust is EBUSY, a headroom above 64 EINVAL, a release with nothing held ok 0.
  // work_ns_per_kib: after each read the reaction's handler "works" bytes x work / 1024 ns on
  // the poll thread, so its drain action comes at least that long after the event it
  // handled (a lower bound the busy-wait guarantees; no upper bound is asserted). Out of
  // range: EINVAL, the reaction unchanged.
  void handler_work_holds_the_loop() {
    START_ENGINE(eng, c);
    constexpr std::uint32_t kWork = 100'000;  // 100 us per KiB
    constexpr std::size_t kBytes = 32 * 1024;
    // discard: no payload is kept, so the action's time is taken after the work (a kept
    // read's action carries the time its bytes were read, before the work).
    SourceOptions o = reacting(Reaction::discard);
    o.reaction.work_ns_per_kib = kWork;
    auto p = eng.submit(cmd::SocketPair{o});
    QVERIFY_OK(p);
    const Token a = p->token, b = p->token2;
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, b))));
    QVERIFY_OK(eng.submit(cmd::Write{a, std::string(kBytes, 'w')}));
    QVERIFY(c.wait_for(seen([&](const Record& r) { return is_action(b, Op::drain)(r) && r.value == kBytes; })));
    const Record event = c.records[*c.find(is_kind(RecordKind::readiness, b))];
    const Record drained =
        c.records[*c.find([&](const Record& r) { return is_action(b, Op::drain)(r) && r.value == kBytes; })];
    QVERIFY2(drained.t_ns - event.t_ns >= kBytes * kWork / 1024,
             qPrintable(QStringLiteral("%1 ns").arg(drained.t_ns - event.t_ns)));

    ReactionSpec too_much = o.reaction;
    too_much.work_ns_per_kib = ReactionSpec::kMaxWorkNsPerKib + 1;
    auto bad = eng.submit(cmd::SetReaction{b, too_much});
    QVERIFY_OK(bad);
    QVERIFY(c.wait_for(seen(result_of(bad->id))));
    const Record refused = c.records[*c.find(result_of(bad->id))];
    QCOMPARE(refused.outcome, Outcome::error);
    QCOMPARE(refused.err, EINVAL);
    QCOMPARE(refused.op, static_cast<std::uint8_t>(Op::modify));
  }

  void exhaust_and_release() {
    const rlimit before = nofile();
    {
      START_ENGINE(eng, c);
      auto bad = eng.submit(cmd::ExhaustFds{65});
      auto none = eng.submit(cmd::ReleaseFds{});
      auto ex = eng.submit(cmd::ExhaustFds{2});
      auto busy = eng.submit(cmd::ExhaustFds{2});
      QVERIFY_OK(bad);
      QVERIFY_OK(none);
      QVERIFY_OK(ex);
      QVERIFY_OK(busy);
      QVERIFY(c.wait_for(seen(result_of(busy->id))));
      const Record rb = c.records[*c.find(result_of(bad->id))];
      QCOMPARE(rb.op, static_cast<std::uint8_t>(Op::exhaust_fds));
      QCOMPARE(rb.err, EINVAL);
      QCOMPARE(rb.token, std::uint64_t{0});
      const Record rn = c.records[*c.find(result_of(none->id))];
      QCOMPARE(rn.op, static_cast<std::uint8_t>(Op::release_fds));
      QCOMPARE(rn.outcome, Outcome::ok);
      QCOMPARE(rn.value, std::uint64_t{0});
      const Record re = c.records[*c.find(result_of(ex->id))];
      QCOMPARE(re.outcome, Outcome::ok);
      QCOMPARE(re.token, std::uint64_t{0});
      QCOMPARE(c.records[*c.find(result_of(busy->id))].err, EBUSY);
      const rlimit low = nofile();
      QVERIFY(low.rlim_cur < before.rlim_cur);
      QCOMPARE(low.rlim_max, before.rlim_max);
      // Exactly the headroom is left: two descriptors open, the third is EMFILE.
      {
        auto n1 = plain_socket(AF_UNIX);
        auto n2 = plain_socket(AF_UNIX);
        QVERIFY_OK(n1);
        QVERIFY_OK(n2);
        auto n3 = plain_socket(AF_UNIX);
        QVERIFY(!n3);
        QCOMPARE(n3.error().value(), EMFILE);
      }
      auto rel = eng.submit(cmd::ReleaseFds{});
      QVERIFY_OK(rel);
      QVERIFY(c.wait_for(seen(result_of(rel->id))));
      const Record rr = c.records[*c.find(result_of(rel->id))];
      QCOMPARE(rr.outcome, Outcome::ok);
      QCOMPARE(rr.value, re.value);
      QVERIFY(nofile() == before);
      // Exhausted again, then stop: stop releases.
      auto ex2 = eng.submit(cmd::ExhaustFds{0});
      QVERIFY_OK(ex2);
      QVERIFY(c.wait_for(seen(result_of(ex2->id))));
      QCOMPARE(c.records[*c.find(result_of(ex2->id))].outcome, Outcome::ok);
      QVERIFY(nofile().rlim_cur < before.rlim_cur);
      eng.stop();
      c.pump();
      QVERIFY(c.find([](const Record& r) {
        return r.kind == RecordKind::action && r.op == static_cast<std::uint8_t>(Op::release_fds) &&
               r.value2 == 0 && r.outcome == Outcome::ok;
      }));
      QVERIFY(nofile() == before);
    }
    QVERIFY(nofile() == before);
  }

  // EMFILE with emfile_reserve = false: the accept records EMFILE and nothing else; the
  // connection keeps waiting (an edge-triggered listener is not told again): once the
  // descriptors are back, a hand-made Accept takes it.
  void emfile_without_reserve_leaves_the_connection_waiting() {
    const rlimit before = nofile();
    {
      START_ENGINE(eng, c);
      auto l = eng.submit(
          cmd::TcpListen{any_local_address(), reacting(Reaction::auto_accept, 0, Token{0}, false)});
      QVERIFY_OK(l);
      QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, l->token))));
      const auto addr = net::SocketAddr::parse(eng.source_info(l->token)->local);
      QVERIFY(addr);
      auto ex = eng.submit(cmd::ExhaustFds{1});  // one number free: the client's socket
      QVERIFY_OK(ex);
      QVERIFY(c.wait_for(seen(result_of(ex->id))));
      QCOMPARE(c.records[*c.find(result_of(ex->id))].outcome, Outcome::ok);
      auto client = plain_connect(*addr);
      QVERIFY_OK(client);
      QVERIFY(c.wait_for(seen(is_action(l->token, Op::accept, Outcome::error))));
      QCOMPARE(c.records[*c.find(is_action(l->token, Op::accept, Outcome::error))].err, EMFILE);
      auto rel = eng.submit(cmd::ReleaseFds{});
      QVERIFY_OK(rel);
      QVERIFY(c.wait_for(seen(result_of(rel->id))));
      QVERIFY(nofile() == before);
      QVERIFY(settle(eng, c));
      QVERIFY(!c.find(is_warning(l->token, WarningKind::emfile)));
      QVERIFY(!c.find(is_action(l->token, Op::accept, Outcome::ok)));
      // Still in the backlog.
      auto acc = eng.submit(cmd::Accept{l->token});
      QVERIFY_OK(acc);
      QVERIFY(c.wait_for(seen(result_of(acc->id))));
      QCOMPARE(c.records[*c.find(result_of(acc->id))].outcome, Outcome::ok);
      eng.stop();
    }
    QVERIFY(nofile() == before);
  }

  // EMFILE with the reserve (the default): the waiting connection is accepted and closed
  // (the client reads end-of-file) and an emfile warning counts it.
  void emfile_with_reserve_drains_the_backlog() {
    const rlimit before = nofile();
    {
      START_ENGINE(eng, c);
      auto l = eng.submit(cmd::TcpListen{any_local_address(), reacting(Reaction::auto_accept)});
      QVERIFY_OK(l);
      QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, l->token))));
      const auto addr = net::SocketAddr::parse(eng.source_info(l->token)->local);
      QVERIFY(addr);
      auto ex = eng.submit(cmd::ExhaustFds{1});
      QVERIFY_OK(ex);
      QVERIFY(c.wait_for(seen(result_of(ex->id))));
      QCOMPARE(c.records[*c.find(result_of(ex->id))].outcome, Outcome::ok);
      auto client = plain_connect(*addr);
      QVERIFY_OK(client);
      QVERIFY(c.wait_for(seen(is_warning(l->token, WarningKind::emfile))));
      QCOMPARE(c.records[*c.find(is_warning(l->token, WarningKind::emfile))].value, std::uint64_t{1});
      QCOMPARE(c.records[*c.find(is_action(l->token, Op::accept, Outcome::error))].err, EMFILE);
      QVERIFY(wait_readable(client->get()));
      std::array<std::byte, 8> buf{};
      auto r = plain_recv(client->get(), buf);
      QVERIFY(!r || *r == 0);  // end-of-file (or a reset)
      auto rel = eng.submit(cmd::ReleaseFds{});
      QVERIFY_OK(rel);
      QVERIFY(c.wait_for(seen(result_of(rel->id))));
      QVERIFY(nofile() == before);
      eng.stop();
    }
    QVERIFY(nofile() == before);
  }

  // Merged writes: three writes in one batch are one edge for an edge-triggered reader, and
  // its one read takes the 3 bytes.
  void batch_writes_merge_into_one_event() {
    START_ENGINE(eng, c);
    auto p = eng.submit(cmd::SocketPair{with(Reaction::read)});
    QVERIFY_OK(p);
    const Token r = p->token, w = p->token2;
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, w))));
    QVERIFY_OK(eng.submit_batch({cmd::Write{w, "a"}, cmd::Write{w, "b"}, cmd::Write{w, "c"}}));
    QVERIFY(c.wait_for(seen(is_action(r, Op::read, Outcome::ok))));
    QVERIFY(settle(eng, c));
    QCOMPARE(count_if(c.records, is_kind(RecordKind::readiness, r)), std::size_t{1});
    QCOMPARE(count_if(c.records, is_action(r, Op::read)), std::size_t{1});
    QCOMPARE(c.records[*c.find(is_action(r, Op::read))].value, std::uint64_t{3});
    QCOMPARE(count_if(c.records, is_action(w, Op::write, Outcome::ok)), std::size_t{3});
    eng.stop();
  }

  // Two sources written in one batch are ready in the same epoll_wait.
  void batch_two_sources_one_poll() {
    START_ENGINE(eng, c);
    auto p1 = eng.submit(cmd::SocketPair{});
    auto p2 = eng.submit(cmd::SocketPair{});
    QVERIFY_OK(p1);
    QVERIFY_OK(p2);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, p2->token2))));
    QVERIFY_OK(eng.submit_batch({cmd::Write{p1->token2, "1"}, cmd::Write{p2->token2, "2"}}));
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::readiness, p1->token))));
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::readiness, p2->token))));
    const std::size_t i1 = *c.find(is_kind(RecordKind::readiness, p1->token));
    const std::size_t i2 = *c.find(is_kind(RecordKind::readiness, p2->token));
    for (std::size_t i = std::min(i1, i2); i < std::max(i1, i2); ++i)
      QVERIFY(c.records[i].kind != RecordKind::poll_return);
    // That poll_return counted both events.
    std::optional<std::size_t> pr;
    for (std::size_t i = std::min(i1, i2); i-- > 0;)
      if (c.records[i].kind == RecordKind::poll_return) {
        pr = i;
        break;
      }
    QVERIFY(pr);
    QVERIFY(c.records[*pr].value >= 2);
    eng.stop();
  }
};

QTEST_GUILESS_MAIN(TestCaptureLessonOps)
#include "tst_capture_lesson_ops.moc"
