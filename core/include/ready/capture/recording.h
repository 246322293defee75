// Recordings: records written to and read from a JSON Lines file (docs/recording-format.md).
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <cstdint>
#include <expected>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

#include "ready/capture/engine.h"
#include "ready/capture/record.h"
#include "ready/capture/store.h"
#include "ready/error.h"
#include "ready/owned_fd.h"

namespace ready::capture {

/// The value of the header's "format" field, and the versions this code writes and reads:
/// version 1 (records only), and version 2, the same with payload lines, written only when
/// RecordingWriterOptions::payload is set (so that a reader that knows only version 1, the
/// last release, still opens every file without payload), and version 3, which may also hold
/// queue lines, written only when RecordingWriterOptions::queue is set. docs/recording-format.md,
/// "Versions".
inline constexpr std::string_view kRecordingFormat = "readyscope-recording";
inline constexpr int kRecordingVersion = 1;
inline constexpr int kRecordingPayloadVersion = 2;
inline constexpr int kRecordingQueueVersion = 3;

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
  /// Write a version-2 file, which may hold payload lines (write_payload). Without it the
  /// file is version 1 and write_payload fails with EINVAL.
  bool payload = false;
  /// Write a version-3 file, which may hold queue lines (and payload lines, with `payload`).
  /// Without it queue records are left out (write and write_within take them and write
  /// nothing): a version-1 or version-2 file cannot hold them.
  bool queue = false;
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
  /// Appends `record`'s line only if the file then holds at most `limit` bytes (header and
  /// buffer included); returns whether it did. Nothing changes when it does not (the
  /// Recorder's rotation asks this before each line). `by_recorder` marks the line
  /// `"recorder":true` (a line the Recorder adds, not one the engine produced).
  io_result<bool> write_within(const Record& record, std::uint64_t limit, bool by_recorder = false);
  /// Appends payload lines for the bytes one read or write of source `token` moved (format:
  /// docs/recording-format.md, "payload"): one line per kPayloadLineBytes of `chunk`, each
  /// with its stream offset. EINVAL unless the writer was created with `payload`.
  io_result<void> write_payload(std::uint64_t token, const PayloadChunk& chunk);
  /// As write_payload, for the piece of `chunk` from byte `from` on, only if its line keeps the
  /// file within `limit` bytes. Returns the bytes written (0: the next line would not fit).
  io_result<std::size_t> write_payload_within(std::uint64_t token, const PayloadChunk& chunk, std::size_t from,
                                              std::uint64_t limit);
  /// Writes the buffer to the file.
  io_result<void> flush();
  /// Flushes and closes the file. Idempotent (a second close returns success).
  io_result<void> close();

  /// Records written so far (not counting the header or payload lines).
  [[nodiscard]] std::uint64_t records() const noexcept { return records_; }
  /// Payload lines and the payload bytes they hold, written so far.
  [[nodiscard]] std::uint64_t payload_lines() const noexcept { return payload_lines_; }
  [[nodiscard]] std::uint64_t payload_bytes() const noexcept { return payload_bytes_; }
  /// The size of the file once its buffer is written: every line appended so far.
  [[nodiscard]] std::uint64_t bytes() const noexcept { return flushed_ + buf_.size(); }

  /// The most payload bytes one payload line holds; a longer chunk is split into lines of
  /// this much (each with its offset), which keeps a line far below the reader's line limit.
  static constexpr std::size_t kPayloadLineBytes = 16 * 1024;

 private:
  RecordingWriter(OwnedFd fd, RecordingWriterOptions options);
  void append_line(const Record& r, bool by_recorder = false);
  void append_payload_line(std::uint64_t token, const PayloadChunk& chunk, std::size_t from, std::size_t n);
  io_result<void> flush_if_full();
  std::string_view addresses_field(std::uint64_t token, bool peer);

  OwnedFd fd_;
  RecordingWriterOptions options_;
  std::string buf_;
  std::uint64_t records_ = 0;
  std::uint64_t payload_lines_ = 0;
  std::uint64_t payload_bytes_ = 0;
  std::uint64_t flushed_ = 0;  // bytes written to the file
  std::error_code failed_;
  std::unordered_map<std::uint64_t, SourceAddresses> addresses_;
};

/// What went wrong reading a recording: one line naming the file, the line and what was
/// expected. `line` is 0 for a problem with the whole file (cannot open, too big).
struct RecordingError {
  std::string path;
  std::uint64_t line = 0;
  std::string what;
  /// The read was stopped through RecordingProgress::cancel (`what` says so).
  bool cancelled = false;
  /// "path:line: what" (or "path: what" when line is 0).
  [[nodiscard]] std::string message() const;
};

