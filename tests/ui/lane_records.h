// Records and a store + LaneIndex pair for the suites that test lanes without an engine
// (tst_timeline_lanes, tst_lessons_panel). A record's fd is its token + 10.
#pragma once

#include <cstdint>

#include "ready/capture/command.h"
#include "ready/capture/record.h"
#include "ready/capture/store.h"
#include "timeline/laneindex.h"

namespace ready::test {

using capture::Op;
using capture::Outcome;
using capture::Record;
using capture::RecordKind;
using capture::RecordStore;
using capture::SourceBits;
using capture::SourceKind;
using capture::StoreLimits;

/// A store and the LaneIndex over it, fed one record at a time (eviction is left to the
/// test: call index.on_evicted when it wants the index to catch up).
struct Feed {
  explicit Feed(StoreLimits limits = {}) : store(limits), index(store) {}
  std::uint64_t add(const Record& r) {
    const std::uint64_t i = store.append(r);
    index.on_record(store.at(i), i);
    return i;
  }
  RecordStore store;
  ui::LaneIndex index;
};

/// A record of `kind` on `token` at `t`, with the token's fd; the builders below fill the rest.
inline Record on_token(std::uint64_t t, std::uint64_t token, RecordKind kind) {
  Record r;
  r.t_ns = t;
  r.token = token;
  r.fd = static_cast<std::int32_t>(token + 10);
  r.kind = kind;
  return r;
}

/// A source_added record; `value` is the partner's token of a pair end.
inline Record source(std::uint64_t t, std::uint64_t token, SourceKind kind, std::uint64_t value = 0,
                     SourceBits bits = {}) {
  Record r = on_token(t, token, RecordKind::source_added);
  r.op = static_cast<std::uint8_t>(kind);
  r.value = value;
  r.bits = bits.pack();
  return r;
}

inline Record readiness(std::uint64_t t, std::uint64_t token, std::uint32_t bits) {
  Record r = on_token(t, token, RecordKind::readiness);
  r.bits = bits;
  return r;
}

inline Record action(std::uint64_t t, std::uint64_t token, Op op, Outcome outcome, std::uint64_t value = 0) {
  Record r = on_token(t, token, RecordKind::action);
  r.op = static_cast<std::uint8_t>(op);
  r.outcome = outcome;
  r.value = value;
  return r;
}

inline Record changed(std::uint64_t t, std::uint64_t token, SourceBits bits) {
  Record r = source(t, token, SourceKind::tcp_stream, 0, bits);
  r.kind = RecordKind::source_changed;
  return r;
}

inline Record removed(std::uint64_t t, std::uint64_t token) {
  Record r = source(t, token, SourceKind::tcp_stream);
  r.kind = RecordKind::source_removed;
  return r;
}

inline Record poll_return(std::uint64_t t, std::uint64_t events, std::uint64_t blocked) {
  Record r;
  r.t_ns = t;
  r.kind = RecordKind::poll_return;
  r.value = events;
  r.value2 = blocked;
  return r;
}

}  // namespace ready::test
