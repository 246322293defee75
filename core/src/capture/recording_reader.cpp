// The recording reader: one streaming pass over the file in large windows. Each window's
// record lines go through one simdjson document stream (stage 1 over megabytes, not once per
// line); a line the stream does not take as exactly one record is read again alone, which
// either accepts it or gives the error with its line number. Format:
// docs/recording-format.md; what a line holds per kind: recording_format.h.
#include <simdjson.h>
#include <string.h>  // memrchr

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "capture/interest_names.h"
#include "capture/name_list.h"
#include "capture/recording_base64.h"
#include "capture/recording_format.h"
#include "linux/os.h"
#include "ready/capture/command.h"
#include "ready/capture/recording.h"
#include "ready/interest.h"

namespace ready::capture {

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

using recording::kSourceEventNames;
using recording::type_from_name;
using recording::type_name;
using recording::ValueNames;
using recording::value_names;

// ---- names: matched by length first, then one inlined compare ----

/// The fields of a record line, by name; `numeric` is one of the value / value2 names
/// (their meaning depends on "type"), `other` a name the reader ignores.
enum class Key : std::uint8_t {
  other, type, t_ns, event, token, fd, flags, epoll, op, result, kind, warning, local, peer, text,
  interest, mode, reaction, errno_name, delivered, numeric,
  // payload lines (version 2) and the Recorder's mark
  dir, offset, data, unix_peer, unix_abstract, recorder,
  // an attached process's source lines (docs/attach.md)
  mask,
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
    case 3:
      if (is(k, "pid")) return Key::numeric;
      return is(k, "dir") ? Key::dir : Key::other;  // payload lines only
    case 4:
      if (is(k, "type")) return Key::type;
      if (is(k, "t_ns")) return Key::t_ns;
      if (is(k, "kind")) return Key::kind;
      if (is(k, "peer")) return Key::peer;
      if (is(k, "text")) return Key::text;
      if (is(k, "mode")) return Key::mode;
      if (is(k, "mask")) return Key::mask;
      return is(k, "data") ? Key::data : Key::other;
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
      if (is(k, "read_n") || is(k, "events") || is(k, "unsent")) return Key::numeric;
      return is(k, "offset") ? Key::offset : Key::other;
    case 7:
      if (is(k, "warning")) return Key::warning;
      return is(k, "related") || is(k, "command") || is(k, "dropped") ? Key::numeric : Key::other;
    case 8:
      if (is(k, "interest")) return Key::interest;
      if (is(k, "reaction")) return Key::reaction;
      if (is(k, "bytes_in") || is(k, "produced") || is(k, "readable") || is(k, "epoll_fd")) return Key::numeric;
      return is(k, "recorder") ? Key::recorder : Key::other;
    case 9:
      if (is(k, "delivered")) return Key::delivered;
      if (is(k, "bytes_out")) return Key::numeric;
      return is(k, "unix_peer") ? Key::unix_peer : Key::other;
    case 10:
      return is(k, "blocked_ns") || is(k, "epoll_data") ? Key::numeric : Key::other;
    case 13:
      return is(k, "unix_abstract") ? Key::unix_abstract : Key::other;
    default:
      return Key::other;
  }
}

/// A ReadinessFlag's bit position by its name, or -1.
int flag_index(std::string_view s) noexcept {
  for (std::size_t i = 0; i < kReadinessFlagNames.size(); ++i)
    if (kReadinessFlagNames[i] == s) return static_cast<int>(i);
  return -1;
}
/// A source line's "event" by name (its index in kSourceEventNames), or -1.
int event_index(std::string_view s) noexcept {
  for (std::size_t i = 0; i < kSourceEventNames.size(); ++i)
    if (kSourceEventNames[i] == s) return static_cast<int>(i);
  return -1;
}

std::string interest_names() {
  std::string s;
  for (const auto& i : kInterestNames) s += (s.empty() ? "" : ", ") + std::string(i.name);
  return s;
}

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
  f_dir = 1u << 21,
  f_offset = 1u << 22,
  f_data = 1u << 23,
  f_unix_peer = 1u << 24,
  f_unix_abstract = 1u << 25,
  f_mask = 1u << 26,
};

