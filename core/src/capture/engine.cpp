// The capture engine's poll thread: sources, commands, reactions and records.
#include "ready/capture/engine.h"

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string_view>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>

#include "capture/pitfalls.h"
#include "linux/os.h"
#include "linux/sys.h"
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

SourceBits SourceBits::unpack(std::uint32_t bits) noexcept {
  return {Interest::from_bits(static_cast<std::uint8_t>(bits & 0xff)).value_or(Interest::READABLE),
          static_cast<Trigger>((bits >> 8) & 0xff), static_cast<Reaction>((bits >> 16) & 0xff)};
}

namespace {

using Clock = std::chrono::steady_clock;
constexpr Token kWakerToken{0};  // sources start at 1
// The stats timer's token: sources count up from 1 and never reach it.
constexpr Token kStatsToken{std::numeric_limits<std::size_t>::max()};
constexpr std::chrono::nanoseconds kStatsEvery = std::chrono::seconds(1);
constexpr std::size_t kScratchBytes = 64 * 1024;
constexpr std::size_t kEventsPerPoll = 1024;

using Io = std::variant<net::TcpListener, net::TcpStream, net::UdpSocket, net::UnixListener, net::UnixStream,
                        net::UnixDatagram, unix::Sender, unix::Receiver, unix::EventFd, unix::TimerFd>;

IoSource& base(Io& io) {
  return std::visit([](auto& s) -> IoSource& { return s; }, io);
}

/// The errno an error value stands for (ready::Errc mapped to the epoll errno it replaces).
int errno_of(const std::error_code& ec) noexcept {
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
bool is_stream_like(SourceKind k) noexcept {
  return k == SourceKind::tcp_stream || k == SourceKind::unix_stream || k == SourceKind::pipe_sender ||
         k == SourceKind::pipe_receiver;
}

bool is_datagram(SourceKind k) noexcept { return k == SourceKind::udp || k == SourceKind::unix_datagram; }

/// accept(2) errors that concern one pending connection, not the listener (accept(2),
/// "Error handling"): retry.
bool is_transient_accept_error(int e) noexcept {
  switch (e) {
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
    case EINTR:
      return true;
    default:
      return false;
  }
}

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

Step step_of(const io_result<std::size_t>& r, bool zero_is_eof) {
  if (r) return *r == 0 && zero_is_eof ? Step{Outcome::eof, 0, 0} : Step{Outcome::ok, *r, 0};
  if (is_would_block(r.error())) return {Outcome::would_block, 0, 0};
  return {Outcome::error, 0, errno_of(r.error())};
}


/// How many sources a command creates (and so how many tokens `submit` hands out for it).
int tokens_needed(const Command& c) noexcept {
  return std::visit(
      [](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, cmd::SocketPair> || std::is_same_v<T, cmd::Pipe>)
          return 2;
        else if constexpr (std::is_same_v<T, cmd::TcpListen> || std::is_same_v<T, cmd::TcpConnect> ||
                           std::is_same_v<T, cmd::UdpBind> || std::is_same_v<T, cmd::UnixListen> ||
                           std::is_same_v<T, cmd::UnixConnect> || std::is_same_v<T, cmd::UnixDatagramBind> ||
                           std::is_same_v<T, cmd::EventFdCreate> || std::is_same_v<T, cmd::TimerFdCreate> ||
                           std::is_same_v<T, cmd::Feed>)
          return 1;
        else
          return 0;
      },
      c);
}

template <class T>
std::string addr_text(const io_result<T>& a) {
  return a ? a->to_string() : std::string();
}

/// A fixed array of a trivial type, allocated without initialisation; its whole pages are
/// mapped in with one madvise(MADV_POPULATE_WRITE) (as RecordStore does, store.cpp) instead
/// of a page fault each. A payload buffer is created on the poll thread at a source's first
/// kept byte; zero-filling its 64 KiB faulted 16 pages in one by one (15-20 us each on the
/// project's VMs), for every source. Best effort: without the madvise, pages fault on use.
template <class T>
class PopulatedArray {
  static_assert(std::is_trivially_default_constructible_v<T> && std::is_trivially_destructible_v<T>);

 public:
  explicit PopulatedArray(std::size_t n) : p_(std::make_unique_for_overwrite<T[]>(n)), n_(n) {
    os::populate(p_.get(), n * sizeof(T));
  }
  [[nodiscard]] std::size_t size() const noexcept { return n_; }
  [[nodiscard]] T* data() noexcept { return p_.get(); }
  [[nodiscard]] const T* data() const noexcept { return p_.get(); }
  T& operator[](std::size_t i) noexcept { return p_[i]; }
  const T& operator[](std::size_t i) const noexcept { return p_[i]; }

 private:
  std::unique_ptr<T[]> p_;
  std::size_t n_;
};

/// The writer of a cmd::Feed: the far end of the feed's socketpair and the thread that writes
/// into it. Not a source: nothing is recorded for it. The thread stops when a write fails
/// (EPIPE once the source's end is closed, or any other error) or when the owner signals
/// `stop_` (an eventfd the thread polls beside its socket, so a write blocked on a full
/// buffer never delays the join). Owned by the poll thread; the destructor stops and joins.
class Feeder {
 public:
  static io_result<std::unique_ptr<Feeder>> start(net::UnixStream end, std::uint32_t chunk,
                                                  std::chrono::nanoseconds interval) {
    auto stop = unix::EventFd::create();
    if (!stop) return std::unexpected(stop.error());
    std::unique_ptr<Feeder> f(new Feeder(std::move(end), std::move(*stop)));
    try {
      f->thread_ = std::thread([p = f.get(), chunk, interval] { p->run(chunk, interval); });
    } catch (const std::system_error& ex) {
      return std::unexpected(ex.code());
    }
    return f;
  }
  Feeder(const Feeder&) = delete;
  Feeder& operator=(const Feeder&) = delete;
  ~Feeder() {
    (void)stop_.write(1);  // cannot fail short of a counter overflow: one write per feeder
    if (thread_.joinable()) thread_.join();
  }

 private:
  Feeder(net::UnixStream end, unix::EventFd stop) : end_(std::move(end)), stop_(std::move(stop)) {}

