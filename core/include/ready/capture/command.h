// Commands: what a user (GUI, CLI, scenario) asks the capture engine to do.
//
// A Command is a std::variant of plain structs, one per command. `Engine::submit` queues it
// for the poll thread and returns a Ticket at once: the command id and, for a command that
// creates sources, the token(s) the new source(s) will have. Tokens are handed out at submit
// time so a caller can queue `Write{ticket.token, ...}` right behind the create command; if
// the creation fails, the token is simply never used (tokens are never reused either way).
//
// Every command's result is recorded by the poll thread, in queue order:
//  - creates: `source_added` (value = partner/parent token or 0, value2 = command id), or an
//    `action` with op = Op::create, outcome = error and the errno (value2 = command id);
//  - set interest / trigger / reaction: `source_changed`, or an action op = Op::modify, error;
//  - every other command: one `action` record (op, outcome, value = bytes or counter,
//    err = errno, value2 = command id); close gives `source_removed`;
//  - note: a `note` record whose value is the id of its text (Engine::note_text);
//  - sync: no record (it only wakes the poll thread).
// A command naming a token that is not (or no longer) a source gets an action with
// outcome = error, err = EBADF. An operation the source kind cannot do (read on a listener,
// accept on a stream) gets err = EOPNOTSUPP.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "ready/interest.h"
#include "ready/net/addr.h"
#include "ready/token.h"

namespace ready::capture {

/// What the poll thread does by itself when a source reports readiness.
///  - none: nothing: the user acts by hand (the default, for lessons)
///  - read: one read of up to `n` bytes per readable event
///  - drain: read until would-block (payload kept, bounded)
///  - echo: streams: read until would-block, writing each chunk back (docs/engine.md, "Echo")
///  - discard: read until would-block, bytes thrown away
///  - auto_accept: listeners: accept until would-block; accepted streams get Reaction::none
///  - relay: the legs of a relay (cmd::Relay) and its listener: the poll thread copies both
///    ways between a client leg and its upstream leg (docs/relay.md). Set by cmd::Relay
///    only: SetReaction with it, or on a source that is not a relay's, is EINVAL
#define READY_REACTION_LIST(X) X(none) X(read) X(drain) X(echo) X(discard) X(auto_accept) X(relay)
READY_NAMED_ENUM(Reaction, std::uint8_t, READY_REACTION_LIST)

/// A reaction and its parameter. On a listener, any reaction other than none means
/// "accept until would-block on every readable event", and the accepted streams get this
/// same reaction (so `--listen ... --reaction echo` echoes on every connection);
/// `auto_accept` accepts and gives the streams `none`.
/// Every reaction but none closes a stream (after removing it) once it read end-of-file or
/// hit a fatal error (a reset, a refused connect, EPIPE). Datagram sockets are never closed
/// by a reaction (an ICMP error is recorded and the socket keeps working).
struct ReactionSpec {
  Reaction kind = Reaction::none;
  std::uint32_t n = 4096;  ///< bytes per read for Reaction::read (>= 1: EINVAL otherwise)
  /// drain / discard on a stream (TCP or Unix stream, pipe receiver): stop after a read that
  /// returned fewer bytes than asked instead of reading on until would-block. A short read on
  /// a stream means its receive buffer was empty at that moment (epoll(7), Q9), so the read
  /// that would only return EAGAIN is skipped: one read(2) less per event. Not when the event
  /// reported read-closed, hang-up or an error (the end-of-file / error is read then, as
  /// usual). Its drain action then records outcome `ok` with the bytes read, not
  /// `would_block` (a drain stopped by the kMaxDrainBytes bound also records `ok`, with a
  /// value >= that bound). Off by default: lessons show the read-until-EAGAIN rule.
  bool stop_at_short_read = false;
  /// drain / discard / echo: bytes one event's reaction may move before the source goes to the
  /// back of the engine's still-ready list, behind every other ready source (a per-event budget
  /// with round-robin, like tokio's coop budget). 0, or more than EngineConfig::max_drain_bytes:
  /// max_drain_bytes (a fire-hose source then holds the loop for up to that many bytes per
  /// event, starving the others). The drain action that stopped at the budget records outcome
  /// ok (as at max_drain_bytes). Level-triggered sources are not put on the list: the kernel
  /// reports them again at the next poll.
  std::uint64_t budget = 0;
  /// A proxy's rule: when this source's reaction closes it (end-of-file or a fatal error), close
  /// this other source too, right away (deregister + close, its source_removed right after this
  /// one's; nothing if it is not live; 0: none). A Close command does not trigger it. An event
  /// for that other source later in the same batch is then stale: the engine records it as a
  /// readiness (fd -1) followed by an event_after_close warning.
  Token also_close{0};
  /// Listeners: on EMFILE / ENFILE, free the reserve descriptor to accept and close what waits
  /// (libuv's trick; an emfile warning). false: only the failed accept's action (error EMFILE)
  /// is recorded and, edge-triggered, the listener is never told again about the connections
  /// still waiting (a lesson shows it; a later Accept command still takes them). Also applies
  /// to Accept commands on the listener.
  bool emfile_reserve = true;
  /// A lesson device: the CPU time a handler spends per KiB it read (a real server parses,
  /// decompresses, copies). After each read of a read, drain or discard reaction the poll
  /// thread busy-waits bytes x work_ns_per_kib / 1024 ns, holding the loop as that handler
  /// would. 0 (the default): none. At most kMaxWorkNsPerKib (SetReaction: EINVAL beyond).
  std::uint32_t work_ns_per_kib = 0;
  static constexpr std::uint32_t kMaxWorkNsPerKib = 1'000'000;
};

/// The `bits` of a source record (source_added / changed / removed): the interest, trigger
/// and reaction in force, packed as interest bits | trigger << 8 | reaction << 16.
/// Interest bits 0 mean `paused`: registered for nothing, so only EPOLLERR and EPOLLHUP
/// (which the kernel always reports) can come — a relay leg whose reading waits for the other
/// leg to take what it holds, with nothing of its own to write (docs/relay.md).
struct SourceBits {
  Interest interest = Interest::READABLE;
  Trigger trigger = Trigger::edge;
  Reaction reaction = Reaction::none;
  /// Registered with no interest (`interest` then holds READABLE as a stand-in).
  bool paused = false;

