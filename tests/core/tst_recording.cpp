// Recordings: JSON Lines written by RecordingWriter and read back by load_recording.
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "echo_capture.h"
#include "peer.h"
#include "ready/capture/engine.h"
#include "ready/capture/recording.h"
#include "ready/capture/store.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;
using namespace std::chrono_literals;

namespace {

Record make(RecordKind k, std::uint64_t t, std::uint64_t token = 0, int fd = -1) {
  Record r;
  r.kind = k;
  r.t_ns = t;
  r.token = token;
  r.fd = fd;
  return r;
}

std::uint32_t source_bits(std::uint8_t interest, Trigger t, Reaction re) {
  return interest | (std::uint32_t{static_cast<std::uint8_t>(t)} << 8) |
         (std::uint32_t{static_cast<std::uint8_t>(re)} << 16);
}

// One record of every kind, with the fields the engine fills.
std::vector<Record> every_kind() {
  std::vector<Record> rs;
  Record added = make(RecordKind::source_added, 10, 1, 7);
  added.op = static_cast<std::uint8_t>(SourceKind::tcp_listener);
  added.bits = source_bits(1, Trigger::edge, Reaction::echo);
  added.value2 = 1;
  rs.push_back(added);
  Record stream = make(RecordKind::source_added, 11, 2, 8);
  stream.op = static_cast<std::uint8_t>(SourceKind::tcp_stream);
  stream.bits = source_bits(1 | 2 | 16, Trigger::oneshot, Reaction::auto_accept);
  stream.value = 1;
  rs.push_back(stream);
  Record changed = make(RecordKind::source_changed, 12, 2, 8);
  changed.op = static_cast<std::uint8_t>(SourceKind::tcp_stream);
  changed.bits = source_bits(2, Trigger::level, Reaction::read);
  changed.value = 4096;
  changed.value2 = 3;
  rs.push_back(changed);
  for (std::uint32_t bits :
       {std::uint32_t{EPOLLIN}, std::uint32_t{EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLOUT},
        std::uint32_t{EPOLLERR}, std::uint32_t{EPOLLPRI | EPOLLIN | EPOLLET}, 0u}) {
    Record r = make(RecordKind::readiness, 20, 2, 8);
    r.bits = bits;
    rs.push_back(r);
  }
  Record ok = make(RecordKind::action, 30, 2, 8);
  ok.op = static_cast<std::uint8_t>(Op::read);
  ok.value = 5;
  ok.value2 = 4;
  rs.push_back(ok);
  Record wb = make(RecordKind::action, 31, 2, 8);
  wb.op = static_cast<std::uint8_t>(Op::drain);
  wb.outcome = Outcome::would_block;
  rs.push_back(wb);
  Record eof = make(RecordKind::action, 32, 2, 8);
  eof.op = static_cast<std::uint8_t>(Op::read);
  eof.outcome = Outcome::eof;
  rs.push_back(eof);
  Record inprog = make(RecordKind::action, 33, 3, 9);
  inprog.op = static_cast<std::uint8_t>(Op::connect);
  inprog.outcome = Outcome::in_progress;
  rs.push_back(inprog);
  Record err = make(RecordKind::action, 34, 2, -1);
  err.op = static_cast<std::uint8_t>(Op::write);
  err.outcome = Outcome::error;
  err.err = ECONNRESET;
  err.value2 = 9;
  rs.push_back(err);
  Record odd = make(RecordKind::action, 35, 2, 8);
  odd.op = static_cast<std::uint8_t>(Op::shutdown_write);
  odd.outcome = Outcome::error;
  odd.err = 1000;  // no name: written as "E1000"
  rs.push_back(odd);
  Record pr = make(RecordKind::poll_return, 40);
  pr.value = 3;
  pr.value2 = 123456;
  rs.push_back(pr);
  Record note = make(RecordKind::note, 41);
  note.value = 1;
  note.value2 = 12;
  rs.push_back(note);
  Record warn = make(RecordKind::warning, 42, 2, 8);
  warn.op = static_cast<std::uint8_t>(WarningKind::emfile);
  warn.value = 17;
  warn.err = EMFILE;
  rs.push_back(warn);
  Record removed = make(RecordKind::source_removed, 50, 2, 8);
  removed.op = static_cast<std::uint8_t>(SourceKind::tcp_stream);
  removed.bits = source_bits(1, Trigger::edge, Reaction::none);
  removed.value = 1000;
  removed.value2 = 999;
  rs.push_back(removed);
  Record stats = make(RecordKind::stats, 60);
  stats.value = 100;
  stats.value2 = 7;
  rs.push_back(stats);
  Record zero_stats = make(RecordKind::stats, 61);
  rs.push_back(zero_stats);
  return rs;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

const std::string kHeader =
    R"({"type":"header","format":"readyscope-recording","version":1,"started":"2026-01-01T00:00:00Z"})";
const std::string kReadiness =
    R"({"type":"readiness","t_ns":5,"token":2,"fd":8,"flags":["readable"],"epoll":"0x1"})";
const std::string kHeader2 =
    R"({"type":"header","format":"readyscope-recording","version":2,"started":"2026-01-01T00:00:00Z"})";
const std::string kPayload = R"({"type":"payload","t_ns":6,"token":2,"dir":"in","offset":0,"data":"aGk="})";

std::vector<std::byte> byte_vector(std::string_view s) {
  std::vector<std::byte> out(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) out[i] = static_cast<std::byte>(s[i]);
  return out;
}

PayloadChunk chunk(std::uint64_t offset, std::uint64_t t, Direction d, std::vector<std::byte> bytes) {
  PayloadChunk c;
  c.offset = offset;
  c.t_ns = t;
  c.direction = d;
  c.bytes = std::move(bytes);
  return c;
}

bool same_chunk(const PayloadChunk& a, const PayloadChunk& b) {
  return a.offset == b.offset && a.t_ns == b.t_ns && a.direction == b.direction && a.bytes == b.bytes &&
         a.peer.has_value() == b.peer.has_value() && (!a.peer || a.peer->to_string() == b.peer->to_string()) &&
         a.unix_peer.has_value() == b.unix_peer.has_value() &&
         (!a.unix_peer || a.unix_peer->to_string() == b.unix_peer->to_string());
}

/// What read_recording hands over, in order: a record, or a payload chunk of a token.
struct Item {
  std::optional<Record> record;
  std::uint64_t token = 0;
  PayloadChunk chunk;
};
class OrderSink final : public RecordingSink {
 public:
  void on_records(std::span<const Record> batch) override {
    ++batches;
    for (const Record& r : batch) items.push_back({r, 0, {}});
  }
  void on_payload(std::uint64_t token, const PayloadChunk& c) override { items.push_back({std::nullopt, token, c}); }
  std::vector<Item> items;
  int batches = 0;
};

/// Counts what read_recording hands over.
struct CountingSink final : RecordingSink {
  std::uint64_t records = 0;
  std::uint64_t last_t_ns = 0;
  RecordKind last_kind = RecordKind::note;
  void on_records(std::span<const Record> batch) override {
    for (const Record& r : batch) {
      QVERIFY(records == 0 || r.t_ns >= last_t_ns);
      last_t_ns = r.t_ns;
      last_kind = r.kind;
      ++records;
    }
  }
};

RecordingWriterOptions overwriting() {
  RecordingWriterOptions o;
  o.overwrite = true;
  return o;
}

std::vector<Record> store_records(const RecordStore& s) {
  std::vector<Record> out;
  for (std::uint64_t i = s.begin_index(); i < s.end_index(); ++i) out.push_back(s.at(i));
  return out;
}

struct Case {
  const char* name;
  std::vector<std::string> lines;
  std::uint64_t line;
  const char* expect;  // a part of the message
};

const std::string action = R"({"type":"action","t_ns":6,"token":2,"fd":8,"op":"read","result":"ok","n":3})";
// A source line without its "event" (cases add one, or not).
const std::string kSourceRest =
    R"("token":1,"fd":7,"kind":"udp","local":"","peer":"","interest":["readable"],"mode":"edge","reaction":"none"})";
std::vector<Case> bad_cases() {
  return {
      {"wrong format", {R"({"type":"header","format":"other","version":1,"started":"x"})"}, 1, "\"format\""},
      {"newer version",
       {R"({"type":"header","format":"readyscope-recording","version":4,"started":"x"})"},
       1,
       "unsupported \"version\" 4 (this build reads versions 1 to 3)"},
      {"queue in version 2", {kHeader2, R"({"type":"queue","t_ns":5,"token":2,"fd":8,"readable":6,"unsent":0})"}, 2,
       "a queue line in a version-2 recording (queue lines need \"version\":3 in the header)"},
      {"payload in version 1", {kHeader, kReadiness, kPayload}, 3,
       "a payload line in a version-1 recording (payload lines need \"version\":2 in the header)"},
      {"payload bad base64", {kHeader2, R"({"type":"payload","t_ns":1,"token":2,"dir":"in","offset":0,"data":"aGk"})"},
       2, "expected \"data\" to be padded base64"},
      {"payload base64 with unused bits set",
       {kHeader2, R"({"type":"payload","t_ns":1,"token":2,"dir":"in","offset":0,"data":"aGl="})"}, 2,
       "padded base64"},
      {"payload unknown dir", {kHeader2, R"({"type":"payload","t_ns":1,"token":2,"dir":"up","offset":0,"data":""})"},
       2, "unknown \"dir\" \"up\" (expected in, out)"},
      {"payload without offset", {kHeader2, kReadiness, R"({"type":"payload","t_ns":1,"token":2,"dir":"in","data":""})"},
       3, "missing field \"offset\" on a payload line"},
      {"payload bad peer",
       {kHeader2, R"({"type":"payload","t_ns":1,"token":2,"dir":"in","offset":0,"data":"","peer":"nowhere"})"}, 2,
       "expected \"peer\" to be an address"},
      {"recorder mark not a bool", {kHeader, R"({"type":"note","t_ns":1,"text":"","recorder":1})"}, 2,
       "expected \"recorder\" to be true or false"},
      {"no header", {kReadiness}, 1, "header"},
      {"missing t_ns",
       {kHeader, kReadiness, R"({"type":"readiness","token":2,"fd":8,"flags":[],"epoll":"0x0"})"},
       3,
       "missing field \"t_ns\""},
      {"missing epoll",
       {kHeader, R"({"type":"readiness","t_ns":1,"token":2,"fd":8,"flags":[]})"},
       2,
       "missing field \"epoll\""},
      {"missing errno",
       {kHeader, R"({"type":"action","t_ns":1,"token":2,"fd":8,"op":"read","result":"error"})"},
       2,
       "missing field \"errno\""},
      {"bad hex",
       {kHeader, R"({"type":"readiness","t_ns":1,"token":2,"fd":8,"flags":[],"epoll":"0xZZ"})"},
       2,
       "hex string"},
      {"hex without 0x",
       {kHeader, R"({"type":"readiness","t_ns":1,"token":2,"fd":8,"flags":[],"epoll":"1"})"},
       2,
       "hex string"},
      {"flags mismatch",
       {kHeader, R"({"type":"readiness","t_ns":1,"token":2,"fd":8,"flags":["writable"],"epoll":"0x1"})"},
       2,
       "do not match"},
      {"unknown op",
       {kHeader, action, R"({"type":"action","t_ns":7,"token":2,"fd":8,"op":"jump","result":"ok"})"},
       3,
       "unknown \"op\" \"jump\""},
      {"unknown result",
       {kHeader, R"({"type":"action","t_ns":7,"token":2,"fd":8,"op":"read","result":"maybe"})"},
       2,
       "unknown \"result\" \"maybe\""},
      {"unknown flag",
       {kHeader, R"({"type":"readiness","t_ns":1,"token":2,"fd":8,"flags":["sleepy"],"epoll":"0x1"})"},
       2,
       "unknown flag \"sleepy\""},
      {"unknown errno",
       {kHeader,
        R"({"type":"action","t_ns":1,"token":2,"fd":8,"op":"read","result":"error","errno":"EWHAT"})"},
       2,
       "unknown \"errno\""},
      {"unknown type", {kHeader, R"({"type":"gossip","t_ns":1})"}, 2, "unknown \"type\""},
      {"source without event",
       {kHeader, kReadiness, R"({"type":"source","t_ns":6,)" + kSourceRest},
       3,
       "missing field \"event\" on a source line (expected added, changed, removed)"},
      {"unknown source event",
       {kHeader, R"({"type":"source","t_ns":1,"event":"born",)" + kSourceRest},
       2,
       "unknown source \"event\" \"born\" (expected added, changed, removed)"},
      {"source event not a string",
       {kHeader, R"({"type":"source","t_ns":1,"event":0,)" + kSourceRest},
       2,
       "expected \"event\" to be a string"},
      {"old source_added type", {kHeader, R"({"type":"source_added","t_ns":1,)" + kSourceRest}, 2,
       "unknown \"type\" \"source_added\""},
      {"old source_changed type", {kHeader, R"({"type":"source_changed","t_ns":1,)" + kSourceRest}, 2,
       "unknown \"type\" \"source_changed\""},
      {"old source_removed type", {kHeader, R"({"type":"source_removed","t_ns":1,)" + kSourceRest}, 2,
       "unknown \"type\" \"source_removed\""},
      {"truncated line",
       {kHeader, kReadiness, R"({"type":"readiness","t_ns":5,"token":2,"fd)"},
       3,
       "not valid JSON"},
      {"not JSON", {kHeader, "hello world"}, 2, "not valid JSON"},
      {"trailing garbage", {kHeader, kReadiness + " x"}, 2, "not valid JSON"},
      {"not an object", {kHeader, "[1,2]"}, 2, "expected a JSON object"},
      {"empty line", {kHeader, "", kReadiness}, 2, "empty line"},
      {"string t_ns", {kHeader, R"({"type":"note","t_ns":"1","text":""})"}, 2, "unsigned integer"},
      {"bad stats", {kHeader, R"({"type":"stats","t_ns":1,"produced":1,"dropped":2})"}, 2, "larger"},
      {"huge line",
       {kHeader, R"({"type":"note","t_ns":1,"text":")" + std::string(2 << 20, 'a') + "\"}"},
       2,
       "longer than the limit"},
  };
}

}  // namespace

