// The capture engine's poll thread: its state (Engine::Impl), one source (Src) and the
// helpers every part of the engine shares. Private to the engine's files:
//
//   api.cpp        Engine's public functions: start, submit, stop, the accessors
//   loop.cpp       the poll loop: run, dispatch one event, reactions, the still-ready list,
//                  pitfall checks, stats records, the failure path (docs/engine.md, "Failure")
//   io_ops.h       operations on a source: read, drain, write, fill, echo and its back-pressure;
//                  a datagram socket's drain and echo (one action per datagram) and the peer table
//   sources.cpp    the source table: add, close, publish SourceInfo
//   accept.cpp     accept, auto-accept and the EMFILE reserve
//   commands.cpp   one exec() per cmd:: type, and how many tokens a command takes
//   payload.h/.cpp payload buffers: keep, grow, retire, snapshot
//   feeder.h/.cpp  cmd::Feed's writer thread
//
// The behaviour is specified in docs/engine.md.
//
// The per-event path (run -> on_event -> react -> drain / echo / read -> keep -> emit) is
// inline: defined in this header, io_ops.h and payload.h, or `inline` in loop.cpp, so that
// loop.cpp compiles it whole. The library is built with
// -fPIC, where GCC treats a non-inline function with external linkage as interposable and
// neither inlines nor clones it; moving one of these into another .cpp (or dropping its
// `inline`) adds calls to every event. The cold jobs (commands, accept, the source table, the
// feeder) are ordinary functions in their own files.
#pragma once

#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "capture/engine/feeder.h"
#include "capture/pitfalls.h"
#include "linux/fds.h"
#include "ready/capture/engine.h"
#include "ready/event.h"
#include "ready/net/tcp.h"
#include "ready/net/udp.h"
#include "ready/net/unix.h"
#include "ready/poll.h"
#include "ready/unix/eventfd.h"
#include "ready/unix/pipe.h"
#include "ready/unix/timerfd.h"
#include "ready/waker.h"

namespace ready::capture {

struct RelayConn;  // one relayed connection (engine/relay.cpp)
struct Attached;   // one attached process (engine/attach.cpp)
/// Deletes an Attached where its type is complete (attach.cpp).
struct AttachedDelete {
  void operator()(Attached* a) const noexcept;
};
/// Deletes a RelayConn where its type is complete (relay.cpp), so Impl's other files need not see it.
struct RelayConnDelete {
  void operator()(RelayConn* c) const noexcept;
};

namespace detail {

using Clock = std::chrono::steady_clock;
constexpr Token kWakerToken{0};  // sources start at 1
// The stats timer's token: sources count up from 1 and never reach it.
constexpr Token kStatsToken{std::numeric_limits<std::size_t>::max()};
constexpr std::chrono::nanoseconds kStatsEvery = std::chrono::seconds(1);
constexpr std::size_t kScratchBytes = 64 * 1024;
constexpr std::size_t kEventsPerPoll = 1024;
// A relayed connection's fault timer (engine/relay.cpp): this bit | the client leg's token.
// Sources count up from 1 and never reach it; kStatsToken (all bits) is told apart first.
constexpr std::uint64_t kRelayTimerBit = std::uint64_t{1} << 62;
// An attached process's sampling timer (pid << 2), pidfd (pid << 2 | 1) and tracer (pid << 2 | 2)
// (engine/attach.cpp):
// this bit | those. Sources never reach it; kStatsToken and kRelayTimerBit are told apart first.
constexpr std::uint64_t kAttachBit = std::uint64_t{1} << 61;

using Io = std::variant<net::TcpListener, net::TcpStream, net::UdpSocket, net::UnixListener, net::UnixStream,
                        net::UnixDatagram, unix::Sender, unix::Receiver, unix::EventFd, unix::TimerFd>;

inline IoSource& base(Io& io) {
  return std::visit([](auto& s) -> IoSource& { return s; }, io);
}

/// The errno an error value stands for (ready::Errc mapped to the epoll errno it replaces).
inline int errno_of(const std::error_code& ec) noexcept {
  if (ec.category() == std::system_category() || ec.category() == std::generic_category()) return ec.value();
  if (ec.category() == ready_category()) {
    switch (static_cast<Errc>(ec.value())) {
      case Errc::already_registered:
      case Errc::waker_exists:
        return EEXIST;
      case Errc::not_registered:
        return ENOENT;
      case Errc::registered_with_other_poll:
        return EINVAL;
    }
  }
  return EIO;
}

/// Streams and pipe ends: end-of-file and errors end them (datagram errors do not).
inline bool is_stream_like(SourceKind k) noexcept {
  return k == SourceKind::tcp_stream || k == SourceKind::unix_stream || k == SourceKind::pipe_sender ||
         k == SourceKind::pipe_receiver;
}

inline bool is_datagram(SourceKind k) noexcept {
  return k == SourceKind::udp || k == SourceKind::unix_datagram;
}

/// A datagram's sender (or a reply's destination) as the kernel gave it: an IPv4/IPv6 or
/// Unix-domain sockaddr. len 0: none (an unbound Unix sender, or not read from a datagram socket).
struct PeerAddr {
  std::array<unsigned char, sizeof(sockaddr_un)> bytes{};
  socklen_t len = 0;
  [[nodiscard]] const sockaddr* as_sockaddr() const noexcept { return reinterpret_cast<const sockaddr*>(bytes.data()); }
  [[nodiscard]] std::string_view key() const noexcept {
    return {reinterpret_cast<const char*>(bytes.data()), static_cast<std::size_t>(len)};
  }
  void set(const sockaddr* sa, socklen_t n) noexcept {
    len = n <= bytes.size() ? n : 0;
    if (len != 0) std::memcpy(bytes.data(), sa, len);
  }
};

/// Datagram errors that concern one earlier datagram (an ICMP report: the peer's port was
/// closed, its host unreachable), not the socket: recorded, and the socket reads on.
inline bool is_datagram_soft_error(int e) noexcept {
  return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN || e == ENETDOWN ||
         e == EPROTO || e == EMSGSIZE || e == ENOENT;
}

/// Transparent hash of a PeerAddr key, so the poll thread looks peers up without a string.
struct PeerKeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view k) const noexcept { return std::hash<std::string_view>{}(k); }
};

