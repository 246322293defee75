// libFuzzer target for ready::capture::load_recording. The input is the content of a
// recording file (so a crash input reproduces with any reader of files). It is put in a
// memfd and read through /proc/self/fd/N, the way load_recording reads any file: the
// windowed stream and its one-line reads run exactly as on disk.
//
// Beyond "no crash", it checks the contract of recording.h and docs/recording-format.md:
// - failure: the store is unchanged; the message is one line naming the file (and the
//   line, if any, which exists in the input);
// - success: one record or payload line per line after the header; the store holds the
//   records, time-ordered,
//   with in-range kinds and names; limits that fit the file exactly are accepted, one
//   byte less is refused at the right line;
// - success: with an empty line appended, the error is on that line, not an earlier one
//   (every line before it was accepted, read in the stream or alone);
// - success: writing the records and payload chunks back with RecordingWriter, in the order
//   read_recording handed them over, and reading that file gives the same records, payload
//   chunks (split at RecordingWriter::kPayloadLineBytes), notes, sources, header time and
//   version.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "ready/capture/record.h"
#include "ready/capture/recording.h"
#include "ready/capture/store.h"

using namespace ready::capture;

const char* const fuzz::kTarget = "fuzz_recording";

namespace {

using fuzz::fail;

// One memfd reused for every input: its content is replaced each time.
class MemFile {
 public:
  MemFile() : fd_(::memfd_create("fuzz-recording", MFD_CLOEXEC)) {
    if (fd_ < 0) fail("memfd_create");
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  void set(std::string_view data) const {
    if (::ftruncate(fd_, 0) != 0) fail("ftruncate");
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(done));
      if (n <= 0) fail("pwrite");
      done += static_cast<std::size_t>(n);
    }
  }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  int fd_;
  std::string path_;
};

// The round trip's output: RecordingWriter opens with O_NOFOLLOW, so it needs a real path,
// not a /proc/self/fd link. One private directory per process, removed at a normal exit
// (libFuzzer exits normally when its time is up; after a crash it stays in $TMPDIR).
class TempDir {
 public:
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    dir_ = std::string(tmp && *tmp ? tmp : "/tmp") + "/fuzz-recording.XXXXXX";
    if (!::mkdtemp(dir_.data())) fail("mkdtemp");
    file_ = dir_ + "/out.jsonl";
  }
  ~TempDir() {
    ::unlink(file_.c_str());
    ::rmdir(dir_.c_str());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::string& file() const { return file_; }

 private:
  std::string dir_, file_;
};

const std::string& writer_path() {
  static const TempDir dir;
  return dir.file();
}

// The input's lines as the reader counts them: split at '\n'; a final '\n' ends the last
// line instead of starting an empty one.
struct LineStats {
  std::uint64_t lines = 0;
  std::size_t longest = 0;
  std::uint64_t first_longest = 0;  // 1-based
};
LineStats line_stats(std::string_view data) {
  LineStats s;
  std::size_t p = 0;
  while (p < data.size()) {
    const std::size_t nl = data.find('\n', p);
    const std::size_t end = nl == std::string_view::npos ? data.size() : nl;
    ++s.lines;
    if (s.first_longest == 0 || end - p > s.longest) {
      s.longest = end - p;
      s.first_longest = s.lines;
    }
    p = end + 1;
  }
  return s;
}

const Record kSentinel = [] {
  Record r;
  r.kind = RecordKind::note;
  r.t_ns = 7;
  r.value = 42;
  return r;
}();

// Small chunks so that the store's chunking is exercised; enough records for any input
// that the round trip below sees every record (checked: evicted() == 0).
constexpr StoreLimits kStoreLimits{.chunk_records = 8, .max_records = 1024};

RecordStore sentinel_store() {
  RecordStore s(kStoreLimits);
  s.append(kSentinel);
  return s;
}