// True when the document has content after the first value (simdjson 3.0 has no at_end()).
template <class Doc>
bool has_trailing(Doc& doc) {
  const char* loc = nullptr;
  return doc.current_location().get(loc) == simdjson::SUCCESS;
}

/// A source line with "pid" is an attached process's registration (docs/attach.md): "pid"
/// (1..2^31-1), "epoll_fd" (0..2^31-1), "mask" and "epoll_data" fill the record instead of
/// the value names of its event (Record::attached_pid & co.). "" or the error.
template <class Named>
std::string attached_fields(Record& r, const Named& named, std::size_t n, std::uint32_t mask, bool have_mask) {
  std::optional<std::uint64_t> pid, epfd, data;
  for (std::size_t i = 0; i < n; ++i) {
    if (named[i].key == "pid") pid = named[i].v;
    if (named[i].key == "epoll_fd") epfd = named[i].v;
    if (named[i].key == "epoll_data") data = named[i].v;
  }
  if (!pid) return {};
  constexpr std::uint64_t kMax = 0x7fff'ffff;
  if (*pid == 0 || *pid > kMax) return "expected \"pid\" to be a process id (1 to 2147483647)";
  if (!epfd) return "missing field \"epoll_fd\" on a source line with \"pid\"";
  if (*epfd > kMax) return "expected \"epoll_fd\" to be a descriptor (0 to 2147483647)";
  if (!have_mask) return "missing field \"mask\" on a source line with \"pid\"";
  r.err = static_cast<std::int32_t>(*pid);
  r.value = mask | (*epfd << 32);
  r.value2 = data.value_or(0);
  return {};
}

