// Records: what the capture engine tells the world, one small fixed-size value each.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "ready/enum_names.h"

namespace ready::capture {

// Each enum below is declared from one list (ready/enum_names.h): the list gives its values,
// in order, and their wire names; ready::name_of / parse_name / all_values read it, and every
// reader and writer of a name (recordings, scenarios, the command line, the GUI) uses them.

/// What a record is about. The meaning of the numeric fields per kind: the accessors of
/// Record below.
///  - source_added: a source exists: token, fd, SourceKind in `op`, interest/trigger in `bits`
///  - source_changed: interest, trigger mode or reaction changed (new values in `bits`)
///  - source_removed: deregistered and closed
///  - readiness: one epoll event: raw bits in `bits`
///  - action: an operation and its result (`op`, `outcome`, `err`)
///  - poll_return: one epoll_wait
///  - note: a text marker: the text is in the engine's text table
///  - warning: a pitfall or a bound hit: `op` = WarningKind
///  - stats: accounting (delivered = produced - dropped)
///  - queue: a source's kernel queues changed (EngineConfig::queue_sampling): bytes waiting
///    to be read in `value`, bytes written but not yet sent/acknowledged in `value2`
///    (docs/engine.md, "Queues"). Last in the list: the numbers of the kinds before it are
///    those of earlier releases.
#define READY_RECORD_KIND_LIST(X)                                                                     \
  X(source_added) X(source_changed) X(source_removed) X(readiness) X(action) X(poll_return) X(note) \
  X(warning) X(stats) X(queue)
READY_NAMED_ENUM(RecordKind, std::uint8_t, READY_RECORD_KIND_LIST)

/// The kinds of source the engine can create, then the kinds only an attached process's
/// descriptors have (cmd::Attach, docs/attach.md): a signalfd, an epoll instance, a file by
/// path, a socket in none of the process's net tables (netlink, packet, ...), anything else.
#define READY_SOURCE_KIND_LIST(X)                                                                       \
  X(tcp_listener) X(tcp_stream) X(udp) X(unix_listener) X(unix_stream) X(unix_datagram) X(pipe_sender) \
  X(pipe_receiver) X(eventfd) X(timerfd) X(signalfd) X(epoll) X(file) X(socket) X(other)
READY_NAMED_ENUM(SourceKind, std::uint8_t, READY_SOURCE_KIND_LIST)

/// Operations, as actions (`RecordKind::action`) and as commands. Beside the I/O operations:
///  - take_error: SO_ERROR read after an error event
///  - create: creating a source (socket/bind/listen/pipe/...): refused or failed creations
///  - modify: set interest / trigger / reaction (a failed Registry::modify)
///  - dup: cmd::Dup: value = the new descriptor's number
///  - close_fd: cmd::CloseFd: close(2) without deregistering first (the pitfall, on purpose)
///  - exhaust_fds: cmd::ExhaustFds: value = descriptors held back as ballast
///  - release_fds: cmd::ReleaseFds: value = descriptors given back
///  - attach: cmd::Attach: value = the process id (token 0)
///  - detach: cmd::Detach (ok) or the attached process ended (eof): value = the process id
#define READY_OP_LIST(X)                                                                                  \
  X(read) X(drain) X(write) X(fill) X(accept) X(connect) X(shutdown_read) X(shutdown_write) X(close)     \
  X(eventfd_write) X(eventfd_read) X(timer_arm) X(timer_disarm) X(rearm) X(take_error) X(create) X(modify) \
  X(dup) X(close_fd) X(exhaust_fds) X(release_fds) X(attach) X(detach)
READY_NAMED_ENUM(Op, std::uint8_t, READY_OP_LIST)

/// The result of an action.
#define READY_OUTCOME_LIST(X) X(ok) X(would_block) X(eof) X(in_progress) X(error)
READY_NAMED_ENUM(Outcome, std::uint8_t, READY_OUTCOME_LIST)

/// Bounds and pitfalls reported as warnings (`value`: Record::detail()).
///  - payload_truncated: a source's payload buffer hit its bound (first time per source);
///    detail = bytes evicted
///  - emfile: accept hit EMFILE/ENFILE; the reserve descriptor drained the backlog
///  - engine_error: an unexpected error in the engine itself; `err` says which; detail = 1
///    when the poll thread stopped because of it (docs/engine.md, "Failure"), else 0
/// Pitfalls (checked live in every capture; each names the lesson that explains it; the exact
/// rules: docs/engine.md, "Pitfalls"). `token` and `fd` are the source's.
///  - et_partial_read: edge-triggered readable handled with reads that stopped before
///    would-block, and pitfall_grace after the last of them no new edge came and bytes remain:
///    detail = FIONREAD (a datagram socket: the next datagram's size). Once per edge
///  - oneshot_disarmed_pending: a oneshot fired and was not rearmed within pitfall_grace, and
///    bytes are pending then (detail = FIONREAD). Once per firing
///  - level_writable_spin: level-triggered writable reported pitfall_spin_events times in a
///    row with nothing written (detail = that count). Once per streak
///  - read_after_close: a read after read_closed was reported and a read saw EOF (detail =
///    such reads so far: 1, as it is warned once per source)
///  - event_after_close: an event for a token whose source was already closed (stale in the
///    batch, or a registration kept alive by a dup'd descriptor); detail = the epoll bits
#define READY_WARNING_KIND_LIST(X)                                                                    \
  X(payload_truncated) X(emfile) X(engine_error) X(et_partial_read) X(oneshot_disarmed_pending) \
  X(level_writable_spin) X(read_after_close) X(event_after_close)
READY_NAMED_ENUM(WarningKind, std::uint8_t, READY_WARNING_KIND_LIST)

/// One record. Fixed size and trivially copyable, so the ring copies it with no allocation.
/// Times are monotonic nanoseconds since the capture started.
struct Record {
  std::uint64_t t_ns = 0;
  std::uint64_t token = 0;
  std::uint64_t value = 0;
  std::uint64_t value2 = 0;
  std::int32_t fd = -1;
  std::uint32_t bits = 0;  ///< epoll bits (readiness), interest | trigger << 8 (source records), peer_id (actions)
  std::int32_t err = 0;    ///< errno for Outcome::error
  RecordKind kind = RecordKind::note;
  std::uint8_t op = 0;  ///< Op, SourceKind or WarningKind, by kind
  Outcome outcome = Outcome::ok;
  std::uint8_t reserved = 0;