void check_unchanged(const RecordStore& s, const std::string& msg) {
  CHECK(s.size() == 1 && s.end_index() == 1 && s.evicted() == 0, msg);
  CHECK(s.at(0) == kSentinel, msg);
  CHECK(s.limits().chunk_records == kStoreLimits.chunk_records &&
            s.limits().max_records == kStoreLimits.max_records,
        msg);
}

void check_error(const RecordingError& e, const std::string& path, const LineStats& ls) {
  const std::string msg = e.message();
  CHECK(msg.find('\n') == std::string::npos, msg);
  CHECK(e.path == path, msg);
  CHECK(!e.what.empty(), msg);
  const std::string prefix = e.line == 0 ? path + ": " : path + ":" + std::to_string(e.line) + ": ";
  CHECK(msg.starts_with(prefix), msg);
  // An empty file is reported on line 1 (where the header should be).
  CHECK(e.line <= std::max<std::uint64_t>(ls.lines, 1), msg + " (input has " + std::to_string(ls.lines) + " lines)");
}

std::vector<Record> records_of(const RecordStore& s) {
  std::vector<Record> out;
  for (std::uint64_t i = s.begin_index(); i < s.end_index(); ++i) out.push_back(s.at(i));
  return out;
}

void check_record(const Record& r) {
  const auto kind = static_cast<unsigned>(r.kind);
  CHECK(kind < ready::enum_count<RecordKind>);
  switch (r.kind) {
    case RecordKind::action:
      CHECK(r.op < ready::enum_count<Op>);
      CHECK(static_cast<unsigned>(r.outcome) <= static_cast<unsigned>(Outcome::error));
      CHECK(r.outcome != Outcome::error || r.err != 0);
      break;
    case RecordKind::source_added:
    case RecordKind::source_changed:
    case RecordKind::source_removed:
      CHECK(r.op < ready::enum_count<SourceKind>);
      CHECK((r.bits & ~0xffffffu) == 0);
      CHECK((r.bits & 0xff & ~(1u | 2u | 16u)) == 0);  // readable, writable, priority
      CHECK(((r.bits >> 8) & 0xff) < 3);               // edge, level, oneshot
      CHECK(((r.bits >> 16) & 0xff) < 6);              // none ... auto_accept
      break;
    case RecordKind::warning:
      CHECK(r.op < ready::enum_count<WarningKind>);
      break;
    case RecordKind::stats:
      CHECK(r.value2 <= r.value);
      break;
    default:
      break;
  }
  if (RecordStore::is_indexed_by_token(r.kind)) CHECK(r.fd >= -1);
}

/// What read_recording hands over, in order.
class OrderSink final : public RecordingSink {
 public:
  struct Item {
    std::optional<Record> record;
    std::uint64_t token = 0;
    PayloadChunk chunk;
  };
  void on_records(std::span<const Record> batch) override {
    for (const Record& r : batch) items.push_back({r, 0, {}});
  }
  void on_payload(std::uint64_t token, const PayloadChunk& chunk) override {
    items.push_back({std::nullopt, token, chunk});
  }
  [[nodiscard]] std::vector<Record> records() const {
    std::vector<Record> out;
    for (const Item& i : items)
      if (i.record) out.push_back(*i.record);
    return out;
  }
  std::vector<Item> items;
};

