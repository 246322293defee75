// The Recorder: RecordingWriters one after the other, with the lines that make each file a
// complete recording (repeated sources at its start, a stats line at its end), and the
// payload fetched after each batch. Format and rules: docs/recording-format.md, "Recorder
// and rotation".
#include "ready/capture/recorder.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <deque>
#include <memory>
#include <vector>

#include "linux/os.h"
#include "ready/capture/command.h"
#include "ready/error.h"

namespace ready::capture {

std::string RecorderError::message() const { return path.empty() ? what : path + ": " + what; }

namespace {

constexpr std::uint64_t kNoLimit = UINT64_MAX;
// Fetches of one source's payload per batch at most: a source moving bytes faster than they
// are copied must not keep the recorder from returning.
constexpr int kMaxFetchesPerSource = 1024;

bool moves_payload(const Record& r) {
  if (r.kind != RecordKind::action || r.outcome != Outcome::ok || r.value == 0) return false;
  const Op op = r.action_op();
  return op == Op::read || op == Op::drain || op == Op::write || op == Op::fill;
}

/// `dir/NAME.ext` -> `dir/NAME_00001_YYYYMMDDhhmmss.ext` (local time `t`).
std::string ring_name(const std::string& path, std::uint64_t number, std::time_t t) {
  const std::size_t slash = path.rfind('/');
  const std::size_t dot = path.rfind('.');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash + 1);
  const std::string stem = has_ext ? path.substr(0, dot) : path;
  const std::string ext = has_ext ? path.substr(dot) : std::string();
  std::tm tm{};
  localtime_r(&t, &tm);
  char when[32];
  const std::size_t n = std::strftime(when, sizeof when, "%Y%m%d%H%M%S", &tm);
  char num[32];
  std::snprintf(num, sizeof num, "_%05llu_", static_cast<unsigned long long>(number));
  return stem + num + std::string(when, n) + ext;
}

}  // namespace

struct Recorder::State {
  RecorderOptions o;
  std::string started;  // the headers' "started": when the recorder was created (UTC)
  std::optional<RecordingWriter> w;
  std::string path;               // the file being written
  std::deque<std::string> files;  // this recorder's files still on disk, oldest first (a ring)
  std::uint64_t file_number = 0;
  std::uint64_t file_records = 0;  // record lines in the current file
  bool file_has_lines = false;     // a line besides the header and the repeated sources
  bool last_was_stats = false;
  std::uint64_t last_t = 0;
  std::uint64_t given = 0;  // records handed to write()
  RecorderCounts c;
  std::optional<RecorderError> failed;
  bool closed = false;

  // The sources open so far, to repeat at the start of a new file.
  struct Open {
    Record added;
    std::optional<Record> changed;
  };
  std::unordered_map<std::uint64_t, Open> open;
  std::unordered_map<std::uint64_t, SourceAddresses> addresses;  // last answer per token
  struct Pay {
    std::uint64_t next = 0;     // the stream offset fetched up to
    std::uint64_t written = 0;  // payload bytes written
    std::int32_t fd = -1;
  };
  std::unordered_map<std::uint64_t, Pay> pay;

  [[nodiscard]] bool ring() const noexcept { return o.max_file_bytes != 0; }

  RecorderError error(std::string what, std::error_code code = {}) {
    return RecorderError{path, std::move(what), code};
  }
  std::expected<void, RecorderError> fail(std::string what, std::error_code code = {}) {
    failed = error(std::move(what), code);
    return std::unexpected(*failed);
  }

  std::expected<void, RecorderError> open_file(std::uint64_t t_ns) {
    ++file_number;
    path = ring() ? ring_name(o.path, file_number, std::time(nullptr)) : o.path;
    RecordingWriterOptions wo;
    wo.overwrite = o.overwrite;
    wo.started = started;  // every file's times count from the capture's start
    wo.note_text = o.note_text;
    wo.peer_text = o.peer_text;
    wo.payload = o.payload;
    wo.queue = o.queue;
    wo.addresses = [this](std::uint64_t token) -> std::optional<SourceAddresses> {
      if (o.addresses) {
        if (auto a = o.addresses(token)) {
          addresses.insert_or_assign(token, *a);
          return a;
        }
      }
      const auto it = addresses.find(token);
      if (it == addresses.end()) return std::nullopt;
      return it->second;
    };
    auto w_ = RecordingWriter::create(path, std::move(wo));
    if (!w_) return fail(w_.error().message(), w_.error());
    w.emplace(std::move(*w_));
    file_records = 0;
    file_has_lines = false;
    last_was_stats = false;
    if (ring()) {
      files.push_back(path);
      while (o.max_files != 0 && files.size() > o.max_files) {
        // The oldest file is complete and closed; a file that is already gone is not an error.
        if (auto r = os::remove_file(files.front()); !r && r.error() != std::errc::no_such_file_or_directory)
          return fail("cannot delete the oldest file " + files.front() + ": " + r.error().message(),
                      r.error());
        files.pop_front();
        ++c.files_deleted;
      }
    }
    // The sources still open, so the file opens alone with named lanes (by token: a stable order).
    std::vector<std::uint64_t> tokens;
    tokens.reserve(open.size());
    for (const auto& [token, _] : open) tokens.push_back(token);
    std::sort(tokens.begin(), tokens.end());
    for (const std::uint64_t token : tokens) {
      const Open& src = open.at(token);
      Record added = src.added;
      added.t_ns = t_ns;
      if (auto r = put(added, /*by_recorder=*/true, /*opening=*/true); !r) return r;
      if (src.changed) {
        Record changed = *src.changed;
        changed.t_ns = t_ns;
        if (auto r = put(changed, true, true); !r) return r;
      }
    }
    return {};
  }