struct LineParser {
  simdjson::ondemand::parser parser;
  simdjson::ondemand::parser stream_parser;
  RecordingSink* sink = nullptr;

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
    payload_line = false;
    // Nothing of an earlier line carries over: a source line with only "local" has no peer.
    info_local_.clear();
    info_peer_.clear();
    std::uint32_t seen = 0;
    std::uint32_t flags = 0;
    std::string_view local, peer, text;
    bool have_kind = false;
    std::uint32_t interest = 0, mode = 0, reaction = 0;
    // "op", "kind" and "warning" all go to Record::op: which one is used depends on "type".
    std::uint8_t op = 0, source_kind = 0, warning = 0;
    std::uint8_t event = 0;  // a source line's: index in kSourceEventNames
    std::uint64_t delivered = 0;
    bool by_recorder = false;
    // Values are collected by name first: which names mean value/value2 depends on "type",
    // which need not come first.
    struct Named {
      std::string_view key;
      std::uint64_t v;
    };
    std::array<Named, 6> named{};
    std::uint32_t mask = 0;  // an attached source's "mask"
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
          if (!k) {
            // Asked only when the type is not a record's: nothing for files without payload.
            if (s != recording::kPayloadType) return "unknown \"type\" " + quoted(s);
            payload_line = true;
          } else {
            r.kind = *k;
          }
          seen |= f_type;
          break;
        }
        case Key::event: {
          if (v.get_string().get(s)) return not_str();
          const auto i = event_index(s);
          if (i < 0) return "unknown source \"event\" " + quoted(s) + " (expected " + join(kSourceEventNames) + ")";
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
            const auto i = flag_index(s);
            if (i < 0) return "unknown flag " + quoted(s) + " (expected " + join(kReadinessFlagNames) + ")";
            flags |= 1u << i;
          }
          seen |= f_flags;
          break;
        }
        case Key::epoll:
        case Key::mask: {
          const bool is_mask = key_of(key) == Key::mask;
          const auto bad = [&] { return "expected \"" + std::string(key) + "\" to be a hex string like \"0x2019\""; };
          std::uint32_t& into = is_mask ? mask : r.bits;
          if (v.get_string().get(s) || s.size() < 3 || s.size() > 10 || s[0] != '0' || s[1] != 'x') return bad();
          const auto res = std::from_chars(s.data() + 2, s.data() + s.size(), into, 16);
          if (res.ec != std::errc() || res.ptr != s.data() + s.size()) return bad();
          seen |= is_mask ? f_mask : f_epoll;
          break;
        }
        case Key::op: {
          if (v.get_string().get(s)) return not_str();
          auto o = parse_name<Op>(s);
          if (!o) return "unknown \"op\" " + quoted(s);
          op = static_cast<std::uint8_t>(*o);
          seen |= f_op;
          break;
        }
        case Key::result: {
          if (v.get_string().get(s)) return not_str();
          auto o = parse_name<Outcome>(s);
          if (!o) return "unknown \"result\" " + quoted(s) + " (expected " + join(all_names<Outcome>()) + ")";
          r.outcome = *o;
          seen |= f_result;
          break;
        }
        case Key::kind: {
          if (v.get_string().get(s)) return not_str();
          auto k = parse_name<SourceKind>(s);
          if (!k) return "unknown source \"kind\" " + quoted(s);
          source_kind = static_cast<std::uint8_t>(*k);
          have_kind = true;
          seen |= f_kind;
          break;
        }
        case Key::warning: {
          if (v.get_string().get(s)) return not_str();
          auto k = parse_name<WarningKind>(s);
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
          if (v.get_array().get(arr)) return "expected \"interest\" to be a list of " + interest_names();
          for (auto el : arr) {
            if (el.get_string().get(s)) return "expected \"interest\" to be a list of " + interest_names();
            bool found = false;
            for (const auto& [bit, name] : kInterestNames) {
              if (name == s) {
                interest |= bit.bits();
                found = true;
              }
            }
            if (!found) return "unknown interest " + quoted(s) + " (expected " + interest_names() + ")";
          }
          seen |= f_interest;
          break;
        }
        case Key::mode: {
          if (v.get_string().get(s)) return not_str();
          const auto t = parse_name<Trigger>(s);  // "mode": the file's spelling of the trigger
          if (!t) return "unknown \"mode\" " + quoted(s) + " (expected " + join(all_names<Trigger>()) + ")";
          mode = static_cast<std::uint32_t>(*t);
          seen |= f_mode;
          break;
        }
        case Key::reaction: {
          if (v.get_string().get(s)) return not_str();
          const auto k = parse_name<Reaction>(s);
          if (!k) return "unknown \"reaction\" " + quoted(s);
          reaction = static_cast<std::uint32_t>(*k);
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
        case Key::dir: {
          if (v.get_string().get(s)) return not_str();
          if (s == recording::kDirectionNames[0]) {
            chunk_.direction = Direction::in;
          } else if (s == recording::kDirectionNames[1]) {
            chunk_.direction = Direction::out;
          } else {
            return "unknown \"dir\" " + quoted(s) + " (expected " + join(recording::kDirectionNames) + ")";
          }
          seen |= f_dir;
          break;
        }
        case Key::offset:
          if (v.get_uint64().get(chunk_.offset)) return not_u64();
          seen |= f_offset;
          break;
        case Key::data:
          if (v.get_string().get(s)) return not_str();
          if (!recording::base64_decode(s, chunk_.bytes)) return "expected \"data\" to be padded base64";
          seen |= f_data;
          break;
        case Key::unix_peer:
        case Key::unix_abstract: {
          if (v.get_string().get(s)) return not_str();
          const bool path = key_of(key) == Key::unix_peer;
          chunk_.unix_peer = path ? net::UnixAddr::from_path(s) : net::UnixAddr::from_abstract_name(s);
          if (!chunk_.unix_peer)
            return "expected \"" + std::string(key) + "\" to be a Unix socket " + (path ? "path" : "name") + " (got " +
                   quoted(s) + ")";
          seen |= path ? f_unix_peer : f_unix_abstract;
          break;
        }
        case Key::recorder:
          if (v.get_bool().get(by_recorder)) return "expected \"recorder\" to be true or false";
          break;
        case Key::other:
          break;
      }
      // Other keys are ignored (room for additions that do not change the meaning).
    }
    if (check_trailing && has_trailing(doc)) return "not valid JSON (trailing content after the object)";

    if (!(seen & f_type)) return "missing field \"type\"";
    if (!(seen & f_t_ns)) return "missing field \"t_ns\"";
    if (payload_line) return finish_payload(seen, r.t_ns, r.token, info);
    if (by_recorder && !recheck) ++info.recorder_lines;
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
        if (!info_peer_.empty()) r.bits = peer_id(info_peer_, info);  // Record::peer_id
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
        if (!(err = attached_fields(r, named, n_named, mask, seen & f_mask)).empty()) return err;
        if ((seen & (f_local | f_peer)) && !info.sources.contains(r.token)) {
          const auto it = info.sources.emplace(r.token, SourceAddresses{info_local_, info_peer_}).first;
          sink->on_source(r.token, it->second);
        }
        break;
      case RecordKind::note:
        if (!(err = require(f_text, "text")).empty()) return err;
        info.notes.insert_or_assign(r.value, text_);
        sink->on_note(r.value, text_);
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
      case RecordKind::queue:
        if (info.version < kRecordingQueueVersion)
          return "a queue line in a version-" + std::to_string(info.version) +
                 " recording (queue lines need \"version\":3 in the header)";
        if (!(seen & f_value)) return require(f_value, "readable");
        if (!(seen & f_value2)) return require(f_value2, "unsent");
        break;
    }
    return {};
  }

  // The fields of a payload line, read into chunk_, checked and handed to the sink.
  std::string finish_payload(std::uint32_t seen, std::uint64_t t_ns, std::uint64_t token, const RecordingInfo& info) {
    if (info.version < kRecordingPayloadVersion)
      return "a payload line in a version-" + std::to_string(info.version) +
             " recording (payload lines need \"version\":2 in the header)";
    for (const auto& [bit, name] : {std::pair{f_token, "token"}, std::pair{f_dir, "dir"},
                                    std::pair{f_offset, "offset"}, std::pair{f_data, "data"}}) {
      if (!(seen & bit)) return "missing field \"" + std::string(name) + "\" on a payload line";
    }
    if ((seen & f_unix_peer) && (seen & f_unix_abstract))
      return "a payload line with both \"unix_peer\" and \"unix_abstract\"";
    chunk_.t_ns = t_ns;
    chunk_.peer.reset();
    if (seen & f_peer) {
      chunk_.peer = net::SocketAddr::parse(info_peer_);
      if (!chunk_.peer) return "expected \"peer\" to be an address like \"127.0.0.1:40312\" (got " + quoted(std::string_view(info_peer_)) + ")";
    }
    if (!(seen & (f_unix_peer | f_unix_abstract))) chunk_.unix_peer.reset();
    payload_token = token;  // the Reader hands chunk_ over, in file order
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
        if (ver != kRecordingVersion && ver != kRecordingPayloadVersion && ver != kRecordingQueueVersion) {
          return "unsupported \"version\" " + std::to_string(ver) + " (this build reads versions " +
                 std::to_string(kRecordingVersion) + " to " + std::to_string(kRecordingQueueVersion) + ")";
        }
        info.version = static_cast<int>(ver);
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

  /// The id of an action's "peer" in info.peers: the ids are given in the order the
  /// addresses first appear, as the engine gives them (docs/recording-format.md).
  std::uint32_t peer_id(const std::string& text, RecordingInfo& info) {
    auto [it, added] = peer_ids_.try_emplace(text, static_cast<std::uint32_t>(peer_ids_.size() + 1));
    if (added) {
      info.peers.emplace(it->second, text);
      sink->on_peer(it->second, text);
    }
    return it->second;
  }

  std::string info_local_, info_peer_, text_;
  PayloadChunk chunk_;        // the payload line being read (its buffer reused)
  bool payload_line = false;  // the line just parsed was a payload line (chunk_), not a record
  std::uint64_t payload_token = 0;
  bool recheck = false;       // a line the stream already took, read again alone: no side effects
  std::unordered_map<std::string, std::uint32_t> peer_ids_;
};