/// The result of one operation, as a record states it.
struct Step {
  Outcome outcome = Outcome::ok;
  std::uint64_t n = 0;
  int err = 0;
  /// A drain that ended at a short stream read (ReactionSpec::stop_at_short_read): outcome
  /// ok, but the source is drained, unlike a drain stopped by max_drain_bytes.
  bool drained_by_short_read = false;
  [[nodiscard]] bool fatal() const noexcept { return outcome == Outcome::error; }
};

inline Step step_of(const io_result<std::size_t>& r, bool zero_is_eof) {
  if (r) return *r == 0 && zero_is_eof ? Step{Outcome::eof, 0, 0} : Step{Outcome::ok, *r, 0};
  if (is_would_block(r.error())) return {Outcome::would_block, 0, 0};
  return {Outcome::error, 0, errno_of(r.error())};
}

/// How many sources a command creates (and so how many tokens `submit` hands out for it).
int tokens_needed(const Command& c) noexcept;  // commands.cpp

}  // namespace detail

/// The poll thread's state. Only the poll thread touches it (the Waker's wake() excepted,
/// which is thread-safe), from the start of the thread to its end.
struct Engine::Impl {
  using Clock = detail::Clock;
  using Io = detail::Io;
  using Step = detail::Step;

  // Ordered (and aligned) so that what an event touches fills two cache lines: with many
  // sources each event finds its source cold, and each line is a miss.
  struct alignas(64) Src {
    Token token;
    Io io;
    SourceKind kind;
    Interest interest;
    Trigger trigger;
    bool connecting = false;
    int fd = -1;
    ReactionSpec reaction;
    bool still_ready = false;     // on Impl::still_ready (a reaction stopped at max_drain_bytes)
    bool evict_warned = false;    // the first eviction's warning was recorded
    bool payload_failed = false;  // the buffer could not be allocated: keep nothing
    std::uint64_t bytes_in = 0;
    std::shared_ptr<PayloadBuffer> payload{};  // created at the first kept byte
    // Echo back-pressure: bytes read but not yet written back, pending[pending_off, +pending_len).
    std::size_t pending_len = 0;
    std::uint64_t bytes_out = 0;
    std::vector<std::byte> pending{};  // allocated once, echo_pending_bytes
    std::size_t pending_off = 0;
    // Datagram sockets: the last sender interned, so a run of datagrams from one peer looks
    // its id up with one compare (peer_id: 0 when the table was full).
    std::uint32_t last_peer_id = 0;
    std::string last_peer_key{};
    OwnedFd dup{};  // cmd::Dup's copy of the descriptor: closed with the source (or kept as a ghost)
    pitfalls::SourceState pit{};  // the live pitfall checks' state (docs/engine.md, "Pitfalls")
    // A relay leg (engine/relay.cpp): its connection (owned by Impl::relay_conns), and whether
    // it is registered for nothing while the relay waits on the other leg (SourceBits::paused).
    RelayConn* relay = nullptr;
    bool paused = false;
    // Queue sampling (docs/engine.md, "Queues"): the values of the last queue record (0 before
    // any), and the related source (a socketpair's or pipe's other end, a listener) as
    // source_added named it.
    std::uint64_t q_readable = 0;
    std::uint64_t q_unsent = 0;
    std::uint64_t related = 0;
  };

