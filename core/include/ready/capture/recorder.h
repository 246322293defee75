// Recorder: a capture written to one recording file, or to a ring of files as dumpcap's
// `-b filesize:… -b files:N` (docs/recording-format.md, "Recorder and rotation").
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "ready/capture/engine.h"
#include "ready/capture/record.h"
#include "ready/capture/recording.h"

namespace ready::capture {

struct RecorderOptions {
  /// The file, or with max_file_bytes the name the ring's files are made from:
  /// `dir/NAME.jsonl` gives `dir/NAME_00001_YYYYMMDDhhmmss.jsonl`, `dir/NAME_00002_…` (the
  /// number counts up from 1; the time is the local time the file was started).
  std::string path;
  /// Replace existing files instead of failing with EEXIST.
  bool overwrite = false;
  /// 0: one file. Otherwise a ring: a new file is started when the next line would take the
  /// current one past this many bytes; a file ends with a stats line, the one line allowed
  /// beyond the bound (so a file is at most max_file_bytes plus one line). At least
  /// kMinFileBytes. A file always takes one line after its opening lines, even a line that
  /// passes the bound on its own (none of this writer's lines are that long at kMinFileBytes).
  std::uint64_t max_file_bytes = 0;
  /// With max_file_bytes: the most files kept; when one more is started the oldest of this
  /// recorder's files is deleted. 0: keep all.
  std::size_t max_files = 0;
  /// Stop after this many records are written (0: no limit): `done()` turns true, later
  /// records are counted (RecorderCounts::records_after_stop) and not written.
  std::uint64_t stop_after_records = 0;
  /// Write the payload of the capture (a version-2 recording with payload lines).
  bool payload = false;
  /// Write queue records (a version-3 recording; RecordingWriterOptions::queue): set it when
  /// the capture samples queues (EngineConfig::queue_sampling), or may be switched to.
  bool queue = false;
  /// Payload bytes written per source, at most; bytes beyond it are counted as cut (and a
  /// payload_truncated warning says so in the file). Default 16 MiB.
  std::uint64_t payload_bytes_per_source = std::uint64_t{16} << 20;
  /// As RecordingWriterOptions (e.g. Engine::note_text, Engine::source_info, Engine::peer_text).
  /// The recorder remembers each source's last addresses itself, so a source repeated at
  /// the start of a new file still names them once the engine forgot it.
  std::function<std::optional<std::string>(std::uint64_t id)> note_text;
  std::function<std::optional<SourceAddresses>(std::uint64_t token)> addresses;
  std::function<std::optional<std::string>(std::uint64_t id)> peer_text;
  /// With `payload`: a source's payload from stream offset `since` on (Engine::payload's
  /// signature and contract).
  std::function<std::optional<PayloadSnapshot>(std::uint64_t token, std::uint64_t since)> payload_fetch;
  /// The engine's produced and dropped counts (Engine::produced, Engine::dropped), for the
  /// stats line that ends a file the engine's own stats did not end. Unset: the records this
  /// recorder was given, and 0.
  std::function<std::pair<std::uint64_t, std::uint64_t>()> counts;
  /// Called (on the writing thread) when a file is complete and closed: its path and the
  /// record lines it holds (the recorder's own lines included).
  std::function<void(const std::string& path, std::uint64_t records)> on_file_closed;
};

/// What a Recorder did so far; every bound it applies is counted here.
struct RecorderCounts {
  std::uint64_t records = 0;             ///< records of write() written (the engine's)
  std::uint64_t records_after_stop = 0;  ///< given after stop_after_records was reached: not written
  std::uint64_t recorder_lines = 0;      ///< lines the recorder added ("recorder":true)
  std::uint64_t files_written = 0;       ///< files completed and closed
  std::uint64_t files_deleted = 0;       ///< the oldest files removed to keep max_files
  std::uint64_t payload_lines = 0;
  std::uint64_t payload_bytes = 0;  ///< payload bytes written
  /// Payload bytes not written: beyond payload_bytes_per_source, or evicted from the
  /// engine's payload buffer before they were fetched.
  std::uint64_t payload_bytes_cut = 0;
};

/// Why a recorder could not be made, or failed: the file (when one is involved) and what.
struct RecorderError {
  std::string path;
  std::string what;
  std::error_code code;  ///< the OS error, if any
  /// "path: what" (or "what" when there is no path).
  [[nodiscard]] std::string message() const;
};

/// Writes a capture to a recording, or to a ring of recordings. Each file is a complete
/// recording: its own header (version 2 with `payload`; "started" is the recorder's creation
/// for every file, since record times count from the capture's start), its records, and a
/// stats line at its end. A rotated file starts, after its header, with a `source` `added` line per source
/// still open (and its last `changed` line, if any), marked `"recorder":true` and timed like the file's first
/// record, so it opens alone with named lanes; `RecordingInfo::recorder_lines` lets a reader tell those lines
/// from the capture's, so the records of the files add up to the records written.
///
/// Not thread-safe, but not bound to a thread either: one thread at a time (the headless
/// loop's, or a writer thread the window hands batches to). The callbacks run on it.
class Recorder {
 public:
  /// The smallest max_file_bytes of a ring (64 KiB: a fresh file holds a payload line).
  static constexpr std::uint64_t kMinFileBytes = std::uint64_t{64} << 10;

  /// Checks the options (max_files needs max_file_bytes; max_file_bytes at least
  /// kMinFileBytes; payload needs payload_fetch) and creates the first file.
  [[nodiscard]] static std::expected<Recorder, RecorderError> create(RecorderOptions options);

  Recorder(Recorder&&) noexcept;
  Recorder& operator=(Recorder&&) noexcept;
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;
  /// Closes as close() does (an error is lost: call close() to see it).
  ~Recorder();

  /// Writes `records` (rotating as needed), then, with payload, the new payload bytes of the
  /// sources whose reads and writes in `records` moved bytes. After an error every call
  /// returns it again.
  std::expected<void, RecorderError> write(std::span<const Record> records);
  /// Ends the current file (a stats line, unless its last line is one), closes it and calls
  /// on_file_closed. Idempotent.
  std::expected<void, RecorderError> close();

  /// stop_after_records was reached: the capture may stop.
  [[nodiscard]] bool done() const noexcept;
  [[nodiscard]] const RecorderCounts& counts() const noexcept;
  /// The file being written ("" once closed).
  [[nodiscard]] const std::string& current_path() const noexcept;

 private:
  struct State;
  explicit Recorder(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

}  // namespace ready::capture
