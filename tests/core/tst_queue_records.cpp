// Queue records (issue 18, the queue band): the poll thread's samples of FIONREAD / SIOCOUTQ
// on real kernel objects, only on change, switchable; the lessons' queue checks; recordings
// and exports of them.
#include <QTest>
#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine_util.h"
#include "peer.h"
#include "ready/capture/engine.h"
#include "ready/capture/export.h"
#include "ready/capture/recording.h"
#include "ready/capture/scenario.h"
#include "ready/capture/store.h"
#include "ready_test.h"
#include "scenario_test.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;

namespace {


std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Exports the one record `r` to `path` with a CsvWriter or TraceWriter.
template <class Writer>
bool export_one(const std::string& path, const Record& r) {
  auto w = Writer::create(path, ExportOptions{});
  return w && w->write(std::span(&r, 1)) && w->close();
}

/// No two queue records of one token in a row state the same values.
bool only_changes(const std::vector<Record>& rs) {
  std::unordered_map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>> last;
  for (const Record& r : rs) {
    if (r.kind != RecordKind::queue) continue;
    const std::pair v{r.readable(), r.unsent()};
    if (auto it = last.find(r.token); it != last.end() && it->second == v) return false;
    last[r.token] = v;
  }
  return true;
}

std::function<bool(const Record&)> queue_where(Token t, const std::function<bool(const Record&)>& pred) {
  return [=](const Record& r) { return r.kind == RecordKind::queue && r.token == t.value && pred(r); };
}

/// Runs a shipped lesson on a fresh engine with `config`; every record drained in `all`.
bool run_lesson(const char* file, EngineConfig config, std::vector<Record>& all, std::optional<Token>* token = nullptr,
                const char* source = nullptr, std::string* report = nullptr) {
  auto s = load_scenario(shipped_scenario(file));
  if (!s) return false;
  auto started = Engine::start(config);
  if (!started) return false;
  ScenarioRunner runner(*s, **started);
  const bool done = drive_scenario(**started, runner, &all);
  if (token && source) *token = runner.token_of(source);
  if (report) *report = outcomes_report(runner);
  const bool passed = done && runner.passed();
  (*started)->stop();
  return passed;
}

}  // namespace

class TestQueueRecords : public CoreTest {
  Q_OBJECT
 private slots:
  // The et-partial-read lesson's edge reader: after its one read of 4, a queue record says 6
  // readable, and no readiness (and no other queue record) comes for it until the by-hand
  // drain, which takes it to 0. The level reader steps down 10, 6, 2, 0.
  void partial_read_leaves_six_readable_and_no_edge() {
    std::vector<Record> all;
    std::optional<Token> et;
    std::string report;
    QVERIFY2(run_lesson("et-partial-read.json", EngineConfig{}, all, &et, "et_reader", &report), report.c_str());
    QVERIFY(et);
    const auto read = std::find_if(all.begin(), all.end(), is_action(*et, Op::read, Outcome::ok));
    QVERIFY(read != all.end());
    QCOMPARE(read->n(), std::uint64_t{4});
    const auto six = std::find_if(read, all.end(), queue_where(*et, [](const Record& r) { return r.readable() == 6; }));
    QVERIFY(six != all.end());
    const auto drain = std::find_if(six, all.end(), is_action(*et, Op::drain));
    QVERIFY(drain != all.end());
    for (auto it = six + 1; it != drain; ++it) {
      if (it->token != et->value) continue;
      QVERIFY2(it->kind != RecordKind::readiness && it->kind != RecordKind::queue && it->kind != RecordKind::action,
               "a record of the edge reader between the plateau at 6 and the drain");
    }
    QVERIFY(drain->t_ns - six->t_ns >= 50'000'000);  // the lesson's own waits: 100 ms grace + 300 ms
    const auto zero =
        std::find_if(drain, all.end(), queue_where(*et, [](const Record& r) { return r.readable() == 0; }));
    QVERIFY(zero != all.end());
    QVERIFY(only_changes(all));
  }