class TestRecording : public CoreTest {
  Q_OBJECT
 private slots:
  // Every record kind written and read back is the same record; notes and addresses come
  // back through RecordingInfo.
  void round_trip_every_kind() {
    Unlink file(temp_path("rt.jsonl"));
    const auto rs = every_kind();
    {
      RecordingWriterOptions o;
      o.started = "2026-11-26T12:00:00Z";
      o.note_text = [](std::uint64_t id) -> std::optional<std::string> {
        if (id == 1) return std::string("a \"quoted\"\n note\x01 \xc3\xa9");
        return std::nullopt;
      };
      o.addresses = [](std::uint64_t token) -> std::optional<SourceAddresses> {
        if (token == 1) return SourceAddresses{"127.0.0.1:4000", ""};
        if (token == 2) return SourceAddresses{"127.0.0.1:4000", "127.0.0.1:5555"};
        return std::nullopt;
      };
      auto w = RecordingWriter::create(file.path, std::move(o));
      QVERIFY_OK(w);
      QVERIFY_OK(w->write(std::span<const Record>(rs.data(), 3)));
      QVERIFY_OK(w->write(std::span<const Record>(rs.data() + 3, rs.size() - 3)));
      QCOMPARE(w->records(), rs.size());
      QVERIFY_OK(w->close());
      QVERIFY_OK(w->close());  // idempotent
      QVERIFY(!w->write(rs[0]));
    }
    const std::string text = read_all(file.path);
    const auto lines = split_lines(text);
    QCOMPARE(lines.size(), rs.size() + 1);
    QVERIFY(lines[0].starts_with(R"({"type":"header","format":"readyscope-recording","version":1,)"));
    QVERIFY(text.find(R"("errno":"ECONNRESET")") != std::string::npos);
    QVERIFY(text.find(R"("epoll":"0x2015")") != std::string::npos);
    QVERIFY(text.find(R"("flags":["readable","writable","read_closed","write_closed"])") !=
            std::string::npos);
    QVERIFY(text.find(R"("result":"would_block")") != std::string::npos);
    // Source lines are one type, the event right after the time.
    QVERIFY(text.find(R"({"type":"source","t_ns":10,"event":"added","token":1,"fd":7,)") != std::string::npos);
    QVERIFY(text.find(R"({"type":"source","t_ns":12,"event":"changed","token":2,"fd":8,)") != std::string::npos);
    QVERIFY(text.find(R"({"type":"source","t_ns":50,"event":"removed","token":2,"fd":8,)") != std::string::npos);
    QVERIFY(text.find("source_") == std::string::npos);
    QVERIFY(text.find("\\\"quoted\\\"\\n note\\u0001") != std::string::npos);

    RecordStore store;
    auto loaded = load_recording(file.path, store);
    QVERIFY2(loaded, loaded ? "" : loaded.error().message().c_str());
    QCOMPARE(loaded->started, std::string("2026-11-26T12:00:00Z"));
    QCOMPARE(loaded->records, rs.size());
    QCOMPARE(store_records(store), rs);
    QCOMPARE(loaded->notes.at(1), std::string("a \"quoted\"\n note\x01 \xc3\xa9"));
    QCOMPARE(loaded->sources.at(2).peer, std::string("127.0.0.1:5555"));
    QCOMPARE(loaded->sources.at(1).local, std::string("127.0.0.1:4000"));
  }

