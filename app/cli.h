// The command line of `readyscope`: what it accepts, checked completely before anything
// is opened, turned into a plan the headless runner (or later the window) carries out.
#pragma once

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QString>
#include <QStringList>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "headless_follow.h"
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
  enum class Kind { listen, connect, udp, unix_listen, relay };
  Kind kind = Kind::listen;
  QString flag;                   ///< "--listen 127.0.0.1:7000", for messages
  ready::net::SocketAddr address;  ///< listen / connect / udp
  std::string path;               ///< unix_listen
  /// relay: LISTEN=UPSTREAM, and the faults of --relay-latency / -bandwidth / -slice / -reset-after.
  ready::capture::RelayEndpoint relay_listen{};
  ready::capture::RelayEndpoint relay_upstream{};
  ready::capture::RelayFaultSet relay_faults{};
};

/// --attach PID (issue 17; docs/attach.md): the process was readable when the command line
/// was checked.
struct AttachRequest {
  int pid = 0;
  std::chrono::nanoseconds interval = std::chrono::milliseconds(50);  ///< --attach-interval
  std::string name;         ///< its /proc/PID/comm
  int epoll_instances = 0;  ///< when checked (0: it is watched for one)
  bool trace = false;        ///< --trace: level 2, ptrace (docs/attach.md)
  bool trace_io = false;     ///< --trace-io
  std::vector<std::string> launch;  ///< --trace -- PROGRAM ARGS...: started under the trace (pid 0 until then)
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
  // --record's file handling (issue 15): payload, a ring of files, a stop. All need --record.
  bool record_payload = false;          ///< --record-payload
  std::uint64_t max_file_bytes = 0;     ///< --max-file-size (0: one file)
  std::size_t max_files = 0;            ///< --max-files (0: keep all)
  std::uint64_t stop_after_records = 0;  ///< --stop-after-records (0: no limit)
  /// --queue-sampling on|off: EngineConfig::queue_sampling (default on, headless and window).
  bool queue_sampling = true;

  // ---- recordings opened, captures exported (issue 15; docs/export.md) ----
  /// --open: read this recording instead of capturing (headless: summary, --png and
  /// exports; without --headless the window shows it).
  std::optional<std::string> open_path;
  /// --export-trace: Chrome Trace Event JSON of the run's records (docs/export.md).
  std::optional<std::string> export_trace_path;
  /// --export-csv: CSV of the run's records, one row per record.
  std::optional<std::string> export_csv_path;

  /// --follow / --follow-format (issue 16): relayed conversations printed as they arrive.
  std::optional<FollowRequest> follow;

  /// --attach / --attach-interval (issue 17): another process's epoll instances, sampled.
  std::optional<AttachRequest> attach;
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
  // --record's file handling (issue 15).
  std::expected<void, QString> recordingOptions(HeadlessPlan& plan) const;
  QCommandLineOption m_recordPayload;
  QCommandLineOption m_maxFileSize;
  QCommandLineOption m_maxFiles;
  QCommandLineOption m_stopAfterRecords;
  // Recordings opened, captures exported.
  QCommandLineOption m_open;
  QCommandLineOption m_exportTrace;
  QCommandLineOption m_exportCsv;
  /// Validates --open, --export-trace and --export-csv into `inv` (after the other options).
  [[nodiscard]] std::expected<void, QString> openAndExport(Invocation& inv) const;
  // Relays between local endpoints (issue 16; cli_relay.cpp, docs/relay.md).
  QCommandLineOption m_relay;
  QCommandLineOption m_relayLatency;
  QCommandLineOption m_relayBandwidth;
  QCommandLineOption m_relaySlice;
  QCommandLineOption m_relayResetAfter;
  /// The options above, in the order --help lists them.
  [[nodiscard]] std::vector<const QCommandLineOption*> relayOptions() const;
  /// Validates --relay and its fault options into `plan.sources` (after --mode and --allow-remote).
  [[nodiscard]] std::expected<void, QString> relays(HeadlessPlan& plan) const;
  // --follow (issue 16; cli_follow.cpp).
  QCommandLineOption m_follow;
  QCommandLineOption m_followFormat;
  /// Validates --follow and --follow-format into `inv` (after the sources and --open).
  [[nodiscard]] std::expected<void, QString> followOptions(Invocation& inv) const;
  // --queue-sampling (issue 18: the queue band).
  QCommandLineOption m_queueSampling;
  // --attach (issue 17; cli_attach.cpp, docs/attach.md).
  QCommandLineOption m_attach;
  QCommandLineOption m_attachInterval;
  QCommandLineOption m_trace;
  QCommandLineOption m_traceIo;
  /// Validates --attach and --attach-interval into `plan` (after --scenario): checks the
  /// process exists and is readable now.
  [[nodiscard]] std::expected<void, QString> attachOptions(HeadlessPlan& plan) const;
};

/// One fault option's value, "[up:|down:]VALUE": which directions it sets (no prefix: both)
/// and the rest. Exposed for tests.
struct RelayFaultArg {
  bool to_upstream = true;
  bool to_client = true;
  QString value;
};
std::optional<RelayFaultArg> parseRelayFaultArg(const QString& text);

/// --attach's and --attach-interval's options (cli_attach.cpp).
QCommandLineOption attachOption();
QCommandLineOption attachIntervalOption();
QCommandLineOption traceOption();
QCommandLineOption traceIoOption();

/// --follow's and --follow-format's options (cli_follow.cpp).
QCommandLineOption followOption();
QCommandLineOption followFormatOption();

// The parsers behind the options, exposed for tests. Each returns nullopt for anything but
// the exact forms --help documents.
std::optional<ready::capture::ReactionSpec> parseReaction(const QString& text);
std::optional<ready::Trigger> parseMode(const QString& text);
std::optional<ready::Interest> parseInterest(const QString& text);
std::optional<std::chrono::nanoseconds> parseDuration(const QString& text);
/// --max-file-size: digits, optionally followed by k, M or G (1024-based): "100k" = 102400.
std::optional<std::uint64_t> parseSize(const QString& text);
/// EngineConfig::payload_bytes_per_source of a run with --record-payload (stated in --help).
std::size_t recordPayloadEngineBytes();

}  // namespace readyscope