  Impl(Poll p, Waker w, unix::EventFd reserve_fd, unix::TimerFd stats_fd)
      : poll(std::move(p)),
        waker(std::move(w)),
        reserve(std::move(reserve_fd)),
        stats_timer(std::move(stats_fd)) {}

  Engine* eng = nullptr;
  Poll poll;
  Waker waker;
  // A descriptor held back for EMFILE on accept (an eventfd: any descriptor frees a slot).
  std::optional<unix::EventFd> reserve;
  // One-shot, kStatsEvery, registered under kStatsToken: its expiry ends the poll when a
  // stats record is due, so the poll itself never needs a timeout (epoll_wait(-1) arms no
  // hrtimer per call). Re-armed after each stats record; re-arming clears the expiry, so
  // it is never read. Closed with the rest of this state when the thread ends.
  unix::TimerFd stats_timer;
  std::unordered_map<std::uint64_t, std::unique_ptr<Src>> sources;
  std::vector<std::byte> scratch = std::vector<std::byte>(detail::kScratchBytes);
  // Sources whose reaction stopped at max_drain_bytes (edge/oneshot): continued next iteration.
  std::vector<Token> still_ready;
  std::vector<Token> continuing;  // still_ready taken for one iteration (kept to reuse its storage)
  // The queue taken for one iteration, and how many of its commands ran (fail() counts the rest).
  std::vector<Queued> taken;
  std::size_t taken_done = 0;
  // cmd::Feed's writers, by the feed source's token: stopped and joined when it closes.
  std::unordered_map<std::uint64_t, std::unique_ptr<detail::Feeder>> feeders;
  // cmd::CloseFd on a source with a Dup copy: the copy, by the old token. It keeps the
  // registration alive (its events are recorded as event_after_close) until Close closes it.
  std::unordered_map<std::uint64_t, OwnedFd> ghosts;
  // cmd::ExhaustFds: the ballast descriptors and the RLIMIT_NOFILE to restore (active while exhausted).
  os::FdBallast ballast;
  Clock::time_point t0 = Clock::now();
  bool pushed = false;
  pitfalls::Detector pit;     // configured by Engine's constructor
  std::uint64_t loop_ns = 0;  // when this iteration's poll returned: the pitfall checks' clock

  // ---- records (inline: every event emits) ----

  std::uint64_t now_ns() const {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
  }

  // A clock reading no record has used yet: the poll's return, or the capture time of kept
  // payload. The next record takes it as its time instead of reading the clock again (one
  // clock read per event less: a drain action carries the time its last kept read
  // returned, the same time as that payload chunk). Nothing was emitted since the reading,
  // so record times stay non-decreasing.
  std::uint64_t unused_ns = 0;
  bool have_unused_ns = false;

  std::uint64_t stamp() {
    unused_ns = now_ns();
    have_unused_ns = true;
    return unused_ns;
  }

  void emit(Record r) {
    r.t_ns = have_unused_ns ? unused_ns : now_ns();
    have_unused_ns = false;
    if (eng->ring_.try_push(r)) pushed = true;
  }

  void flush() {
    if (!pushed) return;
    pushed = false;
    (void)eng->notifier_.notify();
  }

  void action(Token token, int fd, Op op, Step s, std::uint64_t cmd, std::uint32_t peer = 0) {
    Record r;
    r.kind = RecordKind::action;
    r.token = token.value;
    r.fd = fd;
    r.op = static_cast<std::uint8_t>(op);
    r.outcome = s.outcome;
    r.value = s.n;
    r.value2 = cmd;
    r.err = s.err;
    r.bits = peer;  // Record::peer_id: datagram actions only
    emit(r);
  }
  void action(const Src& s, Op op, Step st, std::uint64_t cmd, std::uint32_t peer = 0) {
    action(s.token, s.fd, op, st, cmd, peer);
  }
  void error_action(Token token, Op op, int err, std::uint64_t cmd) {
    action(token, -1, op, Step{Outcome::error, 0, err}, cmd);
  }
  void error_action(Token token, Op op, const std::error_code& ec, std::uint64_t cmd) {
    error_action(token, op, detail::errno_of(ec), cmd);
  }

