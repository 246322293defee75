// The scenario format's relay source (kind "relay": cmd::Relay, its first connection's legs
// named "<id>.client" / "<id>.upstream") and the interest check ("interest": [flags] or
// "paused"). Bad values get their exact one-line error; the runs use a real Engine relaying
// real loopback connections (TCP and a Unix upstream).
#include <QTest>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ready/capture/engine.h"
#include "ready/capture/scenario.h"
#include "ready_test.h"
#include "scenario_test.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;

namespace {

struct Played {
  std::optional<Scenario> scenario;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<ScenarioRunner> runner;
  std::vector<Record> all;
  std::string error;
  ~Played() {
    if (engine) engine->stop();
  }
};

std::unique_ptr<Played> play(std::string_view json) {
  auto p = std::make_unique<Played>();
  auto s = parse_scenario(json, "t.json");
  if (!s) {
    p->error = s.error().message();
    return p;
  }
  p->scenario = std::move(*s);
  auto started = Engine::start();
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

/// A tcp listener "up", a relay "r" to it and a client "c" of the relay, around `steps`.
std::string relay_with(std::string_view steps, std::string_view relay_more = "") {
  return R"({"name":"t","sources":[{"id":"up","kind":"tcp_listener","bind":"127.0.0.1:0"},)"
         R"({"id":"r","kind":"relay","bind":"127.0.0.1:0","upstream":"up")" +
         std::string(relay_more) + R"(},{"id":"c","kind":"tcp_stream","connect":"r"}],"steps":[)" + std::string(steps) +
         "]}";
}

std::string sources(std::string_view list) {
  return R"({"name":"t","sources":[)" + std::string(list) + R"(],"steps":[]})";
}

}  // namespace

class TestScenarioRelay : public CoreTest {
  Q_OBJECT
 private slots:
  void rejects_bad_values() {
    struct Case {
      std::string text;
      std::string want;
    };
    const std::string tl = R"({"id":"up","kind":"tcp_listener","bind":"127.0.0.1:0"},)";
    const std::vector<Case> cases{
        {sources(R"({"id":"r","kind":"relay","bind":"127.0.0.1:0"})"),
         "t.json: /sources/0: missing field \"upstream\" (a source)"},
        {sources(R"({"id":"r","kind":"relay","upstream":"up"})"), "t.json: /sources/0: missing field \"bind\" (a source)"},
        {sources(R"({"id":"r","kind":"relay","bind":"127.0.0.1:0","upstream":"up"})"),
         "t.json: /sources/0/upstream: expected the id of a tcp_listener or unix_listener declared before this "
         "relay (got \"up\")"},
        {sources(R"({"id":"e","kind":"eventfd"},{"id":"r","kind":"relay","bind":"127.0.0.1:0","upstream":"e"})"),
         "t.json: /sources/1/upstream: expected the id of a tcp_listener or unix_listener declared before this "
         "relay (got \"e\")"},
        {sources(tl + R"({"id":"r","kind":"relay","bind":"10.0.0.1:0","upstream":"up"})"),
         "t.json: /sources/1/bind: a non-loopback address needs allow_remote (got \"10.0.0.1:0\")"},
        {sources(tl + R"({"id":"r","kind":"relay","bind":"127.0.0.1:0","upstream":"up","mode":"oneshot"})"),
         "t.json: /sources/1/mode: a relay is edge or level (its legs are re-armed by the engine, not by steps)"},
        {sources(tl + R"({"id":"r","kind":"relay","bind":"127.0.0.1:0","upstream":"up","reaction":"echo"})"),
         "t.json: /sources/1/reaction: unknown field in a source (expected one of id, kind, bind, upstream, mode, "
         "deferred)"},
        {sources(tl + R"({"id":"r","kind":"relay","bind":"127.0.0.1:0","upstream":"up"},)"
                      R"({"id":"r2","kind":"relay","bind":"127.0.0.1:0","upstream":"r.client"})"),
         "t.json: /sources/2/upstream: expected the id of a tcp_listener or unix_listener declared before this "
         "relay (got \"r.client\")"},
        {sources(tl + R"({"id":"r.client","kind":"eventfd"},{"id":"r","kind":"relay","bind":"127.0.0.1:0","upstream":"up"})"),
         "t.json: /sources/1/id: expected an id: a letter or '_', then letters, digits, '_' or '-', at most 32 "
         "bytes (got \"r.client\")"},
        {relay_with(R"({"op":"read","source":"r.client"})"),
         "t.json: /steps/0/source: \"r.client\" is a relay's leg: the engine moves its bytes, so only checks (and "
         "compare) may name it"},
        {relay_with(R"({"op":"close","source":"r.upstream"})"),
         "t.json: /steps/0/source: \"r.upstream\" is a relay's leg: the engine moves its bytes, so only checks "
         "(and compare) may name it"},
        {relay_with(R"({"op":"accept","source":"r"})"),
         "t.json: /steps/0/source: \"accept\" does not fit \"r\", a relay (its listener accepts and relays by "
         "itself: only close fits it)"},
        {relay_with(R"({"op":"set_reaction","source":"c","reaction":"drain","also_close":"r.client"})"),
         "t.json: /steps/0/also_close: expected an id: a letter or '_', then letters, digits, '_' or '-', at most 32 "
         "bytes (got \"r.client\")"},
        {sources(R"({"id":"e","kind":"eventfd","reaction":"relay"})"),
         "t.json: /sources/0/reaction: expected one of none, read, drain, echo, discard, auto_accept (got \"relay\")"},
        {relay_with(R"({"note":"x","expect":[{"source":"r.client","interest":"stopped"}]})"),
         "t.json: /steps/0/expect/0/interest: expected a non-empty list of readable, writable, priority, or "
         "\"paused\" (got \"stopped\")"},
        {relay_with(R"({"note":"x","expect":[{"source":"r.client","interest":["readable","loud"]}]})"),
         "t.json: /steps/0/expect/0/interest/1: expected one of readable, writable, priority (got \"loud\")"},
        {relay_with(R"({"note":"x","expect":[{"source":"r.client","interest":[],"seen":["readable"]}]})"),
         "t.json: /steps/0/expect/0: a check needs exactly one of: \"seen\"/\"not_seen\" (readiness), "
         "\"action\", \"removed\", \"warning\", \"no_warning\", \"interest\", \"queue\""},
        {relay_with(R"({"note":"x","expect":[{"source":"r.client","interest":"paused","n":1}]})"),
         "t.json: /steps/0/expect/0/n: unknown field in a check (expected one of source, interest, within_ms)"},
    };
    for (const auto& c : cases) {
      const std::string got = scenario_error(c.text);
      QVERIFY2(!got.empty(), ("accepted: " + c.text).c_str());
      QVERIFY2(got == c.want, ("for " + c.text + "\n  got:  " + got + "\n  want: " + c.want).c_str());
    }
  }

