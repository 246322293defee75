// Records: what the capture engine tells the world, one small fixed-size value each.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace ready::capture {

/// What a record is about.
enum class RecordKind : std::uint8_t {
  source_added,    ///< a source exists: token, fd, SourceKind in `op`, interest/mode in `bits`
  source_changed,  ///< interest, trigger mode or reaction changed (new values in `bits`)
  source_removed,  ///< deregistered and closed (`value`: bytes in, `value2`: bytes out)
  readiness,       ///< one epoll event: raw bits in `bits`
  action,          ///< an operation and its result (`op`, `outcome`, `value` = bytes or counter, `err`)
  poll_return,     ///< one epoll_wait: `value` = events returned, `value2` = ns blocked
  note,            ///< a text marker: the text is in the engine's text table, id in `value`
  warning,         ///< a pitfall or a bound hit: `op` = WarningKind, `value` = detail
  stats,           ///< accounting: `value` = produced, `value2` = dropped (delivered = produced - dropped)
};

/// The kinds of source the engine can create.
enum class SourceKind : std::uint8_t {
  tcp_listener,
  tcp_stream,
  udp,
  unix_listener,
  unix_stream,
  unix_datagram,
  pipe_sender,
  pipe_receiver,
  eventfd,
  timerfd,
};

/// Operations, as actions (`RecordKind::action`) and as commands.
enum class Op : std::uint8_t {
  read,
  drain,
  write,
  fill,
  accept,
  connect,
  shutdown_read,
  shutdown_write,
  close,
  eventfd_write,
  eventfd_read,
  timer_arm,
  timer_disarm,
  rearm,
  take_error,
  create,  ///< creating a source (socket/bind/listen/pipe/...): refused or failed creations
  modify,  ///< set interest / trigger / reaction (a failed Registry::modify)
  dup,          ///< cmd::Dup: value = the new descriptor's number
  close_fd,     ///< cmd::CloseFd: close(2) without deregistering first (the pitfall, on purpose)
  exhaust_fds,  ///< cmd::ExhaustFds: value = descriptors held back as ballast
  release_fds,  ///< cmd::ReleaseFds: value = descriptors given back
};

/// The result of an action.
enum class Outcome : std::uint8_t { ok, would_block, eof, in_progress, error };

/// Bounds and pitfalls reported as warnings.
enum class WarningKind : std::uint8_t {
  payload_truncated,  ///< a source's payload buffer hit its bound (first time per source); `value` bytes
                      ///< evicted
  emfile,             ///< accept hit EMFILE/ENFILE; the reserve descriptor drained the backlog
  engine_error,       ///< an unexpected error in the engine itself; `err` says which
  // Pitfalls (checked live in every capture; each names the lesson that explains it; the
  // exact rules: Engine's class comment, "Pitfalls"). `token` and `fd` are the source's.
  et_partial_read,           ///< edge-triggered readable handled with reads that stopped before
                             ///< would-block, and pitfall_grace after the last of them no new edge
                             ///< came and bytes remain: `value` = FIONREAD (a datagram socket: the
                             ///< next datagram's size). Once per edge
  oneshot_disarmed_pending,  ///< a oneshot fired and was not rearmed within pitfall_grace, and
                             ///< bytes are pending then (`value` = FIONREAD). Once per firing
  level_writable_spin,       ///< level-triggered writable reported pitfall_spin_events times in a
                             ///< row with nothing written (`value` = that count). Once per streak
  read_after_close,          ///< a read after read_closed was reported and a read saw EOF
                             ///< (`value` = such reads so far: 1, as it is warned once per source)
  event_after_close,         ///< an event for a token whose source was already closed (stale in the
                             ///< batch, or a registration kept alive by a dup'd descriptor)
};

/// One record. Fixed size and trivially copyable, so the ring copies it with no allocation.
/// Times are monotonic nanoseconds since the capture started.
struct Record {
  std::uint64_t t_ns = 0;
  std::uint64_t token = 0;
  std::uint64_t value = 0;
  std::uint64_t value2 = 0;
  std::int32_t fd = -1;
  std::uint32_t bits = 0;  ///< epoll bits (readiness) or interest | trigger << 8 (source records)
  std::int32_t err = 0;    ///< errno for Outcome::error
  RecordKind kind = RecordKind::note;
  std::uint8_t op = 0;  ///< Op, SourceKind or WarningKind, by kind
  Outcome outcome = Outcome::ok;
  std::uint8_t reserved = 0;

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
/// The ReadinessFlag bits of raw epoll bits (EPOLLIN|EPOLLRDHUP gives readable | read_closed).
std::uint8_t readiness_flags(std::uint32_t epoll_bits) noexcept;
/// The name of one flag ("readable", "read_closed", ...), "unknown" for anything else.
std::string_view to_string(ReadinessFlag f) noexcept;
/// All flags set in `flags`, in the order above, joined by `sep` ("readable|read_closed").
std::string flags_text(std::uint8_t flags, std::string_view sep = "|");

/// Lower-case names, as the recording format spells them ("readiness", "tcp_listener",
/// "shutdown_write", "would_block", ...). A value outside the enum gives "unknown".
std::string_view to_string(RecordKind k) noexcept;
std::string_view to_string(SourceKind k) noexcept;
std::string_view to_string(Op o) noexcept;
std::string_view to_string(Outcome o) noexcept;
std::string_view to_string(WarningKind w) noexcept;

}  // namespace ready::capture
