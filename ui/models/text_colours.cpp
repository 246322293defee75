#include "models/text_colours.h"

#include <QGuiApplication>
#include <algorithm>
#include <cmath>

namespace ready::ui {

namespace {

struct ToneColours {
  TextTone tone;
  QRgb on_light;  // 4.5:1 or more on #efefef (Fusion's window) and white
  QRgb on_dark;   // 4.5:1 or more on #3c3f44 and darker
};

// Okabe-Ito hues, darkened or lightened until they read as text (tst_theme computes each pair).
constexpr ToneColours kTones[] = {
    {TextTone::passed, 0x00775a, 0x3fd6a8},   {TextTone::failed, 0xa84a00, 0xff9a52},
    {TextTone::incoming, 0x1a65a8, 0x7fbfff}, {TextTone::outgoing, 0xa84a00, 0xff9a52},
    {TextTone::link, 0x005f95, 0x7fbfff},     {TextTone::alarm, 0xa93226, 0xff8a80},
};

double channel(double c) { return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4); }

}  // namespace

double relative_luminance(const QColor& c) {
  const QColor rgb = c.toRgb();
  return 0.2126 * channel(rgb.redF()) + 0.7152 * channel(rgb.greenF()) + 0.0722 * channel(rgb.blueF());
}

double contrast_ratio(const QColor& a, const QColor& b) {
  const double la = relative_luminance(a), lb = relative_luminance(b);
  return (std::max(la, lb) + 0.05) / (std::min(la, lb) + 0.05);
}

QColor composite(const QColor& over, const QColor& under) {
  const QColor o = over.toRgb(), u = under.toRgb();
  const double a = o.alphaF();
  auto mix = [a](double top, double bottom) { return top * a + bottom * (1 - a); };
  return QColor::fromRgbF(static_cast<float>(mix(o.redF(), u.redF())), static_cast<float>(mix(o.greenF(), u.greenF())),
                          static_cast<float>(mix(o.blueF(), u.blueF())));
}

bool is_light(const QColor& background) {
  // Black text beats white text on it (the crossing is at luminance ~0.18).
  return contrast_ratio(background, Qt::black) >= contrast_ratio(background, Qt::white);
}

QColor text_colour(TextTone tone, const QPalette& palette) {
  const bool light = is_light(palette.color(QPalette::Base));
  for (const ToneColours& t : kTones)
    if (t.tone == tone) return QColor::fromRgb(light ? t.on_light : t.on_dark);
  return palette.color(QPalette::Text);
}

QColor text_colour(TextTone tone) { return text_colour(tone, QGuiApplication::palette()); }

QColor current_row_band(const QPalette& palette) {
  QColor band = palette.color(QPalette::Highlight);
  band.setAlpha(36);
  return band;
}

}  // namespace ready::ui
