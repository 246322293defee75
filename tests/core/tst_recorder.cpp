// Recorder: a capture written to one file or a ring of files (rotation, stop after N records,
// payload with its bounds), every file read back with read_recording / load_recording.
#include <dirent.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "peer.h"
#include "ready/capture/engine.h"
#include "ready/capture/recorder.h"
#include "ready/capture/recording.h"
#include "ready/capture/store.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;
using namespace std::chrono_literals;

#define QVERIFY_REC(result)                                                       \
  do {                                                                            \
    const auto& rec_r_ = (result);                                                \
    QVERIFY2(rec_r_.has_value(), rec_r_ ? "" : rec_r_.error().message().c_str()); \
  } while (false)

namespace {

/// A private directory for one test's files, removed with them.
class Dir {
 public:
  Dir() : path(temp_path("recorder")) { ::mkdir(path.c_str(), 0700); }
  ~Dir() {
    for (const std::string& f : files()) ::unlink((path + "/" + f).c_str());
    ::rmdir(path.c_str());
  }
  Dir(const Dir&) = delete;
  Dir& operator=(const Dir&) = delete;
  [[nodiscard]] std::vector<std::string> files() const {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(path.c_str())) {
      while (const dirent* e = ::readdir(d))
        if (e->d_name[0] != '.') out.emplace_back(e->d_name);
      ::closedir(d);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string path;
};

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

Record source_added(std::uint64_t t, std::uint64_t token, int fd) {
  Record r;
  r.kind = RecordKind::source_added;
  r.t_ns = t;
  r.token = token;
  r.fd = fd;
  r.op = static_cast<std::uint8_t>(SourceKind::tcp_stream);
  r.bits = 1 | (std::uint32_t{static_cast<std::uint8_t>(Reaction::echo)} << 16);
  r.value2 = token;  // the command
  return r;
}

/// A synthetic capture: two sources, then `n` readiness/action pairs, then one source removed.
std::vector<Record> synthetic_capture(std::size_t n) {
  std::vector<Record> rs;
  rs.push_back(source_added(1, 1, 7));
  rs.push_back(source_added(2, 2, 8));
  Record changed = source_added(3, 2, 8);
  changed.kind = RecordKind::source_changed;
  changed.value = 512;
  rs.push_back(changed);
  for (std::size_t i = 0; i < n; ++i) {
    Record r;
    r.kind = RecordKind::readiness;
    r.t_ns = 10 + 2 * i;
    r.token = 1 + i % 2;
    r.fd = 7 + static_cast<int>(i % 2);
    r.bits = EPOLLIN;
    rs.push_back(r);
    Record a = r;
    a.kind = RecordKind::action;
    a.bits = 0;
    a.t_ns += 1;
    a.op = static_cast<std::uint8_t>(Op::drain);
    a.outcome = Outcome::would_block;
    rs.push_back(a);
  }
  Record removed = source_added(10 + 2 * n, 1, 7);
  removed.kind = RecordKind::source_removed;
  removed.value = removed.value2 = 0;
  rs.push_back(removed);
  return rs;
}

/// What a closed file held, read back in on_file_closed (before the ring may delete it).
struct ClosedFile {
  std::string path;
  std::uint64_t records = 0;  // as on_file_closed said
  std::uint64_t size = 0;
  std::size_t last_line = 0;  // bytes of its last line, with the newline
  std::string first_lines;    // the lines before its first engine record
  std::expected<RecordingInfo, RecordingError> info = std::unexpected(RecordingError{});
  std::vector<Record> records_read;
  std::vector<bool> by_recorder;  // per record line
};

ClosedFile read_closed(const std::string& path, std::uint64_t records) {
  ClosedFile f;
  f.path = path;
  f.records = records;
  f.size = file_size(path);
  const auto ls = lines_of(path);
  f.last_line = ls.empty() ? 0 : ls.back().size() + 1;
  for (std::size_t i = 1; i < ls.size(); ++i) {
    if (ls[i].find("\"type\":\"payload\"") != std::string::npos) continue;
    f.by_recorder.push_back(ls[i].find("\"recorder\":true") != std::string::npos);
    if (!f.by_recorder.back() && f.first_lines.empty()) {
      for (std::size_t k = 1; k < i; ++k) f.first_lines += ls[k] + "\n";
    }
  }
  RecordStore store;
  f.info = load_recording(path, store);
  for (std::uint64_t i = store.begin_index(); i < store.end_index(); ++i)
    f.records_read.push_back(store.at(i));
  return f;
}

}  // namespace

class TestRecorder : public CoreTest {
  Q_OBJECT
 private slots:
  // A ring of 64 KiB files, at most 3 kept: more files are written, the oldest are deleted,
  // each file is a complete recording within the bound (plus its final stats line), the
  // names count up, and the engine's records of all files are the records written, in order.
  void rotation_keeps_a_ring_of_complete_files() {
    Dir dir;
    const auto rs = synthetic_capture(4000);  // about 8000 lines of about 80 bytes: 10 files of 64 KiB
    std::vector<ClosedFile> closed;
    bool forget_token_2 = false;
    RecorderOptions o;
    o.path = dir.path + "/cap.jsonl";
    o.max_file_bytes = Recorder::kMinFileBytes;
    o.max_files = 3;
    o.addresses = [&](std::uint64_t token) -> std::optional<SourceAddresses> {
      if (token == 2 && forget_token_2) return std::nullopt;  // as the engine forgets a closed source
      return SourceAddresses{"127.0.0.1:7000", token == 2 ? "127.0.0.1:5" + std::to_string(token) : ""};
    };
    o.counts = [&] { return std::pair<std::uint64_t, std::uint64_t>{rs.size() + 5, 5}; };
    o.on_file_closed = [&](const std::string& path, std::uint64_t records) {
      closed.push_back(read_closed(path, records));
    };
    auto rec = Recorder::create(std::move(o));
    QVERIFY_REC(rec);
    // In batches, as a drain hands them over.
    for (std::size_t at = 0; at < rs.size(); at += 1000) {
      if (at > 0) forget_token_2 = true;
      QVERIFY_REC(
          rec->write(std::span<const Record>(rs).subspan(at, std::min<std::size_t>(1000, rs.size() - at))));
    }
    QVERIFY_REC(rec->close());
    QVERIFY_REC(rec->close());  // idempotent
    QVERIFY(!rec->write(std::span<const Record>(rs).first(1)));

    const RecorderCounts& c = rec->counts();
    QCOMPARE(c.records, std::uint64_t{rs.size()});
    QCOMPARE(c.files_written, std::uint64_t{closed.size()});
    QVERIFY2(closed.size() >= 5, std::to_string(closed.size()).c_str());
    QCOMPARE(c.files_deleted, std::uint64_t{closed.size() - 3});

    // The three newest are left, named NAME_NNNNN_YYYYMMDDhhmmss.jsonl, numbered on.
    const auto left = dir.files();
    QCOMPARE(left.size(), std::size_t{3});
    const std::regex name(R"(cap_(\d{5})_(\d{14})\.jsonl)");
    for (std::size_t i = 0; i < closed.size(); ++i) {
      const std::string base = closed[i].path.substr(dir.path.size() + 1);
      std::smatch m;
      QVERIFY2(std::regex_match(base, m, name), base.c_str());
      QCOMPARE(std::stoul(m[1].str()), i + 1);
      const bool kept = i + 3 >= closed.size();
      QCOMPARE(std::find(left.begin(), left.end(), base) != left.end(), kept);
    }

    std::vector<Record> engine_records;
    std::uint64_t recorder_lines = 0;
    for (std::size_t i = 0; i < closed.size(); ++i) {
      const ClosedFile& f = closed[i];
      QVERIFY2(f.info, f.info ? "" : f.info.error().message().c_str());
      QVERIFY2(f.info->ended_with_stats, f.path.c_str());
      QCOMPARE(f.info->records, f.records);
      // Within the bound, but the stats line that ends it.
      QVERIFY2(f.size - f.last_line <= Recorder::kMinFileBytes,
               (f.path + " " + std::to_string(f.size)).c_str());
      // Not much below it either: the next line did not fit.
      if (i + 1 < closed.size()) QVERIFY(f.size > Recorder::kMinFileBytes - 200);
      QCOMPARE(f.by_recorder.size(), f.records_read.size());
      std::uint64_t marked = 0;
      for (std::size_t k = 0; k < f.records_read.size(); ++k) {
        if (f.by_recorder[k])
          ++marked;
        else
          engine_records.push_back(f.records_read[k]);
      }
      QCOMPARE(f.info->recorder_lines, marked);
      recorder_lines += marked;
      if (i > 0) {
        // Opens with the sources still open: token 1 added, token 2 added and changed (until
        // token 1 is removed in the last file), with the addresses the lookup gave before it
        // forgot token 2.
        QVERIFY2(
            f.first_lines.find(
                R"("event":"added","token":2,"fd":8,"kind":"tcp_stream","local":"127.0.0.1:7000","peer":"127.0.0.1:52")") !=
                std::string::npos,
            f.first_lines.c_str());
        QVERIFY(f.first_lines.find(R"("event":"changed","token":2)") != std::string::npos);
        QVERIFY(f.first_lines.find(R"("event":"added","token":1)") != std::string::npos);
        QVERIFY(f.first_lines.find(R"("read_n":512)") != std::string::npos);
        QVERIFY(f.first_lines.find(R"("produced")") == std::string::npos);
      }
    }
    QCOMPARE(recorder_lines, c.recorder_lines);
    // Nothing lost between files, nothing twice.
    QCOMPARE(engine_records.size(), rs.size());
    QVERIFY(engine_records == rs);
  }

