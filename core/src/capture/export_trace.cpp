// The trace exporter: records as Chrome Trace Event JSON, one event per line, built by hand
// into a large buffer (outside text escaped by nlohmann::json). The mapping, record kind by
// record kind: docs/export.md; the names: the recording format's (recording_format.h).
#include <charconv>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "capture/export_out.h"
#include "capture/interest_names.h"
#include "capture/recording_format.h"
#include "ready/capture/command.h"
#include "ready/capture/export.h"
#include "ready/capture/store.h"

namespace ready::capture {

using exporting::put_hex;
using exporting::put_i64;
using exporting::put_json_string;
using exporting::put_u64;
using exporting::put_us;

namespace {

constexpr std::string_view kDefaultCaptureName = "readyscope capture";
constexpr std::string_view kPollLoopName = "poll loop (epoll_wait)";
constexpr std::uint64_t kMinBinNs = 1'000'000;

// `,"key":` — keys are this file's own identifiers, never outside text.
void put_key(std::string& out, std::string_view key) {
  out += ",\"";
  out += key;
  out += "\":";
}
void put_name(std::string& out, std::string_view s) {
  out += '"';
  out += s;
  out += '"';
}
void put_rate(std::string& out, std::uint64_t count, std::uint64_t bin_ns) {
  const double per_s = static_cast<double>(count) * 1e9 / static_cast<double>(bin_ns);
  char tmp[32];
  const auto r = std::to_chars(tmp, tmp + sizeof tmp, per_s);
  out.append(tmp, r.ptr);
}

bool moves_bytes_in(Op op) { return op == Op::read || op == Op::drain; }
bool moves_bytes_out(Op op) { return op == Op::write || op == Op::fill; }

}  // namespace

struct TraceWriter::State {
  State(exporting::Out o, ExportOptions opts)
      : options(std::move(opts)), out(std::move(o)), addresses(options) {}

  ExportOptions options;
  exporting::Out out;
  exporting::AddressBook addresses;
  std::unordered_set<std::uint64_t> named;                   // tokens whose track has its thread_name
  std::unordered_map<std::uint32_t, std::string> peer_json;  // peer id -> its text as a JSON string ("" none)
  std::uint64_t records = 0;
  std::uint64_t events = 0;
  std::uint64_t clamped = 0;
  std::uint64_t last_t = 0;
  std::uint64_t span_end = 0;  // where the last poll-loop span ended
  // The counters' current bin: its index (t / bin) and what it has counted.
  bool bin_open = false;
  std::uint64_t bin = 0;
  std::uint64_t bin_in = 0, bin_out = 0, bin_ready = 0;

  // `,\n{"ph":"P","pid":1,"tid":T,"ts":U` — the start of every event but the first.
  void head(char ph, std::uint64_t tid, std::uint64_t t_ns) {
    std::string& o = out.buf;
    o += ",\n{\"ph\":\"";
    o += ph;
    o += "\",\"pid\":1,\"tid\":";
    put_u64(o, tid);
    o += ",\"ts\":";
    put_us(o, t_ns);
    if (ph == 'i') o += ",\"s\":\"t\"";
    ++events;
  }
  void metadata(std::string_view what, std::uint64_t tid, std::string_view name_json) {
    std::string& o = out.buf;
    o += ",\n{\"ph\":\"M\",\"pid\":1,\"tid\":";
    put_u64(o, tid);
    o += ",\"name\":\"";
    o += what;
    o += "\",\"args\":{\"name\":";
    o += name_json;
    o += "}}";
    ++events;
  }