  void warning(const Src* s, WarningKind w, std::uint64_t value, int err = 0) {
    Record r;
    r.kind = RecordKind::warning;
    r.token = s ? s->token.value : 0;
    r.fd = s ? s->fd : -1;
    r.op = static_cast<std::uint8_t>(w);
    r.value = value;
    r.err = err;
    emit(r);
  }

  void source_record(RecordKind k, const Src& s, std::uint64_t value, std::uint64_t value2) {
    Record r;
    r.kind = k;
    r.token = s.token.value;
    r.fd = s.fd;
    r.op = static_cast<std::uint8_t>(s.kind);
    r.bits = SourceBits{s.interest, s.trigger, s.reaction.kind, s.paused}.pack();
    r.value = value;
    r.value2 = value2;
    emit(r);
  }

  void stats() {
    Record r;
    r.kind = RecordKind::stats;
    // Read before the push: the values describe the records before this one.
    r.value2 = eng->ring_.dropped();
    r.value = eng->ring_.produced();
    emit(r);
  }

  // ---- queue sampling (docs/engine.md, "Queues"; inline: every event samples) ----

  bool queue_sampling = true;  // EngineConfig::queue_sampling, then cmd::SetQueueSampling

  /// A queue record when (readable, unsent) differs from the source's last one.
  void queue_record(Src& s, std::uint64_t readable, std::uint64_t unsent) {
    if (readable == s.q_readable && unsent == s.q_unsent) return;
    s.q_readable = readable;
    s.q_unsent = unsent;
    Record r;
    r.kind = RecordKind::queue;
    r.token = s.token.value;
    r.fd = s.fd;
    r.value = readable;
    r.value2 = unsent;
    emit(r);
  }
  /// The other end of a socketpair or pipe `s` is one end of (a live source naming `s` back),
  /// or null: the end whose readable bytes are `s`'s unsent ones, or the other way round.
  Src* pair_end(const Src& s) {
    if (s.related == 0 || (s.kind != SourceKind::unix_stream && s.kind != SourceKind::pipe_sender &&
                           s.kind != SourceKind::pipe_receiver))
      return nullptr;
    Src* p = find(Token{s.related});
    if (!p || p->related != s.token.value) return nullptr;
    const bool pair = s.kind == SourceKind::unix_stream && p->kind == SourceKind::unix_stream;
    const bool pipe = (s.kind == SourceKind::pipe_sender && p->kind == SourceKind::pipe_receiver) ||
                      (s.kind == SourceKind::pipe_receiver && p->kind == SourceKind::pipe_sender);
    return pair || pipe ? p : nullptr;
  }
  /// Reads a source's queues now (after an event's handling, after a command): one ioctl,
  /// two on a stream the engine wrote to. A socketpair's or pipe's two ends share their
  /// bytes (one end's unsent is the other's readable), so the other end's record follows from
  /// the same ioctls: a reader's read takes its writer's unsent down with it.
  void sample_queue(Src& s) {
    switch (s.kind) {
      case SourceKind::tcp_stream:
        return queue_record(s, os::bytes_readable(s.fd), s.bytes_out != 0 ? os::bytes_unsent(s.fd) : 0);
      case SourceKind::unix_stream: {
        const std::uint64_t readable = os::bytes_readable(s.fd);
        std::uint64_t unsent = 0;
        if (Src* p = pair_end(s)) {
          // A Unix socket's own SIOCOUTQ counts buffer memory: its unsent bytes are what the
          // other end has not read.
          if (s.bytes_out != 0) {
            unsent = os::bytes_readable(p->fd);
            queue_record(*p, unsent, p->q_unsent);
          }
          if (p->bytes_out != 0) queue_record(*p, p->q_readable, readable);
        }
        return queue_record(s, readable, unsent);
      }
      case SourceKind::pipe_receiver:
      case SourceKind::pipe_sender: {
        // FIONREAD works on either end of a pipe: the bytes in it.
        const std::uint64_t in_pipe = os::bytes_readable(s.fd);
        const bool reader = s.kind == SourceKind::pipe_receiver;
        if (Src* p = pair_end(s)) queue_record(*p, reader ? 0 : in_pipe, reader ? in_pipe : 0);
        return queue_record(s, reader ? in_pipe : 0, reader ? 0 : in_pipe);
      }
      case SourceKind::udp:
      case SourceKind::unix_datagram:
        return queue_record(s, os::bytes_readable(s.fd), 0);
      default:  // listeners, eventfd, timerfd: no byte queue
        return;
    }
  }
  /// After a command on `t` (each action, an interest change): its queues, and with them its
  /// pair's.
  void sample_after_command(Token t) {
    if (!queue_sampling) return;
    if (Src* s = find(t)) sample_queue(*s);
  }
  /// Whether a source of kind `k` has byte queues to sample (not listeners, eventfd, timerfd).
  static bool has_queues(SourceKind k) noexcept {
    return k == SourceKind::tcp_stream || k == SourceKind::unix_stream || k == SourceKind::pipe_receiver ||
           k == SourceKind::pipe_sender || k == SourceKind::udp || k == SourceKind::unix_datagram;
  }
  /// After an event's handling (`sampled`: sampling was on and the source has queues when it
  /// began): one FIONREAD (its readable bytes), and on a source the engine writes to its unsent
  /// bytes (a second ioctl). Nothing when the handling closed the source.
  void queue_after(Token t, bool sampled) {
    if (!sampled) return;
    if (Src* s = find(t)) sample_queue(*s);
  }

