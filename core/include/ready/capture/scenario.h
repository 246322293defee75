// Scenarios: JSON files that script the capture engine step by step and check what the
// kernel reported (the format is docs/scenario-format.md).
//
// A scenario is validated completely before anything runs (`parse_scenario`): a file that
// is not JSON, a missing, mistyped or unknown field, an unknown name, a duplicate id, a
// step naming a source it cannot act on, a bad or non-loopback address, a value out of its
// bounds: each gets one ScenarioError naming the file, the JSON pointer of the offending
// value and what was expected. Only a valid Scenario can be given to a ScenarioRunner.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ready/capture/command.h"
#include "ready/capture/engine.h"
#include "ready/capture/record.h"
#include "ready/interest.h"
#include "ready/net/addr.h"
#include "ready/token.h"

namespace ready::capture {

/// Why a scenario was rejected: the file, the JSON pointer (RFC 6901) of the value at fault
/// ("/" for the document, or the nearest enclosing value when the text is not JSON) and
/// what was expected.
struct ScenarioError {
  std::string file;
  std::string pointer;
  std::string what;
  /// One line: `FILE: POINTER: WHAT` (a pointer over 200 bytes is cut with "..."), e.g.
  /// `lesson.json: /steps/3/op: expected one of read, drain, ... (got "teleport")`.
  [[nodiscard]] std::string message() const;
};

/// Bounds of a scenario (the format's documented limits; exceeding one is a ScenarioError).
struct ScenarioLimits {
  static constexpr std::size_t max_sources = 64;
  static constexpr std::size_t max_steps = 1000;
  static constexpr std::size_t max_id_bytes = 32;
  static constexpr std::size_t max_name_bytes = 64;
  static constexpr std::size_t max_title_bytes = 200;
  static constexpr std::size_t max_description_bytes = 20000;
  static constexpr std::size_t max_note_bytes = 2000;
  static constexpr std::size_t max_write_bytes = 65536;
  static constexpr std::size_t max_expectations = 32;  ///< per step
  static constexpr std::size_t max_depth = 32;         ///< JSON nesting
  static constexpr std::int64_t max_ms = 60000;        ///< wait_ms, within_ms, timer times
  static constexpr std::uint32_t max_read = 65536;     ///< read n, read_n
  static constexpr std::size_t max_step_sources = 16;  ///< ids in one step's `source` array
  static constexpr std::uint32_t max_repeat = 64;      ///< a step's `repeat`
  static constexpr std::uint32_t max_headroom = 64;    ///< exhaust_fds `headroom`
  static constexpr std::uint32_t max_chunk = 65536;    ///< feed `chunk`
  static constexpr std::uint64_t max_interval_us = 1000000;  ///< feed `interval_us`
  static constexpr std::uint64_t max_budget = std::uint64_t{1} << 30;  ///< reaction `budget`
  static constexpr std::size_t max_compare = 8;         ///< top-level `compare` pairs
  static constexpr std::size_t max_label_bytes = 64;    ///< a compare `label`
  /// How long the runner waits for the engine to answer commands (see ScenarioRunner).
  static constexpr std::chrono::milliseconds barrier_limit{5000};
  /// `within_ms` when an expectation does not give one.
  static constexpr std::chrono::milliseconds default_within{1000};
};

/// What a scenario may do besides the safe default.
struct ScenarioOptions {
  /// Allows what reaches outside the scenario's own sources: binds on non-loopback
  /// addresses, and connects to a literal address or Unix path (instead of a source id).
  bool allow_remote = false;
  /// Larger files are refused before they are read.
  std::size_t max_file_bytes = 1 << 20;
};

/// The kinds a scenario source can have (`kind` in the file; wire names from the list).
///  - tcp_listener: `bind` "127.0.0.1:0"
///  - tcp_stream: `connect`: a tcp_listener's id, or a literal address (allow_remote)
///  - udp: `bind`
///  - unix_listener: `path` (absent: a fresh path the runner removes again)
///  - unix_stream: `connect`: a unix_listener's id, or a literal path (allow_remote)
///  - unix_datagram: `path` (absent: unbound)
///  - socketpair: two unix_stream ends, named by `ends` (default "<id>.0", "<id>.1")
///  - pipe: a sender and a receiver, `ends` (default "<id>.w", "<id>.r")
///  - eventfd: `initial`, `semaphore`
///  - timerfd: disarmed until a timer_arm step
///  - feed: cmd::Feed: the receiving unix_stream end of a socketpair whose other end the
///    engine's feeder thread writes (`chunk` bytes every `interval_us`); only read-side ops fit it.
///  - relay: cmd::Relay: a TCP listener on `bind` whose clients each get a connection to
///    `upstream` (the id of a tcp_listener or unix_listener declared before it, kept in
///    `target`). Its first relayed connection's legs are named "<id>.client" and
///    "<id>.upstream" (checks only: the engine moves their bytes); the relay itself takes only
///    `close`.
#define READY_SCENARIO_SOURCE_KIND_LIST(X)                                                                  \
  X(tcp_listener) X(tcp_stream) X(udp) X(unix_listener) X(unix_stream) X(unix_datagram) X(socketpair) X(pipe) \
  X(eventfd) X(timerfd) X(feed) X(relay)
READY_NAMED_ENUM(ScenarioSourceKind, std::uint8_t, READY_SCENARIO_SOURCE_KIND_LIST)

/// A source as the file declares it.
struct ScenarioSource {
  std::string id;
  ScenarioSourceKind kind = ScenarioSourceKind::tcp_listener;
  std::optional<net::SocketAddr> addr;  ///< bind address, or a literal TCP connect target
  std::string target;                   ///< connect: the id of the source to connect to ("" if literal);
                                        ///< relay: the id of its upstream listener
  std::optional<net::SocketAddr> peer;  ///< udp: a literal address to connect to (allow_remote)
  std::string path;                     ///< unix bind path, or a literal unix connect path
  std::array<std::string, 2> ends;      ///< socketpair / pipe: the names of the two ends
  std::uint64_t initial = 0;            ///< eventfd
  bool semaphore = false;               ///< eventfd
  std::uint32_t chunk = 65536;               ///< feed: bytes per write of the feeder
  std::chrono::microseconds feed_interval{0};  ///< feed: between writes (0: back to back)
  /// options.reaction.also_close as an id (resolved to its token when the source is created;
  /// "" for none). options.reaction.also_close itself stays 0 in a parsed Scenario.
  std::string also_close;
  SourceOptions options{};
  bool allow_remote = false;  ///< a non-loopback bind the options allowed
  /// Created by a `create` step instead of before the first step.
  bool deferred = false;
};

/// The operation of a step (`op` in the file; wire names from the list); none when the step
/// only waits, notes or checks. What each op takes, fits and submits is its entry in the op
/// table (core/src/capture/scenario_ops.cpp). `set_mode` submits cmd::SetTrigger: "mode" is
/// the files' spelling of the trigger, kept so existing scenarios stay valid. dup: cmd::Dup;
/// close_fd: cmd::CloseFd, close(2) without deregistering (only `close` may follow);
/// exhaust_fds: cmd::ExhaustFds (no source), `headroom`; release_fds: cmd::ReleaseFds (no source).
#define READY_SCENARIO_OP_LIST(X)                                                                             \
  X(none) X(create) X(set_interest) X(set_mode) X(set_reaction) X(rearm) X(read) X(drain) X(write) X(fill)  \
  X(shutdown_read) X(shutdown_write) X(close) X(accept) X(eventfd_write) X(eventfd_read) X(timer_arm)       \
  X(timer_disarm) X(dup) X(close_fd) X(exhaust_fds) X(release_fds)
READY_NAMED_ENUM(ScenarioOp, std::uint8_t, READY_SCENARIO_OP_LIST)

/// Readiness flags as a scenario names them: ready::capture::ReadinessFlag (record.h).
using ScenarioFlag = ReadinessFlag;

/// One check of a step. Every check looks at the records of its source since the previous
/// step ended (for the first step: since the runner started).
struct ScenarioExpectation {
  enum class Type : std::uint8_t {
    readiness,  ///< `seen` / `not_seen` flags
    action,     ///< the result of the latest action `op` on the source
    removed,    ///< the source was removed (closed) by the engine
    warning,     ///< a warning record of kind `warning` was recorded for the source
    no_warning,  ///< no warning record of kind `warning` (any kind: `warning_any`) for it
    /// the source was registered with exactly `interest` (or with none: `paused`) at some
    /// moment since the previous step ended: its registration then, or a later source_added /
    /// source_changed record (a relay leg's back-pressure, a set_interest)
    interest,
    /// the source's queues (its queue records: EngineConfig::queue_sampling) were as
    /// `readable` / `readable_min` / `unsent` / `unsent_min` say at some moment since the
    /// previous step ended (counting the values they had then; 0 before any queue record)
    queue,
  };
  Type type = Type::readiness;
  std::string source;
  /// readiness: one event carried every flag of `seen` (0: no such check).
  std::uint8_t seen = 0;
  /// readiness: no event carried any flag of `not_seen`.
  std::uint8_t not_seen = 0;
  /// readiness: `not_seen` was ["any"]: no readiness record at all.
  bool not_seen_any = false;
  // action:
  Op op = Op::read;
  Outcome result = Outcome::ok;
  int err = 0;  ///< errno that must match when result is error (0: any)
  std::optional<std::uint64_t> n, n_min, n_max;
  // warning / no_warning:
  WarningKind warning = WarningKind::payload_truncated;
  bool warning_any = false;  ///< no_warning: "any"
  // interest:
  Interest interest = Interest::READABLE;
  bool paused = false;  ///< "interest": "paused" (registered with no interest)
  // queue: each given bound must hold (exact, or at least), all at the same moment:
  std::optional<std::uint64_t> readable, readable_min, unsent, unsent_min;
  /// How long after the step's barrier a `seen`, action, warning, removed, interest or queue check may take.
  std::chrono::milliseconds within = ScenarioLimits::default_within;
};

/// One step: narration, an operation, a pause, checks (each optional).
struct ScenarioStep {
  std::string note;
  ScenarioOp op = ScenarioOp::none;
  std::string source;                ///< the first (or only) id of `sources`; "" for a source-less op
  std::vector<std::string> sources;  ///< every id the op applies to, in file order (1..16; none
                                     ///< for none, exhaust_fds, release_fds)
  std::uint32_t repeat = 1;          ///< the op this many times per source, in one batch
  std::string also_close;            ///< set_reaction: reaction.also_close as an id ("" for none)
  std::string as;                    ///< accept: the name the accepted stream gets
  /// The command the op submits for each of its sources, with token 0 (the runner puts in
  /// each source's token, and a SetReaction's also_close): cmd::Read with the step's `n`,
  /// cmd::SetTrigger for set_mode, cmd::ExhaustFds with its headroom, ... . cmd::Sync for
  /// none and create, which submit no op command.
  Command command = cmd::Sync{};
  std::chrono::milliseconds wait{0};       ///< after the operation, before the checks
  std::vector<ScenarioExpectation> expect;
};

/// A validated scenario.
/// Two sources a lesson shows side by side (compare mode): the same traffic against two
/// registrations (edge vs level, edge vs oneshot). A display hint: the window puts their lanes
/// next to each other under `label`; the run itself does not change.
struct ScenarioCompare {
  std::string left;   ///< a source id (an end, an accepted stream's `as` name)
  std::string right;  ///< another one
  std::string label;  ///< what differs, e.g. "edge vs level" (may be empty)
};

struct Scenario {
  std::string file;
  std::string name;
  std::string title;
  std::string description;
  std::vector<ScenarioSource> sources;
  std::vector<ScenarioStep> steps;
  std::vector<ScenarioCompare> compare;  ///< top-level "compare" (see docs/scenario-format.md)
};

/// Parses and validates a scenario held in memory; `file` only names it in errors.
std::expected<Scenario, ScenarioError> parse_scenario(std::string_view json, std::string_view file,
                                                      ScenarioOptions options = {});
/// Reads (at most options.max_file_bytes, a regular file only) and parses a scenario file.
std::expected<Scenario, ScenarioError> load_scenario(const std::string& path, ScenarioOptions options = {});

/// Lower-case names as the file spells them.
std::string_view to_string(ScenarioSourceKind k) noexcept;
std::string_view to_string(ScenarioOp o) noexcept;

/// What became of one step (or of the setup, index == kSetup).
struct StepOutcome {
  static constexpr std::size_t kSetup = static_cast<std::size_t>(-1);
  enum class Status : std::uint8_t {
    ran,     ///< the step had no checks and its commands were answered
    passed,  ///< every check held
    failed,  ///< a check did not hold, or the engine did not answer
  };
  std::size_t index = 0;
  Status status = Status::ran;
  std::string detail;  ///< one line: what was checked, what was seen
};

/// Runs a Scenario on an Engine. Passive: it has no thread or timer of its own. The owner
///  - passes every record it drains from the engine, in order, to `observe` (records of
///    anything else the engine does are fine: the runner looks only at its own tokens and
///    command ids);
///  - calls `advance(now)` after each observe and whenever the time it returned is reached;
///    advance submits what is due and returns when it next wants to be called (nullopt: the
///    scenario finished).
///
/// Order of events. Before the first step the runner creates the non-deferred sources one
/// at a time, in file order, each after the previous one was answered (so a connect can
/// name a listener's real, ephemeral port). Then, per step: `wait_ms`, the note (a
/// cmd::Note; a step with neither note nor op gets the note "step N"), the operation (its
/// commands — every source of the step's list, `repeat` times each — in one
/// Engine::submit_batch, so the poll thread runs them with no poll between), a barrier, then
/// the checks:
///  - the barrier: the records answering every command submitted so far have arrived, and
///    after them two poll_return records (cmd::Sync wakes the poll thread for each). Records
///    come in the poll thread's program order, so the first poll began after the commands
///    ran and the second proves its whole loop iteration was recorded: every event that the
///    commands (or the wait before them) made ready at once has been polled and recorded;
///  - `not_seen` is judged at the barrier; `seen`, action and removed checks pass as soon as
///    they hold, and fail `within_ms` after the barrier.
/// An error answer to a source-less op (exhaust_fds, release_fds: token 0, known by its
/// command id) fails its step whatever its checks say. The runner follows a source's token
/// after close and close_fd: events of a registration a dup'd descriptor keeps alive are
/// checked on the same id.
/// A failed check does not stop the run (the timeline stays complete); a command the engine
/// does not answer within ScenarioLimits::barrier_limit, a source that cannot be created,
/// or a step naming an accepted stream whose accept failed does.
///
/// The runner leaves its sources open when it finishes (they are the engine's, and stay on
/// the timeline; Engine::stop closes them). Unix paths the runner chose itself (a
/// unix_listener without `path`) are unlinked by the destructor.
class ScenarioRunner {
 public:
  ScenarioRunner(const Scenario& scenario, Engine& engine);
  ~ScenarioRunner();
  ScenarioRunner(const ScenarioRunner&) = delete;
  ScenarioRunner& operator=(const ScenarioRunner&) = delete;

