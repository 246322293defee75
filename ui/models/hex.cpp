#include "models/hex.h"
#include "models/text_colours.h"

namespace ready::ui {

namespace {

constexpr char kDigits[] = "0123456789abcdef";

int hex_value(QChar c) {
  const char16_t u = c.unicode();
  if (u >= u'0' && u <= u'9') return u - u'0';
  if (u >= u'a' && u <= u'f') return u - u'a' + 10;
  if (u >= u'A' && u <= u'F') return u - u'A' + 10;
  return -1;
}

}  // namespace

QString hex_text(std::span<const std::byte> bytes) {
  QString out;
  out.reserve(static_cast<qsizetype>(bytes.size() * 3));
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i != 0) out += QLatin1Char(' ');
    const auto b = std::to_integer<unsigned>(bytes[i]);
    out += QLatin1Char(kDigits[b >> 4]);
    out += QLatin1Char(kDigits[b & 0xf]);
  }
  return out;
}

QString printable_text(std::span<const std::byte> bytes) {
  QString out;
  out.reserve(static_cast<qsizetype>(bytes.size()));
  for (const std::byte b : bytes) {
    const auto c = std::to_integer<unsigned>(b);
    out += (c >= 0x20 && c <= 0x7e) ? QLatin1Char(static_cast<char>(c)) : QLatin1Char('.');
  }
  return out;
}

HexParse parse_hex(const QString& text) {
  QByteArray out;
  int high = -1;      // the first digit of a pair, while waiting for the second
  qsizetype pair_column = 0;
  for (qsizetype i = 0; i < text.size(); ++i) {
    const QChar c = text[i];
    if (c.isSpace()) {
      if (high >= 0) return {std::nullopt, QStringLiteral("a lone hex digit at column %1").arg(pair_column + 1)};
      continue;
    }
    // "0x" only at the start of a pair: the '0' of "0x" is not a digit of the byte.
    if (high < 0 && c == QLatin1Char('0') && i + 1 < text.size() &&
        (text[i + 1] == QLatin1Char('x') || text[i + 1] == QLatin1Char('X'))) {
      ++i;
      continue;
    }
    const int v = hex_value(c);
    if (v < 0) return {std::nullopt, QStringLiteral("'%1' at column %2 is not a hex digit").arg(c).arg(i + 1)};
    if (high < 0) {
      high = v;
      pair_column = i;
    } else {
      out.append(static_cast<char>((high << 4) | v));
      high = -1;
    }
  }
  if (high >= 0) return {std::nullopt, QStringLiteral("a lone hex digit at column %1").arg(pair_column + 1)};
  if (out.isEmpty()) return {std::nullopt, QStringLiteral("no bytes to send")};
  return {std::move(out), {}};
}

QColor direction_colour(capture::Direction d) {
  return text_colour(d == capture::Direction::in ? TextTone::incoming : TextTone::outgoing);
}

QString direction_name(capture::Direction d) {
  return d == capture::Direction::in ? QStringLiteral("in") : QStringLiteral("out");
}

}  // namespace ready::ui