  // ---- datagram peers (docs/engine.md, "Datagrams") ----

  // The peer table's index (poll thread only): address bytes -> id. The texts live in
  // Engine::peers_ (any thread reads them through peer_text).
  std::unordered_map<std::string, std::uint32_t, detail::PeerKeyHash, std::equal_to<>> peer_ids;
  /// The id of `p` in this capture's peer table (interned at its first datagram), 0 for no
  /// address or when the table is full (counted: Engine::peers_dropped).
  std::uint32_t peer_id(Src& s, const detail::PeerAddr& p);

  // ---- the source table (sources.cpp; find is inline: every event looks its source up) ----

  // A direct-mapped cache in front of `sources` (token -> Src*). Tokens are handed out in
  // sequence, so live sources rarely share a slot, and a hit is one load from a 4 KiB table
  // instead of the hash bucket and node (cold lines with many sources). Token 0 is never a
  // source's, so it marks an empty slot; close_source clears its source's slot.
  struct CacheSlot {
    std::uint64_t token = 0;
    Src* src = nullptr;
  };
  static constexpr std::size_t kSrcCacheSlots = 256;
  std::array<CacheSlot, kSrcCacheSlots> src_cache{};

  Src* find(Token t) {
    CacheSlot& c = src_cache[t.value % kSrcCacheSlots];
    if (c.token == t.value && t.value != 0) return c.src;
    auto it = sources.find(t.value);
    if (it == sources.end()) return nullptr;
    c = CacheSlot{t.value, it->second.get()};
    return c.src;
  }

  /// A read reaction of 0 bytes would read 0, which a stream reports as end-of-file.
  static bool valid(const ReactionSpec& r) noexcept {
    return (r.kind != Reaction::read || r.n > 0) && r.work_ns_per_kib <= ReactionSpec::kMaxWorkNsPerKib;
  }

  /// ReactionSpec::work_ns_per_kib: the handler's simulated work for `bytes` just read by a
  /// reaction (cmd 0), spent on the poll thread as a real handler's would be.
  void handler_work(const Src& s, std::uint64_t cmd, std::uint64_t bytes) const {
    if (cmd != 0 || s.reaction.work_ns_per_kib == 0 || bytes == 0) return;
    const auto until = Clock::now() + std::chrono::nanoseconds(bytes * s.reaction.work_ns_per_kib / 1024);
    while (Clock::now() < until) {
    }
  }

  /// Registers a new source and records source_added; records the failure otherwise (the
  /// descriptor is then closed unregistered).
  Src* add_source(Token token, SourceKind kind, Io io, const SourceOptions& o, std::uint64_t parent,
                  std::uint64_t cmd, bool connecting = false, std::string_view local = {},
                  std::string_view peer = {});
  /// Deregisters, then closes; records source_removed (value: bytes in, value2: bytes out).
  void close_source(Token token);
  /// Closes every source in token order, the CloseFd ghosts and the ExhaustFds ballast (stop).
  void close_all();
  /// Publishes what source_info(token) returns; `local` overrides the local address's text;
  /// `peer` stands in when the kernel names no peer (a connect in progress: its target). A
  /// source still without one (a connect that failed) keeps the peer published before.
  void publish_info(Src& s, std::string_view local = {}, std::string_view peer = {});