  // ---- the numeric fields by kind: no reader needs to know which field holds what ----
  // `value` and `value2` are the storage; these name them (recording key in brackets).

  /// source_added: the partner (a pair's other end) or parent (the listener) token, or 0 ["related"].
  [[nodiscard]] constexpr std::uint64_t related() const noexcept { return value; }
  /// source_changed: the read size of a Reaction::read ["read_n"].
  [[nodiscard]] constexpr std::uint64_t read_n() const noexcept { return value; }
  /// source_removed: bytes read from / written to the source in its life ["bytes_in", "bytes_out"].
  [[nodiscard]] constexpr std::uint64_t bytes_in() const noexcept { return value; }
  [[nodiscard]] constexpr std::uint64_t bytes_out() const noexcept { return value2; }
  /// action: bytes moved, or the counter read or written (eventfd, timerfd) ["n"].
  [[nodiscard]] constexpr std::uint64_t n() const noexcept { return value; }
  /// action on a datagram socket: the id of the datagram's sender (a read) or destination
  /// (an echo's write) in the capture's peer table (Engine::peer_text); 0 for streams, a
  /// sender without a name, or a full table ["peer", as the address's text].
  [[nodiscard]] constexpr std::uint32_t peer_id() const noexcept { return kind == RecordKind::action ? bits : 0; }
  /// source_added, source_changed, action, note: the command that caused it, 0 for the
  /// engine's own (a reaction, an accept) ["command"].
  [[nodiscard]] constexpr std::uint64_t command() const noexcept { return value2; }
  /// poll_return: events returned and ns blocked in epoll_wait ["events", "blocked_ns"].
  [[nodiscard]] constexpr std::uint64_t events() const noexcept { return value; }
  [[nodiscard]] constexpr std::uint64_t blocked_ns() const noexcept { return value2; }
  /// note: the id of its text (Engine::note_text) ["id"].
  [[nodiscard]] constexpr std::uint64_t note_id() const noexcept { return value; }
  /// warning: the detail its WarningKind defines ["value"].
  [[nodiscard]] constexpr std::uint64_t detail() const noexcept { return value; }
  /// stats: records produced and dropped before this one ["produced", "dropped"].
  [[nodiscard]] constexpr std::uint64_t produced() const noexcept { return value; }
  [[nodiscard]] constexpr std::uint64_t dropped() const noexcept { return value2; }
  /// queue: bytes waiting to be read (FIONREAD): on a stream socket or a pipe's read end the
  /// whole receive queue; on a UDP or Unix datagram socket the size of the next datagram
  /// (what one read returns; Linux has no ioctl for the whole queue there) ["readable"].
  [[nodiscard]] constexpr std::uint64_t readable() const noexcept { return value; }
  /// queue: bytes written but not yet taken by the other side: on a TCP stream the engine
  /// wrote to, the send queue not yet acknowledged by the peer (SIOCOUTQ); on a pipe's write
  /// end, the bytes in the pipe its reader has not read (FIONREAD works on either end); on a
  /// socketpair end the engine wrote to, the bytes its other end has not read (that end's
  /// FIONREAD: a Unix socket's own SIOCOUTQ counts buffer memory, not bytes); 0 otherwise
  /// ["unsent"].
  [[nodiscard]] constexpr std::uint64_t unsent() const noexcept { return value2; }
  // ---- a source of an attached process (cmd::Attach, docs/attach.md) ----
  // Its source records have the process's id in `err` (> 0; no other source record sets
  // it), `value` = its interest mask | its epoll instance's fd << 32, `value2` = its data.
  /// The attached process a source record is about, 0 for the engine's own sources ["pid"].
  [[nodiscard]] constexpr std::int32_t attached_pid() const noexcept {
    return (kind == RecordKind::source_added || kind == RecordKind::source_changed ||
            kind == RecordKind::source_removed) && err > 0
               ? err
               : 0;
  }
  /// An attached source: the epoll_event.events its registration has (as fdinfo shows it,
  /// with the EPOLLERR|EPOLLHUP the kernel adds) ["events", hex].
  [[nodiscard]] constexpr std::uint32_t attached_events() const noexcept {
    return static_cast<std::uint32_t>(value & 0xffff'ffffu);
  }
  /// An attached source: its epoll instance's descriptor in the process ["epoll_fd"].
  [[nodiscard]] constexpr std::int32_t attached_epoll_fd() const noexcept {
    return static_cast<std::int32_t>(value >> 32);
  }
  /// An attached source: the epoll_event.data the program registered it with ["data"].
  [[nodiscard]] constexpr std::uint64_t attached_data() const noexcept { return value2; }
  /// The enum `op` holds: an action's Op, a source record's SourceKind, a warning's kind.
  [[nodiscard]] constexpr Op action_op() const noexcept { return static_cast<Op>(op); }
  [[nodiscard]] constexpr SourceKind source_kind() const noexcept { return static_cast<SourceKind>(op); }
  [[nodiscard]] constexpr WarningKind warning_kind() const noexcept { return static_cast<WarningKind>(op); }

  /// Field-wise equality (a stored record reads back equal to the appended one).
  friend constexpr bool operator==(const Record&, const Record&) noexcept = default;
};
static_assert(sizeof(Record) == 48);
static_assert(std::is_trivially_copyable_v<Record>);

/// The readiness of a `readiness` record's epoll bits, decoded with the predicates of
/// ready::Event (mio's): one bit per flag, in the order the recording format lists them.
enum ReadinessFlag : std::uint8_t {
  flag_readable = 1 << 0,
  flag_writable = 1 << 1,
  flag_error = 1 << 2,
  flag_read_closed = 1 << 3,
  flag_write_closed = 1 << 4,
  flag_priority = 1 << 5,
};
/// The name of each ReadinessFlag, by bit position (bit i is named kReadinessFlagNames[i]):
/// the one table the recording, the scenario parser and the GUI's wording use.
inline constexpr std::array<std::string_view, 6> kReadinessFlagNames{"readable",    "writable",     "error",
                                                                    "read_closed", "write_closed", "priority"};
static_assert(flag_priority == 1u << (kReadinessFlagNames.size() - 1));
/// The ReadinessFlag bits of raw epoll bits (EPOLLIN|EPOLLRDHUP gives readable | read_closed).
std::uint8_t readiness_flags(std::uint32_t epoll_bits) noexcept;
/// The name of one flag ("readable", "read_closed", ...), "unknown" for anything else.
std::string_view to_string(ReadinessFlag f) noexcept;
/// All flags set in `flags`, in the order above, joined by `sep` ("readable|read_closed").
std::string flags_text(std::uint8_t flags, std::string_view sep = "|");

/// Lower-case names, as the recording format spells them ("readiness", "tcp_listener",
/// "shutdown_write", "would_block", ...). A value outside the enum gives "unknown".
/// Shorthands for ready::name_of (the one table per enum).
std::string_view to_string(RecordKind k) noexcept;
std::string_view to_string(SourceKind k) noexcept;
std::string_view to_string(Op o) noexcept;
std::string_view to_string(Outcome o) noexcept;
std::string_view to_string(WarningKind w) noexcept;

}  // namespace ready::capture
