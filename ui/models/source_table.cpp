#include "models/source_table.h"

#include <algorithm>
#include <cerrno>

#include "ready/error.h"

namespace ready::ui {

using capture::Op;
using capture::Outcome;
using capture::Record;
using capture::RecordKind;
using capture::SourceKind;

namespace {

bool is_stream(SourceKind k) {
  return k == SourceKind::tcp_stream || k == SourceKind::unix_stream || k == SourceKind::pipe_sender ||
         k == SourceKind::pipe_receiver;
}
bool is_socket_stream(SourceKind k) { return k == SourceKind::tcp_stream || k == SourceKind::unix_stream; }
bool counts_bytes(SourceKind k) { return k != SourceKind::eventfd && k != SourceKind::timerfd; }

/// Errors that say the connection itself is gone or never came up (not a misused command).
bool is_connection_error(int e) {
  switch (e) {
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ENETDOWN:
    case EHOSTDOWN:
      return true;
    default:
      return false;
  }
}

SourceState initial_state(SourceKind k, std::uint64_t related) {
  switch (k) {
    case SourceKind::tcp_listener:
    case SourceKind::unix_listener:
      return SourceState::listening;
    case SourceKind::tcp_stream:
    case SourceKind::unix_stream:
      // Paired or accepted streams are connected from the start; a connect reports itself.
      return related != 0 ? SourceState::connected : SourceState::connecting;
    case SourceKind::udp:
    case SourceKind::unix_datagram:
      return SourceState::bound;
    case SourceKind::pipe_sender:
    case SourceKind::pipe_receiver:
    case SourceKind::eventfd:
    case SourceKind::timerfd:
    case SourceKind::signalfd:  // an attached process's other descriptors (docs/attach.md)
    case SourceKind::epoll:
    case SourceKind::file:
    case SourceKind::socket:
    case SourceKind::other:
      break;
  }
  return SourceState::open;
}

}  // namespace

std::string_view to_string(SourceState s) noexcept {
  switch (s) {
    case SourceState::connecting:
      return "connecting";
    case SourceState::connected:
      return "connected";
    case SourceState::listening:
      return "listening";
    case SourceState::half_closed:
      return "half-closed";
    case SourceState::closed:
      return "closed";
    case SourceState::error:
      return "error";
    case SourceState::bound:
      return "bound";
    case SourceState::open:
      return "open";
  }
  return "unknown";
}

std::string SourceRow::label() const {
  const auto named = [](const std::string& a) { return !a.empty() && a != "(unnamed)"; };
  const std::string tok = " #" + std::to_string(token);
  switch (relay) {
    case RelayRole::listener:
      return "relay " + (named(local) ? local : std::string("?")) + " \u2192 " + (named(peer) ? peer : std::string("?")) +
             tok;
    case RelayRole::client:
      return "conn " + std::to_string(relay_conn) + " client" + (named(peer) ? " " + peer : std::string()) + tok;
    case RelayRole::upstream:
      return "conn " + std::to_string(relay_conn) + " upstream" + (named(peer) ? " \u2192 " + peer : std::string()) +
             tok;
    case RelayRole::none:
      break;
  }
  std::string s = "#" + std::to_string(token) + " " + std::string(to_string(kind));
  if (named(local)) s += " " + local;
  if (named(peer)) s += " \u2192 " + peer;
  if (pid != 0)
    s += " (fd " + std::to_string(fd) + ", epoll " + std::to_string(epoll_fd) + ")";
  return s;
}

std::string SourceRow::interest_text() const {
  if (paused) return "paused";
  std::string s;
  const auto add = [&s](const char* w) { s += s.empty() ? w : std::string("|") + w; };
  if (interest.is_readable()) add("readable");
  if (interest.is_writable()) add("writable");
  if (interest.is_priority()) add("priority");
  return s;
}

std::string SourceRow::state_text() const {
  std::string s(to_string(state));
  if (state == SourceState::error) {
    s += ' ';
    s += errno_name(err);
  } else if (state == SourceState::closed && err != 0) {
    s += " (" + errno_name(err) + ')';
  }
  return s;
}

int SourceTable::row_of(std::uint64_t token) const {
  auto it = by_token_.find(token);
  return it == by_token_.end() ? -1 : static_cast<int>(it->second);
}

const SourceRow* SourceTable::find(std::uint64_t token) const {
  auto it = by_token_.find(token);
  return it == by_token_.end() ? nullptr : &rows_[it->second];
}

SourceRow* SourceTable::row_for(std::uint64_t token) {
  auto it = by_token_.find(token);
  if (it == by_token_.end()) return nullptr;
  touch(it->second);
  return &rows_[it->second];
}

void SourceTable::touch(std::size_t row) {
  if (row >= reported_rows_ || dirty_mark_[row]) return;  // new rows are reported as new
  dirty_mark_[row] = true;
  dirty_.push_back(row);
}

void SourceTable::evict_closed(std::size_t keep) {
  if (closed_rows_ <= keep) return;
  std::size_t evict = closed_rows_ - keep;
  constexpr std::size_t kGone = static_cast<std::size_t>(-1);
  std::vector<std::size_t> new_index(rows_.size(), kGone);
  std::vector<std::size_t> removed_reported;  // ascending
  std::size_t out = 0;
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    if (evict > 0 && rows_[i].is_closed()) {
      --evict;
      by_token_.erase(rows_[i].token);
      if (i < reported_rows_) removed_reported.push_back(i);
      continue;
    }
    new_index[i] = out;
    if (out != i) {
      rows_[out] = std::move(rows_[i]);
      by_token_[rows_[out].token] = out;
    }
    ++out;
  }
  const std::size_t gone = rows_.size() - out;
  rows_.resize(out);
  closed_rows_ -= gone;
  evicted_closed_ += gone;
  // Removing from the highest position down leaves the lower positions as they were.
  removed_.insert(removed_.end(), removed_reported.rbegin(), removed_reported.rend());
  reported_rows_ -= removed_reported.size();
  std::vector<std::size_t> dirty;
  for (std::size_t r : dirty_)
    if (new_index[r] != kGone) dirty.push_back(new_index[r]);
  dirty_ = std::move(dirty);
  dirty_mark_.assign(reported_rows_, false);
  for (std::size_t r : dirty_) dirty_mark_[r] = true;
}

