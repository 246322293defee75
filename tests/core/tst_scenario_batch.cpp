// The lesson extensions of the scenario format: source lists and `repeat` (one submit_batch),
// the dup / close_fd / exhaust_fds / release_fds ops, the feed source, the reaction fields
// budget / also_close / emfile_reserve, warning / no_warning checks and top-level compare.
// Every bad value gets its exact one-line error; what the engine already does is run on a
// real Engine (socketpairs, the payload bound's warning).
#include <QTest>
#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "peer.h"
#include "ready/capture/engine.h"
#include "ready/capture/scenario.h"
#include "ready_test.h"
#include "scenario_test.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;

namespace {

/// A scenario parsed as "t.json" and played to its end on an engine of its own (started with
/// `config`), every record drained kept in `all`. The engine stops when this goes.
struct Played {
  std::optional<Scenario> scenario;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<ScenarioRunner> runner;  // destroyed first (it only unlinks paths it made)
  std::vector<Record> all;
  std::string error;  // why it could not be played to its end; empty when it was
  ~Played() {
    if (engine) engine->stop();
  }
};

std::unique_ptr<Played> play(std::string_view json, EngineConfig config = {}) {
  auto p = std::make_unique<Played>();
  auto s = parse_scenario(json, "t.json");
  if (!s) {
    p->error = s.error().message();
    return p;
  }
  p->scenario = std::move(*s);
  auto started = Engine::start(config);
  if (!started) {
    p->error = "Engine::start: " + started.error().message();
    return p;
  }
  p->engine = std::move(*started);
  p->runner = std::make_unique<ScenarioRunner>(*p->scenario, *p->engine);
  if (!drive_scenario(*p->engine, *p->runner, &p->all))
    p->error = "not finished within the limit:" + outcomes_report(*p->runner);
  return p;
}

/// Two socketpairs (ends a-b and c-d), a tcp listener l and an eventfd e, around `steps`.
std::string with(std::string_view steps, std::string_view more = "") {
  return R"({"name":"t","sources":[{"id":"p","kind":"socketpair","ends":["a","b"]},)"
         R"({"id":"q","kind":"socketpair","ends":["c","d"]},)"
         R"({"id":"l","kind":"tcp_listener","bind":"127.0.0.1:0"},{"id":"e","kind":"eventfd"}],"steps":[)" +
         std::string(steps) + "]" + std::string(more) + "}";
}

/// One source (its JSON) and no steps.
std::string source(std::string_view src) {
  return R"({"name":"t","sources":[)" + std::string(src) + R"(],"steps":[]})";
}

}  // namespace

