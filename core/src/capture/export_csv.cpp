// The CSV exporter: one RFC 4180 row per record, with the recording format's field names as
// columns (docs/export.md). Rows are built by hand into a large buffer.
#include <array>
#include <string>
#include <string_view>
#include <unordered_map>
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
using exporting::put_seconds;
using exporting::put_u64;

namespace {

// The columns, in order: the recording's field names ("t_s" is its t_ns in seconds). Each
// kind's value fields (recording::value_names) are columns of their own, found by name.
// "readable" and "unsent" (queue rows) came later: last, so the columns before keep their places.
constexpr std::array<std::string_view, 33> kColumns = {
    "t_s",    "type",     "event",   "token",   "fd",       "flags",     "epoll",    "op",
    "result", "n",        "errno",   "command", "peer",     "kind",      "local",    "interest",
    "mode",   "reaction", "related", "read_n",  "bytes_in", "bytes_out", "events",   "blocked_ns",
    "id",     "text",     "warning", "value",   "produced", "dropped",   "delivered", "readable",
    "unsent"};

constexpr int column(std::string_view name) {
  for (std::size_t i = 0; i < kColumns.size(); ++i)
    if (kColumns[i] == name) return static_cast<int>(i);
  return -1;
}
// Every value name of every kind has its column.
constexpr bool every_value_has_a_column() {
  for (std::size_t k = 0; k < enum_count<RecordKind>; ++k) {
    const auto names = recording::value_names(static_cast<RecordKind>(k));
    if ((!names.value.empty() && column(names.value) < 0) ||
        (!names.value2.empty() && column(names.value2) < 0))
      return false;
  }
  return true;
}
static_assert(every_value_has_a_column());

enum Col : int {
  c_t_s = column("t_s"),
  c_type = column("type"),
  c_event = column("event"),
  c_token = column("token"),
  c_fd = column("fd"),
  c_flags = column("flags"),
  c_epoll = column("epoll"),
  c_op = column("op"),
  c_result = column("result"),
  c_errno = column("errno"),
  c_peer = column("peer"),
  c_kind = column("kind"),
  c_local = column("local"),
  c_interest = column("interest"),
  c_mode = column("mode"),
  c_reaction = column("reaction"),
  c_text = column("text"),
  c_warning = column("warning"),
  c_delivered = column("delivered"),
  c_end = static_cast<int>(kColumns.size()),
};

bool needs_quotes(std::string_view s) { return s.find_first_of(",\"\r\n") != std::string_view::npos; }

/// Outside text as one field: quoted, with quotes doubled, when RFC 4180 requires it.
void put_text(std::string& out, std::string_view s) {
  if (!needs_quotes(s)) {
    out += s;
    return;
  }
  out += '"';
  for (const char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

std::string make_header() {
  std::string h;
  for (std::size_t i = 0; i < kColumns.size(); ++i) {
    if (i) h += ',';
    h += kColumns[i];
  }
  return h;
}

}  // namespace

struct CsvWriter::State {
  State(exporting::Out o, ExportOptions opts)
      : options(std::move(opts)), out(std::move(o)), addresses(options) {
    for (std::size_t k = 0; k < value_cols.size(); ++k) {
      const auto names = recording::value_names(static_cast<RecordKind>(k));
      value_cols[k] = {names.value.empty() ? -1 : column(names.value),
                       names.value2.empty() ? -1 : column(names.value2)};
    }
  }

  ExportOptions options;
  exporting::Out out;
  exporting::AddressBook addresses;
  std::unordered_map<std::uint32_t, std::string> peer_csv;  // peer id -> its field ("" none)
  std::array<std::pair<int, int>, enum_count<RecordKind>> value_cols{};
  std::uint64_t records = 0;
  int col = 0;  // the column the row is at (the next field goes here after its commas)

  /// Moves the row to column `c`: one comma per column passed. Fields are written in column
  /// order, so `c` is never behind (a field out of order would be dropped, and the suite's
  /// field count per row catches it).
  void to(int c) {
    if (c <= col) return;
    out.buf.append(static_cast<std::size_t>(c - col), ',');
    col = c;
  }
  void put_number_at(int c, std::uint64_t v) {
    to(c);
    put_u64(out.buf, v);
  }
  void put_name_at(int c, std::string_view name) {
    to(c);
    out.buf += name;
  }

  void row(const Record& r);
};

void CsvWriter::State::row(const Record& r) {
  std::string& o = out.buf;
  col = 0;
  put_seconds(o, r.t_ns);
  put_name_at(c_type, recording::type_name(r.kind));
  if (recording::is_source_kind(r.kind))
    put_name_at(c_event, recording::kSourceEventNames[static_cast<std::size_t>(r.kind) -
                                                      static_cast<std::size_t>(RecordKind::source_added)]);
  if (RecordStore::is_indexed_by_token(r.kind)) {
    put_number_at(c_token, r.token);
    to(c_fd);
    put_i64(o, r.fd);
  }
  switch (r.kind) {
    case RecordKind::readiness: {
      to(c_flags);
      const std::uint32_t f = readiness_flags(r.bits);
      bool first = true;
      for (std::size_t i = 0; i < kReadinessFlagNames.size(); ++i) {
        if (!(f & (1u << i))) continue;
        if (!first) o += '|';
        first = false;
        o += kReadinessFlagNames[i];
      }
      to(c_epoll);
      put_hex(o, r.bits);
      break;
    }
    case RecordKind::action:
      put_name_at(c_op, name_of(r.action_op()));
      put_name_at(c_result, name_of(r.outcome));
      break;
    case RecordKind::source_added:
    case RecordKind::source_changed:
    case RecordKind::source_removed:  // from column "peer" on, below
    case RecordKind::warning:
    case RecordKind::poll_return:
    case RecordKind::note:
    case RecordKind::stats:
    case RecordKind::queue:
      break;
  }
  // The rest in column order: value fields interleave with the named ones.
  const auto [vc1, vc2] = value_cols[static_cast<std::size_t>(r.kind)];
  // produced / dropped and readable / unsent even when 0, as the recording
  const bool always = r.kind == RecordKind::stats || r.kind == RecordKind::queue;
  const auto put_values_before = [&](int c) {
    if (vc1 > col && vc1 < c && (r.value != 0 || always)) put_number_at(vc1, r.value);
    if (vc2 > col && vc2 < c && (r.value2 != 0 || always)) put_number_at(vc2, r.value2);
  };
  const bool has_errno = r.err != 0 && (r.kind == RecordKind::action || r.kind == RecordKind::warning);
  put_values_before(c_errno);
  if (has_errno) put_name_at(c_errno, errno_name(r.err));
  put_values_before(c_peer);
  if (r.kind == RecordKind::action && r.peer_id() != 0 && options.peer_text) {
    auto it = peer_csv.find(r.peer_id());
    if (it == peer_csv.end()) {
      std::string field;
      if (auto text = options.peer_text(r.peer_id())) put_text(field, *text);
      it = peer_csv.emplace(r.peer_id(), std::move(field)).first;
    }
    put_name_at(c_peer, it->second);
  }
  if (recording::is_source_kind(r.kind)) {
    const SourceAddresses& a = addresses.refresh(r.token);
    to(c_peer);
    put_text(o, a.peer);
    put_name_at(c_kind, name_of(r.source_kind()));
    to(c_local);
    put_text(o, a.local);
    to(c_interest);
    bool first = true;
    for (const auto& [interest, name] : kInterestNames) {
      if (!(r.bits & interest.bits())) continue;
      if (!first) o += '|';
      first = false;
      o += name;
    }
    const SourceBits b = SourceBits::unpack(r.bits);
    put_name_at(c_mode, name_of(b.trigger));
    put_name_at(c_reaction, name_of(b.reaction));
    if (r.kind == RecordKind::source_removed) addresses.forget(r.token);
  }
  put_values_before(c_text);
  if (r.kind == RecordKind::note) {
    std::optional<std::string> text;
    if (options.note_text) text = options.note_text(r.note_id());
    to(c_text);
    if (text) put_text(o, *text);
  }
  put_values_before(c_warning);
  if (r.kind == RecordKind::warning) put_name_at(c_warning, name_of(r.warning_kind()));
  put_values_before(c_delivered);
  if (r.kind == RecordKind::stats) put_number_at(c_delivered, r.produced() - r.dropped());
  put_values_before(c_end);
  to(c_end - 1);
  o += "\r\n";
}

const std::string& CsvWriter::header() {
  static const std::string h = make_header();
  return h;
}

io_result<CsvWriter> CsvWriter::create(const std::string& path, ExportOptions options) {
  auto out = exporting::Out::create(path, options.overwrite, kBufferBytes);
  if (!out) return std::unexpected(out.error());
  auto s = std::make_unique<State>(std::move(*out), std::move(options));
  s->out.buf += header();
  s->out.buf += "\r\n";
  if (auto f = s->out.flush(); !f) return std::unexpected(f.error());
  return CsvWriter(std::move(s));
}

CsvWriter::CsvWriter(std::unique_ptr<State> s) : s_(std::move(s)) {}
CsvWriter::CsvWriter(CsvWriter&&) noexcept = default;
CsvWriter& CsvWriter::operator=(CsvWriter&& o) noexcept {
  if (this != &o) {
    (void)close();
    s_ = std::move(o.s_);
  }
  return *this;
}
CsvWriter::~CsvWriter() { (void)close(); }

io_result<void> CsvWriter::write(std::span<const Record> records) {
  if (!s_) return std::unexpected(os_error(EBADF));
  return exporting::write_records(s_->out, records, s_->records, [&](const Record& r) { s_->row(r); });
}

io_result<void> CsvWriter::close() {
  if (!s_) return {};
  return s_->out.close();
}

std::uint64_t CsvWriter::records() const noexcept { return s_ ? s_->records : 0; }
std::uint64_t CsvWriter::bytes_written() const noexcept { return s_ ? s_->out.bytes_written() : 0; }

}  // namespace ready::capture
