// The themes' text contrast, computed from the palettes and the text-colour table the window
// really uses (WCAG 2.x contrast ratio, 4.5:1 for normal text), and the System theme's
// return to the platform's style and palette after Light or Dark.
#include <QApplication>
#include <QStyle>
#include <QtTest>

#include "models/text_colours.h"
#include "window/theme.h"

using namespace ready::ui;

Q_DECLARE_METATYPE(ready::ui::Theme)
Q_DECLARE_METATYPE(ready::ui::TextTone)
Q_DECLARE_METATYPE(QPalette::ColorRole)

namespace {

const char* theme_label(Theme t) { return t == Theme::light ? "light" : "dark"; }

const char* tone_label(TextTone t) {
  switch (t) {
    case TextTone::passed: return "passed";
    case TextTone::failed: return "failed";
    case TextTone::incoming: return "incoming";
    case TextTone::outgoing: return "outgoing";
    case TextTone::link: return "link";
    case TextTone::alarm: return "alarm";
  }
  return "?";
}

// A palette colour as the eye sees it on `under` (placeholder text may be translucent).
QColor seen(const QPalette& p, QPalette::ColorRole role, const QColor& under) {
  return composite(p.color(QPalette::Active, role), under);
}

}  // namespace

class TestTheme : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() {
    // Offscreen, the platform's style would be Fusion itself: start from another one, as a
    // desktop whose style is not Fusion does, so that going back to it is visible.
    QApplication::setStyle(QStringLiteral("Windows"));
    QVERIFY(QApplication::style()->name().toLower() != QStringLiteral("fusion"));
    startup_style_ = QApplication::style()->name();
    startup_palette_ = QApplication::palette();
  }

  void wcagArithmetic() {
    QCOMPARE(contrast_ratio(Qt::white, Qt::black), 21.0);
    QCOMPARE(contrast_ratio(QColor(0x12, 0x34, 0x56), QColor(0x12, 0x34, 0x56)), 1.0);
    QCOMPARE(contrast_ratio(Qt::white, QColor(0x77, 0x77, 0x77)), contrast_ratio(QColor(0x77, 0x77, 0x77), Qt::white));
    // #767676 is the lightest grey that passes on white, #777777 the first that fails.
    QVERIFY(contrast_ratio(Qt::white, QColor(0x76, 0x76, 0x76)) >= kMinTextContrast);
    QVERIFY(contrast_ratio(Qt::white, QColor(0x77, 0x77, 0x77)) < kMinTextContrast);
    QCOMPARE(composite(QColor(0, 0, 0, 0), Qt::white), QColor(Qt::white));
    QCOMPARE(composite(QColor(Qt::black), Qt::white), QColor(Qt::black));
    QVERIFY(is_light(Qt::white));
    QVERIFY(!is_light(QColor(0x1e, 0x1f, 0x22)));
  }

  void paletteText_data() {
    QTest::addColumn<Theme>("theme");
    QTest::addColumn<QPalette::ColorRole>("text");
    QTest::addColumn<QPalette::ColorRole>("background");
    const std::pair<QPalette::ColorRole, QPalette::ColorRole> pairs[] = {
        {QPalette::WindowText, QPalette::Window},     {QPalette::Text, QPalette::Base},
        {QPalette::Text, QPalette::AlternateBase},    {QPalette::ButtonText, QPalette::Button},
        {QPalette::ToolTipText, QPalette::ToolTipBase}, {QPalette::HighlightedText, QPalette::Highlight},
        {QPalette::Link, QPalette::Base},             {QPalette::Link, QPalette::Window},
        {QPalette::LinkVisited, QPalette::Base},      {QPalette::PlaceholderText, QPalette::Base},
    };
    for (Theme theme : {Theme::light, Theme::dark})
      for (auto [text, background] : pairs)
        QTest::addRow("%s %d on %d", theme_label(theme), int(text), int(background)) << theme << text << background;
  }

  // Every text role of the Light and Dark palettes against the background it is drawn on.
  void paletteText() {
    QFETCH(Theme, theme);
    QFETCH(QPalette::ColorRole, text);
    QFETCH(QPalette::ColorRole, background);
    const QPalette p = palette_for(theme);
    const QColor bg = p.color(QPalette::Active, background);
    const double ratio = contrast_ratio(seen(p, text, bg), bg);
    if (ratio < kMinTextContrast)
      QFAIL(qPrintable(QStringLiteral("%1 on %2: %3:1").arg(p.color(text).name(), bg.name()).arg(ratio, 0, 'f', 2)));
  }

  void toneText_data() {
    QTest::addColumn<Theme>("theme");
    QTest::addColumn<TextTone>("tone");
    for (Theme theme : {Theme::light, Theme::dark})
      for (TextTone tone : kTextTones) QTest::addRow("%s %s", theme_label(theme), tone_label(tone)) << theme << tone;
  }

  // Each coloured text (pass / fail marks, warnings, directions, lesson links, REC) on each
  // background it appears on: bases, windows, and the running step's band in the lessons.
  void toneText() {
    QFETCH(Theme, theme);
    QFETCH(TextTone, tone);
    const QPalette p = palette_for(theme);
    const QColor colour = text_colour(tone, p);
    for (auto role : {QPalette::Base, QPalette::Window, QPalette::AlternateBase, QPalette::Button}) {
      const QColor bg = p.color(QPalette::Active, role);
      const double ratio = contrast_ratio(colour, bg);
      if (ratio < kMinTextContrast)
        QFAIL(qPrintable(QStringLiteral("%1 on %2 (role %3): %4:1").arg(colour.name(), bg.name()).arg(int(role)).arg(ratio, 0, 'f', 2)));
    }
    const QColor band = composite(current_row_band(p), p.color(QPalette::Active, QPalette::Base));
    QVERIFY2(contrast_ratio(colour, band) >= kMinTextContrast, qPrintable(colour.name() + " on the step band " + band.name()));
    QVERIFY(contrast_ratio(p.color(QPalette::Text), band) >= kMinTextContrast);
  }

  // View > Theme > System after Light and after Dark: the style and the palette the
  // application started with, not Fusion's.
  void systemReturnsToPlatform() {
    for (Theme other : {Theme::dark, Theme::light}) {
      apply_theme(other);
      QCOMPARE(QApplication::style()->name().toLower(), QStringLiteral("fusion"));
      QCOMPARE(QApplication::palette().color(QPalette::Base), palette_for(other).color(QPalette::Base));
      apply_theme(Theme::system);
      QCOMPARE(QApplication::style()->name(), startup_style_);
      QVERIFY(QApplication::palette() == startup_palette_);
      QCOMPARE(platform_style_name(), startup_style_);
    }
  }

 private:
  QString startup_style_;
  QPalette startup_palette_;
};

QTEST_MAIN(TestTheme)
#include "tst_theme.moc"
