// Attached processes (cmd::Attach, docs/attach.md level 1): the poll thread samples another
// process's epoll instances through /proc on a timerfd in its Poll, and a pidfd in the same
// Poll says at once when the process ends. Each registration seen becomes a source with an
// engine token of its own; nothing is ever written to the process.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "capture/engine/poll_thread.h"
#include "linux/proc.h"
#include "ready/attach/process.h"
#include "ready/attach/tracer.h"

namespace ready::capture {

using namespace detail;

/// One attached process.
struct Attached {
  int pid = 0;
  std::string name;
  OwnedFd pidfd;
  unix::TimerFd timer;
  std::vector<int> epfds;
  unsigned samples = 0;
  bool said_no_epoll = false;
  bool said_error = false;
  /// A registration as last seen, by (epoll fd, watched fd).
  struct Reg {
    Token token;
    attach::EpollEntry entry;
    SourceKind kind = SourceKind::other;
  };
  std::map<std::pair<int, int>, Reg> regs;
  // Level 2 (cmd::Attach::trace): the tracer, its drained events, the registrations by
  // (epoll fd, data) for the readiness it reports.
  std::unique_ptr<attach::Tracer> tracer;
  bool trace_io = false;
  std::vector<attach::TraceEvent> trace_events;
  std::map<std::pair<int, std::uint64_t>, std::pair<int, int>> by_data;
  std::uint64_t unmatched = 0;  // returned events no registration was found for
};

void AttachedDelete::operator()(Attached* a) const noexcept { delete a; }

namespace {

std::uint64_t timer_token(int pid) { return kAttachBit | (static_cast<std::uint64_t>(pid) << 2); }
std::uint64_t pidfd_token(int pid) { return timer_token(pid) | 1; }
std::uint64_t tracer_token(int pid) { return timer_token(pid) | 2; }

/// The same file behind the descriptor number (a reused number names another file). Anonymous
/// inodes (eventfd, timerfd, ...) share one inode: their reuse between two samples is not seen.
bool same_file(const attach::EpollEntry& a, const attach::EpollEntry& b) {
  return a.ino == b.ino && a.sdev == b.sdev;
}

/// A source record of an attached registration (the fields: Record::attached_pid & co.).
Record attached_record(RecordKind k, const Attached::Reg& r, int epfd, int pid) {
  Record rec;
  rec.kind = k;
  rec.token = r.token.value;
  rec.fd = r.entry.tfd;
  rec.op = static_cast<std::uint8_t>(r.kind);
  rec.bits = attach::source_bits_of(r.entry.events);
  rec.value = r.entry.events | (static_cast<std::uint64_t>(static_cast<std::uint32_t>(epfd)) << 32);
  rec.value2 = r.entry.data;
  rec.err = pid;
  return rec;
}

}  // namespace

void Engine::Impl::exec(cmd::Attach& c, const Ticket& t) {
  const auto refuse = [&](int err) {
    action(Token(0), -1, Op::attach, Step{Outcome::error, static_cast<std::uint64_t>(std::max(c.pid, 0)), err}, t.id);
  };
  if (c.interval < cmd::kMinAttachInterval || c.interval > cmd::kMaxAttachInterval) return refuse(EINVAL);
  if (attached.size() >= cmd::kMaxAttached) return refuse(ENOSPC);
  // Level 2: the tracer first (a launched program's pid comes from it).
  std::unique_ptr<attach::Tracer> tracer;
  if (c.trace || !c.launch.empty()) {
    if (c.launch.empty() && attached.contains(c.pid)) return refuse(EBUSY);
    attach::TraceOptions o;
    o.io = c.trace_io;
    auto tr = c.launch.empty() ? attach::Tracer::attach(c.pid, o) : attach::Tracer::launch(c.launch, o);
    if (!tr) {
      note(attach::Tracer::error_text(c.launch.empty() ? c.pid : 0, tr.error()), t.id);
      return refuse(errno_of(tr.error()));
    }
    tracer = std::move(*tr);
    c.pid = tracer->pid();
  }
  if (c.pid <= 0) return refuse(ESRCH);
  if (attached.contains(c.pid)) return refuse(EBUSY);
  auto pidfd = os::pidfd_open(c.pid);
  if (!pidfd) return refuse(errno_of(pidfd.error()));
  // Readable by this user? (a pidfd needs no permission, the descriptors do)
  auto first = attach::inspect_process(c.pid);
  if (!first) return refuse(first.error().err);
  auto timer = unix::TimerFd::create();
  if (!timer) return refuse(errno_of(timer.error()));
  auto a = std::unique_ptr<Attached, AttachedDelete>(new Attached{});
  a->pid = c.pid;
  a->name = first->name;
  a->pidfd = std::move(*pidfd);
  a->timer = std::move(*timer);
  SourceFd pfd(a->pidfd.get());
  if (auto r = poll.registry().add(pfd, Token(static_cast<std::size_t>(pidfd_token(c.pid))), Interest::READABLE,
                                   Trigger::level);
      !r)
    return refuse(errno_of(r.error()));
  if (auto r = poll.registry().add(a->timer, Token(static_cast<std::size_t>(timer_token(c.pid))),
                                   Interest::READABLE, Trigger::level);
      !r) {
    (void)poll.registry().remove(pfd);
    return refuse(errno_of(r.error()));
  }
  if (auto r = a->timer.arm(c.interval, c.interval); !r) {
    (void)poll.registry().remove(pfd);
    (void)poll.registry().remove(a->timer);
    return refuse(errno_of(r.error()));
  }
  if (tracer) {
    SourceFd tfd(tracer->fd());
    if (auto r = poll.registry().add(tfd, Token(static_cast<std::size_t>(tracer_token(c.pid))), Interest::READABLE,
                                     Trigger::level);
        !r) {
      (void)poll.registry().remove(pfd);
      (void)poll.registry().remove(a->timer);
      return refuse(errno_of(r.error()));
    }
    a->tracer = std::move(tracer);
    a->trace_io = c.trace_io;
  }
  Attached& ref = *a;
  attached.emplace(c.pid, std::move(a));
  action(Token(0), -1, Op::attach, Step{Outcome::ok, static_cast<std::uint64_t>(c.pid), 0}, t.id);
  char every[32];
  std::snprintf(every, sizeof every, "%g ms", std::chrono::duration<double, std::milli>(c.interval).count());
  note("attached to process " + std::to_string(c.pid) + " (" + ref.name + "), sampling its epoll instances every " +
           every,
       t.id);
  attach_sample(ref);
}

void Engine::Impl::exec(cmd::Detach& c, const Ticket& t) {
  if (!attached.contains(c.pid))
    return action(Token(0), -1, Op::detach, Step{Outcome::error, static_cast<std::uint64_t>(std::max(c.pid, 0)), EBADF},
                  t.id);
  detach(c.pid, Outcome::ok, t.id);
}

void Engine::Impl::attach_event(std::uint64_t token) {
  const int pid = static_cast<int>((token & ~kAttachBit) >> 2);
  const auto it = attached.find(pid);
  if (it == attached.end()) return;  // detached earlier in this batch
  Attached& a = *it->second;
  if ((token & 3) == 2) return attach_trace(a);
  if (token & 1) {
    // The pidfd is readable: the process ended. One last look is pointless (its
    // descriptors are closed already): every registration goes now.
    note("process " + std::to_string(pid) + " (" + a.name + ") exited", 0);
    return detach(pid, Outcome::eof, 0);
  }
  (void)a.timer.read();  // clears the expirations (level-triggered): several late ones make one sample
  attach_sample(a);
}

void Engine::Impl::attach_sample(Attached& a) {
  const bool relist = a.samples++ % cmd::kAttachRelistEvery == 0;
  auto s = attach::sample_process(a.pid, a.epfds, relist);
  if (!s) {
    if (s.error().err == ESRCH) return;  // ending: the pidfd's event follows
    if (!a.said_error) {  // e.g. the process changed its user: say it once, keep trying
      a.said_error = true;
      note(s.error().message, 0);
    }
    return;
  }
  a.said_error = false;
  a.epfds = std::move(s->epfds);
  if (a.epfds.empty() && !a.said_no_epoll) {
    a.said_no_epoll = true;
    note("process " + std::to_string(a.pid) + " (" + a.name + ") holds no epoll instance yet: watching for one", 0);
  }
  if (!a.epfds.empty()) a.said_no_epoll = false;

  const auto record = [&](RecordKind k, const Attached::Reg& r, int epfd) { emit(attached_record(k, r, epfd, a.pid)); };
  const auto remove = [&](std::map<std::pair<int, int>, Attached::Reg>::iterator it) {
    {
      std::lock_guard lock(eng->text_mutex_);
      eng->infos_.erase(it->second.token.value);
    }
    record(RecordKind::source_removed, it->second, it->first.first);
    return a.regs.erase(it);
  };

  std::map<std::pair<int, int>, attach::EpollEntry> now;
  for (const attach::Registration& r : s->registrations) now.emplace(std::pair{r.epfd, r.entry.tfd}, r.entry);
  // Gone, or the number now names another file.
  for (auto it = a.regs.begin(); it != a.regs.end();) {
    const auto n = now.find(it->first);
    it = n == now.end() || !same_file(n->second, it->second.entry) ? remove(it) : std::next(it);
  }
  attach::NetTables net;
  bool net_read = false;
  for (const auto& [key, entry] : now) {
    const auto old = a.regs.find(key);
    if (old != a.regs.end()) {
      if (old->second.entry.events != entry.events || old->second.entry.data != entry.data) {
        old->second.entry = entry;
        record(RecordKind::source_changed, old->second, key.first);
      } else {
        old->second.entry = entry;  // pos moves with the file: not a change
      }
      continue;
    }
    attach::Resolved what = attach::describe_fd(a.pid, entry.tfd, net, net_read);
    Attached::Reg reg{Token(static_cast<std::size_t>(eng->next_token_.fetch_add(1))), entry, what.kind};
    {
      std::lock_guard lock(eng->text_mutex_);
      eng->infos_[reg.token.value] = SourceInfo{what.kind, entry.tfd, std::move(what.local), std::move(what.peer)};
    }
    record(RecordKind::source_added, reg, key.first);
    a.regs.emplace(key, reg);
  }
  a.by_data.clear();
  for (const auto& [key, r] : a.regs) a.by_data[{key.first, r.entry.data}] = key;
}

void Engine::Impl::attach_trace(Attached& a) {
  if (!a.tracer) return;
  a.trace_events.clear();
  a.tracer->drain(a.trace_events);
  const std::int64_t kEagain = -EAGAIN;
  bool sampled = false;  // one sample per batch at most, for registrations the trace saw first
  for (const attach::TraceEvent& e : a.trace_events) {
    switch (e.kind) {
      case attach::TraceEvent::Kind::ctl:
        // Recorded as it happens: sample now rather than at the next interval.
        if (e.result == 0 && !sampled) {
          attach_sample(a);
          sampled = true;
        }
        break;
      case attach::TraceEvent::Kind::wait_exit:
        for (const epoll_event& ev : e.ready) {
          auto it = a.by_data.find({e.epfd, ev.data.u64});
          if (it == a.by_data.end() && !sampled) {
            attach_sample(a);
            sampled = true;
            it = a.by_data.find({e.epfd, ev.data.u64});
          }
          const auto reg = it == a.by_data.end() ? a.regs.end() : a.regs.find(it->second);
          if (reg == a.regs.end()) {
            ++a.unmatched;
            continue;
          }
          Record r;
          r.kind = RecordKind::readiness;
          r.token = reg->second.token.value;
          r.fd = reg->second.entry.tfd;
          r.bits = ev.events;
          emit(r);
        }
        break;
      case attach::TraceEvent::Kind::io: {
        if (!a.trace_io) break;
        const Attached::Reg* reg = nullptr;
        for (const auto& [key, r] : a.regs)
          if (key.second == e.fd) reg = &r;
        if (!reg) break;  // not a watched descriptor
        const bool in = e.is_input();
        Step st;
        if (e.result > 0)
          st = Step{Outcome::ok, static_cast<std::uint64_t>(e.result), 0};
        else if (e.result == 0)
          st = in ? Step{Outcome::eof, 0, 0} : Step{};
        else if (e.result == kEagain)
          st = Step{Outcome::would_block, 0, 0};
        else
          st = Step{Outcome::error, 0, static_cast<int>(-e.result)};
        action(reg->token, e.fd, in ? Op::read : Op::write, st, 0);
        break;
      }
      case attach::TraceEvent::Kind::detached:
        // The process lives on untraced (stop() or an error): sampling goes on.
        if (!a.tracer->finished()) break;
        note("process " + std::to_string(a.pid) + " (" + a.name + "): tracing ended", 0);
        break;
      default:
        break;
    }
  }
}

void Engine::Impl::detach(int pid, Outcome how, std::uint64_t cmd) {
  const auto it = attached.find(pid);
  if (it == attached.end()) return;
  Attached& a = *it->second;
  SourceFd pfd(a.pidfd.get());
  (void)poll.registry().remove(pfd);
  (void)poll.registry().remove(a.timer);
  if (a.tracer) {  // out of the Poll before the Tracer closes its eventfd (erase below stops it)
    SourceFd tfd(a.tracer->fd());
    (void)poll.registry().remove(tfd);
  }
  // In token order, as close_all closes the engine's own sources.
  std::vector<std::pair<std::uint64_t, std::pair<int, int>>> order;
  for (const auto& [key, r] : a.regs) order.emplace_back(r.token.value, key);
  std::sort(order.begin(), order.end());
  for (const auto& [token, key] : order) {
    const Attached::Reg& r = a.regs.at(key);
    {
      std::lock_guard lock(eng->text_mutex_);
      eng->infos_.erase(token);
    }
    emit(attached_record(RecordKind::source_removed, r, key.first, pid));
  }
  attached.erase(it);  // closes the pidfd and the timer
  action(Token(0), -1, Op::detach, Step{how, static_cast<std::uint64_t>(pid), 0}, cmd);
}

}  // namespace ready::capture
