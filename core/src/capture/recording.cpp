// The JSON Lines recording: writer (nlohmann::json escapes every string) and reader
// (simdjson on-demand, one document per line). Format: docs/recording-format.md.
#include "ready/capture/recording.h"

#include <simdjson.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

#include "linux/os.h"
#include "ready/event.h"
#include "ready/interest.h"


namespace ready::capture {
namespace {

// ---- shared tables ----

constexpr std::array<std::string_view, 6> kFlagNames = {"readable",    "writable",     "error",
                                                        "read_closed", "write_closed", "priority"};


constexpr std::array<std::string_view, 3> kModeNames = {"edge", "level", "oneshot"};
constexpr std::array<std::string_view, 6> kReactionNames = {"none", "read",    "drain",
                                                            "echo", "discard", "auto_accept"};
// Interest bits (ready::Interest::bits) and their names.
constexpr std::array<std::pair<std::uint8_t, std::string_view>, 3> kInterestNames = {
    {{1, "readable"}, {2, "writable"}, {16, "priority"}}};

// The names of a record's `value` / `value2` fields, by kind ("" = not written).
struct ValueNames {
  std::string_view value, value2;
};
constexpr ValueNames value_names(RecordKind k) noexcept {
  switch (k) {
    case RecordKind::source_added:
      return {"related", "command"};
    case RecordKind::source_changed:
      return {"read_n", "command"};
    case RecordKind::source_removed:
      return {"bytes_in", "bytes_out"};
    case RecordKind::readiness:
      return {"", ""};
    case RecordKind::action:
      return {"n", "command"};
    case RecordKind::poll_return:
      return {"events", "blocked_ns"};
    case RecordKind::note:
      return {"id", "command"};
    case RecordKind::warning:
      return {"value", ""};
    case RecordKind::stats:
      return {"produced", "dropped"};
  }
  return {"", ""};
}

constexpr int kRecordKinds = 9;
constexpr int kSourceKinds = 10;
constexpr int kOps = 21;
constexpr int kOutcomes = 5;
constexpr int kWarningKinds = 8;

// The file spells the three source kinds as one "type":"source" with an "event"; the
// RecordKind is source_added + the event's index.
constexpr std::string_view kSourceType = "source";
constexpr std::array<std::string_view, 3> kSourceEventNames = {"added", "changed", "removed"};
static_assert(static_cast<int>(RecordKind::source_changed) == static_cast<int>(RecordKind::source_added) + 1 &&
              static_cast<int>(RecordKind::source_removed) == static_cast<int>(RecordKind::source_added) + 2);

constexpr bool is_source_kind(RecordKind k) noexcept {
  return k == RecordKind::source_added || k == RecordKind::source_changed || k == RecordKind::source_removed;
}

/// The "type" a line of this kind has in the file.
std::string_view type_name(RecordKind k) noexcept { return is_source_kind(k) ? kSourceType : to_string(k); }

// ---- reader helpers: names matched by length first, then one inlined compare ----

/// The fields of a record line, by name; `numeric` is one of the value / value2 names
/// (their meaning depends on "type"), `other` a name the reader ignores.
enum class Key : std::uint8_t {
  other, type, t_ns, event, token, fd, flags, epoll, op, result, kind, warning, local, peer, text,
  interest, mode, reaction, errno_name, delivered, numeric,
};

template <std::size_t N>
bool is(std::string_view k, const char (&lit)[N]) noexcept {
  return k.size() == N - 1 && std::memcmp(k.data(), lit, N - 1) == 0;
}

/// One switch on the length, then at most a few fixed-size compares (which the compiler
/// inlines), instead of a chain of string compares.
Key key_of(std::string_view k) noexcept {
  switch (k.size()) {
    case 1:
      return is(k, "n") ? Key::numeric : Key::other;
    case 2:
      if (is(k, "fd")) return Key::fd;
      if (is(k, "op")) return Key::op;
      return is(k, "id") ? Key::numeric : Key::other;
    case 4:
      if (is(k, "type")) return Key::type;
      if (is(k, "t_ns")) return Key::t_ns;
      if (is(k, "kind")) return Key::kind;
      if (is(k, "peer")) return Key::peer;
      if (is(k, "text")) return Key::text;
      return is(k, "mode") ? Key::mode : Key::other;
    case 5:
      if (is(k, "token")) return Key::token;
      if (is(k, "flags")) return Key::flags;
      if (is(k, "epoll")) return Key::epoll;
      if (is(k, "local")) return Key::local;
      if (is(k, "errno")) return Key::errno_name;
      if (is(k, "event")) return Key::event;
      return is(k, "value") ? Key::numeric : Key::other;
    case 6:
      if (is(k, "result")) return Key::result;
      return is(k, "read_n") || is(k, "events") ? Key::numeric : Key::other;
    case 7:
      if (is(k, "warning")) return Key::warning;
      return is(k, "related") || is(k, "command") || is(k, "dropped") ? Key::numeric : Key::other;
    case 8:
      if (is(k, "interest")) return Key::interest;
      if (is(k, "reaction")) return Key::reaction;
      return is(k, "bytes_in") || is(k, "produced") ? Key::numeric : Key::other;
    case 9:
      if (is(k, "delivered")) return Key::delivered;
      return is(k, "bytes_out") ? Key::numeric : Key::other;
    case 10:
      return is(k, "blocked_ns") ? Key::numeric : Key::other;
    default:
      return Key::other;
  }
}

/// The index of `name` in `names`, or -1.
template <std::size_t N>
int name_index(std::string_view name, const std::array<std::string_view, N>& names) noexcept {
  for (std::size_t i = 0; i < N; ++i)
    if (names[i].size() == name.size() && std::memcmp(names[i].data(), name.data(), name.size()) == 0)
      return static_cast<int>(i);
  return -1;
}

/// The names of an enum's values 0 .. N-1, as to_string spells them.
template <class E, std::size_t N>
std::array<std::string_view, N> names_of() {
  std::array<std::string_view, N> a{};
  for (std::size_t i = 0; i < N; ++i) a[i] = to_string(static_cast<E>(i));
  return a;
}

template <class E, std::size_t N>
std::optional<E> name_lookup(std::string_view name, const std::array<std::string_view, N>& names) noexcept {
  const int i = name_index(name, names);
  if (i < 0) return std::nullopt;
  return static_cast<E>(i);
}

const auto kRecordKindNames = names_of<RecordKind, kRecordKinds>();

/// The kind a line's "type" names; the three source kinds are one "source" type (the
/// caller reads "event"), and their C++ names ("source_added", ...) are not types.
std::optional<RecordKind> type_from_name(std::string_view name) noexcept {
  if (name == kSourceType) return RecordKind::source_added;
  const auto k = name_lookup<RecordKind>(name, kRecordKindNames);
  if (!k || is_source_kind(*k)) return std::nullopt;
  return k;
}
const auto kSourceKindNames = names_of<SourceKind, kSourceKinds>();
const auto kOpNames = names_of<Op, kOps>();
const auto kOutcomeNames = names_of<Outcome, kOutcomes>();
const auto kWarningKindNames = names_of<WarningKind, kWarningKinds>();

// ---- writer helpers ----

void put_u64(std::string& out, std::uint64_t v) {
  char tmp[24];
  const auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
  out.append(tmp, r.ptr);
}
void put_i64(std::string& out, std::int64_t v) {
  char tmp[24];
  const auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
  out.append(tmp, r.ptr);
}
// `"key":` — keys are the format's own identifiers, never untrusted text.
void put_key(std::string& out, std::string_view key) {
  out += ",\"";
  out += key;
  out += "\":";
}
// Untrusted text: escaped by the JSON library.
void put_string(std::string& out, std::string_view s) {
  out += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
// Our own identifiers (enum names): plain quotes.
void put_name(std::string& out, std::string_view s) {
  out += '"';
  out += s;
  out += '"';
}

std::string now_iso() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return {buf, n};
}

}  // namespace

// ---------------------------------------------------------------------------------------
// RecordingWriter

RecordingWriter::RecordingWriter(OwnedFd fd, RecordingWriterOptions options)
    : fd_(std::move(fd)), options_(std::move(options)) {
  buf_.reserve(kBufferBytes + 4096);
}

RecordingWriter::RecordingWriter(RecordingWriter&& o) noexcept
    : fd_(std::move(o.fd_)),
      options_(std::move(o.options_)),
      buf_(std::move(o.buf_)),
      records_(o.records_),
      failed_(o.failed_),
      addresses_(std::move(o.addresses_)) {}

RecordingWriter& RecordingWriter::operator=(RecordingWriter&& o) noexcept {
  if (this != &o) {
    (void)close();
    fd_ = std::move(o.fd_);
    options_ = std::move(o.options_);
    buf_ = std::move(o.buf_);
    records_ = o.records_;
    failed_ = o.failed_;
    addresses_ = std::move(o.addresses_);
  }
  return *this;
}

RecordingWriter::~RecordingWriter() { (void)close(); }

io_result<RecordingWriter> RecordingWriter::create(const std::string& path, RecordingWriterOptions options) {
  auto fd = os::create_write(path, options.overwrite);
  if (!fd) return std::unexpected(fd.error());
  if (options.started.empty()) options.started = now_iso();
  RecordingWriter w(std::move(*fd), std::move(options));
  std::string& out = w.buf_;
  out += "{\"type\":\"header\",\"format\":";
  put_name(out, kRecordingFormat);
  out += ",\"version\":";
  put_i64(out, kRecordingVersion);
  out += ",\"started\":";
  put_string(out, w.options_.started);
  out += ",\"producer\":\"readyscope\"}\n";
  if (auto r = w.flush(); !r) {
    w.failed_ = r.error();
    return std::unexpected(r.error());
  }
  return w;
}

std::string_view RecordingWriter::addresses_field(std::uint64_t token, bool peer) {
  auto it = addresses_.find(token);
  if (it == addresses_.end()) {
    SourceAddresses a;
    if (options_.addresses) {
      if (auto got = options_.addresses(token)) a = std::move(*got);
    }
    it = addresses_.emplace(token, std::move(a)).first;
  }
  return peer ? it->second.peer : it->second.local;
}

void RecordingWriter::append_line(const Record& r) {
  std::string& out = buf_;
  out += "{\"type\":";
  put_name(out, type_name(r.kind));
  out += ",\"t_ns\":";
  put_u64(out, r.t_ns);
  if (is_source_kind(r.kind)) {
    put_key(out, "event");
    put_name(out, kSourceEventNames[static_cast<std::size_t>(r.kind) - static_cast<std::size_t>(RecordKind::source_added)]);
  }
  const bool about_source = RecordStore::is_indexed_by_token(r.kind);
  if (about_source) {
    put_key(out, "token");
    put_u64(out, r.token);
    put_key(out, "fd");
    put_i64(out, r.fd);
  }
  switch (r.kind) {
    case RecordKind::readiness: {
      put_key(out, "flags");
      out += '[';
      const std::uint32_t f = readiness_flags(r.bits);
      bool first = true;
      for (std::size_t i = 0; i < kFlagNames.size(); ++i) {
        if (!(f & (1u << i))) continue;
        if (!first) out += ',';
        first = false;
        put_name(out, kFlagNames[i]);
      }
      out += ']';
      put_key(out, "epoll");
      char tmp[16] = {'"', '0', 'x'};
      const auto res = std::to_chars(tmp + 3, tmp + sizeof tmp - 1, r.bits, 16);
      *res.ptr = '"';
      out.append(tmp, res.ptr + 1);
      break;
    }
    case RecordKind::action:
      put_key(out, "op");
      put_name(out, to_string(static_cast<Op>(r.op)));
      put_key(out, "result");
      put_name(out, to_string(r.outcome));
      break;
    case RecordKind::source_added:
    case RecordKind::source_changed:
    case RecordKind::source_removed: {
      put_key(out, "kind");
      put_name(out, to_string(static_cast<SourceKind>(r.op)));
      put_key(out, "local");
      put_string(out, addresses_field(r.token, false));
      put_key(out, "peer");
      put_string(out, addresses_field(r.token, true));
      put_key(out, "interest");
      out += '[';
      bool first = true;
      for (const auto& [bit, name] : kInterestNames) {
        if (!(r.bits & bit)) continue;
        if (!first) out += ',';
        first = false;
        put_name(out, name);
      }
      out += ']';
      const std::uint32_t mode = (r.bits >> 8) & 0xff, reaction = (r.bits >> 16) & 0xff;
      put_key(out, "mode");
      put_name(out, mode < kModeNames.size() ? kModeNames[mode] : "unknown");
      put_key(out, "reaction");
      put_name(out, reaction < kReactionNames.size() ? kReactionNames[reaction] : "unknown");
      break;
    }
    case RecordKind::note: {
      std::optional<std::string> text;
      if (options_.note_text) text = options_.note_text(r.value);
      put_key(out, "text");
      put_string(out, text ? *text : std::string());
      break;
    }
    case RecordKind::warning:
      put_key(out, "warning");
      put_name(out, to_string(static_cast<WarningKind>(r.op)));
      break;
    case RecordKind::stats:
      put_key(out, "delivered");
      put_u64(out, r.value - r.value2);
      break;
    case RecordKind::poll_return:
      break;
  }
  const ValueNames names = value_names(r.kind);
  // produced / dropped are always written on stats lines; other values when not zero.
  if (!names.value.empty() && (r.value != 0 || r.kind == RecordKind::stats)) {
    put_key(out, names.value);
    put_u64(out, r.value);
  }
  if (!names.value2.empty() && (r.value2 != 0 || r.kind == RecordKind::stats)) {
    put_key(out, names.value2);
    put_u64(out, r.value2);
  }
  if (r.err != 0 && (r.kind == RecordKind::action || r.kind == RecordKind::warning)) {
    put_key(out, "errno");
    put_name(out, errno_name(r.err));  // "ECONNRESET" or "E<number>": no escaping needed
  }
  out += "}\n";
}

io_result<void> RecordingWriter::write(std::span<const Record> records) {
  if (failed_) return std::unexpected(failed_);
  if (!fd_) return std::unexpected(os_error(EBADF));
  for (const Record& r : records) {
    append_line(r);
    ++records_;
    if (buf_.size() >= kBufferBytes) {
      if (auto f = flush(); !f) return f;
    }
  }
  return {};
}

io_result<void> RecordingWriter::flush() {
  if (failed_) return std::unexpected(failed_);
  if (!fd_) return std::unexpected(os_error(EBADF));
  if (auto n = os::write_all(fd_.get(), buf_); !n) {
    failed_ = n.error();
    return std::unexpected(failed_);
  }
  buf_.clear();
  return {};
}

io_result<void> RecordingWriter::close() {
  if (!fd_) return {};
  io_result<void> result = failed_ ? io_result<void>(std::unexpected(failed_)) : flush();
  if (auto ec = fd_.close(); ec && result) result = std::unexpected(ec);
  return result;
}

// ---------------------------------------------------------------------------------------
// Reader

std::string RecordingError::message() const {
  std::string s = path;
  if (line != 0) {
    s += ':';
    s += std::to_string(line);
  }
  s += ": ";
  s += what;
  return s;
}

namespace {


// A value read from the file, for an error message: quoted and escaped as JSON in ASCII
// (so the message stays one line, with no control characters for a terminal to obey) and
// cut to its first 40 bytes.
std::string quoted(std::string_view s) {
  constexpr std::size_t kMax = 40;
  std::string out = nlohmann::json(std::string(s.substr(0, kMax)))
                        .dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  if (s.size() > kMax) out += "...";
  return out;
}

// Field presence bits.
enum Field : std::uint32_t {
  f_type = 1u << 0,
  f_t_ns = 1u << 1,
  f_token = 1u << 2,
  f_fd = 1u << 3,
  f_flags = 1u << 4,
  f_epoll = 1u << 5,
  f_op = 1u << 6,
  f_result = 1u << 7,
  f_kind = 1u << 8,
  f_local = 1u << 9,
  f_peer = 1u << 10,
  f_interest = 1u << 11,
  f_mode = 1u << 12,
  f_reaction = 1u << 13,
  f_text = 1u << 14,
  f_warning = 1u << 15,
  f_delivered = 1u << 16,
  f_errno = 1u << 17,
  f_value = 1u << 18,
  f_value2 = 1u << 19,
  f_event = 1u << 20,
};

// True when the document has content after the first value (simdjson 3.0 has no at_end()).
template <class Doc>
bool has_trailing(Doc& doc) {
  const char* loc = nullptr;
  return doc.current_location().get(loc) == simdjson::SUCCESS;
}

struct LineParser {
  simdjson::ondemand::parser parser;
  simdjson::ondemand::parser stream_parser;

