// readyscope: command line entry point. Without arguments it will open the window;
// until the GUI and the capture engine land it says what this build can do.
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QString>
#include <QTextStream>

namespace {

constexpr auto kAbout = R"(ReadyScope makes Linux readiness notification (epoll) visible.

This build contains:
  - the ready:: core library: mio's readiness model for Linux in C++ (Poll, Registry,
    Token, Interest, Event, Waker; TCP, UDP, Unix sockets, pipes, eventfd, timerfd),
    with edge, level and oneshot triggering;
  - its QtTest suite (scripts/test.sh, or ctest in a build directory);
  - the benchmark readyscope-bench (build/release/bin/readyscope-bench).

Not yet: the capture engine, the Qt Widgets window with its timeline, the headless
mode and the built-in lessons are planned and come in later versions.
)";

}  // namespace

int main(int argc, char* argv[]) {
  QCoreApplication app(argc, argv);
  QCoreApplication::setApplicationName(QStringLiteral("readyscope"));
  QCoreApplication::setApplicationVersion(QStringLiteral(READYSCOPE_VERSION));

  QCommandLineParser parser;
  parser.setApplicationDescription(
      QStringLiteral("Makes Linux readiness notification visible.\n\n"
                     "Exit codes: 0 success, 1 usage error."));
  parser.addHelpOption();
  parser.addVersionOption();
  // Exits with 1 and a message on an unknown option; --help and --version exit 0.
  parser.process(app);

  QTextStream err(stderr);
  if (!parser.positionalArguments().isEmpty()) {
    err << "readyscope: unexpected argument '" << parser.positionalArguments().constFirst()
        << "' (this build takes no arguments yet; see --help)\n";
    return 1;
  }

  QTextStream(stdout) << kAbout;
  return 0;
}
