#include "cli.h"

#include "models/lessons.h"

#include <QDir>
#include <QFileInfo>

#include <algorithm>

#include <cmath>
#include <string_view>

#include "ready/capture/engine.h"
#include "ready/capture/recorder.h"
#include "ready/capture/store.h"
#include "ready/enum_names.h"

namespace readyscope {

namespace {

using ready::capture::Reaction;
using ready::capture::ReactionSpec;

// Names come from the one table per enum (ready::name_of). The command line offers every
// reaction but auto_accept (a listener given any reaction accepts already), and spells read
// with its size, read:N.
bool offered(Reaction r) { return r != Reaction::auto_accept; }
QString qname(std::string_view n) { return QLatin1String(n.data(), static_cast<qsizetype>(n.size())); }
QString cliName(Reaction r) {
  return r == Reaction::read ? QStringLiteral("read:N") : qname(ready::name_of(r));
}

QStringList reactionNames() {
  QStringList names;
  for (const Reaction r : ready::all_values<Reaction>())
    if (offered(r)) names << cliName(r);
  return names;
}
QStringList modeNames() {
  QStringList names;
  for (const std::string_view n : ready::all_names<ready::Trigger>()) names << qname(n);
  return names;
}
/// "a, b or c".
QString joinOr(const QStringList& names) {
  if (names.size() < 2) return names.join(QString());
  return names.mid(0, names.size() - 1).join(QStringLiteral(", ")) + QStringLiteral(" or ") + names.back();
}

constexpr auto kDescription = R"(Makes Linux readiness notification (epoll) visible.

Without arguments: opens the window (an empty capture; File > New source...). With
--listen, --connect, --udp, --unix-listen or --relay it opens with those sources live; with
--scenario it opens with the scenario playing. With a FILE (a recording, .jsonl) it
opens that recording in the window, read-only.

Headless mode (--headless) runs the capture engine without a display: the sources
from the flags below (or from a scenario) are created on the engine's poll thread, every
readiness event and every action is recorded, and with --record the records are written
as JSON Lines (docs/recording-format.md). Each source flag may repeat. Listeners are
created first, so --connect can reach a --listen of the same run.

  readyscope --headless --listen 127.0.0.1:7000 --reaction echo --record out.jsonl --duration 10

To watch two programs of yours talk, put a relay between them (--relay): your client
connects to LISTEN instead of its server, and both legs show up as lanes.

  readyscope --relay 127.0.0.1:8080=127.0.0.1:8000

To watch a program that is already running, attach to it (--attach PID): every
registration of its epoll instances becomes a lane, named by what it watches (a socket's
addresses, a pipe, an eventfd...), sampled from /proc every 50 ms (docs/attach.md).

  readyscope --attach $(pidof my-server)

With --png FILE a headless run renders the timeline (what the window would show) to a PNG
at its end, without a display.

Addresses are numeric (127.0.0.1:7000, [::1]:7000; "localhost" means 127.0.0.1) and
must be loopback unless --allow-remote is given. Port 0 picks a free port; the address
really bound is printed.

Reactions (what the engine does itself on an event of a stream or socket):
  none     nothing is read (edge-triggered: one readable event per arrival;
           level-triggered: the event refires while bytes wait)
  read:N   one read of up to N bytes (1..1048576) per readable event
  drain    read until would-block (the default)
  echo     read until would-block and write every chunk back; a UDP or Unix
           datagram socket sends each datagram back to its sender
  discard  read until would-block and throw the bytes away
A listener always accepts until would-block on each event, and the accepted streams
get the reaction (with none they are accepted and left unread). Every reaction but
none closes a stream once it read end-of-file or hit an error. On a datagram socket
every datagram read is its own action, with its size and sender ("peer"; the first
4096 distinct senders of a run are named, later ones are counted, not named).

SIGINT and SIGTERM stop the run cleanly: the recording is flushed and complete.

Exit codes:
  0  stopped normally (--duration elapsed, a signal, the scenario finished and passed)
  1  a runtime failure: a bind refused, the recording could not be written, or the capture
     engine's poll thread stopped on an error it cannot recover from (the records so far
     are written and the recording closed; one line on stderr says why)
  2  invalid usage or input; nothing was opened
  3  a scenario expectation failed)";