  // stop_after_records: the first N records are written, the rest counted; the file still ends
  // with a stats line (the recorder's, with the counts it was given).
  void stop_after_records() {
    Dir dir;
    const auto rs = synthetic_capture(50);
    std::vector<ClosedFile> closed;
    RecorderOptions o;
    o.path = dir.path + "/stop.jsonl";
    o.stop_after_records = 30;
    o.on_file_closed = [&](const std::string& path, std::uint64_t records) {
      closed.push_back(read_closed(path, records));
    };
    auto rec = Recorder::create(std::move(o));
    QVERIFY_REC(rec);
    QVERIFY_REC(rec->write(std::span<const Record>(rs).first(20)));
    QVERIFY(!rec->done());
    QVERIFY_REC(rec->write(std::span<const Record>(rs).subspan(20)));
    QVERIFY(rec->done());
    QVERIFY_REC(rec->close());
    QCOMPARE(rec->counts().records, std::uint64_t{30});
    QCOMPARE(rec->counts().records_after_stop, std::uint64_t{rs.size() - 30});
    QCOMPARE(closed.size(), std::size_t{1});
    QCOMPARE(closed[0].path, dir.path + "/stop.jsonl");
    QVERIFY2(closed[0].info, closed[0].info ? "" : closed[0].info.error().message().c_str());
    QCOMPARE(closed[0].info->records, std::uint64_t{31});
    QCOMPARE(closed[0].info->recorder_lines, std::uint64_t{1});
    QVERIFY(closed[0].info->ended_with_stats);
    QVERIFY(std::equal(rs.begin(), rs.begin() + 30, closed[0].records_read.begin()));
    const Record& stats = closed[0].records_read.back();
    QCOMPARE(stats.kind, RecordKind::stats);
    QCOMPARE(stats.value, std::uint64_t{rs.size()});  // no counts lookup: the records it was given
    QCOMPARE(stats.value2, std::uint64_t{0});
  }

