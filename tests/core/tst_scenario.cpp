// Scenario files: every kind of bad input is rejected with the right JSON pointer, every
// source kind and op parses, and scenarios run on a real Engine pass or fail as they should.
#include <sys/stat.h>

#include <QString>
#include <QTest>
#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <set>
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

/// The scenarios shipped in resources/scenarios/.
std::string shipped(std::string_view name) { return shipped_scenario(name); }

/// A scenario with one socketpair (ends a, b) around `steps`.
std::string pair_with(std::string_view steps) {
  return R"({"name":"t","sources":[{"id":"p","kind":"socketpair","ends":["a","b"]}],"steps":[)" +
         std::string(steps) + "]}";
}

// Every source kind, every op, and every kind of check: parses, and passes on the kernel.
constexpr std::string_view kEverything = R"json({
  "name": "everything",
  "title": "Every source kind and every op",
  "description": "Used by the tests: each op once, with checks the kernel guarantees.",
  "version": 1,
  "sources": [
    {"id": "tl", "kind": "tcp_listener", "bind": "127.0.0.1:0"},
    {"id": "tc", "kind": "tcp_stream", "connect": "tl"},
    {"id": "u", "kind": "udp", "bind": "127.0.0.1:0", "mode": "level", "reaction": "drain"},
    {"id": "ul", "kind": "unix_listener"},
    {"id": "uc", "kind": "unix_stream", "connect": "ul", "interest": ["readable", "writable"]},
    {"id": "ud", "kind": "unix_datagram"},
    {"id": "sp", "kind": "socketpair", "mode": "edge"},
    {"id": "pp", "kind": "pipe"},
    {"id": "ev", "kind": "eventfd", "initial": 0, "semaphore": true},
    {"id": "tf", "kind": "timerfd", "mode": "oneshot"},
    {"id": "late", "kind": "eventfd", "initial": 3, "deferred": true},
    {"id": "late_tc", "kind": "tcp_stream", "connect": "tl", "deferred": true}
  ],
  "steps": [
    {"note": "setup done", "expect": [
      {"source": "tc", "action": "connect", "result": "ok"},
      {"source": "uc", "action": "connect", "result": "ok"},
      {"source": "tl", "seen": ["readable"]},
      {"source": "ul", "seen": ["readable"]}]},
    {"op": "accept", "source": "tl", "as": "ts", "expect": [{"source": "tl", "action": "accept", "result": "ok"}]},
    {"op": "accept", "source": "ul", "as": "us", "expect": [{"source": "ul", "action": "accept", "result": "ok"}]},
    {"op": "write", "source": "sp.0", "data": "hello", "expect": [
      {"source": "sp.0", "action": "write", "result": "ok", "n": 5},
      {"source": "sp.1", "seen": ["readable"]}]},
    {"op": "read", "source": "sp.1", "n": 2, "expect": [{"source": "sp.1", "action": "read", "result": "ok", "n": 2}]},
    {"op": "drain", "source": "sp.1", "expect": [{"source": "sp.1", "action": "drain", "result": "would_block", "n": 3}]},
    {"op": "set_interest", "source": "sp.0", "interest": ["readable", "writable"], "expect": [{"source": "sp.0", "seen": ["writable"]}]},
    {"op": "set_mode", "source": "sp.0", "mode": "oneshot"},
    {"op": "rearm", "source": "sp.0", "expect": [{"source": "sp.0", "action": "rearm", "result": "ok"}]},
    {"op": "set_reaction", "source": "sp.1", "reaction": "read", "read_n": 1},
    {"op": "fill", "source": "pp.w", "expect": [
      {"source": "pp.w", "action": "fill", "result": "would_block", "n_min": 1},
      {"source": "pp.r", "seen": ["readable"]}]},
    {"op": "drain", "source": "pp.r", "expect": [{"source": "pp.r", "action": "drain", "result": "would_block", "n_min": 1}]},
    {"op": "shutdown_read", "source": "us", "expect": [{"source": "us", "action": "shutdown_read", "result": "ok"}]},
    {"op": "shutdown_write", "source": "uc", "expect": [
      {"source": "uc", "action": "shutdown_write", "result": "ok"},
      {"source": "us", "seen": ["read_closed"]}]},
    {"op": "eventfd_write", "source": "ev", "value": 2, "expect": [
      {"source": "ev", "action": "eventfd_write", "result": "ok", "n": 2},
      {"source": "ev", "seen": ["readable"]}]},
    {"op": "eventfd_read", "source": "ev", "expect": [{"source": "ev", "action": "eventfd_read", "result": "ok", "n": 1}]},
    {"op": "eventfd_read", "source": "ev", "expect": [{"source": "ev", "action": "eventfd_read", "result": "ok", "n": 1}]},
    {"op": "eventfd_read", "source": "ev", "expect": [{"source": "ev", "action": "eventfd_read", "result": "would_block"}]},
    {"op": "timer_arm", "source": "tf", "initial_ms": 5, "interval_ms": 5, "expect": [
      {"source": "tf", "action": "timer_arm", "result": "ok"},
      {"source": "tf", "seen": ["readable"]}]},
    {"op": "timer_disarm", "source": "tf", "expect": [{"source": "tf", "action": "timer_disarm", "result": "ok"}]},
    {"op": "read", "source": "tf", "expect": [{"source": "tf", "action": "read", "result": "would_block"}]},
    {"op": "read", "source": "u", "expect": [{"source": "u", "action": "read", "result": "would_block"}]},
    {"op": "read", "source": "ud", "expect": [{"source": "ud", "action": "read", "result": "would_block"}]},
    {"op": "create", "source": "late", "expect": [{"source": "late", "seen": ["readable"]}]},
    {"op": "create", "source": "late_tc", "expect": [{"source": "late_tc", "action": "connect", "result": "ok"}]},
    {"op": "write", "source": "ts", "data": "x", "expect": [{"source": "tc", "seen": ["readable"]}]},
    {"op": "close", "source": "ts", "expect": [{"source": "ts", "removed": true}, {"source": "tc", "seen": ["read_closed"]}]},
    {"op": "read", "source": "tc", "expect": [{"source": "tc", "action": "read", "result": "ok", "n": 1}]},
    {"op": "read", "source": "tc", "expect": [{"source": "tc", "action": "read", "result": "eof"}]},
    {"wait_ms": 1, "expect": [{"source": "pp.r", "not_seen": ["any"]}]}
  ]
})json";

}  // namespace