  /// Every record drained from the engine, in order.
  void observe(std::span<const Record> records);
  /// Runs what is due at `now`; returns when it next wants to be called (nullopt: finished,
  /// or held by the step limit).
  std::optional<std::chrono::steady_clock::time_point> advance(std::chrono::steady_clock::time_point now);

  [[nodiscard]] bool finished() const noexcept;
  /// Finished, started, and every check held.
  [[nodiscard]] bool passed() const noexcept;
  /// A source could not be created (a runtime failure, not a failed check).
  [[nodiscard]] bool failed_to_start() const noexcept;
  /// One per step run (and one with index kSetup if the setup failed).
  [[nodiscard]] const std::vector<StepOutcome>& outcomes() const noexcept;
  /// Called with each outcome as it is decided.
  std::function<void(const StepOutcome&)> on_step;
  /// The engine's token for a source id (an end name, a feed, an accept's `as`); nullopt when
  /// it has none (yet). It keeps answering after the source closed (close, close_fd).
  [[nodiscard]] std::optional<Token> token_of(std::string_view source_id) const;
  [[nodiscard]] const Scenario& scenario() const noexcept;
  /// The index of the step running or next to run (the number of steps once finished).
  [[nodiscard]] std::size_t current_step() const noexcept;

  /// Step-by-step play (the GUI's "next" button): a step whose index is `limit` or more
  /// does not start until the limit is raised; meanwhile advance() returns nullopt while
  /// finished() stays false. Records observed during the pause count for the next step's
  /// checks ("since the previous step"). Default: no limit.
  void set_step_limit(std::size_t limit) noexcept;
  /// True when the next step is held back by the step limit.
  [[nodiscard]] bool held() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ready::capture