/// The bounds a run meets, with the numbers the engine and the store use (docs/engine.md,
/// "Bounds"); each is counted when hit.
QString boundsText() {
  const ready::capture::EngineConfig e;
  const ready::capture::StoreLimits st;
  return QStringLiteral(
             "Bounds (docs/engine.md; each is counted when hit, nothing is lost silently):\n"
             "  records in flight      %1 headless, 262144 in the window (the ring, --queue-capacity: a\n"
             "                         full ring drops records and counts them)\n"
             "  records kept           %2 (the window's store and --png: the oldest are evicted)\n"
             "  payload per source     %3 KiB kept, growing from 4 KiB; the last %4 closed sources keep theirs\n"
             "  one drain/fill/echo    %5 MiB before it yields\n"
             "  accepts per event      %6 per listener, then round-robin with the other ready sources\n"
             "  commands queued        %7\n"
             "  note texts             %8, of at most %9 bytes each\n"
             "  datagram senders named %10 per run")
      .arg(e.ring_capacity)
      .arg(st.max_records)
      .arg(e.payload_bytes_per_source / 1024)
      .arg(e.payload_closed_sources)
      .arg(e.max_drain_bytes / (1024 * 1024))
      .arg(e.accept_budget)
      .arg(e.command_queue_capacity)
      .arg(e.max_notes)
      .arg(e.max_note_bytes)
      .arg(e.peer_addresses);
}

// ---- --record's file handling (issue 15) ----

constexpr std::size_t kMaxFiles = 1'000'000;
/// The engine's payload buffer per source with --record-payload: one drain's worth
/// (EngineConfig::max_drain_bytes), so what a source moves between two drains of the
/// headless loop is still there when the recorder fetches it.
constexpr std::size_t kRecordPayloadEngineBytes = ready::capture::kDefaultMaxDrainBytes;

QString recordPayloadHelp() {
  const ready::capture::RecorderOptions r;
  const ready::capture::EngineConfig e;
  return QStringLiteral(
             "With --record: also write the bytes every read and write moved, as payload lines (a version-2 "
             "recording, docs/recording-format.md). At most %1 MiB are written per source; more is counted as "
             "cut and said in the file (payload_truncated warnings). The engine then keeps up to %2 MiB of "
             "payload per source instead of %3 KiB (buffers grow only as a source moves bytes), so what a "
             "source moves between two drains is not evicted before it is written.")
      .arg(r.payload_bytes_per_source >> 20)
      .arg(kRecordPayloadEngineBytes >> 20)
      .arg(e.payload_bytes_per_source >> 10);
}

QString maxFileSizeHelp() {
  return QStringLiteral(
             "With --record FILE: write a ring of files of at most SIZE bytes each (plus the stats line that ends "
             "each), named FILE's name + _00001_YYYYMMDDhhmmss (the local time it was started), _00002_..., each "
             "a complete recording (FILE itself is not written, and may exist); the name of each is printed when "
             "it is closed. SIZE in bytes, or with k, M or "
             "G (1024-based: 100k = 102400); at least %1k.")
      .arg(ready::capture::Recorder::kMinFileBytes >> 10);
}

}  // namespace

std::optional<std::uint64_t> parseSize(const QString& text) {
  if (text.isEmpty()) return std::nullopt;
  int shift = 0;
  QString digits = text;
  const QChar last = text.back();
  if (last == QLatin1Char('k') || last == QLatin1Char('K')) shift = 10;
  else if (last == QLatin1Char('M')) shift = 20;
  else if (last == QLatin1Char('G')) shift = 30;
  if (shift != 0) digits.chop(1);
  if (digits.isEmpty() || !std::all_of(digits.begin(), digits.end(), [](QChar c) { return c.isDigit(); }))
    return std::nullopt;
  bool ok = false;
  const qulonglong n = digits.toULongLong(&ok, 10);
  if (!ok || n == 0 || n > (UINT64_MAX >> shift)) return std::nullopt;
  return std::uint64_t{n} << shift;
}

std::expected<void, QString> CommandLine::recordingOptions(HeadlessPlan& plan) const {
  const auto fail = [](const QString& s) { return std::unexpected(s); };
  for (const QCommandLineOption* o : {&m_maxFileSize, &m_maxFiles, &m_stopAfterRecords}) {
    const QString v = m_parser.value(*o);
    if (m_parser.isSet(*o) && v.startsWith(QLatin1String("--")))
      return fail(QStringLiteral("--%1: expected %2, got the option '%3'").arg(o->names().constFirst(), o->valueName(), v));
  }
  for (const QCommandLineOption* o : {&m_recordPayload, &m_maxFileSize, &m_maxFiles, &m_stopAfterRecords}) {
    if (m_parser.isSet(*o) && !plan.record_path)
      return fail(QStringLiteral("--%1 needs --record FILE").arg(o->names().constFirst()));
  }
  plan.record_payload = m_parser.isSet(m_recordPayload);
  const auto count = [&](const QCommandLineOption& o, std::uint64_t most) -> std::optional<std::uint64_t> {
    const QString v = m_parser.value(o);
    bool ok = false;
    const qulonglong n = v.toULongLong(&ok, 10);
    if (!ok || n == 0 || n > most || !std::all_of(v.begin(), v.end(), [](QChar c) { return c.isDigit(); }))
      return std::nullopt;
    return n;
  };
  if (m_parser.isSet(m_maxFileSize)) {
    const auto size = parseSize(m_parser.value(m_maxFileSize));
    const std::uint64_t least = ready::capture::Recorder::kMinFileBytes;
    if (!size || *size < least)
      return fail(QStringLiteral("--max-file-size '%1': expected a size of at least %2k: bytes, or a number "
                                 "with k, M or G (1024-based, e.g. 100k)")
                      .arg(m_parser.value(m_maxFileSize))
                      .arg(least >> 10));
    plan.max_file_bytes = *size;
  }
  if (m_parser.isSet(m_maxFiles)) {
    if (plan.max_file_bytes == 0)
      return fail(QStringLiteral("--max-files needs --max-file-size (the ring rotates by size)"));
    const auto n = count(m_maxFiles, kMaxFiles);
    if (!n)
      return fail(QStringLiteral("--max-files '%1': expected a number of files from 1 to %2")
                      .arg(m_parser.value(m_maxFiles))
                      .arg(kMaxFiles));
    plan.max_files = static_cast<std::size_t>(*n);
  }
  if (m_parser.isSet(m_stopAfterRecords)) {
    const auto n = count(m_stopAfterRecords, UINT64_MAX);
    if (!n)
      return fail(QStringLiteral("--stop-after-records '%1': expected a number of records, 1 or more")
                      .arg(m_parser.value(m_stopAfterRecords)));
    plan.stop_after_records = *n;
  }
  return {};
}

