// Times and durations as the user reads and types them, in one place: the axis, the event
// log, the tooltips, the warnings, Jump to time and the measured Δt all use these.
#pragma once

#include <QString>
#include <QStringView>
#include <cstdint>
#include <optional>

namespace ready::ui {

/// A time since the capture started, in seconds, its decimals grouped by three with spaces:
/// "1.234 567 s". `resolution_ns` (the zoom: a tick step, or what a pixel covers) chooses how
/// many decimals are shown: enough to tell apart times that far apart (1 µs, the default:
/// six, the log's; 1 ms: three; 1 s or more: none; at most nine). Digits are truncated, never
/// rounded up, so a text never claims a later time than the record's.
[[nodiscard]] QString time_text(std::uint64_t t_ns, std::uint64_t resolution_ns = 1000);

/// A duration with the unit prefix that suits its size and four significant digits:
/// "250 ns", "1.5 µs", "12.25 ms", "3 s" (negative durations keep their sign).
[[nodiscard]] QString duration_text(double ns);

/// Parses what time_text and duration_text show, and what a user types for a time since the
/// capture started: a decimal number with an optional unit s, ms, µs (or us) or ns (seconds
/// when none), spaces allowed between digit groups and before the unit: "1.234 567 s",
/// "1.25", "350 µs", "12ms", "5 ns". nullopt for anything else, a negative number or more
/// than 2^64 - 1 ns. Nanoseconds below one are truncated.
[[nodiscard]] std::optional<std::uint64_t> parse_time(QStringView text);

}  // namespace ready::ui