class TestScenario : public CoreTest {
  Q_OBJECT
 private slots:
  // Each bad input gets one line naming the file, the JSON pointer and what was expected.
  void rejects_bad_input() {
    struct Case {
      std::string text;
      std::string want;  // a substring of the message
    };
    std::string deep_pointer;  // the 33rd array: /0 repeated 32 times
    for (int i = 0; i < 32; ++i) deep_pointer += "/0";
    const std::vector<Case> cases{
        // Not JSON, truncated, empty (the project's acceptance examples first).
        {R"({"name": "x", "sources": [{"id": 1, "kind": "tcp_listener", "bind": "127.0.0.1:99999"})",
         "t.json: /sources: not valid JSON at line 1, column "},
        {R"({"name":"x","sources":[{"id":"a","kind":"warp_drive"}],"steps":[]})",
         "t.json: /sources/0/kind: expected one of tcp_listener, tcp_stream, udp, unix_listener, "
         "unix_stream, "
         "unix_datagram, socketpair, pipe, eventfd, timerfd, feed, relay (got \"warp_drive\")"},
        {"", "t.json: /: not valid JSON at line 1, column 1"},
        {"{\"name\": \"x\",\n  \"sources\": [\n    {\"id\": \"a\", \"kind\": tcp}]}",
         "t.json: /sources/0/kind: not valid JSON at line 3, column "},
        {R"({"name":"x","sources":[],"steps":[]} trailing)", "t.json: /: not valid JSON"},
        {"[1,2]", "t.json: /: expected an object (the scenario), got an array"},
        {"{\"name\":\"x\",\"sources\":[],\"steps\":[],\"title\":\"\xff\"}", "t.json: /title: not valid JSON"},
        // Found by fuzz/fuzz_scenario: a key with an escaped newline or escape character put
        // a raw one in the pointer (a message on two lines); it is shown escaped.
        {"{\"a\\nb\\u001b\" 1}", "t.json: /a\\nb\\u001b: not valid JSON at line 1, column "},
        // Duplicate keys (nlohmann would keep the last silently), depth.
        {R"({"name":"x","name":"y","sources":[],"steps":[]})", "t.json: /name: duplicate field \"name\""},
        {std::string(40, '[') + std::string(40, ']'),
         "t.json: " + deep_pointer + ": nested deeper than 32 levels"},
        {std::string(300000, '['),
         "t.json: " + deep_pointer + ": nested deeper than 32 levels"},  // no stack overflow
        // Top level.
        {R"({"sources":[],"steps":[]})", "t.json: /: missing field \"name\""},
        {R"({"name":"X Y","sources":[],"steps":[]})", "t.json: /name: expected a name of lower-case"},
        {R"({"name":"x","sources":[],"steps":[],"titel":"typo"})",
         "t.json: /titel: unknown field in the scenario"},
        {R"({"name":"x","sources":{},"steps":[]})",
         "t.json: /sources: expected a list of sources, got an object"},
        {R"({"name":"x","sources":[]})", "t.json: /: missing field \"steps\""},
        {R"({"name":"x","version":2,"sources":[],"steps":[]})",
         "t.json: /version: expected an integer in 1..1, got 2"},
        {R"({"name":5,"sources":[],"steps":[]})", "t.json: /name: expected a string, got 5"},
        // Sources.
        {R"({"name":"x","sources":[{"kind":"eventfd"}],"steps":[]})",
         "t.json: /sources/0: missing field \"id\""},
        {R"({"name":"x","sources":[{"id":"1a","kind":"eventfd"}],"steps":[]})",
         "t.json: /sources/0/id: expected an id"},
        {R"({"name":"x","sources":[{"id":"a","kind":"eventfd"},{"id":"a","kind":"pipe"}],"steps":[]})",
         "t.json: /sources/1/id: duplicate id \"a\""},
        {R"({"name":"x","sources":[{"id":"p","kind":"pipe"},{"id":"p.r","kind":"eventfd"}],"steps":[]})",
         "t.json: /sources/1/id: expected an id"},
        {R"({"name":"x","sources":[{"id":"a","kind":"pipe","ends":["b","a"]}],"steps":[]})",
         "t.json: /sources/0/ends: duplicate id \"a\""},
        {R"({"name":"x","sources":[{"id":"a","kind":"tcp_listener","bind":"127.0.0.1:99999"}],"steps":[]})",
         "t.json: /sources/0/bind: expected a numeric address with a port 0..65535"},
        {R"({"name":"x","sources":[{"id":"a","kind":"tcp_listener","bind":"localhost:80"}],"steps":[]})",
         "t.json: /sources/0/bind: expected a numeric address"},
        {R"({"name":"x","sources":[{"id":"a","kind":"udp","bind":"0.0.0.0:0"}],"steps":[]})",
         "t.json: /sources/0/bind: a non-loopback address needs allow_remote"},
        {R"({"name":"x","sources":[{"id":"a","kind":"tcp_listener"}],"steps":[]})",
         "t.json: /sources/0: missing field \"bind\""},
        {R"({"name":"x","sources":[{"id":"a","kind":"tcp_listener","bind":"127.0.0.1:0","path":"/x"}],"steps":[]})",
         "t.json: /sources/0/path: unknown field in a source (expected one of id, kind, bind,"},
        {R"({"name":"x","sources":[{"id":"a","kind":"tcp_stream","connect":"nowhere"}],"steps":[]})",
         "t.json: /sources/0/connect: no tcp_listener source \"nowhere\" declared before this one"},
        {R"({"name":"x","sources":[{"id":"a","kind":"tcp_stream","connect":"127.0.0.1:22"}],"steps":[]})",
         "t.json: /sources/0/connect: a literal connect target needs allow_remote"},
        {R"({"name":"x","sources":[{"id":"l","kind":"unix_listener"},{"id":"a","kind":"tcp_stream","connect":"l"}],"steps":[]})",
         "t.json: /sources/1/connect: \"l\" is not a tcp_listener source"},
        {R"({"name":"x","sources":[{"id":"a","kind":"unix_stream","connect":"/run/x.sock"}],"steps":[]})",
         "t.json: /sources/0/connect: a literal connect target needs allow_remote"},
        {R"({"name":"x","sources":[{"id":"a","kind":"unix_listener","path":"relative.sock"}],"steps":[]})",
         "t.json: /sources/0/path: expected an absolute path"},
        {R"({"name":"x","sources":[{"id":"a","kind":"eventfd","interest":[]}],"steps":[]})",
         "t.json: /sources/0/interest: expected a non-empty list of readable, writable, priority"},
        {R"({"name":"x","sources":[{"id":"a","kind":"eventfd","interest":["readable","reads"]}],"steps":[]})",
         "t.json: /sources/0/interest/1: expected one of readable, writable, priority (got \"reads\")"},
        {R"({"name":"x","sources":[{"id":"a","kind":"eventfd","mode":"edgy"}],"steps":[]})",
         "t.json: /sources/0/mode: expected one of edge, level, oneshot (got \"edgy\")"},
        {R"({"name":"x","sources":[{"id":"a","kind":"eventfd","reaction":"panic"}],"steps":[]})",
         "t.json: /sources/0/reaction: expected one of none, read, drain, echo, discard, auto_accept (got "
         "\"panic\")"},
        {R"({"name":"x","sources":[{"id":"a","kind":"eventfd","reaction":"drain","read_n":4}],"steps":[]})",
         "t.json: /sources/0/read_n: read_n goes with \"reaction\": \"read\" only"},
        {R"({"name":"x","sources":[{"id":"a","kind":"eventfd","initial":-1}],"steps":[]})",
         "t.json: /sources/0/initial: expected an integer in 0..18446744073709551614, got -1"},
        {R"({"name":"x","sources":[{"id":"a","kind":"eventfd","semaphore":"yes"}],"steps":[]})",
         "t.json: /sources/0/semaphore: expected true or false"},
        {R"({"name":"x","sources":[{"id":"l","kind":"tcp_listener","bind":"127.0.0.1:0","deferred":true},)"
         R"({"id":"c","kind":"tcp_stream","connect":"l"}],"steps":[]})",
         "t.json: /sources/1/connect: \"l\" is deferred"},
        // Steps.
        {pair_with(R"({"op":"teleport","source":"a"})"),
         "t.json: /steps/0/op: expected one of none, create, set_interest, set_mode, set_reaction, rearm, "
         "read, "
         "drain, write, fill, shutdown_read, shutdown_write, close, accept, eventfd_write, eventfd_read, "
         "timer_arm, "
         "timer_disarm, dup, close_fd, exhaust_fds, release_fds (got \"teleport\")"},
        {pair_with(R"({"op":"read","source":"zz"})"), "t.json: /steps/0/source: no source \"zz\""},
        {pair_with(R"({"op":"read"})"), "t.json: /steps/0: missing field \"source\""},
        {pair_with(R"({"op":"read","source":"p"})"),
         "t.json: /steps/0/source: \"p\" is a socketpair: name one of its ends, \"a\" or \"b\""},
        {pair_with(R"({"op":"read","source":"a","n":0})"),
         "t.json: /steps/0/n: expected an integer in 1..65536, got 0"},
        {pair_with(R"({"op":"read","source":"a","n":1.5})"),
         "t.json: /steps/0/n: expected an integer in 1..65536, got 1.5"},
        {pair_with(R"({"op":"read","source":"a","data":"x"})"),
         "t.json: /steps/0/data: unknown field in a step"},
        {pair_with(R"({"op":"write","source":"a"})"), "t.json: /steps/0: missing field \"data\""},
        {pair_with(R"({"op":"accept","source":"a"})"),
         "t.json: /steps/0/source: \"accept\" does not fit \"a\", a unix_stream (it fits tcp_listener, "
         "unix_listener)"},
        {pair_with(R"({"op":"timer_arm","source":"a"})"),
         "t.json: /steps/0/source: \"timer_arm\" does not fit \"a\""},
        {pair_with(R"({"op":"create","source":"p"})"),
         "t.json: /steps/0/source: \"p\" is not a deferred source"},
        {pair_with(R"({"wait_ms":60001})"),
         "t.json: /steps/0/wait_ms: expected an integer in 0..60000, got 60001"},
        {pair_with(R"({"wait_ms":-1})"), "t.json: /steps/0/wait_ms: expected an integer in 0..60000, got -1"},
        {pair_with(R"({})"), "t.json: /steps/0: an empty step"},
        {pair_with(R"("read")"), "t.json: /steps/0: expected an object (a step), got \"read\""},
        {pair_with(R"({"note":"x","expect":{}})"), "t.json: /steps/0/expect: expected a list of checks"},
        {pair_with(R"({"op":"set_interest","source":"a"})"), "t.json: /steps/0: missing field \"interest\""},
        {pair_with(R"({"op":"set_mode","source":"a","mode":"fast"})"),
         "t.json: /steps/0/mode: expected one of edge"},
        {pair_with(R"({"op":"timer_arm","source":"a","initial_ms":0})"),
         "t.json: /steps/0/source: \"timer_arm\" does not fit"},
        {R"({"name":"x","sources":[{"id":"t","kind":"timerfd"}],"steps":[{"op":"timer_arm","source":"t","initial_ms":0}]})",
         "t.json: /steps/0/initial_ms: expected an integer in 1..60000, got 0"},
        {R"({"name":"x","sources":[{"id":"l","kind":"tcp_listener","bind":"127.0.0.1:0"}],"steps":[)"
         R"({"op":"accept","source":"l","as":"c"},{"op":"accept","source":"l","as":"c"}]})",
         "t.json: /steps/1/as: duplicate id \"c\""},
        {R"({"name":"x","sources":[{"id":"l","kind":"tcp_listener","bind":"127.0.0.1:0"}],"steps":[)"
         R"({"op":"read","source":"c"},{"op":"accept","source":"l","as":"c"}]})",
         "t.json: /steps/0/source: no source \"c\""},
        {R"({"name":"x","sources":[{"id":"e","kind":"eventfd","deferred":true}],"steps":[{"op":"read","source":"e"}]})",
         "t.json: /steps/0/source: \"e\" does not exist yet at this step"},
        {R"({"name":"x","sources":[{"id":"e","kind":"eventfd","deferred":true}],"steps":[)"
         R"({"op":"create","source":"e"},{"op":"create","source":"e"}]})",
         "t.json: /steps/1/source: \"e\" is created twice"},
        // Checks.
        {pair_with(R"({"note":"x","expect":[{"source":"b","seen":["readible"]}]})"),
         "t.json: /steps/0/expect/0/seen/0: expected one of readable, writable, error, read_closed, "
         "write_closed, "
         "priority (got \"readible\")"},
        {pair_with(R"({"note":"x","expect":[{"source":"b"}]})"),
         "t.json: /steps/0/expect/0: a check needs exactly one of"},
        {pair_with(
             R"({"note":"x","expect":[{"source":"b","seen":["readable"],"action":"read","result":"ok"}]})"),
         "t.json: /steps/0/expect/0: a check needs exactly one of"},
        {pair_with(R"({"note":"x","expect":[{"source":"b","seen":["readable"],"not_seen":["readable"]}]})"),
         "t.json: /steps/0/expect/0/not_seen: a flag is both seen and not seen"},
        {pair_with(R"({"note":"x","expect":[{"source":"b","not_seen":["readable"],"within_ms":5}]})"),
         "t.json: /steps/0/expect/0/within_ms: within_ms goes with \"seen\""},
        {pair_with(R"({"note":"x","expect":[{"source":"b","action":"read","result":"fine"}]})"),
         "t.json: /steps/0/expect/0/result: expected one of ok, would_block, eof, in_progress, error (got "
         "\"fine\")"},
        {pair_with(R"({"note":"x","expect":[{"source":"b","action":"jump","result":"ok"}]})"),
         "t.json: /steps/0/expect/0/action: expected one of read, drain, write"},
        {pair_with(
             R"({"note":"x","expect":[{"source":"b","action":"read","result":"error","errno":"EWHATEVER"}]})"),
         "t.json: /steps/0/expect/0/errno: expected an errno name like \"ECONNRESET\" (got \"EWHATEVER\")"},
        {pair_with(R"({"note":"x","expect":[{"source":"b","action":"read","result":"ok","errno":"EPIPE"}]})"),
         "t.json: /steps/0/expect/0/errno: \"errno\" goes with \"result\": \"error\" only"},
        {pair_with(
             R"({"note":"x","expect":[{"source":"b","action":"read","result":"ok","n_min":5,"n_max":2}]})"),
         "t.json: /steps/0/expect/0/n_min: n_min is larger than n_max"},
        {pair_with(R"({"note":"x","expect":[{"source":"b","seen":["readable"],"within_ms":0}]})"),
         "t.json: /steps/0/expect/0/within_ms: expected an integer in 1..60000, got 0"},
        {pair_with(R"({"note":"x","expect":[{"source":"p","seen":["readable"]}]})"),
         "t.json: /steps/0/expect/0/source: \"p\" is a socketpair"},
        {pair_with(R"({"note":"x","expect":[{"source":"b","removed":false}]})"),
         "t.json: /steps/0/expect/0/removed: expected true"},
        {pair_with(R"({"note":"x","expect":[{"source":"b","seen":["readable"],"sen":["writable"]}]})"),
         "t.json: /steps/0/expect/0/sen: unknown field in a check (expected one of source, seen, not_seen, "
         "within_ms)"},
    };
    for (const auto& c : cases) {
      const std::string got = scenario_error(c.text);
      QVERIFY2(!got.empty(), ("accepted: " + c.text).c_str());
      QVERIFY2(got.find(c.want) != std::string::npos,
               ("for " + c.text + "\n  got:  " + got + "\n  want: " + c.want).c_str());
      QVERIFY2(got.find('\n') == std::string::npos, ("not one line: " + got).c_str());
    }
  }

