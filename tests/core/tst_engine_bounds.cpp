// The engine's bounds on what others hand it (docs/engine.md, "Bounds"), each refused or cut
// when hit and counted in Engine::bounds_hit(): the command queue's capacity, note texts (count
// and bytes), and the accept budget that keeps a connect flood from holding the poll loop.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine_util.h"
#include "poll_thread_util.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;

namespace {

std::atomic<bool> g_held{false};
std::atomic<bool> g_release{false};
// Runs on the poll thread (a signal aimed at it) and keeps it there until the test releases
// it: the queue then fills with nothing taking it. poll(2) is async-signal-safe.
extern "C" void hold_poll_thread(int) {
  g_held.store(true);
  while (!g_release.load()) ::poll(nullptr, 0, 1);
}

/// Whether thread `tid` of this process is blocked in epoll_wait (/proc's syscall file): then
/// it holds none of the engine's locks.
bool in_epoll_wait(pid_t tid) {
  std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/syscall");
  long nr = -1;
  f >> nr;
  return nr == SYS_epoll_wait || nr == SYS_epoll_pwait || nr == SYS_epoll_pwait2;
}

/// Holds the poll thread inside a SIGUSR2 handler while it lives; releases it when it goes.
/// The signal is sent while the thread sleeps in epoll_wait, so the handler cannot interrupt
/// it inside the queue's lock (a submit would then wait for it forever).
class PollThreadHold {
 public:
  explicit PollThreadHold(pid_t tid) {
    for (Deadline d; !d.expired() && !in_epoll_wait(tid);) ::poll(nullptr, 0, 1);
    g_held = false;
    g_release = false;
    struct sigaction sa {};
    sa.sa_handler = hold_poll_thread;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGUSR2, &sa, &old_);
    ok_ = ::syscall(SYS_tgkill, ::getpid(), tid, SIGUSR2) == 0;
  }
  ~PollThreadHold() {
    g_release = true;
    // The old disposition back only once the signal was taken (a delivery after it would
    // meet SIG_DFL and end the process); a handler still running finishes unaffected.
    if (ok_) (void)wait_held();
    ::sigaction(SIGUSR2, &old_, nullptr);
  }
  PollThreadHold(const PollThreadHold&) = delete;
  PollThreadHold& operator=(const PollThreadHold&) = delete;

  /// Waits until the poll thread is in the handler.
  bool wait_held() const {
    for (Deadline d; !d.expired(); ::poll(nullptr, 0, 1))
      if (g_held) return true;
    return false;
  }

 private:
  struct sigaction old_ {};
  bool ok_ = false;
};

