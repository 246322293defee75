// The engine's fatal failures (docs/engine.md, "Failure"): an epoll_wait error that will not
// go away and an allocation that fails on the poll thread stop the engine visibly (an
// engine_error warning with detail 1, the sources removed, a final stats record), every later
// command is refused with Engine::kFailedErrno, and Engine::failure() says why. Faults come
// from the syscall layer's injection (core/src/linux/sys.h), aimed at the poll thread.
#include <sys/epoll.h>

#include <cerrno>
#include <cstring>

#include "engine_util.h"
#include "poll_thread_util.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;

namespace {

bool is_fatal_engine_error(const Record& r) {
  return r.kind == RecordKind::warning && r.warning_kind() == WarningKind::engine_error && r.detail() == 1;
}

/// The records end with the final stats record, after a fatal engine_error.
bool stopped_by_failure(const std::vector<Record>& rs) {
  const auto e = std::find_if(rs.begin(), rs.end(), is_fatal_engine_error);
  return e != rs.end() && std::find_if(e, rs.end(), [](const Record& r) {
                            return r.kind == RecordKind::stats;
                          }) != rs.end();
}

}  // namespace

class TestEngineFailure : public CoreTest {
  Q_OBJECT
 private slots:
  // epoll_wait failing with EBADF (injected once, on the poll thread) ends the loop: before,
  // submit went on succeeding and the commands piled up unseen.
  void epoll_wait_error_stops_the_engine_visibly() {
    START_ENGINE(eng, c);
    auto e = eng.submit(cmd::EventFdCreate{0, false, with(Reaction::drain)});
    QVERIFY_OK(e);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, e->token))));
    const pid_t tid = wait_poll_thread();
    QVERIFY(tid != 0);
    const FaultGuard faults;
    QVERIFY(sys::fault::inject(::epoll_wait, EBADF, 1, tid));
    // The poll thread sleeps in a real epoll_wait: this command wakes it; its next wait fails.
    QVERIFY_OK(eng.submit(cmd::Note{"wakes the poll thread"}));
    QVERIFY(c.wait_for(stopped_by_failure));
    QCOMPARE(sys::fault::injected(::epoll_wait), 1);

    const std::size_t err_at = *c.find(is_fatal_engine_error);
    const Record& err = c.records[err_at];
    QCOMPARE(err.err, EBADF);
    QCOMPARE(err.token, std::uint64_t{0});
    // Then the sources are removed, and the last record is the final stats record.
    const auto removed = c.find(is_kind(RecordKind::source_removed, e->token), err_at);
    QVERIFY(removed);
    QCOMPARE(c.records.back().kind, RecordKind::stats);
    QVERIFY(*removed < c.records.size() - 1);

    // The reason, for whoever sees the record or a refused command.
    const auto f = eng.failure();
    QVERIFY(f);
    QCOMPARE(f->error.value(), EBADF);
    QCOMPARE(QString::fromLatin1(f->where), QStringLiteral("epoll_wait"));
    // The Note, if the poll thread was not yet back in epoll_wait when the fault was armed.
    QVERIFY(f->commands_discarded <= 1);

    // Every later command is refused, and refusing changes nothing.
    auto refused = eng.submit(cmd::Note{"too late"});
    QVERIFY(!refused);
    QCOMPARE(refused.error().value(), Engine::kFailedErrno);
    auto refused_batch = eng.submit_batch({cmd::Note{"too"}, cmd::Note{"late"}});
    QVERIFY(!refused_batch);
    QCOMPARE(refused_batch.error().value(), Engine::kFailedErrno);
    QCOMPARE(eng.bounds_hit().commands_refused, std::uint64_t{0});  // not a full queue

    // stop() after a failure joins the thread and adds nothing; the accounting is exact.
    const std::size_t before_stop = c.records.size();
    eng.stop();
    c.pump();
    QCOMPARE(c.records.size(), before_stop);
    QCOMPARE(eng.produced(), eng.delivered() + eng.dropped());
    QVERIFY(eng.failure());
    QCOMPARE(eng.submit(cmd::Note{"after stop"}).error().value(), Engine::kFailedErrno);
  }

  // std::bad_alloc on the poll thread (the allocation fault point, before a command) no
  // longer terminates the process: the engine stops as for an epoll error, with ENOMEM, and
  // the command it was about to run does not run.
  void bad_alloc_on_the_poll_thread_stops_the_engine() {
    START_ENGINE(eng, c);
    auto e = eng.submit(cmd::EventFdCreate{0, false, with(Reaction::drain)});
    QVERIFY_OK(e);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, e->token))));
    const pid_t tid = wait_poll_thread();
    QVERIFY(tid != 0);
    const FaultGuard faults;
    QVERIFY(sys::fault::inject(sys::fault::allocation, ENOMEM, 1, tid));
    auto note = eng.submit(cmd::Note{"never runs"});
    QVERIFY_OK(note);
    QVERIFY(c.wait_for(stopped_by_failure));
    QCOMPARE(sys::fault::injected(sys::fault::allocation), 1);

    const std::size_t err_at = *c.find(is_fatal_engine_error);
    QCOMPARE(c.records[err_at].err, ENOMEM);
    QVERIFY(c.find(is_kind(RecordKind::source_removed, e->token), err_at));
    QCOMPARE(c.records.back().kind, RecordKind::stats);
    QVERIFY(!c.find([&](const Record& r) { return r.kind == RecordKind::note && r.command() == note->id; }));

    const auto f = eng.failure();
    QVERIFY(f);
    QCOMPARE(f->error.value(), ENOMEM);
    QCOMPARE(QString::fromLatin1(f->where), QStringLiteral("allocation"));
    QCOMPARE(eng.submit(cmd::Note{"too late"}).error().value(), Engine::kFailedErrno);
    eng.stop();
    c.pump();
    QCOMPARE(eng.produced(), eng.delivered() + eng.dropped());
  }

  // The fault point is also checked at the periodic stats record: an engine that gets no
  // command at all fails there within a second (the headless runner relies on it in its test).
  void bad_alloc_at_the_stats_record_stops_the_engine() {
    START_ENGINE(eng, c);
    QVERIFY_OK(eng.submit(cmd::Sync{}));
    const pid_t tid = wait_poll_thread();
    QVERIFY(tid != 0);
    const FaultGuard faults;
    QVERIFY(sys::fault::inject(sys::fault::allocation, ENOMEM, 1, tid));
    QVERIFY(c.wait_for(stopped_by_failure));
    QCOMPARE(c.records[*c.find(is_fatal_engine_error)].err, ENOMEM);
    QVERIFY(eng.failure());
  }

  // An ordinary stop is no failure: failure() stays empty and submit says ESHUTDOWN.
  void stop_is_no_failure() {
    START_ENGINE(eng, c);
    QVERIFY_OK(eng.submit(cmd::Sync{}));
    eng.stop();
    c.pump();
    QVERIFY(!eng.failure());
    QVERIFY(!c.find(is_fatal_engine_error));
    QCOMPARE(eng.submit(cmd::Sync{}).error().value(), ESHUTDOWN);
  }
};

QTEST_GUILESS_MAIN(TestEngineFailure)
#include "tst_engine_failure.moc"