std::size_t recordPayloadEngineBytes() { return kRecordPayloadEngineBytes; }

CommandLine::CommandLine()
    : m_help(QStringList{QStringLiteral("h"), QStringLiteral("help")},
             QStringLiteral("Show this help and exit.")),
      m_version(QStringList{QStringLiteral("v"), QStringLiteral("version")},
                QStringLiteral("Show the version and exit.")),
      m_listLessons(QStringLiteral("list-lessons"),
                    QStringLiteral("List the built-in lessons (name and title, one per line, in teaching order) "
                                   "and exit. Run one with --headless --scenario NAME, or open it in the window's "
                                   "Lessons panel.")),
      m_headless(QStringLiteral("headless"), QStringLiteral("Run without a window (see above).")),
      m_listen(QStringLiteral("listen"),
               QStringLiteral("A TCP listener on HOST:PORT; accepted streams become sources."),
               QStringLiteral("HOST:PORT")),
      m_connect(QStringLiteral("connect"),
                QStringLiteral("A non-blocking TCP connect to HOST:PORT (recorded in progress, "
                               "then its outcome)."),
                QStringLiteral("HOST:PORT")),
      m_udp(QStringLiteral("udp"), QStringLiteral("A UDP socket bound to HOST:PORT."),
            QStringLiteral("HOST:PORT")),
      m_unixListen(QStringLiteral("unix-listen"),
                   QStringLiteral("A Unix stream listener at PATH (must not exist; removed at exit)."),
                   QStringLiteral("PATH")),
      m_reaction(QStringLiteral("reaction"),
                 reactionNames().join(u'|') + QStringLiteral(" for the flag sources (default drain)."),
                 QStringLiteral("REACTION"), qname(ready::name_of(Reaction::drain))),
      m_mode(QStringLiteral("mode"),
             modeNames().join(u'|') + QStringLiteral(": how the flag sources are registered (default edge)."),
             QStringLiteral("MODE"), qname(ready::name_of(ready::Trigger::edge))),
      m_interest(QStringLiteral("interest"),
                 QStringLiteral("r|w|rw (p adds priority): the interest of the flag sources "
                                "(default r; a connect also watches w until it completes)."),
                 QStringLiteral("INTEREST"), QStringLiteral("r")),
      m_record(QStringLiteral("record"),
               QStringLiteral("Write every record to FILE as JSON Lines (FILE must not exist)."),
               QStringLiteral("FILE")),
      m_overwrite(QStringLiteral("overwrite"),
                  QStringLiteral("Let --record, --export-trace and --export-csv replace an existing file.")),
      m_duration(QStringLiteral("duration"),
                 QStringLiteral("Stop after SECONDS (decimal, > 0). Without it: at SIGINT/SIGTERM, or "
                                "when the scenario finishes (with it, a scenario's sources stay live "
                                "until then)."),
                 QStringLiteral("SECONDS")),
      m_queueCapacity(QStringLiteral("queue-capacity"),
                      QStringLiteral("Records the engine's queue holds (a power of two, 2..1073741824; "
                                     "default 65536 headless, 262144 in the window, whose thread also "
                                     "paints). A full queue drops records and counts them."),
                      QStringLiteral("N"), QStringLiteral("65536")),
      m_allowRemote(QStringLiteral("allow-remote"),
                    QStringLiteral("Allow binding non-loopback addresses.")),
      m_scenario(QStringLiteral("scenario"),
                 QStringLiteral("Run the scenario FILE (docs/scenario-format.md) or the built-in one "
                                "NAME; exit 3 if an expectation fails."),
                 QStringLiteral("FILE|NAME")),
      m_verbose(QStringLiteral("verbose"), QStringLiteral("Print every record as a line on stdout.")),
      m_png(QStringLiteral("png"),
            QStringLiteral("Headless: at the end, render the timeline to FILE (PNG; replaced if it exists)."),
            QStringLiteral("FILE")),
      m_width(QStringLiteral("width"), QStringLiteral("Width of the --png image in pixels (320..8192, default 1600)."),
              QStringLiteral("W"), QStringLiteral("1600")),
      m_height(QStringLiteral("height"),
               QStringLiteral("Height of the --png image in pixels (200..8192, default 900)."), QStringLiteral("H"),
               QStringLiteral("900")),
      m_recordPayload(QStringLiteral("record-payload"), recordPayloadHelp()),
      m_maxFileSize(QStringLiteral("max-file-size"), maxFileSizeHelp(), QStringLiteral("SIZE")),
      m_maxFiles(QStringLiteral("max-files"),
                 QStringLiteral("With --max-file-size: keep at most N files (1..%1); the oldest is deleted when "
                                "one more is started.")
                     .arg(kMaxFiles),
                 QStringLiteral("N")),
      m_stopAfterRecords(QStringLiteral("stop-after-records"),
                         QStringLiteral("With --record: stop the run once N records are written (the file still "
                                        "ends with a stats line)."),
                         QStringLiteral("N")),
      m_open(QStringLiteral("open"),
             QStringLiteral("Read the recording FILE instead of capturing. With --headless: print its records, "
                            "sources and time span (a warning if the recorder was stopped before its final "
                            "stats line), then write --png, --export-trace and --export-csv from it; a bad file "
                            "exits 2 with one line naming the file and line, and writes nothing. Cannot be "
                            "combined with sources, --scenario, --record or --duration."),
             QStringLiteral("FILE")),
      m_exportTrace(QStringLiteral("export-trace"),
                    QStringLiteral("Headless: write the records as Chrome Trace Event JSON to FILE (opens in "
                                   "ui.perfetto.dev and chrome://tracing; docs/export.md): of --open's recording, "
                                   "or of the live capture as it runs. FILE must not exist (--overwrite)."),
                    QStringLiteral("FILE")),
      m_exportCsv(QStringLiteral("export-csv"),
                  QStringLiteral("Headless: write the records as CSV to FILE (RFC 4180, a header line, one row "
                                 "per record, times in seconds; docs/export.md), of --open's recording or of the "
                                 "live capture. FILE must not exist (--overwrite)."),
                  QStringLiteral("FILE")),
      m_relay(QStringLiteral("relay"),
              QStringLiteral("Relay between two local programs (docs/relay.md): listen on LISTEN; each client "
                             "accepted there gets its own connection to UPSTREAM, and the engine copies both "
                             "ways, recording both legs (readiness, every read and write, back-pressure as "
                             "interest changes). Each side is HOST:PORT or a Unix socket path (with a '/'); "
                             "loopback only unless --allow-remote. --mode edge|level sets the legs' trigger. "
                             "Repeatable."),
              QStringLiteral("LISTEN=UPSTREAM")),
      m_relayLatency(QStringLiteral("relay-latency"),
                     QStringLiteral("Hold each chunk MS milliseconds (+- a random JITTER, at most MS) before "
                                    "the relay forwards it. Prefix up: (client to upstream) or down: (upstream "
                                    "to client) for one direction; without one, both. For every --relay."),
                     QStringLiteral("[up:|down:]MS[:JITTER]")),
      m_relayBandwidth(QStringLiteral("relay-bandwidth"),
                       QStringLiteral("Forward at most KBPS kilobytes (1000 bytes) per second (up:/down: as "
                                      "above)."),
                       QStringLiteral("[up:|down:]KBPS")),
      m_relaySlice(QStringLiteral("relay-slice"),
                   QStringLiteral("Forward in writes of at most BYTES, DELAY_MS apart (default 1 ms, so the "
                                  "receiving program meets partial reads; 0 lets its kernel join them again) "
                                  "(up:/down: as above)."),
                   QStringLiteral("[up:|down:]BYTES[:DELAY_MS]")),
      m_relayResetAfter(QStringLiteral("relay-reset-after"),
                        QStringLiteral("After BYTES went one way, reset both connections (each program gets a "
                                       "RST) (up:/down: as above)."),
                        QStringLiteral("[up:|down:]BYTES")),
      m_follow(followOption()),
      m_followFormat(followFormatOption()),
      m_queueSampling(QStringLiteral("queue-sampling"),
                      QStringLiteral("on|off: record each stream, pipe and datagram source's queues (bytes "
                                     "readable, bytes not yet sent) when they change, drawn as the band "
                                     "under its lane; at most two ioctls per event (default on, headless "
                                     "and in the window, where View > Queue sampling switches it)."),
                      QStringLiteral("on|off"), QStringLiteral("on")),
      m_attach(attachOption()),
      m_attachInterval(attachIntervalOption()),
      m_trace(traceOption()),
      m_traceIo(traceIoOption()) {
  const QStringList builtIn = builtinLessonNames();
  m_parser.setApplicationDescription(QString::fromUtf8(kDescription) + QStringLiteral("\n\n") + boundsText() +
                                     QStringLiteral("\n\nBuilt-in scenarios (--scenario NAME): %1")
                                         .arg(builtIn.isEmpty() ? QStringLiteral("none") : builtIn.join(QStringLiteral(", "))));
  m_parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
  for (const auto* o : {&m_help, &m_version, &m_listLessons, &m_headless, &m_listen, &m_connect, &m_udp, &m_unixListen,
                        &m_reaction, &m_mode, &m_interest, &m_record, &m_overwrite, &m_duration,
                        &m_queueCapacity, &m_allowRemote, &m_scenario, &m_verbose, &m_png, &m_width, &m_height})
    m_parser.addOption(*o);
  for (const auto* o : {&m_recordPayload, &m_maxFileSize, &m_maxFiles, &m_stopAfterRecords}) m_parser.addOption(*o);
  for (const auto* o : {&m_open, &m_exportTrace, &m_exportCsv}) m_parser.addOption(*o);
  for (const auto* o : relayOptions()) m_parser.addOption(*o);
  for (const auto* o : {&m_follow, &m_followFormat}) m_parser.addOption(*o);
  m_parser.addOption(m_queueSampling);
  for (const auto* o : {&m_attach, &m_attachInterval, &m_trace, &m_traceIo}) m_parser.addOption(*o);
  m_parser.addPositionalArgument(QStringLiteral("FILE"), QStringLiteral("A recording to open in the window (read-only)."),
                                 QStringLiteral("[FILE.jsonl]"));
}

