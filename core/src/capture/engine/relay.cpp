// Relays (cmd::Relay; docs/relay.md): a listener whose accepted clients each get their own
// upstream connection, and the poll thread copying both ways as a correct edge-triggered
// proxy does. Per direction one bounded buffer: read into it until would-block (or until it
// is full), write from it what the other leg takes. A full buffer pauses the reading leg (its
// READABLE interest is dropped, a source_changed record) and the writing leg waits for
// WRITABLE; both come back as the bytes move. End-of-file goes on as shutdown(SHUT_WR), a
// reset as a reset. Fault knobs (RelayFaults) decide how much of a buffer may be written now;
// their waits run on one timerfd per connection, in this same loop.
//
// Every byte is read once into the buffer and written once from it. The client leg keeps its
// bytes as payload (in: what the client sent; out: what it was sent): the follow-stream view's
// conversation. Events on relay legs are a few per 256 KiB moved, so these are ordinary
// (not inline) functions.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <variant>

#include "capture/engine/io_ops.h"
#include "capture/engine/payload.h"
#include "capture/engine/poll_thread.h"

namespace ready::capture {

using namespace detail;

/// One relayed connection: its two legs (sources) and a buffer per direction.
struct RelayConn {
  /// One direction: bytes read from one leg, to be written to the other.
  struct Way {
    std::unique_ptr<std::byte[]> buf;  // relay_buffer_bytes, made at the first read
    std::uint64_t rd = 0;              // bytes read into buf so far (its position: rd % cap)
    std::uint64_t wr = 0;              // bytes written from it so far (never more than rd)
    bool eof = false;                  // the reading leg gave end-of-file
    bool shut = false;                 // passed on: shutdown(SHUT_WR) of the writing leg
    bool read_wb = false;              // the last read would block: wait for readable
    bool write_wb = false;             // the last write would block: wait for writable
    RelayFaults f;
    // latency: (end position, due time) per chunk read while it is on; bytes below
    // `released` may go (all of them when no chunk is held).
    std::deque<std::pair<std::uint64_t, std::uint64_t>> held;
    std::uint64_t released = 0;
    // bandwidth: a token bucket of bytes, refilled at the rate, 20 ms deep
    double tokens = 0;
    std::uint64_t tokens_ns = 0;
    bool bucket_started = false;
    // slicer: no piece before this time
    std::uint64_t slice_ready_ns = 0;

