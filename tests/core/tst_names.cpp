// The one table of names per enum: every value of every named enum round-trips through its
// table, through a recording (written and read back) and through a scenario (parsed). The
// loops run over all_values, so a value added to a list is tested without touching this file
// (a switch below that misses it fails to compile).
#include <cerrno>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ready/capture/command.h"
#include "ready/capture/record.h"
#include "ready/capture/recording.h"
#include "ready/capture/scenario.h"
#include "ready/capture/store.h"
#include "ready/enum_names.h"
#include "ready/interest.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;

namespace {

template <class E>
void check_table(const char* what) {
  std::set<std::string_view> seen;
  QCOMPARE(all_names<E>().size(), enum_count<E>);
  for (const E v : all_values<E>()) {
    const std::string_view n = name_of(v);
    QVERIFY2(!n.empty() && n != "unknown", what);
    QVERIFY2(seen.insert(n).second, (std::string(what) + ": duplicate name " + std::string(n)).c_str());
    QVERIFY2(parse_name<E>(n) == v, (std::string(what) + ": " + std::string(n)).c_str());
  }
  QCOMPARE(name_of(static_cast<E>(enum_count<E>)), std::string_view("unknown"));
  QVERIFY(!parse_name<E>("no-such-name"));
  QVERIFY(!parse_name<E>(""));
}

// ---- recordings ----

std::uint32_t source_bits(Interest interest, Trigger t, Reaction re) {
  return SourceBits{interest, t, re}.pack();
}

Record record(RecordKind k, std::uint64_t t, std::uint64_t token) {
  Record r;
  r.kind = k;
  r.t_ns = t;
  if (RecordStore::is_indexed_by_token(k)) {
    r.token = token;
    r.fd = static_cast<std::int32_t>(token + 2);
  }
  return r;
}

// Records that name every value of every enum a recording holds, one per line.
std::vector<Record> every_name() {
  std::vector<Record> rs;
  std::uint64_t t = 1;
  for (const RecordKind k : all_values<RecordKind>()) {
    Record r = record(k, t++, 1);
    switch (k) {
      case RecordKind::source_added:
      case RecordKind::source_changed:
      case RecordKind::source_removed:
        r.op = static_cast<std::uint8_t>(SourceKind::tcp_stream);
        r.bits = source_bits(Interest::READABLE, Trigger::edge, Reaction::none);
        break;
      case RecordKind::readiness:
        r.bits = 0x1;  // EPOLLIN
        break;
      case RecordKind::action:
        r.op = static_cast<std::uint8_t>(Op::read);
        r.value = 5;
        break;
      case RecordKind::poll_return:
        r.value = 1;
        r.value2 = 1000;
        break;
      case RecordKind::note:
        r.value = 1;
        break;
      case RecordKind::warning:
        r.op = static_cast<std::uint8_t>(WarningKind::emfile);
        break;
      case RecordKind::stats:
        r.value = 10;
        r.value2 = 2;
        break;
      case RecordKind::queue:
        r.value = 6;
        r.value2 = 2;
        break;
    }
    rs.push_back(r);
  }
  for (const SourceKind s : all_values<SourceKind>()) {
    Record r = record(RecordKind::source_added, t++, 10 + static_cast<std::uint64_t>(s));
    r.op = static_cast<std::uint8_t>(s);
    r.bits = source_bits(Interest::READABLE | Interest::PRIORITY, Trigger::edge, Reaction::none);
    rs.push_back(r);
  }
  for (const Trigger tr : all_values<Trigger>())
    for (const Reaction re : all_values<Reaction>()) {
      Record r = record(RecordKind::source_changed, t++, 2);
      r.op = static_cast<std::uint8_t>(SourceKind::unix_stream);
      r.bits = source_bits(Interest::WRITABLE, tr, re);
      rs.push_back(r);
    }
  for (const Op op : all_values<Op>())
    for (const Outcome o : all_values<Outcome>()) {
      Record r = record(RecordKind::action, t++, 3);
      r.op = static_cast<std::uint8_t>(op);
      r.outcome = o;
      if (o == Outcome::error) r.err = ECONNRESET;
      rs.push_back(r);
    }
  for (const WarningKind w : all_values<WarningKind>()) {
    Record r = record(RecordKind::warning, t++, 4);
    r.op = static_cast<std::uint8_t>(w);
    r.value = 7;
    rs.push_back(r);
  }
  // Every readiness flag alone: EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLIN|EPOLLRDHUP, EPOLLHUP, EPOLLPRI.
  for (const std::uint32_t bits : {0x1u, 0x4u, 0x8u, 0x2001u, 0x10u, 0x2u}) {
    Record r = record(RecordKind::readiness, t++, 5);
    r.bits = bits;
    rs.push_back(r);
  }
  return rs;
}

// ---- scenarios ----

/// A source of kind `k` named `id`, with what its kind needs ("tl" and "ul" are a tcp and a
/// unix listener declared before it).
std::string source_json(ScenarioSourceKind k, const std::string& id) {
  const std::string head = "{\"id\": \"" + id + "\", \"kind\": \"" + std::string(name_of(k)) + "\"";
  switch (k) {
    case ScenarioSourceKind::tcp_listener:
    case ScenarioSourceKind::udp:
      return head + ", \"bind\": \"127.0.0.1:0\"}";
    case ScenarioSourceKind::tcp_stream:
      return head + ", \"connect\": \"tl\"}";
    case ScenarioSourceKind::unix_stream:
      return head + ", \"connect\": \"ul\"}";
    case ScenarioSourceKind::relay:
      return head + ", \"bind\": \"127.0.0.1:0\", \"upstream\": \"tl\"}";
    case ScenarioSourceKind::unix_listener:
    case ScenarioSourceKind::unix_datagram:
    case ScenarioSourceKind::socketpair:
    case ScenarioSourceKind::pipe:
    case ScenarioSourceKind::eventfd:
    case ScenarioSourceKind::timerfd:
    case ScenarioSourceKind::feed:
      return head + "}";
  }
  return head + "}";
}

// Sources every op finds one to fit: streams, a datagram pair, listeners, an eventfd, a timer.
constexpr std::string_view kSources =
    "{\"id\": \"tl\", \"kind\": \"tcp_listener\", \"bind\": \"127.0.0.1:0\"},"
    "{\"id\": \"ul\", \"kind\": \"unix_listener\"},"
    "{\"id\": \"ts\", \"kind\": \"tcp_stream\", \"connect\": \"tl\"},"
    "{\"id\": \"ev\", \"kind\": \"eventfd\"},"
    "{\"id\": \"tm\", \"kind\": \"timerfd\"},"
    "{\"id\": \"p\", \"kind\": \"pipe\"},"
    "{\"id\": \"later\", \"kind\": \"eventfd\", \"deferred\": true}";

/// A step with op `op` on a source it fits.
std::string step_json(ScenarioOp op) {
  const std::string head = "{\"op\": \"" + std::string(name_of(op)) + "\"";
  switch (op) {
    case ScenarioOp::none:
      return "{\"note\": \"only a note\"}";
    case ScenarioOp::create:
      return head + ", \"source\": \"later\"}";
    case ScenarioOp::set_interest:
      return head + ", \"source\": \"ts\", \"interest\": [\"readable\", \"writable\", \"priority\"]}";
    case ScenarioOp::set_mode:
      return head + ", \"source\": \"ts\", \"mode\": \"level\"}";
    case ScenarioOp::set_reaction:
      return head + ", \"source\": \"ts\", \"reaction\": \"drain\"}";
    case ScenarioOp::read:
      return head + ", \"source\": \"ts\", \"n\": 3}";
    case ScenarioOp::write:
      return head + ", \"source\": \"ts\", \"data\": \"hi\"}";
    case ScenarioOp::accept:
      return head + ", \"source\": \"tl\"}";
    case ScenarioOp::eventfd_write:
      return head + ", \"source\": \"ev\", \"value\": 2}";
    case ScenarioOp::eventfd_read:
      return head + ", \"source\": \"ev\"}";
    case ScenarioOp::timer_arm:
      return head + ", \"source\": \"tm\", \"initial_ms\": 5}";
    case ScenarioOp::timer_disarm:
      return head + ", \"source\": \"tm\"}";
    case ScenarioOp::exhaust_fds:
      return head + ", \"headroom\": 1}";
    case ScenarioOp::release_fds:
      return head + "}";
    case ScenarioOp::rearm:
    case ScenarioOp::drain:
    case ScenarioOp::fill:
    case ScenarioOp::shutdown_read:
    case ScenarioOp::shutdown_write:
    case ScenarioOp::close:
    case ScenarioOp::dup:
    case ScenarioOp::close_fd:
      return head + ", \"source\": \"ts\"}";
  }
  return head + "}";
}

std::expected<Scenario, ScenarioError> parse(const std::string& sources, const std::string& steps) {
  const std::string text =
      "{\"name\": \"names\", \"sources\": [" + sources + "], \"steps\": [" + steps + "]}";
  return parse_scenario(text, "names.json");
}

}  // namespace

