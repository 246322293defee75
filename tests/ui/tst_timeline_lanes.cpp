// LaneIndex: lanes, their order, interest bands and the multi-resolution summaries.
#include <QTest>

#include <cstdint>
#include <random>
#include <vector>

#include "ready/capture/command.h"
#include "ready/capture/record.h"
#include "ready/capture/store.h"
#include "lane_records.h"
#include "timeline/laneindex.h"

using namespace ready;
using namespace ready::capture;
using ready::ui::action_glyph;
using ready::ui::InterestSpan;
using ready::ui::LaneIndex;
using ready::ui::MarkBucket;
using ready::ui::MarkColumn;
using ready::ui::SummaryLevels;
using ready::ui::TimeScale;
using namespace ready::test;

namespace {

using Levels = SummaryLevels<MarkBucket>;

constexpr std::uint32_t kIn = 0x001, kOut = 0x004, kErr = 0x008, kHup = 0x010, kPri = 0x002, kRdHup = 0x2000;

// Records of three sources with the given mean spacing, bursts included, deterministic.
void fill(Feed& f, std::uint64_t spacing, std::uint32_t seed, std::size_t n) {
  std::mt19937 rng(seed);
  const std::uint32_t bits[] = {kIn, kOut, kIn | kOut, kErr | kHup, kIn | kRdHup, kPri, kIn | kHup};
  const Op ops[] = {Op::read, Op::write, Op::drain, Op::connect};
  const Outcome outcomes[] = {Outcome::ok, Outcome::would_block, Outcome::eof, Outcome::error};
  std::uint64_t t = 1000;
  for (std::uint64_t tok = 1; tok <= 3; ++tok) f.add(source(t, tok, SourceKind::tcp_stream));
  for (std::size_t i = 0; i < n; ++i) {
    // Mostly spaced, sometimes a burst at one instant, sometimes a long gap.
    const std::uint32_t roll = rng() % 100;
    t += roll < 10 ? 0 : roll < 95 ? rng() % (2 * spacing + 1) : spacing * 500;
    const std::uint64_t tok = 1 + rng() % 3;
    if (rng() % 2)
      f.add(readiness(t, tok, bits[rng() % std::size(bits)]));
    else if (rng() % 8)
      f.add(action(t, tok, ops[rng() % std::size(ops)], outcomes[rng() % std::size(outcomes)], rng() % 100));
    else
      f.add(poll_return(t, rng() % 5, rng() % spacing));
  }
}

struct Exact {
  std::uint64_t count = 0;
  std::uint8_t flags = 0;
};
Exact exact(const RecordStore& s, std::uint64_t token, RecordKind kind, std::uint64_t t0, std::uint64_t t1) {
  Exact e;
  for (std::uint64_t i : s.token_range(token, t0, t1)) {
    if (s.kind_at(i) != kind) continue;
    const Record r = s.at(i);
    ++e.count;
    e.flags |= kind == RecordKind::readiness ? readiness_flags(r.bits) : action_glyph(r);
  }
  return e;
}

}  // namespace

class TimelineLanesTest : public QObject {
  Q_OBJECT