/// The first problem of a file: its line (0: the whole file) and what is wrong.
struct Failure {
  std::uint64_t line = 0;
  std::string what;
};

bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }
bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/// Reads a recording in windows: the header line alone, then the record lines of each window
/// through one document stream. Records go to the sink in batches of RecordingSink::kBatch.
class Reader {
 public:
  Reader(const RecordingLimits& limits, RecordingSink& sink, RecordingProgress* progress)
      : limits_(limits), sink_(sink), progress_(progress) {
    lp_.sink = &sink;
    batch_.reserve(RecordingSink::kBatch);
  }

  /// Reads the file as it was when it was opened: `file_size` bytes (a file that grows
  /// meanwhile is read up to that size; one that shrinks, up to its end).
  std::optional<Failure> read(int fd, std::uint64_t file_size);

  RecordingInfo& info() noexcept { return info_; }
  /// Hands the records of the good lines read so far to the sink (after a failure: the
  /// contract of read_recording).
  void flush() {
    if (batch_.empty()) return;
    sink_.on_records(batch_);
    batch_.clear();
    if (progress_) progress_->records.store(info_.records, std::memory_order_relaxed);
  }

 private:
  /// Line `line_no` alone, [p, p + len), read with `room` bytes readable from p: the header
  /// (line 1) or a record, appended when `append`.
  std::optional<Failure> one_line(const char* p, std::size_t len, std::size_t room, std::uint64_t line_no,
                                  bool append);
  /// The record lines [begin, end) (whole lines; `room_end` ends the readable buffer).
  std::optional<Failure> lines(const char* begin, const char* end, const char* room_end);
  void push(const Record& r) {
    // A full batch goes when the next record comes, not at once: the last record pushed is
    // still here if its line turns out bad after all (see lines(), `taken`).
    if (batch_.size() == RecordingSink::kBatch) flush();
    batch_.push_back(r);
    ++info_.records;
    last_was_stats_ = r.kind == RecordKind::stats;
  }
  /// The line just parsed: a record, or a payload line (handed over in file order: after the
  /// records before it).
  void take(const Record& r) {
    last_take_payload_ = lp_.payload_line;
    if (!lp_.payload_line) return push(r);
    flush();
    ++info_.payload_lines;
    sink_.on_payload(lp_.payload_token, lp_.chunk_);
  }
  /// Takes back the last record pushed (its line was found bad after it was pushed). A
  /// payload line is handed over at once, so one found bad afterwards stays given (the read
  /// fails all the same).
  void unpush() {
    if (last_take_payload_) return;
    if (batch_.empty()) return;
    batch_.pop_back();
    --info_.records;
  }
  [[nodiscard]] bool cancelled() const noexcept {
    return progress_ && progress_->cancel.load(std::memory_order_relaxed);
  }

