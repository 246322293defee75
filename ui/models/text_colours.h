// The colours of coloured text (pass / fail marks, warnings, payload directions, links to
// lessons), one table for every theme, and the WCAG contrast arithmetic that checks them.
#pragma once

#include <QColor>
#include <QPalette>

namespace ready::ui {

/// What a coloured text says. Each tone has a dark variant for light backgrounds and a light
/// one for dark backgrounds (no single colour reaches 4.5:1 on both white and near-black).
enum class TextTone {
  passed,    ///< a lesson step that passed (bluish green)
  failed,    ///< a failed step, an error or warning message (vermillion / orange)
  incoming,  ///< payload read from a source (blue)
  outgoing,  ///< payload written to a source (orange)
  link,      ///< a link to a lesson (blue)
  alarm,     ///< the REC indicator (red)
};
inline constexpr TextTone kTextTones[] = {TextTone::passed, TextTone::incoming, TextTone::outgoing,
                                          TextTone::failed, TextTone::link,     TextTone::alarm};

/// The minimum contrast ratio of text against its background (WCAG 2.x, level AA, normal text).
inline constexpr double kMinTextContrast = 4.5;

/// WCAG relative luminance of an opaque colour (sRGB), 0 (black) to 1 (white).
[[nodiscard]] double relative_luminance(const QColor& c);
/// WCAG contrast ratio of two opaque colours, 1 to 21, symmetric.
[[nodiscard]] double contrast_ratio(const QColor& a, const QColor& b);
/// `over` (with its alpha) painted on the opaque `under`: the opaque colour the eye sees.
[[nodiscard]] QColor composite(const QColor& over, const QColor& under);
/// True when `background` is light (text on it must be dark).
[[nodiscard]] bool is_light(const QColor& background);

/// The colour of `tone` text in `palette`: the dark variant when its Base is light, the light
/// one otherwise. Every variant has at least kMinTextContrast against the Base, Window and
/// AlternateBase of the Light and Dark themes (tst_theme checks it).
[[nodiscard]] QColor text_colour(TextTone tone, const QPalette& palette);
/// The same in the application's palette now (follows View > Theme).
[[nodiscard]] QColor text_colour(TextTone tone);

/// The translucent highlight behind a list's current row (the lesson's running step): light
/// enough that every tone and the palette's Text still read on it.
[[nodiscard]] QColor current_row_band(const QPalette& palette);

}  // namespace ready::ui