std::expected<void, QString> CommandLine::parse(const QStringList& arguments) {
  if (!m_parser.parse(arguments)) return std::unexpected(m_parser.errorText());
  return {};
}

bool CommandLine::helpRequested() const { return m_parser.isSet(m_help); }
bool CommandLine::versionRequested() const { return m_parser.isSet(m_version); }
bool CommandLine::listLessonsRequested() const { return m_parser.isSet(m_listLessons); }
QString CommandLine::helpText() const { return m_parser.helpText(); }

std::optional<ReactionSpec> parseReaction(const QString& text) {
  const QByteArray name = text.toLatin1();
  if (const auto r = ready::parse_name<Reaction>(std::string_view(name.data(), static_cast<std::size_t>(name.size())));
      r && offered(*r) && *r != Reaction::read)
    return ReactionSpec{*r};
  if (text.startsWith(QLatin1String("read:"))) {
    const QString n = text.mid(5);
    bool ok = false;
    const uint v = n.toUInt(&ok, 10);
    // toUInt accepts a leading '+' and whitespace; only digits are documented.
    const bool digits = !n.isEmpty() && std::all_of(n.begin(), n.end(), [](QChar c) { return c.isDigit(); });
    if (ok && digits && v >= 1 && v <= (1U << 20)) return ReactionSpec{Reaction::read, v};
  }
  return std::nullopt;
}

