#include "headless.h"

#include "export_files.h"
#include "headless_follow.h"
#include "headless_open.h"
#include "plan.h"
#include "timeline/laneindex.h"
#include "models/source_table.h"
#include "models/scenario_view.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSize>
#include <QString>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ready/attach/process.h"
#include "ready/attach/tracer.h"
#include "ready/capture/engine.h"
#include "ready/capture/recorder.h"
#include "ready/capture/recording.h"
#include "ready/capture/scenario.h"
#include "ready/error.h"
#include "ready/event.h"
#include "ready/poll.h"
#include "ready/source.h"
#include "ready/unix/signalfd.h"

namespace readyscope {

namespace {

using namespace ready::capture;
using Clock = std::chrono::steady_clock;

constexpr ready::Token kSignalToken{1};
constexpr ready::Token kNotifierToken{2};

const char* signalName(int s) {
  switch (s) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    default:
      return "a signal";
  }
}

/// One line per record for --verbose: time, kind, token, fd and what the record says.
std::string describe(const Record& r, const Engine& engine) {
  char head[96];
  std::snprintf(head, sizeof head, "%6" PRIu64 ".%09" PRIu64 " %-14s token=%-4" PRIu64 " fd=%-4d ",
                r.t_ns / 1'000'000'000, r.t_ns % 1'000'000'000, std::string(to_string(r.kind)).c_str(), r.token,
                r.fd);
  std::string s = head;
  switch (r.kind) {
    case RecordKind::readiness: {
      const ready::Event e(ready::Token(r.token), r.bits);
      const std::string full = e.to_string();  // "token=3 readable ... (EPOLLIN|...)"
      const auto space = full.find(' ');
      s += space == std::string::npos ? full : full.substr(space + 1);
      break;
    }
    case RecordKind::action: {
      s += to_string(static_cast<Op>(r.op));
      s += ' ';
      s += to_string(r.outcome);
      if (r.outcome == Outcome::error) {
        s += ' ';
        s += std::strerror(r.err);
      } else if (r.outcome == Outcome::ok) {
        s += " n=" + std::to_string(r.value);
      }
      if (const auto peer = engine.peer_text(r.peer_id())) s += " peer=" + *peer;  // datagrams
      break;
    }
    case RecordKind::source_added:
    case RecordKind::source_changed:
    case RecordKind::source_removed:
      s += to_string(static_cast<SourceKind>(r.op));
      break;
    case RecordKind::poll_return:
      s += "events=" + std::to_string(r.value) + " blocked_ns=" + std::to_string(r.value2);
      break;
    case RecordKind::note:
      s += engine.note_text(r.value).value_or("");
      break;
    case RecordKind::warning:
      s += to_string(static_cast<WarningKind>(r.op));
      s += " value=" + std::to_string(r.value);
      break;
    case RecordKind::stats:
      s += "produced=" + std::to_string(r.value) + " dropped=" + std::to_string(r.value2);
      break;
    case RecordKind::queue:
      s += "readable=" + std::to_string(r.readable()) + " unsent=" + std::to_string(r.unsent());
      break;
  }
  return s;
}

/// Fills the lookups that RecorderOptions and ExportOptions share (notes, a source's
/// addresses, peers) from `engine`. The engine is looked at only when a record is written,
/// so it may still be empty here.
template <class Options>
void setEngineLookups(Options& o, const std::unique_ptr<Engine>& engine) {
  o.note_text = [&engine](std::uint64_t id) { return engine->note_text(id); };
  o.addresses = [&engine](std::uint64_t token) -> std::optional<SourceAddresses> {
    auto info = engine->source_info(ready::Token(token));
    if (!info) return std::nullopt;
    return SourceAddresses{info->local, info->peer};
  };
  o.peer_text = [&engine](std::uint64_t id) { return engine->peer_text(id); };
}

/// The state of one run: the poll of the main thread (signals + the engine's notifier),
/// the engine, the recording, and why it stops.
class Run {
 public:
  Run(const HeadlessPlan& plan, std::FILE* out, std::FILE* err, const PngRenderer& renderPng)
      : m_plan(plan), m_out(out), m_err(err), m_renderPng(renderPng) {}

