// The capture engine's public functions: start, submit, stop and the accessors (engine.h).
// The poll thread they start and feed is loop.cpp; docs/engine.md specifies both.
#include <bit>
#include <cerrno>
#include <memory>
#include <mutex>
#include <system_error>
#include <utility>

#include "capture/engine/poll_thread.h"

namespace ready::capture {

using detail::kStatsEvery;
using detail::kStatsToken;
using detail::kWakerToken;
using detail::tokens_needed;

Engine::Engine(EngineConfig config, Notifier notifier, std::unique_ptr<Impl> impl)
    : config_(config), ring_(config.ring_capacity), notifier_(std::move(notifier)), impl_(std::move(impl)) {
  impl_->eng = this;
  impl_->queue_sampling = config.queue_sampling;
  impl_->pit.set_config(
      pitfalls::Config{static_cast<std::uint64_t>(std::chrono::nanoseconds(config.pitfall_grace).count()),
                       config.pitfall_spin_events});
}

io_result<std::unique_ptr<Engine>> Engine::start(EngineConfig config) {
  if (config.ring_capacity < 2 || !std::has_single_bit(config.ring_capacity) ||
      config.ring_capacity > (std::size_t{1} << 30) || config.echo_pending_bytes == 0 ||
      config.max_drain_bytes == 0 || config.payload_bytes_per_source > (std::size_t{1} << 30) ||
      config.pitfall_grace < kMinPitfallGrace || config.pitfall_grace > kMaxPitfallGrace ||
      config.pitfall_spin_events < 2 || config.pitfall_spin_events > kMaxPitfallSpinEvents ||
      config.peer_addresses > kMaxPeerAddresses ||
      config.command_queue_capacity < 1 || config.command_queue_capacity > kMaxCommandQueueCapacity ||
      config.max_notes < 1 || config.max_notes > kMaxNotes || config.max_note_bytes < 1 ||
      config.max_note_bytes > kMaxNoteBytes || config.accept_budget < 1 || config.accept_budget > kMaxAcceptBudget)
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
  if (!accepting_) return std::unexpected(os_error(failure_ ? kFailedErrno : ESHUTDOWN));
  if (queue_.size() >= config_.command_queue_capacity) {
    commands_refused_.fetch_add(1, std::memory_order_relaxed);
    return std::unexpected(os_error(ENOBUFS));
  }
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
  if (!accepting_) return std::unexpected(os_error(failure_ ? kFailedErrno : ESHUTDOWN));
  if (commands.size() > config_.command_queue_capacity - queue_.size()) {  // all or nothing
    commands_refused_.fetch_add(commands.size(), std::memory_order_relaxed);
    return std::unexpected(os_error(ENOBUFS));
  }
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
  if (id < first_note_id_ || id - first_note_id_ >= notes_.size()) return std::nullopt;
  return notes_[id - first_note_id_];
}

std::optional<EngineFailure> Engine::failure() const {
  std::lock_guard lock(queue_mutex_);
  return failure_;
}

BoundsHit Engine::bounds_hit() const noexcept {
  BoundsHit b;
  b.commands_refused = commands_refused_.load(std::memory_order_relaxed);
  b.note_texts_dropped = note_texts_dropped_.load(std::memory_order_relaxed);
  b.note_bytes_truncated = note_bytes_truncated_.load(std::memory_order_relaxed);
  b.accept_budget_yields = accept_budget_yields_.load(std::memory_order_relaxed);
  return b;
}

std::optional<std::string> Engine::peer_text(std::uint64_t id) const {
  std::lock_guard lock(text_mutex_);
  if (id == 0 || id > peers_.size()) return std::nullopt;
  return peers_[id - 1];
}

std::optional<SourceInfo> Engine::source_info(Token token) const {
  std::lock_guard lock(text_mutex_);
  auto it = infos_.find(token.value);
  if (it == infos_.end()) return std::nullopt;
  return it->second;
}

}  // namespace ready::capture