/// A listener's accept queue: connections the kernel completed that nobody accepted yet
/// (TCP_INFO's tcpi_unacked on a listening socket). Read-only.
int accept_queue_length(int listener_fd) {
  tcp_info ti{};
  socklen_t len = sizeof ti;
  if (::getsockopt(listener_fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return -1;
  return static_cast<int>(ti.tcpi_unacked);
}

}  // namespace

class TestEngineBounds : public CoreTest {
  Q_OBJECT
 private slots:
  // Every new bound outside its stated range is refused with EINVAL before anything starts.
  void config_out_of_range_is_refused() {
    const std::vector<std::pair<const char*, std::function<void(EngineConfig&)>>> bad{
        {"command_queue_capacity 0", [](EngineConfig& c) { c.command_queue_capacity = 0; }},
        {"command_queue_capacity 2^24+1", [](EngineConfig& c) { c.command_queue_capacity = kMaxCommandQueueCapacity + 1; }},
        {"max_notes 0", [](EngineConfig& c) { c.max_notes = 0; }},
        {"max_notes 2^24+1", [](EngineConfig& c) { c.max_notes = kMaxNotes + 1; }},
        {"max_note_bytes 0", [](EngineConfig& c) { c.max_note_bytes = 0; }},
        {"max_note_bytes 2^20+1", [](EngineConfig& c) { c.max_note_bytes = kMaxNoteBytes + 1; }},
        {"accept_budget 0", [](EngineConfig& c) { c.accept_budget = 0; }},
        {"accept_budget 2^20+1", [](EngineConfig& c) { c.accept_budget = kMaxAcceptBudget + 1; }},
    };
    for (const auto& [what, mutate] : bad) {
      EngineConfig cfg;
      mutate(cfg);
      auto e = Engine::start(cfg);
      QVERIFY2(!e, what);
      QCOMPARE(e.error().value(), EINVAL);
    }
    // The limits themselves are accepted.
    EngineConfig edge;
    edge.command_queue_capacity = 1;
    edge.max_notes = 1;
    edge.max_note_bytes = kMaxNoteBytes;
    edge.accept_budget = kMaxAcceptBudget;
    QVERIFY_OK(Engine::start(edge));
  }

  // With the poll thread held (a signal handler on it), the queue fills: the command past
  // command_queue_capacity is refused with ENOBUFS, counted, and the queued ones all run
  // once the thread goes on.
  void full_command_queue_refuses_and_counts() {
    EngineConfig cfg;
    cfg.command_queue_capacity = 4;
    START_ENGINE(eng, c, cfg);
    QVERIFY_OK(eng.submit(cmd::Sync{}));
    const pid_t tid = wait_poll_thread();
    QVERIFY(tid != 0);
    std::vector<Ticket> queued;
    {
      PollThreadHold hold(tid);
      QVERIFY(hold.wait_held());
      for (int i = 0; i < 4; ++i) {
        auto t = eng.submit(cmd::Note{"queued " + std::to_string(i)});
        QVERIFY_OK(t);
        queued.push_back(*t);
      }
      auto full = eng.submit(cmd::Note{"one too many"});
      QVERIFY(!full);
      QCOMPARE(full.error().value(), ENOBUFS);
      auto full_batch = eng.submit_batch({cmd::Note{"nor"}, cmd::Note{"these"}});
      QVERIFY(!full_batch);
      QCOMPARE(full_batch.error().value(), ENOBUFS);
      QCOMPARE(eng.bounds_hit().commands_refused, std::uint64_t{3});
    }
    const auto note_of = [](const Ticket& t) {
      return [id = t.id](const Record& r) { return r.kind == RecordKind::note && r.command() == id; };
    };
    QVERIFY(c.wait_for(seen(note_of(queued.back()))));
    for (const Ticket& t : queued) QVERIFY(c.find(note_of(t)));
    // The refused ones never ran: exactly the four queued notes were recorded.
    QCOMPARE(count(c.records, RecordKind::note), std::size_t{4});
    // Room again once the poll thread took the queue.
    QVERIFY_OK(eng.submit(cmd::Sync{}));
  }

  // A batch that can never fit is refused whole, counted per command; nothing of it runs.
  void batch_larger_than_the_queue_is_refused_whole() {
    EngineConfig cfg;
    cfg.command_queue_capacity = 4;
    START_ENGINE(eng, c, cfg);
    std::vector<Command> five;
    for (int i = 0; i < 5; ++i) five.emplace_back(cmd::Note{"n" + std::to_string(i)});
    auto r = eng.submit_batch(std::move(five));
    QVERIFY(!r);
    QCOMPARE(r.error().value(), ENOBUFS);
    QCOMPARE(eng.bounds_hit().commands_refused, std::uint64_t{5});
    // A witness submitted after: its note is the only one.
    auto w = eng.submit(cmd::Note{"witness"});
    QVERIFY_OK(w);
    QVERIFY(c.wait_for(seen([&](const Record& x) { return x.kind == RecordKind::note && x.command() == w->id; })));
    QCOMPARE(count(c.records, RecordKind::note), std::size_t{1});
  }

  // Note texts: the newest max_notes are kept, the oldest forgotten; a text longer than
  // max_note_bytes is cut at a UTF-8 character boundary. Every note record still appears.
  void note_texts_are_bounded_in_count_and_bytes() {
    EngineConfig cfg;
    cfg.max_notes = 3;
    cfg.max_note_bytes = 8;
    START_ENGINE(eng, c, cfg);
    // "a" and four two-byte characters: 9 bytes; byte 8 is inside the fourth, so 7 are kept.
    const std::vector<std::string> texts{"one", "two", "a\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", "four", "five"};
    std::vector<Ticket> tickets;
    for (const auto& t : texts) {
      auto k = eng.submit(cmd::Note{t});
      QVERIFY_OK(k);
      tickets.push_back(*k);
    }
    QVERIFY(c.wait_for([](const std::vector<Record>& rs) { return count(rs, RecordKind::note) == 5; }));
    std::vector<std::uint64_t> ids;
    for (const Record& r : c.records)
      if (r.kind == RecordKind::note) ids.push_back(r.note_id());
    QCOMPARE(ids.size(), std::size_t{5});
    QVERIFY(!eng.note_text(ids[0]));
    QVERIFY(!eng.note_text(ids[1]));
    QCOMPARE(QString::fromStdString(eng.note_text(ids[2]).value_or("?")),
             QString::fromUtf8("a\xC3\xA9\xC3\xA9\xC3\xA9"));
    QCOMPARE(QString::fromStdString(eng.note_text(ids[3]).value_or("?")), QStringLiteral("four"));
    QCOMPARE(QString::fromStdString(eng.note_text(ids[4]).value_or("?")), QStringLiteral("five"));
    const BoundsHit b = eng.bounds_hit();
    QCOMPARE(b.note_texts_dropped, std::uint64_t{2});
    QCOMPARE(b.note_bytes_truncated, std::uint64_t{2});
  }

  // A connect flood on an auto-accept listener yields after accept_budget accepts: a witness
  // (an eventfd written in the same batch, reported in the same poll after the listener) is
  // handled before the flood is fully accepted. Before the budget, the listener accepted all
  // 120 first.
  void accept_flood_yields_to_a_witness() {
    START_ENGINE(eng, c);
    const std::uint32_t budget = eng.config().accept_budget;
    constexpr int kConnections = 120;  // within the listener's backlog: all wait completed
    QVERIFY(kConnections > static_cast<int>(budget));
    auto l = eng.submit(cmd::TcpListen{any_local_address(), with(Reaction::none)});
    QVERIFY_OK(l);
    auto w = eng.submit(cmd::EventFdCreate{0, false, with(Reaction::drain)});
    QVERIFY_OK(w);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, w->token))));
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, l->token))));
    const auto info = eng.source_info(l->token);
    QVERIFY(info);
    const auto addr = net::SocketAddr::parse(info->local);
    QVERIFY(addr);

    std::vector<OwnedFd> clients;
    for (int i = 0; i < kConnections; ++i) {
      auto s = plain_connect(*addr);
      QVERIFY_OK(s);
      clients.push_back(std::move(*s));
    }
    // Every connection waits in the accept queue before the listener is told again (the
    // test could not fail otherwise). Reaction none: nothing accepts them meanwhile.
    bool all_waiting = false;
    for (Deadline d; !d.expired() && !all_waiting; ::poll(nullptr, 0, 1))
      all_waiting = accept_queue_length(info->fd) == kConnections;
    QVERIFY(all_waiting);
    // And the poll thread has seen every edge those connects made: a late listener event in
    // the same poll as the batch below would be handled after the batch's commands, before
    // the witness's event exists, and its continuation would accept all before the witness
    // (seen under ASan on a loaded machine).
    QVERIFY(await_witness(eng, c));

    const std::size_t from = c.records.size();
    // Rearm (EPOLL_CTL_MOD) reports the ready listener again, then the eventfd write readies
    // the witness: the next poll returns both, the listener first.
    QVERIFY_OK(eng.submit_batch({cmd::SetReaction{l->token, ReactionSpec{Reaction::auto_accept}},
                                 cmd::Rearm{l->token}, cmd::EventFdWrite{w->token, 1}}));
    const auto accept_ok = is_action(l->token, Op::accept, Outcome::ok);
    const auto witness = is_kind(RecordKind::readiness, w->token);
    QVERIFY(c.wait_for([&](const std::vector<Record>& rs) {
      return std::count_if(rs.begin() + static_cast<std::ptrdiff_t>(from), rs.end(), accept_ok) == kConnections &&
             c.find(witness, from).has_value();
    }));
    const std::size_t witness_at = *c.find(witness, from);
    const auto accepts_before = std::count_if(c.records.begin() + static_cast<std::ptrdiff_t>(from),
                                              c.records.begin() + static_cast<std::ptrdiff_t>(witness_at), accept_ok);
    QVERIFY2(accepts_before <= static_cast<std::ptrdiff_t>(budget),
             qPrintable(QStringLiteral("%1 accepts before the witness").arg(accepts_before)));
    QVERIFY(accepts_before >= 1);  // the listener came first in that poll
    QVERIFY(eng.bounds_hit().accept_budget_yields >= 1);
    // Each connection was accepted exactly once, and became a source.
    QCOMPARE(std::count_if(c.records.begin(), c.records.end(),
                           [&](const Record& r) {
                             return r.kind == RecordKind::source_added && r.related() == l->token.value;
                           }),
             std::ptrdiff_t{kConnections});
  }
};

QTEST_GUILESS_MAIN(TestEngineBounds)
#include "tst_engine_bounds.moc"
