// Exports: a real capture, recorded and read back, written as Chrome Trace Event JSON and as
// CSV, and both read again: the trace's schema (what Perfetto needs), the CSV's RFC 4180.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "echo_capture.h"
#include "engine_util.h"
#include "peer.h"
#include "ready/capture/engine.h"
#include "ready/capture/export.h"
#include "ready/capture/recording.h"
#include "ready/capture/store.h"
#include "ready/net/udp.h"
#include "ready_test.h"
#include "rfc4180.h"
#include "trace_schema.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// A note text RFC 4180 must quote: a comma, a quote and a line break.
const std::string kAwkwardNote = "client says \"hi\", twice\nthen leaves";

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out(1);
  for (const char c : s) {
    if (c == sep)
      out.emplace_back();
    else
      out.back() += c;
  }
  return out;
}

/// The export options a read recording gives (as `readyscope --open` builds them).
ExportOptions lookups_of(const RecordingInfo& info) {
  ExportOptions o;
  o.note_text = [&info](std::uint64_t id) -> std::optional<std::string> {
    const auto it = info.notes.find(id);
    return it == info.notes.end() ? std::nullopt : std::optional(it->second);
  };
  o.addresses = [&info](std::uint64_t token) -> std::optional<SourceAddresses> {
    const auto it = info.sources.find(token);
    return it == info.sources.end() ? std::nullopt : std::optional(it->second);
  };
  o.peer_text = [&info](std::uint64_t id) -> std::optional<std::string> {
    const auto it = info.peers.find(id);
    return it == info.peers.end() ? std::nullopt : std::optional(it->second);
  };
  return o;
}

Record make(RecordKind k, std::uint64_t t, std::uint64_t token = 0) {
  Record r;
  r.kind = k;
  r.t_ns = t;
  r.token = token;
  return r;
}

}  // namespace

class TestExport : public CoreTest {
  Q_OBJECT