  // A socketpair end the engine fills: its unsent bytes (what the other end has not read)
  // rise to what the fill wrote; the other end's readable says the same; a drain of the
  // other end takes both to 0.
  void socketpair_unsent_rises_and_falls_with_the_peer() {
    START_ENGINE(eng, c);
    auto pair = eng.submit(cmd::SocketPair{SourceOptions{}});
    QVERIFY_OK(pair);
    const Token w = pair->token, r = pair->token2;
    QVERIFY_OK(eng.submit(cmd::Fill{w}));
    QVERIFY(c.wait_for(seen(is_action(w, Op::fill))));
    const auto fill = c.find(is_action(w, Op::fill));
    const std::uint64_t filled = c.records[*fill].n();
    QVERIFY(filled > 0);
    QVERIFY(c.wait_for(seen(queue_where(w, [&](const Record& q) { return q.unsent() == filled; }))));
    QVERIFY(c.wait_for(seen(queue_where(r, [&](const Record& q) { return q.readable() == filled; }))));
    QVERIFY_OK(eng.submit(cmd::Drain{r}));
    QVERIFY(c.wait_for(seen(queue_where(w, [](const Record& q) { return q.unsent() == 0; }))));
    QVERIFY(c.wait_for(seen(queue_where(r, [](const Record& q) { return q.readable() == 0; }))));
    QVERIFY(only_changes(c.records));
    eng.stop();
  }

  // TCP: SIOCOUTQ of a stream the engine wrote to rises while the peer does not read (the
  // bytes stay unacknowledged... or in the peer's full receive buffer: the send queue holds
  // what did not fit), and falls to 0 once the peer (a plain blocking socket here) read it all.
  void tcp_unsent_rises_while_the_peer_does_not_read_and_falls_on_drain() {
    auto l = plain_listener(any_local_address());
    QVERIFY_OK(l);
    START_ENGINE(eng, c);
    auto t = eng.submit(cmd::TcpConnect{local_address(l->get()), SourceOptions{Interest::READABLE, Trigger::edge, {}}});
    QVERIFY_OK(t);
    auto peer = plain_accept(l->get());
    QVERIFY_OK(peer);
    QVERIFY(c.wait_for(seen(is_action(t->token, Op::connect, Outcome::ok))));
    QVERIFY_OK(eng.submit(cmd::Fill{t->token}));
    QVERIFY(c.wait_for(seen(is_action(t->token, Op::fill))));
    QVERIFY(c.wait_for(seen(queue_where(t->token, [](const Record& q) { return q.unsent() > 0; }))));
    // The peer reads everything that was written; each Rearm (a command on the source)
    // samples again, until the send queue is empty.
    std::uint64_t written = 0;
    for (const Record& r : c.records)
      if (r.kind == RecordKind::action && r.token == t->token.value && r.action_op() == Op::fill) written += r.n();
    std::vector<std::byte> buf(64 * 1024);
    for (std::uint64_t got = 0; got < written;) {
      auto n = plain_recv(peer->get(), buf);
      QVERIFY_OK(n);
      QVERIFY(*n > 0);
      got += *n;
    }
    bool zero = false;
    for (Deadline d; !zero && !d.expired();) {
      QVERIFY_OK(eng.submit(cmd::Rearm{t->token}));
      zero = c.wait_for(seen(queue_where(t->token, [](const Record& q) { return q.unsent() == 0; })), 100ms);
    }
    QVERIFY(zero);
    QVERIFY(only_changes(c.records));
    eng.stop();
  }

  // A pipe: the write end's unsent is FIONREAD on it (what the reader has not read), the
  // read end's readable the same bytes.
  void pipe_unsent_is_what_the_reader_has_not_read() {
    START_ENGINE(eng, c);
    auto p = eng.submit(cmd::Pipe{SourceOptions{}});
    QVERIFY_OK(p);
    QVERIFY_OK(eng.submit(cmd::Write{p->token, "0123456789"}));
    QVERIFY(c.wait_for(seen(queue_where(p->token, [](const Record& q) { return q.unsent() == 10 && q.readable() == 0; }))));
    QVERIFY(c.wait_for(seen(queue_where(p->token2, [](const Record& q) { return q.readable() == 10; }))));
    QVERIFY_OK(eng.submit(cmd::Read{p->token2, 4}));
    QVERIFY(c.wait_for(seen(queue_where(p->token2, [](const Record& q) { return q.readable() == 6; }))));
    QVERIFY(c.wait_for(seen(queue_where(p->token, [](const Record& q) { return q.unsent() == 6; }))));
    QVERIFY(only_changes(c.records));
    eng.stop();
  }

