// The capture engine's live pitfall checks (WarningKind::et_partial_read,
// oneshot_disarmed_pending, level_writable_spin, read_after_close): a small state per source,
// fed by the poll thread, and a heap of the deadlines the grace checks need.
//
// Poll thread only. The engine keeps one SourceState in each source and one Detector; it
// calls the hooks below and records the Warning a hook returns (see docs/engine.md,
// "Pitfalls", for the rules as the user sees them). The bytes left are measured with
// os::bytes_readable (FIONREAD, core/src/linux/fds.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <vector>

#include "ready/capture/record.h"
#include "ready/interest.h"
#include "ready/token.h"

namespace ready::capture::pitfalls {

/// The bounds of the checks (EngineConfig::pitfall_grace / pitfall_spin_events).
struct Config {
  std::uint64_t grace_ns = 100'000'000;
  std::uint32_t spin_events = 64;
};

/// What a source is watched for, from its kind, interest and trigger.
enum Watch : std::uint8_t {
  watch_none = 0,
  watch_et_read = 1 << 0,       ///< edge-triggered, readable interest, a byte/datagram reader
  watch_oneshot_read = 1 << 1,  ///< oneshot, readable interest, a byte/datagram reader
  watch_lt_write = 1 << 2,      ///< level-triggered with writable interest
  watch_read_close = 1 << 3,    ///< a stream or pipe receiver (end-of-file means something)
};

/// One source's detector state (lives in the engine's source).
struct SourceState {
  enum class Et : std::uint8_t {
    idle,     ///< no edge to follow (or its handling reached would-block / EOF / an error)
    edge,     ///< a readable edge came; nothing read since
    partial,  ///< read since the edge, never up to would-block: checked after the grace
  };
  std::uint8_t watch = watch_none;
  Et et = Et::idle;
  bool fired = false;      ///< oneshot: fired and not rearmed since
  bool scheduled = false;  ///< has an entry in the Detector's deadline heap
  bool spin_warned = false;
  bool read_closed_seen = false;
  bool eof_seen = false;
  bool rac_warned = false;
  std::uint32_t spin = 0;     ///< writable events in a row with nothing written
  std::uint64_t mark_ns = 0;  ///< et: the last read's time; oneshot: the event's time
  std::uint64_t reads_after_close = 0;
};

/// A warning a hook found: the engine records it (token and fd of the source).
struct Warning {
  WarningKind kind;
  std::uint64_t value;
};

class Detector {
 public:
  Detector() = default;
  explicit Detector(Config c) : cfg_(c) {}
  void set_config(Config c) noexcept { cfg_ = c; }
  [[nodiscard]] const Config& config() const noexcept { return cfg_; }

  /// The watch bits of a source of `kind` registered for `interest` with `trigger`.
  static std::uint8_t watch_for(SourceKind kind, Interest interest, Trigger trigger) noexcept;

  /// A new source: its watch bits, everything else cleared.
  static void added(SourceState& s, SourceKind kind, Interest interest, Trigger trigger) noexcept {
    s = SourceState{};
    s.watch = watch_for(kind, interest, trigger);
  }

  /// The registration was modified (SetInterest, SetTrigger, Rearm, the echo's re-register):
  /// EPOLL_CTL_MOD re-evaluates readiness, so a source still ready is reported again (a new
  /// edge, a rearmed oneshot). Clears the edge, firing and spin state; keeps the end-of-file
  /// state.
  static void modified(SourceState& s, SourceKind kind, Interest interest, Trigger trigger) noexcept {
    s.watch = watch_for(kind, interest, trigger);
    s.et = SourceState::Et::idle;
    s.fired = false;
    s.spin = 0;
    s.spin_warned = false;
  }

  /// The source's descriptor is gone though the source lives on (cmd::CloseFd): nothing more
  /// is checked for it (FIONREAD on a closed number could measure some other descriptor).
  /// A grace check already waiting finds nothing to do.
  static void fd_closed(SourceState& s) noexcept {
    s.watch = watch_none;
    s.et = SourceState::Et::idle;
    s.fired = false;
  }

  /// One epoll event of the source (its readiness record is out). May return a
  /// level_writable_spin warning. Two branches when the source is not watched.
  std::optional<Warning> on_readiness(SourceState& s, Token token, bool readable, bool writable,
                                      bool read_closed, std::uint64_t now_ns) {
    if (s.watch == watch_none) return std::nullopt;
    return readiness(s, token, readable, writable, read_closed, now_ns);
  }

  /// One read action (a read or a drain, by command or by reaction; of an echo, only the read
  /// it ended with, since its reads in between are each followed by another) ended with
  /// `outcome`; `drained` is a drain that stopped at a short stream read (the buffer was
  /// empty: as good as would-block). May return a read_after_close warning.
  std::optional<Warning> on_read(SourceState& s, Token token, Outcome outcome, bool drained,
                                 std::uint64_t now_ns) {
    if (s.watch == watch_none) return std::nullopt;
    return read(s, token, outcome, drained, now_ns);
  }

  /// Something was written to the source (any write, fill, echo write, eventfd write): the
  /// writable events were used, the spin streak ends.
  static void on_write(SourceState& s) noexcept {
    s.spin = 0;
    s.spin_warned = false;
  }

  /// A grace check is waiting (the poll must wake by next_due()).
  [[nodiscard]] bool pending() const noexcept { return !heap_.empty(); }
  /// The earliest deadline (only when pending()).
  [[nodiscard]] std::uint64_t next_due() const noexcept { return heap_.top().due_ns; }

  /// Runs the checks due at `now_ns`, earliest first. `find(Token)` gives the source's
  /// SourceState* and descriptor (nullptr for a source closed meanwhile: its check is
  /// dropped); `emit(Token, Warning)` records a warning.
  template <class Find, class Emit>
  void run_due(std::uint64_t now_ns, Find&& find, Emit&& emit) {
    while (!heap_.empty() && heap_.top().due_ns <= now_ns) {
      const Entry e = heap_.top();
      heap_.pop();
      int fd = -1;
      SourceState* s = find(Token(static_cast<std::size_t>(e.token)), fd);
      if (!s) continue;
      s->scheduled = false;
      if (auto w = check(*s, e.token, fd, now_ns)) emit(Token(static_cast<std::size_t>(e.token)), *w);
    }
  }

 private:
  struct Entry {
    std::uint64_t due_ns;
    std::uint64_t token;
    friend bool operator>(const Entry& a, const Entry& b) noexcept { return a.due_ns > b.due_ns; }
  };

  std::optional<Warning> readiness(SourceState& s, Token token, bool readable, bool writable,
                                   bool read_closed, std::uint64_t now_ns);
  std::optional<Warning> read(SourceState& s, Token token, Outcome outcome, bool drained,
                              std::uint64_t now_ns);
  std::optional<Warning> check(SourceState& s, std::uint64_t token, int fd, std::uint64_t now_ns);
  void schedule(SourceState& s, std::uint64_t token, std::uint64_t due_ns);

  Config cfg_{};
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap_;
};

}  // namespace ready::capture::pitfalls