  [[nodiscard]] constexpr std::uint32_t pack() const noexcept {
    return (paused ? 0u : std::uint32_t{interest.bits()}) |
           (std::uint32_t{static_cast<std::uint8_t>(trigger)} << 8) |
           (std::uint32_t{static_cast<std::uint8_t>(reaction)} << 16);
  }
  /// The inverse of pack(). Values outside the enums (only in hand-made input) are kept as
  /// they are; interest bits 0 decode as paused.
  [[nodiscard]] static SourceBits unpack(std::uint32_t bits) noexcept;
};

/// How a new source is registered, and what it does on events.
struct SourceOptions {
  Interest interest = Interest::READABLE;
  Trigger trigger = Trigger::edge;
  ReactionSpec reaction{};
};

/// One end of a relay: a TCP address ("127.0.0.1:8080", "[::1]:80") or a Unix stream socket
/// path (anything with a '/', e.g. "/tmp/app.sock" or "./app.sock").
struct RelayEndpoint {
  std::optional<net::SocketAddr> tcp;  ///< set for TCP
  std::string path;                    ///< the Unix socket's path when `tcp` is empty
  /// "127.0.0.1:8080" or the path.
  [[nodiscard]] std::string to_string() const;
  /// Parses "HOST:PORT" (a numeric IPv4 / [IPv6] address or "localhost"; port 0 is a free
  /// port to listen on, and nothing to connect to) or a path with a '/'; nullopt (and
  /// `error` says why) otherwise.
  [[nodiscard]] static std::optional<RelayEndpoint> parse(std::string_view text, std::string* error = nullptr);
};

/// The faults a relay injects into one direction (toxiproxy's toxics; docs/relay.md,
/// "Fault knobs"). All off by default; every field combines with the others. Each wait runs
/// on a timerfd in the poll loop (one per relayed connection, made when first needed).
struct RelayFaults {
  /// Each chunk read is held this long before it is forwarded, +- a uniformly random jitter
  /// (at most `latency`); order is kept. Both in [0, 60 s].
  std::chrono::nanoseconds latency{0};
  std::chrono::nanoseconds jitter{0};
  /// Forward at most this many kilobytes (1000 bytes) per second; 0: no limit. At most 10^9.
  std::uint64_t bandwidth_kbps = 0;
  /// Forward in writes of at most this many bytes (1 B: the peer reads one byte at a time);
  /// 0: off. `slice_delay` (in [0, 60 s]) is waited between two pieces, so they arrive
  /// separately (with 0 the peer's kernel may join them again).
  std::uint32_t slice_bytes = 0;
  std::chrono::nanoseconds slice_delay{0};
  /// After this many bytes went this way, reset both legs (RST to both programs); 0: never.
  std::uint64_t reset_after = 0;