 private slots:
  void levels_preserve_counts_and_kinds_data() {
    QTest::addColumn<quint64>("spacing");
    QTest::addColumn<quint32>("seed");
    QTest::newRow("dense 100 ns") << quint64(100) << quint32(1);
    QTest::newRow("every 20 us") << quint64(20'000) << quint32(2);
    QTest::newRow("sparse 3 ms") << quint64(3'000'000) << quint32(3);
  }
  // Over ranges aligned to a level's bucket width, the level's buckets sum to the store's
  // exact count and union of flags, for every level, lane and summary.
  void levels_preserve_counts_and_kinds() {
    QFETCH(quint64, spacing);
    QFETCH(quint32, seed);
    Feed f;
    fill(f, spacing, seed, 20'000);
    const std::uint64_t last = f.store.time_at(f.store.end_index() - 1);
    std::mt19937 rng(seed);
    for (std::uint64_t tok = 1; tok <= 3; ++tok) {
      const auto lane = f.index.lane_of(tok);
      QVERIFY(lane.has_value());
      const auto& l = f.index.lane(*lane);
      for (const bool marks : {true, false}) {
        const Levels& levels = marks ? l.readiness : l.actions;
        const RecordKind kind = marks ? RecordKind::readiness : RecordKind::action;
        const Exact all = exact(f.store, tok, kind, 0, TimeScale::kMaxTime);
        QVERIFY(all.count > 0);
        for (std::size_t k = 0; k < Levels::kLevels; ++k) {
          const std::uint64_t w = Levels::width(k);
          // The whole level, then a few random aligned sub-ranges.
          std::uint64_t total = 0;
          std::uint8_t flags = 0;
          for (const MarkBucket& b : levels.level(k)) {
            total += b.count();
            flags |= b.flags();
          }
          QCOMPARE(total, all.count);
          QCOMPARE(flags, all.flags);
          for (int i = 0; i < 5; ++i) {
            const std::uint64_t b0 = (rng() % (last / w + 1));
            const std::uint64_t b1 = b0 + 1 + rng() % 8;
            std::uint64_t sum = 0;
            std::uint8_t uni = 0;
            for (const MarkBucket& b : levels.level(k))
              if (b.bucket() >= b0 && b.bucket() < b1) {
                sum += b.count();
                uni |= b.flags();
              }
            const Exact e = exact(f.store, tok, kind, b0 * w, b1 * w);
            QCOMPARE(sum, e.count);
            QCOMPARE(uni, e.flags);
          }
          // Entries per level never exceed records, and never grow with coarser levels.
          QVERIFY(levels.level(k).size() <= all.count);
          if (k > 0) QVERIFY(levels.level(k).size() <= levels.level(k - 1).size());
        }
      }
    }
    QVERIFY(f.index.memory_bytes() > f.index.summary_entries() * sizeof(MarkBucket) / 2);
  }

  // More records in one bucket than a bucket's 16-bit count holds: a second entry with the
  // same bucket number carries on, and the sums stay exact.
  void bucket_count_overflow() {
    Feed f;
    f.add(source(0, 1, SourceKind::eventfd));
    constexpr std::uint64_t kN = 70'000;
    for (std::uint64_t i = 0; i < kN; ++i) f.add(readiness(1000 + i / 16, 1, i % 2 ? kIn : kOut));
    const auto& l = f.index.lane(*f.index.lane_of(1));
    for (std::size_t k = 0; k < Levels::kLevels; ++k) {
      std::uint64_t sum = 0;
      for (const MarkBucket& b : l.readiness.level(k)) sum += b.count();
      QCOMPARE(sum, kN);
    }
    QCOMPARE(l.readiness.level(Levels::kLevels - 1).size(), std::size_t{2});
    QCOMPARE(l.readiness.level(Levels::kLevels - 1)[0].count(), MarkBucket::kMaxCount);
  }

  void columns_match_exact_records_data() {
    QTest::addColumn<quint64>("ns_per_px");
    QTest::newRow("finer than the finest level (exact records)") << quint64(1000);
    QTest::newRow("level 0") << quint64(Levels::width(0));
    QTest::newRow("between levels") << quint64(Levels::width(3) * 3);
  }
  // The columns of a view whose ends are aligned to the level used hold every record in it.
  void columns_match_exact_records() {
    QFETCH(quint64, ns_per_px);
    Feed f;
    fill(f, 2'000, 7, 30'000);
    const std::size_t width = 500;
    const std::uint64_t span = ns_per_pixel_span(ns_per_px, width);
    // Start at a record in the middle, aligned down to the level's bucket width.
    std::uint64_t t0 = f.store.time_at(f.store.begin_index() + f.store.size() / 2);
    const auto k = LaneIndex::level_for(TimeScale(t0, t0 + span, 0, width));
    if (k) t0 &= ~(Levels::width(*k) - 1);
    const TimeScale scale(t0, t0 + span, 0, width);
    QCOMPARE(LaneIndex::level_for(scale), k);
    QCOMPARE(k.has_value(), ns_per_px >= Levels::width(0));
    std::vector<MarkColumn> cols(width);
    for (std::uint64_t tok = 1; tok <= 3; ++tok) {
      const std::uint32_t lane = *f.index.lane_of(tok);
      f.index.readiness_columns(lane, scale, cols);
      std::uint64_t sum = 0;
      std::uint8_t flags = 0;
      for (const MarkColumn& c : cols) {
        sum += c.count;
        flags |= c.flags;
      }
      const Exact e = exact(f.store, tok, RecordKind::readiness, t0, t0 + span);
      QCOMPARE(sum, e.count);
      QCOMPARE(flags, e.flags);
      QVERIFY(e.count > 0);
      f.index.action_columns(lane, scale, cols);
      sum = 0;
      for (const MarkColumn& c : cols) sum += c.count;
      QCOMPARE(sum, exact(f.store, tok, RecordKind::action, t0, t0 + span).count);
    }
  }

  void poll_lane() {
    Feed f;
    f.add(poll_return(100'000, 3, 50'000));
    f.add(poll_return(200'000, 0, 90'000));
    f.add(poll_return(5'000'000, 7, 4'000'000));
    QCOMPARE(f.index.order().front(), 0u);
    QVERIFY(f.index.lane(0).is_poll);
    for (std::size_t k = 0; k < Levels::kLevels; ++k) {
      std::uint64_t returns = 0, events = 0, blocked = 0, max_events = 0;
      for (const auto& b : f.index.poll_summary().level(k)) {
        returns += b.returns;
        events += b.events;
        blocked += b.blocked_ns;
        max_events = std::max<std::uint64_t>(max_events, b.max_events);
      }
      QCOMPARE(returns, std::uint64_t{3});
      QCOMPARE(events, std::uint64_t{10});
      QCOMPARE(blocked, std::uint64_t{4'140'000});
      QCOMPARE(max_events, std::uint64_t{7});
    }
    std::vector<ready::ui::PollColumn> cols(100);
    for (const std::uint64_t span : {std::uint64_t{10'000'000}, std::uint64_t{50'000}}) {
      f.index.poll_columns(TimeScale(0, span, 0, 100), cols);
      std::uint64_t returns = 0;
      for (const auto& c : cols) returns += c.returns;
      QCOMPARE(returns, span == 50'000 ? std::uint64_t{0} : std::uint64_t{3});
    }
  }

  void grouping_order() {
    Feed f;
    std::uint64_t t = 1;
    f.add(source(t++, 1, SourceKind::tcp_listener));
    f.add(source(t++, 2, SourceKind::tcp_stream));                 // a connect: its own group
    f.add(source(t++, 3, SourceKind::unix_stream, 4));             // pair, first end
    f.add(source(t++, 4, SourceKind::unix_stream, 3));             // pair, second end
    f.add(source(t++, 5, SourceKind::tcp_stream, 1));              // accepted by 1
    f.add(readiness(t++, 2, kIn));
    f.add(source(t++, 6, SourceKind::tcp_stream, 1));              // accepted by 1
    f.add(source(t++, 7, SourceKind::pipe_sender, 8));             // pipe
    f.add(source(t++, 8, SourceKind::pipe_receiver, 7));
    f.add(source(t++, 9, SourceKind::tcp_stream, 1));              // accepted by 1, later
    f.add(source(t++, 10, SourceKind::unix_listener));
    f.add(source(t++, 11, SourceKind::unix_stream, 10));
    std::vector<std::uint64_t> tokens;
    std::vector<int> depths;
    for (std::uint32_t id : f.index.order()) {
      tokens.push_back(f.index.lane(id).is_poll ? 0 : f.index.lane(id).token);
      depths.push_back(f.index.lane(id).depth);
    }
    QCOMPARE(tokens, (std::vector<std::uint64_t>{0, 1, 5, 6, 9, 2, 3, 4, 7, 8, 10, 11}));
    QCOMPARE(depths, (std::vector<int>{0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1}));
    const auto group = [&](std::uint64_t tok) { return f.index.lane(*f.index.lane_of(tok)).group; };
    QCOMPARE(group(5), group(1));
    QCOMPARE(group(9), group(1));
    QCOMPARE(group(4), group(3));
    QCOMPARE(group(8), group(7));
    QVERIFY(group(2) != group(1));
    QVERIFY(group(3) != group(7));
    QCOMPARE(f.index.lane(*f.index.lane_of(7)).kind, std::optional(SourceKind::pipe_sender));
    QCOMPARE(f.index.lane(*f.index.lane_of(5)).partner, std::uint64_t{1});
  }

  // A relay's group: the listener, then each connection's client leg with its upstream leg
  // right below (one step further in), even when another client was accepted in between; a
  // paused leg's interest span keeps the paused bits (the records an engine relay makes,
  // in an order the engine can produce when it accepts two clients in one event).
  void relay_grouping_and_paused_span() {
    Feed f;
    const SourceBits relay{Interest::READABLE, Trigger::edge, Reaction::relay};
    SourceBits paused = relay;
    paused.paused = true;
    std::uint64_t t = 1;
    f.add(source(t++, 1, SourceKind::tcp_listener, 0, relay));
    f.add(source(t++, 2, SourceKind::tcp_stream, 1, relay));  // client leg of conn 1
    f.add(source(t++, 3, SourceKind::tcp_stream, 1, relay));  // client leg of conn 2
    f.add(source(t++, 4, SourceKind::tcp_stream, 2, relay));  // upstream leg of conn 1
    f.add(source(t++, 5, SourceKind::tcp_listener));          // another group, not the relay's
    f.add(source(t++, 6, SourceKind::tcp_stream, 3, relay));  // upstream leg of conn 2
    Record changed = on_token(t++, 2, RecordKind::source_changed);
    changed.bits = paused.pack();
    f.add(changed);
    std::vector<std::uint64_t> tokens;
    std::vector<int> depths;
    for (std::uint32_t id : f.index.order()) {
      tokens.push_back(f.index.lane(id).is_poll ? 0 : f.index.lane(id).token);
      depths.push_back(f.index.lane(id).depth);
    }
    QCOMPARE(tokens, (std::vector<std::uint64_t>{0, 1, 2, 4, 3, 6, 5}));
    QCOMPARE(depths, (std::vector<int>{0, 0, 1, 2, 1, 2, 0}));
    const InterestSpan* span = f.index.interest_at(*f.index.lane_of(2), t - 1);
    QVERIFY(span);
    QVERIFY(SourceBits::unpack(span->bits).paused);
    QCOMPARE(span->bits & 0xffu, 0u);  // interest bits 0: registered for nothing
  }

  void interest_band_and_oneshot_arming() {
    Feed f;
    const SourceBits oneshot{Interest::READABLE, Trigger::oneshot, Reaction::none};
    const SourceBits level{Interest::READABLE | Interest::WRITABLE, Trigger::level, Reaction::none};
    f.add(source(100, 1, SourceKind::tcp_stream, 0, oneshot));
    f.add(readiness(200, 1, kIn));                          // delivered: disarmed
    f.add(action(250, 1, Op::read, Outcome::ok, 10));
    f.add(action(300, 1, Op::rearm, Outcome::error));       // a failed rearm changes nothing
    f.add(action(400, 1, Op::rearm, Outcome::ok));          // armed again
    f.add(readiness(500, 1, kIn));                          // disarmed
    f.add(changed(600, 1, oneshot));                        // a modify re-arms
    f.add(changed(700, 1, level));                          // not oneshot: always armed
    f.add(readiness(800, 1, kIn | kOut));
    f.add(readiness(900, 1, kIn));
    f.add(removed(1000, 1));
    struct S {
      std::uint64_t t0, t1;
      std::uint32_t bits;
      bool armed;
    };
    const std::vector<S> want{{100, 200, oneshot.pack(), true},  {200, 400, oneshot.pack(), false},
                              {400, 500, oneshot.pack(), true},  {500, 600, oneshot.pack(), false},
                              {600, 700, oneshot.pack(), true},  {700, 1000, level.pack(), true}};
    const auto& spans = f.index.lane(*f.index.lane_of(1)).interest;
    QCOMPARE(spans.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      QCOMPARE(spans[i].t0, want[i].t0);
      QCOMPARE(spans[i].t1, want[i].t1);
      QCOMPARE(spans[i].bits, want[i].bits);
      QCOMPARE(spans[i].armed, want[i].armed);
    }
    const std::uint32_t lane = *f.index.lane_of(1);
    QVERIFY(f.index.interest_at(lane, 99) == nullptr);
    QCOMPARE(f.index.interest_at(lane, 250)->armed, false);
    QCOMPARE(f.index.interest_at(lane, 400)->armed, true);
    QCOMPARE(f.index.interest_at(lane, 999)->bits, level.pack());
    QVERIFY(f.index.interest_at(lane, 1000) == nullptr);
    QCOMPARE(f.index.lane(lane).removed_ns, std::uint64_t{1000});
  }

  void notes_and_warnings_are_markers() {
    Feed f;
    f.index.set_note_text([](std::uint64_t id) { return QStringLiteral("text %1").arg(id); });
    Record n;
    n.t_ns = 10;
    n.kind = RecordKind::note;
    n.value = 42;
    f.add(n);
    f.add(source(20, 3, SourceKind::tcp_stream));
    Record w = readiness(30, 3, 0);
    w.kind = RecordKind::warning;
    w.op = static_cast<std::uint8_t>(WarningKind::payload_truncated);
    f.add(w);
    Record e = w;
    e.token = 99;  // no such source: an engine error
    e.op = static_cast<std::uint8_t>(WarningKind::engine_error);
    f.add(e);
    QVERIFY(!f.index.lane_of(99).has_value());
    const auto& m = f.index.markers();
    QCOMPARE(m.size(), std::size_t{3});
    QCOMPARE(m[2].lane, -1);
    QCOMPARE(m[0].text, QStringLiteral("text 42"));
    QCOMPARE(m[0].lane, -1);
    QCOMPARE(m[1].lane, static_cast<int>(*f.index.lane_of(3)));
    QCOMPARE(m[1].text, QStringLiteral("payload_truncated"));
    QCOMPARE(m[1].index, std::uint64_t{2});
  }

  // A process-wide action (token 0: exhaust_fds, release_fds) gets no lane of its own but a
  // marker across the lanes saying what it did.
  void process_wide_action_is_a_marker_not_a_lane() {
    Feed f;
    f.add(source(10, 3, SourceKind::tcp_listener));
    Record a = readiness(20, 0, 0);
    a.kind = RecordKind::action;
    a.op = static_cast<std::uint8_t>(Op::exhaust_fds);
    a.outcome = Outcome::ok;
    a.value = 238;
    f.add(a);
    QVERIFY(!f.index.lane_of(0).has_value());
    QCOMPARE(f.index.order().size(), std::size_t{2});  // the poll lane and the listener's
    const auto& m = f.index.markers();
    QCOMPARE(m.size(), std::size_t{1});
    QCOMPARE(m[0].lane, -1);
    QCOMPARE(m[0].text, QStringLiteral("exhaust_fds: ok 238"));
  }

  // After the store evicts, buckets wholly before its oldest record are gone, the rest still
  // sum exactly, removed sources whose records all went are dropped from the order.
  void eviction() {
    Feed f(StoreLimits{1024, 4096});
    f.add(source(0, 1, SourceKind::tcp_stream));
    f.add(source(0, 2, SourceKind::tcp_stream));
    f.add(readiness(10, 1, kIn));
    f.add(removed(20, 1));
    std::uint64_t t = 1000;
    for (int i = 0; i < 10'000; ++i) {
      t += 7'000;
      f.add(i % 2 ? readiness(t, 2, kIn) : action(t, 2, Op::read, Outcome::would_block));
    }
    QVERIFY(f.store.evicted() > 0);
    QVERIFY(f.index.lane_of(1).has_value());
    QCOMPARE(f.index.order().size(), std::size_t{3});
    f.index.on_evicted(f.store.begin_index());
    QCOMPARE(f.index.order().size(), std::size_t{2});  // poll + token 2
    QVERIFY(f.index.lane(*f.index.lane_of(1)).gone);
    const std::uint64_t first = f.store.time_at(f.store.begin_index());
    const auto& l = f.index.lane(*f.index.lane_of(2));
    QCOMPARE(l.interest.size(), std::size_t{1});  // still in force
    for (std::size_t k = 0; k < Levels::kLevels; ++k) {
      const std::uint64_t w = Levels::width(k);
      const auto level = l.readiness.level(k);
      QVERIFY(!level.empty());
      QVERIFY((level.front().bucket() + 1) * w > first);  // nothing wholly evicted is kept
      // From the first bucket boundary after the oldest record, counts are exact.
      const std::uint64_t from = (first / w + 1);
      std::uint64_t sum = 0;
      for (const MarkBucket& b : level)
        if (b.bucket() >= from) sum += b.count();
      QCOMPARE(sum, exact(f.store, 2, RecordKind::readiness, from * w, TimeScale::kMaxTime).count);
    }
    // Memory went down with the data: rebuild from the store gives the same entries.
    const std::size_t entries = f.index.summary_entries();
    LaneIndex fresh(f.store);
    QVERIFY(entries >= fresh.summary_entries());
    QVERIFY(entries <= fresh.summary_entries() + 2 * 2 * Levels::kLevels);
  }

 private:
  static std::uint64_t ns_per_pixel_span(std::uint64_t ns_per_px, std::size_t width) { return ns_per_px * width; }
};

QTEST_GUILESS_MAIN(TimelineLanesTest)
#include "tst_timeline_lanes.moc"