class TestNames : public QObject {
  Q_OBJECT

 private slots:
  void tables() {
    CHECKED_CALL(check_table<Trigger>("Trigger"));
    CHECKED_CALL(check_table<Reaction>("Reaction"));
    CHECKED_CALL(check_table<RecordKind>("RecordKind"));
    CHECKED_CALL(check_table<SourceKind>("SourceKind"));
    CHECKED_CALL(check_table<Op>("Op"));
    CHECKED_CALL(check_table<Outcome>("Outcome"));
    CHECKED_CALL(check_table<WarningKind>("WarningKind"));
    CHECKED_CALL(check_table<ScenarioOp>("ScenarioOp"));
    CHECKED_CALL(check_table<ScenarioSourceKind>("ScenarioSourceKind"));
  }

  void readiness_flag_table() {
    std::set<std::string_view> seen;
    for (std::size_t i = 0; i < kReadinessFlagNames.size(); ++i) {
      const auto f = static_cast<ReadinessFlag>(1u << i);
      QCOMPARE(to_string(f), kReadinessFlagNames[i]);
      QVERIFY(seen.insert(kReadinessFlagNames[i]).second);
    }
    QCOMPARE(to_string(static_cast<ReadinessFlag>(1u << kReadinessFlagNames.size())), std::string_view("unknown"));
    QCOMPARE(flags_text(flag_readable | flag_read_closed), std::string("readable|read_closed"));
  }