  const RecordingLimits& limits_;
  RecordingSink& sink_;
  RecordingProgress* progress_;
  std::vector<Record> batch_;
  RecordingInfo info_;
  LineParser lp_;
  std::uint64_t line_no_ = 0;  // lines read so far
  bool last_was_stats_ = false;
  bool last_take_payload_ = false;

 public:
  static constexpr std::string_view kCancelled = "cancelled";
};

std::optional<Failure> Reader::one_line(const char* p, std::size_t len, std::size_t room, std::uint64_t line_no,
                                        bool append) {
  if (len > limits_.max_line_bytes)
    return Failure{line_no, "line is longer than the limit of " + std::to_string(limits_.max_line_bytes) + " bytes"};
  if (len == 0) return Failure{line_no, "empty line: expected a JSON object"};
  const simdjson::padded_string_view view(p, len, room);
  std::string err;
  if (line_no == 1) {
    err = lp_.parse_header(view, info_);
  } else {
    Record r;
    lp_.recheck = !append;
    err = lp_.parse(view, r, info_);
    lp_.recheck = false;
    if (err.empty() && append) take(r);
  }
  if (!err.empty()) return Failure{line_no, std::move(err)};
  return std::nullopt;
}

std::optional<Failure> Reader::lines(const char* begin, const char* const end, const char* const room_end) {
  const auto line_end = [end](const char* p) {
    const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
    return nl ? static_cast<const char*>(nl) : end;
  };
  const char* line_start = begin;
  while (line_start < end) {
    // The last line the stream took: a document that began there but ran on past its newline
    // is found only at the next line, and that line, read alone, names the error.
    const char* taken = nullptr;
    const char* const stream_base = line_start;
    simdjson::ondemand::document_stream stream;
    // Every line of the region fits in the region: no larger batch (simdjson allocates for
    // the batch size, not for the input).
    const auto size = static_cast<std::size_t>(end - line_start);
    const std::size_t batch = std::min(std::max<std::size_t>(std::size_t{4} << 20, limits_.max_line_bytes + 64), size);
    bool clean = false, stopped = false;
    if (!lp_.stream_parser.iterate_many(stream_base, size, batch).get(stream)) {
      for (auto it = stream.begin(); it != stream.end(); ++it) {
        // The document must begin at the line's start (after blanks, which a line read alone
        // may have too). simdjson 3.0's current_index() may point at whitespace before the
        // document at a batch boundary: skip it.
        const char* expect = line_start;
        while (expect < end && is_blank(*expect)) ++expect;
        const char* doc_start = stream_base + it.current_index();
        while (doc_start < expect && is_space(*doc_start)) ++doc_start;
        simdjson::ondemand::document_reference doc;
        if ((*it).get(doc) || doc_start != expect) {
          stopped = true;
          break;
        }
        const char* const le = line_end(line_start);
        Record r;
        if (static_cast<std::size_t>(le - line_start) > limits_.max_line_bytes ||
            !lp_.parse_doc(doc, r, info_, false).empty()) {
          stopped = true;
          break;
        }
        take(r);
        ++line_no_;
        taken = line_start;
        line_start = le == end ? end : le + 1;
      }
      // The stream ends quietly before an incomplete last document ("{...} 2,..." on the last
      // line would pass for one record).
      clean = !stopped && line_start == end && stream.truncated_bytes() == 0;
    }
    if (clean) return std::nullopt;
    if (taken) {
      const char* const le = line_end(taken);
      if (auto f = one_line(taken, static_cast<std::size_t>(le - taken), static_cast<std::size_t>(room_end - taken),
                            line_no_, /*append=*/false)) {
        unpush();  // the stream had taken it as a record
        return f;
      }
    }
    if (line_start < end) {
      const char* const le = line_end(line_start);
      if (auto f = one_line(line_start, static_cast<std::size_t>(le - line_start),
                            static_cast<std::size_t>(room_end - line_start), ++line_no_, /*append=*/true))
        return f;
      line_start = le == end ? end : le + 1;
    }
    // The line was fine alone (blanks the stream saw differently): stream on after it.
  }
  return std::nullopt;
}