  // The file is created O_EXCL (never clobbered unless asked), O_NOFOLLOW, O_CLOEXEC.
  void refuses_to_overwrite() {
    Unlink file(temp_path("exists.jsonl"));
    write_file(file.path, "keep me\n");
    auto w = RecordingWriter::create(file.path);
    QVERIFY(!w);
    QCOMPARE(w.error().value(), EEXIST);
    QCOMPARE(read_all(file.path), std::string("keep me\n"));

    auto again = RecordingWriter::create(file.path, overwriting());
    QVERIFY_OK(again);
    QVERIFY_OK(again->close());
    QVERIFY(read_all(file.path).starts_with(R"({"type":"header")"));

    Unlink link(temp_path("link.jsonl"));
    QCOMPARE(::symlink(file.path.c_str(), link.path.c_str()), 0);
    auto via_link = RecordingWriter::create(link.path, overwriting());
    QVERIFY(!via_link);
    QCOMPARE(via_link.error().value(), ELOOP);
  }

  void writer_fd_is_cloexec() {
    Unlink file(temp_path("cloexec.jsonl"));
    const auto before = open_fd_count();
    auto w = RecordingWriter::create(file.path);
    QVERIFY_OK(w);
    QCOMPARE(open_fd_count(), before + 1);
    bool found = false;
    for (int fd = 0; fd < 1024; ++fd) {
      char target[512];
      const auto link = "/proc/self/fd/" + std::to_string(fd);
      const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
      if (n > 0 && std::string(target, static_cast<std::size_t>(n)) == file.path) {
        QVERIFY(is_close_on_exec(fd));
        found = true;
      }
    }
    QVERIFY(found);
    QVERIFY_OK(w->close());
  }