  // Every value of every enum a recording holds, written and read back equal.
  void recording_round_trip() {
    const auto records = every_name();
    Unlink file(temp_path("names.jsonl"));
    {
      RecordingWriterOptions options;
      options.overwrite = true;
      options.queue = true;  // version 3: the queue kind too
      auto w = RecordingWriter::create(file.path, options);
      QVERIFY(w.has_value());
      QVERIFY(w->write(records).has_value());
      QVERIFY(w->close().has_value());
    }
    RecordStore store;
    const auto info = load_recording(file.path, store);
    QVERIFY2(info.has_value(), info ? "" : info.error().message().c_str());
    QCOMPARE(store.size(), std::uint64_t{records.size()});
    for (std::size_t i = 0; i < records.size(); ++i) {
      const Record got = store.at(store.begin_index() + i);
      QVERIFY2(got == records[i], ("record " + std::to_string(i) + " of kind " +
                                   std::string(name_of(records[i].kind)) + " differs")
                                      .c_str());
    }
  }

  void scenario_source_kinds() {
    for (const ScenarioSourceKind k : all_values<ScenarioSourceKind>()) {
      const std::string sources =
          "{\"id\": \"tl\", \"kind\": \"tcp_listener\", \"bind\": \"127.0.0.1:0\"}, {\"id\": \"ul\", \"kind\": \"unix_listener\"}, " +
          source_json(k, "x");
      const auto s = parse(sources, "{\"note\": \"n\"}");
      QVERIFY2(s.has_value(), s ? "" : s.error().message().c_str());
      QCOMPARE(s->sources.back().kind, k);
      QCOMPARE(to_string(k), name_of(k));
    }
  }

  void scenario_ops() {
    for (const ScenarioOp op : all_values<ScenarioOp>()) {
      const auto s = parse(std::string(kSources), step_json(op));
      QVERIFY2(s.has_value(), s ? "" : s.error().message().c_str());
      QCOMPARE(s->steps.back().op, op);
      QCOMPARE(to_string(op), name_of(op));
    }
  }