std::optional<ready::Trigger> parseMode(const QString& text) {
  const QByteArray name = text.toLatin1();
  return ready::parse_name<ready::Trigger>(std::string_view(name.data(), static_cast<std::size_t>(name.size())));
}

std::optional<ready::Interest> parseInterest(const QString& text) {
  std::uint8_t bits = 0;
  if (text.isEmpty() || text.size() > 3) return std::nullopt;
  for (const QChar c : text) {
    std::uint8_t b = 0;
    if (c == QLatin1Char('r')) b = ready::Interest::READABLE.bits();
    else if (c == QLatin1Char('w')) b = ready::Interest::WRITABLE.bits();
    else if (c == QLatin1Char('p')) b = ready::Interest::PRIORITY.bits();
    if (b == 0 || (bits & b)) return std::nullopt;  // unknown letter or a repeat
    bits |= b;
  }
  return ready::Interest::from_bits(bits);
}

std::optional<std::chrono::nanoseconds> parseDuration(const QString& text) {
  bool ok = false;
  const double s = text.toDouble(&ok);
  // Up to a year; toDouble accepts "inf" and "nan", which fail these comparisons.
  if (!ok || !(s > 0) || !(s <= 365.0 * 24 * 3600)) return std::nullopt;
  const auto ns = static_cast<std::int64_t>(std::llround(s * 1e9));
  if (ns <= 0) return std::nullopt;
  return std::chrono::nanoseconds(ns);
}

namespace {

std::optional<ready::net::SocketAddr> parseAddress(const QString& text) {
  const std::string s = text.toStdString();
  static constexpr std::string_view kLocalhost = "localhost:";
  if (s.starts_with(kLocalhost))
    return ready::net::SocketAddr::parse("127.0.0.1:" + s.substr(kLocalhost.size()));
  return ready::net::SocketAddr::parse(s);
}

QString quoted(const QString& s) { return QLatin1Char('\'') + s + QLatin1Char('\''); }

}  // namespace