  // Many records (~15 MB): the writer's 1 MiB buffer flushes in between and the reader's
  // 8 MiB windows and simdjson's 4 MiB batches have boundaries inside; nothing lost. A bad
  // line after them is still reported with its number.
  void large_write_reads_back() {
    Unlink file(temp_path("large.jsonl"));
    std::vector<Record> rs;
    for (std::uint64_t i = 0; i < 150000; ++i) {
      Record r = make(RecordKind::readiness, i * 10, 1 + i % 7, 5 + static_cast<int>(i % 7));
      r.bits = (i % 3 == 0) ? EPOLLIN : EPOLLOUT | EPOLLIN;
      rs.push_back(r);
    }
    auto w = RecordingWriter::create(file.path);
    QVERIFY_OK(w);
    QVERIFY_OK(w->write(rs));
    QVERIFY_OK(w->close());
    RecordStore store;
    auto loaded = load_recording(file.path, store);
    QVERIFY2(loaded, loaded ? "" : loaded.error().message().c_str());
    QCOMPARE(store_records(store), rs);

    {
      std::ofstream out(file.path, std::ios::binary | std::ios::app);
      out << R"({"type":"readiness","t_ns":1,"token":2,"fd":8,"flags":[],"epoll":"0xQ"})"
          << "\n";
    }
    auto bad = load_recording(file.path, store);
    QVERIFY(!bad);
    QCOMPARE(bad.error().line, std::uint64_t{rs.size() + 2});
    QCOMPARE(store.size(), std::uint64_t{rs.size()});
  }

  // Each bad input is rejected with the file, the line and what was expected, and the
  // store keeps what it had.
  void bad_inputs_rejected() {
    const std::vector<Case> cases = bad_cases();
    Unlink file(temp_path("bad.jsonl"));
    for (const Case& c : cases) {
      write_file(file.path, join_lines(c.lines));
      RecordStore store;
      store.append(make(RecordKind::note, 1));
      auto loaded = load_recording(file.path, store);
      QVERIFY2(!loaded, c.name);
      const std::string msg = loaded.error().message();
      QVERIFY2(loaded.error().line == c.line, (std::string(c.name) + ": " + msg).c_str());
      QVERIFY2(msg.starts_with(file.path + ":" + std::to_string(c.line) + ": "),
               (std::string(c.name) + ": " + msg).c_str());
      QVERIFY2(msg.find(c.expect) != std::string::npos, (std::string(c.name) + ": " + msg).c_str());
      QCOMPARE(store.size(), std::uint64_t{1});
      QCOMPARE(store.at(0), make(RecordKind::note, 1));
    }
  }

  void missing_and_too_big_files() {
    RecordStore store;
    auto missing = load_recording(temp_path("nope.jsonl"), store);
    QVERIFY(!missing);
    QVERIFY(missing.error().message().find("ENOENT") != std::string::npos);
    Unlink file(temp_path("big.jsonl"));
    write_file(file.path, join_lines({kHeader, kReadiness}));
    auto big =
        load_recording(file.path, store, RecordingLimits{.max_file_bytes = 10, .max_line_bytes = 1 << 20});
    QVERIFY(!big);
    QVERIFY(big.error().message().find("limit") != std::string::npos);
    QVERIFY(store.empty());
    // A last line without a newline is fine when it is complete.
    write_file(file.path, kHeader + "\n" + kReadiness);
    auto ok = load_recording(file.path, store);
    QVERIFY2(ok, ok ? "" : ok.error().message().c_str());
    QCOMPARE(store.size(), std::uint64_t{1});
  }

  // Found by fuzz/fuzz_recording: a value from the file went into the error message as it
  // was, so a "\n" in it broke the one-line message (and an ESC reached the terminal).
  // Values are now quoted, escaped to ASCII and cut to 40 bytes.
  void error_quotes_values_from_the_file() {
    Unlink file(temp_path("quoted.jsonl"));
    struct Quoted {
      std::string line;
      std::string expect;
    };
    const std::vector<Quoted> cases = {
        // (not raw strings: with these as raw strings moc 6.4 found no class in this file)
        {"{\"type\":\"a\\nb\\u001b[31m\\u00e9\",\"t_ns\":1}", "unknown \"type\" \"a\\nb\\u001b[31m\\u00e9\""},
        {"{\"type\":\"" + std::string(100, 'x') + "\",\"t_ns\":1}",
         "unknown \"type\" \"" + std::string(40, 'x') + "\"..."},
        {R"({"type":"readiness","t_ns":1,"token":2,"fd":8,"flags":["r\r\n"],"epoll":"0x1"})",
         R"(unknown flag "r\r\n" (expected)"},
        {R"({"type":"action","t_ns":1,"token":2,"fd":8,"op":"read","result":"ok","errno":"E\n1"})",
         R"(unknown "errno" "E\n1" (expected)"},
    };
    for (const Quoted& c : cases) {
      write_file(file.path, join_lines({kHeader, c.line}));
      RecordStore store;
      auto loaded = load_recording(file.path, store);
      QVERIFY(!loaded);
      const std::string msg = loaded.error().message();
      QVERIFY2(msg.find(c.expect) != std::string::npos, msg.c_str());
      for (const char ch : msg) QVERIFY2(ch >= 0x20 && ch < 0x7f, msg.c_str());
      QVERIFY(store.empty());
    }
  }