  // Sizes and the options: allow_remote lets non-loopback binds and literal targets through.
  void bounds_and_options() {
    const std::string big = R"({"name":"x","sources":[],"steps":[]})";
    QVERIFY(scenario_error(big, ScenarioOptions{.allow_remote = false, .max_file_bytes = 10})
                .find("t.json: /: larger than the limit of 10 bytes") == 0);
    const std::string remote =
        R"({"name":"x","sources":[{"id":"a","kind":"tcp_listener","bind":"0.0.0.0:0"},)"
        R"({"id":"c","kind":"tcp_stream","connect":"127.0.0.1:1"},)"
        R"({"id":"d","kind":"unix_stream","connect":"/tmp/x.sock"}],"steps":[]})";
    QVERIFY(!scenario_error(remote).empty());
    auto s = parse_scenario(remote, "t.json", ScenarioOptions{.allow_remote = true});
    QVERIFY2(s, s ? "" : s.error().message().c_str());
    QVERIFY(s->sources[0].allow_remote);
    QCOMPARE(s->sources[1].addr->to_string(), std::string("127.0.0.1:1"));
    QCOMPARE(s->sources[2].path, std::string("/tmp/x.sock"));

    std::string many = R"({"name":"x","sources":[],"steps":[)";
    for (std::size_t i = 0; i <= ScenarioLimits::max_steps; ++i)
      many += std::string(i ? "," : "") + R"({"wait_ms":0})";
    many += "]}";
    QVERIFY(scenario_error(many).find("t.json: /steps: more than 1000 steps") == 0);
    const std::string long_note = pair_with(R"({"note":")" + std::string(2001, 'n') + R"("})");
    QVERIFY(scenario_error(long_note).find("t.json: /steps/0/note: longer than 2000 bytes") == 0);
  }