std::expected<Invocation, QString> CommandLine::invocation() const {
  const auto fail = [](const QString& s) { return std::unexpected(s); };
  Invocation inv;

  // QCommandLineParser takes the next argument as an option's value even when it is
  // another option ("--connect --duration 1"): say which value is missing instead.
  for (const QCommandLineOption* o : {&m_listen, &m_connect, &m_udp, &m_unixListen, &m_reaction, &m_mode,
                                      &m_interest, &m_record, &m_duration, &m_queueCapacity, &m_scenario, &m_png,
                                      &m_width, &m_height}) {
    for (const QString& v : m_parser.values(*o)) {
      if (v.startsWith(QLatin1String("--")))
        return fail(QStringLiteral("--%1: expected %2, got the option %3").arg(o->names().constFirst(), o->valueName(), quoted(v)));
    }
  }

  // One positional argument: a recording for the window (checked below, once the mode is known);
  // with --trace, the program to start and its arguments (after --).
  const QStringList positional = m_parser.isSet(m_trace) ? QStringList() : m_parser.positionalArguments();
  if (positional.size() > 1)
    return fail(QStringLiteral("unexpected argument %1 (one recording file at most; options start with --; see --help)")
                    .arg(quoted(positional.at(1))));

  HeadlessPlan& plan = inv.plan;
  plan.allow_remote = m_parser.isSet(m_allowRemote);
  plan.verbose = m_parser.isSet(m_verbose);
  plan.overwrite = m_parser.isSet(m_overwrite);
  {
    const QString q = m_parser.value(m_queueSampling);
    if (q != QLatin1String("on") && q != QLatin1String("off"))
      return fail(QStringLiteral("--queue-sampling %1: expected on or off").arg(quoted(q)));
    plan.queue_sampling = q == QLatin1String("on");
  }

  const auto reaction = parseReaction(m_parser.value(m_reaction));
  if (!reaction) {
    QStringList names = reactionNames();
    names.replaceInStrings(QStringLiteral("read:N"), QStringLiteral("read:N (N in 1..1048576)"));
    return fail(QStringLiteral("--reaction %1: expected %2").arg(quoted(m_parser.value(m_reaction)), joinOr(names)));
  }
  const auto mode = parseMode(m_parser.value(m_mode));
  if (!mode)
    return fail(QStringLiteral("--mode %1: expected %2").arg(quoted(m_parser.value(m_mode)), joinOr(modeNames())));
  const auto interest = parseInterest(m_parser.value(m_interest));
  if (!interest)
    return fail(QStringLiteral("--interest %1: expected r, w or rw (p adds priority)")
                    .arg(quoted(m_parser.value(m_interest))));
  plan.options = {*interest, *mode, *reaction};
  plan.interest_given = m_parser.isSet(m_interest);

  bool ok = false;
  const qulonglong cap = m_parser.value(m_queueCapacity).toULongLong(&ok);
  if (!ok || cap < 2 || cap > (1ULL << 30) || (cap & (cap - 1)) != 0)
    return fail(QStringLiteral("--queue-capacity %1: expected a power of two from 2 to 1073741824")
                    .arg(quoted(m_parser.value(m_queueCapacity))));
  plan.queue_capacity = static_cast<std::size_t>(cap);
  plan.queue_capacity_given = m_parser.isSet(m_queueCapacity);

  if (m_parser.isSet(m_duration)) {
    plan.duration = parseDuration(m_parser.value(m_duration));
    if (!plan.duration)
      return fail(QStringLiteral("--duration %1: expected seconds, a number > 0 (at most a year)")
                      .arg(quoted(m_parser.value(m_duration))));
  }
  if (m_parser.isSet(m_record)) {
    const QString path = m_parser.value(m_record);
    if (path.isEmpty()) return fail(QStringLiteral("--record: expected a file name"));
    const QFileInfo fi(path);
    // A ring (--max-file-size) never writes FILE itself, only FILE's name with a number.
    if (fi.exists() && !plan.overwrite && !m_parser.isSet(m_maxFileSize))
      return fail(QStringLiteral("--record %1: the file exists (add --overwrite to replace it)").arg(quoted(path)));
    if (fi.isDir()) return fail(QStringLiteral("--record %1: is a directory").arg(quoted(path)));
    if (!fi.absoluteDir().exists())
      return fail(QStringLiteral("--record %1: the directory %2 does not exist")
                      .arg(quoted(path), quoted(fi.absolutePath())));
    plan.record_path = path.toStdString();
  }

  using Kind = SourceRequest::Kind;
  const auto addInet = [&](const QCommandLineOption& o, Kind kind) -> std::expected<void, QString> {
    const QString name = o.names().constFirst();
    for (const QString& v : m_parser.values(o)) {
      const auto addr = parseAddress(v);
      if (!addr)
        return fail(QStringLiteral("--%1 %2: expected HOST:PORT with a numeric host and a port from 0 to "
                                   "65535 (127.0.0.1:7000, [::1]:7000, localhost:7000)")
                        .arg(name, quoted(v)));
      if (kind != Kind::connect && !addr->is_loopback() && !plan.allow_remote)
        return fail(QStringLiteral("--%1 %2: not a loopback address; add --allow-remote to bind it")
                        .arg(name, quoted(v)));
      if (kind == Kind::connect && addr->port() == 0)
        return fail(QStringLiteral("--connect %1: port 0 cannot be connected to").arg(quoted(v)));
      plan.sources.push_back({kind, QStringLiteral("--%1 %2").arg(name, v), *addr, {}});
    }
    return {};
  };
  if (auto r = addInet(m_listen, Kind::listen); !r) return std::unexpected(r.error());
  for (const QString& v : m_parser.values(m_unixListen)) {
    const QByteArray bytes = v.toLocal8Bit();
    if (bytes.isEmpty() || bytes.size() > 107 || bytes.contains('\0'))
      return fail(QStringLiteral("--unix-listen %1: expected a path of 1 to 107 bytes").arg(quoted(v)));
    if (QFileInfo::exists(v) || QFileInfo(v).isSymLink())
      return fail(QStringLiteral("--unix-listen %1: the path exists (remove it or choose another)").arg(quoted(v)));
    if (!QFileInfo(v).absoluteDir().exists())
      return fail(QStringLiteral("--unix-listen %1: the directory does not exist").arg(quoted(v)));
    plan.sources.push_back({Kind::unix_listen, QStringLiteral("--unix-listen %1").arg(v), {}, bytes.toStdString()});
  }
  if (auto r = relays(plan); !r) return std::unexpected(r.error());
  if (auto r = addInet(m_udp, Kind::udp); !r) return std::unexpected(r.error());
  if (auto r = addInet(m_connect, Kind::connect); !r) return std::unexpected(r.error());

  if (m_parser.isSet(m_scenario)) {
    const QString s = m_parser.value(m_scenario);
    if (s.isEmpty()) return fail(QStringLiteral("--scenario: expected a file or a built-in scenario name"));
    if (!plan.sources.empty())
      return fail(QStringLiteral("--scenario cannot be combined with %1: a scenario declares its own sources")
                      .arg(plan.sources.front().flag.section(QLatin1Char(' '), 0, 0)));
    plan.scenario = s.toStdString();
  }

  const auto pixels = [&](const QCommandLineOption& o, int lo, int& out) -> bool {
    bool number = false;
    const QString v = m_parser.value(o);
    const int n = v.toInt(&number, 10);
    const bool digits = !v.isEmpty() && std::all_of(v.begin(), v.end(), [](QChar c) { return c.isDigit(); });
    if (!number || !digits || n < lo || n > 8192) return false;
    out = n;
    return true;
  };
  if (!pixels(m_width, 320, plan.png_width))
    return fail(QStringLiteral("--width %1: expected a whole number of pixels from 320 to 8192").arg(quoted(m_parser.value(m_width))));
  if (!pixels(m_height, 200, plan.png_height))
    return fail(QStringLiteral("--height %1: expected a whole number of pixels from 200 to 8192").arg(quoted(m_parser.value(m_height))));
  if (m_parser.isSet(m_png)) {
    const QString path = m_parser.value(m_png);
    const QFileInfo fi(path);
    if (path.isEmpty()) return fail(QStringLiteral("--png: expected a file name"));
    if (fi.isDir()) return fail(QStringLiteral("--png %1: is a directory").arg(quoted(path)));
    if (!fi.absoluteDir().exists())
      return fail(QStringLiteral("--png %1: the directory %2 does not exist").arg(quoted(path), quoted(fi.absolutePath())));
    plan.png_path = path.toStdString();
  }

  if (auto r = recordingOptions(plan); !r) return std::unexpected(r.error());
  if (auto r = attachOptions(plan); !r) return std::unexpected(r.error());
  if (auto r = openAndExport(inv); !r) return std::unexpected(r.error());
  if (auto r = followOptions(inv); !r) return std::unexpected(r.error());
  if (plan.open_path && m_parser.isSet(m_headless)) {
    inv.mode = Invocation::Mode::headless;
    return inv;
  }

  const bool headless = m_parser.isSet(m_headless);
  const bool wantsCapture = !plan.sources.empty() || plan.scenario.has_value() || plan.attach.has_value();
  if (!headless) {
    // The window records with --record (and its companions) as Capture > Record to… does.
    for (const QCommandLineOption* o : {&m_duration, &m_png, &m_width, &m_height, &m_verbose, &m_stopAfterRecords}) {
      if (m_parser.isSet(*o))
        return fail(QStringLiteral("--%1 is for headless runs: add --headless (the window records as you watch: "
                                   "--record, Capture > Record to…, File > Save recording)")
                        .arg(o->names().constFirst()));
    }
    if (!positional.isEmpty()) {
      if (positional.constFirst().isEmpty()) return fail(QStringLiteral("expected a recording file name, got ''"));
      if (wantsCapture)
        return fail(QStringLiteral("%1: a recording opens read-only; it cannot be combined with %2")
                        .arg(quoted(positional.constFirst()),
                             !plan.sources.empty() ? plan.sources.front().flag.section(QLatin1Char(' '), 0, 0)
                             : plan.scenario       ? QStringLiteral("--scenario")
                                                   : QStringLiteral("--attach")));
      plan.open_path = positional.constFirst().toStdString();
    }
    if (plan.open_path && plan.record_path)
      return fail(QStringLiteral("--record: a recording opens read-only; record a live capture instead"));
    inv.mode = Invocation::Mode::window;
    return inv;
  }
  if (!positional.isEmpty())
    return fail(QStringLiteral("unexpected argument %1 (options start with --; see --help)")
                    .arg(quoted(positional.constFirst())));
  if (!wantsCapture)
    return fail(QStringLiteral("--headless: nothing to capture; give --listen, --connect, --udp, --unix-listen, "
                               "--relay, --attach or --scenario (or --open FILE to read a recording)"));
  inv.mode = Invocation::Mode::headless;
  return inv;
}