  // Found by fuzz/fuzz_recording: a field that only other kinds use (a "token" on a note,
  // a "kind" on an action) changed the record read, so the record did not survive being
  // written and read again, and an action's op depended on the order of "op" and "kind".
  // Such fields are now ignored like unknown ones (their values are still checked).
  void fields_of_other_kinds_are_ignored() {
    Unlink file(temp_path("others.jsonl"));
    Unlink again(temp_path("others-again.jsonl"));
    write_file(file.path,
               join_lines({kHeader,
                           R"({"type":"note","t_ns":1,"text":"n","id":3,"token":2,"fd":8,"kind":"udp",)"
                           R"("op":"write","result":"eof","errno":"EPIPE","epoll":"0x4","warning":"emfile"})",
                           R"({"type":"action","t_ns":2,"token":2,"fd":8,"kind":"udp","op":"read","result":"ok"})",
                           R"({"type":"action","t_ns":3,"token":2,"fd":8,"op":"read","warning":"emfile","result":"ok"})",
                           R"({"type":"poll_return","t_ns":4,"token":5,"fd":6,"events":1})",
                           R"({"type":"readiness","t_ns":5,"token":2,"fd":8,"flags":["readable"],"epoll":"0x1",)"
                           R"("op":"accept","result":"error","errno":"EPIPE"})"}));
    RecordStore store;
    auto loaded = load_recording(file.path, store);
    QVERIFY2(loaded, loaded ? "" : loaded.error().message().c_str());
    std::vector<Record> expect;
    Record note = make(RecordKind::note, 1);
    note.value = 3;
    expect.push_back(note);
    for (std::uint64_t t : {2, 3}) {
      Record read = make(RecordKind::action, t, 2, 8);
      read.op = static_cast<std::uint8_t>(Op::read);
      expect.push_back(read);
    }
    Record pr = make(RecordKind::poll_return, 4);
    pr.value = 1;
    expect.push_back(pr);
    Record rd = make(RecordKind::readiness, 5, 2, 8);
    rd.bits = EPOLLIN;
    expect.push_back(rd);
    QCOMPARE(store_records(store), expect);
    QCOMPARE(store.stored_in_full(), std::uint64_t{2});  // the readiness and the two reads are compact

    // Written and read again: the same records.
    auto w = RecordingWriter::create(again.path);
    QVERIFY_OK(w);
    QVERIFY_OK(w->write(expect));
    QVERIFY_OK(w->close());
    RecordStore store2;
    auto loaded2 = load_recording(again.path, store2);
    QVERIFY2(loaded2, loaded2 ? "" : loaded2.error().message().c_str());
    QCOMPARE(store_records(store2), expect);

    // Values of such fields are still checked.
    write_file(file.path, join_lines({kHeader, R"({"type":"note","t_ns":1,"text":"","op":"jump"})"}));
    auto bad = load_recording(file.path, store);
    QVERIFY(!bad);
    QVERIFY2(bad.error().message().find(R"(unknown "op" "jump")") != std::string::npos,
             bad.error().message().c_str());
    QCOMPARE(store_records(store), expect);
  }

  // "event" may come before or after "type" (and after the fields it decides the names of);
  // the fast path and the line-by-line reader read the same lines the same way.
  void source_event_in_any_key_order() {
    const std::vector<std::string> lines = {
        kHeader,
        R"({"event":"added","type":"source","t_ns":1,)" + kSourceRest,
        R"({"t_ns":2,"read_n":64,"token":1,"fd":7,"kind":"udp","local":"","peer":"","interest":["readable"],)"
        R"("mode":"level","reaction":"read","type":"source","event":"changed"})",
        R"({"type":"source","bytes_in":3,"bytes_out":4,"event":"removed","t_ns":3,)" + kSourceRest,
        R"({"type":"action","t_ns":4,"token":1,"fd":7,"op":"read","result":"ok","event":"added"})",
    };
    std::vector<Record> expect;
    Record added = make(RecordKind::source_added, 1, 1, 7);
    added.op = static_cast<std::uint8_t>(SourceKind::udp);
    added.bits = 1;  // readable, edge, reaction none
    expect.push_back(added);
    Record changed = make(RecordKind::source_changed, 2, 1, 7);
    changed.op = added.op;
    changed.bits = 1 | (1u << 8) | (1u << 16);  // readable, level, read
    changed.value = 64;
    expect.push_back(changed);
    Record removed = make(RecordKind::source_removed, 3, 1, 7);
    removed.op = added.op;
    removed.bits = 1;
    removed.value = 3;
    removed.value2 = 4;
    expect.push_back(removed);
    Record read = make(RecordKind::action, 4, 1, 7);  // an "event" on another kind is ignored
    read.op = static_cast<std::uint8_t>(Op::read);
    expect.push_back(read);

    Unlink file(temp_path("source-order.jsonl"));
    write_file(file.path, join_lines(lines));
    RecordStore store;
    auto loaded = load_recording(file.path, store);  // the fast path
    QVERIFY2(loaded, loaded ? "" : loaded.error().message().c_str());
    QCOMPARE(store_records(store), expect);

    // An empty line at the end makes the fast path give up: the line-by-line reader then
    // accepts the same lines and reports only the empty one.
    write_file(file.path, join_lines(lines) + "\n");
    RecordStore untouched;
    auto slow = load_recording(file.path, untouched);
    QVERIFY(!slow);
    QCOMPARE(slow.error().line, std::uint64_t{lines.size() + 1});
    QCOMPARE(untouched.size(), std::uint64_t{0});

    // And it names a source line without an event, after good ones, by its number.
    auto bad = lines;
    bad.push_back(R"({"t_ns":9,"type":"source",)" + kSourceRest);
    bad.push_back("");
    write_file(file.path, join_lines(bad));
    auto missing = load_recording(file.path, untouched);
    QVERIFY(!missing);
    QCOMPARE(missing.error().line, std::uint64_t{lines.size() + 1});
    QVERIFY2(missing.error().message().find(R"(missing field "event" on a source line)") != std::string::npos,
             missing.error().message().c_str());
  }

  // Found by fuzz/fuzz_recording: content after the object on the last line was accepted
  // when it was not a complete JSON value ("{...} 2,..."): the fast path's document stream
  // stops quietly before an incomplete document. Now that line is reported, as on any other
  // line.
  void trailing_content_on_the_last_line_rejected() {
    Unlink file(temp_path("trailing.jsonl"));
    const std::string note = R"({"type":"note","t_ns":1,"text":""})";
    for (const std::string& tail : {std::string(R"( 2,"text":""})"), std::string(" {"), std::string(" \"x"),
                                    std::string(" [1"), std::string(" }"), std::string("]")}) {
      for (const bool newline : {true, false}) {
        write_file(file.path, kHeader + "\n" + note + "\n" + note + tail + (newline ? "\n" : ""));
        RecordStore store;
        store.append(make(RecordKind::note, 1));
        auto loaded = load_recording(file.path, store);
        QVERIFY2(!loaded, (note + tail).c_str());
        QCOMPARE(loaded.error().line, std::uint64_t{3});
        QVERIFY2(loaded.error().what.starts_with("not valid JSON"), loaded.error().message().c_str());
        QCOMPARE(store.size(), std::uint64_t{1});
      }
    }
  }

