// Payload bytes as text: hex dumps, printable text, hex input and the direction colours.
#pragma once

#include <QByteArray>
#include <QColor>
#include <QString>

#include <cstddef>
#include <optional>
#include <span>

#include "ready/capture/engine.h"

namespace ready::ui {

/// "68 65 6c 6c 6f": two lower-case hex digits per byte, separated by one space.
QString hex_text(std::span<const std::byte> bytes);

/// The bytes as text, one character per byte: printable ASCII (0x20..0x7e) as itself,
/// everything else as '.', so a column of it lines up with a hex column.
QString printable_text(std::span<const std::byte> bytes);

/// The result of parsing hex input: the bytes, or a one-line message naming the problem.
struct HexParse {
  std::optional<QByteArray> bytes;
  QString error;  ///< empty when `bytes` is set
};

/// Parses hex typed by a user: pairs of hex digits (either case), optionally separated by
/// whitespace, with an optional "0x" before a pair ("0x68 0x69"). Empty input is an error
/// (nothing to send). A non-hex character or an odd digit count is an error whose message
/// says where ("'z' at column 1 is not a hex digit").
HexParse parse_hex(const QString& text);

/// The colour of payload bytes that went `d` (in: read from the source; out: written): a
/// colour-blind-safe pair (blue / orange) in the application palette's variant, 4.5:1 or
/// better on its base (text_colour); the text beside it also says "in" or "out", so colour is
/// never the only cue. Text already coloured keeps its colour until it is made again.
QColor direction_colour(capture::Direction d);

/// "in" / "out".
QString direction_name(capture::Direction d);

}  // namespace ready::ui