  /// Waits until the stop signal (true), or the socket is writable / `deadline` passed
  /// (false). No deadline: wait for writability; with one: wait for the deadline only.
  bool wait(std::optional<Clock::time_point> deadline) const {
    for (;;) {
      std::array<pollfd, 2> fds{{{stop_.as_raw_fd(), POLLIN, 0}, {end_.as_raw_fd(), POLLOUT, 0}}};
      timespec ts{};
      const timespec* tp = nullptr;
      if (deadline) {
        const auto left =
            std::max(std::chrono::nanoseconds(0),
                     std::chrono::duration_cast<std::chrono::nanoseconds>(*deadline - Clock::now()));
        ts.tv_sec = static_cast<time_t>(left.count() / 1'000'000'000);
        ts.tv_nsec = static_cast<long>(left.count() % 1'000'000'000);
        tp = &ts;
      }
      auto r = sys::call(::ppoll, fds.data(), static_cast<nfds_t>(deadline ? 1 : 2), tp,
                         static_cast<const sigset_t*>(nullptr));
      if (!r && r.error() == std::errc::interrupted) continue;
      if (!r) return true;  // cannot wait: stop rather than spin
      if (fds[0].revents != 0) return true;
      if (deadline && Clock::now() < *deadline) continue;
      return false;
    }
  }

  void run(std::uint32_t chunk, std::chrono::nanoseconds interval) noexcept {
    sys::name_this_thread("ready-feed");
    std::vector<std::byte> pattern(chunk);
    for (std::size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<std::byte>('a' + i % 26);
    Clock::time_point next = Clock::now();
    std::size_t off = 0;  // bytes of the current chunk written
    for (;;) {
      if (off == pattern.size()) {
        off = 0;
        if (interval.count() > 0) {
          next += interval;
          if (wait(next)) return;
        }
      }
      auto w = end_.write(std::span(pattern).subspan(off));
      if (w) {
        off += *w;
        continue;
      }
      if (!is_would_block(w.error())) return;  // EPIPE: the source's end is closed
      if (wait(std::nullopt)) return;
    }
  }

  net::UnixStream end_;
  unix::EventFd stop_;
  std::thread thread_;
};

}  // namespace

/// One source's kept payload: a byte ring of payload_bytes_per_source bytes and a ring of
/// chunk descriptions, both allocated once. Byte offset o of the source's payload stream sits
/// at bytes[o % capacity]; [tail, head) is kept, everything below tail was evicted. The poll
/// thread appends under `m`; payload() copies out under `m` (memcpy only: see Engine::payload).
struct alignas(64) Engine::PayloadBuffer {
  // No initialisers (so the ring of them is allocated uninitialised): append writes every
  // field of a slot before it is part of [first, first + count). 24 bytes, so a chunk
  // description is one cache line's third and the pipeline's many small reads touch few lines.
  struct Meta {
    std::uint64_t offset;
    std::uint64_t t_ns;
    std::uint32_t len;
    Direction direction;
    std::uint8_t peer_len;  // 0: no peer (peers[slot] is written only when > 0)
  };
  using Peer = std::array<unsigned char, sizeof(sockaddr_in6)>;

  /// `with_peers`: the source reads datagrams with a sender (UDP): a sender slot per chunk.
  PayloadBuffer(std::size_t capacity, bool with_peers)
      : bytes(capacity),
        metas(std::max<std::size_t>(16, capacity / 128)),
        peers(with_peers ? metas.size() : 0) {}

  /// Keeps `data` (evicting the oldest bytes and chunks as needed); returns the bytes this
  /// call evicted (including any of `data` itself beyond the capacity).
  std::uint64_t append(Direction d, std::uint64_t t_ns, std::span<const std::byte> data,
                       const net::SocketAddr* peer) {
    const std::uint64_t cap = bytes.size();
    const std::uint64_t n = data.size();
    const std::uint64_t skip = n > cap ? n - cap : 0;
    std::lock_guard lock(m);
    const std::uint64_t new_head = head + n;
    const std::uint64_t floor = new_head > cap ? new_head - cap : 0;  // lowest offset that stays
    const std::uint64_t before = tail;
    while (count > 0) {
      Meta& f = metas[first];
      const bool full = count == metas.size();
      if (!full && f.offset >= floor) break;
      if (full || f.offset + f.len <= floor) {
        tail = f.offset + f.len;
        if (++first == metas.size()) first = 0;  // no division on the poll thread's hot path
        --count;
        continue;
      }
      const std::uint64_t cut = floor - f.offset;  // evict the front of this chunk only
      f.offset += cut;
      f.len -= static_cast<std::uint32_t>(cut);
      tail = f.offset;
      break;
    }
    const std::uint64_t start = head + skip;
    if (count == 0) tail = start;
    const std::uint64_t keep = n - skip;
    // start % cap, without a division unless more than the capacity came in at once.
    const std::size_t pos = skip == 0 ? head_pos : static_cast<std::size_t>(start % cap);
    const std::size_t part = std::min<std::size_t>(static_cast<std::size_t>(keep), bytes.size() - pos);
    std::memcpy(bytes.data() + pos, data.data() + skip, part);
    if (keep > part)  // wrapped around the end: usually not, and then no second call
      std::memcpy(bytes.data(), data.data() + skip + part, static_cast<std::size_t>(keep) - part);
    std::size_t slot = first + count;  // first < size and count < size (one was evicted if full)
    if (slot >= metas.size()) slot -= metas.size();
    Meta& mt = metas[slot];
    mt.offset = start;
    mt.t_ns = t_ns;
    mt.len = static_cast<std::uint32_t>(keep);
    mt.direction = d;
    mt.peer_len = 0;
    if (peer && peers.size() != 0 && peer->len() <= sizeof(Peer)) {
      std::memcpy(peers[slot].data(), peer->as_sockaddr(), peer->len());
      mt.peer_len = static_cast<std::uint8_t>(peer->len());
    }
    ++count;
    head = new_head;
    head_pos = pos + static_cast<std::size_t>(keep);  // new_head % cap: pos < cap, keep <= cap
    if (head_pos >= cap) head_pos -= static_cast<std::size_t>(cap);
    return tail - before;
  }

  void close() {
    std::lock_guard lock(m);
    closed = true;
  }

  PayloadSnapshot snapshot(std::uint64_t since) const {
    // Allocate before taking the lock: under it, only copies (the poll thread may wait on it).
    std::vector<Meta> ms;
    ms.reserve(metas.size());
    std::vector<Peer> ps;
    ps.reserve(peers.size());
    std::vector<std::byte> raw(bytes.size());
    PayloadSnapshot out;
    std::uint64_t lo = 0;
    {
      std::lock_guard lock(m);
      out.next = head;
      out.evicted = tail;
      out.closed = closed;
      lo = std::max(tail, since);
      for (std::size_t i = 0; i < count; ++i) {
        const std::size_t slot = (first + i) % metas.size();
        const Meta& mt = metas[slot];
        if (mt.offset + mt.len > lo) {
          ms.push_back(mt);
          if (peers.size() != 0) ps.push_back(peers[slot]);
        }
      }
      if (head > lo) {  // the kept bytes from lo on, unwrapped into raw[0, head - lo)
        const std::size_t n = static_cast<std::size_t>(head - lo);
        const std::size_t pos = static_cast<std::size_t>(lo % bytes.size());
        const std::size_t part = std::min(n, bytes.size() - pos);
        std::memcpy(raw.data(), bytes.data() + pos, part);
        std::memcpy(raw.data() + part, bytes.data(), n - part);
      }
    }
    out.chunks.reserve(ms.size());
    for (std::size_t k = 0; k < ms.size(); ++k) {
      const Meta& mt = ms[k];
      PayloadChunk c;
      const std::uint64_t begin = std::max(mt.offset, lo);
      c.offset = begin;
      c.t_ns = mt.t_ns;
      c.direction = mt.direction;
      if (mt.peer_len != 0)
        c.peer =
            net::SocketAddr::from_sockaddr(reinterpret_cast<const sockaddr*>(ps[k].data()), mt.peer_len);
      const auto at = raw.begin() + static_cast<std::ptrdiff_t>(begin - lo);
      c.bytes.assign(at, at + static_cast<std::ptrdiff_t>(mt.offset + mt.len - begin));
      out.chunks.push_back(std::move(c));
    }
    return out;
  }

  // Ordered (and the struct aligned) so that an append touches two cache lines: the lock
  // and the indices it reads first, then the rest of the indices and the arrays' pointers.
  mutable std::mutex m;
  std::uint64_t head = 0;           // guarded by m: bytes ever appended
  std::size_t first = 0;            // guarded by m: index of the oldest chunk in metas
  std::size_t count = 0;            // guarded by m
  std::size_t head_pos = 0;         // guarded by m: head % bytes.size()
  std::uint64_t tail = 0;           // guarded by m: bytes evicted (everything below it)
  PopulatedArray<std::byte> bytes;  // guarded by m (its size is fixed)
  PopulatedArray<Meta> metas;       // guarded by m (its size is fixed)
  PopulatedArray<Peer> peers;       // guarded by m (its size is fixed): metas.size() or 0
  bool closed = false;              // guarded by m
};

/// The poll thread's state. Only the poll thread touches it (the Waker's wake() excepted,
/// which is thread-safe), from the start of the thread to its end.
struct Engine::Impl {
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
    OwnedFd dup{};  // cmd::Dup's copy of the descriptor: closed with the source (or kept as a ghost)
    pitfalls::SourceState pit{};  // the live pitfall checks' state (see "Pitfalls")
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
  std::vector<std::byte> scratch = std::vector<std::byte>(kScratchBytes);
  // Sources whose reaction stopped at max_drain_bytes (edge/oneshot): continued next iteration.
  std::vector<Token> still_ready;
  std::vector<Token> continuing;  // still_ready taken for one iteration (kept to reuse its storage)
  // cmd::Feed's writers, by the feed source's token: stopped and joined when it closes.
  std::unordered_map<std::uint64_t, std::unique_ptr<Feeder>> feeders;
  // cmd::CloseFd on a source with a Dup copy: the copy, by the old token. It keeps the
  // registration alive (its events are recorded as event_after_close) until Close closes it.
  std::unordered_map<std::uint64_t, OwnedFd> ghosts;
  // cmd::ExhaustFds: the ballast descriptors and the RLIMIT_NOFILE to restore (set while exhausted).
  std::vector<OwnedFd> ballast;
  std::optional<rlimit> saved_nofile;
  Clock::time_point t0 = Clock::now();
  bool pushed = false;
  pitfalls::Detector pit;     // configured by Engine's constructor
  std::uint64_t loop_ns = 0;  // when this iteration's poll returned: the pitfall checks' clock

  // ---- records ----

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

  void action(Token token, int fd, Op op, Step s, std::uint64_t cmd) {
    Record r;
    r.kind = RecordKind::action;
    r.token = token.value;
    r.fd = fd;
    r.op = static_cast<std::uint8_t>(op);
    r.outcome = s.outcome;
    r.value = s.n;
    r.value2 = cmd;
    r.err = s.err;
    emit(r);
  }
  void action(const Src& s, Op op, Step st, std::uint64_t cmd) { action(s.token, s.fd, op, st, cmd); }
  void error_action(Token token, Op op, int err, std::uint64_t cmd) {
    action(token, -1, op, Step{Outcome::error, 0, err}, cmd);
  }
  void error_action(Token token, Op op, const std::error_code& ec, std::uint64_t cmd) {
    error_action(token, op, errno_of(ec), cmd);
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
    r.bits = SourceBits{s.interest, s.trigger, s.reaction.kind}.pack();
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

  // ---- sources ----

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

  // ---- payload ----

  /// Keeps bytes a read or write moved in the source's payload buffer (see Engine, "Payload").
  void keep(Src& s, Direction d, std::span<const std::byte> data, const net::SocketAddr* peer = nullptr) {
    const std::size_t cap = eng->config_.payload_bytes_per_source;
    if (data.empty() || cap == 0 || s.payload_failed) return;
    if (!s.payload) {
      try {
        auto b = std::make_shared<PayloadBuffer>(cap, s.kind == SourceKind::udp);
        std::lock_guard lock(eng->payload_mutex_);
        eng->payloads_[s.token.value] = b;
        s.payload = std::move(b);
      } catch (const std::bad_alloc&) {
        s.payload_failed = true;
        warning(&s, WarningKind::engine_error, 0, ENOMEM);
        return;
      }
    }
    const std::uint64_t evicted = s.payload->append(d, stamp(), data, peer);
    if (evicted != 0 && !s.evict_warned) {
      s.evict_warned = true;
      warning(&s, WarningKind::payload_truncated, evicted);
    }
  }

  /// The source closed: its payload stays readable, for the last payload_closed_sources.
  void retire_payload(Src& s) {
    if (!s.payload) return;
    s.payload->close();
    std::lock_guard lock(eng->payload_mutex_);
    eng->closed_payloads_.push_back(s.token.value);
    while (eng->closed_payloads_.size() > eng->config_.payload_closed_sources) {
      eng->payloads_.erase(eng->closed_payloads_.front());
      eng->closed_payloads_.pop_front();
    }
  }

  void publish_info(Src& s, std::string_view local = {}) {
    SourceInfo info;
    info.kind = s.kind;
    info.fd = s.fd;
    std::visit(
        [&](auto& io) {
          if constexpr (requires { io.local_addr(); }) info.local = addr_text(io.local_addr());
          if constexpr (requires { io.peer_addr(); }) {
            if (!s.connecting) info.peer = addr_text(io.peer_addr());
          }
        },
        s.io);
    if (!local.empty()) info.local = local;
    std::lock_guard lock(eng->text_mutex_);
    eng->infos_[s.token.value] = std::move(info);
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
                  std::uint64_t cmd, bool connecting = false, std::string_view local = {}) {
    auto s = std::make_unique<Src>(Src{.token = token,
                                       .io = std::move(io),
                                       .kind = kind,
                                       .interest = o.interest,
                                       .trigger = o.trigger,
                                       .connecting = connecting,
                                       .reaction = o.reaction});
    s->fd = base(s->io).as_raw_fd();
    if (!valid(o.reaction)) {
      error_action(token, Op::create, EINVAL, cmd);
      return nullptr;
    }
    // A connect in progress completes with writable: watch it until the outcome is
    // recorded, whatever interest was asked for (then the asked one is restored).
    const Interest reg = connecting ? o.interest | Interest::WRITABLE : o.interest;
    if (auto r = poll.registry().add(base(s->io), token, reg, o.trigger); !r) {
      error_action(token, Op::create, r.error(), cmd);
      return nullptr;
    }
    Src* raw = s.get();
    pitfalls::Detector::added(raw->pit, kind, reg, o.trigger);  // as registered
    sources.emplace(token.value, std::move(s));
    publish_info(*raw, local);
    source_record(RecordKind::source_added, *raw, parent, cmd);
    return raw;
  }

  /// Deregisters, then closes; records source_removed (value: bytes in, value2: bytes out).
  void close_source(Token token) {
    auto it = sources.find(token.value);
    if (it == sources.end()) return;
    Src& s = *it->second;
    // After CloseFd the Io is empty: its number is closed (maybe reused), never EPOLL_CTL_DEL it.
    if (base(s.io).as_raw_fd() >= 0) {
      if (auto r = poll.registry().remove(base(s.io)); !r)
        warning(&s, WarningKind::engine_error, 0, errno_of(r.error()));
    }
    Record removed;
    removed.kind = RecordKind::source_removed;
    removed.token = s.token.value;
    removed.fd = s.fd;
    removed.op = static_cast<std::uint8_t>(s.kind);
    removed.bits = SourceBits{s.interest, s.trigger, s.reaction.kind}.pack();
    removed.value = s.bytes_in;
    removed.value2 = s.bytes_out;
    {
      std::lock_guard lock(eng->text_mutex_);
      eng->infos_.erase(token.value);
    }
    retire_payload(s);
    if (CacheSlot& c = src_cache[token.value % kSrcCacheSlots]; c.token == token.value) c = CacheSlot{};
    sources.erase(it);           // closes the descriptor (and a Dup copy), after the remove above
    feeders.erase(token.value);  // a Feed's writer: its stop signal, then the join
    emit(removed);
  }

  void close_all() {
    std::vector<std::uint64_t> tokens;
    tokens.reserve(sources.size());
    for (const auto& [t, s] : sources) tokens.push_back(t);
    std::sort(tokens.begin(), tokens.end());
    for (auto t : tokens) close_source(Token(static_cast<std::size_t>(t)));
    ghosts.clear();  // ends the registrations they kept alive
    release_fds(0);
  }

  // ---- operations on a source ----

  /// One read; a UDP read also gives its sender in `from`.
  io_result<std::size_t> read_some(Src& s, std::span<std::byte> buf, net::SocketAddr* from = nullptr) {
    return std::visit(
        [&](auto& io) -> io_result<std::size_t> {
          using T = std::decay_t<decltype(io)>;
          if constexpr (std::is_same_v<T, net::UdpSocket>) {
            auto r = io.recv_from(buf);
            if (!r) return std::unexpected(r.error());
            if (from) *from = r->from;
            return r->n;
          } else if constexpr (std::is_same_v<T, net::UnixDatagram>)
            return io.recv(buf);
          else if constexpr (requires { io.read(buf); })
            return io.read(buf);
          else
            return std::unexpected(os_error(EOPNOTSUPP));
        },
        s.io);
  }

  io_result<std::size_t> write_some(Src& s, std::span<const std::byte> buf) {
    return std::visit(
        [&](auto& io) -> io_result<std::size_t> {
          using T = std::decay_t<decltype(io)>;
          if constexpr (std::is_same_v<T, net::UdpSocket> || std::is_same_v<T, net::UnixDatagram>)
            return io.send(buf);
          else if constexpr (std::is_same_v<T, unix::EventFd>)
            return std::unexpected(os_error(EOPNOTSUPP));
          else if constexpr (requires { io.write(buf); })
            return io.write(buf);
          else
            return std::unexpected(os_error(EOPNOTSUPP));
        },
        s.io);
  }

  /// One read of an eventfd's or timerfd's counter; nullopt for other kinds.
  std::optional<Step> read_counter(Src& s) {
    io_result<std::uint64_t> r = std::unexpected(os_error(EOPNOTSUPP));
    if (auto* e = std::get_if<unix::EventFd>(&s.io))
      r = e->read();
    else if (auto* t = std::get_if<unix::TimerFd>(&s.io))
      r = t->read();
    else
      return std::nullopt;
    if (r) return Step{Outcome::ok, *r, 0};
    if (is_would_block(r.error())) return Step{Outcome::would_block, 0, 0};
    return Step{Outcome::error, 0, errno_of(r.error())};
  }

  Op counter_read_op(const Src& s) const {
    return s.kind == SourceKind::eventfd ? Op::eventfd_read : Op::read;
  }

  /// One read into scratch[0, len), its bytes kept as payload unless `keep_bytes` is false.
  Step read_into_scratch(Src& s, std::size_t len, bool keep_bytes = true) {
    std::optional<net::SocketAddr> from;  // constructed for UDP only (128 bytes to clear)
    if (s.kind == SourceKind::udp) from.emplace();
    const auto buf = std::span(scratch).first(len);
    const Step st = step_of(read_some(s, buf, from ? &*from : nullptr), !is_datagram(s.kind));
    s.bytes_in += st.n;
    if (keep_bytes && st.outcome == Outcome::ok)
      keep(s, Direction::in, buf.first(st.n), from ? &*from : nullptr);
    return st;
  }

  /// One write; the bytes it took are kept as payload.
  Step write_once(Src& s, std::span<const std::byte> data) {
    const Step st = step_of(write_some(s, data), false);
    pitfalls::Detector::on_write(s.pit);
    s.bytes_out += st.n;
    if (st.outcome == Outcome::ok) keep(s, Direction::out, data.first(st.n));
    return st;
  }

  /// A read action ended: the pitfall checks' hook (read_after_close is recorded here).
  void read_checked(Src& s, const Step& st) {
    if (auto w = pit.on_read(s.pit, s.token, st.outcome, st.drained_by_short_read, loop_ns))
      warning(&s, w->kind, w->value);
  }

  /// One read of up to n bytes.
  Step read_once(Src& s, std::uint32_t n, std::uint64_t cmd) {
    if (auto c = read_counter(s)) {
      action(s, counter_read_op(s), *c, cmd);
      return *c;
    }
    const Step st = read_into_scratch(s, std::min<std::size_t>(n, scratch.size()));
    handler_work(s, cmd, st.n);
    action(s, Op::read, st, cmd);
    read_checked(s, st);
    return st;
  }

  /// Reads until would-block, end-of-file, an error or `cap` bytes (0: max_drain_bytes;
  /// outcome ok); with `short_read_ends` (ReactionSpec::stop_at_short_read on a stream), also
  /// after a short read (outcome ok).
  Step drain(Src& s, std::uint64_t cmd, bool keep_bytes = true, bool short_read_ends = false,
             std::size_t cap = 0) {
    if (auto c = read_counter(s)) {
      action(s, counter_read_op(s), *c, cmd);
      return *c;
    }
    if (cap == 0) cap = eng->config_.max_drain_bytes;
    std::uint64_t total = 0;
    Step st;
    for (;;) {
      const std::size_t asked = std::min<std::size_t>(scratch.size(), cap - total);
      st = read_into_scratch(s, asked, keep_bytes);
      handler_work(s, cmd, st.n);
      total += st.n;
      if (st.outcome != Outcome::ok) break;
      if (total >= cap) break;
      if (short_read_ends && st.n < asked) {
        st.drained_by_short_read = true;
        break;
      }
    }
    st.n = total;
    action(s, Op::drain, st, cmd);
    read_checked(s, st);
    return st;
  }

  /// Writes until would-block, an error or max_drain_bytes (outcome ok).
  Step fill(Src& s, std::uint64_t cmd) {
    std::fill(scratch.begin(), scratch.end(), std::byte{'x'});
    const std::size_t cap = eng->config_.max_drain_bytes;
    std::uint64_t total = 0;
    Step st;
    for (;;) {
      st = write_once(s, std::span(scratch).first(std::min<std::size_t>(scratch.size(), cap - total)));
      total += st.n;
      if (st.outcome != Outcome::ok || total >= cap) break;
    }
    st.n = total;
    action(s, Op::fill, st, cmd);
    return st;
  }

  /// Writes `data` until it is all written, it would block or fails; records one write
  /// action (ok with the bytes taken, when some were).
  Step write_all(Src& s, std::span<const std::byte> data, std::uint64_t cmd) {
    std::uint64_t total = 0;
    Step st;
    while (total < data.size()) {
      st = write_once(s, data.subspan(total));
      total += st.n;
      if (st.outcome != Outcome::ok) break;
    }
    if (st.outcome == Outcome::would_block && total > 0) st.outcome = Outcome::ok;
    st.n = total;
    action(s, Op::write, st, cmd);
    return st;
  }

  /// Bytes one event's reaction may move: ReactionSpec::budget, at most max_drain_bytes.
  std::size_t reaction_cap(const Src& s) const noexcept {
    const std::size_t m = eng->config_.max_drain_bytes;
    return s.reaction.budget == 0 ? m
                                  : static_cast<std::size_t>(std::min<std::uint64_t>(s.reaction.budget, m));
  }

  // ---- echo and its back-pressure (see Engine, "Echo") ----

  /// What the source is registered for: its interest, or WRITABLE only while an echo waits.
  static Interest registered_interest(const Src& s) noexcept {
    return s.pending_len != 0 ? Interest::WRITABLE : s.interest;
  }

  void reregister(Src& s) {
    if (auto r = poll.registry().modify(base(s.io), s.token, registered_interest(s), s.trigger); !r)
      warning(&s, WarningKind::engine_error, 0, errno_of(r.error()));
    pitfalls::Detector::modified(s.pit, s.kind, registered_interest(s), s.trigger);  // MOD re-reports
  }

  /// Keeps what the peer did not take and stops reading until it is written.
  void hold(Src& s, std::span<const std::byte> rest) {
    if (s.pending.empty()) s.pending.resize(eng->config_.echo_pending_bytes);  // once per source
    std::memcpy(s.pending.data(), rest.data(), rest.size());  // rest <= one echo read <= the bound
    s.pending_off = 0;
    s.pending_len = rest.size();
    reregister(s);
  }

  /// Writes pending echo bytes; once none is left, the source reads again.
  Step flush_pending(Src& s) {
    const Step w = write_all(s, std::span(s.pending).subspan(s.pending_off, s.pending_len), 0);
    if (w.fatal()) return w;
    s.pending_off += static_cast<std::size_t>(w.n);
    s.pending_len -= static_cast<std::size_t>(w.n);
    if (s.pending_len == 0) reregister(s);  // MOD reports data that waited meanwhile
    return w;
  }

  /// Echo: read a chunk, write it back; until would-block, EOF, an error, the bound, or a
  /// peer that does not take everything (the rest waits in the pending buffer).
  Step echo(Src& s) {
    const std::size_t cap = reaction_cap(s);
    const std::size_t chunk = std::min(scratch.size(), eng->config_.echo_pending_bytes);
    std::uint64_t total = 0;
    for (;;) {
      const Step r = read_into_scratch(s, std::min<std::size_t>(chunk, cap - total));
      action(s, Op::read, r, 0);
      // The pitfall checks see only how the echo ended (an ok read in the middle would
      // schedule a grace check per event for nothing; a hold re-registers, ending the edge).
      if (r.outcome != Outcome::ok) {
        read_checked(s, r);
        return r;
      }
      const auto data = std::span(scratch).first(static_cast<std::size_t>(r.n));
      const Step w = write_all(s, data, 0);
      if (w.fatal()) return w;
      if (w.n < r.n) {
        hold(s, data.subspan(static_cast<std::size_t>(w.n)));
        return Step{Outcome::would_block, total + w.n, 0};
      }
      total += r.n;
      if (total >= cap) {
        read_checked(s, r);  // stopped at the bound: still ready, continued next iteration
        return Step{Outcome::ok, total, 0};
      }
    }
  }

  /// One accept; the new stream becomes a source with the listener's reaction.
  Step accept_one(Src& l, std::uint64_t cmd) {
    auto accepted = std::visit(
        [&](auto& io) -> io_result<std::pair<Io, SourceKind>> {
          using T = std::decay_t<decltype(io)>;
          if constexpr (std::is_same_v<T, net::TcpListener> || std::is_same_v<T, net::UnixListener>) {
            auto a = io.accept();
            if (!a) return std::unexpected(a.error());
            constexpr SourceKind k =
                std::is_same_v<T, net::TcpListener> ? SourceKind::tcp_stream : SourceKind::unix_stream;
            return std::pair<Io, SourceKind>(Io(std::move(a->stream)), k);
          } else {
            return std::unexpected(os_error(EOPNOTSUPP));
          }
        },
        l.io);
    if (!accepted) {
      Step st = step_of(io_result<std::size_t>(std::unexpected(accepted.error())), false);
      action(l, Op::accept, st, cmd);
      if ((st.err == EMFILE || st.err == ENFILE) && l.reaction.emfile_reserve) emfile(l);
      return st;
    }
    const Token token(static_cast<std::size_t>(eng->next_token_.fetch_add(1)));
    SourceOptions o{l.interest, l.trigger, l.reaction};
    if (o.reaction.kind == Reaction::auto_accept) o.reaction.kind = Reaction::none;
    action(l, Op::accept, Step{Outcome::ok, token.value, 0}, cmd);
    add_source(token, accepted->second, std::move(accepted->first), o, l.token.value, cmd);
    return Step{Outcome::ok, token.value, 0};
  }

  /// EMFILE on accept: the connection stays in the backlog (an edge-triggered listener would
  /// never hear of it again). Free the reserve descriptor, accept and close until would-block,
  /// take the reserve back (libuv's uv__emfile_trick).
  void emfile(Src& l) {
    reserve.reset();
    std::uint64_t dropped = 0;
    for (;;) {
      bool got = false;
      std::visit(
          [&](auto& io) {
            if constexpr (requires { io.accept(); }) {
              auto a = io.accept();  // closed at once when `a` goes out of scope
              got = a.has_value() ||
                    (!is_would_block(a.error()) && is_transient_accept_error(errno_of(a.error())));
              if (a) ++dropped;
            }
          },
          l.io);
      if (!got) break;
    }
    warning(&l, WarningKind::emfile, dropped);
    auto r = unix::EventFd::create();
    if (r)
      reserve.emplace(std::move(*r));
    else
      warning(&l, WarningKind::engine_error, 0, errno_of(r.error()));
  }

  void accept_until_would_block(Src& l) {
    const Token token = l.token;
    for (;;) {
      Src* s = find(token);
      if (!s) return;
      const Step st = accept_one(*s, 0);
      if (st.outcome == Outcome::ok) continue;
      if (st.outcome == Outcome::error && is_transient_accept_error(st.err)) continue;
      return;
    }
  }

  // ---- events ----

  /// A reaction closes its source (end-of-file, a fatal error): and ReactionSpec::also_close.
  void close_by_reaction(Token token) {
    Src* s = find(token);
    if (!s) return;
    const Token other = s->reaction.also_close;
    close_source(token);
    if (other.value != 0 && other != token) close_source(other);  // nothing if not live
  }

  /// An event for a token that is no source (tokens are never reused, so it names the old
  /// one): closed earlier in this batch, or a CloseFd ghost kept registered by its Dup copy.
  void stale_event(const Event& e) {
    const auto g = ghosts.find(e.token().value);
    Record r;
    r.kind = RecordKind::readiness;
    r.token = e.token().value;
    r.fd = g != ghosts.end() ? g->second.get() : -1;
    r.bits = e.epoll_bits();
    emit(r);
    r.kind = RecordKind::warning;
    r.op = static_cast<std::uint8_t>(WarningKind::event_after_close);
    r.value = e.epoll_bits();
    r.bits = 0;
    emit(r);
  }

  void on_event(const Event& e) {
    Src* s = find(e.token());
    if (!s) return stale_event(e);
    Record r;
    r.kind = RecordKind::readiness;
    r.token = s->token.value;
    r.fd = s->fd;
    r.bits = e.epoll_bits();
    emit(r);
    if (auto w =
            pit.on_readiness(s->pit, s->token, e.is_readable(), e.is_writable(), e.is_read_closed(), loop_ns))
      warning(s, w->kind, w->value);

    const Token token = s->token;
    if (s->connecting) {
      s->connecting = false;
      Step st;
      auto* tcp = std::get_if<net::TcpStream>(&s->io);
      auto pending = tcp ? tcp->take_error() : io_result<std::error_code>(std::error_code());
      if (!pending)
        st = Step{Outcome::error, 0, errno_of(pending.error())};
      else if (*pending)
        st = Step{Outcome::error, 0, errno_of(*pending)};
      action(*s, Op::connect, st, 0);
      if (st.fatal()) {
        if (s->reaction.kind != Reaction::none) close_by_reaction(token);
        return;
      }
      publish_info(*s);
      if (!s->interest.is_writable() && s->pending_len == 0) {
        if (auto m = poll.registry().modify(base(s->io), token, s->interest, s->trigger); !m)
          warning(s, WarningKind::engine_error, 0, errno_of(m.error()));
      }
    }
    if (s->pending_len != 0) {  // an echo waits to write: only writability matters now
      if (e.is_writable() || e.is_write_closed() || e.is_error()) {
        const Step w = flush_pending(*s);
        if (w.fatal() && is_stream_like(s->kind)) close_by_reaction(token);
      }
      return;
    }
    if (s->reaction.kind == Reaction::none) return;
    if (s->kind == SourceKind::tcp_listener || s->kind == SourceKind::unix_listener) {
      if (e.is_readable()) accept_until_would_block(*s);
      return;
    }
    // A short read ends a drain only when the event gave no hint of an end-of-file or an
    // error still to be read (ReactionSpec::stop_at_short_read).
    const bool short_read_ends = s->reaction.stop_at_short_read && is_stream_like(s->kind) &&
                                 !e.is_read_closed() && !e.is_error();
    react(*s, e.is_readable() || e.is_read_closed() || e.is_error(), e.is_write_closed() || e.is_error(),
          short_read_ends);
  }

  /// A source's reaction to readiness (readable: it may read; write_closed: a pipe sender's
  /// reader is gone). Also runs, as readable, for a source continued from still_ready.
  void react(Src& src, bool readable, bool write_closed, bool short_read_ends = false) {
    Src* s = &src;
    const Token token = s->token;
    Step end;
    switch (s->kind) {
      case SourceKind::tcp_listener:
      case SourceKind::unix_listener:
        return;
      case SourceKind::eventfd:
      case SourceKind::timerfd:
        if (readable) (void)read_once(*s, 8, 0);
        return;
      case SourceKind::pipe_sender:
        if (write_closed) close_by_reaction(token);
        return;
      default:
        break;
    }
    if (!readable) return;
    switch (s->reaction.kind) {
      case Reaction::read:
        end = read_once(*s, s->reaction.n, 0);
        break;
      case Reaction::drain:
      case Reaction::auto_accept:
      case Reaction::discard:
        end = drain(*s, 0, s->reaction.kind != Reaction::discard, short_read_ends, reaction_cap(*s));
        break;
      case Reaction::echo:
        end = echo(*s);
        break;
      case Reaction::none:
        return;
    }
    if (is_stream_like(s->kind) && (end.outcome == Outcome::eof || end.fatal())) {
      close_by_reaction(token);
      return;
    }
    // Outcome ok from a drain or echo: it stopped at max_drain_bytes with more maybe waiting,
    // which no new edge would announce.
    if (end.outcome == Outcome::ok && !end.drained_by_short_read && s->reaction.kind != Reaction::read &&
        s->trigger != Trigger::level && !s->still_ready) {
      s->still_ready = true;
      still_ready.push_back(token);
    }
  }

  /// Continues the reactions that stopped at max_drain_bytes in the last iteration.
  void continue_still_ready() {
    continuing.swap(still_ready);
    for (const Token t : continuing) {
      Src* s = find(t);
      if (!s) continue;  // closed meanwhile
      s->still_ready = false;
      if (s->pending_len == 0) react(*s, true, false);
    }
    continuing.clear();
  }

  // ---- commands ----

  bool refused_remote(const net::SocketAddr& a, bool allow, const Ticket& t) {
    if (a.is_loopback() || allow || eng->config_.allow_remote) return false;
    error_action(t.token, Op::create, EACCES, t.id);
    return true;
  }

  template <class T>
  bool created(const io_result<T>& r, const Ticket& t) {
    if (r) return true;
    error_action(t.token, Op::create, r.error(), t.id);
    return false;
  }

  void exec(cmd::TcpListen& c, const Ticket& t) {
    if (refused_remote(c.addr, c.allow_remote, t)) return;
    auto l = net::TcpListener::bind(c.addr);
    if (created(l, t)) add_source(t.token, SourceKind::tcp_listener, Io(std::move(*l)), c.options, 0, t.id);
  }
  void exec(cmd::TcpConnect& c, const Ticket& t) {
    auto s = net::TcpStream::connect(c.addr);
    if (!s) return error_action(t.token, Op::connect, s.error(), t.id);
    if (Src* src = add_source(t.token, SourceKind::tcp_stream, Io(std::move(*s)), c.options, 0, t.id, true))
      action(*src, Op::connect, Step{Outcome::in_progress, 0, 0}, t.id);
  }
  void exec(cmd::UdpBind& c, const Ticket& t) {
    if (refused_remote(c.addr, c.allow_remote, t)) return;
    if (c.connect && refused_remote(*c.connect, c.allow_remote, t)) return;
    auto s = net::UdpSocket::bind(c.addr);
    if (!created(s, t)) return;
    if (c.connect) {
      if (auto r = s->connect(*c.connect); !r) return error_action(t.token, Op::connect, r.error(), t.id);
    }
    Src* src = add_source(t.token, SourceKind::udp, Io(std::move(*s)), c.options, 0, t.id);
    if (src && c.connect) action(*src, Op::connect, Step{}, t.id);
  }
  void exec(cmd::UnixListen& c, const Ticket& t) {
    auto l = net::UnixListener::bind(c.path);
    if (created(l, t)) add_source(t.token, SourceKind::unix_listener, Io(std::move(*l)), c.options, 0, t.id);
  }
  void exec(cmd::UnixConnect& c, const Ticket& t) {
    auto s = net::UnixStream::connect(c.path);
    if (!s) return error_action(t.token, Op::connect, s.error(), t.id);
    if (Src* src = add_source(t.token, SourceKind::unix_stream, Io(std::move(*s)), c.options, 0, t.id))
      action(*src, Op::connect, Step{}, t.id);
  }
  void exec(cmd::UnixDatagramBind& c, const Ticket& t) {
    auto s = c.path.empty() ? net::UnixDatagram::unbound() : net::UnixDatagram::bind(c.path);
    if (created(s, t)) add_source(t.token, SourceKind::unix_datagram, Io(std::move(*s)), c.options, 0, t.id);
  }
  void exec(cmd::SocketPair& c, const Ticket& t) {
    auto p = net::UnixStream::pair();
    if (!created(p, t)) return;
    add_source(t.token, SourceKind::unix_stream, Io(std::move(p->first)), c.options, t.token2.value, t.id);
    add_source(t.token2, SourceKind::unix_stream, Io(std::move(p->second)), c.options, t.token.value, t.id);
  }
  void exec(cmd::Pipe& c, const Ticket& t) {
    auto p = unix::pipe();
    if (!created(p, t)) return;
    const SourceOptions sender{Interest::WRITABLE, c.options.trigger, {}};
    add_source(t.token, SourceKind::pipe_sender, Io(std::move(p->first)), sender, t.token2.value, t.id);
    add_source(t.token2, SourceKind::pipe_receiver, Io(std::move(p->second)), c.options, t.token.value, t.id);
  }
  void exec(cmd::EventFdCreate& c, const Ticket& t) {
    auto e = unix::EventFd::create(c.initial, c.semaphore);
    if (created(e, t)) add_source(t.token, SourceKind::eventfd, Io(std::move(*e)), c.options, 0, t.id);
  }
  void exec(cmd::TimerFdCreate& c, const Ticket& t) {
    auto e = unix::TimerFd::create();
    if (created(e, t)) add_source(t.token, SourceKind::timerfd, Io(std::move(*e)), c.options, 0, t.id);
  }

  /// The source a command names, or an EBADF action.
  Src* target(Token token, Op op, const Ticket& t) {
    Src* s = find(token);
    if (!s) error_action(token, op, EBADF, t.id);
    return s;
  }

  void modify(Src& s, Interest i, Trigger m, Op op, const Ticket& t) {
    const Interest reg = s.pending_len != 0 ? Interest::WRITABLE  // an echo still waits
                         : s.connecting     ? i | Interest::WRITABLE  // the connect's outcome
                                            : i;
    if (auto r = poll.registry().modify(base(s.io), s.token, reg, m); !r) {
      action(s, op, Step{Outcome::error, 0, errno_of(r.error())}, t.id);
      return;
    }
    s.interest = i;
    s.trigger = m;
    pitfalls::Detector::modified(s.pit, s.kind, reg, m);
    if (op == Op::rearm)
      action(s, op, Step{}, t.id);
    else
      source_record(RecordKind::source_changed, s, s.reaction.n, t.id);
  }

  void exec(cmd::SetInterest& c, const Ticket& t) {
    if (Src* s = target(c.token, Op::modify, t)) modify(*s, c.interest, s->trigger, Op::modify, t);
  }
  void exec(cmd::SetTrigger& c, const Ticket& t) {
    if (Src* s = target(c.token, Op::modify, t)) modify(*s, s->interest, c.trigger, Op::modify, t);
  }
  void exec(cmd::Rearm& c, const Ticket& t) {
    if (Src* s = target(c.token, Op::rearm, t)) modify(*s, s->interest, s->trigger, Op::rearm, t);
  }
  void exec(cmd::SetReaction& c, const Ticket& t) {
    if (Src* s = target(c.token, Op::modify, t)) {
      if (!valid(c.reaction)) return action(*s, Op::modify, Step{Outcome::error, 0, EINVAL}, t.id);
      s->reaction = c.reaction;
      source_record(RecordKind::source_changed, *s, s->reaction.n, t.id);
    }
  }
  void exec(cmd::Read& c, const Ticket& t) {
    Src* s = target(c.token, Op::read, t);
    if (!s) return;
    // A read of 0 bytes would return 0, which a stream reports as end-of-file.
    if (c.n == 0) return action(*s, Op::read, Step{Outcome::error, 0, EINVAL}, t.id);
    (void)read_once(*s, c.n, t.id);
  }
  void exec(cmd::Drain& c, const Ticket& t) {
    if (Src* s = target(c.token, Op::drain, t)) (void)drain(*s, t.id);
  }
  void exec(cmd::Write& c, const Ticket& t) {
    Src* s = target(c.token, Op::write, t);
    if (!s) return;
    action(*s, Op::write, write_once(*s, ready::as_bytes(c.bytes)), t.id);
  }
  void exec(cmd::Fill& c, const Ticket& t) {
    if (Src* s = target(c.token, Op::fill, t)) (void)fill(*s, t.id);
  }
  void shutdown(Token token, net::Shutdown how, Op op, const Ticket& t) {
    Src* s = target(token, op, t);
    if (!s) return;
    io_result<void> r = std::visit(
        [&](auto& io) -> io_result<void> {
          if constexpr (std::is_base_of_v<net::Socket, std::decay_t<decltype(io)>>)
            return io.shutdown(how);
          else
            return std::unexpected(os_error(EOPNOTSUPP));
        },
        s->io);
    action(*s, op, r ? Step{} : Step{Outcome::error, 0, errno_of(r.error())}, t.id);
  }
  void exec(cmd::ShutdownRead& c, const Ticket& t) {
    shutdown(c.token, net::Shutdown::read, Op::shutdown_read, t);
  }
  void exec(cmd::ShutdownWrite& c, const Ticket& t) {
    shutdown(c.token, net::Shutdown::write, Op::shutdown_write, t);
  }
  void exec(cmd::Close& c, const Ticket& t) {
    if (auto g = ghosts.find(c.token.value); g != ghosts.end()) {  // a CloseFd ghost: its copy goes
      const int fd = g->second.get();
      const std::error_code ec = g->second.close();
      ghosts.erase(g);
      return action(c.token, fd, Op::close, ec ? Step{Outcome::error, 0, errno_of(ec)} : Step{}, t.id);
    }
    if (target(c.token, Op::close, t)) close_source(c.token);
  }
  void exec(cmd::Accept& c, const Ticket& t) {
    if (Src* s = target(c.token, Op::accept, t)) (void)accept_one(*s, t.id);
  }
  void exec(cmd::EventFdWrite& c, const Ticket& t) {
    Src* s = target(c.token, Op::eventfd_write, t);
    if (!s) return;
    auto* e = std::get_if<unix::EventFd>(&s->io);
    io_result<void> r = e ? e->write(c.value) : io_result<void>(std::unexpected(os_error(EOPNOTSUPP)));
    pitfalls::Detector::on_write(s->pit);
    Step st{Outcome::ok, c.value, 0};
    if (!r)
      st = is_would_block(r.error()) ? Step{Outcome::would_block, 0, 0}
                                     : Step{Outcome::error, 0, errno_of(r.error())};
    action(*s, Op::eventfd_write, st, t.id);
  }
  void exec(cmd::EventFdRead& c, const Ticket& t) {
    Src* s = target(c.token, Op::eventfd_read, t);
    if (!s) return;
    if (s->kind != SourceKind::eventfd)
      return action(*s, Op::eventfd_read, Step{Outcome::error, 0, EOPNOTSUPP}, t.id);
    action(*s, Op::eventfd_read, *read_counter(*s), t.id);
  }
  void exec(cmd::TimerArm& c, const Ticket& t) {
    Src* s = target(c.token, Op::timer_arm, t);
    if (!s) return;
    auto* tf = std::get_if<unix::TimerFd>(&s->io);
    io_result<void> r =
        tf ? tf->arm(c.initial, c.interval) : io_result<void>(std::unexpected(os_error(EOPNOTSUPP)));
    action(*s, Op::timer_arm, r ? Step{} : Step{Outcome::error, 0, errno_of(r.error())}, t.id);
  }
  void exec(cmd::TimerDisarm& c, const Ticket& t) {
    Src* s = target(c.token, Op::timer_disarm, t);
    if (!s) return;
    auto* tf = std::get_if<unix::TimerFd>(&s->io);
    io_result<void> r = tf ? tf->disarm() : io_result<void>(std::unexpected(os_error(EOPNOTSUPP)));
    action(*s, Op::timer_disarm, r ? Step{} : Step{Outcome::error, 0, errno_of(r.error())}, t.id);
  }
  void exec(cmd::Note& c, const Ticket& t) {
    std::uint64_t id = 0;
    {
      std::lock_guard lock(eng->text_mutex_);
      eng->notes_.push_back(std::move(c.text));
      id = eng->notes_.size();
    }
    Record r;
    r.kind = RecordKind::note;
    r.value = id;
    r.value2 = t.id;
    emit(r);
  }

  void exec(cmd::Sync&, const Ticket&) {}  // the wake-up that brought it is its whole effect

  void exec(cmd::Feed& c, const Ticket& t) {
    if (c.chunk == 0 || c.chunk > 65536 || c.interval.count() < 0)
      return error_action(t.token, Op::create, EINVAL, t.id);
    auto p = net::UnixStream::pair();
    if (!created(p, t)) return;
    // The writer first: if its thread cannot start, no source was announced.
    auto f = Feeder::start(std::move(p->second), c.chunk, c.interval);
    if (!f) return error_action(t.token, Op::create, f.error(), t.id);
    if (add_source(t.token, SourceKind::unix_stream, Io(std::move(p->first)), c.options, 0, t.id, false,
                   "feed"))
      feeders.emplace(t.token.value, std::move(*f));
    // else the Feeder goes out of scope here: stopped and joined.
  }
  void exec(cmd::Dup& c, const Ticket& t) {
    Src* s = target(c.token, Op::dup, t);
    if (!s) return;
    if (s->dup) return action(*s, Op::dup, Step{Outcome::error, 0, EBUSY}, t.id);
    auto d = sys::own(sys::call(::fcntl, s->fd, F_DUPFD_CLOEXEC, 0));
    if (!d) return action(*s, Op::dup, Step{Outcome::error, 0, errno_of(d.error())}, t.id);
    s->dup = std::move(*d);
    action(*s, Op::dup, Step{Outcome::ok, static_cast<std::uint64_t>(s->dup.get()), 0}, t.id);
  }
  void exec(cmd::CloseFd& c, const Ticket& t) {
    Src* s = target(c.token, Op::close_fd, t);
    if (!s) return;
    // Take the descriptor out of its Io (which then forgets the registration), so it is
    // closed here, once, and close_source does not EPOLL_CTL_DEL a number that is gone.
    OwnedFd fd = std::visit(
        [](auto& io) -> OwnedFd {
          if constexpr (requires { io.into_fd(); })
            return io.into_fd();
          else
            return OwnedFd();
        },
        s->io);
    if (!fd) return action(*s, Op::close_fd, Step{Outcome::error, 0, EOPNOTSUPP}, t.id);  // eventfd, timerfd
    pitfalls::Detector::fd_closed(s->pit);  // its number may be reused: never FIONREAD it again
    const std::error_code ec = fd.close();
    action(*s, Op::close_fd, ec ? Step{Outcome::error, 0, errno_of(ec)} : Step{}, t.id);
    if (s->dup) ghosts.emplace(c.token.value, std::move(s->dup));
    close_source(c.token);
  }
  void exec(cmd::ExhaustFds& c, const Ticket& t) {
    const auto fail = [&](int err) {
      action(Token{0}, -1, Op::exhaust_fds, Step{Outcome::error, 0, err}, t.id);
    };
    if (c.headroom > 64) return fail(EINVAL);
    if (saved_nofile) return fail(EBUSY);
    rlimit old{};
    if (auto r = sys::call(::getrlimit, RLIMIT_NOFILE, &old); !r) return fail(errno_of(r.error()));
    // The highest open number (the listing's own descriptor aside).
    int highest = -1;
    {
      DIR* d = ::opendir("/proc/self/fd");
      if (!d) return fail(errno);
      const int own = ::dirfd(d);
      while (const dirent* e = ::readdir(d)) {
        char* end = nullptr;
        const long n = std::strtol(e->d_name, &end, 10);
        if (end != e->d_name && *end == '\0' && n != own) highest = std::max(highest, static_cast<int>(n));
      }
      ::closedir(d);
    }
    auto null = sys::own(sys::call(::open, "/dev/null", O_RDONLY | O_CLOEXEC));
    if (!null) return fail(errno_of(null.error()));
    std::vector<OwnedFd> held;
    if (null->get() < highest) {
      // Each dup takes the lowest free number: fill until the next one would lie above H.
      for (;;) {
        auto d = sys::own(sys::call(::fcntl, null->get(), F_DUPFD_CLOEXEC, 0));
        if (!d) return fail(errno_of(d.error()));  // `held` closes what was taken
        if (d->get() > highest) break;
        held.push_back(std::move(*d));
      }
      held.push_back(std::move(*null));
    }
    rlimit low = old;
    low.rlim_cur = std::min<rlim_t>(old.rlim_cur, static_cast<rlim_t>(highest) + 1 + c.headroom);
    if (auto r = sys::call(::setrlimit, RLIMIT_NOFILE, static_cast<const rlimit*>(&low)); !r)
      return fail(errno_of(r.error()));
    ballast = std::move(held);
    saved_nofile = old;
    action(Token{0}, -1, Op::exhaust_fds, Step{Outcome::ok, ballast.size(), 0}, t.id);
  }
  /// Closes the ballast and restores RLIMIT_NOFILE; records release_fds (when something was
  /// held, or always for a command: `cmd` != 0).
  void release_fds(std::uint64_t cmd) {
    if (!saved_nofile) {
      if (cmd != 0) action(Token{0}, -1, Op::release_fds, Step{}, cmd);
      return;
    }
    const std::uint64_t n = ballast.size();
    ballast.clear();
    Step st{Outcome::ok, n, 0};
    if (auto r = sys::call(::setrlimit, RLIMIT_NOFILE, static_cast<const rlimit*>(&*saved_nofile)); !r)
      st = Step{Outcome::error, n, errno_of(r.error())};
    saved_nofile.reset();
    action(Token{0}, -1, Op::release_fds, st, cmd);
  }
  void exec(cmd::ReleaseFds&, const Ticket& t) { release_fds(t.id); }

  // ---- the loop ----

  /// The grace checks that are due (after this iteration's events: a new edge came first).
  void run_pitfall_checks() {
    pit.run_due(
        loop_ns,
        [&](Token t, int& fd) -> pitfalls::SourceState* {
          Src* s = find(t);
          if (!s) return nullptr;
          fd = s->fd;
          return &s->pit;
        },
        [&](Token t, const pitfalls::Warning& w) { warning(find(t), w.kind, w.value); });
  }

  void run() {
    sys::name_this_thread("ready-poll");
    Events events(kEventsPerPoll);
    std::vector<Queued> batch;
    for (;;) {
      const std::uint64_t before = now_ns();
      // Sources left still ready: look for new events without waiting, then continue them.
      // Otherwise no timeout: the stats timer's event ends the wait when stats are due.
      auto timeout = still_ready.empty()
                         ? std::nullopt
                         : std::optional<std::chrono::nanoseconds>(std::chrono::nanoseconds(0));
      // A pitfall check due: wake by its deadline (Poll rounds up to the next millisecond).
      if (!timeout && pit.pending())
        timeout = std::chrono::nanoseconds(pit.next_due() > before ? pit.next_due() - before : 0);
      auto n = poll.poll(events, timeout);
      const std::uint64_t after = stamp();  // also the poll_return record's time
      loop_ns = after;
      if (!n) {
        if (n.error() == std::errc::interrupted) continue;  // a signal, SIGSTOP/SIGCONT, a debugger
        warning(nullptr, WarningKind::engine_error, 0, errno_of(n.error()));
        break;
      }
      Record pr;
      pr.kind = RecordKind::poll_return;
      pr.value = *n;
      pr.value2 = after - before;
      emit(pr);

      bool stop = false;
      {
        std::lock_guard lock(eng->queue_mutex_);
        batch.swap(eng->queue_);
        stop = eng->stopping_;
      }
      for (auto& q : batch) std::visit([&](auto& c) { exec(c, q.ticket); }, q.command);
      batch.clear();

      bool stats_due = false;
      for (const Event& e : events) {
        if (e.token() == kStatsToken)
          stats_due = true;
        else if (e.token() != kWakerToken)
          on_event(e);
      }
      if (!still_ready.empty()) continue_still_ready();
      if (pit.pending() && pit.next_due() <= after) run_pitfall_checks();

      if (stats_due) {
        stats();
        if (auto r = stats_timer.arm(kStatsEvery, std::chrono::nanoseconds(0)); !r)
          warning(nullptr, WarningKind::engine_error, 0, errno_of(r.error()));  // no more stats
      }
      flush();
      if (stop) break;
    }
    close_all();
    stats();
    flush();
  }
};

Engine::Engine(EngineConfig config, Notifier notifier, std::unique_ptr<Impl> impl)
    : config_(config), ring_(config.ring_capacity), notifier_(std::move(notifier)), impl_(std::move(impl)) {
  impl_->eng = this;
  impl_->pit.set_config(
      pitfalls::Config{static_cast<std::uint64_t>(std::chrono::nanoseconds(config.pitfall_grace).count()),
                       config.pitfall_spin_events});
}

io_result<std::unique_ptr<Engine>> Engine::start(EngineConfig config) {
  if (config.ring_capacity < 2 || !std::has_single_bit(config.ring_capacity) ||
      config.ring_capacity > (std::size_t{1} << 30) || config.echo_pending_bytes == 0 ||
      config.max_drain_bytes == 0 || config.payload_bytes_per_source > (std::size_t{1} << 30) ||
      config.pitfall_grace < kMinPitfallGrace || config.pitfall_grace > kMaxPitfallGrace ||
      config.pitfall_spin_events < 2 || config.pitfall_spin_events > kMaxPitfallSpinEvents)
    return std::unexpected(os_error(EINVAL));
  unix::ignore_sigpipe();
  auto poll = Poll::create();
  if (!poll) return std::unexpected(poll.error());
  auto waker = Waker::create(poll->registry(), kWakerToken);
  if (!waker) return std::unexpected(waker.error());
  auto notifier = Notifier::create();
  if (!notifier) return std::unexpected(notifier.error());
  auto reserve = unix::EventFd::create();
  if (!reserve) return std::unexpected(reserve.error());
  auto stats_timer = unix::TimerFd::create();
  if (!stats_timer) return std::unexpected(stats_timer.error());
  if (auto r = poll->registry().add(*stats_timer, kStatsToken, Interest::READABLE); !r)
    return std::unexpected(r.error());
  if (auto r = stats_timer->arm(kStatsEvery, std::chrono::nanoseconds(0)); !r)
    return std::unexpected(r.error());
  auto impl = std::make_unique<Impl>(std::move(*poll), std::move(*waker), std::move(*reserve),
                                     std::move(*stats_timer));
  std::unique_ptr<Engine> engine;
  try {
    engine.reset(new Engine(config, std::move(*notifier), std::move(impl)));
  } catch (const std::bad_alloc&) {  // the ring: capacity * 48 bytes, allocated once
    return std::unexpected(os_error(ENOMEM));
  }
  try {
    engine->thread_ = std::thread([e = engine.get()] { e->run(); });
  } catch (const std::system_error& ex) {
    std::lock_guard lock(engine->queue_mutex_);
    engine->accepting_ = false;
    return std::unexpected(ex.code());
  }
  return engine;
}

Engine::~Engine() { stop(); }

void Engine::run() noexcept { impl_->run(); }

Ticket Engine::enqueue_locked(Command command) {
  Ticket t;
  t.id = next_command_id_++;
  const int n = tokens_needed(command);
  if (n >= 1) t.token = Token(static_cast<std::size_t>(next_token_.fetch_add(1)));
  if (n >= 2) t.token2 = Token(static_cast<std::size_t>(next_token_.fetch_add(1)));
  queue_.push_back(Queued{std::move(command), t});
  return t;
}

io_result<Ticket> Engine::submit(Command command) {
  std::lock_guard lock(queue_mutex_);
  if (!accepting_) return std::unexpected(os_error(ESHUTDOWN));
  const bool was_empty = queue_.empty();
  const Ticket t = enqueue_locked(std::move(command));
  // The poll thread takes the whole queue at once: a non-empty queue has a wake pending.
  // Woken under the lock: once stop() has set accepting_ = false, the Waker may go away.
  if (was_empty) (void)impl_->waker.wake();
  return t;
}

io_result<std::vector<Ticket>> Engine::submit_batch(std::vector<Command> commands) {
  std::vector<Ticket> tickets;
  tickets.reserve(commands.size());
  std::lock_guard lock(queue_mutex_);
  if (!accepting_) return std::unexpected(os_error(ESHUTDOWN));
  const bool was_empty = queue_.empty();
  for (Command& c : commands) tickets.push_back(enqueue_locked(std::move(c)));
  // One swap takes them all (see submit): the poll thread runs them with no poll between.
  if (was_empty && !commands.empty()) (void)impl_->waker.wake();
  return tickets;
}

void Engine::stop() {
  std::lock_guard stop_lock(stop_mutex_);
  {
    std::lock_guard lock(queue_mutex_);
    accepting_ = false;
    stopping_ = true;
  }
  if (!thread_.joinable()) return;
  (void)impl_->waker.wake();
  thread_.join();
  // The Poll, the Waker and the reserve descriptor go with the thread's state; only the
  // Notifier's eventfd stays open (a consumer may still be waiting on it).
  impl_.reset();
}

std::optional<std::string> Engine::note_text(std::uint64_t id) const {
  std::lock_guard lock(text_mutex_);
  if (id == 0 || id > notes_.size()) return std::nullopt;
  return notes_[id - 1];
}

std::optional<PayloadSnapshot> Engine::payload(Token token, std::uint64_t since) const {
  std::shared_ptr<PayloadBuffer> b;
  {
    std::lock_guard lock(payload_mutex_);
    auto it = payloads_.find(token.value);
    if (it == payloads_.end()) return std::nullopt;
    b = it->second;
  }
  return b->snapshot(since);
}

std::optional<SourceInfo> Engine::source_info(Token token) const {
  std::lock_guard lock(text_mutex_);
  auto it = infos_.find(token.value);
  if (it == infos_.end()) return std::nullopt;
  return it->second;
}

}  // namespace ready::capture
