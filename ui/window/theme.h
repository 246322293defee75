// View > Theme: the palettes of the Light and Dark themes, and a System theme that really
// returns to the platform's style and palette after either.
#pragma once

#include <QPalette>
#include <QString>
#include <optional>

namespace ready::ui {

/// The colour scheme of the window. `system` keeps the platform's style and palette.
enum class Theme { system, light, dark };

/// Parses "system" / "light" / "dark" (the settings value); nullopt otherwise.
std::optional<Theme> theme_from_string(const QString& s);
/// The settings value of a theme ("system", "light", "dark").
QString theme_name(Theme theme);

/// The palette of a theme: Fusion's light palette with a darker highlight and link colours
/// that reach 4.5:1 (light), a fixed dark palette (dark), the platform's palette as it was
/// before the first apply_theme (system). Every text role has at least kMinTextContrast
/// against its background in Light and Dark (tst_theme).
QPalette palette_for(Theme theme);

/// Applies a theme to the whole application. The first call remembers the platform's style
/// name and palette; `system` puts both back (QApplication has no "undo setStyle").
void apply_theme(Theme theme);

/// The platform's style name as it was at the first apply_theme (or now, before any).
QString platform_style_name();

}  // namespace ready::ui
