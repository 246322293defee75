// Operations on a source: read, drain, write, fill, and echo with its back-pressure
// (docs/engine.md, "Bounds" and "Echo"). Commands (commands.cpp) and reactions (loop.cpp)
// both call them.
//
// Inline: they are the per-event path, which loop.cpp compiles whole (see poll_thread.h).
#pragma once

#include <algorithm>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>
#include <variant>

#include "capture/engine/payload.h"
#include "capture/engine/poll_thread.h"

namespace ready::capture {

inline io_result<std::size_t> Engine::Impl::read_some(Src& s, std::span<std::byte> buf, detail::PeerAddr* from) {
  return std::visit(
      [&](auto& io) -> io_result<std::size_t> {
        using T = std::decay_t<decltype(io)>;
        if constexpr (std::is_same_v<T, net::UdpSocket>) {
          auto r = io.recv_from(buf);
          if (!r) return std::unexpected(r.error());
          if (from) from->set(r->from.as_sockaddr(), r->from.len());
          return r->n;
        } else if constexpr (std::is_same_v<T, net::UnixDatagram>) {
          auto r = io.recv_from(buf);
          if (!r) return std::unexpected(r.error());
          // An unbound sender has no name: nothing to reply to (len stays 0).
          if (from && !r->from.is_unnamed()) from->set(r->from.as_sockaddr(), r->from.len());
          return r->n;
        } else if constexpr (requires { io.read(buf); })
          return io.read(buf);
        else
          return std::unexpected(os_error(EOPNOTSUPP));
      },
      s.io);
}

inline io_result<std::size_t> Engine::Impl::send_to(Src& s, std::span<const std::byte> buf,
                                                    const detail::PeerAddr& to) {
  if (auto* u = std::get_if<net::UdpSocket>(&s.io)) {
    const auto a = net::SocketAddr::from_sockaddr(to.as_sockaddr(), to.len);
    if (!a) return std::unexpected(os_error(EAFNOSUPPORT));
    return u->send_to(buf, *a);
  }
  if (auto* d = std::get_if<net::UnixDatagram>(&s.io))
    return d->send_to_addr(buf, net::UnixAddr::from_sockaddr(to.as_sockaddr(), to.len));
  return std::unexpected(os_error(EOPNOTSUPP));
}

inline io_result<std::size_t> Engine::Impl::write_some(Src& s, std::span<const std::byte> buf) {
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

inline std::optional<detail::Step> Engine::Impl::read_counter(Src& s) {
  io_result<std::uint64_t> r = std::unexpected(os_error(EOPNOTSUPP));
  if (auto* e = std::get_if<unix::EventFd>(&s.io))
    r = e->read();
  else if (auto* t = std::get_if<unix::TimerFd>(&s.io))
    r = t->read();
  else
    return std::nullopt;
  if (r) return Step{Outcome::ok, *r, 0};
  if (is_would_block(r.error())) return Step{Outcome::would_block, 0, 0};
  return Step{Outcome::error, 0, detail::errno_of(r.error())};
}

inline detail::Step Engine::Impl::read_into_scratch(Src& s, std::size_t len, bool keep_bytes,
                                                    detail::PeerAddr* from) {
  std::optional<detail::PeerAddr> sender;  // constructed for datagram sockets only
  if (!from && detail::is_datagram(s.kind)) from = &sender.emplace();
  const auto buf = std::span(scratch).first(len);
  const Step st = detail::step_of(read_some(s, buf, from), !detail::is_datagram(s.kind));
  s.bytes_in += st.n;
  if (keep_bytes && st.outcome == Outcome::ok) keep(s, Direction::in, buf.first(st.n), from);
  return st;
}

inline detail::Step Engine::Impl::write_once(Src& s, std::span<const std::byte> data) {
  const Step st = detail::step_of(write_some(s, data), false);
  pitfalls::Detector::on_write(s.pit);
  s.bytes_out += st.n;
  if (st.outcome == Outcome::ok) keep(s, Direction::out, data.first(st.n));
  return st;
}

inline void Engine::Impl::read_checked(Src& s, const Step& st) {
  if (auto w = pit.on_read(s.pit, s.token, st.outcome, st.drained_by_short_read, loop_ns))
    warning(&s, w->kind, w->value);
}

inline detail::Step Engine::Impl::read_once(Src& s, std::uint32_t n, std::uint64_t cmd) {
  if (auto c = read_counter(s)) {
    action(s, counter_read_op(s), *c, cmd);
    return *c;
  }
  detail::PeerAddr from;
  const Step st = read_into_scratch(s, std::min<std::size_t>(n, scratch.size()), true, &from);
  handler_work(s, cmd, st.n);
  action(s, Op::read, st, cmd, detail::is_datagram(s.kind) ? peer_id(s, from) : 0);
  read_checked(s, st);
  return st;
}

inline std::uint32_t Engine::Impl::peer_id(Src& s, const detail::PeerAddr& p) {
  if (p.len == 0) return 0;
  const std::string_view key = p.key();
  if (s.last_peer_id != 0 && key == s.last_peer_key) return s.last_peer_id;
  std::uint32_t id = 0;
  if (auto it = peer_ids.find(key); it != peer_ids.end()) {
    id = it->second;
  } else if (peer_ids.size() < eng->config_.peer_addresses) {
    std::string text = p.as_sockaddr()->sa_family == AF_UNIX
                           ? net::UnixAddr::from_sockaddr(p.as_sockaddr(), p.len).to_string()
                           : net::SocketAddr::from_sockaddr(p.as_sockaddr(), p.len).value_or(net::SocketAddr()).to_string();
    {
      std::lock_guard lock(eng->text_mutex_);
      eng->peers_.push_back(std::move(text));
      id = static_cast<std::uint32_t>(eng->peers_.size());
    }
    peer_ids.emplace(std::string(key), id);
  } else {
    eng->peers_dropped_.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  s.last_peer_id = id;
  s.last_peer_key.assign(key);
  return id;
}

inline detail::Step Engine::Impl::drain_datagrams(Src& s, std::uint64_t cmd, bool keep_bytes, std::size_t cap,
                                                  Op op) {
  if (cap == 0) cap = eng->config_.max_drain_bytes;
  std::uint64_t total = 0;
  int errors_in_row = 0;
  Step st;
  for (;;) {
    detail::PeerAddr from;
    // A whole datagram always (a shorter read would truncate it): the bound may be passed
    // by at most one datagram.
    st = read_into_scratch(s, scratch.size(), keep_bytes, &from);
    handler_work(s, cmd, st.n);
    action(s, op, st, cmd, peer_id(s, from));
    total += st.n;
    if (st.outcome == Outcome::error && detail::is_datagram_soft_error(st.err) && ++errors_in_row < 2) continue;
    if (st.outcome != Outcome::ok) break;
    errors_in_row = 0;
    if (total >= cap) break;
  }
  read_checked(s, st);
  st.n = total;
  return st;
}

inline detail::Step Engine::Impl::drain(Src& s, std::uint64_t cmd, bool keep_bytes, bool short_read_ends,
                                        std::size_t cap) {
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

inline detail::Step Engine::Impl::fill(Src& s, std::uint64_t cmd) {
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

inline detail::Step Engine::Impl::write_all(Src& s, std::span<const std::byte> data, std::uint64_t cmd) {
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

// ---- echo and its back-pressure (docs/engine.md, "Echo") ----

inline void Engine::Impl::reregister(Src& s) {
  if (auto r = poll.registry().modify(detail::base(s.io), s.token, registered_interest(s), s.trigger); !r)
    warning(&s, WarningKind::engine_error, 0, detail::errno_of(r.error()));
  pitfalls::Detector::modified(s.pit, s.kind, registered_interest(s), s.trigger);  // MOD re-reports
}

inline void Engine::Impl::hold(Src& s, std::span<const std::byte> rest) {
  if (s.pending.empty()) s.pending.resize(eng->config_.echo_pending_bytes);  // once per source
  std::memcpy(s.pending.data(), rest.data(), rest.size());  // rest <= one echo read <= the bound
  s.pending_off = 0;
  s.pending_len = rest.size();
  reregister(s);
}

inline detail::Step Engine::Impl::flush_pending(Src& s) {
  const Step w = write_all(s, std::span(s.pending).subspan(s.pending_off, s.pending_len), 0);
  if (w.fatal()) return w;
  s.pending_off += static_cast<std::size_t>(w.n);
  s.pending_len -= static_cast<std::size_t>(w.n);
  if (s.pending_len == 0) reregister(s);  // MOD reports data that waited meanwhile
  return w;
}

inline detail::Step Engine::Impl::echo_datagrams(Src& s) {
  const std::size_t cap = reaction_cap(s);
  std::uint64_t total = 0;
  int errors_in_row = 0;
  for (;;) {
    detail::PeerAddr from;
    const Step r = read_into_scratch(s, scratch.size(), true, &from);  // whole datagrams (see drain_datagrams)
    const std::uint32_t peer = peer_id(s, from);
    action(s, Op::read, r, 0, peer);
    if (r.outcome == Outcome::error && detail::is_datagram_soft_error(r.err) && ++errors_in_row < 2) continue;
    if (r.outcome != Outcome::ok) {
      read_checked(s, r);
      return r;
    }
    errors_in_row = 0;
    const auto data = std::span<const std::byte>(scratch).first(static_cast<std::size_t>(r.n));
    Step w;
    if (from.len == 0) {
      w = Step{Outcome::error, 0, EDESTADDRREQ};  // an unbound Unix sender: no address to answer
    } else {
      w = detail::step_of(send_to(s, data, from), false);
      pitfalls::Detector::on_write(s.pit);
      s.bytes_out += w.n;
      if (w.outcome == Outcome::ok) keep(s, Direction::out, data.first(w.n), &from);
    }
    // A reply that fails or would block is recorded and dropped (a datagram is sent whole
    // or not at all); the socket serves the next sender.
    action(s, Op::write, w, 0, peer);
    total += r.n;
    if (total >= cap) {
      read_checked(s, r);  // stopped at the bound: still ready, continued next iteration
      return Step{Outcome::ok, total, 0};
    }
  }
}

inline detail::Step Engine::Impl::echo(Src& s) {
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

}  // namespace ready::capture