  // Fills `r` from one line; returns an error text or "".
  std::string parse(simdjson::padded_string_view line, Record& r, RecordingInfo& info) {
    simdjson::ondemand::document doc;
    if (auto e = parser.iterate(line).get(doc))
      return std::string("not valid JSON (") + simdjson::error_message(e) + ")";
    return parse_doc(doc, r, info, true);
  }

  // One record line already iterated (a document, or a document_reference of a stream, whose
  // end the caller checks instead: check_trailing false).
  template <class Doc>
  std::string parse_doc(Doc& doc, Record& r, RecordingInfo& info, bool check_trailing) {
    using namespace simdjson;
    ondemand::object obj;
    if (auto e = doc.get_object().get(obj)) {
      simdjson::ondemand::json_type type;
      if (e == simdjson::INCORRECT_TYPE && !doc.type().get(type)) return "expected a JSON object";
      return std::string("not valid JSON (") + error_message(e) + ")";
    }
    r = Record{};
    std::uint32_t seen = 0;
    std::uint32_t flags = 0;
    std::string_view local, peer, text;
    bool have_kind = false;
    std::uint32_t interest = 0, mode = 0, reaction = 0;
    // "op", "kind" and "warning" all go to Record::op: which one is used depends on "type".
    std::uint8_t op = 0, source_kind = 0, warning = 0;
    std::uint8_t event = 0;  // a source line's: index in kSourceEventNames
    std::uint64_t delivered = 0;
    // Values are collected by name first: which names mean value/value2 depends on "type",
    // which need not come first.
    struct Named {
      std::string_view key;
      std::uint64_t v;
    };
    std::array<Named, 4> named{};
    std::size_t n_named = 0;
    for (auto field_result : obj) {
      ondemand::field field;
      if (auto e = std::move(field_result).get(field))
        return std::string("not valid JSON (") + error_message(e) + ")";

      // The format's keys have no escapes: read them in place (no copy); a key with a
      // backslash goes through simdjson's unescaping.
      std::string_view key;
      {
        const char* k = field.key().raw();
        const char* q = k;
        while (*q != '"' && *q != '\\') ++q;  // a key is always closed by '"' within the padded buffer
        if (*q == '"') {
          key = std::string_view(k, static_cast<std::size_t>(q - k));
        } else if (field.unescaped_key().get(key)) {
          return "not valid JSON (bad key)";
        }
      }
      ondemand::value v = field.value();
      // Errors only: the messages are built when a value is wrong, never on the way through.
      auto not_u64 = [&] { return "expected \"" + std::string(key) + "\" to be an unsigned integer"; };
      auto not_str = [&] { return "expected \"" + std::string(key) + "\" to be a string"; };
      std::string_view s;
      switch (key_of(key)) {
        case Key::type: {
          if (v.get_string().get(s)) return not_str();
          auto k = type_from_name(s);
          if (!k) return "unknown \"type\" " + quoted(s);
          r.kind = *k;
          seen |= f_type;
          break;
        }
        case Key::event: {
          if (v.get_string().get(s)) return not_str();
          const auto i = name_index(s, kSourceEventNames);
          if (i < 0) return "unknown source \"event\" " + quoted(s) + " (expected added, changed, removed)";
          event = static_cast<std::uint8_t>(i);
          seen |= f_event;
          break;
        }
        case Key::t_ns:
          if (v.get_uint64().get(r.t_ns)) return not_u64();
          seen |= f_t_ns;
          break;
        case Key::token:
          if (v.get_uint64().get(r.token)) return not_u64();
          seen |= f_token;
          break;
        case Key::fd: {
          std::int64_t fd;
          if (v.get_int64().get(fd) || fd < -1 || fd > INT32_MAX)
            return "expected \"fd\" to be an integer >= -1";
          r.fd = static_cast<std::int32_t>(fd);
          seen |= f_fd;
          break;
        }
        case Key::flags: {
          ondemand::array arr;
          if (v.get_array().get(arr)) return "expected \"flags\" to be a list of flag names";
          for (auto el : arr) {
            if (el.get_string().get(s)) return "expected \"flags\" to be a list of flag names";
            const auto i = name_index(s, kFlagNames);
            if (i < 0) {
              return "unknown flag " + quoted(s) +
                     " (expected readable, writable, error, read_closed, write_closed, priority)";
            }
            flags |= 1u << i;
          }
          seen |= f_flags;
          break;
        }
        case Key::epoll: {
          const auto bad = [] { return std::string("expected \"epoll\" to be a hex string like \"0x2019\""); };
          if (v.get_string().get(s) || s.size() < 3 || s.size() > 10 || s[0] != '0' || s[1] != 'x') return bad();
          const auto res = std::from_chars(s.data() + 2, s.data() + s.size(), r.bits, 16);
          if (res.ec != std::errc() || res.ptr != s.data() + s.size()) return bad();
          seen |= f_epoll;
          break;
        }
        case Key::op: {
          if (v.get_string().get(s)) return not_str();
          auto o = name_lookup<Op>(s, kOpNames);
          if (!o) return "unknown \"op\" " + quoted(s);
          op = static_cast<std::uint8_t>(*o);
          seen |= f_op;
          break;
        }
        case Key::result: {
          if (v.get_string().get(s)) return not_str();
          auto o = name_lookup<Outcome>(s, kOutcomeNames);
          if (!o) {
            return "unknown \"result\" " + quoted(s) +
                   " (expected ok, would_block, eof, in_progress, error)";
          }
          r.outcome = *o;
          seen |= f_result;
          break;
        }
        case Key::kind: {
          if (v.get_string().get(s)) return not_str();
          auto k = name_lookup<SourceKind>(s, kSourceKindNames);
          if (!k) return "unknown source \"kind\" " + quoted(s);
          source_kind = static_cast<std::uint8_t>(*k);
          have_kind = true;
          seen |= f_kind;
          break;
        }
        case Key::warning: {
          if (v.get_string().get(s)) return not_str();
          auto k = name_lookup<WarningKind>(s, kWarningKindNames);
          if (!k) return "unknown \"warning\" " + quoted(s);
          warning = static_cast<std::uint8_t>(*k);
          seen |= f_warning;
          break;
        }
        case Key::local:
          if (v.get_string().get(local)) return not_str();
          info_local_ = std::string(local);
          seen |= f_local;
          break;
        case Key::peer:
          if (v.get_string().get(peer)) return not_str();
          info_peer_ = std::string(peer);
          seen |= f_peer;
          break;
        case Key::text:
          if (v.get_string().get(text)) return not_str();
          text_ = std::string(text);
          seen |= f_text;
          break;
        case Key::interest: {
          ondemand::array arr;
          if (v.get_array().get(arr))
            return "expected \"interest\" to be a list of readable, writable, priority";
          for (auto el : arr) {
            if (el.get_string().get(s))
              return "expected \"interest\" to be a list of readable, writable, priority";
            bool found = false;
            for (const auto& [bit, name] : kInterestNames) {
              if (name == s) {
                interest |= bit;
                found = true;
              }
            }
            if (!found)
              return "unknown interest " + quoted(s) + " (expected readable, writable, priority)";
          }
          seen |= f_interest;
          break;
        }
        case Key::mode: {
          if (v.get_string().get(s)) return not_str();
          const auto i = name_index(s, kModeNames);
          if (i < 0) return "unknown \"mode\" " + quoted(s) + " (expected edge, level, oneshot)";
          mode = static_cast<std::uint32_t>(i);
          seen |= f_mode;
          break;
        }
        case Key::reaction: {
          if (v.get_string().get(s)) return not_str();
          const auto i = name_index(s, kReactionNames);
          if (i < 0) return "unknown \"reaction\" " + quoted(s);
          reaction = static_cast<std::uint32_t>(i);
          seen |= f_reaction;
          break;
        }
        case Key::errno_name: {
          if (v.get_string().get(s)) return not_str();
          auto e = errno_from_name(s);
          if (!e) return "unknown \"errno\" " + quoted(s) + " (expected a name like \"ECONNRESET\")";
          r.err = *e;
          seen |= f_errno;
          break;
        }
        case Key::delivered:
          if (v.get_uint64().get(delivered)) return not_u64();
          seen |= f_delivered;
          break;
        case Key::numeric: {
          std::uint64_t x;
          if (v.get_uint64().get(x)) return not_u64();
          if (n_named == named.size()) return "too many numeric fields";
          named[n_named++] = {key, x};
          break;
        }
        case Key::other:
          break;
      }
      // Other keys are ignored (room for additions that do not change the meaning).
    }
    if (check_trailing && has_trailing(doc)) return "not valid JSON (trailing content after the object)";

    if (!(seen & f_type)) return "missing field \"type\"";
    if (!(seen & f_t_ns)) return "missing field \"t_ns\"";
    // "type":"source" read as source_added; "event" (before or after it) says which. On
    // other lines an "event" is ignored like any field of another kind.
    if (r.kind == RecordKind::source_added) {
      if (!(seen & f_event))
        return "missing field \"event\" on a source line (expected added, changed, removed)";
      r.kind = static_cast<RecordKind>(static_cast<std::uint8_t>(RecordKind::source_added) + event);
    }
    auto require = [&](std::uint32_t bit, std::string_view name) -> std::string {
      if (seen & bit) return {};
      return "missing field \"" + std::string(name) + "\" on a " + std::string(type_name(r.kind)) + " line";
    };
    std::string err;
    const bool about_source = RecordStore::is_indexed_by_token(r.kind);
    if (about_source) {
      if (!(err = require(f_token, "token")).empty()) return err;
      if (!(err = require(f_fd, "fd")).empty()) return err;
    }
    const ValueNames names = value_names(r.kind);
    for (std::size_t i = 0; i < n_named; ++i) {
      if (!names.value.empty() && named[i].key == names.value) {
        r.value = named[i].v;
        seen |= f_value;
      } else if (!names.value2.empty() && named[i].key == names.value2) {
        r.value2 = named[i].v;
        seen |= f_value2;
      }
    }
    // A field that only other kinds use is ignored like an unknown one (its value was still
    // checked): the record read is the one the writer wrote.
    if (!about_source) {
      r.token = 0;
      r.fd = -1;
    }
    if (r.kind != RecordKind::readiness) r.bits = 0;
    if (r.kind != RecordKind::action) r.outcome = Outcome::ok;
    if (r.kind != RecordKind::action && r.kind != RecordKind::warning) r.err = 0;
    switch (r.kind) {
      case RecordKind::readiness:
        if (!(err = require(f_flags, "flags")).empty()) return err;
        if (!(err = require(f_epoll, "epoll")).empty()) return err;
        if (flags != readiness_flags(r.bits)) return "\"flags\" do not match the \"epoll\" bits";
        break;
      case RecordKind::action:
        if (!(err = require(f_op, "op")).empty()) return err;
        if (!(err = require(f_result, "result")).empty()) return err;
        if (r.outcome == Outcome::error && !(seen & f_errno)) return require(f_errno, "errno");
        r.op = op;
        break;
      case RecordKind::source_added:
      case RecordKind::source_changed:
      case RecordKind::source_removed:
        if (!have_kind) return require(f_kind, "kind");
        if (!(err = require(f_interest, "interest")).empty()) return err;
        if (!(err = require(f_mode, "mode")).empty()) return err;
        if (!(err = require(f_reaction, "reaction")).empty()) return err;
        r.op = source_kind;
        r.bits = interest | (mode << 8) | (reaction << 16);
        if ((seen & (f_local | f_peer)) && !info.sources.contains(r.token)) {
          info.sources.emplace(r.token, SourceAddresses{info_local_, info_peer_});
        }
        break;
      case RecordKind::note:
        if (!(err = require(f_text, "text")).empty()) return err;
        info.notes.insert_or_assign(r.value, text_);
        break;
      case RecordKind::warning:
        if (!(err = require(f_warning, "warning")).empty()) return err;
        r.op = warning;
        break;
      case RecordKind::stats:
        if (!(seen & f_value)) return require(f_value, "produced");
        if (!(seen & f_value2)) return require(f_value2, "dropped");
        if (r.value2 > r.value) return "\"dropped\" is larger than \"produced\"";
        if ((seen & f_delivered) && delivered != r.value - r.value2) {
          return "\"delivered\" is not \"produced\" - \"dropped\"";
        }
        break;
      case RecordKind::poll_return:
        break;
    }
    return {};
  }

