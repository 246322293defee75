// readyscope: the command line entry point. Without --headless it opens the window;
// `--headless` runs the capture engine without one.
#include <QApplication>
#include <QCoreApplication>
#include <QDirIterator>
#include <QEvent>
#include <QIcon>
#include <QString>
#include <QTextStream>
#include <QTimer>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string_view>

#include "cli.h"
#include "headless.h"
#include "window/file_actions.h"
#include "window/main_window.h"
#include "window/open_recording.h"
#include "window/timeline_png.h"
#include "models/lessons.h"
#include "plan.h"

namespace {

/// Which application object this invocation needs, decided from argv before any exists
/// (a QApplication without a display aborts, so the window's is made only when needed).
enum class Flavor { core, offscreen_gui, gui };

Flavor flavor_of(int argc, char* argv[]) {
  bool headless = false, png = false, info = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a(argv[i]);
    headless |= a == "--headless" || a == "-headless";
    png |= a == "--png" || a == "-png" || a.starts_with("--png=");
    info |= a == "--help" || a == "-h" || a == "-help" || a == "--version" || a == "-v" || a == "-version" ||
            a == "--list-lessons" || a == "-list-lessons";
  }
  if (info) return Flavor::core;
  if (headless) return png ? Flavor::offscreen_gui : Flavor::core;
  return Flavor::gui;
}

bool has_display() {
  for (const char* v : {"QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"}) {
    const char* s = std::getenv(v);
    if (s && *s) return true;
  }
  return false;
}

/// READYSCOPE_STARTUP_PROBE=1 (readyscope-bench -o startup): print the CLOCK_MONOTONIC time
/// of the first painted frame of the main window as `first_paint_ns=N`, then quit.
class StartupProbe : public QObject {
 public:
  explicit StartupProbe(QWidget* window) : window_(window) {}

 protected:
  bool eventFilter(QObject* o, QEvent* e) override {
    if (!done_ && e->type() == QEvent::Paint && o->isWidgetType() && static_cast<QWidget*>(o)->window() == window_) {
      done_ = true;
      // After this paint and the backing-store flush that follows it in the same pass.
      QTimer::singleShot(0, [] {
        timespec ts{};
        clock_gettime(CLOCK_MONOTONIC, &ts);
        std::printf("first_paint_ns=%lld\n", static_cast<long long>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec);
        std::fflush(stdout);
        QCoreApplication::quit();
      });
    }
    return false;
  }

 private:
  QWidget* window_;
  bool done_ = false;
};

/// READYSCOPE_GRAB=FILE.png (with READYSCOPE_GRAB_AFTER_MS, default 3000): a picture of the
/// whole window after that long, then quit. How the README's screenshots are made
/// (docs/gui.md); works offscreen.
void arm_grab(QWidget& window) {
  const QString grab = qEnvironmentVariable("READYSCOPE_GRAB");
  if (grab.isEmpty()) return;
  bool ok = false;
  int after = qEnvironmentVariableIntValue("READYSCOPE_GRAB_AFTER_MS", &ok);
  if (!ok || after < 0) after = 3000;
  QTimer::singleShot(after, &window, [&window, grab] {
    if (!window.grab().save(grab, "PNG")) std::fprintf(stderr, "readyscope: cannot write %s\n", qPrintable(grab));
    QCoreApplication::quit();
  });
}

/// The window's identity: the desktop file name (the Wayland app_id, so the compositor finds
/// the installed .desktop entry and its icon) and the window icon, from the PNGs rendered from
/// packaging/icons/ into the resource :/icons (every size there; QIcon picks the nearest).
void set_window_identity() {
  QGuiApplication::setDesktopFileName(QStringLiteral(READYSCOPE_APP_ID));
  QIcon icon;
  QDirIterator png(QStringLiteral(":/icons"), {QStringLiteral("*.png")}, QDir::Files, QDirIterator::Subdirectories);
  while (png.hasNext()) icon.addFile(png.next());
  QApplication::setWindowIcon(icon);
}

/// `readyscope FILE.jsonl` (or --open FILE): the recording in a read-only window. A file
/// that cannot be opened: one line, exit 2; one that turns out bad while reading: the dialog.
int run_recording_window(const std::string& path) {
  const QString file = QString::fromStdString(path);
  if (const QString why = ready::ui::unreadable_reason(file); !why.isEmpty()) {
    QTextStream(stderr) << "readyscope: " << why << '\n';
    return readyscope::kExitUsage;
  }
  auto window = ready::ui::make_recording_window(file);
  if (!window) {
    QTextStream(stderr) << "readyscope: " << file << ": cannot start reading: "
                        << QString::fromStdString(window.error().message()) << '\n';
    return readyscope::kExitRuntime;
  }
  ready::ui::remember_recording(file);
  arm_grab(**window);
  (*window)->show();
  return QApplication::exec();
}

