// The recording writer: one JSON line per record, built by hand into a large buffer
// (strings from outside, addresses and note texts, are escaped by nlohmann::json). Format:
// docs/recording-format.md; what a line holds per kind: recording_format.h.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

#include "capture/interest_names.h"
#include "ready/attach/procfs.h"
#include "capture/recording_base64.h"
#include "capture/recording_format.h"
#include "linux/os.h"
#include "ready/capture/command.h"
#include "ready/capture/recording.h"

namespace ready::capture {
namespace {

using recording::is_source_kind;
using recording::kSourceEventNames;
using recording::type_name;
using recording::ValueNames;
using recording::value_names;

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
/// A bit mask as a JSON string, "0x" and lower-case hex (readiness "epoll", a source's "mask").
void put_hex(std::string& out, std::uint32_t v) {
  char tmp[16] = {'"', '0', 'x'};
  const auto res = std::to_chars(tmp + 3, tmp + sizeof tmp - 1, v, 16);
  *res.ptr = '"';
  out.append(tmp, res.ptr + 1);
}

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

RecordingWriter::RecordingWriter(OwnedFd fd, RecordingWriterOptions options)
    : fd_(std::move(fd)), options_(std::move(options)) {
  buf_.reserve(kBufferBytes + 4096);
}

RecordingWriter::RecordingWriter(RecordingWriter&& o) noexcept
    : fd_(std::move(o.fd_)),
      options_(std::move(o.options_)),
      buf_(std::move(o.buf_)),
      records_(o.records_),
      payload_lines_(o.payload_lines_),
      payload_bytes_(o.payload_bytes_),
      flushed_(o.flushed_),
      failed_(o.failed_),
      addresses_(std::move(o.addresses_)) {}

RecordingWriter& RecordingWriter::operator=(RecordingWriter&& o) noexcept {
  if (this != &o) {
    (void)close();
    fd_ = std::move(o.fd_);
    options_ = std::move(o.options_);
    buf_ = std::move(o.buf_);
    records_ = o.records_;
    payload_lines_ = o.payload_lines_;
    payload_bytes_ = o.payload_bytes_;
    flushed_ = o.flushed_;
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
  // Version 2 only when payload lines may follow, 3 only when queue lines may: a reader of an
  // older version opens everything else.
  put_i64(out, w.options_.queue     ? kRecordingQueueVersion
               : w.options_.payload ? kRecordingPayloadVersion
                                    : kRecordingVersion);
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
  if (it == addresses_.end()) it = addresses_.emplace(token, SourceAddresses{}).first;
  // Asked at the local field, once per line: a connect's peer changes from its target to the
  // kernel's view; a source already gone answers nullopt and keeps the last answer.
  if (!peer && options_.addresses) {
    if (auto got = options_.addresses(token)) it->second = std::move(*got);
  }
  return peer ? it->second.peer : it->second.local;
}

void RecordingWriter::append_line(const Record& r, bool by_recorder) {
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
      for (std::size_t i = 0; i < kReadinessFlagNames.size(); ++i) {
        if (!(f & (1u << i))) continue;
        if (!first) out += ',';
        first = false;
        put_name(out, kReadinessFlagNames[i]);
      }
      out += ']';
      put_key(out, "epoll");
      put_hex(out, r.bits);
      break;
    }
    case RecordKind::action:
      put_key(out, "op");
      put_name(out, name_of(r.action_op()));
      put_key(out, "result");
      put_name(out, name_of(r.outcome));
      if (r.peer_id() != 0 && options_.peer_text) {
        if (auto peer = options_.peer_text(r.peer_id())) {
          put_key(out, "peer");
          put_string(out, *peer);
        }
      }
      break;
    case RecordKind::source_added:
    case RecordKind::source_changed:
    case RecordKind::source_removed: {
      put_key(out, "kind");
      put_name(out, name_of(r.source_kind()));
      put_key(out, "local");
      put_string(out, addresses_field(r.token, false));
      put_key(out, "peer");
      put_string(out, addresses_field(r.token, true));
      put_key(out, "interest");
      out += '[';
      bool first = true;
      for (const auto& [interest, name] : kInterestNames) {
        if (!(r.bits & interest.bits())) continue;
        if (!first) out += ',';
        first = false;
        put_name(out, name);
      }
      out += ']';
      // "mode" is the file's spelling of the trigger; a value outside an enum writes "unknown".
      const SourceBits b = SourceBits::unpack(r.bits);
      put_key(out, "mode");
      put_name(out, name_of(b.trigger));
      put_key(out, "reaction");
      put_name(out, name_of(b.reaction));
      if (r.attached_pid() != 0) {  // a registration of an attached process (docs/attach.md)
        put_key(out, "pid");
        put_i64(out, r.attached_pid());
        put_key(out, "epoll_fd");
        put_i64(out, r.attached_epoll_fd());
        put_key(out, "mask");
        put_hex(out, r.attached_events());
        put_key(out, "mask_text");
        put_string(out, attach::mask_text(r.attached_events()));
        put_key(out, "epoll_data");
        put_u64(out, r.attached_data());
      }
      break;
    }
    case RecordKind::note: {
      std::optional<std::string> text;
      if (options_.note_text) text = options_.note_text(r.note_id());
      put_key(out, "text");
      put_string(out, text ? *text : std::string());
      break;
    }
    case RecordKind::warning:
      put_key(out, "warning");
      put_name(out, name_of(r.warning_kind()));
      break;
    case RecordKind::stats:
      put_key(out, "delivered");
      put_u64(out, r.produced() - r.dropped());
      break;
    case RecordKind::poll_return:
    case RecordKind::queue:
      break;
  }
  // An attached process's source line has its own fields above instead.
  const ValueNames names = r.attached_pid() != 0 ? ValueNames{} : value_names(r.kind);
  // produced / dropped and readable / unsent are always written; other values when not zero.
  const bool always = r.kind == RecordKind::stats || r.kind == RecordKind::queue;
  if (!names.value.empty() && (r.value != 0 || always)) {
    put_key(out, names.value);
    put_u64(out, r.value);
  }
  if (!names.value2.empty() && (r.value2 != 0 || always)) {
    put_key(out, names.value2);
    put_u64(out, r.value2);
  }
  if (r.err != 0 && (r.kind == RecordKind::action || r.kind == RecordKind::warning)) {
    put_key(out, "errno");
    put_name(out, errno_name(r.err));  // "ECONNRESET" or "E<number>": no escaping needed
  }
  if (by_recorder) {
    put_key(out, recording::kRecorderKey);
    out += "true";
  }
  out += "}\n";
}

void RecordingWriter::append_payload_line(std::uint64_t token, const PayloadChunk& chunk, std::size_t from,
                                          std::size_t n) {
  std::string& out = buf_;
  out += "{\"type\":";
  put_name(out, recording::kPayloadType);
  out += ",\"t_ns\":";
  put_u64(out, chunk.t_ns);
  put_key(out, "token");
  put_u64(out, token);
  put_key(out, "dir");
  put_name(out, recording::kDirectionNames[static_cast<std::size_t>(chunk.direction)]);
  put_key(out, "offset");
  put_u64(out, chunk.offset + from);
  if (chunk.peer) {
    put_key(out, "peer");
    put_string(out, chunk.peer->to_string());
  }
  if (chunk.unix_peer) {
    if (auto path = chunk.unix_peer->as_pathname()) {
      put_key(out, "unix_peer");
      put_string(out, *path);
    } else if (auto name = chunk.unix_peer->as_abstract_name()) {
      put_key(out, "unix_abstract");
      put_string(out, *name);
    }
  }
  put_key(out, "data");
  out += '"';
  recording::base64_append(out, std::span<const std::byte>(chunk.bytes).subspan(from, n));
  out += "\"}\n";
}

io_result<void> RecordingWriter::flush_if_full() {
  if (buf_.size() >= kBufferBytes) return flush();
  return {};
}

io_result<void> RecordingWriter::write(std::span<const Record> records) {
  if (failed_) return std::unexpected(failed_);
  if (!fd_) return std::unexpected(os_error(EBADF));
  for (const Record& r : records) {
    if (r.kind == RecordKind::queue && !options_.queue) continue;  // no queue lines below version 3
    append_line(r);
    if (r.kind == RecordKind::source_removed) addresses_.erase(r.token);  // its last source line
    ++records_;
    if (auto f = flush_if_full(); !f) return f;
  }
  return {};
}

io_result<bool> RecordingWriter::write_within(const Record& record, std::uint64_t limit, bool by_recorder) {
  if (failed_) return std::unexpected(failed_);
  if (!fd_) return std::unexpected(os_error(EBADF));
  if (record.kind == RecordKind::queue && !options_.queue) return true;  // left out below version 3
  const std::size_t before = buf_.size();
  append_line(record, by_recorder);
  if (bytes() > limit) {
    buf_.resize(before);
    return false;
  }
  if (record.kind == RecordKind::source_removed) addresses_.erase(record.token);
  ++records_;
  if (auto f = flush_if_full(); !f) return std::unexpected(f.error());
  return true;
}

io_result<void> RecordingWriter::write_payload(std::uint64_t token, const PayloadChunk& chunk) {
  if (failed_) return std::unexpected(failed_);
  if (!options_.payload) return std::unexpected(os_error(EINVAL));
  for (std::size_t from = 0; from < chunk.bytes.size();) {
    auto n = write_payload_within(token, chunk, from, UINT64_MAX);
    if (!n) return std::unexpected(n.error());
    from += *n;
  }
  return {};
}

io_result<std::size_t> RecordingWriter::write_payload_within(std::uint64_t token, const PayloadChunk& chunk,
                                                             std::size_t from, std::uint64_t limit) {
  if (failed_) return std::unexpected(failed_);
  if (!fd_) return std::unexpected(os_error(EBADF));
  if (!options_.payload) return std::unexpected(os_error(EINVAL));  // a version-1 file has no payload lines
  if (from >= chunk.bytes.size()) return std::size_t{0};  // nothing left: no empty lines
  const std::size_t n = std::min(kPayloadLineBytes, chunk.bytes.size() - from);
  const std::size_t before = buf_.size();
  append_payload_line(token, chunk, from, n);
  if (bytes() > limit) {
    buf_.resize(before);
    return std::size_t{0};
  }
  ++payload_lines_;
  payload_bytes_ += n;
  if (auto f = flush_if_full(); !f) return std::unexpected(f.error());
  return n;
}

io_result<void> RecordingWriter::flush() {
  if (failed_) return std::unexpected(failed_);
  if (!fd_) return std::unexpected(os_error(EBADF));
  if (auto n = os::write_all(fd_.get(), buf_); !n) {
    failed_ = n.error();
    return std::unexpected(failed_);
  }
  flushed_ += buf_.size();
  buf_.clear();
  return {};
}

io_result<void> RecordingWriter::close() {
  if (!fd_) return {};
  io_result<void> result = failed_ ? io_result<void>(std::unexpected(failed_)) : flush();
  if (auto ec = fd_.close(); ec && result) result = std::unexpected(ec);
  return result;
}

}  // namespace ready::capture