  // load_scenario: missing file, a directory, a FIFO (must not block), a file too large.
  void load_errors() {
    auto missing = load_scenario("/nonexistent/x.json");
    QVERIFY(!missing);
    QCOMPARE(qs(missing.error().message()), qs("/nonexistent/x.json: /: cannot open: ENOENT"));
    auto dir = load_scenario("/");
    QVERIFY(!dir);
    QVERIFY(dir.error().message().find("not a regular file") != std::string::npos);
    const std::string fifo = temp_path("scn.fifo");
    QCOMPARE(::mkfifo(fifo.c_str(), 0600), 0);
    auto f = load_scenario(fifo);
    ::unlink(fifo.c_str());
    QVERIFY(!f);
    QVERIFY(f.error().message().find("not a regular file") != std::string::npos);
    auto small = load_scenario(shipped("half-close.json"),
                               ScenarioOptions{.allow_remote = false, .max_file_bytes = 100});
    QVERIFY(!small);
    QVERIFY(small.error().message().find("more than the limit of 100") != std::string::npos);
  }

  // The big scenario parses into what it says.
  void every_kind_and_op_parses() {
    auto s = parse_scenario(kEverything, "everything.json");
    QVERIFY2(s, s ? "" : s.error().message().c_str());
    QCOMPARE(s->name, std::string("everything"));
    QCOMPARE(s->sources.size(), std::size_t{12});
    std::set<ScenarioSourceKind> kinds;
    for (const auto& src : s->sources) kinds.insert(src.kind);
    QCOMPARE(kinds.size(), std::size_t{10});
    std::set<ScenarioOp> ops;
    for (const auto& st : s->steps) ops.insert(st.op);
    QCOMPARE(ops.size(), std::size_t{18});  // every op, and none
    QCOMPARE(s->sources[2].options.trigger, Trigger::level);
    QCOMPARE(s->sources[2].options.reaction.kind, Reaction::drain);
    QCOMPARE(s->sources[1].target, std::string("tl"));
    QCOMPARE(s->sources[1].options.interest, Interest::READABLE | Interest::WRITABLE);
    QCOMPARE(s->sources[6].ends[0], std::string("sp.0"));
    QCOMPARE(s->sources[7].ends[1], std::string("pp.r"));
    QCOMPARE(std::get<cmd::SetReaction>(s->steps[9].command).reaction.kind, Reaction::read);
    QCOMPARE(std::get<cmd::SetReaction>(s->steps[9].command).reaction.n, 1u);
  }