SourceTable::Dirty SourceTable::take_dirty() {
  evict_closed(kMaxClosedRows);
  Dirty d;
  d.removed = std::move(removed_);
  removed_.clear();
  d.first_new = reported_rows_;
  d.end = rows_.size();
  std::sort(dirty_.begin(), dirty_.end());
  for (std::size_t r : dirty_) dirty_mark_[r] = false;
  d.changed = std::move(dirty_);
  dirty_.clear();
  reported_rows_ = rows_.size();
  dirty_mark_.resize(rows_.size(), false);
  return d;
}

void SourceTable::add(const Record& r) {
  if (by_token_.contains(r.token)) return;  // hand-made input: a token is added once
  SourceRow row;
  row.token = r.token;
  row.kind = static_cast<SourceKind>(r.op);
  row.fd = r.fd;
  row.related = r.value;
  row.command = r.command();
  row.state = initial_state(row.kind, r.value);
  if (r.attached_pid() != 0) {  // another process's registration: no partner, no command
    row.related = 0;
    row.command = 0;
    row.pid = r.attached_pid();
    row.epoll_fd = r.attached_epoll_fd();
    row.mask = r.attached_events();
    row.data = r.attached_data();
    // Seen established or listening (a stream of its own would otherwise wait for a connect action).
    row.state = initial_state(row.kind, 1);
  }
  const auto b = capture::SourceBits::unpack(r.bits);
  row.interest = b.interest;
  row.paused = b.paused;
  row.trigger = b.trigger;
  row.reaction = b.reaction;
  row.t_added = r.t_ns;
  if (lookup_) {
    if (auto info = lookup_(r.token)) {
      row.local = std::move(info->local);
      row.peer = std::move(info->peer);
    }
  }
  if (row.reaction == capture::Reaction::relay) {
    // A relay's parts, told apart by what they are related to (cmd::Relay).
    const auto parent = by_token_.find(r.value);
    SourceRow* p = parent == by_token_.end() ? nullptr : &rows_[parent->second];
    if (r.value == 0 && (row.kind == SourceKind::tcp_listener || row.kind == SourceKind::unix_listener)) {
      row.relay = RelayRole::listener;
      row.relay_listener = r.token;
    } else if (p && p->relay == RelayRole::listener) {
      row.relay = RelayRole::client;
      row.relay_conn = ++p->relay_conn;
      row.relay_listener = p->token;
      touch(parent->second);
    } else if (p && p->relay == RelayRole::client) {
      row.relay = RelayRole::upstream;
      row.relay_conn = p->relay_conn;
      row.relay_listener = p->relay_listener;
      // Until its connect completes the leg has no peer: the relay's upstream names it.
      if (row.peer.empty())
        if (const SourceRow* l = find(p->relay_listener)) row.peer = l->peer;
    }
  }
  by_token_.emplace(r.token, rows_.size());
  rows_.push_back(std::move(row));
}

