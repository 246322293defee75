// readyscope: the command line entry point. `--headless` runs the capture engine without a
// window; without arguments it describes the build (the window comes with the GUI).
#include <QCoreApplication>
#include <QString>
#include <QTextStream>

#include "cli.h"
#include "headless.h"

namespace {

constexpr auto kAbout = R"(ReadyScope makes Linux readiness notification (epoll) visible.

This build contains:
  - the ready:: core library: mio's readiness model for Linux in C++ (Poll, Registry,
    Token, Interest, Event, Waker; TCP, UDP, Unix sockets, pipes, eventfd, timerfd),
    with edge, level and oneshot triggering;
  - the capture engine and the headless recorder:
      readyscope --headless --listen 127.0.0.1:7000 --reaction echo --record out.jsonl
    (see readyscope --help);
  - the test suites (scripts/test.sh) and the benchmark readyscope-bench.

Not yet: the Qt Widgets window with its timeline and the built-in lessons.
)";

}  // namespace

int main(int argc, char* argv[]) {
  QCoreApplication app(argc, argv);
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
    QTextStream(stdout) << "readyscope " << QCoreApplication::applicationVersion() << '\n';
    return readyscope::kExitOk;
  }
  const auto invocation = cli.invocation();
  if (!invocation) {
    err << "readyscope: " << invocation.error() << '\n';
    return readyscope::kExitUsage;
  }
  switch (invocation->mode) {
    case readyscope::Invocation::Mode::about:
      QTextStream(stdout) << kAbout;
      return readyscope::kExitOk;
    case readyscope::Invocation::Mode::headless:
      break;
  }
  return readyscope::runHeadless(invocation->plan);
}