  /// Ends the current file: a stats line unless the last line was one, close, report.
  std::expected<void, RecorderError> end_file() {
    if (!w) return {};
    if (!last_was_stats) {
      Record stats;
      stats.kind = RecordKind::stats;
      stats.t_ns = last_t;
      auto [produced, dropped] = o.counts ? o.counts() : std::pair{given, std::uint64_t{0}};
      stats.value = produced;
      stats.value2 = std::min(dropped, produced);
      // The one line a file may hold beyond max_file_bytes.
      if (auto r = w->write_within(stats, kNoLimit, true); !r) return fail(r.error().message(), r.error());
      ++file_records;
      ++c.recorder_lines;
    }
    if (auto r = w->close(); !r) return fail(r.error().message(), r.error());
    w.reset();
    ++c.files_written;
    if (o.on_file_closed) o.on_file_closed(path, file_records);
    return {};
  }

  std::expected<void, RecorderError> rotate(std::uint64_t t_ns) {
    if (auto r = end_file(); !r) return r;
    return open_file(t_ns);
  }

  /// One record line, in this file if it fits, else in a new one.
  std::expected<void, RecorderError> put(const Record& r, bool by_recorder, bool opening = false) {
    const std::uint64_t limit = ring() && !opening ? o.max_file_bytes : kNoLimit;
    auto ok = w->write_within(r, limit, by_recorder);
    if (!ok) return fail(ok.error().message(), ok.error());
    if (!*ok) {
      if (file_has_lines) {
        if (auto rot = rotate(r.t_ns); !rot) return rot;
      }
      // A fresh file takes the line even if it passes the bound alone.
      ok = w->write_within(r, file_has_lines ? limit : kNoLimit, by_recorder);
      if (!ok) return fail(ok.error().message(), ok.error());
      if (!*ok) ok = w->write_within(r, kNoLimit, by_recorder);
      if (!ok) return fail(ok.error().message(), ok.error());
    }
    ++file_records;
    if (by_recorder) ++c.recorder_lines;
    if (!opening) file_has_lines = true;
    last_was_stats = r.kind == RecordKind::stats;
    last_t = std::max(last_t, r.t_ns);
    return {};
  }

  /// The bytes [0, n) of `chunk` as payload lines, rotating as needed.
  std::expected<void, RecorderError> put_payload(std::uint64_t token, const PayloadChunk& chunk,
                                                 std::size_t n) {
    const PayloadChunk* c_ = &chunk;
    PayloadChunk cut;
    if (n < chunk.bytes.size()) {
      cut = chunk;
      cut.bytes.resize(n);
      c_ = &cut;
    }
    for (std::size_t from = 0; from < n;) {
      const std::uint64_t limit = ring() && file_has_lines ? o.max_file_bytes : kNoLimit;
      auto wrote = w->write_payload_within(token, *c_, from, limit);
      if (!wrote) return fail(wrote.error().message(), wrote.error());
      if (*wrote == 0) {
        if (auto rot = rotate(last_t); !rot) return rot;
        continue;  // a fresh file takes it (no limit until it has a line)
      }
      from += *wrote;
      ++c.payload_lines;
      c.payload_bytes += *wrote;
      file_has_lines = true;
      last_was_stats = false;
    }
    return {};
  }