  void parses() {
    auto s = parse_scenario(relay_with(R"({"note":"x","expect":[{"source":"r.client","interest":"paused"},)"
                                       R"({"source":"r.upstream","interest":["readable","writable"],"within_ms":7}]},)"
                                       R"({"op":"close","source":"r"})",
                                       R"(,"mode":"level")"),
                            "t.json");
    QVERIFY2(s, s ? "" : s.error().message().c_str());
    const ScenarioSource& r = s->sources[1];
    QCOMPARE(r.kind, ScenarioSourceKind::relay);
    QCOMPARE(r.target, std::string("up"));
    QVERIFY(r.addr && r.addr->is_loopback());
    QCOMPARE(r.options.trigger, Trigger::level);
    const auto& x = s->steps[0].expect;
    QCOMPARE(x[0].type, ScenarioExpectation::Type::interest);
    QVERIFY(x[0].paused);
    QVERIFY(!x[1].paused);
    QCOMPARE(x[1].interest, Interest::READABLE | Interest::WRITABLE);
    QCOMPARE(x[1].within.count(), 7);
    QVERIFY(std::holds_alternative<cmd::Close>(s->steps[1].command));
    // compare may name the legs; a deferred relay needs a create step before its legs exist.
    QVERIFY(scenario_error(R"({"name":"t","sources":[)"
                           R"({"id":"up","kind":"unix_listener"},)"
                           R"({"id":"r","kind":"relay","bind":"127.0.0.1:0","upstream":"up","deferred":true}],)"
                           R"("steps":[{"op":"create","source":"r"},{"note":"x","expect":[{"source":"r.upstream","interest":["readable"]}]}],)"
                           R"("compare":[{"left":"r.client","right":"r.upstream"}]})")
                .empty());
    QCOMPARE(scenario_error(R"({"name":"t","sources":[{"id":"up","kind":"unix_listener"},)"
                            R"({"id":"r","kind":"relay","bind":"127.0.0.1:0","upstream":"up","deferred":true}],)"
                            R"("steps":[{"note":"x","expect":[{"source":"r.client","interest":["readable"]}]}]})"),
             std::string("t.json: /steps/0/expect/0/source: \"r.client\" does not exist yet at this step (deferred, or "
                         "accepted later)"));
  }

