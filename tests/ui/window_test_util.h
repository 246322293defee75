// Set-up shared by the suites that open a MainWindow.
#pragma once

#include <QApplication>
#include <QCoreApplication>
#include <QTimer>
#include <QSettings>
#include <QString>
#include <QtTest>
#include <functional>
#include <memory>

#include "session/bridge.h"
#include "panels/new_source_dialog.h"
#include "window/main_window.h"
#include "models_test_util.h"

namespace ready::test {

/// For initTestCase: keeps the suite's settings (the window persists its layout) in
/// `settingsDir` instead of the user's, and shows one throwaway window first, because Qt
/// opens descriptors of its own for the first main window shown and keeps them: after this,
/// a per-test descriptor check sees only the test's own. False if the window never showed.
inline bool prepare_window_suite(const QString& suite, const QString& settingsDir) {
  QCoreApplication::setOrganizationName(QStringLiteral("readyscope-test"));
  QCoreApplication::setApplicationName(suite);
  QSettings::setDefaultFormat(QSettings::IniFormat);
  QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settingsDir);
  ui::MainWindow first(std::make_unique<ui::Bridge>(std::make_unique<RingFeed>(8), ui::Bridge::Options{}));
  first.show();
  if (!QTest::qWaitForWindowExposed(&first)) return false;
  QTest::qWait(50);
  return true;
}

/// A MainWindow on a live engine started with `config`, shown at `size` and exposed; nullptr
/// (with a warning) when the engine or the window could not start.
inline std::unique_ptr<ui::MainWindow> open_live_window(QSize size = {1500, 900},
                                                        const capture::EngineConfig& config = {}) {
  auto bridge = ui::Bridge::start(config, {});
  if (!bridge) {
    qWarning("cannot start the engine: %s", bridge.error().message().c_str());
    return nullptr;
  }
  auto w = std::make_unique<ui::MainWindow>(std::move(*bridge));
  w->resize(size);
  w->show();
  if (!QTest::qWaitForWindowExposed(w.get())) return nullptr;
  return w;
}

/// Fills the next modal New source dialog with `fill`, then presses OK.
inline void answerNextDialog(std::function<void(ui::NewSourceDialog&)> fill) {
  QTimer::singleShot(0, [fill = std::move(fill)] {
    auto* d = qobject_cast<ui::NewSourceDialog*>(QApplication::activeModalWidget());
    if (!d) {
      qWarning("no new-source dialog is open");
      return;
    }
    fill(*d);
    d->accept();
    if (d->isVisible()) {  // refused (the test then fails on what it waits for): never hang
      qWarning("the new-source dialog refused: %s", qPrintable(d->errorText()));
      d->reject();
    }
  });
}

}  // namespace ready::test
