// The source table: what is known about every source a capture ever had, from its records.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "session/bridge.h"
#include "ready/capture/command.h"
#include "ready/capture/engine.h"
#include "ready/capture/record.h"
#include "ready/interest.h"

namespace ready::ui {

/// A source's life as its records tell it.
enum class SourceState : std::uint8_t {
  connecting,   ///< a TCP connect is in progress (action connect in_progress)
  connected,    ///< a stream that can carry data both ways (connected, accepted, paired)
  listening,    ///< a TCP or Unix listener
  half_closed,  ///< a stream one way of which ended: read_closed seen, EOF read, or a shutdown
  closed,       ///< removed and closed (source_removed); the row stays
  error,        ///< a connect failed or the connection broke (SourceRow::err says how)
  bound,        ///< a UDP or Unix datagram socket (a connected UDP socket is `connected`)
  open,         ///< a pipe end, an eventfd or a timerfd
};
/// "connecting", "half-closed", ... (as the GUI shows them).
std::string_view to_string(SourceState s) noexcept;

/// A source's part in a relay (cmd::Relay), from its reaction and source_added's related:
/// the relay's listener (reaction relay), a client leg (a stream with reaction relay whose
/// related is a relay listener) or an upstream leg (reaction relay, related = a client leg).
enum class RelayRole : std::uint8_t { none, listener, client, upstream };

/// One source: a row of the table.
struct SourceRow {
  std::uint64_t token = 0;
  capture::SourceKind kind{};
  int fd = -1;
  /// source_added's `value`: the partner (pair, pipe) or parent (an accepted stream's
  /// listener) token; 0 for none.
  std::uint64_t related = 0;
  /// From the lookup when source_added arrived, refreshed when a connect completed ("" when
  /// it had none or the source had already closed).
  std::string local;
  std::string peer;
  SourceState state = SourceState::open;
  /// The errno of the error state; kept when an errored source is closed afterwards.
  int err = 0;
  Interest interest = Interest::READABLE;
  Trigger trigger = Trigger::edge;
  capture::Reaction reaction = capture::Reaction::none;
  /// Oneshot only: false from an event until a rearm or an interest / mode change (which
  /// re-registers); always true for edge and level.
  bool armed = true;
  /// Registered with no interest (source_changed with interest bits 0): a relay leg paused by
  /// back-pressure. `interest` then still holds what it had before.
  bool paused = false;
  RelayRole relay = RelayRole::none;
  /// Relay legs: the connection's number in its relay (1, 2, ... in accept order); both legs
  /// of one connection share it. Relay listeners: connections accepted so far.
  std::uint32_t relay_conn = 0;
  /// Relay legs: the relay listener's token (for the faults dialog); listeners: their own.
  std::uint64_t relay_listener = 0;
  /// The id of the command that created the source (source_added's value2; 0 for an
  /// accepted stream). A relay's faults are found by it (CaptureSession::relay_faults).
  std::uint64_t command = 0;
  std::uint64_t events = 0;        ///< readiness records
  std::uint64_t bytes_in = 0;      ///< bytes read (exact from source_removed once closed)
  std::uint64_t bytes_out = 0;     ///< bytes written (idem)
  std::uint64_t would_blocks = 0;  ///< actions that ended in would_block
  std::uint64_t errors = 0;        ///< actions that ended in an error
  std::uint64_t t_added = 0;
  std::optional<std::uint64_t> t_removed;
  /// A registration of an attached process (cmd::Attach, docs/attach.md): the process, its
  /// epoll instance's fd, the mask and the data it registered (0 / -1 for the engine's own).
  int pid = 0;
  int epoll_fd = -1;
  std::uint32_t mask = 0;
  std::uint64_t data = 0;