  // A real relay: the client's bytes reach the server's accepted stream through both legs,
  // the legs are named and followed, and the interest check sees their registrations.
  void relays_and_names_the_legs() {
    const auto played = play(relay_with(R"(
      {"note": "connected through the relay",
       "expect": [{"source": "c", "action": "connect", "result": "ok"},
                  {"source": "r.upstream", "action": "connect", "result": "ok"},
                  {"source": "r.client", "interest": ["readable"]},
                  {"source": "up", "seen": ["readable"]}]},
      {"op": "accept", "source": "up", "as": "s", "expect": [{"source": "up", "action": "accept", "result": "ok"}]},
      {"op": "write", "source": "c", "data": "hello",
       "expect": [{"source": "r.client", "action": "read", "result": "would_block"},
                  {"source": "r.upstream", "action": "write", "result": "ok", "n": 5},
                  {"source": "s", "seen": ["readable"]}]},
      {"op": "read", "source": "s", "n": 100, "expect": [{"source": "s", "action": "read", "result": "ok", "n": 5}]},
      {"op": "write", "source": "s", "data": "hi",
       "expect": [{"source": "r.client", "action": "write", "result": "ok", "n": 2}, {"source": "c", "seen": ["readable"]}]},
      {"op": "close", "source": ["c", "s"],
       "expect": [{"source": "r.client", "removed": true}, {"source": "r.upstream", "removed": true}]}
    )"));
    QVERIFY2(played->error.empty(), played->error.c_str());
    const ScenarioRunner& runner = *played->runner;
    QVERIFY2(runner.passed(), outcomes_report(runner).c_str());
    const auto relay = runner.token_of("r");
    const auto client = runner.token_of("r.client");
    const auto upstream = runner.token_of("r.upstream");
    QVERIFY(relay && client && upstream);
    // The names are the engine's legs: the client leg's parent is the relay's listener, the
    // upstream leg's is the client leg.
    std::size_t found = 0;
    for (const Record& r : played->all) {
      if (r.kind != RecordKind::source_added) continue;
      if (r.token == client->value) {
        QCOMPARE(r.related(), relay->value);
        ++found;
      }
      if (r.token == upstream->value) {
        QCOMPARE(r.related(), client->value);
        ++found;
      }
    }
    QCOMPARE(found, std::size_t{2});
  }

  // A relay to a Unix listener; an interest check that does not hold says what was held.
  void unix_upstream_and_a_failing_interest_check() {
    const auto played = play(R"({"name":"t","sources":[
      {"id": "up", "kind": "unix_listener"},
      {"id": "r", "kind": "relay", "bind": "127.0.0.1:0", "upstream": "up"},
      {"id": "c", "kind": "tcp_stream", "connect": "r"}],
     "steps": [
      {"note": "connected", "expect": [{"source": "r.upstream", "action": "connect", "result": "ok"},
                                        {"source": "up", "seen": ["readable"]}]},
      {"note": "not paused", "expect": [{"source": "r.client", "interest": "paused", "within_ms": 50}]}
     ]})");
    QVERIFY2(played->error.empty(), played->error.c_str());
    const ScenarioRunner& runner = *played->runner;
    QVERIFY(runner.finished());
    QVERIFY(!runner.passed());
    QCOMPARE(runner.outcomes().size(), std::size_t{2});
    QCOMPARE(runner.outcomes()[0].status, StepOutcome::Status::passed);
    QCOMPARE(runner.outcomes()[1].detail,
             std::string("step: r.client: expected interest paused within 50 ms, got readable"));
    const auto upstream = runner.token_of("r.upstream");
    QVERIFY(upstream);
    QCOMPARE(played->engine->source_info(*upstream)->kind, SourceKind::unix_stream);
  }

  // No client ever connects: a check on a leg waits for it, then says so.
  void a_leg_that_never_comes() {
    const auto played = play(R"({"name":"t","sources":[
      {"id": "up", "kind": "tcp_listener", "bind": "127.0.0.1:0"},
      {"id": "r", "kind": "relay", "bind": "127.0.0.1:0", "upstream": "up"}],
     "steps": [{"note": "alone", "expect": [{"source": "r.client", "interest": ["readable"], "within_ms": 30}]}]})");
    QVERIFY2(played->error.empty(), played->error.c_str());
    QVERIFY(!played->runner->passed());
    QCOMPARE(played->runner->outcomes()[0].detail, std::string("step: r.client: no connection relayed within 30 ms"));
  }
};

QTEST_GUILESS_MAIN(TestScenarioRelay)
#include "tst_scenario_relay.moc"
