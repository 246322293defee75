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

inline io_result<std::size_t> Engine::Impl::read_some(Src& s, std::span<std::byte> buf,
                                                      net::SocketAddr* from) {
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

inline detail::Step Engine::Impl::read_into_scratch(Src& s, std::size_t len, bool keep_bytes) {
  std::optional<net::SocketAddr> from;  // constructed for UDP only (128 bytes to clear)
  if (s.kind == SourceKind::udp) from.emplace();
  const auto buf = std::span(scratch).first(len);
  const Step st = detail::step_of(read_some(s, buf, from ? &*from : nullptr), !detail::is_datagram(s.kind));
  s.bytes_in += st.n;
  if (keep_bytes && st.outcome == Outcome::ok)
    keep(s, Direction::in, buf.first(st.n), from ? &*from : nullptr);
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
  const Step st = read_into_scratch(s, std::min<std::size_t>(n, scratch.size()));
  handler_work(s, cmd, st.n);
  action(s, Op::read, st, cmd);
  read_checked(s, st);
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