  // ---- payload buffers (payload.h) ----

  /// Keeps bytes a read or write moved in the source's payload buffer (docs/engine.md, "Payload").
  void keep(Src& s, Direction d, std::span<const std::byte> data, const detail::PeerAddr* peer = nullptr);
  /// The source closed: its payload stays readable, for the last payload_closed_sources.
  void retire_payload(Src& s);

  // ---- operations on a source (io_ops.h) ----

  /// One read; a datagram read also gives its sender in `from`.
  io_result<std::size_t> read_some(Src& s, std::span<std::byte> buf, detail::PeerAddr* from = nullptr);
  /// One datagram sent to `to` (a UDP or Unix datagram socket).
  io_result<std::size_t> send_to(Src& s, std::span<const std::byte> buf, const detail::PeerAddr& to);
  io_result<std::size_t> write_some(Src& s, std::span<const std::byte> buf);
  /// One read of an eventfd's or timerfd's counter; nullopt for other kinds.
  std::optional<Step> read_counter(Src& s);
  Op counter_read_op(const Src& s) const {
    return s.kind == SourceKind::eventfd ? Op::eventfd_read : Op::read;
  }
  /// One read into scratch[0, len), its bytes kept as payload unless `keep_bytes` is false;
  /// on a datagram socket the sender goes to `from` (when given) and to the payload chunk.
  Step read_into_scratch(Src& s, std::size_t len, bool keep_bytes = true, detail::PeerAddr* from = nullptr);
  /// One write; the bytes it took are kept as payload.
  Step write_once(Src& s, std::span<const std::byte> data);
  /// A read action ended: the pitfall checks' hook (read_after_close is recorded here).
  void read_checked(Src& s, const Step& st);
  /// One read of up to n bytes.
  Step read_once(Src& s, std::uint32_t n, std::uint64_t cmd);
  /// Reads until would-block, end-of-file, an error or `cap` bytes (0: max_drain_bytes;
  /// outcome ok); with `short_read_ends` (ReactionSpec::stop_at_short_read on a stream), also
  /// after a short read (outcome ok).
  Step drain(Src& s, std::uint64_t cmd, bool keep_bytes = true, bool short_read_ends = false,
             std::size_t cap = 0);
  /// A drain on a datagram socket: each datagram its own action (op `op`, its size and
  /// peer); an ICMP report (is_datagram_soft_error) is recorded and the reads go on.
  Step drain_datagrams(Src& s, std::uint64_t cmd, bool keep_bytes, std::size_t cap, Op op = Op::drain);
  /// Writes until would-block, an error or max_drain_bytes (outcome ok).
  Step fill(Src& s, std::uint64_t cmd);
  /// Writes `data` until it is all written, it would block or fails; records one write
  /// action (ok with the bytes taken, when some were).
  Step write_all(Src& s, std::span<const std::byte> data, std::uint64_t cmd);
  /// Bytes one event's reaction may move: ReactionSpec::budget, at most max_drain_bytes.
  std::size_t reaction_cap(const Src& s) const noexcept {
    const std::size_t m = eng->config_.max_drain_bytes;
    return s.reaction.budget == 0 ? m
                                  : static_cast<std::size_t>(std::min<std::uint64_t>(s.reaction.budget, m));
  }
  /// What the source is registered for: its interest, or WRITABLE only while an echo waits.
  static Interest registered_interest(const Src& s) noexcept {
    return s.pending_len != 0 ? Interest::WRITABLE : s.interest;
  }
  /// Re-registers for registered_interest (an echo's hold began or ended).
  void reregister(Src& s);
  /// Keeps what the peer did not take and stops reading until it is written.
  void hold(Src& s, std::span<const std::byte> rest);
  /// Writes pending echo bytes; once none is left, the source reads again.
  Step flush_pending(Src& s);
  /// Echo: read a chunk, write it back; until would-block, EOF, an error, the bound, or a
  /// peer that does not take everything (the rest waits in the pending buffer).
  Step echo(Src& s);
  /// Echo on a datagram socket: each datagram sent back to its sender (docs/engine.md, "Datagrams").
  Step echo_datagrams(Src& s);

  // ---- accept (accept.cpp) ----

  /// One accept; the new stream becomes a source with the listener's reaction.
  Step accept_one(Src& l, std::uint64_t cmd);
  /// EMFILE on accept: drop the waiting connections with the reserve descriptor's help.
  void emfile(Src& l);
  /// Auto-accept: accepts until would-block (or a listener error), at most
  /// EngineConfig::accept_budget connections; past it an edge-triggered or oneshot listener
  /// goes on the still-ready list (react continues it).
  void accept_until_would_block(Src& l);

