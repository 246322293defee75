// Accept: one accept (cmd::Accept), auto-accept until would-block (Reaction::auto_accept), and
// the EMFILE reserve that keeps an edge-triggered listener from stalling when the process is
// out of descriptors.
#include <atomic>
#include <cstdint>
#include <utility>
#include <variant>

#include "capture/engine/poll_thread.h"

namespace ready::capture {

using namespace detail;

namespace {

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

}  // namespace

Step Engine::Impl::accept_one(Src& l, std::uint64_t cmd) {
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
  Src* s = add_source(token, accepted->second, std::move(accepted->first), o, l.token.value, cmd);
  if (s && o.reaction.kind == Reaction::relay) relay_open(*s, l);  // its upstream leg
  return Step{Outcome::ok, token.value, 0};
}

/// EMFILE on accept: the connection stays in the backlog (an edge-triggered listener would
/// never hear of it again). Free the reserve descriptor, accept and close until would-block,
/// take the reserve back (libuv's uv__emfile_trick).
void Engine::Impl::emfile(Src& l) {
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

void Engine::Impl::accept_until_would_block(Src& l) {
  const Token token = l.token;
  // Every attempt counts, a transient error too: the budget bounds the loop's time.
  for (std::uint32_t left = eng->config_.accept_budget; left != 0; --left) {
    Src* s = find(token);
    if (!s) return;
    const Step st = accept_one(*s, 0);
    if (st.outcome == Outcome::ok) continue;
    if (st.outcome == Outcome::error && is_transient_accept_error(st.err)) continue;
    return;
  }
  // The budget ran out with connections maybe still waiting. No new edge would announce them:
  // accept on after the next poll's events (a level-triggered listener is reported again).
  eng->accept_budget_yields_.fetch_add(1, std::memory_order_relaxed);
  Src* s = find(token);
  if (s && s->trigger != Trigger::level && !s->still_ready) {
    s->still_ready = true;
    still_ready.push_back(token);
  }
}

}  // namespace ready::capture