struct RecordingLimits {
  /// Largest file accepted.
  std::uint64_t max_file_bytes = std::uint64_t{4} << 30;
  /// Longest line accepted (without its newline).
  std::size_t max_line_bytes = std::size_t{1} << 20;
  /// Payload bytes load_recording keeps (RecordingInfo::payload), all sources together:
  /// 256 MiB. Beyond it the oldest chunks (of any source) are dropped, as a store evicts its
  /// oldest records, and counted (RecordingInfo::payload_bytes_cut). read_recording hands
  /// every chunk to its sink and does not apply it.
  std::uint64_t max_payload_bytes = std::uint64_t{256} << 20;
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
  /// The last record line is a stats line, as a recorder that closed its file writes. False:
  /// the recorder was stopped before it could finish (killed, or the machine went down); the
  /// records read are all there is.
  bool ended_with_stats = false;
  /// The header's version (kRecordingVersion; kRecordingPayloadVersion: payload lines may
  /// follow; kRecordingQueueVersion: payload and queue lines may follow).
  int version = kRecordingVersion;
  /// Record lines marked `"recorder":true`: written by a Recorder (a source repeated at the
  /// start of a rotated file, the stats line that ends a file, a payload_truncated warning),
  /// not produced by the engine. `records - recorder_lines` is what the capture produced
  /// into this file.
  std::uint64_t recorder_lines = 0;
  /// Payload lines read (handed to RecordingSink::on_payload).
  std::uint64_t payload_lines = 0;
  /// load_recording only: the payload kept, by token, oldest chunk first, at most
  /// RecordingLimits::max_payload_bytes bytes in all.
  std::unordered_map<std::uint64_t, std::deque<PayloadChunk>> payload;
  /// load_recording only: payload bytes (and chunks) dropped to keep within max_payload_bytes.
  std::uint64_t payload_bytes_cut = 0;
  std::uint64_t payload_chunks_cut = 0;
};

/// How far a read_recording has come, and a way to stop it. The reading thread writes the
/// counters (relaxed), any thread may read them and set `cancel`.
struct RecordingProgress {
  std::atomic<std::uint64_t> bytes_total{0};  ///< the file's size, set once it is opened
  std::atomic<std::uint64_t> bytes_read{0};   ///< bytes of the file consumed (whole lines)
  std::atomic<std::uint64_t> records{0};      ///< record lines handed to the sink
  /// Set by any thread: the read stops at its next batch and fails with
  /// RecordingError::cancelled set (the sink keeps what it was given).
  std::atomic<bool> cancel{false};
};

/// Where read_recording puts what it reads, as it reads it (on the reading thread). Each
/// side table entry is handed over before the first batch holding a record that refers to it.
class RecordingSink {
 public:
  virtual ~RecordingSink() = default;
  /// The next record lines, in file order (a batch of at most kBatch; valid during the call).
  virtual void on_records(std::span<const Record> batch) = 0;
  /// A note line's text (Record::note_id -> text); a later note with the same id replaces it.
  virtual void on_note(std::uint64_t id, const std::string& text) { (void)id, (void)text; }
  /// The addresses of a source, from its first source line that names any.
  virtual void on_source(std::uint64_t token, const SourceAddresses& addresses) { (void)token, (void)addresses; }
  /// A datagram peer first named by an action line (Record::peer_id -> text).
  virtual void on_peer(std::uint64_t id, const std::string& text) { (void)id, (void)text; }
  /// A payload line (version-2 recordings, docs/recording-format.md "payload"): bytes one
  /// read or write of source `token` moved (a longer chunk comes as several lines, each
  /// its own call). In file order: the records before the line were handed over already
  /// (in a batch cut short for it). Valid during the call.
  virtual void on_payload(std::uint64_t token, const PayloadChunk& chunk) { (void)token, (void)chunk; }

  static constexpr std::size_t kBatch = 4096;
};

/// Reads a recording from start to end, handing records and side tables to `sink` as it goes
/// (so a reader on another thread can show a long file while it loads). The file is
/// validated line by line: on the first bad line it stops and returns the error; what came
/// before it was already given to the sink (a caller that must not change on failure, like
/// load_recording, collects into a scratch sink). `progress` (optional) is updated per batch
/// and its `cancel` is honoured per batch.
[[nodiscard]] std::expected<RecordingInfo, RecordingError> read_recording(const std::string& path,
                                                                          RecordingSink& sink,
                                                                          RecordingLimits limits = {},
                                                                          RecordingProgress* progress = nullptr);

/// Reads a whole recording: validates the header and every line, then replaces the
/// content of `store` with the records (a new store with `store`'s limits, moved in at the
/// end). On any error `store` is left exactly as it was and the error names the first bad
/// line. Records read back equal the ones written for every field the format keeps (see
/// docs/recording-format.md; the engine's records are kept entirely).
[[nodiscard]] std::expected<RecordingInfo, RecordingError> load_recording(const std::string& path,
                                                                          RecordStore& store,
                                                                          RecordingLimits limits = {});

}  // namespace ready::capture