class TestScenarioBatch : public CoreTest {
  Q_OBJECT
 private slots:
  // Every new field's bad values: the exact line (file, JSON pointer, what was expected).
  void rejects_bad_values() {
    struct Case {
      std::string text;
      std::string want;  // the whole message
    };
    std::string seventeen;
    for (int i = 0; i < 17; ++i) seventeen += std::string(i ? "," : "") + "\"a\"";
    const std::string warnings =
        "payload_truncated, emfile, engine_error, et_partial_read, oneshot_disarmed_pending, "
        "level_writable_spin, read_after_close, event_after_close";
    const std::vector<Case> cases{
        // Kinds and ops.
        {source(R"({"id":"f","kind":"fire_hose"})"),
         "t.json: /sources/0/kind: expected one of tcp_listener, tcp_stream, udp, unix_listener, unix_stream, "
         "unix_datagram, socketpair, pipe, eventfd, timerfd, feed, relay (got \"fire_hose\")"},
        {with(R"({"op":"dupe","source":"a"})"),
         "t.json: /steps/0/op: expected one of none, create, set_interest, set_mode, set_reaction, rearm, read, "
         "drain, write, fill, shutdown_read, shutdown_write, close, accept, eventfd_write, eventfd_read, "
         "timer_arm, timer_disarm, dup, close_fd, exhaust_fds, release_fds (got \"dupe\")"},
        // repeat.
        {with(R"({"op":"write","source":"a","data":"x","repeat":65})"),
         "t.json: /steps/0/repeat: expected an integer in 1..64, got 65"},
        {with(R"({"op":"write","source":"a","data":"x","repeat":0})"),
         "t.json: /steps/0/repeat: expected an integer in 1..64, got 0"},
        {with(R"({"op":"write","source":"a","data":"x","repeat":"3"})"),
         "t.json: /steps/0/repeat: expected an integer in 1..64, got \"3\""},
        {with(R"({"note":"x","repeat":2})"),
         "t.json: /steps/0/repeat: unknown field in a step (expected one of note, wait_ms, expect)"},
        // Source lists.
        {with(R"({"op":"write","source":["a","zz"],"data":"x"})"),
         "t.json: /steps/0/source/1: no source \"zz\" (declare it in /sources, or name an accept's \"as\")"},
        {with(R"({"op":"write","source":[],"data":"x"})"),
         "t.json: /steps/0/source: expected a list of 1..16 ids, got 0"},
        {with(R"({"op":"write","source":[)" + seventeen + R"(],"data":"x"})"),
         "t.json: /steps/0/source: expected a list of 1..16 ids, got 17"},
        {with(R"({"op":"write","source":["a","c","a"],"data":"x"})"),
         "t.json: /steps/0/source/2: \"a\" is listed twice"},
        {with(R"({"op":"write","source":["a",3],"data":"x"})"),
         "t.json: /steps/0/source/1: expected a source id, got 3"},
        {with(R"({"op":"write","source":{"id":"a"},"data":"x"})"),
         "t.json: /steps/0/source: expected a source id or a list of ids, got an object"},
        {with(R"({"op":"read","source":["b","l"]})"),
         "t.json: /steps/0/source/1: \"read\" does not fit \"l\", a tcp_listener (it fits tcp_stream, udp, "
         "unix_stream, unix_datagram, pipe_receiver, eventfd, timerfd)"},
        {with(R"({"op":"write","source":["a","p"],"data":"x"})"),
         "t.json: /steps/0/source/1: \"p\" is a socketpair: name one of its ends, \"a\" or \"b\""},
        {with(R"({"op":"accept","source":"l","as":"s","repeat":2})"),
         "t.json: /steps/0/as: \"as\" names one accepted stream: give one source and no repeat"},
        {R"({"name":"t","sources":[{"id":"e","kind":"eventfd","deferred":true}],"steps":[{"op":"create","source":["e"]}]})",
         "t.json: /steps/0/source: expected a source id, got an array"},
        {R"({"name":"t","sources":[{"id":"e","kind":"eventfd","deferred":true}],"steps":[{"op":"create","source":"e","repeat":2}]})",
         "t.json: /steps/0/repeat: unknown field in a step (expected one of note, op, source, wait_ms, expect)"},
        // dup / close_fd.
        {with(R"({"op":"dup","source":"b"},{"op":"close_fd","source":"b"},{"op":"read","source":"b"})"),
         "t.json: /steps/2/source: \"b\" was closed by close_fd at /steps/1: only \"close\" may follow (it "
         "closes the dup'd copy)"},
        {with(R"({"op":"close_fd","source":["a","b"]},{"op":"close","source":"a"},{"op":"dup","source":["c","b"]})"),
         "t.json: /steps/2/source/1: \"b\" was closed by close_fd at /steps/0: only \"close\" may follow (it "
         "closes the dup'd copy)"},
        {with(R"({"op":"close_fd","source":"b"},{"op":"close","source":"b"},{"op":"close_fd","source":"b"})"),
         "t.json: /steps/2/source: \"b\" was closed by close_fd at /steps/0: only \"close\" may follow (it "
         "closes the dup'd copy)"},
        {with(R"({"op":"close_fd","source":"b","repeat":2})"),
         "t.json: /steps/0/repeat: close_fd closes a descriptor once (repeat must be 1)"},
        // exhaust_fds / release_fds.
        {with(R"({"op":"exhaust_fds","source":"a"})"),
         "t.json: /steps/0/source: unknown field in a step (expected one of note, op, headroom, wait_ms, expect)"},
        {with(R"({"op":"exhaust_fds","headroom":65})"),
         "t.json: /steps/0/headroom: expected an integer in 0..64, got 65"},
        {with(R"({"op":"exhaust_fds","headroom":-1})"),
         "t.json: /steps/0/headroom: expected an integer in 0..64, got -1"},
        {with(R"({"op":"release_fds","headroom":1})"),
         "t.json: /steps/0/headroom: unknown field in a step (expected one of note, op, wait_ms, expect)"},
        {with(R"({"op":"release_fds","repeat":2})"),
         "t.json: /steps/0/repeat: unknown field in a step (expected one of note, op, wait_ms, expect)"},
        {with(R"({"op":"write","source":"a","data":"x","headroom":1})"),
         "t.json: /steps/0/headroom: unknown field in a step (expected one of note, op, source, repeat, data, "
         "wait_ms, expect)"},
        // feed.
        {source(R"({"id":"f","kind":"feed","chunk":0})"),
         "t.json: /sources/0/chunk: expected an integer in 1..65536, got 0"},
        {source(R"({"id":"f","kind":"feed","chunk":65537})"),
         "t.json: /sources/0/chunk: expected an integer in 1..65536, got 65537"},
        {source(R"({"id":"f","kind":"feed","interval_us":1000001})"),
         "t.json: /sources/0/interval_us: expected an integer in 0..1000000, got 1000001"},
        {source(R"({"id":"f","kind":"feed","interval_ms":5})"),
         "t.json: /sources/0/interval_ms: unknown field in a source (expected one of id, kind, chunk, "
         "interval_us, interest, mode, reaction, read_n, budget, work_ns_per_kib, also_close, emfile_reserve, deferred)"},
        {source(R"({"id":"e","kind":"eventfd","chunk":5})"),
         "t.json: /sources/0/chunk: unknown field in a source (expected one of id, kind, initial, semaphore, "
         "interest, mode, reaction, read_n, budget, work_ns_per_kib, also_close, emfile_reserve, deferred)"},
        {R"({"name":"t","sources":[{"id":"f","kind":"feed"}],"steps":[{"op":"write","source":"f","data":"x"}]})",
         "t.json: /steps/0/source: \"write\" does not fit \"f\", a feed (its end only receives: it fits "
         "set_interest, set_mode, set_reaction, rearm, read, drain, shutdown_read, close, dup, close_fd)"},
        {R"({"name":"t","sources":[{"id":"f","kind":"feed"}],"steps":[{"op":"fill","source":"f"}]})",
         "t.json: /steps/0/source: \"fill\" does not fit \"f\", a feed (its end only receives: it fits "
         "set_interest, set_mode, set_reaction, rearm, read, drain, shutdown_read, close, dup, close_fd)"},
        {R"({"name":"t","sources":[{"id":"f","kind":"feed"}],"steps":[{"op":"shutdown_write","source":"f"}]})",
         "t.json: /steps/0/source: \"shutdown_write\" does not fit \"f\", a feed (its end only receives: it fits "
         "set_interest, set_mode, set_reaction, rearm, read, drain, shutdown_read, close, dup, close_fd)"},
        // budget.
        {source(R"({"id":"e","kind":"eventfd","reaction":"read","budget":10})"),
         "t.json: /sources/0/budget: budget goes with \"reaction\": drain, discard or echo only"},
        {source(R"({"id":"e","kind":"eventfd","budget":10})"),
         "t.json: /sources/0/budget: budget goes with \"reaction\": drain, discard or echo only"},
        {source(R"({"id":"e","kind":"eventfd","reaction":"drain","budget":1073741825})"),
         "t.json: /sources/0/budget: expected an integer in 0..1073741824, got 1073741825"},
        // work_ns_per_kib.
        {source(R"({"id":"e","kind":"eventfd","reaction":"echo","work_ns_per_kib":10})"),
         "t.json: /sources/0/work_ns_per_kib: work_ns_per_kib goes with \"reaction\": read, drain or discard only"},
        {source(R"({"id":"e","kind":"eventfd","reaction":"drain","work_ns_per_kib":1000001})"),
         "t.json: /sources/0/work_ns_per_kib: expected an integer in 0..1000000, got 1000001"},
        {with(R"({"op":"set_reaction","source":"b","reaction":"read","budget":1})"),
         "t.json: /steps/0/budget: budget goes with \"reaction\": drain, discard or echo only"},
        // also_close.
        {source(R"({"id":"e","kind":"eventfd","reaction":"drain","also_close":"zz"})"),
         "t.json: /sources/0/also_close: no source \"zz\" declared before this one"},
        {source(R"({"id":"e","kind":"eventfd","reaction":"drain","also_close":"e"})"),
         "t.json: /sources/0/also_close: a source cannot also_close itself"},
        {source(R"({"id":"e","kind":"eventfd","also_close":"e"})"),
         "t.json: /sources/0/also_close: also_close goes with a reaction that can close the source: read, "
         "drain, echo or discard"},
        {source(R"({"id":"e","kind":"eventfd","reaction":"drain","also_close":7})"),
         "t.json: /sources/0/also_close: expected a string, got 7"},
        {source(R"({"id":"p","kind":"socketpair"},{"id":"e","kind":"eventfd","reaction":"drain","also_close":"p"})"),
         "t.json: /sources/1/also_close: \"p\" is a socketpair: name one of its ends, \"p.0\" or \"p.1\""},
        {source(R"({"id":"e","kind":"eventfd","deferred":true},{"id":"f","kind":"eventfd","reaction":"drain","also_close":"e"})"),
         "t.json: /sources/1/also_close: \"e\" is deferred: this source must be deferred too and created after it"},
        {source(R"({"id":"e","kind":"eventfd"},{"id":"p","kind":"socketpair","reaction":"drain","also_close":"e"})"),
         "t.json: /sources/1/also_close: the two ends of a socketpair share one reaction: set also_close on one "
         "end with a set_reaction step"},
        {R"({"name":"t","sources":[{"id":"e","kind":"eventfd","deferred":true},)"
         R"({"id":"f","kind":"eventfd","deferred":true,"reaction":"drain","also_close":"e"}],)"
         R"("steps":[{"op":"create","source":"f"}]})",
         "t.json: /steps/0/source: \"f\" has also_close \"e\", which does not exist yet"},
        {with(R"({"op":"set_reaction","source":"b","reaction":"echo","also_close":"zz"})"),
         "t.json: /steps/0/also_close: no source \"zz\" (declare it in /sources, or name an accept's \"as\")"},
        {with(R"({"op":"set_reaction","source":["b","d"],"reaction":"echo","also_close":"d"})"),
         "t.json: /steps/0/also_close: a source cannot also_close itself"},
        {with(R"({"op":"set_reaction","source":"b","reaction":"echo","also_close":"s"},)"
              R"({"op":"accept","source":"l","as":"s"})"),
         "t.json: /steps/0/also_close: no source \"s\" (declare it in /sources, or name an accept's \"as\")"},
        // emfile_reserve.
        {source(R"({"id":"e","kind":"eventfd","emfile_reserve":false})"),
         "t.json: /sources/0/emfile_reserve: emfile_reserve goes with listeners only (tcp_listener, "
         "unix_listener)"},
        {source(R"({"id":"l","kind":"tcp_listener","bind":"127.0.0.1:0","emfile_reserve":"no"})"),
         "t.json: /sources/0/emfile_reserve: expected true or false, got \"no\""},
        {with(R"({"op":"set_reaction","source":["l","b"],"reaction":"none","emfile_reserve":false})"),
         "t.json: /steps/0/emfile_reserve: emfile_reserve goes with listeners only (tcp_listener, "
         "unix_listener)"},
        // warning / no_warning checks.
        {with(R"({"note":"x","expect":[{"source":"b","warning":"et_partial"}]})"),
         "t.json: /steps/0/expect/0/warning: expected one of " + warnings + " (got \"et_partial\")"},
        {with(R"({"note":"x","expect":[{"source":"b","no_warning":"all"}]})"),
         "t.json: /steps/0/expect/0/no_warning: expected one of " + warnings + ", any (got \"all\")"},
        {with(R"({"note":"x","expect":[{"source":"b","warning":"any"}]})"),
         "t.json: /steps/0/expect/0/warning: expected one of " + warnings + " (got \"any\")"},
        {with(R"({"note":"x","expect":[{"source":"b","no_warning":"any","within_ms":5}]})"),
         "t.json: /steps/0/expect/0/within_ms: within_ms goes with \"warning\" (no_warning is judged at the "
         "barrier)"},
        {with(R"({"note":"x","expect":[{"source":"b","warning":"emfile","seen":["readable"]}]})"),
         "t.json: /steps/0/expect/0: a check needs exactly one of: \"seen\"/\"not_seen\" (readiness), "
         "\"action\", \"removed\", \"warning\", \"no_warning\", \"interest\", \"queue\""},
        {with(R"({"note":"x","expect":[{"source":"zz","warning":"emfile"}]})"),
         "t.json: /steps/0/expect/0/source: no source \"zz\" (declare it in /sources, or name an accept's "
         "\"as\")"},
        {with(R"({"note":"x","expect":[{"warning":"emfile"}]})"),
         "t.json: /steps/0/expect/0: missing field \"source\" (a check)"},
        {with(R"({"note":"x","expect":[{"source":"b","warning":"emfile","n":1}]})"),
         "t.json: /steps/0/expect/0/n: unknown field in a check (expected one of source, warning, within_ms)"},
        // Action checks of the new ops.
        {with(R"({"note":"x","expect":[{"source":"a","action":"exhaust_fds","result":"ok"}]})"),
         "t.json: /steps/0/expect/0/source: unknown field in a check (expected one of action, result, errno, n, "
         "n_min, n_max, within_ms)"},
        {with(R"({"note":"x","expect":[{"action":"dup","result":"ok"}]})"),
         "t.json: /steps/0/expect/0: missing field \"source\" (a check)"},
        // compare.
        {with(R"({"note":"x"})", R"(,"compare":[{"left":"b","right":"zz"}])"),
         "t.json: /compare/0/right: no source \"zz\" (declare it in /sources, or name an accept's \"as\")"},
        {with(R"({"note":"x"})", R"(,"compare":[{"left":"b","right":"b"}])"),
         "t.json: /compare/0/right: the same source as \"left\" (compare two different ones)"},
        {with(R"({"note":"x"})", R"(,"compare":[{"left":"q","right":"b"}])"),
         "t.json: /compare/0/left: \"q\" is a socketpair: name one of its ends, \"c\" or \"d\""},
        {with(R"({"note":"x"})", R"(,"compare":[{"left":"b"}])"),
         "t.json: /compare/0: missing field \"right\" (a compare pair)"},
        {with(R"({"note":"x"})", R"(,"compare":[{"left":"b","right":"d","label":")" + std::string(65, 'x') +
                                      R"("}])"),
         "t.json: /compare/0/label: longer than 64 bytes (65)"},
        {with(R"({"note":"x"})", R"(,"compare":[{"left":"b","right":"d","color":"red"}])"),
         "t.json: /compare/0/color: unknown field in a compare pair (expected one of left, right, label)"},
        {with(R"({"note":"x"})", R"(,"compare":{"left":"b","right":"d"})"),
         "t.json: /compare: expected a list of {\"left\", \"right\", \"label\"} pairs, got an object"},
        {with(R"({"note":"x"})", R"(,"compare":[)" + [] {
           std::string s;
           for (int i = 0; i < 9; ++i) s += std::string(i ? "," : "") + R"({"left":"b","right":"d"})";
           return s;
         }() + "]"),
         "t.json: /compare: more than 8 pairs"},
    };
    for (const auto& c : cases) {
      const std::string got = scenario_error(c.text);
      QVERIFY2(!got.empty(), ("accepted: " + c.text).c_str());
      QVERIFY2(got == c.want, ("for " + c.text + "\n  got:  " + got + "\n  want: " + c.want).c_str());
    }
  }

  // The fuzz seed that uses every extension (fuzz/corpus/scenario/) stays valid.
  void fuzz_seed_parses() {
    const std::filesystem::path here(__FILE__);
    const auto seed = here.parent_path().parent_path().parent_path() / "fuzz" / "corpus" / "scenario" /
                      "lesson-syntax.json";
    auto s = load_scenario(seed.string());
    QVERIFY2(s, s ? "" : s.error().message().c_str());
    QCOMPARE(s->compare.size(), std::size_t{2});
    QCOMPARE(s->steps[0].repeat, 3u);
  }

  // Every new field parses into the Scenario as documented, with its defaults.
  void new_fields_parse() {
    auto s = parse_scenario(R"json({
      "name": "lessons",
      "sources": [
        {"id": "p", "kind": "socketpair", "ends": ["a", "b"]},
        {"id": "q", "kind": "socketpair", "ends": ["c", "d"], "mode": "level"},
        {"id": "hose", "kind": "feed"},
        {"id": "drip", "kind": "feed", "chunk": 16, "interval_us": 1000000, "reaction": "drain",
         "budget": 1073741824, "also_close": "b"},
        {"id": "l", "kind": "tcp_listener", "bind": "127.0.0.1:0", "reaction": "auto_accept",
         "emfile_reserve": false},
        {"id": "u", "kind": "unix_listener"},
        {"id": "late", "kind": "eventfd", "deferred": true},
        {"id": "e", "kind": "eventfd", "deferred": true, "reaction": "read", "also_close": "late"}
      ],
      "steps": [
        {"op": "write", "source": ["a", "c"], "data": "xy", "repeat": 3,
         "expect": [{"source": "b", "warning": "et_partial_read", "within_ms": 5},
                    {"source": "b", "no_warning": "any"},
                    {"source": "d", "no_warning": "level_writable_spin"},
                    {"source": "b", "action": "dup", "result": "ok"},
                    {"action": "exhaust_fds", "result": "error", "errno": "EBUSY"},
                    {"action": "release_fds", "result": "ok", "n": 0}]},
        {"op": "exhaust_fds"},
        {"op": "exhaust_fds", "headroom": 64},
        {"op": "release_fds"},
        {"op": "dup", "source": "b"},
        {"op": "close_fd", "source": "b",
         "expect": [{"source": "b", "seen": ["readable"]}, {"source": "b", "warning": "event_after_close"}]},
        {"op": "close", "source": "b"},
        {"op": "set_reaction", "source": ["hose", "d"], "reaction": "discard", "budget": 4096,
         "also_close": "a", "repeat": 2},
        {"op": "set_reaction", "source": "u", "reaction": "auto_accept", "emfile_reserve": false},
        {"op": "accept", "source": "l", "as": "s"},
        {"op": "read", "source": ["hose", "drip", "s"], "n": 10},
        {"op": "create", "source": "late"},
        {"op": "create", "source": "e"}
      ],
      "compare": [{"left": "d", "right": "s", "label": "edge vs level"}, {"left": "hose", "right": "drip"}]
    })json",
                            "lessons.json");
    QVERIFY2(s, s ? "" : s.error().message().c_str());
    QCOMPARE(s->sources[2].kind, ScenarioSourceKind::feed);
    QCOMPARE(s->sources[2].chunk, 65536u);
    QCOMPARE(s->sources[2].feed_interval.count(), 0);
    QCOMPARE(s->sources[3].chunk, 16u);
    QCOMPARE(s->sources[3].feed_interval.count(), 1000000);
    QCOMPARE(s->sources[3].options.reaction.budget, std::uint64_t{1} << 30);
    QCOMPARE(s->sources[3].also_close, std::string("b"));
    QCOMPARE(s->sources[3].options.reaction.also_close.value, std::size_t{0});  // resolved at run time
    QVERIFY(s->sources[3].options.reaction.emfile_reserve);                    // the default
    QVERIFY(!s->sources[4].options.reaction.emfile_reserve);
    QCOMPARE(s->sources[7].also_close, std::string("late"));

    const auto& w = s->steps[0];
    QVERIFY(w.sources == (std::vector<std::string>{"a", "c"}));
    QCOMPARE(w.source, std::string("a"));
    QCOMPARE(w.repeat, 3u);
    using T = ScenarioExpectation::Type;
    QCOMPARE(w.expect[0].type, T::warning);
    QCOMPARE(w.expect[0].warning, WarningKind::et_partial_read);
    QCOMPARE(w.expect[0].within.count(), 5);
    QCOMPARE(w.expect[1].type, T::no_warning);
    QVERIFY(w.expect[1].warning_any);
    QCOMPARE(w.expect[2].warning, WarningKind::level_writable_spin);
    QVERIFY(!w.expect[2].warning_any);
    QCOMPARE(w.expect[3].op, Op::dup);
    QCOMPARE(w.expect[4].op, Op::exhaust_fds);
    QVERIFY(w.expect[4].source.empty());
    QCOMPARE(w.expect[4].err, EBUSY);
    QCOMPARE(w.expect[5].op, Op::release_fds);

    QCOMPARE(s->steps[1].op, ScenarioOp::exhaust_fds);
    QCOMPARE(std::get<cmd::ExhaustFds>(s->steps[1].command).headroom, 0u);
    QVERIFY(s->steps[1].sources.empty());
    QVERIFY(s->steps[1].source.empty());
    QCOMPARE(std::get<cmd::ExhaustFds>(s->steps[2].command).headroom, 64u);
    QCOMPARE(s->steps[3].op, ScenarioOp::release_fds);
    QCOMPARE(s->steps[4].op, ScenarioOp::dup);
    QCOMPARE(s->steps[5].op, ScenarioOp::close_fd);
    QCOMPARE(s->steps[6].op, ScenarioOp::close);  // close after close_fd: allowed
    const auto& r = s->steps[7];
    QVERIFY(r.sources == (std::vector<std::string>{"hose", "d"}));
    QCOMPARE(r.repeat, 2u);
    const auto& reaction = std::get<cmd::SetReaction>(r.command).reaction;
    QCOMPARE(reaction.kind, Reaction::discard);
    QCOMPARE(reaction.budget, std::uint64_t{4096});
    QCOMPARE(r.also_close, std::string("a"));
    QVERIFY(!std::get<cmd::SetReaction>(s->steps[8].command).reaction.emfile_reserve);
    QCOMPARE(s->steps[10].sources.size(), std::size_t{3});

    QCOMPARE(s->compare.size(), std::size_t{2});
    QCOMPARE(s->compare[0].left, std::string("d"));
    QCOMPARE(s->compare[0].right, std::string("s"));  // an accept's `as` name
    QCOMPARE(s->compare[0].label, std::string("edge vs level"));
    QVERIFY(s->compare[1].label.empty());
    QCOMPARE(to_string(ScenarioSourceKind::feed), std::string_view("feed"));
    QCOMPARE(to_string(ScenarioOp::release_fds), std::string_view("release_fds"));
  }

  // Three writes in one batch to an edge-triggered socketpair end: the reader gets ONE
  // readable event for all three, and a read of 3 bytes takes them all with no new event.
  void repeat_batches_writes_into_one_edge() {
    const auto played = play(R"json({
      "name": "merged-edge",
      "sources": [{"id": "p", "kind": "socketpair", "ends": ["w", "r"], "mode": "edge"}],
      "steps": [
        {"op": "write", "source": "w", "data": "x", "repeat": 3,
         "expect": [{"source": "w", "action": "write", "result": "ok", "n": 1},
                    {"source": "r", "seen": ["readable"]}]},
        {"op": "read", "source": "r", "n": 3,
         "expect": [{"source": "r", "action": "read", "result": "ok", "n": 3},
                    {"source": "r", "not_seen": ["any"]}]},
        {"op": "read", "source": "r", "n": 1,
         "expect": [{"source": "r", "action": "read", "result": "would_block"},
                    {"source": "r", "not_seen": ["any"]}]}
      ]
    })json");
    QVERIFY2(played->error.empty(), played->error.c_str());
    const ScenarioRunner& runner = *played->runner;
    const std::vector<Record>& all = played->all;
    QVERIFY2(runner.passed(), outcomes_report(runner).c_str());
    QCOMPARE(runner.outcomes()[0].detail, std::string("write w x3: 2 check(s) held"));
    const auto w = runner.token_of("w");
    const auto r = runner.token_of("r");
    QVERIFY(w && r);
    // Exactly three writes, run back to back (no poll between them), and one readable event.
    std::vector<std::size_t> writes;
    std::size_t events = 0;
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (all[i].kind == RecordKind::action && all[i].token == w->value &&
          all[i].op == static_cast<std::uint8_t>(Op::write))
        writes.push_back(i);
      if (all[i].kind == RecordKind::readiness && all[i].token == r->value) ++events;
    }
    QCOMPARE(writes.size(), std::size_t{3});
    // No poll between them (only the queue records each write's sampling adds).
    for (std::size_t i = writes[0]; i < writes[2]; ++i) QVERIFY(all[i].kind != RecordKind::poll_return);
    QCOMPARE(events, std::size_t{1});
  }

  // A source list: one write to two socketpairs in one batch; both readers are readable,
  // both reads get the bytes; compare names them, token_of finds every one.
  void source_list_acts_on_each() {
    const auto played = play(R"json({
      "name": "two-at-once",
      "sources": [{"id": "p", "kind": "socketpair", "ends": ["a", "b"], "mode": "edge"},
                  {"id": "q", "kind": "socketpair", "ends": ["c", "d"], "mode": "oneshot"}],
      "steps": [
        {"op": "write", "source": ["a", "c"], "data": "hi",
         "expect": [{"source": "a", "action": "write", "result": "ok", "n": 2},
                    {"source": "c", "action": "write", "result": "ok", "n": 2},
                    {"source": "b", "seen": ["readable"]}, {"source": "d", "seen": ["readable"]}]},
        {"op": "read", "source": ["b", "d"], "n": 16,
         "expect": [{"source": "b", "action": "read", "result": "ok", "n": 2},
                    {"source": "d", "action": "read", "result": "ok", "n": 2}]},
        {"op": "close", "source": ["b", "d"],
         "expect": [{"source": "b", "removed": true}, {"source": "d", "removed": true}]}
      ],
      "compare": [{"left": "b", "right": "d", "label": "edge vs oneshot"}]
    })json");
    QVERIFY2(played->error.empty(), played->error.c_str());
    const ScenarioRunner& runner = *played->runner;
    const std::vector<Record>& all = played->all;
    QVERIFY2(runner.passed(), outcomes_report(runner).c_str());
    QCOMPARE(runner.outcomes()[0].detail, std::string("write a,c: 4 check(s) held"));
    const auto a = runner.token_of("a");
    const auto c = runner.token_of("c");
    QVERIFY(a && c && runner.token_of("b") && runner.token_of("d"));
    // The two writes are one batch: no poll between them (only queue records).
    std::vector<std::size_t> writes;
    for (std::size_t i = 0; i < all.size(); ++i)
      if (all[i].kind == RecordKind::action && all[i].op == static_cast<std::uint8_t>(Op::write))
        writes.push_back(i);
    QCOMPARE(writes.size(), std::size_t{2});
    for (std::size_t i = writes[0] + 1; i < writes[1]; ++i) QCOMPARE(all[i].kind, RecordKind::queue);
    QCOMPARE(all[writes[0]].token, a->value);
    QCOMPARE(all[writes[1]].token, c->value);
    // A closed source keeps its id's token (a GUI lane, ghost events after close_fd).
    QVERIFY(runner.token_of("b"));
  }

  // warning / no_warning against the payload bound's warning (8 bytes kept per source):
  // it comes once per source, so it is seen at the first overflow and not again.
  void warning_checks_pass() {
    EngineConfig config;
    config.payload_bytes_per_source = 8;
    const auto played = play(R"json({
      "name": "warnings",
      "sources": [{"id": "p", "kind": "socketpair", "ends": ["a", "b"]}],
      "steps": [
        {"op": "write", "source": "a", "data": "0123456789abcdef",
         "expect": [{"source": "a", "warning": "payload_truncated"},
                    {"source": "b", "no_warning": "any"},
                    {"source": "a", "no_warning": "et_partial_read"}]},
        {"op": "read", "source": "b", "n": 16,
         "expect": [{"source": "b", "warning": "payload_truncated"},
                    {"source": "a", "no_warning": "any"}]},
        {"op": "write", "source": "a", "data": "0123456789abcdef",
         "expect": [{"source": "a", "no_warning": "payload_truncated"}]}
      ]
    })json", config);
    QVERIFY2(played->error.empty(), played->error.c_str());
    const ScenarioRunner& runner = *played->runner;
    QVERIFY2(runner.passed(), outcomes_report(runner).c_str());
  }

  // The same checks turned around fail, each with a detail naming what was seen.
  void warning_checks_fail() {
    EngineConfig config;
    config.payload_bytes_per_source = 8;
    const auto played = play(R"json({
      "name": "warnings-wrong",
      "sources": [{"id": "p", "kind": "socketpair", "ends": ["a", "b"]}],
      "steps": [
        {"op": "write", "source": "a", "data": "0123456789abcdef",
         "expect": [{"source": "a", "no_warning": "payload_truncated"}]},
        {"op": "write", "source": "a", "data": "0123456789abcdef",
         "expect": [{"source": "b", "warning": "payload_truncated", "within_ms": 20}]},
        {"op": "read", "source": "b", "n": 32,
         "expect": [{"source": "b", "no_warning": "any"}]}
      ]
    })json", config);
    QVERIFY2(played->error.empty(), played->error.c_str());
    const ScenarioRunner& runner = *played->runner;
    QVERIFY(runner.finished());
    QVERIFY(!runner.passed());
    QVERIFY(!runner.failed_to_start());
    const auto& o = runner.outcomes();
    QCOMPARE(o.size(), std::size_t{3});
    for (const auto& x : o) QVERIFY2(x.status == StepOutcome::Status::failed, outcomes_report(runner).c_str());
    QCOMPARE(o[0].detail, std::string("write a: a: expected no payload_truncated warning, got 1: payload_truncated"));
    QCOMPARE(o[1].detail, std::string("write a: b: expected a payload_truncated warning within 20 ms, got no warning"));
    QCOMPARE(o[2].detail, std::string("read b: b: expected no warning, got 1: payload_truncated"));
  }

  // The reaction fields reach the engine: also_close is resolved to the other source's
  // token (at creation for a source, at the step for set_reaction), budget and
  // emfile_reserve are passed as given; each SetReaction is answered (source_changed).
  void reaction_fields_run() {
    const auto played = play(R"json({
      "name": "reactions",
      "sources": [
        {"id": "p", "kind": "socketpair", "ends": ["a", "b"]},
        {"id": "e", "kind": "eventfd", "reaction": "read", "also_close": "a"},
        {"id": "l", "kind": "tcp_listener", "bind": "127.0.0.1:0", "emfile_reserve": false}
      ],
      "steps": [
        {"op": "set_reaction", "source": ["b", "e"], "reaction": "drain", "budget": 1, "also_close": "a"},
        {"op": "set_reaction", "source": "l", "reaction": "auto_accept", "emfile_reserve": true},
        {"op": "write", "source": "a", "data": "hello",
         "expect": [{"source": "b", "action": "drain", "result": "would_block"}]}
      ]
    })json");
    QVERIFY2(played->error.empty(), played->error.c_str());
    const ScenarioRunner& runner = *played->runner;
    const std::vector<Record>& all = played->all;
    QVERIFY2(runner.passed(), outcomes_report(runner).c_str());
    QCOMPARE(runner.outcomes()[0].detail, std::string("set_reaction b,e: done"));
    const auto b = runner.token_of("b");
    const auto e = runner.token_of("e");
    const auto l = runner.token_of("l");
    QVERIFY(b && e && l);
    std::size_t changed = 0;
    for (const Record& r : all)
      if (r.kind == RecordKind::source_changed && (r.token == b->value || r.token == e->value || r.token == l->value))
        ++changed;
    QCOMPARE(changed, std::size_t{3});
  }

  // A source-less op's answer is judged by its command id: release_fds with nothing held
  // is ok with n=0 (the engine's contract); an error answer (ENOSYS while the engine lacks
  // it) fails the step by itself, naming the op and the errno.
  void sourceless_op_answer_decides_the_step() {
    const auto played = play(R"json({
      "name": "release",
      "sources": [],
      "steps": [{"op": "release_fds", "expect": [{"action": "release_fds", "result": "ok", "n": 0}]},
                {"op": "release_fds"}]
    })json");
    QVERIFY2(played->error.empty(), played->error.c_str());
    const ScenarioRunner& runner = *played->runner;
    const std::vector<Record>& all = played->all;
    QVERIFY(runner.finished());
    const Record* answer = nullptr;
    for (const Record& r : all)
      if (r.kind == RecordKind::action && r.op == static_cast<std::uint8_t>(Op::release_fds)) answer = &r;
    QVERIFY(answer);
    QCOMPARE(answer->token, std::uint64_t{0});
    const auto& o = runner.outcomes();
    QCOMPARE(o.size(), std::size_t{2});
    if (answer->outcome == Outcome::error) {
      const std::string why = "release_fds failed with " + errno_name(answer->err);
      QCOMPARE(o[0].status, StepOutcome::Status::failed);
      QVERIFY2(o[0].detail.starts_with("release_fds: " + why), o[0].detail.c_str());
      QCOMPARE(o[1].status, StepOutcome::Status::failed);  // no checks, still failed
      QCOMPARE(o[1].detail, "release_fds: " + why);
      QVERIFY(!runner.passed());
    } else {
      QVERIFY2(runner.passed(), outcomes_report(runner).c_str());
      QCOMPARE(o[0].detail, std::string("release_fds: 1 check(s) held"));
      QCOMPARE(o[1].status, StepOutcome::Status::ran);
    }
  }
};

QTEST_GUILESS_MAIN(TestScenarioBatch)
#include "tst_scenario_batch.moc"