  // Found by fuzz/fuzz_recording: simdjson's document stream reads the byte after its input
  // as the end of the last document, and a '}' there let a malformed last object
  // ("...,"at":"y":"1"}") pass as a record. The reader's window held stale bytes there:
  // here, the first window's content, left behind the file's end in the second window (the
  // file is made so that this byte is a '}'). The fast path now zeros that byte.
  void malformed_last_object_rejected_whatever_follows() {
    Unlink file(temp_path("stale.jsonl"));
    constexpr std::size_t kWindow = std::size_t{8} << 20;  // docs/recording-format.md
    std::string text = kHeader + "\n";
    for (std::uint64_t t = 0; text.size() <= kWindow; ++t)
      text += "{\"type\":\"readiness\",\"t_ns\":" + std::to_string(t) +
              R"(,"token":2,"fd":8,"flags":["readable"],"epoll":"0x1"})" + "\n";
    // The first window's lines end at r1; the second window holds the rest of the file, so
    // its last line is followed by the first window's byte at offset size - r1.
    const std::size_t r1 = text.rfind('\n', kWindow - 1) + 1;
    const std::string head = "{\"type\":\"note\",\"t_ns\":3,\"text\":\"";
    const std::string tail = "\",\"at\":\"y\":\"1\"}";
    const std::size_t min_size = text.size() + head.size() + tail.size() + 1;
    std::size_t brace = text.find('}', min_size - r1);
    QVERIFY(brace != std::string::npos && brace < kWindow);
    const std::size_t size = r1 + brace;
    text += head + std::string(size - min_size, 'x') + tail + "\n";
    QCOMPARE(text.size(), size);
    QCOMPARE(text[size - r1], '}');
    write_file(file.path, text);
    const auto lines = static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n'));

    RecordStore store;
    store.append(make(RecordKind::note, 1));
    auto loaded = load_recording(file.path, store);
    QVERIFY2(!loaded, "a malformed last line was accepted");
    QCOMPARE(loaded.error().line, lines);
    QVERIFY2(loaded.error().what.starts_with("not valid JSON"), loaded.error().message().c_str());
    QCOMPARE(store.size(), std::uint64_t{1});
    // Streamed: every good line before the bad one reaches the sink, and nothing of it.
    CountingSink sink;
    auto read = read_recording(file.path, sink);
    QVERIFY(!read);
    QCOMPARE(read.error().line, lines);
    QCOMPARE(sink.records, lines - 2);
    QCOMPARE(sink.last_kind, RecordKind::readiness);
  }

  // read_recording's contract: on a bad line, the records of the lines before it were given
  // to the sink (a window shows them), in order; a bad line past the first batch and inside
  // the second.
  void read_recording_hands_over_the_lines_before_a_bad_one() {
    Unlink file(temp_path("cut.jsonl"));
    std::vector<std::string> lines{kHeader};
    for (std::uint64_t t = 0; t < 6000; ++t)
      lines.push_back("{\"type\":\"readiness\",\"t_ns\":" + std::to_string(t) +
                      R"(,"token":2,"fd":8,"flags":["readable"],"epoll":"0x1"})");
    constexpr std::size_t kBad = 5000;
    lines[kBad - 1] = R"({"type":"readiness","t_ns":1,"token":2,"fd":8,"flags":["readable"],"epoll":)";
    write_file(file.path, join_lines(lines));
    CountingSink sink;
    auto read = read_recording(file.path, sink);
    QVERIFY(!read);
    QCOMPARE(read.error().line, std::uint64_t{kBad});
    QCOMPARE(sink.records, std::uint64_t{kBad - 2});
    QCOMPARE(sink.last_t_ns, std::uint64_t{kBad - 3});  // line N-1 holds t_ns N-3
  }

  // A real capture: listener + echo client through the engine, drained, written, read back.
  void real_capture_round_trip() {
    Unlink file(temp_path("capture.jsonl"));
    std::vector<Record> records;
    std::map<RecordKind, int> by_kind;
    record_echo_capture(file.path, "listening", {"hello"}, records);
    if (QTest::currentTestFailed()) return;
    for (const Record& r : records) ++by_kind[r.kind];
    QVERIFY(by_kind[RecordKind::readiness] >= 1);
    QVERIFY(by_kind[RecordKind::action] >= 2);
    QCOMPARE(by_kind[RecordKind::source_added], 2);
    QCOMPARE(by_kind[RecordKind::source_removed], 2);
    QCOMPARE(by_kind[RecordKind::note], 1);
    // The file names them as the format says: one "type":"source" line per source event
    // (a listener and the stream it accepted: at least two), no other spelling.
    {
      const std::string text = read_all(file.path);
      std::size_t source_lines = 0;
      for (std::size_t at = 0; (at = text.find(R"("type":"source")", at)) != std::string::npos; ++at)
        ++source_lines;
      const auto about_sources = std::count_if(records.begin(), records.end(), [](const Record& r) {
        return r.kind == RecordKind::source_added || r.kind == RecordKind::source_changed ||
               r.kind == RecordKind::source_removed;
      });
      QCOMPARE(source_lines, static_cast<std::size_t>(about_sources));
      QVERIFY(source_lines >= 2);
      QVERIFY(text.find("\"source_added\"") == std::string::npos);
    }

    RecordStore store;
    auto loaded = load_recording(file.path, store);
    QVERIFY2(loaded, loaded ? "" : loaded.error().message().c_str());
    QCOMPARE(store.size(), records.size());
    std::map<RecordKind, int> loaded_by_kind;
    for (std::uint64_t i = 0; i < store.size(); ++i) ++loaded_by_kind[store.kind_at(i)];
    QCOMPARE(loaded_by_kind, by_kind);
    QCOMPARE(store_records(store), records);
    QCOMPARE(loaded->notes.at(1), std::string("listening"));
    QVERIFY(!loaded->sources.at(lt_token(records)).local.empty());
  }