  // ---- relays (relay.cpp; docs/relay.md) ----

  /// A relay's plan, by its listener's token: where each accepted client's upstream leg
  /// connects, with which trigger and faults.
  struct RelayPlan {
    RelayEndpoint upstream;
    RelayFaultSet faults;
    Trigger trigger = Trigger::edge;
  };
  std::unordered_map<std::uint64_t, RelayPlan> relay_plans;
  /// Legs closed with their connection in this iteration: an event of theirs later in the
  /// same batch is recorded (readiness, fd -1) without an event_after_close warning, since
  /// closing both legs together is the relay's rule, not the pitfall.
  std::vector<std::uint64_t> relay_closed;
  /// Live relayed connections, by their client leg's token.
  std::unordered_map<std::uint64_t, std::unique_ptr<RelayConn, RelayConnDelete>> relay_conns;
  /// A client leg was accepted on a relay listener: connect its upstream leg.
  void relay_open(Src& client, const Src& listener);
  /// An event on a relay leg (its readiness record is out).
  void relay_event(Src& s, const Event& e);
  /// A relayed connection's fault timer fired (token: kRelayTimerBit | client token).
  void relay_timer(std::uint64_t token);
  /// A relay leg stopped at the per-event budget: continue it (from still_ready).
  void relay_continue(Src& s);
  /// close_source of a relay leg (`closed`): the connection ends; the other leg closes too.
  void relay_detach(RelayConn* conn, Token closed);
  /// Moves what can move both ways, then updates both legs' registrations.
  void relay_run(RelayConn& c);
  /// How a relay_pump ended: nothing more moves now, the budget is used, or the connection
  /// ended (its legs are gone then).
  enum class Pumped : std::uint8_t { idle, budget, ended };
  /// One direction (upward: client -> upstream) until it is `idle`, the `budget` is used or
  /// the connection `ended`.
  Pumped relay_pump(RelayConn& c, bool upward, std::uint64_t& budget);
  /// Registers a leg for what it waits for now (READABLE while its buffer has room, WRITABLE
  /// while a write would block, nothing: paused); a source_changed when that changed.
  void relay_register(RelayConn& c, Src& s);
  /// Arms the connection's fault timer for time `due` (ns) unless it is due earlier already.
  void relay_wake_at(RelayConn& c, std::uint64_t due);
  /// Resets the leg that did not fail, closes both, notes why (err 0: the reset limit).
  void relay_reset(RelayConn& c, Token failed, int err);
  // ---- attached processes (attach.cpp; docs/attach.md) ----

  /// By process id.
  std::unordered_map<int, std::unique_ptr<Attached, AttachedDelete>> attached;
  /// An attached process's timer, pidfd or tracer was ready (token: kAttachBit | pid << 2 | which).
  void attach_event(std::uint64_t token);
  /// One look at the process: records what appeared, changed or went since the last.
  void attach_sample(Attached& a);
  /// The traced process's events (docs/attach.md, level 2): readiness, immediate samples, actions.
  void attach_trace(Attached& a);
  /// Stops watching `pid`: source_removed for each of its sources, the detach action
  /// (outcome ok, or eof: the process ended).
  void detach(int pid, Outcome how, std::uint64_t cmd);
  /// A note record with `text` (the engine's text table; cmd: the command, 0 for the engine's own).
  void note(std::string text, std::uint64_t cmd);

  // ---- the loop (loop.cpp, all inline there) ----

  /// Why the loop ended by itself (docs/engine.md, "Failure").
  struct Fatal {
    int err = 0;
    const char* where = "";
  };
  /// The poll thread: runs `loop`; on a Fatal (or std::bad_alloc, or another exception),
  /// `fail`s; then closes every source and records the final stats.
  void run() noexcept;
  /// The poll loop, until stop (nullopt) or an epoll_wait error.
  std::optional<Fatal> loop();
  /// Refuses every later command (and drops the queued ones), records what failed.
  void fail(const Fatal& f) noexcept;
  void on_event(const Event& e);
  /// on_event after the readiness record: the source's reaction (between the queue samples).
  void handle_event(Src* s, const Event& e);
  /// A source's reaction to readiness (readable: it may read; write_closed: a pipe sender's
  /// reader is gone). Also runs, as readable, for a source continued from still_ready.
  void react(Src& src, bool readable, bool write_closed, bool short_read_ends = false);
  /// react() for a UDP or Unix datagram socket.
  void react_datagram(Src& s);
  /// Continues the reactions that stopped at max_drain_bytes in the last iteration.
  void continue_still_ready();
  /// An event for a token that is no source (tokens are never reused, so it names the old
  /// one): closed earlier in this batch, or a CloseFd ghost kept registered by its Dup copy.
  void stale_event(const Event& e);
  /// A reaction closes its source (end-of-file, a fatal error): and ReactionSpec::also_close.
  void close_by_reaction(Token token);
  /// The grace checks that are due (after this iteration's events: a new edge came first).
  void run_pitfall_checks();