  /// The track of `token`, named before its first event: kind (when the record says it),
  /// addresses (when known: a source record has just asked the lookup, any other asks it
  /// here) and the token.
  std::uint64_t track(const Record& r) {
    if (r.token == 0 || named.contains(r.token)) return r.token;
    named.insert(r.token);
    std::string name;
    const bool source = recording::is_source_kind(r.kind);
    if (source) {
      name += name_of(r.source_kind());
      name += ' ';
    }
    const SourceAddresses& a = source ? addresses.known(r.token) : addresses.refresh(r.token);
    if (!a.local.empty()) {
      name += a.local;
      name += ' ';
    }
    if (!a.peer.empty()) {
      name += "\u21c4 ";  // ⇄
      name += a.peer;
      name += ' ';
    }
    name += "(token ";
    name += std::to_string(r.token);
    name += ')';
    std::string json;
    put_json_string(json, name);
    metadata("thread_name", r.token, json);
    return r.token;
  }

  void put_counters(std::uint64_t bin_index, std::uint64_t in, std::uint64_t out_bytes, std::uint64_t ready) {
    const std::uint64_t w = options.counter_bin_ns;
    std::string& o = out.buf;
    head('C', 0, bin_index * w);
    o += ",\"name\":\"bytes/s\",\"args\":{\"in\":";
    put_rate(o, in, w);
    o += ",\"out\":";
    put_rate(o, out_bytes, w);
    o += "}}";
    head('C', 0, bin_index * w);
    o += ",\"name\":\"events/s\",\"args\":{\"readiness\":";
    put_rate(o, ready, w);
    o += "}}";
  }
  /// Moves the counters to the bin of time `t`: the bin left is written, and a bin of zeros
  /// after it when time jumped over empty bins (a counter holds its value until the next).
  void advance_bins(std::uint64_t t) {
    const std::uint64_t b = t / options.counter_bin_ns;
    if (bin_open && b == bin) return;
    if (bin_open) {
      put_counters(bin, bin_in, bin_out, bin_ready);
      if (b > bin + 1) put_counters(bin + 1, 0, 0, 0);
    }
    bin_open = true;
    bin = b;
    bin_in = bin_out = bin_ready = 0;
  }
  void close_bins() {
    if (!bin_open) return;
    put_counters(bin, bin_in, bin_out, bin_ready);
    put_counters(bin + 1, 0, 0, 0);
    bin_open = false;
  }

  void put_peer(std::uint32_t id) {
    if (id == 0 || !options.peer_text) return;
    auto it = peer_json.find(id);
    if (it == peer_json.end()) {
      std::string json;
      if (auto text = options.peer_text(id)) put_json_string(json, *text);
      it = peer_json.emplace(id, std::move(json)).first;
    }
    if (it->second.empty()) return;
    put_key(out.buf, "peer");
    out.buf += it->second;
  }

