#include "window/theme.h"

#include <QApplication>
#include <QStyle>
#include <QStyleFactory>
#include <memory>

namespace ready::ui {

namespace {

// What the platform gave the application before the first theme was applied.
struct PlatformLook {
  QString style;
  QPalette palette;
};

const PlatformLook& platform_look() {
  static const PlatformLook look{QApplication::style()->name(), QApplication::palette()};
  return look;
}

QPalette light_palette() {
  // A throwaway Fusion style for its light palette (QStyleFactory hands over ownership).
  const std::unique_ptr<QStyle> fusion(QStyleFactory::create(QStringLiteral("Fusion")));
  QPalette p = fusion->standardPalette();
  // Fusion's highlight (#308cc6) under white text is 3.7:1, its visited links (magenta) 3.1:1
  // and its placeholder half-transparent text: each made dark enough for 4.5:1.
  for (auto group : {QPalette::Active, QPalette::Inactive}) {
    p.setColor(group, QPalette::Highlight, QColor(0x20, 0x60, 0xb0));
    p.setColor(group, QPalette::HighlightedText, Qt::white);
    p.setColor(group, QPalette::LinkVisited, QColor(0x80, 0x20, 0x80));
    p.setColor(group, QPalette::PlaceholderText, QColor(0x66, 0x66, 0x66));
  }
  return p;
}

QPalette dark_palette() {
  QPalette p;
  const QColor window(0x2b, 0x2d, 0x31), base(0x1e, 0x1f, 0x22), text(0xe6, 0xe6, 0xe6), mid(0x3c, 0x3f, 0x44);
  p.setColor(QPalette::Window, window);
  p.setColor(QPalette::WindowText, text);
  p.setColor(QPalette::Base, base);
  p.setColor(QPalette::AlternateBase, window);
  p.setColor(QPalette::ToolTipBase, base);
  p.setColor(QPalette::ToolTipText, text);
  p.setColor(QPalette::Text, text);
  p.setColor(QPalette::Button, window);
  p.setColor(QPalette::ButtonText, text);
  p.setColor(QPalette::BrightText, Qt::white);
  p.setColor(QPalette::Mid, mid);
  p.setColor(QPalette::Midlight, mid.lighter(120));
  p.setColor(QPalette::Dark, base.darker(120));
  p.setColor(QPalette::Light, mid.lighter(150));
  p.setColor(QPalette::Shadow, Qt::black);
  // #3d7ed6 under white text was 4.1:1.
  p.setColor(QPalette::Highlight, QColor(0x2f, 0x6b, 0xbf));
  p.setColor(QPalette::HighlightedText, Qt::white);
  p.setColor(QPalette::Link, QColor(0x6c, 0xb4, 0xff));
  p.setColor(QPalette::LinkVisited, QColor(0xd0, 0x9c, 0xff));
  p.setColor(QPalette::PlaceholderText, text.darker(160));
  for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
    p.setColor(QPalette::Disabled, role, text.darker(190));
  return p;
}

}  // namespace

std::optional<Theme> theme_from_string(const QString& s) {
  if (s == QLatin1String("system")) return Theme::system;
  if (s == QLatin1String("light")) return Theme::light;
  if (s == QLatin1String("dark")) return Theme::dark;
  return std::nullopt;
}

QString theme_name(Theme theme) {
  switch (theme) {
    case Theme::light:
      return QStringLiteral("light");
    case Theme::dark:
      return QStringLiteral("dark");
    case Theme::system:
      break;
  }
  return QStringLiteral("system");
}

QPalette palette_for(Theme theme) {
  switch (theme) {
    case Theme::light:
      return light_palette();
    case Theme::dark:
      return dark_palette();
    case Theme::system:
      break;
  }
  return platform_look().palette;
}

QString platform_style_name() { return platform_look().style; }

void apply_theme(Theme theme) {
  const PlatformLook& look = platform_look();  // remembered before anything changes
  const QString style = theme == Theme::system ? look.style : QStringLiteral("Fusion");
  if (QApplication::style()->name().compare(style, Qt::CaseInsensitive) != 0) {
    if (QStyle* s = QStyleFactory::create(style)) QApplication::setStyle(s);
  }
  QApplication::setPalette(palette_for(theme));
}

}  // namespace ready::ui
