// What the recording writer and reader share: how a Record maps onto a line of the file
// (docs/recording-format.md). The value names of every enum come from its one list
// (ready::name_of / parse_name); this header holds only what the file adds to them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "ready/capture/engine.h"
#include "ready/capture/record.h"

namespace ready::capture::recording {

// The file spells the three source kinds as one "type":"source" with an "event"; the
// RecordKind is source_added + the event's index.
inline constexpr std::string_view kSourceType = "source";
inline constexpr std::array<std::string_view, 3> kSourceEventNames = {"added", "changed", "removed"};
static_assert(static_cast<int>(RecordKind::source_changed) == static_cast<int>(RecordKind::source_added) + 1 &&
              static_cast<int>(RecordKind::source_removed) == static_cast<int>(RecordKind::source_added) + 2);

constexpr bool is_source_kind(RecordKind k) noexcept {
  return k == RecordKind::source_added || k == RecordKind::source_changed || k == RecordKind::source_removed;
}

/// The "type" a line of this kind has in the file.
constexpr std::string_view type_name(RecordKind k) noexcept {
  return is_source_kind(k) ? kSourceType : name_of(k);
}

/// The kind a line's "type" names; the three source kinds are one "source" type (the
/// caller reads "event"), and their C++ names ("source_added", ...) are not types.
constexpr std::optional<RecordKind> type_from_name(std::string_view name) noexcept {
  if (name == kSourceType) return RecordKind::source_added;
  const auto k = parse_name<RecordKind>(name);
  if (!k || is_source_kind(*k)) return std::nullopt;
  return k;
}

/// A payload line's "dir", by ready::capture::Direction.
inline constexpr std::array<std::string_view, 2> kDirectionNames = {"in", "out"};
static_assert(static_cast<int>(Direction::in) == 0 && static_cast<int>(Direction::out) == 1);
inline constexpr std::string_view kPayloadType = "payload";
/// The mark of a line a Recorder wrote itself ("recorder":true), not the engine.
inline constexpr std::string_view kRecorderKey = "recorder";

/// The names of a record's `value` / `value2` fields, by kind ("" = not written); they are
/// the names of the Record accessors (record.h) for that kind.
struct ValueNames {
  std::string_view value, value2;
};
constexpr ValueNames value_names(RecordKind k) noexcept {
  switch (k) {
    case RecordKind::source_added:
      return {"related", "command"};
    case RecordKind::source_changed:
      return {"read_n", "command"};
    case RecordKind::source_removed:
      return {"bytes_in", "bytes_out"};
    case RecordKind::readiness:
      return {"", ""};
    case RecordKind::action:
      return {"n", "command"};
    case RecordKind::poll_return:
      return {"events", "blocked_ns"};
    case RecordKind::note:
      return {"id", "command"};
    case RecordKind::warning:
      return {"value", ""};
    case RecordKind::stats:
      return {"produced", "dropped"};
    case RecordKind::queue:
      return {"readable", "unsent"};
  }
  return {"", ""};
}

}  // namespace ready::capture::recording