  // Bad options are refused with one line before any file is made; an existing file is not
  // replaced without overwrite.
  void bad_options_refused() {
    Dir dir;
    const auto refused = [&](RecorderOptions o, const std::string& expect) {
      o.path = dir.path + "/bad.jsonl";
      auto rec = Recorder::create(std::move(o));
      if (rec) return std::string("accepted");
      const std::string msg = rec.error().message();
      if (msg.find(expect) == std::string::npos || msg.find('\n') != std::string::npos)
        return "message: " + msg;
      if (!dir.files().empty()) return std::string("a file was made");
      return std::string();
    };
    RecorderOptions files_only;
    files_only.max_files = 3;
    QCOMPARE(refused(files_only, "max_files without max_file_bytes"), std::string());
    RecorderOptions tiny;
    tiny.max_file_bytes = 1000;
    QCOMPARE(refused(tiny, "below the minimum of 65536"), std::string());
    RecorderOptions no_fetch;
    no_fetch.payload = true;
    QCOMPARE(refused(no_fetch, "payload_fetch"), std::string());

    const std::string path = dir.path + "/exists.jsonl";
    std::ofstream(path) << "keep\n";
    RecorderOptions o;
    o.path = path;
    auto rec = Recorder::create(o);
    QVERIFY(!rec);
    QCOMPARE(rec.error().code.value(), EEXIST);
    QVERIFY(rec.error().message().starts_with(path + ": "));
    QCOMPARE(lines_of(path), std::vector<std::string>{"keep"});
    o.overwrite = true;
    auto again = Recorder::create(o);
    QVERIFY_REC(again);
    QVERIFY_REC(again->close());
  }