int run_window(const readyscope::HeadlessPlan& plan) {
  if (plan.open_path) return run_recording_window(*plan.open_path);
  QTextStream err(stderr);
  std::optional<ready::capture::Scenario> scenario;
  if (plan.scenario) {
    auto s = readyscope::loadScenario(*plan.scenario, plan.allow_remote);
    if (!s) {
      err << "readyscope: " << QString::fromStdString(s.error()) << '\n';
      return readyscope::kExitUsage;
    }
    scenario = std::move(*s);
  }
  ready::capture::EngineConfig config;
  config.ring_capacity = plan.queue_capacity_given ? plan.queue_capacity : ready::ui::Bridge::kWindowRingCapacity;
  config.allow_remote = plan.allow_remote;
  config.queue_sampling = plan.queue_sampling;
  if (plan.record_payload) config.payload_bytes_per_source = readyscope::recordPayloadEngineBytes();
  auto bridge = ready::ui::Bridge::start(config, {});
  if (!bridge) {
    err << "readyscope: cannot start the capture engine: " << QString::fromStdString(bridge.error().message()) << '\n';
    return readyscope::kExitRuntime;
  }
  ready::ui::MainWindow window(std::move(*bridge));
  // --record with the window: from the first record on, as Capture > Record to… does.
  if (plan.record_path &&
      !window.fileActions()->startRecording({QString::fromStdString(*plan.record_path), plan.overwrite,
                                             plan.record_payload, plan.max_file_bytes, plan.max_files})) {
    err << "readyscope: --record " << QString::fromStdString(*plan.record_path) << ": " << window.statusMessage()
        << '\n';
    return readyscope::kExitRuntime;
  }
  for (const auto& req : plan.sources) window.submit(readyscope::createCommand(req, plan.options, plan.allow_remote));
  if (const auto& a = plan.attach) {
    if (a->launch.empty() && a->epoll_instances == 0)
      err << "readyscope: process " << a->pid << " (" << QString::fromStdString(a->name)
          << ") holds no epoll instance yet; watching for one\n";
    window.submit(ready::capture::cmd::Attach{a->pid, a->interval, a->trace, a->trace_io, a->launch});
  }
  if (scenario) window.playScenario(std::move(*scenario));

  std::unique_ptr<StartupProbe> probe;
  if (const char* p = std::getenv("READYSCOPE_STARTUP_PROBE"); p && std::strcmp(p, "1") == 0) {
    probe = std::make_unique<StartupProbe>(&window);
    qApp->installEventFilter(probe.get());
  }
  arm_grab(window);
  window.show();
  return QApplication::exec();
}

}  // namespace

int main(int argc, char* argv[]) {
  const Flavor flavor = flavor_of(argc, argv);
  if (flavor == Flavor::gui && !has_display()) {
    std::fprintf(stderr,
                 "readyscope: no display (DISPLAY and WAYLAND_DISPLAY are unset). Run it in a desktop session, "
                 "use --headless, or set QT_QPA_PLATFORM=offscreen.\n");
    return readyscope::kExitRuntime;
  }
  // --png renders without a display, whatever the session has.
  if (flavor == Flavor::offscreen_gui) qputenv("QT_QPA_PLATFORM", "offscreen");
  std::unique_ptr<QCoreApplication> app;
  if (flavor == Flavor::core) {
    app = std::make_unique<QCoreApplication>(argc, argv);
  } else {
    app = std::make_unique<QApplication>(argc, argv);
    // Not for --png: loading the icon starts threads, and a headless run must block SIGINT and
    // SIGTERM (its signalfd) before any thread exists.
    if (flavor == Flavor::gui) set_window_identity();
  }
  QCoreApplication::setOrganizationName(QStringLiteral("ReadyScope"));
  QCoreApplication::setApplicationName(QStringLiteral("readyscope"));
  QCoreApplication::setApplicationVersion(QStringLiteral(READYSCOPE_VERSION));

  QTextStream err(stderr);
  readyscope::CommandLine cli;
  if (auto parsed = cli.parse(QCoreApplication::arguments()); !parsed) {
    err << "readyscope: " << parsed.error() << " (see --help)\n";
    return readyscope::kExitUsage;
  }
  if (cli.helpRequested()) {
    QTextStream(stdout) << cli.helpText();
    return readyscope::kExitOk;
  }
  if (cli.versionRequested()) {
    // The Qt in use, not the one built against: a packaged binary runs on the system's Qt.
    QTextStream(stdout) << "readyscope " << QCoreApplication::applicationVersion() << " (Qt " << qVersion() << ")\n";
    return readyscope::kExitOk;
  }
  if (cli.listLessonsRequested()) {
    QTextStream out(stdout);
    for (const readyscope::LessonInfo& l : readyscope::builtinLessons()) out << l.name << "  " << l.title << '\n';
    return readyscope::kExitOk;
  }
  const auto invocation = cli.invocation();
  if (!invocation) {
    err << "readyscope: " << invocation.error() << '\n';
    return readyscope::kExitUsage;
  }
  switch (invocation->mode) {
    case readyscope::Invocation::Mode::window:
      return run_window(invocation->plan);
    case readyscope::Invocation::Mode::headless:
      break;
  }
  return readyscope::runHeadless(invocation->plan, stdout, stderr, &ready::ui::render_timeline_png);
}
