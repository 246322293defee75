// Helpers for the ui suites that drive a real capture engine through a Bridge.
#pragma once

#include <QTest>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "session/bridge.h"
#include "peer.h"
#include "ready/capture/engine.h"
#include "ready/capture/notifier.h"
#include "ready/capture/ring.h"
#include "ready/capture/store.h"
#include "ready_test.h"

namespace ready::test {

/// Generous: real events on a loaded 2-core machine.
inline constexpr int kUiWaitMs = 10000;

/// The first store index from `from` on whose record satisfies `pred`.
inline std::optional<std::uint64_t> find_record(const capture::RecordStore& s,
                                                const std::function<bool(const capture::Record&)>& pred,
                                                std::uint64_t from = 0) {
  for (std::uint64_t i = std::max(from, s.begin_index()); i < s.end_index(); ++i)
    if (pred(s.at(i))) return i;
  return std::nullopt;
}

inline std::function<bool(const capture::Record&)> kind_of(capture::RecordKind k, Token t) {
  return [=](const capture::Record& r) { return r.kind == k && r.token == t.value; };
}

inline std::function<bool(const capture::Record&)> action_of(
    Token t, capture::Op op, std::optional<capture::Outcome> outcome = std::nullopt) {
  return [=](const capture::Record& r) {
    return r.kind == capture::RecordKind::action && r.token == t.value &&
           r.op == static_cast<std::uint8_t>(op) && (!outcome || r.outcome == *outcome);
  };
}

using ui::RingFeed;

/// A loopback address nothing listens on (a listener's port, after the listener closed).
inline net::SocketAddr closed_port() {
  auto l = plain_listener(any_local_address());
  return l ? local_address(l->get()) : net::SocketAddr();
}

/// Starts a bridge over a real engine, or fails the calling test (use in a test body).
#define START_BRIDGE(var, ...)                                  \
  auto var##_started = ::ready::ui::Bridge::start(__VA_ARGS__); \
  QVERIFY2(var##_started.has_value(), "Bridge::start failed");  \
  std::unique_ptr<::ready::ui::Bridge> var = std::move(*var##_started)

/// Waits (processing events, so the bridge drains) until the store holds a record
/// satisfying `pred`; its index in `idx` (a std::optional<std::uint64_t> in scope).
#define WAIT_RECORD(bridge, idx, pred)                                                               \
  QTRY_VERIFY_WITH_TIMEOUT((idx = ::ready::test::find_record((bridge).store(), (pred))).has_value(), \
                           ::ready::test::kUiWaitMs)

}  // namespace ready::test