/// Per token, (offset, direction, t_ns, peer text, byte) for every payload byte, in order:
/// independent of how the bytes were split into lines.
using PayloadByte = std::tuple<std::uint64_t, int, std::uint64_t, std::string, std::byte>;
std::map<std::uint64_t, std::vector<PayloadByte>> flatten_payload(const OrderSink& s) {
  std::map<std::uint64_t, std::vector<PayloadByte>> out;
  for (const OrderSink::Item& i : s.items) {
    if (i.record) continue;
    const std::string peer = i.chunk.peer ? i.chunk.peer->to_string()
                             : i.chunk.unix_peer ? i.chunk.unix_peer->to_string()
                                                 : std::string();
    for (std::size_t k = 0; k < i.chunk.bytes.size(); ++k)
      out[i.token].emplace_back(i.chunk.offset + k, static_cast<int>(i.chunk.direction), i.chunk.t_ns, peer,
                                i.chunk.bytes[k]);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  static const MemFile file;
  const std::string_view data(reinterpret_cast<const char*>(bytes), size);
  const std::string& path = file.path();
  const LineStats ls = line_stats(data);
  file.set(data);

  // Limits that fit the input exactly.
  const RecordingLimits exact{.max_file_bytes = size, .max_line_bytes = ls.longest};
  RecordStore store = sentinel_store();
  auto loaded = load_recording(path, store, exact);
  if (!loaded) {
    check_error(loaded.error(), path, ls);
    check_unchanged(store, loaded.error().message());
    return 0;
  }
  const RecordingInfo& info = *loaded;
  CHECK(ls.lines >= 1);
  CHECK(info.records + info.payload_lines == ls.lines - 1,
        std::to_string(info.records) + " records and " + std::to_string(info.payload_lines) + " payload lines from " +
            std::to_string(ls.lines) + " lines");
  CHECK(info.payload_lines == 0 || info.version >= kRecordingPayloadVersion);
  CHECK(info.recorder_lines <= info.records);
  {
    std::uint64_t chunks = info.payload_chunks_cut;
    for (const auto& [token, list] : info.payload) chunks += list.size();
    CHECK(chunks == info.payload_lines, "payload chunks kept + cut != payload lines");
  }
  CHECK(store.end_index() == info.records);
  CHECK(store.begin_index() == store.evicted());
  CHECK(store.size() <= kStoreLimits.max_records);
  CHECK(store.limits().chunk_records == kStoreLimits.chunk_records &&
        store.limits().max_records == kStoreLimits.max_records);
  std::uint64_t last_t = 0;
  for (std::uint64_t i = store.begin_index(); i < store.end_index(); ++i) {
    const Record r = store.at(i);
    CHECK(r.t_ns >= last_t, "times go backwards at index " + std::to_string(i));
    last_t = r.t_ns;
    check_record(r);
  }

  // One byte less of either limit is refused, at the right place, and changes nothing.
  if (ls.longest > 0) {
    RecordStore s = sentinel_store();
    auto r = load_recording(path, s, RecordingLimits{.max_file_bytes = size, .max_line_bytes = ls.longest - 1});
    CHECK(!r, "a line longer than max_line_bytes was accepted");
    check_error(r.error(), path, ls);
    CHECK(r.error().line == ls.first_longest, r.error().message());
    CHECK(r.error().what.find("longer than the limit") != std::string::npos, r.error().message());
    check_unchanged(s, r.error().message());
  }
  {
    RecordStore s = sentinel_store();
    auto r = load_recording(path, s, RecordingLimits{.max_file_bytes = size - 1, .max_line_bytes = ls.longest});
    CHECK(!r, "a file larger than max_file_bytes was accepted");
    check_error(r.error(), path, ls);
    CHECK(r.error().line == 0, r.error().message());
    check_unchanged(s, r.error().message());
  }

  // With an empty line appended (which the stream does not take, so it is read alone), the
  // first error is on that line: every earlier line was accepted.
  {
    std::string more(data);
    more += data.ends_with('\n') ? "\n" : "\n\n";
    file.set(more);
    RecordStore s = sentinel_store();
    auto r = load_recording(path, s);
    CHECK(!r, "an empty line was accepted");
    CHECK(r.error().line == ls.lines + 1, r.error().message());
    CHECK(r.error().what.starts_with("empty line"), r.error().message());
    check_unchanged(s, r.error().message());
  }

  // Round trip through the writer, records and payload in the order they were read.
  if (store.evicted() == 0) {
    file.set(data);
    OrderSink order;
    auto streamed = read_recording(path, order, exact);
    CHECK(streamed, "read_recording refused what load_recording accepted");
    {
      // The store clamps a time that goes backwards; read_recording hands the lines as they are.
      std::vector<Record> streamed_records = order.records();
      std::uint64_t t = 0;
      for (Record& r : streamed_records) r.t_ns = t = std::max(t, r.t_ns);
      CHECK(streamed_records == records_of(store), "read_recording and load_recording disagree");
    }
    const std::vector<Record> records = records_of(store);
    RecordingWriterOptions options;
    options.overwrite = true;
    options.started = info.started;
    options.note_text = [&info](std::uint64_t id) -> std::optional<std::string> {
      if (auto it = info.notes.find(id); it != info.notes.end()) return it->second;
      return std::nullopt;
    };
    options.addresses = [&info](std::uint64_t token) -> std::optional<SourceAddresses> {
      if (auto it = info.sources.find(token); it != info.sources.end()) return it->second;
      return std::nullopt;
    };
    options.peer_text = [&info](std::uint64_t id) -> std::optional<std::string> {
      if (auto it = info.peers.find(id); it != info.peers.end()) return it->second;
      return std::nullopt;
    };
    options.payload = info.version >= kRecordingPayloadVersion;
    options.queue = info.version >= kRecordingQueueVersion;  // a queue line read needs version 3
    auto w = RecordingWriter::create(writer_path(), std::move(options));
    if (!w) fail("RecordingWriter::create", w.error().message());
    for (const OrderSink::Item& item : order.items) {
      if (item.record) {
        if (auto ok = w->write(*item.record); !ok) fail("RecordingWriter::write", ok.error().message());
      } else if (auto ok = w->write_payload(item.token, item.chunk); !ok) {
        fail("RecordingWriter::write_payload", ok.error().message());
      }
    }
    if (auto ok = w->close(); !ok) fail("RecordingWriter::close", ok.error().message());

    RecordStore again(kStoreLimits);
    auto back = load_recording(writer_path(), again);
    CHECK(back, "the writer's output is refused: " + back.error().message());
    CHECK(back->version == info.version);
    {
      // The same payload bytes per token, in order and at the same offsets (a chunk longer
      // than one line comes back in pieces).
      OrderSink back_order;
      auto again_streamed = read_recording(writer_path(), back_order);
      CHECK(again_streamed, "read_recording refused the writer's output");
      CHECK(flatten_payload(back_order) == flatten_payload(order), "the payload differs after the round trip");
    }
    const std::vector<Record> records_back = records_of(again);
    for (std::size_t i = 0; i < std::min(records.size(), records_back.size()); ++i) {
      const Record& a = records[i];
      const Record& b = records_back[i];
      CHECK(a == b, "record " + std::to_string(i) + " (line " + std::to_string(i + 2) +
                        ") differs after the round trip: kind " + std::to_string(static_cast<int>(a.kind)) +
                        " op " + std::to_string(a.op) + "/" + std::to_string(b.op) + " token " +
                        std::to_string(a.token) + "/" + std::to_string(b.token) + " fd " + std::to_string(a.fd) +
                        "/" + std::to_string(b.fd) + " err " + std::to_string(a.err) + "/" +
                        std::to_string(b.err) + " bits " + std::to_string(a.bits) + "/" +
                        std::to_string(b.bits) + " value " + std::to_string(a.value) + "/" +
                        std::to_string(b.value) + " value2 " + std::to_string(a.value2) + "/" +
                        std::to_string(b.value2));
    }
    CHECK(records_back.size() == records.size());
    CHECK(back->records == info.records);
    CHECK(back->notes == info.notes);
    if (!info.started.empty()) CHECK(back->started == info.started);
    for (const auto& [token, addresses] : info.sources) {
      auto it = back->sources.find(token);
      CHECK(it != back->sources.end() && it->second.local == addresses.local && it->second.peer == addresses.peer,
            "the addresses of token " + std::to_string(token) + " differ after the round trip");
    }
  }
  return 0;
}