  void event(const Record& rec);
};

void TraceWriter::State::event(const Record& rec) {
  Record r = rec;
  if (r.t_ns < last_t) r.t_ns = last_t;
  last_t = r.t_ns;
  advance_bins(r.t_ns);
  std::string& o = out.buf;
  switch (r.kind) {
    case RecordKind::readiness: {
      const std::uint64_t tid = track(r);
      head('i', tid, r.t_ns);
      ++bin_ready;
      const std::uint32_t f = readiness_flags(r.bits);
      o += ",\"cat\":\"readiness\",\"name\":\"";
      bool first = true;
      for (std::size_t i = 0; i < kReadinessFlagNames.size(); ++i) {
        if (!(f & (1u << i))) continue;
        if (!first) o += '|';
        first = false;
        o += kReadinessFlagNames[i];
      }
      if (first) o += "none";
      o += "\",\"args\":{\"fd\":";
      put_i64(o, r.fd);
      o += ",\"flags\":[";
      first = true;
      for (std::size_t i = 0; i < kReadinessFlagNames.size(); ++i) {
        if (!(f & (1u << i))) continue;
        if (!first) o += ',';
        first = false;
        put_name(o, kReadinessFlagNames[i]);
      }
      o += "],\"epoll\":\"";
      put_hex(o, r.bits);
      o += "\"}}";
      break;
    }
    case RecordKind::action: {
      const std::uint64_t tid = track(r);
      head('i', tid, r.t_ns);
      if (r.outcome == Outcome::ok) {
        if (moves_bytes_in(r.action_op())) bin_in += r.n();
        if (moves_bytes_out(r.action_op())) bin_out += r.n();
      }
      o += ",\"cat\":\"action\",\"name\":\"";
      o += name_of(r.action_op());
      o += ' ';
      o += name_of(r.outcome);
      o += "\",\"args\":{\"fd\":";
      put_i64(o, r.fd);
      o += ",\"op\":";
      put_name(o, name_of(r.action_op()));
      o += ",\"result\":";
      put_name(o, name_of(r.outcome));
      o += ",\"n\":";
      put_u64(o, r.n());
      if (r.command() != 0) {
        put_key(o, "command");
        put_u64(o, r.command());
      }
      if (r.err != 0) {
        put_key(o, "errno");
        put_name(o, errno_name(r.err));  // "ECONNRESET" or "E<number>": no escaping needed
      }
      put_peer(r.peer_id());
      o += "}}";
      break;
    }
    case RecordKind::source_added:
    case RecordKind::source_changed:
    case RecordKind::source_removed: {
      const SourceAddresses& a = addresses.refresh(r.token);
      const std::uint64_t tid = track(r);
      head('i', tid, r.t_ns);
      o += ",\"cat\":\"source\",\"name\":";
      put_name(o, name_of(r.kind));
      o += ",\"args\":{\"fd\":";
      put_i64(o, r.fd);
      put_key(o, "kind");
      put_name(o, name_of(r.source_kind()));
      put_key(o, "local");
      put_json_string(o, a.local);
      put_key(o, "peer");
      put_json_string(o, a.peer);
      put_key(o, "interest");
      o += '[';
      bool first = true;
      for (const auto& [interest, name] : kInterestNames) {
        if (!(r.bits & interest.bits())) continue;
        if (!first) o += ',';
        first = false;
        put_name(o, name);
      }
      o += ']';
      const SourceBits b = SourceBits::unpack(r.bits);
      put_key(o, "mode");
      put_name(o, name_of(b.trigger));
      put_key(o, "reaction");
      put_name(o, name_of(b.reaction));
      const recording::ValueNames names = recording::value_names(r.kind);
      if (r.value != 0) {
        put_key(o, names.value);
        put_u64(o, r.value);
      }
      if (r.value2 != 0) {
        put_key(o, names.value2);
        put_u64(o, r.value2);
      }
      o += "}}";
      if (r.kind == RecordKind::source_removed) addresses.forget(r.token);
      break;
    }
    case RecordKind::poll_return: {
      // The span blocked in epoll_wait, ending at the return; never before the last span's end.
      std::uint64_t start = r.blocked_ns() <= r.t_ns ? r.t_ns - r.blocked_ns() : 0;
      if (start < span_end) {
        start = span_end;
        ++clamped;
      }
      span_end = r.t_ns;
      head('X', 0, start);
      o += ",\"dur\":";
      put_us(o, r.t_ns - start);
      o += ",\"cat\":\"poll\",\"name\":\"epoll_wait\",\"args\":{\"events\":";
      put_u64(o, r.events());
      o += ",\"blocked_ns\":";
      put_u64(o, r.blocked_ns());
      o += "}}";
      break;
    }
    case RecordKind::note: {
      std::optional<std::string> text;
      if (options.note_text) text = options.note_text(r.note_id());
      if (!text) text.emplace();
      head('i', 0, r.t_ns);
      o += ",\"cat\":\"note\",\"name\":";
      put_json_string(o, text->empty() ? std::string_view("note") : std::string_view(*text));
      o += ",\"args\":{\"text\":";
      put_json_string(o, *text);
      o += ",\"id\":";
      put_u64(o, r.note_id());
      if (r.command() != 0) {
        put_key(o, "command");
        put_u64(o, r.command());
      }
      o += "}}";
      break;
    }
    case RecordKind::warning: {
      const std::uint64_t tid = track(r);
      head('i', tid, r.t_ns);
      o += ",\"cat\":\"warning\",\"name\":";
      put_name(o, name_of(r.warning_kind()));
      o += ",\"args\":{\"fd\":";
      put_i64(o, r.fd);
      o += ",\"warning\":";
      put_name(o, name_of(r.warning_kind()));
      o += ",\"value\":";
      put_u64(o, r.detail());
      if (r.err != 0) {
        put_key(o, "errno");
        put_name(o, errno_name(r.err));
      }
      o += "}}";
      break;
    }
    case RecordKind::queue:
      // One counter track per token: Perfetto draws it as the band the window draws.
      head('C', r.token, r.t_ns);
      o += ",\"name\":\"queue (token ";
      put_u64(o, r.token);
      o += ")\",\"args\":{\"readable\":";
      put_u64(o, r.readable());
      o += ",\"unsent\":";
      put_u64(o, r.unsent());
      o += "}}";
      break;
    case RecordKind::stats:
      head('C', 0, r.t_ns);
      o += ",\"name\":\"records\",\"args\":{\"produced\":";
      put_u64(o, r.produced());
      o += ",\"dropped\":";
      put_u64(o, r.dropped());
      o += "}}";
      break;
  }
}

io_result<TraceWriter> TraceWriter::create(const std::string& path, ExportOptions options) {
  if (options.counter_bin_ns < kMinBinNs) return std::unexpected(os_error(EINVAL));
  auto out = exporting::Out::create(path, options.overwrite, kBufferBytes);
  if (!out) return std::unexpected(out.error());
  auto s = std::make_unique<State>(std::move(*out), std::move(options));
  std::string& o = s->out.buf;
  // displayTimeUnit first: Perfetto looks for it only near the start of the file.
  o += "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  o += "{\"ph\":\"M\",\"pid\":1,\"tid\":0,\"name\":\"process_name\",\"args\":{\"name\":";
  put_json_string(o, s->options.capture_name.empty() ? kDefaultCaptureName : s->options.capture_name);
  o += "}}";
  ++s->events;
  std::string poll_loop;
  put_json_string(poll_loop, kPollLoopName);
  s->metadata("thread_name", 0, poll_loop);
  if (auto f = s->out.flush(); !f) return std::unexpected(f.error());
  return TraceWriter(std::move(s));
}

TraceWriter::TraceWriter(std::unique_ptr<State> s) : s_(std::move(s)) {}
TraceWriter::TraceWriter(TraceWriter&&) noexcept = default;
TraceWriter& TraceWriter::operator=(TraceWriter&& o) noexcept {
  if (this != &o) {
    (void)close();
    s_ = std::move(o.s_);
  }
  return *this;
}
TraceWriter::~TraceWriter() { (void)close(); }

io_result<void> TraceWriter::write(std::span<const Record> records) {
  if (!s_) return std::unexpected(os_error(EBADF));
  return exporting::write_records(s_->out, records, s_->records, [&](const Record& r) { s_->event(r); });
}

io_result<void> TraceWriter::close() {
  if (!s_ || !s_->out.is_open()) return {};
  if (s_->out.usable()) {
    s_->close_bins();
    s_->out.buf += "\n]}\n";
  }
  return s_->out.close();
}

std::uint64_t TraceWriter::records() const noexcept { return s_ ? s_->records : 0; }
std::uint64_t TraceWriter::events() const noexcept { return s_ ? s_->events : 0; }
std::uint64_t TraceWriter::spans_clamped() const noexcept { return s_ ? s_->clamped : 0; }
std::uint64_t TraceWriter::bytes_written() const noexcept { return s_ ? s_->out.bytes_written() : 0; }

}  // namespace ready::capture