  // Payload of a real echo capture: the bytes a client sent and got back are in the file,
  // per direction, in order; for each source, bytes written + bytes cut = bytes it moved.
  void payload_of_a_real_capture() {
    const auto r = payload_capture(EngineConfig{}, std::uint64_t{16} << 20, 20, 4);
    QVERIFY2(r.error.empty(), r.error.c_str());
    QCOMPARE(r.in, r.sent);
    QCOMPARE(r.out, r.sent);
    QCOMPARE(r.counts.payload_bytes_cut, std::uint64_t{0});
    QCOMPARE(r.counts.payload_bytes, std::uint64_t{2 * r.sent.size()});
    QCOMPARE(r.warned, std::uint64_t{0});
  }

  // The recorder's own bound per source: 10 bytes written, the rest cut, counted, and said in
  // the file by payload_truncated warnings whose values add up to the bytes cut.
  void payload_cut_at_the_recorder_bound() {
    const auto r = payload_capture(EngineConfig{}, 10, 20, 4);
    QVERIFY2(r.error.empty(), r.error.c_str());
    QCOMPARE(r.in.size() + r.out.size(), std::size_t{10});
    QVERIFY(r.sent.starts_with(r.in));
    QCOMPARE(r.counts.payload_bytes, std::uint64_t{10});
    QCOMPARE(r.counts.payload_bytes_cut, std::uint64_t{2 * r.sent.size() - 10});
    QCOMPARE(r.warned, r.counts.payload_bytes_cut);
  }

  // Bytes the engine evicted before the recorder fetched them are cut too: a 4 KiB engine
  // buffer, 32 KiB echoed before the first fetch.
  void payload_evicted_by_the_engine_is_counted() {
    EngineConfig config;
    config.payload_bytes_per_source = 4096;
    const auto r = payload_capture(config, std::uint64_t{16} << 20, 1, 32 * 1024);
    QVERIFY2(r.error.empty(), r.error.c_str());
    QVERIFY(r.counts.payload_bytes_cut > 0);
    QCOMPARE(r.counts.payload_bytes + r.counts.payload_bytes_cut, std::uint64_t{2 * r.sent.size()});
    QCOMPARE(r.warned, r.counts.payload_bytes_cut);
    // What was kept is the end of the stream.
    QVERIFY(r.sent.ends_with(r.out));
  }

 private:
  struct PayloadRun;
  static PayloadRun failed(std::string why);
  struct PayloadRun {
    std::string error;
    std::string sent, in, out;  // the client's bytes; the stream's payload in the file, per direction
    RecorderCounts counts;
    std::uint64_t warned = 0;  // the values of the recorder's payload_truncated warnings
  };

