// The source table: add a source (register it, record source_added), close one (deregister,
// record source_removed, retire its payload, stop its feeder), close them all at stop, and
// publish what Engine::source_info reports.
#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "capture/engine/payload.h"
#include "capture/engine/poll_thread.h"

namespace ready::capture {

using namespace detail;

namespace {

template <class T>
std::string addr_text(const io_result<T>& a) {
  return a ? a->to_string() : std::string();
}

}  // namespace

void Engine::Impl::publish_info(Src& s, std::string_view local, std::string_view peer) {
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
  if (info.peer.empty()) info.peer = peer;
  std::lock_guard lock(eng->text_mutex_);
  SourceInfo& slot = eng->infos_[s.token.value];
  // A connect that failed has no peer in the kernel's view: it keeps the target it tried.
  if (info.peer.empty()) info.peer = std::move(slot.peer);
  slot = std::move(info);
}

Engine::Impl::Src* Engine::Impl::add_source(Token token, SourceKind kind, Io io, const SourceOptions& o,
                                            std::uint64_t parent, std::uint64_t cmd, bool connecting,
                                            std::string_view local, std::string_view peer) {
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
  raw->related = parent;
  pitfalls::Detector::added(raw->pit, kind, reg, o.trigger);  // as registered
  sources.emplace(token.value, std::move(s));
  publish_info(*raw, local, peer);
  source_record(RecordKind::source_added, *raw, parent, cmd);
  return raw;
}

void Engine::Impl::close_source(Token token) {
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
  removed.bits = SourceBits{s.interest, s.trigger, s.reaction.kind, s.paused}.pack();
  removed.value = s.bytes_in;
  removed.value2 = s.bytes_out;
  {
    std::lock_guard lock(eng->text_mutex_);
    eng->infos_.erase(token.value);
  }
  retire_payload(s);
  RelayConn* relay = s.relay;
  if (CacheSlot& c = src_cache[token.value % kSrcCacheSlots]; c.token == token.value) c = CacheSlot{};
  sources.erase(it);           // closes the descriptor (and a Dup copy), after the remove above
  feeders.erase(token.value);  // a Feed's writer: its stop signal, then the join
  relay_plans.erase(token.value);  // a relay's listener: its live connections go on
  emit(removed);
  if (relay) relay_detach(relay, token);  // the other leg closes too
}

void Engine::Impl::close_all() {
  std::vector<std::uint64_t> tokens;
  tokens.reserve(sources.size());
  for (const auto& [t, s] : sources) tokens.push_back(t);
  std::sort(tokens.begin(), tokens.end());
  for (auto t : tokens) close_source(Token(static_cast<std::size_t>(t)));
  while (!attached.empty()) detach(attached.begin()->first, Outcome::ok, 0);
  ghosts.clear();  // ends the registrations they kept alive
  relay_conns.clear();  // none is left: closing a leg ended its connection
  release_fds(0);
}

}  // namespace ready::capture