  int exec();

 private:
  int fail(int code, const std::string& what) {
    std::fprintf(m_err, "readyscope: %s\n", what.c_str());
    return code;
  }
  /// Pops queued records and writes, prints and inspects them: until the ring is empty, or
  /// (`bounded`) at most kDrainBudget records. Returns true when it stopped with records
  /// left: the caller drains again without waiting (the Notifier stays quiet until the
  /// ring was seen empty).
  bool drainRecords(bool bounded = false);
  void inspect(const Record& r);
  /// Stops the engine, writes what is left, closes the recording. Returns false if the
  /// recording could not be completed.
  bool finish();
  void removeUnixPaths();
  void printOutcome(const StepOutcome& o);
  /// Where --record wrote: its file, or "N files from PATH (M oldest deleted)" for a ring.
  std::string recordedTo() const {
    if (m_plan.max_file_bytes == 0) return *m_plan.record_path;
    const RecorderCounts& c = m_recorder->counts();
    return std::to_string(c.files_written) + " files from " + *m_plan.record_path + " (" +
           std::to_string(c.files_deleted) + " oldest deleted)";
  }
  /// The exit code of a scenario run that completed (1, 3 or 0), with its message.
  int scenarioVerdict();

  const HeadlessPlan& m_plan;
  std::FILE* m_out;
  std::FILE* m_err;
  const PngRenderer& m_renderPng;
  std::unique_ptr<Engine> m_engine;
  std::optional<Scenario> m_scenario;
  std::unique_ptr<ScenarioRunner> m_runner;
  std::optional<Recorder> m_recorder;
  std::optional<ExportFiles> m_exports;  // --export-trace, --export-csv: written as records are drained
  std::optional<FollowPrinter> m_follow;  // --follow: printed as records are drained
  std::vector<Record> m_batch = std::vector<Record>(4096);
  std::unordered_map<std::uint64_t, std::size_t> m_creates;  // command id -> plan.sources index
  std::vector<std::string> m_unixPaths;                      // created by this run, removed at exit
  std::string m_runtimeError;                                // first runtime failure, if any
  std::uint64_t m_attachCmd = 0;  // --attach: its command id
  int m_attachPid = 0;            // --attach: the process (a launched one's from the attach action)
  bool m_attachEnded = false;     // --attach: the process exited (detach eof): the run stops
  bool m_writerFailed = false;
  std::uint64_t m_records = 0;
  // --png: the records kept for the picture, the timeline's lanes and each source's label
  // (taken when it is added: the engine forgets a closed source's addresses).
  std::unique_ptr<RecordStore> m_store;
  std::unique_ptr<ready::ui::LaneIndex> m_lanes;
  std::unique_ptr<ready::ui::SourceTable> m_sources;  // the lanes' labels
  std::uint64_t m_pngEvictedTo = 0;
};

void Run::inspect(const Record& r) {
  if (r.attached_pid() != 0 && r.kind == RecordKind::source_added) {
    const auto info = m_engine->source_info(ready::Token(r.token));
    std::string where = info && !info->local.empty() ? " " + info->local : std::string();
    if (info && !info->peer.empty()) where += " -> " + info->peer;
    std::fprintf(m_out, "token %" PRIu64 ": pid %d epoll %d fd %d (%s)%s: %s data 0x%" PRIx64 "\n", r.token,
                 r.attached_pid(), r.attached_epoll_fd(), r.fd, std::string(to_string(r.source_kind())).c_str(),
                 where.c_str(), ready::attach::mask_text(r.attached_events()).c_str(), r.attached_data());
    std::fflush(m_out);
    return;
  }
  if (r.kind == RecordKind::action && m_attachCmd != 0 && r.token == 0) {
    const Op op = r.action_op();
    if (op == Op::attach && r.outcome == Outcome::error && r.value2 == m_attachCmd && m_runtimeError.empty()) {
      const int pid = static_cast<int>(r.value);
      m_runtimeError = m_plan.attach->trace
                           ? "--trace: " + ready::attach::Tracer::error_text(pid, ready::os_error(r.err))
                           : "--attach: " + ready::attach::attach_error(pid, r.err).message;
    }
    if (op == Op::attach && r.outcome == Outcome::ok && r.value2 == m_attachCmd) {
      m_attachPid = static_cast<int>(r.value);
      if (!m_plan.attach->launch.empty()) {
        std::fprintf(m_out, "tracing %s as process %d\n", m_plan.attach->launch.front().c_str(), m_attachPid);
        std::fflush(m_out);
      }
    }
    if (op == Op::detach && r.outcome == Outcome::eof) m_attachEnded = true;
    return;
  }
  if (r.kind == RecordKind::source_added) {
    const auto it = m_creates.find(r.value2);
    if (it == m_creates.end()) return;
    const SourceRequest& req = m_plan.sources[it->second];
    const auto info = m_engine->source_info(ready::Token(r.token));
    std::string where = info ? info->local : std::string();
    if (info && !info->peer.empty()) where += " -> " + info->peer;
    std::fprintf(m_out, "token %" PRIu64 ": %s (%s) fd %d: %s\n", r.token, req.flag.toStdString().c_str(),
                 std::string(to_string(static_cast<SourceKind>(r.op))).c_str(), r.fd, where.c_str());
    if (req.kind == SourceRequest::Kind::unix_listen) m_unixPaths.push_back(req.path);
    if (req.kind == SourceRequest::Kind::relay && !req.relay_listen.tcp) m_unixPaths.push_back(req.relay_listen.path);
    std::fflush(m_out);
  } else if (r.kind == RecordKind::action && static_cast<Op>(r.op) == Op::create && r.outcome == Outcome::error) {
    const auto it = m_creates.find(r.value2);
    if (it == m_creates.end() || !m_runtimeError.empty()) return;
    m_runtimeError = m_plan.sources[it->second].flag.toStdString() + ": " + std::strerror(r.err);
    if (r.err == EACCES) m_runtimeError += " (a non-loopback bind needs --allow-remote)";
  } else if (r.kind == RecordKind::action && static_cast<Op>(r.op) == Op::connect && r.outcome == Outcome::error) {
    // A refused connect is a result worth recording, not a failure of the run.
    std::fprintf(m_out, "token %" PRIu64 ": connect failed: %s\n", r.token, std::strerror(r.err));
    std::fflush(m_out);
  }
}

// Records one call drains while the engine runs: a source that refires faster than --verbose
// prints (level-triggered, unread) keeps the ring from ever emptying, and the signals and the
// --duration deadline must still be seen between batches.
constexpr std::size_t kDrainBudget = 65536;

bool Run::drainRecords(bool bounded) {
  std::size_t drained = 0;
  for (;;) {
    if (bounded && drained >= kDrainBudget) {
      if (m_plan.verbose) std::fflush(m_out);
      return true;
    }
    const std::size_t n = m_engine->drain(m_batch);
    drained += n;
    if (n == 0) {
      // --verbose into a pipe (| grep, a test reading it) is block-buffered: what was drained
      // goes out now, not when 4 KiB have collected.
      if (m_plan.verbose) std::fflush(m_out);
      return false;
    }
    const std::span<const Record> got(m_batch.data(), n);
    m_records += n;
    if (m_recorder && !m_writerFailed) {
      if (auto w = m_recorder->write(got); !w) {
        m_writerFailed = true;
        if (m_runtimeError.empty()) m_runtimeError = "--record " + w.error().message();
      }
    }
    if (m_exports) {
      if (auto w = m_exports->write(got); !w && m_runtimeError.empty()) m_runtimeError = w.error();
    }
    if (m_runner) m_runner->observe(got);
    if (m_store) {
      for (const Record& r : got) {
        const std::uint64_t index = m_store->append(r);
        m_lanes->on_record(r, index);
        m_sources->on_record(r, index);
      }
      if (m_store->begin_index() != m_pngEvictedTo) {
        m_pngEvictedTo = m_store->begin_index();
        m_lanes->on_evicted(m_pngEvictedTo);
      }
    }
    for (const Record& r : got) {
      inspect(r);
      if (m_plan.verbose) std::fprintf(m_out, "%s\n", describe(r, *m_engine).c_str());
      if (m_follow) m_follow->on_record(r);
    }
    if (m_follow) m_follow->print_new();
  }
}

bool Run::finish() {
  m_engine->stop();
  // After stop the ring holds everything the poll thread produced, ending with the final
  // stats record; nothing more is pushed, so draining to empty is the whole rest.
  drainRecords();
  bool ok = true;
  if (m_recorder) {
    if (auto c = m_recorder->close(); !c && m_runtimeError.empty()) {
      m_runtimeError = "--record " + c.error().message();
      ok = false;
    }
  }
  if (m_exports) {
    if (auto c = m_exports->close(); !c) {
      if (m_runtimeError.empty()) m_runtimeError = c.error();
      ok = false;
    } else {
      m_exports->print(m_out);
    }
  }
  removeUnixPaths();
  if (m_store && m_runtimeError.empty()) {
    // A scenario's picture reads like the window's: its names for the sources, and its
    // compare pairs side by side.
    std::unordered_map<std::uint64_t, QString> names;
    if (m_runner) {
      std::vector<bool> pinned;
      ready::ui::pin_compare_pairs(*m_scenario, *m_runner, *m_lanes, pinned);
      for (const std::string& id : ready::ui::scenario_source_ids(*m_scenario))
        if (const auto t = m_runner->token_of(id); t && t->value != 0) names.try_emplace(t->value, QString::fromStdString(id));
    }
    if (!m_renderPng) {
      m_runtimeError = "--png: this program has no timeline renderer";
      return false;
    }
    auto png = m_renderPng(
        *m_store, *m_lanes,
        [&](std::uint64_t token) {
          const ready::ui::SourceRow* row = m_sources->find(token);
          const QString label = row ? QString::fromStdString(row->label()) : QStringLiteral("#%1").arg(token);
          const auto name = names.find(token);
          return ready::ui::lane_label_with_name(label, name == names.end() ? QString() : name->second);
        },
        QSize(m_plan.png_width, m_plan.png_height), QString::fromStdString(*m_plan.png_path));
    if (!png) {
      m_runtimeError = png.error().toStdString();
      ok = false;
    } else {
      std::fprintf(m_out, "readyscope: timeline rendered to %s (%dx%d)\n", m_plan.png_path->c_str(), m_plan.png_width,
                   m_plan.png_height);
    }
  }
  return ok && m_runtimeError.empty();
}

void Run::removeUnixPaths() {
  for (const std::string& p : m_unixPaths) {
    struct stat st {};
    // Only the socket this run bound: never a file someone put there since.
    if (::lstat(p.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(p.c_str());
  }
  m_unixPaths.clear();
}

int Run::exec() {
  if (m_plan.scenario) {
    auto scenario = loadScenario(*m_plan.scenario, m_plan.allow_remote);
    if (!scenario) return fail(kExitUsage, scenario.error());
    m_scenario = std::move(*scenario);
  }

  // Signals first: every thread started later (the engine's) inherits the blocked mask,
  // so SIGINT/SIGTERM can only arrive through the signalfd.
  auto sigFd = ready::unix::SignalFd::open({SIGINT, SIGTERM});
  if (!sigFd) return fail(kExitRuntime, "cannot read signals: " + sigFd.error().message());

  if (m_plan.record_path) {
    RecorderOptions ro;
    ro.path = *m_plan.record_path;
    ro.overwrite = m_plan.overwrite;
    ro.max_file_bytes = m_plan.max_file_bytes;
    ro.max_files = m_plan.max_files;
    ro.stop_after_records = m_plan.stop_after_records;
    ro.payload = m_plan.record_payload;
    ro.queue = m_plan.queue_sampling;
    setEngineLookups(ro, m_engine);
    // A copy of at most this much per call: Engine::payload allocates what it may copy, and
    // the recorder asks again until it has everything new.
    constexpr std::size_t kPayloadFetchBytes = 256 * 1024;
    ro.payload_fetch = [this](std::uint64_t token, std::uint64_t since) {
      return m_engine->payload(ready::Token(token), since, kPayloadFetchBytes);
    };
    ro.counts = [this] { return std::pair{m_engine->produced(), m_engine->dropped()}; };
    ro.on_file_closed = [this](const std::string& path, std::uint64_t records) {
      std::fprintf(m_out, "readyscope: closed %s (%" PRIu64 " records)\n", path.c_str(), records);
      std::fflush(m_out);
    };
    auto r = Recorder::create(std::move(ro));
    if (!r) return fail(kExitUsage, "--record " + r.error().message());
    m_recorder.emplace(std::move(*r));
  }

  if (m_plan.export_trace_path || m_plan.export_csv_path) {
    ExportOptions eo;
    eo.capture_name = "readyscope capture";
    setEngineLookups(eo, m_engine);
    auto files = ExportFiles::create(m_plan, eo);
    if (!files) return fail(kExitUsage, files.error());
    m_exports.emplace(std::move(*files));
  }

  if (m_plan.png_path) {
    m_store = std::make_unique<RecordStore>();
    m_lanes = std::make_unique<ready::ui::LaneIndex>(*m_store);
    // The engine exists by the time the first record is drained.
    m_sources = std::make_unique<ready::ui::SourceTable>(
        [this](std::uint64_t token) { return m_engine->source_info(ready::Token(token)); });
    m_lanes->set_note_text([this](std::uint64_t id) {
      const auto text = m_engine ? m_engine->note_text(id) : std::nullopt;
      return text ? QString::fromStdString(*text) : QString();
    });
  }

  auto poll = ready::Poll::create();
  if (!poll) return fail(kExitRuntime, "epoll: " + poll.error().message());
  EngineConfig config;
  config.ring_capacity = m_plan.queue_capacity;
  config.allow_remote = m_plan.allow_remote;
  config.queue_sampling = m_plan.queue_sampling;
  if (m_plan.record_payload) config.payload_bytes_per_source = recordPayloadEngineBytes();
  if (m_plan.follow) {
    config.payload_bytes_per_source = std::max(config.payload_bytes_per_source, kFollowPayloadBytes);
    m_follow.emplace(*m_plan.follow, m_out, [this](std::uint64_t token, std::uint64_t since, std::size_t most) {
      return m_engine->payload(ready::Token(token), since, most);
    });
  }
  auto engine = Engine::start(config);
  if (!engine) return fail(kExitRuntime, "cannot start the capture engine: " + engine.error().message());
  m_engine = std::move(*engine);

  ready::SourceFd notifierFd(m_engine->notifier().as_raw_fd());
  if (auto r = poll->registry().add(*sigFd, kSignalToken, ready::Interest::READABLE); !r)
    return fail(kExitRuntime, "epoll: " + r.error().message());
  if (auto r = poll->registry().add(notifierFd, kNotifierToken, ready::Interest::READABLE); !r)
    return fail(kExitRuntime, "epoll: " + r.error().message());

  for (std::size_t i = 0; i < m_plan.sources.size(); ++i) {
    SourceOptions options = m_plan.options;
    auto ticket = m_engine->submit(createCommand(m_plan.sources[i], options, m_plan.allow_remote));
    if (!ticket) return fail(kExitRuntime, "engine: " + ticket.error().message());
    m_creates.emplace(ticket->id, i);
  }

  if (const auto& a = m_plan.attach; a && !a->launch.empty()) {
    ready::capture::cmd::Attach c{0, a->interval, true, a->trace_io, a->launch};
    auto ticket = m_engine->submit(std::move(c));
    if (!ticket) return fail(kExitRuntime, "engine: " + ticket.error().message());
    m_attachCmd = ticket->id;
  } else if (a) {
    if (a->epoll_instances == 0)
      std::fprintf(m_err, "readyscope: process %d (%s) holds no epoll instance yet; watching for one\n", a->pid,
                   a->name.c_str());
    std::fprintf(m_out, "attached to process %d (%s): %d epoll instance%s, sampled every %g ms\n", a->pid,
                 a->name.c_str(), a->epoll_instances, a->epoll_instances == 1 ? "" : "s",
                 std::chrono::duration<double, std::milli>(a->interval).count());
    std::fflush(m_out);
    auto ticket = m_engine->submit(ready::capture::cmd::Attach{a->pid, a->interval, a->trace, a->trace_io, {}});
    if (!ticket) return fail(kExitRuntime, "engine: " + ticket.error().message());
    m_attachCmd = ticket->id;
  }

  if (m_scenario) {
    std::fprintf(m_out, "scenario %s: %s (%zu steps)\n", m_scenario->name.c_str(), m_scenario->title.c_str(),
                 m_scenario->steps.size());
    m_runner = std::make_unique<ScenarioRunner>(*m_scenario, *m_engine);
    m_runner->on_step = [this](const StepOutcome& o) { printOutcome(o); };
  }

  const auto started = Clock::now();
  const std::optional<Clock::time_point> deadline =
      m_plan.duration ? std::optional(started + *m_plan.duration) : std::nullopt;
  std::string stopReason = "stopped";
  ready::Events events(8);
  bool backlog = false;  // the last drain stopped at its budget: drain again without waiting
  for (;;) {
    const auto now = Clock::now();
    std::optional<Clock::time_point> wake = deadline;
    if (m_runner && !m_runner->finished()) {
      const auto next = m_runner->advance(now);
      // A finished scenario ends the run, unless --duration asked to capture for longer.
      if (m_runner->finished() && !deadline) {
        stopReason = "scenario finished";
        break;
      }
      if (next && (!wake || *next < *wake)) wake = next;
    }
    if (deadline && now >= *deadline) {
      stopReason = "duration elapsed";
      break;
    }
    std::optional<std::chrono::nanoseconds> timeout;
    if (wake) timeout = std::max(std::chrono::nanoseconds(0), std::chrono::nanoseconds(*wake - now));
    if (backlog) timeout = std::chrono::nanoseconds(0);
    auto n = poll->poll(events, timeout);
    if (!n && n.error() != std::errc::interrupted) {
      m_runtimeError = "epoll_wait: " + n.error().message();
      break;
    }
    bool stop = false;
    bool drained = false;
    for (const ready::Event& e : events) {
      if (e.token() == kNotifierToken) {
        m_engine->notifier().begin_drain();
        backlog = drainRecords(/*bounded=*/true);
        drained = true;
      } else if (e.token() == kSignalToken) {
        if (auto s = sigFd->read(); s) {
          stopReason = std::string(signalName(*s)) + " received";
          stop = true;
        }
      }
    }
    if (backlog && !drained) backlog = drainRecords(/*bounded=*/true);
    if (stop || !m_runtimeError.empty()) break;
    if (m_attachEnded) {
      stopReason = "process " + std::to_string(m_attachPid) + " exited";
      break;
    }
    if (m_recorder && m_recorder->done()) {
      stopReason = "--stop-after-records " + std::to_string(m_plan.stop_after_records) + " reached";
      break;
    }
    // The poll thread stopped by itself (its records, ending with the final stats, were just
    // drained): finish() writes the rest and closes the recording; the run exits 1.
    if (const auto f = m_engine->failure()) {
      stopReason = "the capture engine failed";
      m_runtimeError = "the capture engine's poll thread stopped: " + std::string(f->where) + " failed: " +
                       ready::errno_name(f->error.value()) + " (" + f->error.message() + ")";
      break;
    }
  }

  (void)poll->registry().remove(notifierFd);
  const bool completed = finish();
  const double secs = std::chrono::duration<double>(Clock::now() - started).count();
  std::fprintf(m_out, "readyscope: %s after %.2f s: %" PRIu64 " records (produced %" PRIu64 ", dropped %" PRIu64 ")%s%s\n",
               stopReason.c_str(), secs, m_records, m_engine->produced(), m_engine->dropped(),
               m_recorder ? ", written to " : "", m_recorder ? recordedTo().c_str() : "");
  if (m_recorder) {
    // What the recorder did not write is said, never lost silently.
    const RecorderCounts& c = m_recorder->counts();
    if (m_plan.record_payload)
      std::fprintf(m_out, "readyscope: payload: %" PRIu64 " bytes written, %" PRIu64 " cut\n", c.payload_bytes,
                   c.payload_bytes_cut);
    if (c.records_after_stop != 0)
      std::fprintf(m_out, "readyscope: %" PRIu64 " records after --stop-after-records not written\n",
                   c.records_after_stop);
  }
  if (const std::uint64_t unnamed = m_engine->peers_dropped(); unnamed != 0)
    std::fprintf(m_out, "readyscope: %" PRIu64 " datagram actions without a peer (the table of %zu senders was full)\n",
                 unnamed, m_engine->config().peer_addresses);
  std::fflush(m_out);
  if (!completed) return fail(kExitRuntime, m_runtimeError);
  if (m_runner) return scenarioVerdict();
  return kExitOk;
}

void Run::printOutcome(const StepOutcome& o) {
  const char* status = o.status == StepOutcome::Status::passed   ? "passed"
                       : o.status == StepOutcome::Status::failed ? "FAILED"
                                                                 : "ran";
  if (o.index == StepOutcome::kSetup)
    std::fprintf(m_out, "  setup %s: %s\n", status, o.detail.c_str());
  else if (o.index < m_scenario->steps.size() && !m_scenario->steps[o.index].note.empty())
    std::fprintf(m_out, "  step %zu %s: %s\n      %s\n", o.index + 1, status, o.detail.c_str(),
                 m_scenario->steps[o.index].note.c_str());
  else
    std::fprintf(m_out, "  step %zu %s: %s\n", o.index + 1, status, o.detail.c_str());
  std::fflush(m_out);
}

int Run::scenarioVerdict() {
  const std::string name = "scenario " + m_scenario->name;
  if (m_runner->failed_to_start()) {
    const auto& outs = m_runner->outcomes();
    return fail(kExitRuntime, name + ": could not start: " + (outs.empty() ? std::string("?") : outs.back().detail));
  }
  if (!m_runner->finished())
    return fail(kExitRuntime, name + ": stopped at step " + std::to_string(m_runner->current_step() + 1) + " of " +
                                  std::to_string(m_scenario->steps.size()) + " before it finished");
  if (m_runner->passed()) {
    std::fprintf(m_out, "%s: every expectation held\n", name.c_str());
    return kExitOk;
  }
  std::size_t failed = 0;
  const StepOutcome* first = nullptr;
  for (const StepOutcome& o : m_runner->outcomes()) {
    if (o.status != StepOutcome::Status::failed) continue;
    ++failed;
    if (!first) first = &o;
  }
  return fail(kExitExpectation, name + ": " + std::to_string(failed) + " step(s) failed; first, step " +
                                    (first ? std::to_string(first->index + 1) + ": " + first->detail : std::string("?")));
}

}  // namespace

int runHeadless(const HeadlessPlan& plan, std::FILE* out, std::FILE* err, const PngRenderer& renderPng) {
  if (plan.open_path) return runOpen(plan, out, err, renderPng);
  Run run(plan, out, err, renderPng);
  return run.exec();
}

}  // namespace readyscope