  // A UDP socket: readable is the next datagram's size (FIONREAD there), sampled after the
  // event's handling; a drain reaction leaves 0, which was the value before: no record.
  void datagram_readable_is_the_next_datagram() {
    START_ENGINE(eng, c);
    auto u = eng.submit(cmd::UdpBind{*net::SocketAddr::parse("127.0.0.1:0"), SourceOptions{}});
    QVERIFY_OK(u);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, u->token))));
    const auto info = eng.source_info(u->token);
    QVERIFY(info);
    auto sender = plain_udp_socket(*net::SocketAddr::parse("127.0.0.1:0"));
    QVERIFY_OK(sender);
    const auto to = net::SocketAddr::parse(info->local);
    QVERIFY(to);
    QVERIFY_OK(connect_fd(sender->get(), *to));
    const auto bytes = [](std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); };
    QVERIFY_OK(plain_send(sender->get(), bytes("hello")));
    QVERIFY_OK(plain_send(sender->get(), bytes("hi")));
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::readiness, u->token))));
    QVERIFY(c.wait_for(seen(queue_where(u->token, [](const Record& q) { return q.readable() == 5; }))));
    QVERIFY_OK(eng.submit(cmd::Read{u->token, 64}));
    QVERIFY(c.wait_for(seen(queue_where(u->token, [](const Record& q) { return q.readable() == 2; }))));
    eng.stop();
  }

  // Sampling off: the same lesson gives no queue record at all (its queue checks then fail
  // and say why); switched on live, the sources' current values are recorded at once.
  void sampling_off_records_none_and_switches_on_live() {
    EngineConfig off;
    off.queue_sampling = false;
    std::vector<Record> all;
    std::string report;
    QVERIFY(!run_lesson("et-partial-read.json", off, all, nullptr, nullptr, &report));
    QCOMPARE(count(all, RecordKind::queue), std::size_t{0});
    QVERIFY2(report.find("no queue record (sampling off?)") != std::string::npos, report.c_str());

    START_ENGINE(eng, c, off);
    auto pair = eng.submit(cmd::SocketPair{SourceOptions{}});
    QVERIFY_OK(pair);
    QVERIFY_OK(eng.submit(cmd::Write{pair->token, "abc"}));
    QVERIFY(c.wait_for(seen(is_action(pair->token, Op::write))));
    QVERIFY(await_witness(eng, c));
    QCOMPARE(count(c.records, RecordKind::queue), std::size_t{0});
    QVERIFY_OK(eng.submit(cmd::SetQueueSampling{true}));
    QVERIFY(c.wait_for(seen(queue_where(pair->token2, [](const Record& q) { return q.readable() == 3; }))));
    QVERIFY(c.wait_for(seen(queue_where(pair->token, [](const Record& q) { return q.unsent() == 3; }))));
    QVERIFY(c.find([](const Record& r) { return r.kind == RecordKind::note; }));
    QVERIFY_OK(eng.submit(cmd::SetQueueSampling{false}));
    QVERIFY(await_witness(eng, c));
    const std::size_t before = count(c.records, RecordKind::queue);
    QVERIFY_OK(eng.submit(cmd::Read{pair->token2, 2}));
    QVERIFY(c.wait_for(seen(is_action(pair->token2, Op::read))));
    QVERIFY(await_witness(eng, c));
    QCOMPARE(count(c.records, RecordKind::queue), before);
    eng.stop();
  }

  // The other lessons that check the band pass with their queue checks on the real kernel.
  void lessons_with_queue_checks_pass() {
    for (const char* name : {"drain-until-would-block.json", "oneshot-rearm.json", "writable-interest.json"}) {
      std::vector<Record> all;
      std::string report;
      QVERIFY2(run_lesson(name, EngineConfig{}, all, nullptr, nullptr, &report), (name + std::string(": ") + report).c_str());
      QVERIFY(count(all, RecordKind::queue) > 0);
      QVERIFY(only_changes(all));
    }
  }

  // A queue check: its forms parse; a bad one says what is expected.
  void queue_check_is_validated() {
    const auto check = [](std::string_view c) {
      return scenario_error(R"({"name":"t","sources":[{"id":"p","kind":"socketpair","ends":["a","b"]}],"steps":[{"expect":[)" +
                           std::string(c) + "]}]}");
    };
    QCOMPARE(check(R"({"source":"a","queue":{"readable":6}})"), std::string());
    QCOMPARE(check(R"({"source":"a","queue":{"unsent_min":1,"readable":0}})"), std::string());
    QVERIFY(check(R"({"source":"a","queue":{}})").find("give at least one of readable") != std::string::npos);
    QVERIFY(check(R"({"source":"a","queue":{"readable":1,"readable_min":1}})").find("not both") != std::string::npos);
    QVERIFY(check(R"({"source":"a","queue":{"bytes":1}})").find("bytes") != std::string::npos);
    QVERIFY(check(R"({"source":"a","queue":6})").find("expected an object") != std::string::npos);
  }

  // Written with `queue`: a version-3 file whose queue lines read back as the same records;
  // without it the queue records are left out and the file stays version 1; a queue line in
  // a version-2 file is refused on its line.
  void recording_round_trip_and_versions() {
    Record q;
    q.kind = RecordKind::queue;
    q.t_ns = 5;
    q.token = 3;
    q.fd = 9;
    q.value = 6;
    Record q2 = q;
    q2.t_ns = 7;
    q2.value = 0;
    q2.value2 = 4096;
    Unlink file(temp_path("q.jsonl"));
    {
      RecordingWriterOptions o;
      o.queue = true;
      auto w = RecordingWriter::create(file.path, o);
      QVERIFY_OK(w);
      QVERIFY_OK(w->write(q));
      QVERIFY_OK(w->write(q2));
      QVERIFY_OK(w->close());
    }
    const std::string text = read_all(file.path);
    QVERIFY2(text.find(R"("version":3)") != std::string::npos, text.c_str());
    QVERIFY2(text.find(R"({"type":"queue","t_ns":5,"token":3,"fd":9,"readable":6,"unsent":0})") != std::string::npos,
             text.c_str());
    RecordStore store;
    auto loaded = load_recording(file.path, store);
    QVERIFY2(loaded, loaded ? "" : loaded.error().message().c_str());
    QCOMPARE(store.size(), std::uint64_t{2});
    QCOMPARE(store.at(store.begin_index()), q);
    QCOMPARE(store.at(store.begin_index() + 1), q2);

    Unlink plain(temp_path("noq.jsonl"));
    {
      auto w = RecordingWriter::create(plain.path);
      QVERIFY_OK(w);
      QVERIFY_OK(w->write(q));
      QCOMPARE(w->records(), std::uint64_t{0});
      QVERIFY_OK(w->close());
    }
    const std::string t1 = read_all(plain.path);
    QVERIFY(t1.find(R"("version":1)") != std::string::npos);
    QVERIFY(t1.find("queue") == std::string::npos);

    Unlink v2(temp_path("v2q.jsonl"));
    {
      std::ofstream out(v2.path);
      out << R"({"type":"header","format":"readyscope-recording","version":2,"started":"x"})" << '\n'
          << R"({"type":"queue","t_ns":5,"token":3,"fd":9,"readable":6,"unsent":0})" << '\n';
    }
    RecordStore s2;
    auto bad = load_recording(v2.path, s2);
    QVERIFY(!bad);
    QCOMPARE(bad.error().line, std::uint64_t{2});
    QVERIFY2(bad.error().what.find(R"(queue lines need "version":3)") != std::string::npos,
             bad.error().what.c_str());
  }

  // Exports: a CSV row with readable / unsent, a Chrome trace counter per token.
  void exports_carry_queue_records() {
    Record q;
    q.kind = RecordKind::queue;
    q.t_ns = 1'000;
    q.token = 3;
    q.fd = 9;
    q.value = 6;
    q.value2 = 2;
    Unlink csv(temp_path("q.csv"));
    QVERIFY(export_one<CsvWriter>(csv.path, q));
    const std::string c = read_all(csv.path);
    QVERIFY2(c.find("delivered,readable,unsent\r\n") != std::string::npos, c.c_str());
    QVERIFY2(c.find("0.000001000,queue,,3,9,") != std::string::npos, c.c_str());
    QVERIFY2(c.find(",6,2\r\n") != std::string::npos, c.c_str());
    Unlink trace(temp_path("q.json"));
    QVERIFY(export_one<TraceWriter>(trace.path, q));
    const std::string t = read_all(trace.path);
    QVERIFY2(t.find(R"x("ph":"C","pid":1,"tid":3,"ts":1.000,"name":"queue (token 3)","args":{"readable":6,"unsent":2})x") !=
                 std::string::npos,
             t.c_str());
  }
};

QTEST_GUILESS_MAIN(TestQueueRecords)
#include "tst_queue_records.moc"