  // The shipped examples parse and pass against the real kernel.
  void shipped_scenarios_pass() {
    for (const char* name : {"et-partial-read.json", "half-close.json", "peer-reset.json"}) {
      auto s = load_scenario(shipped(name));
      QVERIFY2(s, s ? "" : s.error().message().c_str());
      auto started = Engine::start();
      QVERIFY_OK(started);
      ScenarioRunner runner(*s, **started);
      std::size_t callbacks = 0;
      runner.on_step = [&](const StepOutcome&) { ++callbacks; };
      QVERIFY(drive_scenario(**started, runner));
      QVERIFY2(runner.passed(), (std::string(name) + outcomes_report(runner)).c_str());
      QVERIFY(!runner.failed_to_start());
      QCOMPARE(runner.outcomes().size(), s->steps.size());
      QCOMPARE(callbacks, s->steps.size());
      (*started)->stop();
    }
  }

  // Step-by-step play: a step limit holds the run; raising it lets the rest run and pass.
  void step_limit_holds_the_run() {
    auto s = load_scenario(shipped("et-partial-read.json"));
    QVERIFY2(s, s ? "" : s.error().message().c_str());
    auto started = Engine::start();
    QVERIFY_OK(started);
    ScenarioRunner runner(*s, **started);
    runner.set_step_limit(1);
    QVERIFY(drive_scenario(**started, runner));
    QVERIFY(runner.held());
    QVERIFY(!runner.finished());
    QVERIFY(!runner.passed());
    QCOMPARE(runner.outcomes().size(), std::size_t{1});
    QCOMPARE(runner.current_step(), std::size_t{1});
    runner.set_step_limit(s->steps.size());
    QVERIFY(drive_scenario(**started, runner));
    QVERIFY(!runner.held());
    QVERIFY2(runner.passed(), outcomes_report(runner).c_str());
    (*started)->stop();
  }