  /// After a batch: the new payload bytes of the sources that moved some.
  std::expected<void, RecorderError> fetch_payload(const std::vector<std::uint64_t>& tokens) {
    for (const std::uint64_t token : tokens) {
      Pay& p = pay[token];
      std::uint64_t cut = 0;
      for (int i = 0; i < kMaxFetchesPerSource; ++i) {
        auto snap = o.payload_fetch(token, p.next);
        if (!snap) break;  // the engine forgot the source
        std::uint64_t pos = p.next;
        for (const PayloadChunk& chunk : snap->chunks) {
          if (chunk.offset > pos) cut += chunk.offset - pos;  // evicted before it was fetched
          const std::uint64_t room =
              o.payload_bytes_per_source - std::min(p.written, o.payload_bytes_per_source);
          const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.bytes.size(), room));
          cut += chunk.bytes.size() - n;
          if (n > 0) {
            if (auto r = put_payload(token, chunk, n); !r) return r;
            p.written += n;
          }
          pos = chunk.offset + chunk.bytes.size();
        }
        if (snap->next > pos) cut += snap->next - pos;
        const bool more = snap->next > p.next && !snap->chunks.empty();
        p.next = std::max(p.next, snap->next);
        if (!more) break;
      }
      if (cut > 0) {
        c.payload_bytes_cut += cut;
        Record warn;
        warn.kind = RecordKind::warning;
        warn.t_ns = last_t;
        warn.token = token;
        warn.fd = p.fd;
        warn.op = static_cast<std::uint8_t>(WarningKind::payload_truncated);
        warn.value = cut;
        if (auto r = put(warn, /*by_recorder=*/true); !r) return r;
      }
    }
    return {};
  }
};

std::expected<Recorder, RecorderError> Recorder::create(RecorderOptions options) {
  const auto bad = [&](std::string what) {
    return std::unexpected(RecorderError{options.path, std::move(what), {}});
  };
  if (options.path.empty()) return bad("no file name");
  if (options.max_files != 0 && options.max_file_bytes == 0)
    return bad("a number of files needs a file size to rotate at (max_files without max_file_bytes)");
  if (options.max_file_bytes != 0 && options.max_file_bytes < kMinFileBytes)
    return bad("a file size to rotate at of " + std::to_string(options.max_file_bytes) +
               " bytes is below the minimum of " + std::to_string(kMinFileBytes));
  if (options.payload && !options.payload_fetch)
    return bad("payload without a way to fetch it (payload_fetch)");
  auto state = std::make_unique<State>();
  state->o = std::move(options);
  {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    state->started.assign(buf, std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm));
  }
  if (auto r = state->open_file(0); !r) return std::unexpected(r.error());
  return Recorder(std::move(state));
}

Recorder::Recorder(std::unique_ptr<State> state) : s_(std::move(state)) {}
Recorder::Recorder(Recorder&&) noexcept = default;
Recorder& Recorder::operator=(Recorder&& o) noexcept {
  if (this != &o) {
    (void)close();
    s_ = std::move(o.s_);
  }
  return *this;
}
Recorder::~Recorder() { (void)close(); }

std::expected<void, RecorderError> Recorder::write(std::span<const Record> records) {
  State& s = *s_;
  if (s.failed) return std::unexpected(*s.failed);
  if (s.closed) return std::unexpected(s.error("the recorder is closed", os_error(EBADF)));
  std::vector<std::uint64_t> moved;
  std::vector<std::uint64_t> removed;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    ++s.given;
    if (s.o.stop_after_records != 0 && s.c.records >= s.o.stop_after_records) {
      s.c.records_after_stop += records.size() - i;
      s.given += records.size() - i - 1;
      break;
    }
    if (auto w = s.put(r, false); !w) return w;
    ++s.c.records;
    switch (r.kind) {
      case RecordKind::source_added:
        s.open.insert_or_assign(r.token, State::Open{r, std::nullopt});
        if (s.o.payload) s.pay[r.token].fd = r.fd;
        break;
      case RecordKind::source_changed:
        if (auto it = s.open.find(r.token); it != s.open.end()) it->second.changed = r;
        break;
      case RecordKind::source_removed:
        s.open.erase(r.token);
        s.addresses.erase(r.token);
        removed.push_back(r.token);
        break;
      default:
        if (s.o.payload && moves_payload(r) && (moved.empty() || moved.back() != r.token))
          moved.push_back(r.token);
        break;
    }
  }
  if (s.o.payload) {
    std::sort(moved.begin(), moved.end());
    moved.erase(std::unique(moved.begin(), moved.end()), moved.end());
    if (auto p = s.fetch_payload(moved); !p) return p;
    for (const std::uint64_t token : removed) s.pay.erase(token);  // nothing more will come
  }
  return {};
}

std::expected<void, RecorderError> Recorder::close() {
  if (!s_ || s_->closed) return {};
  State& s = *s_;
  s.closed = true;
  if (s.failed) {
    if (s.w) (void)s.w->close();
    s.w.reset();
    return std::unexpected(*s.failed);
  }
  auto r = s.end_file();
  s.path.clear();
  return r;
}

bool Recorder::done() const noexcept {
  return s_->o.stop_after_records != 0 && s_->c.records >= s_->o.stop_after_records;
}
const RecorderCounts& Recorder::counts() const noexcept { return s_->c; }
const std::string& Recorder::current_path() const noexcept { return s_->path; }

}  // namespace ready::capture