  // Header line: returns an error text or "".
  std::string parse_header(simdjson::padded_string_view line, RecordingInfo& info) {
    using namespace simdjson;
    ondemand::document doc;
    if (auto e = parser.iterate(line).get(doc))
      return std::string("not valid JSON (") + error_message(e) + ")";
    ondemand::object obj;
    if (doc.get_object().get(obj)) return "expected the header object {\"type\":\"header\",...}";
    bool type_ok = false, format_ok = false, version_ok = false, started_ok = false;
    for (auto field_result : obj) {
      ondemand::field field;
      if (auto e = std::move(field_result).get(field))
        return std::string("not valid JSON (") + error_message(e) + ")";
      std::string_view key;
      if (field.unescaped_key().get(key)) return "not valid JSON (bad key)";
      ondemand::value v = field.value();
      if (key == "type") {
        std::string_view s;
        if (v.get_string().get(s) || s != "header") return "expected \"type\":\"header\" on the first line";
        type_ok = true;
      } else if (key == "format") {
        std::string_view s;
        if (v.get_string().get(s) || s != kRecordingFormat) {
          return "expected \"format\":\"readyscope-recording\" (not a ReadyScope recording)";
        }
        format_ok = true;
      } else if (key == "version") {
        std::int64_t ver;
        if (v.get_int64().get(ver)) return "expected \"version\" to be an integer";
        if (ver != kRecordingVersion) {
          return "unsupported \"version\" " + std::to_string(ver) + " (this build reads version " +
                 std::to_string(kRecordingVersion) + ")";
        }
        version_ok = true;
      } else if (key == "started") {
        std::string_view s;
        if (v.get_string().get(s)) return "expected \"started\" to be a string";
        info.started = std::string(s);
        started_ok = true;
      }
    }
    if (has_trailing(doc)) return "not valid JSON (trailing content after the object)";
    if (!type_ok) return "expected \"type\":\"header\" on the first line";
    if (!format_ok) return "missing field \"format\" in the header";
    if (!version_ok) return "missing field \"version\" in the header";
    if (!started_ok) return "missing field \"started\" in the header";
    return {};
  }

