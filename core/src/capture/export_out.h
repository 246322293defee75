// What the two exporters (export_trace.cpp, export_csv.cpp) share: the output file with its
// buffer, number and time formatting into it, the escaping of outside text, and the
// addresses of each token as RecordingWriter keeps them.
#pragma once

#include <charconv>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>

#include "ready/capture/export.h"
#include "ready/error.h"
#include "ready/owned_fd.h"

namespace ready::capture::exporting {

/// The file an exporter writes and its buffer. Text is appended to `buf`; `maybe_flush()`
/// writes it out once it holds `flush_at` bytes, so the file is written in ~1 MiB pieces and
/// the buffer never reallocates (it is reserved a little above `flush_at`: a record's text
/// is far below the margin, outside text is bounded by the engine and the reader).
class Out {
 public:
  /// Creates `path` (os::create_write: 0644, O_CLOEXEC | O_NOFOLLOW, O_EXCL unless overwrite).
  static io_result<Out> create(const std::string& path, bool overwrite, std::size_t flush_at);

  std::string buf;

  /// The error every call returns once a write failed, EBADF once closed, else success.
  [[nodiscard]] io_result<void> usable() const;
  io_result<void> maybe_flush() { return buf.size() >= flush_at_ ? flush() : io_result<void>{}; }
  io_result<void> flush();
  /// Flushes and closes; idempotent.
  io_result<void> close();
  [[nodiscard]] bool is_open() const noexcept { return static_cast<bool>(fd_); }
  [[nodiscard]] std::uint64_t bytes_written() const noexcept { return written_; }

 private:
  Out(OwnedFd fd, std::size_t flush_at);
  OwnedFd fd_;
  std::size_t flush_at_ = 0;
  std::error_code failed_;
  std::uint64_t written_ = 0;
};

/// An exporter's write(): each record's text appended by `put`, counted in `count`, the
/// buffer flushed whenever it is full; the first failed write ends it and is returned (then
/// by every later call, through `usable()`).
template <class Put>
io_result<void> write_records(Out& out, std::span<const Record> records, std::uint64_t& count, Put&& put) {
  if (auto u = out.usable(); !u) return u;
  for (const Record& r : records) {
    put(r);
    ++count;
    if (auto f = out.maybe_flush(); !f) return f;
  }
  return {};
}

inline void put_u64(std::string& out, std::uint64_t v) {
  char tmp[24];
  const auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
  out.append(tmp, r.ptr);
}
inline void put_i64(std::string& out, std::int64_t v) {
  char tmp[24];
  const auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
  out.append(tmp, r.ptr);
}
/// `whole` then '.' then `frac` as exactly `digits` digits: a time written exactly, with no
/// floating point (ns as "12.345" µs, or as "0.000012345" s).
inline void put_fixed(std::string& out, std::uint64_t whole, std::uint64_t frac, int digits) {
  put_u64(out, whole);
  char tmp[24];
  for (int i = digits - 1; i >= 0; --i, frac /= 10) tmp[i] = static_cast<char>('0' + frac % 10);
  out += '.';
  out.append(tmp, static_cast<std::size_t>(digits));
}
/// Nanoseconds as microseconds with three decimals (the trace's ts and dur).
inline void put_us(std::string& out, std::uint64_t ns) { put_fixed(out, ns / 1000, ns % 1000, 3); }
/// Nanoseconds as seconds with nine decimals (the CSV's time).
inline void put_seconds(std::string& out, std::uint64_t ns) {
  put_fixed(out, ns / 1'000'000'000, ns % 1'000'000'000, 9);
}
/// Raw epoll bits as the recording spells them: "0x2001".
inline void put_hex(std::string& out, std::uint32_t bits) {
  char tmp[16] = {'0', 'x'};
  const auto r = std::to_chars(tmp + 2, tmp + sizeof tmp, bits, 16);
  out.append(tmp, r.ptr);
}

/// Outside text (an address, a note, a peer) as a JSON string, quotes included: escaped by
/// nlohmann::json, invalid UTF-8 replaced by U+FFFD, as the recording writer does.
void put_json_string(std::string& out, std::string_view s);

/// Each token's addresses as RecordingWriter keeps them: asked of the lookup at each of the
/// token's source records; a lookup that answers nothing keeps the last answer.
class AddressBook {
 public:
  explicit AddressBook(const ExportOptions& options) : options_(options) {}
  /// Asks the lookup (when there is one) and returns what is known of `token`.
  const SourceAddresses& refresh(std::uint64_t token);
  /// What is known of `token` without asking the lookup.
  const SourceAddresses& known(std::uint64_t token) { return known_[token]; }
  /// Forgets a token after its last source record (source_removed).
  void forget(std::uint64_t token) { known_.erase(token); }

 private:
  const ExportOptions& options_;
  std::unordered_map<std::uint64_t, SourceAddresses> known_;
};

}  // namespace ready::capture::exporting
