#include "models/time_text.h"

#include <QRegularExpression>
#include <cmath>

namespace ready::ui {

namespace {

constexpr std::uint64_t kNsPerS = 1'000'000'000;

// Decimals that resolve `resolution_ns`: 10^-d s <= resolution.
int decimals_for(std::uint64_t resolution_ns) {
  int d = 9;
  std::uint64_t unit = 1;  // ns per last digit
  while (d > 0 && unit * 10 <= resolution_ns) {
    unit *= 10;
    --d;
  }
  return d;
}

}  // namespace

QString time_text(std::uint64_t t_ns, std::uint64_t resolution_ns) {
  const int decimals = decimals_for(std::max<std::uint64_t>(resolution_ns, 1));
  QString out = QString::number(t_ns / kNsPerS);
  if (decimals > 0) {
    // The fraction in ns, 9 digits, truncated to `decimals`.
    const QString frac = QStringLiteral("%1").arg(t_ns % kNsPerS, 9, 10, QLatin1Char('0')).left(decimals);
    out += QLatin1Char('.');
    for (int i = 0; i < frac.size(); i += 3) {
      if (i) out += QLatin1Char(' ');
      out += frac.mid(i, 3);
    }
  }
  return out + QStringLiteral(" s");
}

QString duration_text(double ns) {
  const double a = std::abs(ns);
  auto fmt = [](double v, const char* unit) {
    return QString::number(v, 'g', 4) + QLatin1Char(' ') + QString::fromUtf8(unit);
  };
  if (a < 1e3) return fmt(ns, "ns");
  if (a < 1e6) return fmt(ns / 1e3, "µs");
  if (a < 1e9) return fmt(ns / 1e6, "ms");
  return fmt(ns / 1e9, "s");
}

std::optional<std::uint64_t> parse_time(QStringView text) {
  static const QRegularExpression re(
      QStringLiteral("^\\s*([0-9][0-9 \\x{2009}\\x{202f}]*)(?:\\.([0-9 \\x{2009}\\x{202f}]*))?\\s*(s|ms|µs|\\x{03bc}s|us|ns)?\\s*$"),
      QRegularExpression::UseUnicodePropertiesOption);
  const QRegularExpressionMatch m = re.match(text.toString());
  if (!m.hasMatch()) return std::nullopt;
  auto digits = [](QStringView s) {
    QString d;
    for (QChar c : s)
      if (c.isDigit()) d += c;
    return d;
  };
  const QString whole = digits(m.capturedView(1)), frac = digits(m.capturedView(2));
  const QStringView unit = m.capturedView(3);
  int exponent = 9;  // ns per unit as a power of ten
  if (unit == u"ms") exponent = 6;
  if (unit == u"µs" || unit == u"\u03bcs" || unit == u"us") exponent = 3;
  if (unit == u"ns") exponent = 0;
  // whole.frac × 10^exponent ns, exactly: the fraction's first `exponent` digits are ns.
  QString ns_digits = whole + frac.left(exponent).leftJustified(exponent, QLatin1Char('0'));
  while (ns_digits.size() > 1 && ns_digits.front() == QLatin1Char('0')) ns_digits.remove(0, 1);
  bool ok = false;
  const std::uint64_t ns = ns_digits.toULongLong(&ok);
  if (!ok) return std::nullopt;  // more than 2^64 - 1
  return ns;
}

}  // namespace ready::ui
