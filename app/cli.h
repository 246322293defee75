// The command line of `readyscope`: what it accepts, checked completely before anything
// is opened, turned into a plan the headless runner (or later the window) carries out.
#pragma once

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QString>
#include <QStringList>

#include <chrono>
#include <cstddef>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "ready/capture/command.h"
#include "ready/net/addr.h"

namespace readyscope {

/// Exit codes (documented in --help).
enum ExitCode : int {
  kExitOk = 0,           ///< ran and stopped normally (duration, signal, scenario passed)
  kExitRuntime = 1,      ///< something failed while running (a bind refused, a write to the recording)
  kExitUsage = 2,        ///< invalid usage or input: nothing was opened
  kExitExpectation = 3,  ///< a scenario expectation failed
};

/// One source asked for with --listen, --connect, --udp or --unix-listen.
struct SourceRequest {
  enum class Kind { listen, connect, udp, unix_listen };
  Kind kind = Kind::listen;
  QString flag;                   ///< "--listen 127.0.0.1:7000", for messages
  ready::net::SocketAddr address;  ///< listen / connect / udp
  std::string path;               ///< unix_listen
};

/// Everything a run needs (headless or with the window), validated.
struct HeadlessPlan {
  std::vector<SourceRequest> sources;  ///< in creation order: listeners before connects
  ready::capture::SourceOptions options{};
  bool interest_given = false;  ///< --interest was on the command line
  std::optional<std::string> record_path;
  bool overwrite = false;
  std::optional<std::chrono::nanoseconds> duration;
  std::size_t queue_capacity = 65536;
  bool queue_capacity_given = false;  ///< --queue-capacity was on the command line
  bool allow_remote = false;
  std::optional<std::string> scenario;  ///< as given: a file path or a built-in name
  bool verbose = false;
  /// --png: render the timeline to this file at the end of a headless run.
  std::optional<std::string> png_path;
  int png_width = 1600;
  int png_height = 900;
  /// A recording to open (the window: read-only, in a window of its own): `readyscope FILE`.
  std::optional<std::string> open_path;
};

struct Invocation {
  enum class Mode {
    window,    ///< the main window, with the plan's sources or scenario (none: empty), or open_path
    headless,  ///< --headless
  };
  Mode mode = Mode::window;
  HeadlessPlan plan;
};

/// The parser with every option of readyscope, so --help lists them all.
class CommandLine {
 public:
  CommandLine();
  /// Parses `arguments` (argv, the program name first). On a syntax error (unknown option,
  /// missing value) returns the parser's message.
  std::expected<void, QString> parse(const QStringList& arguments);
  [[nodiscard]] bool helpRequested() const;
  [[nodiscard]] bool versionRequested() const;
  /// --list-lessons: print the built-in lessons, one per line (name, then title), and exit 0.
  [[nodiscard]] bool listLessonsRequested() const;
  [[nodiscard]] QString helpText() const;
  /// The validated plan, or one line saying what is wrong and what was expected.
  [[nodiscard]] std::expected<Invocation, QString> invocation() const;

 private:
  QCommandLineParser m_parser;
  QCommandLineOption m_help;
  QCommandLineOption m_version;
  QCommandLineOption m_listLessons;
  QCommandLineOption m_headless;
  QCommandLineOption m_listen;
  QCommandLineOption m_connect;
  QCommandLineOption m_udp;
  QCommandLineOption m_unixListen;
  QCommandLineOption m_reaction;
  QCommandLineOption m_mode;
  QCommandLineOption m_interest;
  QCommandLineOption m_record;
  QCommandLineOption m_overwrite;
  QCommandLineOption m_duration;
  QCommandLineOption m_queueCapacity;
  QCommandLineOption m_allowRemote;
  QCommandLineOption m_scenario;
  QCommandLineOption m_verbose;
  QCommandLineOption m_png;
  QCommandLineOption m_width;
  QCommandLineOption m_height;
};

// The parsers behind the options, exposed for tests. Each returns nullopt for anything but
// the exact forms --help documents.
std::optional<ready::capture::ReactionSpec> parseReaction(const QString& text);
std::optional<ready::Trigger> parseMode(const QString& text);
std::optional<ready::Interest> parseInterest(const QString& text);
std::optional<std::chrono::nanoseconds> parseDuration(const QString& text);

}  // namespace readyscope