  /// An echo listener, one client sending `messages` messages of `size` bytes and reading each
  /// back, recorded with payload through a Recorder (`bound` per source), then read back.
  static PayloadRun payload_capture(EngineConfig config, std::uint64_t bound, int messages,
                                    std::size_t size) {
    PayloadRun run;
    Dir dir;
    const std::string path = dir.path + "/payload.jsonl";
    auto started = Engine::start(config);
    if (!started) return failed("engine: " + started.error().message());
    Engine& eng = **started;
    RecorderOptions o;
    o.path = path;
    o.payload = true;
    o.payload_bytes_per_source = bound;
    o.payload_fetch = [&](std::uint64_t token, std::uint64_t since) {
      return eng.payload(Token(token), since);
    };
    o.counts = [&] { return std::pair{eng.produced(), eng.dropped()}; };
    auto rec = Recorder::create(std::move(o));
    if (!rec) return failed(rec.error().message());
    std::vector<Record> records;
    auto pump = [&]() -> std::string {
      (void)eng.notifier().begin_drain();
      std::array<Record, 256> buf{};
      while (const std::size_t n = eng.drain(buf)) {
        records.insert(records.end(), buf.begin(), buf.begin() + n);
        if (auto w = rec->write(std::span<const Record>(buf.data(), n)); !w) return w.error().message();
      }
      return {};
    };
    auto lt = eng.submit(cmd::TcpListen{any_local_address(), SourceOptions{.reaction = {Reaction::echo}}});
    if (!lt) return failed("listen: " + lt.error().message());
    std::optional<SourceInfo> info;
    for (Deadline d(kWaitLimit); !(info = eng.source_info(lt->token)) && !d.expired();)
      std::this_thread::sleep_for(1ms);
    if (!info) return failed("the listener never came up");
    auto client = plain_connect(*net::SocketAddr::parse(info->local));
    if (!client) return failed("connect: " + client.error().message());
    std::vector<std::byte> buf(size);
    for (int m = 0; m < messages; ++m) {
      std::string msg(size, static_cast<char>('a' + m % 26));
      msg.replace(0, std::min<std::size_t>(size, 3),
                  std::to_string(m % 1000).substr(0, std::min<std::size_t>(size, 3)));
      run.sent += msg;
      for (std::size_t done = 0; done < msg.size();) {
        auto n = plain_send(client->get(), bytes(std::string_view(msg).substr(done)));
        if (!n) return failed("send: " + n.error().message());
        done += *n;
      }
      for (std::size_t got = 0; got < msg.size();) {
        auto n = plain_recv(client->get(), std::span<std::byte>(buf).first(msg.size() - got));
        if (!n || *n == 0) return failed("recv failed");
        got += *n;
      }
      if (messages > 1) {
        if (auto e = pump(); !e.empty()) return failed(e);
      }
    }
    client->reset();
    const auto removed = [&] {
      return std::count_if(records.begin(), records.end(),
                           [](const Record& r) { return r.kind == RecordKind::source_removed; }) >= 1;
    };
    for (Deadline d; !removed() && !d.expired();) {
      (void)wait_readable(eng.notifier().as_raw_fd(), 100ms);
      if (auto e = pump(); !e.empty()) return failed(e);
    }
    if (!removed()) return failed("the client's close never reached the capture");
    eng.stop();
    if (auto e = pump(); !e.empty()) return failed(e);
    if (auto c = rec->close(); !c) return failed(c.error().message());
    run.counts = rec->counts();

    RecordStore store;
    auto loaded = load_recording(path, store);
    if (!loaded) return failed(loaded.error().message());
    if (loaded->version != 2) return failed("not a version-2 file");
    std::uint64_t stream = 0;
    for (const Record& r : records)
      if (r.kind == RecordKind::source_added && r.token != lt->token.value) stream = r.token;
    if (auto it = loaded->payload.find(stream); it != loaded->payload.end()) {
      for (const PayloadChunk& c : it->second) {
        std::string& to = c.direction == Direction::in ? run.in : run.out;
        for (const std::byte b : c.bytes) to += static_cast<char>(b);
      }
    }
    for (std::uint64_t i = store.begin_index(); i < store.end_index(); ++i) {
      const Record r = store.at(i);
      if (r.kind == RecordKind::warning && r.warning_kind() == WarningKind::payload_truncated &&
          r.token == stream)
        run.warned += r.value;
    }
    // The engine's own payload_truncated warning (first eviction) is in the file too: not
    // the recorder's; count only the recorder's lines.
    const auto ls = lines_of(path);
    std::uint64_t engine_warned = 0;
    for (const std::string& l : ls)
      if (l.find("\"payload_truncated\"") != std::string::npos &&
          l.find("\"recorder\":true") == std::string::npos) {
        const auto at = l.find("\"value\":");
        engine_warned += std::stoull(l.substr(at + 8));
      }
    run.warned -= engine_warned;
    return run;
  }
};

TestRecorder::PayloadRun TestRecorder::failed(std::string why) {
  PayloadRun r;
  r.error = std::move(why);
  return r;
}

QTEST_GUILESS_MAIN(TestRecorder)
#include "tst_recorder.moc"
