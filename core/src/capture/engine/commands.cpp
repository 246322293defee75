// Command execution: one exec() per cmd:: type, run by the poll thread in submission order
// (the loop takes the whole queue at once). Adding a command: its struct in
// ready/capture/command.h (and the Command variant), its exec() declared in poll_thread.h and
// defined here, and tokens_needed() below when it creates sources.
#include <algorithm>
#include <cerrno>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "capture/engine/io_ops.h"
#include "capture/engine/poll_thread.h"

namespace ready::capture {

SourceBits SourceBits::unpack(std::uint32_t bits) noexcept {
  return {Interest::from_bits(static_cast<std::uint8_t>(bits & 0xff)).value_or(Interest::READABLE),
          static_cast<Trigger>((bits >> 8) & 0xff), static_cast<Reaction>((bits >> 16) & 0xff),
          (bits & 0xff) == 0};
}

namespace detail {

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
                           std::is_same_v<T, cmd::Feed> || std::is_same_v<T, cmd::Relay>)
          return 1;  // a relay's legs take theirs when a client is accepted
        else if constexpr (std::is_same_v<T, cmd::Attach>)
          return 0;  // each registration takes its token when a sample first sees it
        else
          return 0;
      },
      c);
}

}  // namespace detail

using namespace detail;

// ---- creating sources ----

bool Engine::Impl::refused_remote(const net::SocketAddr& a, bool allow, const Ticket& t) {
  if (a.is_loopback() || allow || eng->config_.allow_remote) return false;
  error_action(t.token, Op::create, EACCES, t.id);
  return true;
}


void Engine::Impl::exec(cmd::TcpListen& c, const Ticket& t) {
  if (refused_remote(c.addr, c.allow_remote, t)) return;
  auto l = net::TcpListener::bind(c.addr);
  if (created(l, t)) add_source(t.token, SourceKind::tcp_listener, Io(std::move(*l)), c.options, 0, t.id);
}

void Engine::Impl::exec(cmd::TcpConnect& c, const Ticket& t) {
  auto s = net::TcpStream::connect(c.addr);
  if (!s) return error_action(t.token, Op::connect, s.error(), t.id);
  // The target is the peer from the first source record on (a connect in progress has a
  // peer it is trying to reach); the outcome publishes the kernel's view (getpeername).
  if (Src* src = add_source(t.token, SourceKind::tcp_stream, Io(std::move(*s)), c.options, 0, t.id, true, {},
                            c.addr.to_string()))
    action(*src, Op::connect, Step{Outcome::in_progress, 0, 0}, t.id);
}