  // Payload lines: written into a version-2 file, read back as the same chunks in file order
  // (peers of both kinds, bytes of every value, a chunk longer than one line split), and
  // written again from what was read: the same file, byte for byte.
  void payload_round_trip() {
    Unlink file(temp_path("payload.jsonl"));
    Unlink again(temp_path("payload-again.jsonl"));
    std::vector<std::byte> all(256);
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::byte>(i);
    std::vector<std::byte> big(RecordingWriter::kPayloadLineBytes * 2 + 5);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::byte>(i * 7);
    std::vector<PayloadChunk> chunks = {
        chunk(0, 30, Direction::in, byte_vector("hello")),
        chunk(5, 31, Direction::out, byte_vector("hello")),
        chunk(10, 32, Direction::in, all),
        chunk(266, 33, Direction::in, byte_vector("a")),
        chunk(267, 34, Direction::out, byte_vector("ab")),
    };
    chunks[2].peer = net::SocketAddr::parse("[::1]:40312");
    chunks[3].unix_peer = net::UnixAddr::from_path("/tmp/some.sock");
    chunks[4].unix_peer = net::UnixAddr::from_abstract_name("abstract-peer");
    const PayloadChunk long_chunk = chunk(1000, 40, Direction::in, big);
    const auto rs = every_kind();
    {
      RecordingWriterOptions o = overwriting();
      o.payload = true;
      o.started = "2026-12-06T00:00:00Z";
      auto w = RecordingWriter::create(file.path, std::move(o));
      QVERIFY_OK(w);
      QVERIFY_OK(w->write(std::span<const Record>(rs.data(), 9)));
      for (const PayloadChunk& c : chunks) QVERIFY_OK(w->write_payload(2, c));
      QVERIFY_OK(w->write(std::span<const Record>(rs.data() + 9, rs.size() - 9)));
      QVERIFY_OK(w->write_payload(5, long_chunk));
      QCOMPARE(w->payload_lines(), std::uint64_t{chunks.size() + 3});
      QCOMPARE(w->payload_bytes(), std::uint64_t{5 + 5 + 256 + 1 + 2 + big.size()});
      QVERIFY_OK(w->close());
    }
    const std::string text = read_all(file.path);
    QVERIFY(text.starts_with(R"({"type":"header","format":"readyscope-recording","version":2,)"));
    QVERIFY(text.find(R"({"type":"payload","t_ns":30,"token":2,"dir":"in","offset":0,"data":"aGVsbG8="})") !=
            std::string::npos);
    QVERIFY(text.find(R"("peer":"[::1]:40312")") != std::string::npos);
    QVERIFY(text.find(R"("unix_peer":"/tmp/some.sock")") != std::string::npos);
    QVERIFY(text.find(R"("unix_abstract":"abstract-peer")") != std::string::npos);

    // read_recording: records and chunks in file order; the long chunk as three pieces.
    OrderSink sink;
    auto info = read_recording(file.path, sink);
    QVERIFY2(info, info ? "" : info.error().message().c_str());
    QCOMPARE(info->version, 2);
    QCOMPARE(info->payload_lines, std::uint64_t{chunks.size() + 3});
    QCOMPARE(sink.items.size(), rs.size() + chunks.size() + 3);
    for (std::size_t i = 0; i < 9; ++i) QVERIFY(sink.items[i].record == rs[i]);
    for (std::size_t i = 0; i < chunks.size(); ++i) {
      const Item& it = sink.items[9 + i];
      QVERIFY(!it.record);
      QCOMPARE(it.token, std::uint64_t{2});
      QVERIFY2(same_chunk(it.chunk, chunks[i]), std::to_string(i).c_str());
    }
    std::vector<std::byte> joined;
    std::uint64_t expect_offset = long_chunk.offset;
    for (std::size_t i = sink.items.size() - 3; i < sink.items.size(); ++i) {
      const Item& it = sink.items[i];
      QVERIFY(!it.record);
      QCOMPARE(it.token, std::uint64_t{5});
      QCOMPARE(it.chunk.offset, expect_offset);
      expect_offset += it.chunk.bytes.size();
      joined.insert(joined.end(), it.chunk.bytes.begin(), it.chunk.bytes.end());
    }
    QVERIFY(joined == big);

    // load_recording keeps them by token.
    RecordStore store;
    auto loaded = load_recording(file.path, store);
    QVERIFY2(loaded, loaded ? "" : loaded.error().message().c_str());
    QCOMPARE(store_records(store), rs);
    QCOMPARE(loaded->payload.at(2).size(), chunks.size());
    for (std::size_t i = 0; i < chunks.size(); ++i) QVERIFY(same_chunk(loaded->payload.at(2)[i], chunks[i]));
    QCOMPARE(loaded->payload.at(5).size(), std::size_t{3});
    QCOMPARE(loaded->payload_bytes_cut, std::uint64_t{0});

    // Written again from what was read, in the order it was read: the same bytes.
    {
      RecordingWriterOptions o = overwriting();
      o.payload = true;
      o.started = info->started;
      o.note_text = [&](std::uint64_t id) -> std::optional<std::string> { return info->notes.at(id); };
      o.addresses = [&](std::uint64_t token) -> std::optional<SourceAddresses> {
        if (auto it = info->sources.find(token); it != info->sources.end()) return it->second;
        return std::nullopt;
      };
      auto w = RecordingWriter::create(again.path, std::move(o));
      QVERIFY_OK(w);
      for (const Item& it : sink.items) {
        if (it.record) QVERIFY_OK(w->write(*it.record));
        else QVERIFY_OK(w->write_payload(it.token, it.chunk));
      }
      QVERIFY_OK(w->close());
    }
    QVERIFY(read_all(again.path) == text);
  }

  // load_recording keeps at most max_payload_bytes of payload: the oldest chunks, of any
  // source, are dropped and counted.
  void payload_bound_on_load() {
    Unlink file(temp_path("payload-bound.jsonl"));
    {
      RecordingWriterOptions o = overwriting();
      o.payload = true;
      auto w = RecordingWriter::create(file.path, std::move(o));
      QVERIFY_OK(w);
      for (std::uint64_t i = 0; i < 10; ++i)
        QVERIFY_OK(w->write_payload(1 + i % 2, chunk(i * 100, i, Direction::in, std::vector<std::byte>(100))));
      QVERIFY_OK(w->close());
    }
    RecordStore store;
    RecordingLimits limits;
    limits.max_payload_bytes = 350;
    auto loaded = load_recording(file.path, store, limits);
    QVERIFY2(loaded, loaded ? "" : loaded.error().message().c_str());
    QCOMPARE(loaded->payload_lines, std::uint64_t{10});
    QCOMPARE(loaded->payload_bytes_cut, std::uint64_t{700});
    QCOMPARE(loaded->payload_chunks_cut, std::uint64_t{7});
    // Chunks 7 (token 2), 8 (token 1), 9 (token 2) are the newest three.
    QCOMPARE(loaded->payload.at(1).size(), std::size_t{1});
    QCOMPARE(loaded->payload.at(1).front().offset, std::uint64_t{800});
    QCOMPARE(loaded->payload.at(2).size(), std::size_t{2});
    QCOMPARE(loaded->payload.at(2).front().offset, std::uint64_t{700});
  }

