// Base64 (RFC 4648, standard alphabet, padded) for the "data" of a recording's payload lines
// (docs/recording-format.md). None of the project's libraries (simdjson 3.0, nlohmann::json,
// fmt) offers it, and Qt is not a dependency of the core.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ready::capture::recording {

/// Appends the padded base64 of `bytes` to `out`.
void base64_append(std::string& out, std::span<const std::byte> bytes);

/// Decodes padded base64 into `out` (replacing its content). Strict, so that a file read and
/// written again is the same file: the length is a multiple of 4, only the standard alphabet,
/// '=' only as the last one or two characters, and the bits the padding leaves unused are
/// zero. Returns false (and leaves `out` unspecified) on anything else.
[[nodiscard]] bool base64_decode(std::string_view text, std::vector<std::byte>& out);

}  // namespace ready::capture::recording