  std::string info_local_, info_peer_, text_;
};

// Fast path: reads the file in windows; the header line alone, then the record lines of each
// window through one simdjson document stream (stage 1 over large batches, not once per
// line). It accepts only a file in which every line is exactly one valid record; on anything
// else it returns nullopt and the line-by-line reader, which reports errors, decides.
// `file_size` (from fstat) only sizes the window: a small file gets a small one.
std::optional<std::pair<RecordStore, RecordingInfo>> load_fast(int fd, std::uint64_t file_size,
                                                               const RecordingLimits& limits,
                                                               const StoreLimits& store_limits,
                                                               LineParser& lp) {
  const std::size_t cap = static_cast<std::size_t>(std::min<std::uint64_t>(
      std::max<std::size_t>(std::size_t{8} << 20, 2 * (limits.max_line_bytes + 1)), file_size + 1));
  const std::unique_ptr<char[]> buf(new char[cap + simdjson::SIMDJSON_PADDING]);
  // Map the window in with one call rather than a page fault per 4 KiB as the first read
  // fills it. Best effort.
  os::populate(buf.get(), cap);
  std::size_t filled = 0;
  std::uint64_t total = 0;
  bool header_done = false, eof = false;
  RecordingInfo info;
  RecordStore out(store_limits);
  while (!eof || filled > 0) {
    if (!eof) {
      auto n = os::read_some(fd, std::span<char>(buf.get() + filled, cap - filled));
      if (!n) return std::nullopt;
      if (*n == 0) eof = true;
      filled += static_cast<std::size_t>(*n);
      total += static_cast<std::uint64_t>(*n);
      if (total > limits.max_file_bytes) return std::nullopt;
    }
    const char* const base = buf.get();
    const char* region_end;
    if (eof) {
      region_end = base + filled;
    } else {
      const void* last = ::memrchr(base, '\n', filled);
      if (!last) {
        if (filled == cap) return std::nullopt;  // a line longer than the window
        continue;
      }
      region_end = static_cast<const char*>(last) + 1;
    }
    const std::size_t capacity = cap + simdjson::SIMDJSON_PADDING;
    const char* rest = base;
    if (!header_done) {
      const char* nl =
          static_cast<const char*>(std::memchr(base, '\n', static_cast<std::size_t>(region_end - base)));
      if (!nl || nl == base || static_cast<std::size_t>(nl - base) > limits.max_line_bytes)
        return std::nullopt;
      const simdjson::padded_string_view hv(base, static_cast<std::size_t>(nl - base), capacity);
      if (!lp.parse_header(hv, info).empty()) return std::nullopt;
      header_done = true;
      rest = nl + 1;
    }
    const char* line_start = rest;
    if (rest < region_end) {
      // simdjson reads the byte after the stream as the end of its last document: a stale
      // '}' there (the next line's, an older window's, the heap's) let a malformed last
      // object pass as a record. It reads zeros instead, as after a simdjson::padded_string;
      // the bytes are put back for the next window.
      char* const after = buf.get() + (region_end - base);
      std::array<char, simdjson::SIMDJSON_PADDING> saved;
      std::memcpy(saved.data(), after, saved.size());
      std::memset(after, 0, saved.size());
      simdjson::ondemand::document_stream stream;
      // Every line of the region fits in the region: no larger batch (simdjson allocates
      // for the batch size, not for the input).
      const std::size_t batch = std::min(std::max<std::size_t>(std::size_t{4} << 20, limits.max_line_bytes + 64),
                                         static_cast<std::size_t>(region_end - rest));
      if (lp.stream_parser.iterate_many(rest, static_cast<std::size_t>(region_end - rest), batch).get(stream))
        return std::nullopt;
      for (auto it = stream.begin(); it != stream.end(); ++it) {
        simdjson::ondemand::document_reference doc;
        // simdjson 3.0's current_index() may point at whitespace before the document at a
        // batch boundary: skip it; the document must begin exactly at the line's start.
        const char* doc_start = rest + it.current_index();
        while (doc_start < line_start &&
               (*doc_start == ' ' || *doc_start == '\t' || *doc_start == '\r' || *doc_start == '\n'))
          ++doc_start;
        if ((*it).get(doc) || doc_start != line_start) return std::nullopt;
        const char* lnl = static_cast<const char*>(
            std::memchr(line_start, '\n', static_cast<std::size_t>(region_end - line_start)));
        const char* le = lnl ? lnl : region_end;
        Record r;
        if (static_cast<std::size_t>(le - line_start) > limits.max_line_bytes ||
            !lp.parse_doc(doc, r, info, false).empty())
          return std::nullopt;
        out.append(r);
        ++info.records;
        line_start = lnl ? lnl + 1 : region_end;
      }
      std::memcpy(after, saved.data(), saved.size());
      // The stream ends quietly before an incomplete last document ("{...} 2,..." on the
      // last line would pass for one record): such bytes are the slow path's to report.
      if (stream.truncated_bytes() != 0) return std::nullopt;
    }
    if (line_start != region_end) return std::nullopt;
    const std::size_t used = static_cast<std::size_t>(region_end - base);
    std::memmove(buf.get(), region_end, filled - used);
    filled -= used;
    if (eof && filled > 0) return std::nullopt;  // cannot happen: the last region takes all
  }
  if (!header_done) return std::nullopt;
  return std::make_pair(std::move(out), std::move(info));
}

}  // namespace

std::expected<RecordingInfo, RecordingError> load_recording(const std::string& path, RecordStore& store,
                                                            RecordingLimits limits) {
  auto fail = [&](std::uint64_t line, std::string what) {
    return std::unexpected(RecordingError{path, line, std::move(what)});
  };
  auto opened = os::open_read(path);
  if (!opened) return fail(0, "cannot open: " + errno_name(opened.error().value()));
  const OwnedFd owner = std::move(*opened);  // closed on every return below
  const int fd = owner.get();
  const auto file_size = os::regular_file_size(fd);
  if (!file_size) return fail(0, "not a regular file");
  const std::uint64_t size = *file_size;
  if (size > limits.max_file_bytes) {
    return fail(0, "file is " + std::to_string(size) + " bytes, more than the limit of " +
                       std::to_string(limits.max_file_bytes));
  }
  if (size == 0) {
    return fail(1, "empty file: expected the header line");
  }
  LineParser lp;
  if (auto fast = load_fast(fd, size, limits, store.limits(), lp)) {
    store = std::move(fast->first);
    return std::move(fast->second);
  }
  if (auto rewound = os::rewind(fd); !rewound) return fail(0, "seek failed: " + errno_name(rewound.error().value()));
  simdjson::padded_string data(static_cast<std::size_t>(size));
  {
    auto n = os::read_full(fd, std::span<char>(data.data(), static_cast<std::size_t>(size)));
    if (!n) return fail(0, "read failed: " + errno_name(n.error().value()));
    if (*n < size) return fail(0, "file shrank while reading");
  }

  RecordingInfo info;
  RecordStore temp(store.limits());
  const char* const base = data.data();
  const char* p = base;
  const char* const end = base + size;
  std::uint64_t line_no = 0;
  while (p < end) {
    ++line_no;
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const char* line_end = nl ? nl : end;
    const auto len = static_cast<std::size_t>(line_end - p);
    if (len > limits.max_line_bytes) {
      return fail(line_no,
                  "line is longer than the limit of " + std::to_string(limits.max_line_bytes) + " bytes");
    }
    if (len == 0) return fail(line_no, "empty line: expected a JSON object");
    // The padding simdjson needs is the rest of the file plus the buffer's own padding.
    const simdjson::padded_string_view view(p, len,
                                            static_cast<std::size_t>(end - p) + simdjson::SIMDJSON_PADDING);
    std::string err;
    if (line_no == 1) {
      err = lp.parse_header(view, info);
    } else {
      Record r;
      err = lp.parse(view, r, info);
      if (err.empty()) {
        temp.append(r);
        ++info.records;
      }
    }
    if (!err.empty()) return fail(line_no, std::move(err));
    p = nl ? nl + 1 : end;
  }
  store = std::move(temp);
  return info;
}

}  // namespace ready::capture