    [[nodiscard]] std::uint64_t used() const noexcept { return rd - wr; }
  };
  Token client{};
  Token upstream{};
  Token listener{};
  Way up;    // client -> upstream
  Way down;  // upstream -> client
  std::optional<unix::TimerFd> timer;
  std::uint64_t timer_due = 0;  // 0: not armed
  std::minstd_rand rng{0x5eed};
};

void RelayConnDelete::operator()(RelayConn* c) const noexcept { delete c; }

namespace {

using Way = RelayConn::Way;

double bytes_per_ns(const RelayFaults& f) noexcept { return static_cast<double>(f.bandwidth_kbps) * 1000.0 / 1e9; }
double bucket_depth(const RelayFaults& f) noexcept {
  return std::max(1.0, static_cast<double>(f.bandwidth_kbps) * 1000.0 / 50.0);  // 20 ms of bytes
}
bool holds(const RelayFaults& f) noexcept { return f.latency.count() != 0 || f.jitter.count() != 0; }

void set_faults(Way& w, const RelayFaults& f) {
  w.f = f;
  if (!holds(f)) w.held.clear();
  w.bucket_started = false;
  w.slice_ready_ns = 0;
}

/// How many bytes of `w` the faults let go at `now`; when that is less than what waits, `wake`
/// is when more may go (0: nothing to wait for, or only the reset limit).
std::uint64_t allowed(Way& w, std::uint64_t now, std::uint64_t& wake) {
  std::uint64_t n = w.used();
  wake = 0;
  if (n == 0) return 0;
  const RelayFaults& f = w.f;
  if (holds(f)) {
    while (!w.held.empty() && w.held.front().second <= now) {
      w.released = w.held.front().first;
      w.held.pop_front();
    }
    const std::uint64_t end = w.held.empty() ? w.rd : w.released;
    n = std::min(n, end > w.wr ? end - w.wr : 0);
    if (n == 0) {
      wake = w.held.front().second;
      return 0;
    }
  }
  if (f.slice_bytes != 0) {
    if (now < w.slice_ready_ns) {
      wake = w.slice_ready_ns;
      return 0;
    }
    n = std::min<std::uint64_t>(n, f.slice_bytes);
  }
  if (f.bandwidth_kbps != 0) {
    const double rate = bytes_per_ns(f), depth = bucket_depth(f);
    if (!w.bucket_started) {
      w.bucket_started = true;
      w.tokens = depth;
      w.tokens_ns = now;
    }
    w.tokens = std::min(depth, w.tokens + static_cast<double>(now - w.tokens_ns) * rate);
    w.tokens_ns = now;
    // Wait for a whole write's worth (at most the bucket's depth), not for each byte.
    const double want = std::min(depth, static_cast<double>(n));
    if (w.tokens < want) {
      wake = now + static_cast<std::uint64_t>(std::ceil((want - w.tokens) / rate));
      return 0;
    }
    n = std::min<std::uint64_t>(n, static_cast<std::uint64_t>(w.tokens));
  }
  if (f.reset_after != 0) n = std::min(n, f.reset_after > w.wr ? f.reset_after - w.wr : 0);
  return n;
}

/// The faults' bookkeeping after `n` bytes were written at `now`.
void wrote(Way& w, std::uint64_t n, std::uint64_t now) {
  if (w.f.bandwidth_kbps != 0) w.tokens = std::max(0.0, w.tokens - static_cast<double>(n));
  if (w.f.slice_bytes != 0 && w.f.slice_delay.count() != 0)
    w.slice_ready_ns = now + static_cast<std::uint64_t>(w.f.slice_delay.count());
}

/// The first interest of an upstream leg: a TCP connect in progress waits for writable too.
Interest up_interest(const RelayEndpoint& e) noexcept {
  return e.tcp ? Interest::READABLE | Interest::WRITABLE : Interest::READABLE;
}

std::string leg_name(const RelayConn& c, Token t) { return t == c.client ? "client leg" : "upstream leg"; }

io_result<void> shutdown_write(detail::Io& io) {
  return std::visit(
      [](auto& s) -> io_result<void> {
        if constexpr (requires { s.shutdown(net::Shutdown::write); })
          return s.shutdown(net::Shutdown::write);
        else
          return std::unexpected(os_error(EOPNOTSUPP));
      },
      io);
}

}  // namespace

// ---- commands ----

void Engine::Impl::exec(cmd::Relay& c, const Ticket& t) {
  if (!c.faults.to_upstream.invalid().empty() || !c.faults.to_client.invalid().empty() ||
      c.trigger == Trigger::oneshot)
    return error_action(t.token, Op::create, EINVAL, t.id);
  if (c.listen.tcp && refused_remote(*c.listen.tcp, c.allow_remote, t)) return;
  if (c.upstream.tcp && refused_remote(*c.upstream.tcp, c.allow_remote, t)) return;
  const SourceOptions o{Interest::READABLE, c.trigger, ReactionSpec{.kind = Reaction::relay}};
  Src* l = nullptr;
  const std::string target = c.upstream.to_string();
  if (c.listen.tcp) {
    auto b = net::TcpListener::bind(*c.listen.tcp);
    if (!created(b, t)) return;
    l = add_source(t.token, SourceKind::tcp_listener, Io(std::move(*b)), o, 0, t.id, false, {}, target);
  } else {
    auto b = net::UnixListener::bind(c.listen.path);
    if (!created(b, t)) return;
    l = add_source(t.token, SourceKind::unix_listener, Io(std::move(*b)), o, 0, t.id, false, {}, target);
  }
  if (!l) return;
  relay_plans[t.token.value] = RelayPlan{c.upstream, c.faults, c.trigger};
  if (c.faults.to_upstream.any() || c.faults.to_client.any())
    note("relay " + std::to_string(t.token.value) + " faults: to upstream: " + c.faults.to_upstream.to_string() +
             "; to client: " + c.faults.to_client.to_string(),
         t.id);
}

void Engine::Impl::exec(cmd::SetRelayFaults& c, const Ticket& t) {
  const auto plan = relay_plans.find(c.token.value);
  if (plan == relay_plans.end()) return error_action(c.token, Op::modify, EBADF, t.id);
  if (!c.faults.to_upstream.invalid().empty() || !c.faults.to_client.invalid().empty())
    return error_action(c.token, Op::modify, EINVAL, t.id);
  plan->second.faults = c.faults;
  note("relay " + std::to_string(c.token.value) + " faults: to upstream: " + c.faults.to_upstream.to_string() +
           "; to client: " + c.faults.to_client.to_string(),
       t.id);
  std::vector<std::uint64_t> conns;
  for (const auto& [client, conn] : relay_conns)
    if (conn->listener == c.token) conns.push_back(client);
  std::sort(conns.begin(), conns.end());  // a stable record order
  for (const std::uint64_t client : conns) {
    auto it = relay_conns.find(client);
    if (it == relay_conns.end()) continue;  // closed by an earlier one's pump (never: they are apart)
    set_faults(it->second->up, c.faults.to_upstream);
    set_faults(it->second->down, c.faults.to_client);
    if (Src* s = find(it->second->client)) relay_continue(*s);
  }
}

// ---- opening and closing a connection ----

void Engine::Impl::relay_open(Src& client, const Src& listener) {
  const auto plan = relay_plans.find(listener.token.value);
  if (plan == relay_plans.end()) return close_source(client.token);  // cannot happen: the listener is live
  pitfalls::Detector::fd_closed(client.pit);  // a relay pauses reading on purpose: not a pitfall
  if (auto* tcp = std::get_if<net::TcpStream>(&client.io)) (void)tcp->set_nodelay(true);
  const Token client_token = client.token;
  const Token token(static_cast<std::size_t>(eng->next_token_.fetch_add(1)));
  // Watching writable for the connect's outcome from the start (as relay_register would).
  const SourceOptions o{up_interest(plan->second.upstream), plan->second.trigger, ReactionSpec{.kind = Reaction::relay}};
  const RelayEndpoint& up = plan->second.upstream;
  Src* s = nullptr;
  if (up.tcp) {
    auto st = net::TcpStream::connect(*up.tcp);
    if (!st) {
      error_action(token, Op::connect, st.error(), 0);
      return close_source(client_token);
    }
    (void)st->set_nodelay(true);
    s = add_source(token, SourceKind::tcp_stream, Io(std::move(*st)), o, client_token.value, 0, true, {},
                   up.to_string());
    if (s) action(*s, Op::connect, Step{Outcome::in_progress, 0, 0}, 0);
  } else {
    auto st = net::UnixStream::connect(up.path);
    if (!st) {
      error_action(token, Op::connect, st.error(), 0);
      return close_source(client_token);
    }
    s = add_source(token, SourceKind::unix_stream, Io(std::move(*st)), o, client_token.value, 0, false, {}, up.path);
    if (s) action(*s, Op::connect, Step{}, 0);
  }
  if (!s) return close_source(client_token);
  pitfalls::Detector::fd_closed(s->pit);
  std::unique_ptr<RelayConn, RelayConnDelete> conn(new RelayConn);
  conn->client = client_token;
  conn->upstream = token;
  conn->listener = listener.token;
  set_faults(conn->up, plan->second.faults.to_upstream);
  set_faults(conn->down, plan->second.faults.to_client);
  conn->rng.seed(static_cast<std::uint32_t>(client_token.value));
  Src* c = find(client_token);
  if (!c) return close_source(token);  // never: the client leg was added just before
  c->relay = s->relay = conn.get();
  relay_conns.emplace(client_token.value, std::move(conn));
}

void Engine::Impl::relay_detach(RelayConn* conn, Token closed) {
  auto it = relay_conns.find(conn->client.value);
  if (it == relay_conns.end()) return;
  auto owned = std::move(it->second);  // its timer closes with it
  relay_conns.erase(it);
  const Token other = closed == owned->client ? owned->upstream : owned->client;
  relay_closed.push_back(closed.value);
  relay_closed.push_back(other.value);
  if (Src* o = find(other)) {
    o->relay = nullptr;
    close_source(other);
  }
}

// ---- moving bytes ----

/// Arms the connection's timer for `due` (when it is not armed for earlier already).
void Engine::Impl::relay_wake_at(RelayConn& c, std::uint64_t due) {
  if (c.timer_due != 0 && c.timer_due <= due) return;
  if (!c.timer) {
    auto t = unix::TimerFd::create();
    if (!t) return warning(find(c.client), WarningKind::engine_error, 0, errno_of(t.error()));
    if (auto r = poll.registry().add(*t, Token(static_cast<std::size_t>(kRelayTimerBit | c.client.value)),
                                     Interest::READABLE, Trigger::edge);
        !r)
      return warning(find(c.client), WarningKind::engine_error, 0, errno_of(r.error()));
    c.timer.emplace(std::move(*t));
  }
  const std::uint64_t now = now_ns();
  const auto in = std::chrono::nanoseconds(due > now ? due - now : 1);
  if (auto r = c.timer->arm(in, std::chrono::nanoseconds(0)); !r)
    return warning(find(c.client), WarningKind::engine_error, 0, errno_of(r.error()));
  c.timer_due = due;
}

/// Resets the leg that did not fail (SO_LINGER 0: the program behind it gets a RST), then
/// closes both; a note says why.
void Engine::Impl::relay_reset(RelayConn& c, Token failed, int err) {
  const Token other = failed == c.client ? c.upstream : c.client;
  note("relay " + std::to_string(c.listener.value) + ": " + leg_name(c, failed) + " " + std::to_string(failed.value) +
           (err != 0 ? " failed (" + errno_name(err) + ")" : std::string(" reached its reset limit")) + ": " +
           leg_name(c, other) + " " + std::to_string(other.value) + " reset",
       0);
  for (const Token t : {other, failed})
    if (Src* s = find(t))
      if (auto* tcp = std::get_if<net::TcpStream>(&s->io)) (void)tcp->set_linger(0);
  close_source(failed);  // relay_detach closes the other
}

Engine::Impl::Pumped Engine::Impl::relay_pump(RelayConn& c, bool upward, std::uint64_t& budget) {
  Way& w = upward ? c.up : c.down;
  const Token from_t = upward ? c.client : c.upstream;
  const Token to_t = upward ? c.upstream : c.client;
  Src* from = find(from_t);
  Src* to = find(to_t);
  if (!from || !to) return Pumped::ended;  // never: both legs live while the connection does
  const std::size_t cap = eng->config_.relay_buffer_bytes;
  for (;;) {
    bool moved = false;
    // Write what the other leg takes (and the faults allow).
    if (!to->connecting && !w.write_wb && !w.shut && w.used() > 0) {
      const std::uint64_t now = now_ns();
      std::uint64_t wake = 0;
      const std::uint64_t n = allowed(w, now, wake);
      if (n > 0) {
        const std::size_t pos = static_cast<std::size_t>(w.wr % cap);
        const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(n, cap - pos));
        const std::span<const std::byte> data(w.buf.get() + pos, len);
        const Step st = step_of(write_some(*to, data), false);
        if (st.outcome == Outcome::ok) {
          if (to_t == c.client) keep(*to, Direction::out, data.first(static_cast<std::size_t>(st.n)));
          to->bytes_out += st.n;
          w.wr += st.n;
          action(*to, Op::write, st, 0);
          wrote(w, st.n, now_ns());  // after the record: the next piece is due a whole delay after it
          budget -= std::min(budget, st.n);
          moved = true;
          if (w.f.reset_after != 0 && w.wr >= w.f.reset_after) {
            relay_reset(c, to_t, 0);
            return Pumped::ended;
          }
        } else if (st.outcome == Outcome::would_block) {
          action(*to, Op::write, st, 0);
          w.write_wb = true;
        } else {
          action(*to, Op::write, st, 0);
          relay_reset(c, to_t, st.err);
          return Pumped::ended;
        }
      } else if (wake != 0) {
        relay_wake_at(c, wake);
      }
    }
    // End-of-file, once everything before it went: passed on as a half-close.
    if (w.eof && !w.shut && w.used() == 0 && !to->connecting) {
      w.shut = true;
      const auto r = shutdown_write(to->io);
      action(*to, Op::shutdown_write, r ? Step{} : Step{Outcome::error, 0, errno_of(r.error())}, 0);
      if ((upward ? c.down : c.up).shut) {  // both ways ended: the connection is over
        close_source(c.client);
        return Pumped::ended;
      }
    }
    // Read while there is room (a full buffer pauses this leg: relay_register drops READABLE).
    if (!w.eof && !w.read_wb && !from->connecting && w.used() < cap) {
      if (!w.buf) w.buf.reset(new std::byte[cap]);  // uninitialised: untouched pages cost nothing
      const std::size_t pos = static_cast<std::size_t>(w.rd % cap);
      const std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(cap - w.used(), cap - pos));
      const std::span<std::byte> room(w.buf.get() + pos, len);
      const Step st = step_of(read_some(*from, room), true);
      action(*from, Op::read, st, 0);
      if (st.outcome == Outcome::ok) {
        const std::uint64_t now = have_unused_ns ? unused_ns : now_ns();
        if (from_t == c.client) keep(*from, Direction::in, room.first(static_cast<std::size_t>(st.n)));
        from->bytes_in += st.n;
        if (holds(w.f)) {
          if (w.held.empty()) w.released = w.rd;  // what came before waits no longer
          const auto lat = static_cast<std::int64_t>(w.f.latency.count());
          const auto jit = static_cast<std::int64_t>(w.f.jitter.count());
          const std::int64_t j = jit == 0 ? 0 : std::uniform_int_distribution<std::int64_t>(-jit, jit)(c.rng);
          std::uint64_t due = now + static_cast<std::uint64_t>(std::max<std::int64_t>(0, lat + j));
          if (!w.held.empty()) due = std::max(due, w.held.back().second);  // order is kept
          w.held.emplace_back(w.rd + st.n, due);
        }
        w.rd += st.n;
        budget -= std::min(budget, st.n);
        moved = true;
      } else if (st.outcome == Outcome::eof) {
        w.eof = true;
        moved = true;
      } else if (st.outcome == Outcome::would_block) {
        w.read_wb = true;
      } else {
        relay_reset(c, from_t, st.err);
        return Pumped::ended;
      }
    }
    if (!moved) return Pumped::idle;
    if (budget == 0) return Pumped::budget;
  }
}

