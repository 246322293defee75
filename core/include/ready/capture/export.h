// Exports: records written as a Chrome Trace Event JSON file (opens in ui.perfetto.dev and
// chrome://tracing) or as CSV (docs/export.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "ready/capture/record.h"
#include "ready/capture/recording.h"
#include "ready/error.h"

namespace ready::capture {

/// What an exporter is told besides the records. The three lookups are RecordingWriter's
/// (RecordingWriterOptions), with the same meaning: from a live Engine (note_text,
/// source_info, peer_text) or from a read recording (RecordingInfo::notes, sources, peers).
/// They are called on the thread that calls write(), at most once per source record, note
/// and new datagram peer, and once when a token's track is named.
struct ExportOptions {
  /// Replace an existing regular file instead of failing with EEXIST.
  bool overwrite = false;
  /// The text of a note record (Record::note_id). Unset or nullopt: "".
  std::function<std::optional<std::string>(std::uint64_t id)> note_text;
  /// A source's addresses by token, asked at each of its source records and when a trace
  /// names its track; nullopt (the source is gone) keeps the last answer.
  std::function<std::optional<SourceAddresses>(std::uint64_t token)> addresses;
  /// The text of a datagram action's peer (Record::peer_id). Unset or nullopt: no peer.
  std::function<std::optional<std::string>(std::uint64_t id)> peer_text;
  /// Trace: the name of the capture's process track ("" gives "readyscope capture").
  std::string capture_name;
  /// Trace: the width of one bin of the counters (bytes in/out per second, events per
  /// second), at least 1 ms. Default 100 ms.
  std::uint64_t counter_bin_ns = 100'000'000;
};

/// Writes records as Chrome Trace Event JSON, streaming (docs/export.md has the mapping).
///
/// The file is the object form: `{"displayTimeUnit":"ns","traceEvents":[` is written by
/// `create`, one event per line follows, and `close()` writes the last counter bin and
/// `]}`; so a closed file is always well-formed JSON, however few records it was given.
/// Times (`ts`, `dur`) are the records' nanoseconds written as microseconds with three
/// decimals, exactly (integer arithmetic). One process (pid 1) per file; one track (tid) per
/// token, named by a `thread_name` metadata event written before the track's first event;
/// tid 0 is the poll loop, which also holds notes, stats and the token-0 warnings. On the
/// poll loop each `poll_return` is a complete event (`X`) covering its blocked time; a span
/// that would start before the previous one ended is shortened to start there (counted:
/// `spans_clamped()`), so no two complete events of one track overlap.
///
/// Buffered like RecordingWriter: events collect in a buffer of about kBufferBytes and go to
/// the file when it is full and on `close()`. Not thread-safe, but may be moved to and used
/// from any one thread at a time. Records must come in time order (as a store or a
/// recording gives them); an earlier time is treated as the last time seen.
class TraceWriter {
 public:
  static constexpr std::size_t kBufferBytes = std::size_t{1} << 20;

  /// Creates `path` with RecordingWriter::create's rule (mode 0644 before umask;
  /// O_CLOEXEC, O_NOFOLLOW, and O_EXCL unless `overwrite`) and writes the opening of the
  /// object and the process and poll-loop names. Errors: EEXIST, ELOOP (a symbolic link),
  /// EINVAL (counter_bin_ns below 1 ms), any open/write errno.
  [[nodiscard]] static io_result<TraceWriter> create(const std::string& path, ExportOptions options = {});

  TraceWriter(TraceWriter&&) noexcept;
  TraceWriter& operator=(TraceWriter&&) noexcept;
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;
  /// Closes (see close()); an error cannot be reported here.
  ~TraceWriter();

  /// Appends the events of `records`. After an error the writer is failed: every later
  /// call returns the same error (EBADF once closed).
  io_result<void> write(std::span<const Record> records);
  /// Writes the last counter bin and the end of the array and object, and closes the file.
  /// Idempotent (a second close returns success).
  io_result<void> close();

  /// Records given so far.
  [[nodiscard]] std::uint64_t records() const noexcept;
  /// Trace events written so far (metadata and counters included).
  [[nodiscard]] std::uint64_t events() const noexcept;
  /// Poll-loop spans shortened so as not to overlap the one before.
  [[nodiscard]] std::uint64_t spans_clamped() const noexcept;
  /// Bytes handed to the file so far (the buffer's content not yet included).
  [[nodiscard]] std::uint64_t bytes_written() const noexcept;

 private:
  struct State;
  explicit TraceWriter(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

/// Writes records as CSV (RFC 4180, CRLF line ends), streaming: a header line, then one row
/// per record (docs/export.md lists the columns). Fields that hold outside text (addresses,
/// note texts, peers) are quoted when they contain a comma, a quote, CR or LF, with quotes
/// doubled; every other field is a name of the recording format or a number and is never
/// quoted. Same creation rule, buffering, error and threading contract as TraceWriter.
class CsvWriter {
 public:
  static constexpr std::size_t kBufferBytes = std::size_t{1} << 20;

  /// The header line's columns, in order (without the line end).
  static const std::string& header();

  /// Creates `path` (RecordingWriter::create's rule) and writes the header line.
  [[nodiscard]] static io_result<CsvWriter> create(const std::string& path, ExportOptions options = {});

  CsvWriter(CsvWriter&&) noexcept;
  CsvWriter& operator=(CsvWriter&&) noexcept;
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;
  ~CsvWriter();

  /// Appends one row per record. After an error every later call returns it.
  io_result<void> write(std::span<const Record> records);
  /// Flushes and closes the file. Idempotent.
  io_result<void> close();

  /// Rows written so far (not counting the header).
  [[nodiscard]] std::uint64_t records() const noexcept;
  /// Bytes handed to the file so far (the buffer's content not yet included).
  [[nodiscard]] std::uint64_t bytes_written() const noexcept;

 private:
  struct State;
  explicit CsvWriter(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

}  // namespace ready::capture
