// Helpers shared by the capture engine suites: the test thread as the engine's consumer,
// and record predicates.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "peer.h"
#include "ready/capture/engine.h"
#include "ready_test.h"

namespace ready::test {

using namespace ready::capture;

/// The test thread as the engine's one consumer: waits on the notifier, drains to empty.
class Collector {
 public:
  explicit Collector(Engine& e) : e_(e) {}

  /// Takes every record the ring holds now.
  /// Drains the ring into `records`: until it is empty, or `most` records. wait_for passes a
  /// bound so that a source that refires faster than this thread copies (level-triggered
  /// writable, slowed further by a sanitizer) cannot keep it from ever checking its predicate.
  /// Returns true when records may be left (the Notifier stays quiet until the ring was seen
  /// empty).
  bool pump(std::size_t most = SIZE_MAX) {
    (void)e_.notifier().begin_drain();
    std::array<Record, 256> buf{};
    for (std::size_t drained = 0; drained < most;) {
      const std::size_t n = e_.drain(buf);
      if (n == 0) return false;
      records.insert(records.end(), buf.begin(), buf.begin() + n);
      drained += n;
    }
    return true;
  }

  /// Pumps until `pred(records)` holds (true) or the limit passes (false).
  bool wait_for(const std::function<bool(const std::vector<Record>&)>& pred,
                std::chrono::milliseconds limit = kWaitLimit) {
    for (Deadline d(limit);;) {
      const bool more = pump(65536);
      if (pred(records)) return true;
      if (d.expired()) return false;
      if (!more) (void)wait_readable(e_.notifier().as_raw_fd(), 100ms);
    }
  }

  /// The index of the first record from `from` on that satisfies `pred`.
  std::optional<std::size_t> find(const std::function<bool(const Record&)>& pred,
                                  std::size_t from = 0) const {
    for (std::size_t i = from; i < records.size(); ++i)
      if (pred(records[i])) return i;
    return std::nullopt;
  }

  std::vector<Record> records;

 private:
  Engine& e_;
};

inline std::function<bool(const Record&)> is_kind(RecordKind k, Token t) {
  return [=](const Record& r) { return r.kind == k && r.token == t.value; };
}
inline std::function<bool(const Record&)> is_action(Token t, Op op,
                                                    std::optional<Outcome> outcome = std::nullopt) {
  return [=](const Record& r) {
    return r.kind == RecordKind::action && r.token == t.value && r.op == static_cast<std::uint8_t>(op) &&
           (!outcome || r.outcome == *outcome);
  };
}
inline std::function<bool(const std::vector<Record>&)> seen(std::function<bool(const Record&)> pred) {
  return
      [p = std::move(pred)](const std::vector<Record>& rs) { return std::any_of(rs.begin(), rs.end(), p); };
}
inline std::size_t count(const std::vector<Record>& rs, RecordKind k) {
  return static_cast<std::size_t>(
      std::count_if(rs.begin(), rs.end(), [k](const Record& r) { return r.kind == k; }));
}

inline SourceOptions with(Reaction r, Interest i = Interest::READABLE, Trigger t = Trigger::edge) {
  return SourceOptions{i, t, ReactionSpec{r, 4096}};
}

/// A witness for "nothing happened" in an engine: an eventfd source created readable (edge,
/// counter 1), awaited until its readiness record is in `c.records`. Its event comes from an
/// epoll_wait that began after every command submitted before it had run, and the ring keeps
/// the poll thread's order, so a record those commands (or the events they cause) would
/// produce is in `c.records` by then. The witness's token, or nullopt if it never fired.
inline std::optional<Token> await_witness(Engine& eng, Collector& c) {
  auto w = eng.submit(cmd::EventFdCreate{1, false, SourceOptions{}});
  if (!w) return std::nullopt;
  if (!c.wait_for(seen(
          [t = w->token](const Record& r) { return r.kind == RecordKind::readiness && r.token == t.value; })))
    return std::nullopt;
  return w->token;
}

/// A loopback address nothing listens on (a listener's port, after the listener closed).
inline net::SocketAddr closed_port() {
  auto l = plain_listener(any_local_address());
  return l ? local_address(l->get()) : net::SocketAddr();
}

}  // namespace ready::test

/// Starts an Engine (with the given EngineConfig, if any) as `eng` and a Collector of its
/// records as `c`; fails the test if the engine cannot start.
#define START_ENGINE(eng, c, ...)                                       \
  auto eng##_started = ::ready::capture::Engine::start(__VA_ARGS__);    \
  QVERIFY_OK(eng##_started);                                            \
  ::ready::capture::Engine& eng = **eng##_started;                      \
  ::ready::test::Collector c(eng)