void Engine::Impl::relay_register(RelayConn& c, Src& s) {
  const bool client = s.token == c.client;
  const Way& in = client ? c.up : c.down;
  const Way& out = client ? c.down : c.up;
  const bool read = !in.eof && in.used() < eng->config_.relay_buffer_bytes;
  const bool write = s.connecting || (out.write_wb && out.used() > 0 && !out.shut);
  const bool paused = !read && !write;
  const Interest want = read && write ? Interest::READABLE | Interest::WRITABLE
                        : write       ? Interest::WRITABLE
                                      : Interest::READABLE;  // the stand-in when paused
  if (paused == s.paused && (paused || want == s.interest)) return;
  const auto r = paused ? poll.registry().ctl_pause(s.fd, s.token, s.trigger)
                        : poll.registry().modify(base(s.io), s.token, want, s.trigger);
  if (!r) return warning(&s, WarningKind::engine_error, 0, errno_of(r.error()));
  s.paused = paused;
  s.interest = want;
  source_record(RecordKind::source_changed, s, 0, 0);
}

/// Moves what can move both ways, then brings both legs' registrations up to date. A budget
/// used up puts the client leg on the still-ready list (relay_continue goes on).
void Engine::Impl::relay_run(RelayConn& c) {
  const Token client = c.client;
  Src* cl = find(client);
  Src* upstream = find(c.upstream);
  if (!cl || !upstream) return;  // both legs live while their connection does
  std::uint64_t budget = reaction_cap(*cl);
  const Pumped a = relay_pump(c, true, budget);
  if (a == Pumped::ended) return;
  const Pumped b = relay_pump(c, false, budget);
  if (b == Pumped::ended) return;
  cl = find(client);  // the pumps may have added sources (the table rehashes, Src stays put)
  if (!cl) return;
  if (a == Pumped::budget || b == Pumped::budget) {
    if (!cl->still_ready) {
      cl->still_ready = true;
      still_ready.push_back(client);
    }
  }
  relay_register(c, *cl);
  if (Src* up = find(c.upstream)) relay_register(c, *up);
}

