// The poll thread's loop: poll, run the queued commands, dispatch each event to its source's
// reaction, continue the reactions left still ready, run the pitfall checks that are due, emit
// stats (docs/engine.md, "The loop"). The per-event path: everything here is inline (see
// poll_thread.h), together with io_ops.h and payload.h.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <new>
#include <mutex>
#include <optional>
#include <system_error>
#include <variant>
#include <vector>

#include "capture/engine/io_ops.h"
#include "capture/engine/payload.h"
#include "capture/engine/poll_thread.h"
#include "linux/os.h"
#include "linux/thread.h"

namespace ready::capture {

using namespace detail;

inline void Engine::Impl::close_by_reaction(Token token) {
  Src* s = find(token);
  if (!s) return;
  const Token other = s->reaction.also_close;
  close_source(token);
  if (other.value != 0 && other != token) close_source(other);  // nothing if not live
}

inline void Engine::Impl::stale_event(const Event& e) {
  const auto g = ghosts.find(e.token().value);
  Record r;
  r.kind = RecordKind::readiness;
  r.token = e.token().value;
  r.fd = g != ghosts.end() ? g->second.get() : -1;
  r.bits = e.epoll_bits();
  emit(r);
  if (std::find(relay_closed.begin(), relay_closed.end(), e.token().value) != relay_closed.end()) return;
  r.kind = RecordKind::warning;
  r.op = static_cast<std::uint8_t>(WarningKind::event_after_close);
  r.value = e.epoll_bits();
  r.bits = 0;
  emit(r);
}

inline void Engine::Impl::on_event(const Event& e) {
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
  const bool sample = queue_sampling && has_queues(s->kind);
  handle_event(s, e);
  queue_after(token, sample);
}

inline void Engine::Impl::handle_event(Src* s, const Event& e) {
  if (s->relay) return relay_event(*s, e);

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
  const bool short_read_ends =
      s->reaction.stop_at_short_read && is_stream_like(s->kind) && !e.is_read_closed() && !e.is_error();
  react(*s, e.is_readable() || e.is_read_closed() || e.is_error(), e.is_write_closed() || e.is_error(),
        short_read_ends);
}

inline void Engine::Impl::react(Src& src, bool readable, bool write_closed, bool short_read_ends) {
  Src* s = &src;
  const Token token = s->token;
  Step end;
  switch (s->kind) {
    case SourceKind::tcp_listener:
    case SourceKind::unix_listener:
      // Only from the still-ready list (on_event accepts itself): the accept budget ran out.
      if (readable && s->reaction.kind != Reaction::none) accept_until_would_block(*s);
      return;
    case SourceKind::eventfd:
    case SourceKind::timerfd:
      if (readable) (void)read_once(*s, 8, 0);
      return;
    case SourceKind::pipe_sender:
      if (write_closed) close_by_reaction(token);
      return;
    case SourceKind::udp:
    case SourceKind::unix_datagram:
      if (readable) react_datagram(*s);
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
    case Reaction::relay:  // relay legs never get here (on_event hands them to relay_event)
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

// A datagram socket's reaction: every datagram its own action; never closed by a reaction
// (docs/engine.md, "Datagrams").
inline void Engine::Impl::react_datagram(Src& s) {
  Step end;
  switch (s.reaction.kind) {
    case Reaction::read:
      (void)read_once(s, s.reaction.n, 0);
      return;
    case Reaction::drain:
    case Reaction::auto_accept:
    case Reaction::discard:
      end = drain_datagrams(s, 0, s.reaction.kind != Reaction::discard, reaction_cap(s));
      break;
    case Reaction::echo:
      end = echo_datagrams(s);
      break;
    case Reaction::none:
    case Reaction::relay:  // never a datagram socket's
      return;
  }
  if (end.outcome == Outcome::ok && s.trigger != Trigger::level && !s.still_ready) {
    s.still_ready = true;
    still_ready.push_back(s.token);
  }
}

inline void Engine::Impl::continue_still_ready() {
  continuing.swap(still_ready);
  for (const Token t : continuing) {
    Src* s = find(t);
    if (!s) continue;  // closed meanwhile
    s->still_ready = false;
    const bool sample = queue_sampling && has_queues(s->kind);
    if (s->relay)
      relay_continue(*s);
    else if (s->pending_len == 0)
      react(*s, true, false);
    queue_after(t, sample);
  }
  continuing.clear();
}

inline void Engine::Impl::run_pitfall_checks() {
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

inline std::optional<Engine::Impl::Fatal> Engine::Impl::loop() {
  Events events(kEventsPerPoll);
  for (;;) {
    const std::uint64_t before = now_ns();
    // Sources left still ready: look for new events without waiting, then continue them.
    // Otherwise no timeout: the stats timer's event ends the wait when stats are due.
    auto timeout = still_ready.empty() ? std::nullopt
                                       : std::optional<std::chrono::nanoseconds>(std::chrono::nanoseconds(0));
    // A pitfall check due: wake by its deadline (Poll rounds up to the next millisecond).
    if (!timeout && pit.pending())
      timeout = std::chrono::nanoseconds(pit.next_due() > before ? pit.next_due() - before : 0);
    auto n = poll.poll(events, timeout);
    const std::uint64_t after = stamp();  // also the poll_return record's time
    loop_ns = after;
    if (!n) {
      if (n.error() == std::errc::interrupted) continue;  // a signal, SIGSTOP/SIGCONT, a debugger
      // Anything else (EBADF, EINVAL, EFAULT) will not go away: the loop cannot go on.
      return Fatal{errno_of(n.error()), "epoll_wait"};
    }
    Record pr;
    pr.kind = RecordKind::poll_return;
    pr.value = *n;
    pr.value2 = after - before;
    emit(pr);

    bool stop = false;
    {
      std::lock_guard lock(eng->queue_mutex_);
      taken.swap(eng->queue_);
      stop = eng->stopping_;
    }
    for (taken_done = 0; taken_done < taken.size(); ++taken_done) {
      if (os::allocation_fault()) [[unlikely]]
        throw std::bad_alloc();  // a test's injected failure (sys.h, fault::allocation)
      Queued& q = taken[taken_done];
      std::visit(
          [&](auto& c) {
            exec(c, q.ticket);
            // After every action and interest change: the source's queues (and its pair's).
            if constexpr (requires { c.token; }) sample_after_command(c.token);
          },
          q.command);
    }
    taken.clear();

    bool stats_due = false;
    for (const Event& e : events) {
      if (e.token() == kStatsToken)
        stats_due = true;
      else if (e.token().value & kRelayTimerBit)
        relay_timer(e.token().value);
      else if (e.token().value & kAttachBit)
        attach_event(e.token().value);
      else if (e.token() != kWakerToken)
        on_event(e);
    }
    relay_closed.clear();
    if (!still_ready.empty()) continue_still_ready();
    if (pit.pending() && pit.next_due() <= after) run_pitfall_checks();

    if (stats_due) {
      if (os::allocation_fault()) [[unlikely]]
        throw std::bad_alloc();  // a test's injected failure (sys.h, fault::allocation)
      stats();
      if (auto r = stats_timer.arm(kStatsEvery, std::chrono::nanoseconds(0)); !r)
        warning(nullptr, WarningKind::engine_error, 0, errno_of(r.error()));  // no more stats
    }
    flush();
    if (stop) return std::nullopt;
  }
}

inline void Engine::Impl::fail(const Fatal& f) noexcept {
  {
    std::lock_guard lock(eng->queue_mutex_);
    eng->accepting_ = false;  // submit: kFailedErrno from now on, and no more wakes
    // The queued commands, and those of the batch that were not done (the one that threw too).
    const std::size_t left = taken_done < taken.size() ? taken.size() - taken_done : 0;
    eng->failure_ = EngineFailure{os_error(f.err), f.where, eng->queue_.size() + left};
    eng->queue_.clear();
  }
  taken.clear();
  // detail 1: the poll thread stopped (every other engine_error is survived, detail 0).
  warning(nullptr, WarningKind::engine_error, 1, f.err);
}

inline void Engine::Impl::run() noexcept {
  os::name_this_thread("ready-poll");
  std::optional<Fatal> fatal;
  // No exception may leave the thread (std::terminate would end the process): an
  // allocation that fails anywhere in the loop stops the engine as an epoll error does.
  try {
    fatal = loop();
  } catch (const std::bad_alloc&) {
    fatal = Fatal{ENOMEM, "allocation"};
  } catch (const std::system_error& e) {
    fatal = Fatal{e.code().value() != 0 ? errno_of(e.code()) : EIO, "exception"};
  } catch (...) {
    fatal = Fatal{EIO, "exception"};
  }
  if (fatal) fail(*fatal);
  try {
    close_all();
  } catch (...) {
    // Out of memory again while closing: the sources left close unrecorded with this state
    // (Engine::stop destroys it).
  }
  stats();
  flush();
}

void Engine::run() noexcept { impl_->run(); }

}  // namespace ready::capture