  // Version rules: a writer without payload writes version 1, byte for byte as before; a
  // version-2 header without payload lines reads; write_payload into a version-1 file is
  // refused and writes nothing.
  void versions() {
    Unlink v1(temp_path("v1.jsonl"));
    Unlink v2(temp_path("v2.jsonl"));
    const auto rs = every_kind();
    for (const bool payload : {false, true}) {
      RecordingWriterOptions o = overwriting();
      o.payload = payload;
      o.started = "2026-01-01T00:00:00Z";
      auto w = RecordingWriter::create(payload ? v2.path : v1.path, std::move(o));
      QVERIFY_OK(w);
      QVERIFY_OK(w->write(rs));
      if (!payload) {
        const auto refused = w->write_payload(2, chunk(0, 1, Direction::in, byte_vector("x")));
        QVERIFY(!refused);
        QCOMPARE(refused.error().value(), EINVAL);
      }
      QVERIFY_OK(w->close());
    }
    const std::string t1 = read_all(v1.path);
    const std::string t2 = read_all(v2.path);
    QVERIFY(t1.starts_with(kHeader.substr(0, kHeader.find("\"started\""))));
    QVERIFY(t1.find("payload") == std::string::npos);
    // The same lines but the version.
    std::string t2_as_1 = t2;
    t2_as_1.replace(t2_as_1.find("\"version\":2"), 11, "\"version\":1");
    QCOMPARE(t2_as_1, t1);
    for (const std::string* path : {&v1.path, &v2.path}) {
      RecordStore store;
      auto loaded = load_recording(*path, store);
      QVERIFY2(loaded, loaded ? "" : loaded.error().message().c_str());
      QCOMPARE(loaded->version, path == &v1.path ? 1 : 2);
      QCOMPARE(store_records(store), rs);
      QCOMPARE(loaded->payload_lines, std::uint64_t{0});
    }
  }

  // read_recording's progress: the file's size, the bytes consumed and the records handed
  // over; the sink gets every record, in batches of at most kBatch.
  void progress_counts_the_whole_file() {
    Unlink file(temp_path("progress.jsonl"));
    constexpr std::size_t kRecords = 3 * RecordingSink::kBatch + 17;
    write_readiness_file(file.path, kRecords, /*end_with_stats=*/true);
    RecordingProgress progress;
    OrderSink sink;
    auto info = read_recording(file.path, sink, {}, &progress);
    QVERIFY2(info, info ? "" : info.error().message().c_str());
    const std::uint64_t size = read_all(file.path).size();
    QCOMPARE(progress.bytes_total.load(), size);
    QCOMPARE(progress.bytes_read.load(), size);
    QCOMPARE(progress.records.load(), std::uint64_t{kRecords + 1});
    QCOMPARE(sink.items.size(), kRecords + 1);
    QVERIFY(sink.batches >= 4);
    QVERIFY(info->ended_with_stats);
  }

  // A file whose last line is not stats (the recorder was killed) reads, and says so.
  void ended_with_stats_false_without_final_stats() {
    Unlink file(temp_path("no-stats.jsonl"));
    write_readiness_file(file.path, 10, /*end_with_stats=*/false);
    OrderSink sink;
    auto info = read_recording(file.path, sink);
    QVERIFY2(info, info ? "" : info.error().message().c_str());
    QCOMPARE(info->records, std::uint64_t{10});
    QVERIFY(!info->ended_with_stats);
  }

  // Cancel, set by the sink at its first batch, stops the read at the end of the window it
  // is in (8 MiB): a file of several windows is not read to its end, and the error says it
  // was cancelled.
  void cancel_stops_the_read() {
    Unlink file(temp_path("cancel.jsonl"));
    // Long note lines: about 12 MB, two windows, in few records (fast even under ASan).
    constexpr std::size_t kRecords = 1500;
    {
      std::string text = kHeader + "\n";
      const std::string note = "{\"type\":\"note\",\"t_ns\":1,\"id\":1,\"text\":\"" + std::string(8000, 'n') + "\"}\n";
      for (std::size_t i = 0; i < kRecords; ++i) text += note;
      write_file(file.path, text);
    }
    RecordingProgress progress;
    class CancellingSink final : public RecordingSink {
     public:
      explicit CancellingSink(RecordingProgress& p) : p_(p) {}
      void on_records(std::span<const Record> batch) override {
        records += batch.size();
        p_.cancel.store(true);
      }
      std::uint64_t records = 0;

     private:
      RecordingProgress& p_;
    } sink(progress);
    auto info = read_recording(file.path, sink, {}, &progress);
    QVERIFY(!info);
    QVERIFY(info.error().cancelled);
    QCOMPARE(info.error().what, std::string("cancelled"));
    QVERIFY(sink.records > 0);
    QVERIFY2(sink.records < kRecords, std::to_string(sink.records).c_str());
    QCOMPARE(progress.records.load(), sink.records);
    QVERIFY(progress.bytes_read.load() < progress.bytes_total.load());
  }

 private:
  static void write_readiness_file(const std::string& path, std::size_t n, bool end_with_stats) {
    RecordingWriterOptions o = overwriting();
    auto w = RecordingWriter::create(path, std::move(o));
    QVERIFY_OK(w);
    std::vector<Record> rs(n, make(RecordKind::readiness, 1, 2, 8));
    for (std::size_t i = 0; i < n; ++i) {
      rs[i].t_ns = i;
      rs[i].bits = EPOLLIN;
    }
    QVERIFY_OK(w->write(rs));
    if (end_with_stats) {
      Record stats = make(RecordKind::stats, n);
      stats.value = n;
      QVERIFY_OK(w->write(stats));
    }
    QVERIFY_OK(w->close());
  }

  static std::uint64_t lt_token(const std::vector<Record>& rs) {
    for (const Record& r : rs)
      if (r.kind == RecordKind::source_added) return r.token;
    return 0;
  }
};

QTEST_GUILESS_MAIN(TestRecording)
#include "tst_recording.moc"