void Engine::Impl::relay_event(Src& s, const Event& e) {
  RelayConn& c = *s.relay;
  if (s.connecting) {
    s.connecting = false;
    auto* tcp = std::get_if<net::TcpStream>(&s.io);
    auto pending = tcp ? tcp->take_error() : io_result<std::error_code>(std::error_code());
    Step st;
    if (!pending)
      st = Step{Outcome::error, 0, errno_of(pending.error())};
    else if (*pending)
      st = Step{Outcome::error, 0, errno_of(*pending)};
    action(s, Op::connect, st, 0);
    if (st.fatal()) {
      // The upstream is not there: the client's connection is closed (it reads end-of-file).
      note("relay " + std::to_string(c.listener.value) + ": upstream connect failed (" + errno_name(st.err) +
               "): client leg " + std::to_string(c.client.value) + " closed",
           0);
      return close_source(c.client);
    }
    publish_info(s);
  }
  const bool client = s.token == c.client;
  Way& in = client ? c.up : c.down;
  Way& out = client ? c.down : c.up;
  if (e.is_readable() || e.is_read_closed() || e.is_error()) in.read_wb = false;
  if (e.is_writable() || e.is_write_closed() || e.is_error()) out.write_wb = false;
  relay_run(c);
}

void Engine::Impl::relay_continue(Src& s) {
  if (s.relay) relay_run(*s.relay);
}

void Engine::Impl::relay_timer(std::uint64_t token) {
  const auto it = relay_conns.find(token & ~kRelayTimerBit);
  if (it == relay_conns.end()) return;  // the connection closed (its timer with it)
  it->second->timer_due = 0;
  relay_run(*it->second);
}

}  // namespace ready::capture