  // Every kind and op against the kernel; the Unix listener's generated path is removed.
  void everything_runs_and_passes() {
    auto s = parse_scenario(kEverything, "everything.json");
    QVERIFY2(s, s ? "" : s.error().message().c_str());
    auto started = Engine::start();
    QVERIFY_OK(started);
    Engine& eng = **started;
    std::string ul_path;
    {
      ScenarioRunner runner(*s, eng);
      QVERIFY(drive_scenario(eng, runner));
      QVERIFY2(runner.passed(), outcomes_report(runner).c_str());
      QVERIFY(runner.token_of("ts"));
      QVERIFY(runner.token_of("sp.1"));
      QVERIFY(!runner.token_of("sp"));
      const auto ul = runner.token_of("ul");
      QVERIFY(ul);
      const auto info = eng.source_info(*ul);
      QVERIFY(info);
      ul_path = info->local;
      struct stat st {};
      QCOMPARE(::stat(ul_path.c_str(), &st), 0);
    }
    struct stat st {};
    QCOMPARE(::stat(ul_path.c_str(), &st), -1);  // unlinked by the runner's destructor
    eng.stop();
  }

  // A false expectation fails the step (and the run) with a detail naming what was seen.
  void false_expectation_fails() {
    auto s = parse_scenario(
        pair_with(R"({"op":"write","source":"a","data":"abc","expect":[)"
                  R"({"source":"b","not_seen":["readable"]},)"
                  R"({"source":"a","action":"write","result":"ok","n":4}]},)"
                  R"({"op":"read","source":"b","expect":[{"source":"b","action":"read","result":"eof"}]},)"
                  R"({"note":"still runs","expect":[{"source":"b","seen":["writable"],"within_ms":20}]})"),
        "false.json");
    QVERIFY2(s, s ? "" : s.error().message().c_str());
    auto started = Engine::start();
    QVERIFY_OK(started);
    ScenarioRunner runner(*s, **started);
    QVERIFY(drive_scenario(**started, runner));
    QVERIFY(runner.finished());
    QVERIFY(!runner.passed());
    QVERIFY(!runner.failed_to_start());
    const auto& o = runner.outcomes();
    QCOMPARE(o.size(), std::size_t{3});  // a failed check does not stop the run
    QCOMPARE(o[0].status, StepOutcome::Status::failed);
    QVERIFY2(o[0].detail.find("b: expected readable not seen, got readable") != std::string::npos,
             o[0].detail.c_str());
    QVERIFY2(o[0].detail.find("a: expected write ok n=4, got write ok n=3") != std::string::npos,
             o[0].detail.c_str());
    QCOMPARE(o[1].status, StepOutcome::Status::failed);
    QVERIFY2(o[1].detail.find("b: expected read eof, got read ok n=3") != std::string::npos,
             o[1].detail.c_str());
    QCOMPARE(o[2].status, StepOutcome::Status::failed);
    QVERIFY2(o[2].detail.find("b: expected an event with writable within 20 ms, got no event") !=
                 std::string::npos,
             o[2].detail.c_str());
    (*started)->stop();
  }