void Engine::Impl::exec(cmd::UdpBind& c, const Ticket& t) {
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

void Engine::Impl::exec(cmd::UnixListen& c, const Ticket& t) {
  auto l = net::UnixListener::bind(c.path);
  if (created(l, t)) add_source(t.token, SourceKind::unix_listener, Io(std::move(*l)), c.options, 0, t.id);
}

void Engine::Impl::exec(cmd::UnixConnect& c, const Ticket& t) {
  auto s = net::UnixStream::connect(c.path);
  if (!s) return error_action(t.token, Op::connect, s.error(), t.id);
  // getpeername names the listener's path; the target stands in if it cannot (an abstract name).
  if (Src* src = add_source(t.token, SourceKind::unix_stream, Io(std::move(*s)), c.options, 0, t.id, false, {},
                            c.path))
    action(*src, Op::connect, Step{}, t.id);
}

void Engine::Impl::exec(cmd::UnixDatagramBind& c, const Ticket& t) {
  auto s = c.path.empty() ? net::UnixDatagram::unbound() : net::UnixDatagram::bind(c.path);
  if (created(s, t)) add_source(t.token, SourceKind::unix_datagram, Io(std::move(*s)), c.options, 0, t.id);
}

void Engine::Impl::exec(cmd::SocketPair& c, const Ticket& t) {
  auto p = net::UnixStream::pair();
  if (!created(p, t)) return;
  add_source(t.token, SourceKind::unix_stream, Io(std::move(p->first)), c.options, t.token2.value, t.id);
  add_source(t.token2, SourceKind::unix_stream, Io(std::move(p->second)), c.options, t.token.value, t.id);
}

void Engine::Impl::exec(cmd::Pipe& c, const Ticket& t) {
  auto p = unix::pipe();
  if (!created(p, t)) return;
  const SourceOptions sender{Interest::WRITABLE, c.options.trigger, {}};
  add_source(t.token, SourceKind::pipe_sender, Io(std::move(p->first)), sender, t.token2.value, t.id);
  add_source(t.token2, SourceKind::pipe_receiver, Io(std::move(p->second)), c.options, t.token.value, t.id);
}

void Engine::Impl::exec(cmd::EventFdCreate& c, const Ticket& t) {
  auto e = unix::EventFd::create(c.initial, c.semaphore);
  if (created(e, t)) add_source(t.token, SourceKind::eventfd, Io(std::move(*e)), c.options, 0, t.id);
}

void Engine::Impl::exec(cmd::TimerFdCreate& c, const Ticket& t) {
  auto e = unix::TimerFd::create();
  if (created(e, t)) add_source(t.token, SourceKind::timerfd, Io(std::move(*e)), c.options, 0, t.id);
}

// ---- operating on a source ----

Engine::Impl::Src* Engine::Impl::target(Token token, Op op, const Ticket& t) {
  Src* s = find(token);
  if (!s) error_action(token, op, EBADF, t.id);
  return s;
}

void Engine::Impl::modify(Src& s, Interest interest, Trigger trigger, Op op, const Ticket& t) {
  const Interest reg = s.pending_len != 0 ? Interest::WRITABLE             // an echo still waits
                       : s.connecting     ? interest | Interest::WRITABLE  // the connect's outcome
                                          : interest;
  if (auto r = poll.registry().modify(base(s.io), s.token, reg, trigger); !r) {
    action(s, op, Step{Outcome::error, 0, errno_of(r.error())}, t.id);
    return;
  }
  s.interest = interest;
  s.trigger = trigger;
  pitfalls::Detector::modified(s.pit, s.kind, reg, trigger);
  if (op == Op::rearm)
    action(s, op, Step{}, t.id);
  else
    source_record(RecordKind::source_changed, s, s.reaction.n, t.id);
}

Engine::Impl::Src* Engine::Impl::unmanaged(Token token, Op op, const Ticket& t) {
  Src* s = target(token, op, t);
  if (s && s->reaction.kind == Reaction::relay) {
    action(*s, op, Step{Outcome::error, 0, EBUSY}, t.id);
    return nullptr;
  }
  return s;
}

void Engine::Impl::exec(cmd::SetInterest& c, const Ticket& t) {
  if (Src* s = unmanaged(c.token, Op::modify, t)) modify(*s, c.interest, s->trigger, Op::modify, t);
}

void Engine::Impl::exec(cmd::SetTrigger& c, const Ticket& t) {
  if (Src* s = unmanaged(c.token, Op::modify, t)) modify(*s, s->interest, c.trigger, Op::modify, t);
}

void Engine::Impl::exec(cmd::Rearm& c, const Ticket& t) {
  if (Src* s = unmanaged(c.token, Op::rearm, t)) modify(*s, s->interest, s->trigger, Op::rearm, t);
}

void Engine::Impl::exec(cmd::SetReaction& c, const Ticket& t) {
  if (Src* s = unmanaged(c.token, Op::modify, t)) {
    if (!valid(c.reaction) || c.reaction.kind == Reaction::relay)
      return action(*s, Op::modify, Step{Outcome::error, 0, EINVAL}, t.id);
    s->reaction = c.reaction;
    source_record(RecordKind::source_changed, *s, s->reaction.n, t.id);
  }
}

void Engine::Impl::exec(cmd::Read& c, const Ticket& t) {
  Src* s = target(c.token, Op::read, t);
  if (!s) return;
  // A read of 0 bytes would return 0, which a stream reports as end-of-file.
  if (c.n == 0) return action(*s, Op::read, Step{Outcome::error, 0, EINVAL}, t.id);
  (void)read_once(*s, c.n, t.id);
}

void Engine::Impl::exec(cmd::Drain& c, const Ticket& t) {
  if (Src* s = target(c.token, Op::drain, t))
    (void)(is_datagram(s->kind) ? drain_datagrams(*s, t.id, true, 0) : drain(*s, t.id));
}

void Engine::Impl::exec(cmd::Write& c, const Ticket& t) {
  Src* s = target(c.token, Op::write, t);
  if (!s) return;
  action(*s, Op::write, write_once(*s, ready::as_bytes(c.bytes)), t.id);
}

void Engine::Impl::exec(cmd::Fill& c, const Ticket& t) {
  if (Src* s = target(c.token, Op::fill, t)) (void)fill(*s, t.id);
}

void Engine::Impl::shutdown(Token token, net::Shutdown how, Op op, const Ticket& t) {
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

void Engine::Impl::exec(cmd::ShutdownRead& c, const Ticket& t) {
  shutdown(c.token, net::Shutdown::read, Op::shutdown_read, t);
}

void Engine::Impl::exec(cmd::ShutdownWrite& c, const Ticket& t) {
  shutdown(c.token, net::Shutdown::write, Op::shutdown_write, t);
}

void Engine::Impl::exec(cmd::Close& c, const Ticket& t) {
  if (auto g = ghosts.find(c.token.value); g != ghosts.end()) {  // a CloseFd ghost: its copy goes
    const int fd = g->second.get();
    const std::error_code ec = g->second.close();
    ghosts.erase(g);
    return action(c.token, fd, Op::close, ec ? Step{Outcome::error, 0, errno_of(ec)} : Step{}, t.id);
  }
  if (target(c.token, Op::close, t)) close_source(c.token);
}

void Engine::Impl::exec(cmd::Accept& c, const Ticket& t) {
  if (Src* s = target(c.token, Op::accept, t)) (void)accept_one(*s, t.id);
}

void Engine::Impl::exec(cmd::EventFdWrite& c, const Ticket& t) {
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

void Engine::Impl::exec(cmd::EventFdRead& c, const Ticket& t) {
  Src* s = target(c.token, Op::eventfd_read, t);
  if (!s) return;
  if (s->kind != SourceKind::eventfd)
    return action(*s, Op::eventfd_read, Step{Outcome::error, 0, EOPNOTSUPP}, t.id);
  action(*s, Op::eventfd_read, *read_counter(*s), t.id);
}

void Engine::Impl::exec(cmd::TimerArm& c, const Ticket& t) {
  Src* s = target(c.token, Op::timer_arm, t);
  if (!s) return;
  auto* tf = std::get_if<unix::TimerFd>(&s->io);
  io_result<void> r =
      tf ? tf->arm(c.initial, c.interval) : io_result<void>(std::unexpected(os_error(EOPNOTSUPP)));
  action(*s, Op::timer_arm, r ? Step{} : Step{Outcome::error, 0, errno_of(r.error())}, t.id);
}

void Engine::Impl::exec(cmd::TimerDisarm& c, const Ticket& t) {
  Src* s = target(c.token, Op::timer_disarm, t);
  if (!s) return;
  auto* tf = std::get_if<unix::TimerFd>(&s->io);
  io_result<void> r = tf ? tf->disarm() : io_result<void>(std::unexpected(os_error(EOPNOTSUPP)));
  action(*s, Op::timer_disarm, r ? Step{} : Step{Outcome::error, 0, errno_of(r.error())}, t.id);
}

// ---- notes, feeds and descriptor-table lessons ----

void Engine::Impl::exec(cmd::Note& c, const Ticket& t) { note(std::move(c.text), t.id); }

void Engine::Impl::note(std::string text, std::uint64_t cmd) {
  // EngineConfig::max_note_bytes: cut at a UTF-8 character boundary (not inside a sequence).
  if (const std::size_t max = eng->config_.max_note_bytes; text.size() > max) {
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    eng->note_bytes_truncated_.fetch_add(text.size() - cut, std::memory_order_relaxed);
    text.resize(cut);
  }
  std::uint64_t id = 0;
  {
    std::lock_guard lock(eng->text_mutex_);
    // EngineConfig::max_notes: the oldest text goes (its note record stays).
    if (eng->notes_.size() >= eng->config_.max_notes) {
      eng->notes_.pop_front();
      ++eng->first_note_id_;
      eng->note_texts_dropped_.fetch_add(1, std::memory_order_relaxed);
    }
    eng->notes_.push_back(std::move(text));
    id = eng->first_note_id_ + eng->notes_.size() - 1;
  }
  Record r;
  r.kind = RecordKind::note;
  r.value = id;
  r.value2 = cmd;
  emit(r);
}

void Engine::Impl::exec(cmd::Sync&, const Ticket&) {}  // the wake-up that brought it is its whole effect

void Engine::Impl::exec(cmd::Feed& c, const Ticket& t) {
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

void Engine::Impl::exec(cmd::Dup& c, const Ticket& t) {
  Src* s = target(c.token, Op::dup, t);
  if (!s) return;
  if (s->dup) return action(*s, Op::dup, Step{Outcome::error, 0, EBUSY}, t.id);
  auto d = os::dup_cloexec(s->fd);
  if (!d) return action(*s, Op::dup, Step{Outcome::error, 0, errno_of(d.error())}, t.id);
  s->dup = std::move(*d);
  action(*s, Op::dup, Step{Outcome::ok, static_cast<std::uint64_t>(s->dup.get()), 0}, t.id);
}

void Engine::Impl::exec(cmd::CloseFd& c, const Ticket& t) {
  Src* s = unmanaged(c.token, Op::close_fd, t);
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

void Engine::Impl::exec(cmd::ExhaustFds& c, const Ticket& t) {
  const auto fail = [&](int err) {
    action(Token{0}, -1, Op::exhaust_fds, Step{Outcome::error, 0, err}, t.id);
  };
  if (c.headroom > 64) return fail(EINVAL);
  if (ballast.active()) return fail(EBUSY);
  auto b = os::FdBallast::take(c.headroom);
  if (!b) return fail(errno_of(b.error()));
  ballast = std::move(*b);
  action(Token{0}, -1, Op::exhaust_fds, Step{Outcome::ok, ballast.size(), 0}, t.id);
}

void Engine::Impl::release_fds(std::uint64_t cmd) {
  if (!ballast.active()) {
    if (cmd != 0) action(Token{0}, -1, Op::release_fds, Step{}, cmd);
    return;
  }
  const std::uint64_t n = ballast.size();
  Step st{Outcome::ok, n, 0};
  if (auto r = ballast.release(); !r) st = Step{Outcome::error, n, errno_of(r.error())};
  action(Token{0}, -1, Op::release_fds, st, cmd);
}

void Engine::Impl::exec(cmd::ReleaseFds&, const Ticket& t) { release_fds(t.id); }

void Engine::Impl::exec(cmd::SetQueueSampling& c, const Ticket& t) {
  queue_sampling = c.on;
  note(c.on ? "queue sampling on" : "queue sampling off", t.id);
  if (!c.on) return;
  // The values may have changed while it was off: state them again.
  for (auto& [token, s] : sources) sample_queue(*s);
}

}  // namespace ready::capture