  void scenario_triggers() {
    for (const Trigger t : all_values<Trigger>()) {
      const std::string mode(name_of(t));
      const auto s = parse("{\"id\": \"e\", \"kind\": \"eventfd\", \"mode\": \"" + mode + "\"}",
                           "{\"op\": \"set_mode\", \"source\": \"e\", \"mode\": \"" + mode + "\"}");
      QVERIFY2(s.has_value(), s ? "" : s.error().message().c_str());
      QCOMPARE(s->sources[0].options.trigger, t);
      QCOMPARE(std::get<cmd::SetTrigger>(s->steps[0].command).trigger, t);
    }
  }

  void scenario_reactions() {
    for (const Reaction r : all_values<Reaction>()) {
      const std::string name(name_of(r));
      const auto s = parse("{\"id\": \"e\", \"kind\": \"eventfd\", \"reaction\": \"" + name + "\"}",
                           "{\"op\": \"set_reaction\", \"source\": \"e\", \"reaction\": \"" + name + "\"}");
      if (r == Reaction::relay) {  // only cmd::Relay gives it: a scenario makes a "relay" source instead
        QVERIFY(!s.has_value());
        continue;
      }
      QVERIFY2(s.has_value(), s ? "" : s.error().message().c_str());
      QCOMPARE(s->sources[0].options.reaction.kind, r);
      QCOMPARE(std::get<cmd::SetReaction>(s->steps[0].command).reaction.kind, r);
    }
  }

  void scenario_results_and_ops() {
    for (const Outcome o : all_values<Outcome>()) {
      const auto s = parse("{\"id\": \"e\", \"kind\": \"eventfd\"}",
                           "{\"op\": \"eventfd_read\", \"source\": \"e\", \"expect\": [{\"source\": \"e\", \"action\": \"eventfd_read\", \"result\": \"" +
                               std::string(name_of(o)) + "\"}]}");
      QVERIFY2(s.has_value(), s ? "" : s.error().message().c_str());
      QCOMPARE(s->steps[0].expect[0].result, o);
    }
    for (const Op op : all_values<Op>()) {
      const bool sourceless = op == Op::exhaust_fds || op == Op::release_fds;
      const std::string check = std::string("{\"action\": \"") + std::string(name_of(op)) + "\", \"result\": \"ok\"" +
                                (sourceless ? "}" : ", \"source\": \"e\"}");
      const auto s = parse("{\"id\": \"e\", \"kind\": \"eventfd\"}", "{\"note\": \"n\", \"expect\": [" + check + "]}");
      if (op == Op::take_error) {  // an error event's own SO_ERROR read: no step's action to check
        QVERIFY(!s.has_value());
        QVERIFY2(s.error().message().find("/steps/0/expect/0/action") != std::string::npos,
                 s.error().message().c_str());
        continue;
      }
      QVERIFY2(s.has_value(), s ? "" : s.error().message().c_str());
      QCOMPARE(s->steps[0].expect[0].op, op);
    }
  }

  void scenario_warnings_and_flags() {
    for (const WarningKind w : all_values<WarningKind>()) {
      const std::string name(name_of(w));
      const auto s = parse("{\"id\": \"e\", \"kind\": \"eventfd\"}",
                           "{\"note\": \"n\", \"expect\": [{\"source\": \"e\", \"warning\": \"" + name +
                               "\"}, {\"source\": \"e\", \"no_warning\": \"" + name + "\"}]}");
      QVERIFY2(s.has_value(), s ? "" : s.error().message().c_str());
      QCOMPARE(s->steps[0].expect[0].warning, w);
      QCOMPARE(s->steps[0].expect[1].warning, w);
      QVERIFY(!s->steps[0].expect[1].warning_any);
    }
    for (std::size_t i = 0; i < kReadinessFlagNames.size(); ++i) {
      const std::string name(kReadinessFlagNames[i]);
      const auto s = parse("{\"id\": \"e\", \"kind\": \"eventfd\"}",
                           "{\"note\": \"n\", \"expect\": [{\"source\": \"e\", \"seen\": [\"" + name + "\"]}]}");
      QVERIFY2(s.has_value(), s ? "" : s.error().message().c_str());
      QCOMPARE(s->steps[0].expect[0].seen, static_cast<std::uint8_t>(1u << i));
    }
  }
};

QTEST_GUILESS_MAIN(TestNames)
#include "tst_names.moc"