std::expected<void, QString> CommandLine::openAndExport(Invocation& inv) const {
  const auto fail = [](const QString& s) { return std::unexpected(s); };
  HeadlessPlan& plan = inv.plan;
  for (const QCommandLineOption* o : {&m_open, &m_exportTrace, &m_exportCsv}) {
    for (const QString& v : m_parser.values(*o)) {
      if (v.startsWith(QLatin1String("--")))
        return fail(QStringLiteral("--%1: expected %2, got the option %3")
                        .arg(o->names().constFirst(), o->valueName(), quoted(v)));
    }
  }
  if (m_parser.isSet(m_open)) {
    const QString path = m_parser.value(m_open);
    if (path.isEmpty()) return fail(QStringLiteral("--open: expected a recording file"));
    for (const QCommandLineOption* o :
         {&m_listen, &m_connect, &m_udp, &m_unixListen, &m_scenario, &m_record, &m_duration, &m_reaction,
          &m_mode, &m_interest, &m_queueCapacity, &m_allowRemote, &m_verbose, &m_relay, &m_queueSampling, &m_attach}) {
      if (m_parser.isSet(*o))
        return fail(
            QStringLiteral("--open cannot be combined with --%1: a recording is read, nothing is captured")
                .arg(o->names().constFirst()));
    }
    plan.open_path = path.toStdString();
  }
  // An export file: like --record's, it must not exist unless --overwrite, and never be the
  // recording it is made from.
  const auto output = [&](const QCommandLineOption& o,
                          std::optional<std::string>& dest) -> std::expected<void, QString> {
    if (!m_parser.isSet(o)) return {};
    const QString flag = QStringLiteral("--") + o.names().constFirst();
    if (!m_parser.isSet(m_headless))
      return fail(QStringLiteral("%1 is for headless runs: add --headless").arg(flag));
    const QString path = m_parser.value(o);
    if (path.isEmpty()) return fail(QStringLiteral("%1: expected a file name").arg(flag));
    const QFileInfo fi(path);
    if (fi.isDir()) return fail(QStringLiteral("%1 %2: is a directory").arg(flag, quoted(path)));
    if (plan.open_path && fi.exists() &&
        fi.canonicalFilePath() == QFileInfo(QString::fromStdString(*plan.open_path)).canonicalFilePath())
      return fail(QStringLiteral("%1 %2: is the recording --open reads").arg(flag, quoted(path)));
    if (fi.exists() && !plan.overwrite)
      return fail(
          QStringLiteral("%1 %2: the file exists (add --overwrite to replace it)").arg(flag, quoted(path)));
    if (!fi.absoluteDir().exists())
      return fail(QStringLiteral("%1 %2: the directory %3 does not exist")
                      .arg(flag, quoted(path), quoted(fi.absolutePath())));
    dest = path.toStdString();
    return {};
  };
  if (auto r = output(m_exportTrace, plan.export_trace_path); !r) return r;
  if (auto r = output(m_exportCsv, plan.export_csv_path); !r) return r;
  if (plan.export_trace_path && plan.export_csv_path &&
      QFileInfo(QString::fromStdString(*plan.export_trace_path)).absoluteFilePath() ==
          QFileInfo(QString::fromStdString(*plan.export_csv_path)).absoluteFilePath())
    return fail(QStringLiteral("--export-trace and --export-csv name the same file %1")
                    .arg(quoted(QString::fromStdString(*plan.export_csv_path))));
  return {};
}

}  // namespace readyscope