 private slots:
  // A listener echoing to a client, with a note, recorded through the engine; the recording
  // read back and exported to both formats; each export read back and checked against it.
  void real_capture_exported() {
    Unlink rec(temp_path("cap.jsonl"));
    Unlink trace(temp_path("cap.json"));
    Unlink csv(temp_path("cap.csv"));
    std::vector<Record> drained;  // not needed: what is checked is read from the file
    record_echo_capture(rec.path, kAwkwardNote, {"hello", "world"}, drained);
    if (QTest::currentTestFailed()) return;

    // What the recording holds, counted from its text (not through the reader).
    const std::string recording = read_all(rec.path);
    std::map<std::string, std::size_t> lines_by_type;
    std::size_t lines = 0;
    for (const std::string& line : split(recording, '\n')) {
      if (line.empty()) continue;
      const json j = json::parse(line);
      if (j["type"] == "header") continue;
      ++lines;
      ++lines_by_type[j["type"].get<std::string>()];
    }
    QVERIFY(lines_by_type["readiness"] >= 2);
    QVERIFY(lines_by_type["poll_return"] >= 2);

    RecordStore store;
    const auto loaded = load_recording(rec.path, store);
    QVERIFY2(loaded, loaded ? "" : loaded.error().message().c_str());
    QCOMPARE(store.size(), std::uint64_t{lines});
    std::vector<Record> records;
    for (std::uint64_t i = store.begin_index(); i < store.end_index(); ++i) records.push_back(store.at(i));

    // In two slices, as the window's worker feeds a store's records.
    const std::size_t half = records.size() / 2;
    const std::span<const Record> all(records);
    {
      auto tw = TraceWriter::create(trace.path, lookups_of(*loaded));
      QVERIFY_OK(tw);
      auto cw = CsvWriter::create(csv.path, lookups_of(*loaded));
      QVERIFY_OK(cw);
      for (const auto part : {all.first(half), all.subspan(half)}) {
        QVERIFY_OK(tw->write(part));
        QVERIFY_OK(cw->write(part));
      }
      QVERIFY_OK(tw->close());
      QVERIFY_OK(cw->close());
      QCOMPARE(tw->records(), std::uint64_t{lines});
      QCOMPARE(cw->records(), std::uint64_t{lines});
      QCOMPARE(tw->bytes_written(), static_cast<std::uint64_t>(read_all(trace.path).size()));
    }

    // ---- the trace ----
    json events;
    CHECKED_CALL(check_trace_schema(read_all(trace.path), events));
    std::map<std::string, std::size_t> by_cat;
    std::map<std::int64_t, std::string> thread_names;
    double counted_in = 0;
    std::size_t counter_bins = 0;
    bool note_found = false;
    for (const json& e : events) {
      if (e["ph"] == "M" && e["name"] == "thread_name")
        thread_names[e["tid"].get<std::int64_t>()] = e["args"]["name"].get<std::string>();
      if (e.contains("cat")) ++by_cat[e["cat"].get<std::string>()];
      if (e["ph"] == "C" && e["name"] == "bytes/s") {
        counted_in += e["args"]["in"].get<double>() * 0.1;  // per second, over 100 ms bins
        ++counter_bins;
      }
      if (e.value("cat", "") == "note")
        note_found |= e["args"]["text"] == kAwkwardNote && e["name"] == kAwkwardNote;
      if (e.value("cat", "") == "readiness") {
        QVERIFY(e["args"]["epoll"].get<std::string>().starts_with("0x"));
        QVERIFY(e["args"]["flags"].is_array());
      }
    }
    QCOMPARE(by_cat["readiness"], lines_by_type["readiness"]);
    QCOMPARE(by_cat["action"], lines_by_type["action"]);
    QCOMPARE(by_cat["poll"], lines_by_type["poll_return"]);
    QCOMPARE(by_cat["source"], lines_by_type["source"]);
    QVERIFY(note_found);
    QVERIFY(counter_bins >= 2);  // a bin and the zero after it, at least
    // The counters carry the bytes the reads moved: "hello" and "world" (an echo drains them).
    std::uint64_t bytes_read = 0;
    for (const Record& r : records)
      if (r.kind == RecordKind::action && r.outcome == Outcome::ok &&
          (r.action_op() == Op::read || r.action_op() == Op::drain))
        bytes_read += r.n();
    QCOMPARE(bytes_read, std::uint64_t{10});
    QVERIFY2(std::abs(counted_in - 10.0) < 1e-6, std::to_string(counted_in).c_str());
    // The listener's track is named by its kind and address; the stream's by its two ends.
    const std::uint64_t listener = std::find_if(records.begin(), records.end(), [](const Record& r) {
                                     return r.kind == RecordKind::source_added;
                                   })->token;
    const std::string& lname = thread_names[static_cast<std::int64_t>(listener)];
    QVERIFY2(lname.starts_with("tcp_listener 127.0.0.1:") || lname.starts_with("tcp_listener [::1]:"),
             lname.c_str());
    QVERIFY2(lname.ends_with("(token " + std::to_string(listener) + ")"), lname.c_str());
    QVERIFY(std::any_of(thread_names.begin(), thread_names.end(), [](const auto& kv) {
      return kv.second.starts_with("tcp_stream ") && kv.second.find("\u21c4") != std::string::npos;
    }));

    // ---- the CSV ----
    std::vector<std::vector<std::string>> rows;
    QVERIFY2(parse_rfc4180(read_all(csv.path), rows), "the CSV is not RFC 4180");
    QCOMPARE(rows.size(), lines + 1);
    const std::vector<std::string> header = split(CsvWriter::header(), ',');
    QCOMPARE(rows[0], header);
    const auto col = [&](const std::string& name) {
      return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
    };
    std::map<std::string, std::size_t> rows_by_type;
    bool note_row = false;
    for (std::size_t i = 1; i < rows.size(); ++i) {
      QCOMPARE(rows[i].size(), header.size());
      ++rows_by_type[rows[i][col("type")]];
      // The time column is the record's, in seconds with nine decimals.
      const Record& r = records[i - 1];
      const std::string t = rows[i][col("t_s")];
      QCOMPARE(t, std::to_string(r.t_ns / 1'000'000'000) + "." +
                      std::string(9 - std::to_string(r.t_ns % 1'000'000'000).size(), '0') +
                      std::to_string(r.t_ns % 1'000'000'000));
      if (rows[i][col("type")] == "note") note_row |= rows[i][col("text")] == kAwkwardNote;
      // The numbers are the record's, each in its own column ("" for a 0 the recording omits).
      const auto number = [&](const char* name) {
        const std::string& cell = rows[i][col(name)];
        return cell.empty() ? std::uint64_t{0} : std::stoull(cell);
      };
      switch (r.kind) {
        case RecordKind::poll_return:
          QCOMPARE(number("events"), r.events());
          QCOMPARE(number("blocked_ns"), r.blocked_ns());
          break;
        case RecordKind::action:
          QCOMPARE(number("n"), r.n());
          QCOMPARE(number("command"), r.command());
          QCOMPARE(rows[i][col("op")], std::string(name_of(r.action_op())));
          break;
        case RecordKind::source_added:
          QCOMPARE(number("related"), r.related());
          QCOMPARE(number("command"), r.command());
          break;
        case RecordKind::source_removed:
          QCOMPARE(number("bytes_in"), r.bytes_in());
          QCOMPARE(number("bytes_out"), r.bytes_out());
          break;
        case RecordKind::stats:
          QCOMPARE(number("produced"), r.produced());
          QCOMPARE(number("dropped"), r.dropped());
          QCOMPARE(number("delivered"), r.produced() - r.dropped());
          break;
        case RecordKind::queue:
          QCOMPARE(number("token"), r.token);
          QCOMPARE(number("readable"), r.readable());
          QCOMPARE(number("unsent"), r.unsent());
          break;
        case RecordKind::note:
          QCOMPARE(number("id"), r.note_id());
          break;
        default:
          QCOMPARE(number("token"), r.token);
          break;
      }
      if (rows[i][col("type")] == "readiness") QVERIFY(rows[i][col("epoll")].starts_with("0x"));
    }
    QCOMPARE(rows_by_type, lines_by_type);
    QVERIFY2(note_row, "the note text did not survive the CSV");
  }

  // Exported live, with the engine's lookups (as a headless capture does): a UDP echo's reads
  // and replies name their sender in the trace's args and in the CSV's peer column.
  void datagram_peers_exported() {
    Unlink trace(temp_path("udp.json"));
    Unlink csv(temp_path("udp.csv"));
    START_ENGINE(eng, c);
    auto t = eng.submit(cmd::UdpBind{any_local_address(), with(Reaction::echo)});
    QVERIFY_OK(t);
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, t->token))));
    const auto info = eng.source_info(t->token);
    QVERIFY(info);
    const auto server = net::SocketAddr::parse(info->local);
    QVERIFY(server);
    auto a = net::UdpSocket::bind(any_local_address());
    auto b = net::UdpSocket::bind(any_local_address());
    QVERIFY_OK(a);
    QVERIFY_OK(b);
    const std::string pa = a->local_addr()->to_string(), pb = b->local_addr()->to_string();
    QVERIFY_OK(a->send_to(bytes("one"), *server));
    QVERIFY_OK(b->send_to(bytes("two"), *server));
    QVERIFY_OK(a->send_to(bytes("three"), *server));
    const auto writes = [&](const std::vector<Record>& rs) {
      return std::count_if(rs.begin(), rs.end(), [&](const Record& r) {
        return r.kind == RecordKind::action && r.token == t->token.value && r.action_op() == Op::write &&
               r.outcome == Outcome::ok;
      });
    };
    QVERIFY(c.wait_for([&](const std::vector<Record>& rs) { return writes(rs) >= 3; }));
    ExportOptions o;
    o.addresses = [&](std::uint64_t token) -> std::optional<SourceAddresses> {
      auto i = eng.source_info(Token(static_cast<std::size_t>(token)));
      if (!i) return std::nullopt;
      return SourceAddresses{i->local, i->peer};
    };
    o.peer_text = [&](std::uint64_t id) { return eng.peer_text(id); };
    {
      auto tw = TraceWriter::create(trace.path, o);
      QVERIFY_OK(tw);
      auto cw = CsvWriter::create(csv.path, o);
      QVERIFY_OK(cw);
      QVERIFY_OK(tw->write(c.records));
      QVERIFY_OK(cw->write(c.records));
      QVERIFY_OK(tw->close());
      QVERIFY_OK(cw->close());
    }
    eng.stop();
    const std::vector<std::string> senders{pa, pb, pa};

    json events;
    CHECKED_CALL(check_trace_schema(read_all(trace.path), events));
    std::vector<std::string> read_peers, write_peers;
    for (const json& e : events) {
      if (e.value("cat", "") != "action" || e["args"]["result"] != "ok") continue;
      if (e["args"]["op"] == "read") read_peers.push_back(e["args"].value("peer", "?"));
      if (e["args"]["op"] == "write") write_peers.push_back(e["args"].value("peer", "?"));
    }
    QCOMPARE(read_peers, senders);
    QCOMPARE(write_peers, senders);

    std::vector<std::vector<std::string>> rows;
    QVERIFY2(parse_rfc4180(read_all(csv.path), rows), "the CSV is not RFC 4180");
    const std::vector<std::string> header = split(CsvWriter::header(), ',');
    const auto col = [&](const std::string& name) {
      return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
    };
    std::vector<std::string> csv_reads;
    for (std::size_t i = 1; i < rows.size(); ++i)
      if (rows[i][col("op")] == "read" && rows[i][col("result")] == "ok")
        csv_reads.push_back(rows[i][col("peer")]);
    QCOMPARE(csv_reads, senders);
  }

  // A writer closed early, or only destroyed, still leaves a whole JSON document.
  void trace_always_closed() {
    Unlink a(temp_path("empty.json"));
    Unlink b(temp_path("dropped.json"));
    {
      auto tw = TraceWriter::create(a.path);
      QVERIFY_OK(tw);
      QVERIFY_OK(tw->close());
      QVERIFY_OK(tw->close());  // idempotent
      const Record note = make(RecordKind::note, 1);
      const auto late = tw->write(std::span<const Record>(&note, 1));
      QVERIFY(!late);
      QCOMPARE(late.error().value(), EBADF);
    }
    {
      auto tw = TraceWriter::create(b.path);
      QVERIFY_OK(tw);
      Record poll = make(RecordKind::poll_return, 5'000'000);
      poll.value2 = 1'000'000;
      QVERIFY_OK(tw->write(std::span<const Record>(&poll, 1)));
    }  // destroyed without close()
    for (const std::string& p : {a.path, b.path}) {
      json events;
      CHECKED_CALL(check_trace_schema(read_all(p), events));
      QVERIFY(events.size() >= 2);  // the process and the poll loop's names
    }
  }

  // Poll-loop spans that would overlap are shortened (and counted); a token seen first
  // through an action (its source line evicted) still gets a named track.
  void spans_clamped_and_unknown_tokens_named() {
    Unlink p(temp_path("clamp.json"));
    std::vector<Record> rs;
    Record a = make(RecordKind::poll_return, 1'000'000);
    a.value2 = 500'000;  // 0.5 .. 1 ms
    Record b = make(RecordKind::poll_return, 1'200'000);
    b.value2 = 900'000;  // would start at 0.3 ms, inside a
    Record act = make(RecordKind::action, 1'300'000, 9);
    act.op = static_cast<std::uint8_t>(Op::read);
    act.value = 3;
    act.fd = 12;
    rs = {a, b, act};
    auto tw = TraceWriter::create(p.path);
    QVERIFY_OK(tw);
    QVERIFY_OK(tw->write(rs));
    QVERIFY_OK(tw->close());
    QCOMPARE(tw->spans_clamped(), std::uint64_t{1});
    json events;
    CHECKED_CALL(check_trace_schema(read_all(p.path), events));
    std::vector<json> xs;
    for (const json& e : events)
      if (e["ph"] == "X") xs.push_back(e);
    QCOMPARE(xs.size(), std::size_t{2});
    QCOMPARE(xs[0]["ts"].get<double>(), 500.0);
    QCOMPARE(xs[1]["ts"].get<double>(), 1000.0);  // starts where the first ended
    QCOMPARE(xs[1]["dur"].get<double>(), 200.0);
    QCOMPARE(xs[1]["args"]["blocked_ns"].get<std::uint64_t>(), std::uint64_t{900'000});  // the record's own
    const bool named = std::any_of(events.begin(), events.end(), [](const json& e) {
      return e["ph"] == "M" && e["name"] == "thread_name" && e["tid"] == 9 &&
             e["args"]["name"] == "(token 9)";
    });
    QVERIFY(named);
  }

  // The files are created as recordings are: never over an existing file unless asked,
  // never through a symbolic link.
  void creation_rules() {
    Unlink exists(temp_path("exists.csv"));
    Unlink link(temp_path("link.json"));
    Unlink bin(temp_path("bin.json"));
    { std::ofstream(exists.path) << "keep me"; }
    QCOMPARE(CsvWriter::create(exists.path).error().value(), EEXIST);
    QCOMPARE(TraceWriter::create(exists.path).error().value(), EEXIST);
    QCOMPARE(read_all(exists.path), std::string("keep me"));
    QCOMPARE(::symlink(exists.path.c_str(), link.path.c_str()), 0);
    ExportOptions over;
    over.overwrite = true;
    QCOMPARE(TraceWriter::create(link.path, over).error().value(), ELOOP);
    QCOMPARE(read_all(exists.path), std::string("keep me"));
    ExportOptions tiny_bins;
    tiny_bins.counter_bin_ns = 1000;
    QCOMPARE(TraceWriter::create(bin.path, tiny_bins).error().value(), EINVAL);
    struct stat st {};
    QCOMPARE(::lstat(bin.path.c_str(), &st), -1);  // nothing created
    auto cw = CsvWriter::create(exists.path, over);
    QVERIFY_OK(cw);
    QVERIFY_OK(cw->close());
    QCOMPARE(read_all(exists.path), CsvWriter::header() + "\r\n");
  }
};

QTEST_GUILESS_MAIN(TestExport)
#include "tst_export.moc"