void SourceTable::on_record(const Record& r, std::uint64_t index) {
  (void)index;
  switch (r.kind) {
    case RecordKind::source_added:
      add(r);
      return;
    case RecordKind::poll_return:
    case RecordKind::note:
    case RecordKind::stats:
    case RecordKind::warning:
    case RecordKind::queue:
      return;
    case RecordKind::source_changed:
    case RecordKind::source_removed:
    case RecordKind::readiness:
    case RecordKind::action:
      break;
  }
  SourceRow* s = row_for(r.token);
  if (!s) return;

  if (r.kind == RecordKind::source_changed) {
    const auto b = capture::SourceBits::unpack(r.bits);
    // SetReaction records source_changed too but does not re-register: only a changed
    // reaction with the same interest and mode leaves a disarmed oneshot disarmed.
    const bool reaction_only =
        b.interest == s->interest && b.trigger == s->trigger && b.reaction != s->reaction;
    if (!reaction_only) s->armed = true;
    s->paused = b.paused;
    if (!b.paused) s->interest = b.interest;
    s->trigger = b.trigger;
    s->reaction = b.reaction;
    if (r.attached_pid() != 0) {
      s->mask = r.attached_events();
      s->data = r.attached_data();
    }
    return;
  }
  if (r.kind == RecordKind::source_removed) {
    const auto b = capture::SourceBits::unpack(r.bits);
    if (!b.paused) s->interest = b.interest;
    s->paused = false;
    s->trigger = b.trigger;
    s->reaction = b.reaction;
    if (r.attached_pid() == 0) {  // an attached registration's bytes are not known
      s->bytes_in = r.value;
      s->bytes_out = r.value2;
    }
    if (!s->is_closed()) ++closed_rows_;
    s->state = SourceState::closed;
    s->t_removed = r.t_ns;
    // With no take_dirty() for a while (headless has no model), trim here, in batches.
    if (closed_rows_ > 2 * kMaxClosedRows) evict_closed(kMaxClosedRows);
    return;
  }
  if (s->state == SourceState::closed) return;  // nothing after source_removed changes a row

  if (r.kind == RecordKind::readiness) {
    ++s->events;
    if (s->trigger == Trigger::oneshot) s->armed = false;
    if (is_socket_stream(s->kind) && (capture::readiness_flags(r.bits) & capture::flag_read_closed) &&
        s->state == SourceState::connected)
      s->state = SourceState::half_closed;
    return;
  }

  // An action.
  const auto op = static_cast<Op>(r.op);
  if (r.outcome == Outcome::would_block) ++s->would_blocks;
  if (r.outcome == Outcome::error) ++s->errors;
  if (counts_bytes(s->kind) && r.outcome != Outcome::error) {
    if (op == Op::read || op == Op::drain) s->bytes_in += r.value;
    if (op == Op::write || op == Op::fill) s->bytes_out += r.value;
  }
  switch (op) {
    case Op::connect:
      if (r.outcome == Outcome::in_progress) {
        s->state = SourceState::connecting;
      } else if (r.outcome == Outcome::ok) {
        s->state = SourceState::connected;
        // A TCP connect has no peer (and maybe no local port) until it completes: ask again.
        if (lookup_) {
          if (auto info = lookup_(r.token)) {
            s->local = std::move(info->local);
            s->peer = std::move(info->peer);
          }
        }
      } else if (r.outcome == Outcome::error) {
        s->state = SourceState::error;
        s->err = r.err;
      }
      return;
    case Op::rearm:
      if (r.outcome == Outcome::ok) s->armed = true;
      return;
    case Op::shutdown_read:
    case Op::shutdown_write:
      if (r.outcome == Outcome::ok && s->state == SourceState::connected) s->state = SourceState::half_closed;
      break;
    case Op::read:
    case Op::drain:
      if (r.outcome == Outcome::eof && is_stream(s->kind) &&
          (s->state == SourceState::connected || s->state == SourceState::open))
        s->state = SourceState::half_closed;
      break;
    default:
      break;
  }
  if (r.outcome == Outcome::error && is_socket_stream(s->kind) && is_connection_error(r.err)) {
    s->state = SourceState::error;
    s->err = r.err;
  } else if (r.outcome == Outcome::error && is_stream(s->kind) && r.err == EPIPE) {
    s->state = SourceState::error;  // a pipe sender whose reader is gone
    s->err = r.err;
  }
}

}  // namespace ready::ui