  // ---- commands (commands.cpp): one exec per cmd:: type ----

  /// Runs a batch of queued commands in order.
  void execute(std::vector<Queued>& batch);

  void exec(cmd::TcpListen& c, const Ticket& t);
  void exec(cmd::TcpConnect& c, const Ticket& t);
  void exec(cmd::UdpBind& c, const Ticket& t);
  void exec(cmd::UnixListen& c, const Ticket& t);
  void exec(cmd::UnixConnect& c, const Ticket& t);
  void exec(cmd::UnixDatagramBind& c, const Ticket& t);
  void exec(cmd::SocketPair& c, const Ticket& t);
  void exec(cmd::Pipe& c, const Ticket& t);
  void exec(cmd::EventFdCreate& c, const Ticket& t);
  void exec(cmd::TimerFdCreate& c, const Ticket& t);
  void exec(cmd::SetInterest& c, const Ticket& t);
  void exec(cmd::SetTrigger& c, const Ticket& t);
  void exec(cmd::Rearm& c, const Ticket& t);
  void exec(cmd::SetReaction& c, const Ticket& t);
  void exec(cmd::Read& c, const Ticket& t);
  void exec(cmd::Drain& c, const Ticket& t);
  void exec(cmd::Write& c, const Ticket& t);
  void exec(cmd::Fill& c, const Ticket& t);
  void exec(cmd::ShutdownRead& c, const Ticket& t);
  void exec(cmd::ShutdownWrite& c, const Ticket& t);
  void exec(cmd::Close& c, const Ticket& t);
  void exec(cmd::Accept& c, const Ticket& t);
  void exec(cmd::EventFdWrite& c, const Ticket& t);
  void exec(cmd::EventFdRead& c, const Ticket& t);
  void exec(cmd::TimerArm& c, const Ticket& t);
  void exec(cmd::TimerDisarm& c, const Ticket& t);
  void exec(cmd::Note& c, const Ticket& t);
  void exec(cmd::Sync& c, const Ticket& t);
  void exec(cmd::Feed& c, const Ticket& t);
  void exec(cmd::Dup& c, const Ticket& t);
  void exec(cmd::CloseFd& c, const Ticket& t);
  void exec(cmd::ExhaustFds& c, const Ticket& t);
  void exec(cmd::ReleaseFds& c, const Ticket& t);
  void exec(cmd::Relay& c, const Ticket& t);
  void exec(cmd::SetRelayFaults& c, const Ticket& t);
  void exec(cmd::SetQueueSampling& c, const Ticket& t);
  void exec(cmd::Attach& c, const Ticket& t);
  void exec(cmd::Detach& c, const Ticket& t);

  /// Gives back the ExhaustFds ballast and limit; records release_fds (when something was
  /// held, or always for a command: `cmd` != 0).
  void release_fds(std::uint64_t cmd);

 private:
  bool refused_remote(const net::SocketAddr& a, bool allow, const Ticket& t);
  /// A create's result: true when it worked, else its error recorded as a create action.
  /// Defined here: commands.cpp and relay.cpp both use it.
  template <class T>
  bool created(const io_result<T>& r, const Ticket& t) {
    if (r) return true;
    error_action(t.token, Op::create, r.error(), t.id);
    return false;
  }
  /// The source a command names, or an EBADF action.
  Src* target(Token token, Op op, const Ticket& t);
  /// target(), and an EBUSY action for a relay's source: the relay manages its interest,
  /// trigger and reaction (SetInterest, SetTrigger, Rearm, SetReaction, CloseFd).
  Src* unmanaged(Token token, Op op, const Ticket& t);
  void modify(Src& s, Interest interest, Trigger trigger, Op op, const Ticket& t);
  void shutdown(Token token, net::Shutdown how, Op op, const Ticket& t);
};

}  // namespace ready::capture