  // A source the kernel refuses (a port in use) fails the start, not a check; nothing runs.
  void create_failure_fails_to_start() {
    auto taken = plain_listener(any_local_address());
    QVERIFY_OK(taken);
    const std::string addr = local_address(taken->get()).to_string();
    auto s = parse_scenario(R"({"name":"x","sources":[{"id":"l","kind":"tcp_listener","bind":")" + addr +
                                R"("}],"steps":[{"note":"never"}]})",
                            "busy.json");
    QVERIFY2(s, s ? "" : s.error().message().c_str());
    auto started = Engine::start();
    QVERIFY_OK(started);
    ScenarioRunner runner(*s, **started);
    QVERIFY(drive_scenario(**started, runner));
    QVERIFY(runner.failed_to_start());
    QVERIFY(!runner.passed());
    QCOMPARE(runner.outcomes().size(), std::size_t{1});
    QCOMPARE(runner.outcomes()[0].index, StepOutcome::kSetup);
    QVERIFY2(runner.outcomes()[0].detail.find("\"l\" could not be created: create failed with EADDRINUSE") !=
                 std::string::npos,
             runner.outcomes()[0].detail.c_str());
    (*started)->stop();
  }

  // Connect refused, via a listener that was closed; the deferred connect names it.
  void connect_refused_and_reset() {
    auto s = parse_scenario(R"({"name":"refused","sources":[
        {"id":"l","kind":"tcp_listener","bind":"127.0.0.1:0"},
        {"id":"c","kind":"tcp_stream","connect":"l","deferred":true}],
      "steps":[
        {"op":"close","source":"l","expect":[{"source":"l","removed":true}]},
        {"op":"create","source":"c","expect":[
          {"source":"c","action":"connect","result":"error","errno":"ECONNREFUSED"},
          {"source":"c","seen":["error"]}]}]})",
                            "refused.json");
    QVERIFY2(s, s ? "" : s.error().message().c_str());
    auto started = Engine::start();
    QVERIFY_OK(started);
    ScenarioRunner runner(*s, **started);
    QVERIFY(drive_scenario(**started, runner));
    QVERIFY2(runner.passed(), outcomes_report(runner).c_str());
    (*started)->stop();
  }

  // A connected UDP socket: its peer named by id (an ephemeral port, resolved at run time);
  // a datagram written is readable on the other side; an ICMP refusal after the peer closed
  // is a recorded ECONNREFUSED. A write on an unconnected udp source is refused up front.
  void udp_connect() {
    auto s = parse_scenario(R"({"name":"udp","sources":[
        {"id":"a","kind":"udp","bind":"127.0.0.1:0"},
        {"id":"b","kind":"udp","bind":"127.0.0.1:0","connect":"a"}],
      "steps":[
        {"op":"write","source":"b","data":"ping","expect":[
          {"source":"b","action":"write","result":"ok","n":4},
          {"source":"a","seen":["readable"]}]},
        {"op":"read","source":"a","expect":[{"source":"a","action":"read","result":"ok","n":4}]},
        {"op":"close","source":"a","expect":[{"source":"a","removed":true}]},
        {"op":"write","source":"b","data":"again"},
        {"op":"read","source":"b","expect":[{"source":"b","action":"read","result":"error","errno":"ECONNREFUSED"}]}]})",
                            "udp.json");
    QVERIFY2(s, s ? "" : s.error().message().c_str());
    auto started = Engine::start();
    QVERIFY_OK(started);
    ScenarioRunner runner(*s, **started);
    QVERIFY(drive_scenario(**started, runner));
    QVERIFY2(runner.passed(), outcomes_report(runner).c_str());
    (*started)->stop();

    auto unconnected = parse_scenario(R"({"name":"u","sources":[{"id":"a","kind":"udp","bind":"127.0.0.1:0"}],
      "steps":[{"op":"write","source":"a","data":"x"}]})", "u.json");
    QVERIFY(!unconnected);
    QCOMPARE(unconnected.error().pointer, std::string("/steps/0/source"));
    QVERIFY2(unconnected.error().what.find("needs a connected udp source") != std::string::npos,
             unconnected.error().message().c_str());
    auto literal = parse_scenario(R"({"name":"u","sources":[{"id":"a","kind":"udp","bind":"127.0.0.1:0","connect":"127.0.0.1:53"}],
      "steps":[]})", "u.json");
    QVERIFY(!literal);
    QCOMPARE(literal.error().pointer, std::string("/sources/0/connect"));
  }

  // Level-triggered with a read reaction: the reaction reads 4 bytes per event until the
  // data is gone (the LT half of the partial-read lesson), and the notes reach the engine.
  void level_reaction_and_notes() {
    auto s = parse_scenario(R"({"name":"lt","sources":[
        {"id":"p","kind":"socketpair","ends":["w","r"],"mode":"level","reaction":"read","read_n":4}],
      "steps":[
        {"note":"write ten","op":"write","source":"w","data":"0123456789","expect":[
          {"source":"r","action":"read","result":"ok","n":2}]},
        {"wait_ms":20,"expect":[{"source":"r","not_seen":["readable"]}]}]})",
                            "lt.json");
    QVERIFY2(s, s ? "" : s.error().message().c_str());
    auto started = Engine::start();
    QVERIFY_OK(started);
    ScenarioRunner runner(*s, **started);
    QVERIFY(drive_scenario(**started, runner));
    QVERIFY2(runner.passed(), outcomes_report(runner).c_str());
    QCOMPARE(qs((*started)->note_text(1).value_or("")), qs("write ten"));
    QCOMPARE(qs((*started)->note_text(2).value_or("")), qs("step 1"));
    (*started)->stop();
  }
};

QTEST_GUILESS_MAIN(TestScenario)
#include "tst_scenario.moc"