  [[nodiscard]] bool any() const noexcept {
    return latency.count() != 0 || jitter.count() != 0 || bandwidth_kbps != 0 || slice_bytes != 0 || reset_after != 0;
  }
  /// "latency 50 ms +-10 ms, slice 1 B every 1 ms", or "none".
  [[nodiscard]] std::string to_string() const;
  /// Empty when every field is in range, else what is not.
  [[nodiscard]] std::string invalid() const;
  friend bool operator==(const RelayFaults&, const RelayFaults&) = default;
};

/// A relay's faults for each direction.
struct RelayFaultSet {
  RelayFaults to_upstream;  ///< client -> upstream (the request way)
  RelayFaults to_client;    ///< upstream -> client (the response way)
  friend bool operator==(const RelayFaultSet&, const RelayFaultSet&) = default;
};

namespace cmd {

// ---- create a source ----

/// A TCP listener on `addr` (port 0: an ephemeral port; see Engine::source_info). A
/// non-loopback address is refused (EACCES, nothing opened) unless the engine was started
/// with allow_remote or `allow_remote` is set here.
struct TcpListen {
  net::SocketAddr addr;
  SourceOptions options{};
  bool allow_remote = false;
};
/// A non-blocking TCP connect: an action connect in_progress, then, on the first event,
/// connect ok or error (from SO_ERROR). The completion of a connect is reported as writable,
/// so while it is in progress the source is registered with WRITABLE added to its interest;
/// once the outcome is recorded the interest asked for is restored (so `READABLE` alone does
/// not miss the outcome, and a level-triggered source does not spin on writable afterwards).
/// Default interest: readable and writable.
struct TcpConnect {
  net::SocketAddr addr;
  SourceOptions options{Interest::READABLE | Interest::WRITABLE};
};
/// A UDP socket bound to `addr` (the same loopback rule as TcpListen, for `connect` too).
/// With `connect`, the socket is then connected to that peer (connect(2) on UDP only sets the
/// default peer: it completes at once): an action connect ok, or connect error and no source.
/// Write then sends to the peer; an ICMP error for it (a closed port) arrives as EPOLLERR and
/// the next read fails with it (ECONNREFUSED), recorded as an action error; the socket stays.
/// Reads of any UDP socket keep the sender with the payload (Engine::payload).
struct UdpBind {
  net::SocketAddr addr;
  SourceOptions options{};
  bool allow_remote = false;
  std::optional<net::SocketAddr> connect{};
};
/// A Unix stream listener bound to `path` (the engine does not unlink the path later).
struct UnixListen {
  std::string path;
  SourceOptions options{};
};
/// A Unix stream connect to `path` (completes at once or fails: action connect ok / error).
struct UnixConnect {
  std::string path;
  SourceOptions options{};
};
/// A Unix datagram socket bound to `path` (empty: unbound).
struct UnixDatagramBind {
  std::string path;
  SourceOptions options{};
};
/// A connected pair of Unix stream sockets: two sources (ticket.token, ticket.token2).
struct SocketPair {
  SourceOptions options{};
};
/// A pipe: the sender is ticket.token, the receiver ticket.token2. The sender is registered
/// WRITABLE, the receiver with `options.interest`.
struct Pipe {
  SourceOptions options{};
};
/// An eventfd with an initial counter.
struct EventFdCreate {
  std::uint64_t initial = 0;
  bool semaphore = false;
  SourceOptions options{};
};
/// A timerfd (disarmed; see TimerArm).
struct TimerFdCreate {
  SourceOptions options{};
};
/// A load generator: a socketpair whose one end becomes a source (a unix_stream, local
/// "feed", source_added with value 0) and whose other end a feeder thread owned by the engine
/// writes: `chunk` bytes (1..65536) of the pattern "abc...z" repeated, every `interval` (0: back
/// to back, as fast as the source is read: the feeder waits with poll(2) while the socket
/// buffer is full). A chunk out of range or a negative interval: a create error EINVAL. The
/// feeder is not a source (nothing is recorded for it); it stops when a write fails (EPIPE:
/// the source's end is closed) or when the source is closed (Close, CloseFd, a reaction) or the
/// engine stops, and is joined then, before the source_removed record: a waiting or blocked
/// feeder is woken by a stop signal. One thread and two descriptors (its socket end and the
/// stop eventfd) per live feed. A fire-hose and a trickle for the starvation lesson.
struct Feed {
  std::uint32_t chunk = 65536;
  std::chrono::nanoseconds interval{0};
  SourceOptions options{};
};

/// A relay between two local endpoints (docs/relay.md): a listener on `listen` (source kind
/// tcp_listener or unix_listener, Reaction::relay; its SourceInfo::peer names `upstream`).
/// Every client it accepts (a "client leg": tcp_stream / unix_stream, related = the listener)
/// gets its own non-blocking connect to `upstream` (an "upstream leg", related = the client
/// leg; connect in_progress, then ok or error); both legs are sources with their own tokens
/// and `trigger`, and the poll thread copies both ways as a correct edge-triggered proxy:
/// read until would-block into a bounded buffer per direction
/// (EngineConfig::relay_buffer_bytes), write what the other leg takes; while that buffer is
/// full, the reading leg drops READABLE (a source_changed: back-pressure is visible) and the
/// writing leg waits for WRITABLE. End-of-file is passed on as shutdown(SHUT_WR) on the other
/// leg (the other way keeps flowing); both ways ended: both legs close. A reset or error on
/// one leg resets the other (SO_LINGER 0). An upstream connect that fails closes the client
/// leg. Every read and write is an action on its leg; the client leg keeps the payload (in:
/// what the client sent; out: what it received). Loopback only for both ends unless
/// `allow_remote` (or EngineConfig::allow_remote): EACCES, nothing opened. Invalid faults: EINVAL.
struct Relay {
  RelayEndpoint listen;
  RelayEndpoint upstream;
  RelayFaultSet faults{};
  Trigger trigger = Trigger::edge;
  bool allow_remote = false;
};
/// Changes a relay's faults (token: its listener), for its live connections at once and for
/// later ones; recorded as a note naming the relay and the new faults. EBADF for a token that
/// is not a live relay listener, EINVAL for faults out of range (nothing changed).
struct SetRelayFaults {
  Token token;
  RelayFaultSet faults{};
};

/// Watches another process's epoll instances (level 1 of docs/attach.md): every `interval`
/// (in [kMinAttachInterval, kMaxAttachInterval]; EINVAL otherwise) the poll thread reads
/// /proc/PID/fdinfo of each of its epoll instances (/proc/PID/fd is listed again for new
/// instances every kAttachRelistEvery samples) and records each registration as a source of
/// its own with an engine token: source_added / changed / removed at the sample that saw it
/// appear, change (events or data) or go (or be replaced: the same number with another
/// file, told by inode and device). Those records carry the process (Record::attached_pid),
/// the epoll instance, the mask and the data (record.h); Engine::source_info names what the
/// descriptor is (kind, addresses). Result: an action attach (token 0, value = pid) ok, or
/// error with the errno (ESRCH no such process, EACCES/EPERM not this user's, EBUSY already
/// attached, EINVAL a bad interval, ENOSPC more than kMaxAttached processes); a note when
/// the process holds no epoll instance yet (it is watched on). When the process ends (a
/// pidfd in the Poll says so at once): a note, source_removed for each of its sources, then
/// an action detach with outcome eof. Read-only towards the process, always.
///
/// Level 2 (`trace`, docs/attach.md): the process is also traced with ptrace
/// (ready/attach/tracer.h): each event an epoll_wait / epoll_pwait / epoll_pwait2 of it
/// returned becomes a readiness record on the lane of the registration it names (matched by
/// epoll instance and data; one not sampled yet makes the engine sample at once), and each
/// epoll_ctl makes the engine sample at once (so registrations are recorded as they are made,
/// not at the next interval). With `trace_io` its read / write / recv / send family on a
/// watched descriptor become action records (read or write, the bytes, would_block, eof or
/// the errno). A tracer that cannot start: the attach action fails with its errno (EPERM:
/// ptrace refused) and a note with Tracer::error_text's line. With `launch` (argv, not
/// empty) the program is started under the trace instead of attaching to `pid` (which is
/// ignored); it is killed at stop.
struct Attach {
  int pid = 0;
  std::chrono::nanoseconds interval = std::chrono::milliseconds(50);
  bool trace = false;
  bool trace_io = false;
  std::vector<std::string> launch{};
};
/// Stops watching an attached process: source_removed for each of its sources, then an
/// action detach ok (value = pid); EBADF when it is not attached. `stop` detaches every one.
struct Detach {
  int pid = 0;
};
inline constexpr std::chrono::nanoseconds kMinAttachInterval = std::chrono::milliseconds(1);
inline constexpr std::chrono::nanoseconds kMaxAttachInterval = std::chrono::seconds(60);
inline constexpr unsigned kAttachRelistEvery = 20;
inline constexpr std::size_t kMaxAttached = 64;

// ---- change a source ----

struct SetInterest {
  Token token;
  Interest interest = Interest::READABLE;
};
struct SetTrigger {
  Token token;
  Trigger trigger = Trigger::edge;
};
/// Registry::modify with the current interest and trigger (rearms a oneshot).
struct Rearm {
  Token token;
};
struct SetReaction {
  Token token;
  ReactionSpec reaction{};
};

// ---- operations ----

/// One read of up to `n` bytes, n >= 1 (EINVAL otherwise; eventfd / timerfd: one read of
/// the counter).
struct Read {
  Token token;
  std::uint32_t n = 4096;
};
/// Read until would-block, end-of-file or an error (bounded: docs/engine.md, "Bounds").
struct Drain {
  Token token;
};
/// One write (or send) of `bytes`; the action's value is how many were taken.
struct Write {
  Token token;
  std::string bytes;
};
/// Write until would-block (bounded: docs/engine.md, "Bounds").
struct Fill {
  Token token;
};
struct ShutdownRead {
  Token token;
};
struct ShutdownWrite {
  Token token;
};
/// Remove (deregister), then close: a source_removed record. On a CloseFd ghost's token:
/// closes the ghost's copy (an action close, fd = the copy), which ends its registration.
struct Close {
  Token token;
};
/// One accept on a listener; the accepted stream becomes a source with the listener's reaction.
struct Accept {
  Token token;
};
/// Duplicates the source's descriptor (F_DUPFD_CLOEXEC). The engine keeps the copy with the
/// source and closes it when the source closes. Action dup, value = the copy's number. One
/// copy per source: a second Dup is EBUSY. Epoll registers the open file description, so while
/// the copy lives, closing only the original number does not end the registration (see CloseFd).
struct Dup {
  Token token;
};
/// The pitfall, on purpose: close(2) the source's descriptor WITHOUT deregistering it first.
/// Records the action close_fd (ok, fd = the closed number), then source_removed: the source
/// leaves the engine's table (source_info forgets it). If a Dup copy still holds the file
/// open, the engine keeps the copy as a "ghost" and the registration lives on: its events keep
/// coming for the old token, each recorded as a readiness (fd = the copy) followed by an
/// event_after_close warning (value = the epoll bits), until Close on the same token closes
/// the copy (an action close, ok, fd = the copy; no second source_removed), which ends the
/// registration. Without a copy the kernel drops the registration with the file. The engine
/// never EPOLL_CTL_DELs the closed number (another source may have it by then). An eventfd or
/// timerfd: EOPNOTSUPP (nothing changed). A level-triggered ghost with data waiting is
/// reported at every poll (the loop spins) until it is closed: that is the lesson too.
struct CloseFd {
  Token token;
};
/// Uses up the process's descriptors, leaving `headroom` (0..64; EINVAL above) free: fills
/// every free number below the highest open one (listed in /proc/self/fd) with ballast (dups
/// of /dev/null) and lowers the soft RLIMIT_NOFILE to that number + headroom + 1 (never
/// raises it). Process-wide on purpose (the EMFILE lesson: every thread's next open, socket or
/// accept fails once the headroom is used); ReleaseFds (and stop) undo it. Action exhaust_fds
/// with token 0, value = ballast descriptors held. A second one while exhausted: EBUSY.
struct ExhaustFds {
  std::uint32_t headroom = 0;
};
/// Closes the ballast and restores the saved RLIMIT_NOFILE. Action release_fds with token 0,
/// value = the descriptors given back (0, outcome ok, when nothing was held). `stop` does the
/// same when something is held (its action has value2 = 0).
struct ReleaseFds {};
struct EventFdWrite {
  Token token;
  std::uint64_t value = 1;
};
struct EventFdRead {
  Token token;
};
/// Arm a timerfd: first expiry after `initial` (> 0), then every `interval` (0: one-shot).
struct TimerArm {
  Token token;
  std::chrono::nanoseconds initial{std::chrono::milliseconds(1)};
  std::chrono::nanoseconds interval{0};
};
struct TimerDisarm {
  Token token;
};
/// A text marker on the timeline.
struct Note {
  std::string text;
};
/// Does nothing and records nothing: it only wakes the poll thread, so a `poll_return`
/// record follows from a poll that returned after this submit. A scenario's barrier
/// (scenario.h) submits it to learn that the engine polled after its earlier commands.
struct Sync {};
/// Switches queue sampling (EngineConfig::queue_sampling) on or off from the next event on;
/// recorded as a note ("queue sampling on" / "queue sampling off"). Switched on, every
/// source's queues are sampled at once, so the records state them again.
struct SetQueueSampling {
  bool on = true;
};

}  // namespace cmd

using Command =
    std::variant<cmd::TcpListen, cmd::TcpConnect, cmd::UdpBind, cmd::UnixListen, cmd::UnixConnect,
                 cmd::UnixDatagramBind, cmd::SocketPair, cmd::Pipe, cmd::EventFdCreate, cmd::TimerFdCreate,
                 cmd::SetInterest, cmd::SetTrigger, cmd::Rearm, cmd::SetReaction, cmd::Read, cmd::Drain,
                 cmd::Write, cmd::Fill, cmd::ShutdownRead, cmd::ShutdownWrite, cmd::Close, cmd::Accept,
                 cmd::EventFdWrite, cmd::EventFdRead, cmd::TimerArm, cmd::TimerDisarm, cmd::Note, cmd::Sync,
                 cmd::Feed, cmd::Dup, cmd::CloseFd, cmd::ExhaustFds, cmd::ReleaseFds, cmd::Relay,
                 cmd::SetRelayFaults, cmd::SetQueueSampling, cmd::Attach, cmd::Detach>;

/// What `submit` hands back: the command id (value2 of its result records) and the tokens
/// its new sources will have (0 when it creates none; token2 for the second source of a
/// socketpair or pipe).
struct Ticket {
  std::uint64_t id = 0;
  Token token{};
  Token token2{};
};

}  // namespace ready::capture