  [[nodiscard]] bool is_closed() const noexcept { return t_removed.has_value(); }
  /// "error ECONNREFUSED", "closed (ECONNRESET)", "connected", ...
  [[nodiscard]] std::string state_text() const;
  /// "#3 tcp_stream 127.0.0.1:7000 → 127.0.0.1:51234": token, kind and the addresses it has
  /// (a socket pair's "(unnamed)" ends are left out). The timeline's lanes, the rates' series
  /// and the inspector's title use it, in the window and in --png. Relays read differently:
  /// "relay 127.0.0.1:8080 → 127.0.0.1:8000 #5" (listen → upstream), "conn 2 client
  /// 127.0.0.1:51234 #9" and "conn 2 upstream → 127.0.0.1:8000 #10" (the connection's number
  /// in its relay, the client's address or the upstream's, and the token last). An attached
  /// process's registration ends with where it is: "#7 tcp_listener 127.0.0.1:8080 (fd 5,
  /// epoll 3)": its descriptor and epoll instance in that process.
  [[nodiscard]] std::string label() const;
  /// "readable|writable", or "paused" while registered for nothing.
  [[nodiscard]] std::string interest_text() const;
};

/// Every source a capture ever had, one row each in creation order (source_added order),
/// kept up to date record by record as a RecordObserver (register it with
/// Bridge::add_observer). Qt-free and O(1) per record (a hash lookup by token).
///
/// How the state is decided (SourceState): source_added gives listening (listeners), bound
/// (datagram sockets), open (pipes, eventfd, timerfd), connected (a stream with a partner or
/// parent: paired or accepted) or connecting (a stream of its own, whose connect action
/// follows). Then: action connect in_progress -> connecting, ok -> connected, error -> error
/// with its errno; on a stream, a read_closed readiness, an EOF read or a successful
/// shutdown -> half_closed; an action on a stream failing with a connection error (reset,
/// refused, broken pipe, timed out, unreachable, aborted) -> error (a misused command's
/// EBADF / EINVAL / EOPNOTSUPP / ENOTCONN is counted as an error but says nothing about the
/// connection); source_removed -> closed. Error wins over half_closed; closed wins over all.
/// Datagram sockets keep working after an ICMP error, so their state does not change.
///
/// Records about tokens never added (a failed create) are ignored. Records evicted from
/// the store do not matter: the table keeps its rows.
///
/// Bound: at most kMaxClosedRows closed sources keep their row (a capture that opens and
/// closes connections for hours would grow without end otherwise). Beyond it the earliest
/// created closed rows are evicted, counted by evicted_closed() (the window folds them into
/// one "N closed sources evicted" row). take_dirty() trims to exactly kMaxClosedRows; between
/// two calls (or with no model calling it, as headless) at most 2 x kMaxClosedRows closed rows
/// are kept. Eviction is O(rows), once per kMaxClosedRows closes at most. Live sources always
/// keep their rows.
class SourceTable final : public RecordObserver {
 public:
  /// Closed sources whose rows are kept (docs/gui.md, "Sources").
  static constexpr std::size_t kMaxClosedRows = 1000;

  /// What the engine knows of a live source (Engine::source_info). Called at source_added
  /// (the engine forgets a source when it closes) and again when a connect completes (its
  /// peer is known only then).
  using Lookup = std::function<std::optional<capture::SourceInfo>(std::uint64_t token)>;

  explicit SourceTable(Lookup lookup = {}) : lookup_(std::move(lookup)) {}

  void on_record(const capture::Record& r, std::uint64_t index) override;

  [[nodiscard]] const std::vector<SourceRow>& rows() const noexcept { return rows_; }
  [[nodiscard]] std::size_t size() const noexcept { return rows_.size(); }
  /// The row of `token`, or -1.
  [[nodiscard]] int row_of(std::uint64_t token) const;
  [[nodiscard]] const SourceRow* find(std::uint64_t token) const;

  /// Closed sources whose rows were evicted (see the class comment).
  [[nodiscard]] std::uint64_t evicted_closed() const noexcept { return evicted_closed_; }
  /// Closed sources with a row now.
  [[nodiscard]] std::size_t closed_rows() const noexcept { return closed_rows_; }

  /// What changed since the last call. First `removed`: rows handed out before that were
  /// evicted, as positions to remove one after the other (each in the numbering left by
  /// the ones before it). Then rows [first_new, end) were appended, and `changed` lists the
  /// rows below first_new that changed, ascending, each once (in the numbering after the
  /// removals).
  struct Dirty {
    std::vector<std::size_t> removed;
    std::size_t first_new = 0;
    std::size_t end = 0;
    std::vector<std::size_t> changed;
    [[nodiscard]] bool empty() const noexcept { return removed.empty() && changed.empty() && first_new == end; }
  };
  /// Hands out and forgets the changes recorded since the previous call (O(changes)).
  Dirty take_dirty();

 private:
  SourceRow* row_for(std::uint64_t token);
  void touch(std::size_t row);
  void add(const capture::Record& r);
  /// Evicts the earliest created closed rows until at most `keep` closed rows are left.
  void evict_closed(std::size_t keep);

  Lookup lookup_;
  std::vector<SourceRow> rows_;
  std::unordered_map<std::uint64_t, std::size_t> by_token_;
  std::vector<std::size_t> dirty_;
  std::vector<bool> dirty_mark_;   // by row: already in dirty_
  std::size_t reported_rows_ = 0;  // rows handed out as new by take_dirty
  std::vector<std::size_t> removed_;  // Dirty::removed, since the last take_dirty
  std::size_t closed_rows_ = 0;
  std::uint64_t evicted_closed_ = 0;
};

}  // namespace ready::ui