std::optional<Failure> Reader::read(int fd, std::uint64_t file_size) {
  // `file_size` sizes the window: a small file gets a small one. A window holds two longest
  // lines, so a line that does not end within a full window is too long.
  const std::size_t cap = static_cast<std::size_t>(std::min<std::uint64_t>(
      std::max<std::size_t>(std::size_t{8} << 20, 2 * (limits_.max_line_bytes + 1)), file_size + 1));
  const std::unique_ptr<char[]> buf(new char[cap + simdjson::SIMDJSON_PADDING]);
  char* const room_end = buf.get() + cap + simdjson::SIMDJSON_PADDING;
  // Map the window in with one call rather than a page fault per 4 KiB as the first read
  // fills it. Best effort.
  os::populate(buf.get(), cap);
  std::size_t filled = 0;
  std::uint64_t total = 0;
  bool header_done = false, eof = false;
  while (!eof || filled > 0) {
    if (!eof) {
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(cap - filled, file_size - total));
      auto n = want == 0 ? io_result<std::size_t>(0) : os::read_some(fd, std::span<char>(buf.get() + filled, want));
      if (!n) return Failure{0, "read failed: " + errno_name(n.error().value())};
      if (*n == 0) eof = true;
      filled += *n;
      total += *n;
    }
    char* const base = buf.get();
    char* region_end;
    if (eof) {
      region_end = base + filled;
    } else {
      void* last = ::memrchr(base, '\n', filled);
      if (!last) {
        if (filled == cap)
          return Failure{line_no_ + 1,
                         "line is longer than the limit of " + std::to_string(limits_.max_line_bytes) + " bytes"};
        continue;
      }
      region_end = static_cast<char*>(last) + 1;
    }
    const char* rest = base;
    if (!header_done && region_end > base) {
      const void* nl = std::memchr(base, '\n', static_cast<std::size_t>(region_end - base));
      const char* le = nl ? static_cast<const char*>(nl) : region_end;
      if (auto f = one_line(base, static_cast<std::size_t>(le - base), static_cast<std::size_t>(room_end - base),
                            ++line_no_, /*append=*/true))
        return f;
      header_done = true;
      rest = le == region_end ? region_end : le + 1;
    }
    if (rest < region_end) {
      // simdjson reads the byte after the stream as the end of its last document: a stale
      // '}' there (the next line's, an older window's, the heap's) let a malformed last
      // object pass as a record. It reads zeros instead, as after a simdjson::padded_string;
      // the bytes are put back for the next window.
      std::array<char, simdjson::SIMDJSON_PADDING> saved;
      std::memcpy(saved.data(), region_end, saved.size());
      std::memset(region_end, 0, saved.size());
      if (auto f = lines(rest, region_end, room_end)) return f;
      std::memcpy(region_end, saved.data(), saved.size());
    }
    const auto used = static_cast<std::size_t>(region_end - base);
    std::memmove(base, region_end, filled - used);
    filled -= used;
    flush();
    if (progress_) progress_->bytes_read.store(total - filled, std::memory_order_relaxed);
    if (cancelled()) return Failure{line_no_, std::string(kCancelled)};
  }
  if (!header_done) return Failure{1, "empty file: expected the header line"};
  flush();
  info_.ended_with_stats = last_was_stats_;
  return std::nullopt;
}

}  // namespace

