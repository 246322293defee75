// Record text: the one place that turns a capture Record into the words the GUI shows.
#pragma once

#include <QString>
#include <cstdint>
#include <functional>

#include "ready/capture/command.h"
#include "ready/capture/record.h"
#include "ready/interest.h"

namespace ready::ui {

/// Looks up the text of a note record (Record::value); empty when unknown. Bridge::note_text
/// is one.
using NoteTextFn = std::function<QString(std::uint64_t id)>;

/// A capture time (ns since the capture started) in seconds with microsecond resolution:
/// "0.000 000 s", "12.345 678 s" (time_text; Jump to time parses it back). One unit for every
/// row, so times in a column line up; nanoseconds are truncated, not rounded.
QString format_time_ns(std::uint64_t t_ns);
/// A duration in the unit that suits it (duration_text): "850 ns", "12.35 µs", "1.23 s".
QString format_duration_ns(std::uint64_t ns);
/// A byte count: "0 B", "512 B", "4.0 KiB", "1.5 MiB".
QString format_bytes(std::uint64_t bytes);

/// "ECONNREFUSED" (ready::errno_name); empty for 0.
QString errno_text(int err);
/// The errno in words ("Connection refused"); empty for 0.
QString errno_description(int err);

/// The names the recording format uses ("tcp_stream", "source_added", "edge", "echo"):
/// ready::name_of, the one table per enum.
QString kind_text(capture::SourceKind k);
QString record_kind_text(capture::RecordKind k);
QString trigger_text(Trigger t);
QString reaction_text(capture::Reaction r);
/// "readable|writable|priority" (the set bits, lower case, in that order).
QString interest_text(Interest i);
/// A registration's interest, trigger and reaction: "readable|writable edge none".
QString source_bits_text(capture::SourceBits b);

/// The log's "what" column: for a readiness record its flags ("readable|read_closed"), for an
/// action its op ("read"), for a source record the event and kind ("added tcp_stream",
/// "changed", "removed"), for a warning its kind; otherwise the record kind
/// ("poll_return", "note", "stats").
QString record_what(const capture::Record& r);
/// The log's "result" column: an action's outcome with its bytes or errno ("ok 5",
/// "would_block", "eof", "error ECONNREFUSED"); a source record's interest, mode and
/// reaction ("readable|writable edge none"); a poll return's event count ("3 events"); a
/// warning's errno. Empty for the rest.
QString record_result(const capture::Record& r);
/// The log's what and result in one line ("read ok 5", "readable|writable", "added
/// tcp_stream readable|writable edge none", "poll_return 3 events"): the timeline's tooltip
/// and the window's status line say what the log says.
QString record_summary(const capture::Record& r);
/// The log's "detail" column: what is left worth knowing — the raw epoll bits of a readiness
/// record, the fd and command id of an action, an accepted stream's token, the partner or
/// parent of a new source, the bytes of a removed one, time blocked in epoll_wait, a note's
/// text (through `notes`, which may be empty), the accounting of a stats record.
QString record_detail(const capture::Record& r, const NoteTextFn& notes = {});
/// A warning kind in a few words ("edge-triggered partial read").
QString warning_title(capture::WarningKind k);
/// A warning record in a sentence, its `value` worked in: "edge-triggered read stopped with
/// 6 bytes left and no new edge will come". Records of another kind give an empty string.
QString warning_text(const capture::Record& r);

/// The token as the log shows it: empty for records about no source (poll_return, note,
/// stats), else its number.
QString record_token_text(const capture::Record& r);

}  // namespace ready::ui
