// A strict RFC 4180 reader for the suites that check exported CSV: fields separated by
// commas, records ended by CRLF, a quoted field may hold commas, CR, LF and doubled quotes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ready::test {

/// Parses `text` into rows of fields. False on anything RFC 4180 does not allow (a quote
/// inside an unquoted field, text after a closing quote, a bare LF or CR between records,
/// a last record without its CRLF, an unterminated quote).
inline bool parse_rfc4180(std::string_view text, std::vector<std::vector<std::string>>& rows) {
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, was_quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c != '"') {
        field += c;
      } else if (i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else {
        quoted = false;
      }
      continue;
    }
    if (c == '"') {
      if (!field.empty() || was_quoted) return false;
      quoted = was_quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (c == '\r') {
      if (i + 1 >= text.size() || text[i + 1] != '\n') return false;
      ++i;
      row.push_back(std::move(field));
      field.clear();
      was_quoted = false;
      rows.push_back(std::move(row));
      row.clear();
    } else if (c == '\n') {
      return false;
    } else {
      if (was_quoted) return false;
      field += c;
    }
  }
  return !quoted && field.empty() && row.empty() && !was_quoted;
}

}  // namespace ready::test
