// Recordings: records written to and read from a JSON Lines file (docs/recording-format.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

#include "ready/capture/record.h"
#include "ready/capture/store.h"
#include "ready/error.h"
#include "ready/owned_fd.h"

namespace ready::capture {

/// The value of the header's "format" field, and the version this code writes and reads.
inline constexpr std::string_view kRecordingFormat = "readyscope-recording";
inline constexpr int kRecordingVersion = 1;

/// The addresses of a source, as source lines spell them ("" when it has none).
struct SourceAddresses {
  std::string local;
  std::string peer;
};

struct RecordingWriterOptions {
  /// Replace an existing regular file instead of failing with EEXIST.
  bool overwrite = false;
  /// The header's "started" (ISO 8601). Empty: the current UTC time.
  std::string started;
  /// The text of a note record (its `value`), e.g. Engine::note_text. Unset or nullopt:
  /// the note line has "text": "".
  std::function<std::optional<std::string>(std::uint64_t id)> note_text;
  /// A source's addresses by token, e.g. from Engine::source_info. Asked at each of the
  /// token's source lines; when it answers nullopt (the source is gone) the last answer is
  /// reused, so a source_removed line still names its addresses.
  std::function<std::optional<SourceAddresses>(std::uint64_t token)> addresses;
  /// The address of a datagram action's peer (Record::peer_id), e.g. Engine::peer_text;
  /// written as the action line's "peer". Unset or nullopt: no "peer".
  std::function<std::optional<std::string>(std::uint64_t id)> peer_text;
};

/// Writes a recording. Buffered: lines collect in a buffer of kBufferBytes and go to the
/// file when it is full, on `flush()` and on `close()`; so at most kBufferBytes of written
/// records are lost if the process dies without flushing. The file is complete after
/// `close()` (the destructor closes too, but cannot report an error). Not thread-safe.
class RecordingWriter {
 public:
  static constexpr std::size_t kBufferBytes = std::size_t{1} << 20;

  /// Creates `path` (mode 0644 before umask; O_CLOEXEC, O_NOFOLLOW, and O_EXCL unless
  /// `overwrite`) and writes the header line. Errors: EEXIST when the file exists and
  /// overwrite is false; ELOOP when `path` is a symbolic link; any open/write errno.
  [[nodiscard]] static io_result<RecordingWriter> create(const std::string& path,
                                                         RecordingWriterOptions options = {});

  RecordingWriter(RecordingWriter&&) noexcept;
  RecordingWriter& operator=(RecordingWriter&&) noexcept;
  RecordingWriter(const RecordingWriter&) = delete;
  RecordingWriter& operator=(const RecordingWriter&) = delete;
  ~RecordingWriter();

  /// Appends one line per record. After an error the writer is failed: every later call
  /// returns the same error (EBADF once closed).
  io_result<void> write(std::span<const Record> records);
  io_result<void> write(const Record& record) { return write(std::span<const Record>(&record, 1)); }
  /// Writes the buffer to the file.
  io_result<void> flush();
  /// Flushes and closes the file. Idempotent (a second close returns success).
  io_result<void> close();

  /// Records written so far (not counting the header).
  [[nodiscard]] std::uint64_t records() const noexcept { return records_; }

 private:
  RecordingWriter(OwnedFd fd, RecordingWriterOptions options);
  void append_line(const Record& r);
  std::string_view addresses_field(std::uint64_t token, bool peer);

  OwnedFd fd_;
  RecordingWriterOptions options_;
  std::string buf_;
  std::uint64_t records_ = 0;
  std::error_code failed_;
  std::unordered_map<std::uint64_t, SourceAddresses> addresses_;
};

/// What went wrong reading a recording: one line naming the file, the line and what was
/// expected. `line` is 0 for a problem with the whole file (cannot open, too big).
struct RecordingError {
  std::string path;
  std::uint64_t line = 0;
  std::string what;
  /// "path:line: what" (or "path: what" when line is 0).
  [[nodiscard]] std::string message() const;
};

struct RecordingLimits {
  /// Largest file accepted.
  std::uint64_t max_file_bytes = std::uint64_t{4} << 30;
  /// Longest line accepted (without its newline).
  std::size_t max_line_bytes = std::size_t{1} << 20;
};

/// What a recording holds besides its records.
struct RecordingInfo {
  std::string started;                                         ///< the header's "started"
  std::uint64_t records = 0;                                   ///< record lines read
  std::unordered_map<std::uint64_t, std::string> notes;        ///< note id -> text
  std::unordered_map<std::uint64_t, SourceAddresses> sources;  ///< token -> addresses (first seen)
  /// Record::peer_id of the action lines -> the "peer" they named (ids 1, 2, ... in the order
  /// the addresses first appear).
  std::unordered_map<std::uint64_t, std::string> peers;
};

/// Reads a whole recording: validates the header and every line, then replaces the
/// content of `store` with the records (a new store with `store`'s limits, moved in at the
/// end). On any error `store` is left exactly as it was and the error names the first bad
/// line. Records read back equal the ones written for every field the format keeps (see
/// docs/recording-format.md; the engine's records are kept entirely).
[[nodiscard]] std::expected<RecordingInfo, RecordingError> load_recording(const std::string& path,
                                                                          RecordStore& store,
                                                                          RecordingLimits limits = {});

}  // namespace ready::capture