std::expected<RecordingInfo, RecordingError> read_recording(const std::string& path, RecordingSink& sink,
                                                            RecordingLimits limits, RecordingProgress* progress) {
  auto fail = [&](std::uint64_t line, std::string what) {
    return std::unexpected(RecordingError{path, line, std::move(what)});
  };
  auto opened = os::open_read(path);
  if (!opened) return fail(0, "cannot open: " + errno_name(opened.error().value()));
  const OwnedFd owner = std::move(*opened);  // closed on every return below
  const auto file_size = os::regular_file_size(owner.get());
  if (!file_size) return fail(0, "not a regular file");
  const std::uint64_t size = *file_size;
  if (progress) progress->bytes_total.store(size, std::memory_order_relaxed);
  if (size > limits.max_file_bytes) {
    return fail(0, "file is " + std::to_string(size) + " bytes, more than the limit of " +
                       std::to_string(limits.max_file_bytes));
  }
  if (size == 0) return fail(1, "empty file: expected the header line");
  Reader reader(limits, sink, progress);
  if (auto f = reader.read(owner.get(), size)) {
    reader.flush();  // the good lines before the bad one reach the sink
    const bool cancelled = f->what == Reader::kCancelled;
    auto e = fail(f->line, std::move(f->what));
    e.error().cancelled = cancelled;
    return e;
  }
  return std::move(reader.info());
}

namespace {
/// load_recording's scratch: the store it fills and the payload it keeps, moved into the
/// caller's only on success.
class StoreSink final : public RecordingSink {
 public:
  StoreSink(const StoreLimits& limits, std::uint64_t max_payload_bytes)
      : store(limits), max_payload_bytes_(max_payload_bytes) {}
  void on_records(std::span<const Record> batch) override {
    for (const Record& r : batch) store.append(r);
  }
  void on_payload(std::uint64_t token, const PayloadChunk& chunk) override {
    payload[token].push_back(chunk);
    order_.push_back(token);
    kept_ += chunk.bytes.size();
    // The oldest chunks go first, whichever source they belong to (a source's chunks are in
    // file order, so its oldest is the front of its list).
    while (kept_ > max_payload_bytes_) {
      auto it = payload.find(order_.front());
      order_.pop_front();
      const std::size_t n = it->second.front().bytes.size();
      kept_ -= n;
      bytes_cut += n;
      ++chunks_cut;
      it->second.pop_front();
      if (it->second.empty()) payload.erase(it);
    }
  }
  RecordStore store;
  std::unordered_map<std::uint64_t, std::deque<PayloadChunk>> payload;
  std::uint64_t bytes_cut = 0, chunks_cut = 0;

 private:
  std::uint64_t max_payload_bytes_;
  std::uint64_t kept_ = 0;
  std::deque<std::uint64_t> order_;  // the token of every chunk kept, oldest first
};
}  // namespace

std::expected<RecordingInfo, RecordingError> load_recording(const std::string& path, RecordStore& store,
                                                            RecordingLimits limits) {
  StoreSink sink(store.limits(), limits.max_payload_bytes);
  auto info = read_recording(path, sink, limits);
  if (info) {
    store = std::move(sink.store);
    info->payload = std::move(sink.payload);
    info->payload_bytes_cut = sink.bytes_cut;
    info->payload_chunks_cut = sink.chunks_cut;
  }
  return info;
}

}  // namespace ready::capture
