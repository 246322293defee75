// The capture engine's RecordStore: time and token queries, compact readiness records,
// the out-of-order policy (clamp) and eviction under a cap.
#include <algorithm>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "ready/capture/store.h"
#include "ready_test.h"

using namespace ready::capture;

namespace {
Record readiness(std::uint64_t t, std::uint64_t token, int fd, std::uint32_t bits = 1) {
  Record r;
  r.kind = RecordKind::readiness;
  r.t_ns = t;
  r.token = token;
  r.fd = fd;
  r.bits = bits;
  return r;
}

Record action(std::uint64_t t, std::uint64_t token, int fd, std::uint64_t n) {
  Record r;
  r.kind = RecordKind::action;
  r.t_ns = t;
  r.token = token;
  r.fd = fd;
  r.op = static_cast<std::uint8_t>(Op::read);
  r.outcome = Outcome::ok;
  r.value = n;
  return r;
}

Record poll_return(std::uint64_t t, std::uint64_t events) {
  Record r;
  r.kind = RecordKind::poll_return;
  r.t_ns = t;
  r.value = events;
  r.value2 = 1000;
  return r;
}

std::vector<std::uint64_t> to_vector(const RecordStore::TokenIndices& ix) { return {ix.begin(), ix.end()}; }
}  // namespace

class TestRecordStore : public ready::test::CoreTest {
  Q_OBJECT
 private slots:
  // Limits are checked at construction.
  void invalid_limits_throw() {
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, RecordStore(StoreLimits{.chunk_records = 3}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, RecordStore(StoreLimits{.chunk_records = 1}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             RecordStore(StoreLimits{.chunk_records = 16, .max_records = 8}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             RecordStore(StoreLimits{.chunk_records = 16, .max_records = (1ull << 31) + 1}));
    RecordStore ok(StoreLimits{.chunk_records = 16, .max_records = 16});
    QVERIFY(ok.empty());
  }

  // Every kind reads back exactly as appended, compact or not; indices count from 0.
  void append_and_read_back() {
    RecordStore store(StoreLimits{.chunk_records = 4, .max_records = 64});
    std::vector<Record> in;
    Record added;
    added.kind = RecordKind::source_added;
    added.t_ns = 1;
    added.token = 7;
    added.fd = 5;
    added.op = static_cast<std::uint8_t>(SourceKind::tcp_stream);
    added.bits = 0x101;
    in.push_back(added);
    in.push_back(readiness(2, 7, 5, 0x1));
    in.push_back(action(3, 7, 5, 512));
    in.push_back(poll_return(4, 1));
    in.push_back(readiness(5, 7, 5, 0x2011));
    Record note;
    note.kind = RecordKind::note;
    note.t_ns = 6;
    note.value = 3;
    in.push_back(note);
    for (std::size_t i = 0; i < in.size(); ++i) QCOMPARE(store.append(in[i]), std::uint64_t{i});
    QCOMPARE(store.size(), std::uint64_t{in.size()});
    QCOMPARE(store.begin_index(), std::uint64_t{0});
    QCOMPARE(store.end_index(), std::uint64_t{in.size()});
    for (std::size_t i = 0; i < in.size(); ++i) {
      QCOMPARE(store.at(i), in[i]);
      QCOMPARE(store.time_at(i), in[i].t_ns);
      QCOMPARE(store.kind_at(i), in[i].kind);
    }
    // The two readiness records and the action are compact.
    QCOMPARE(store.stored_in_full(), std::uint64_t{3});
    QVERIFY_THROWS_EXCEPTION(std::out_of_range, (void)store.at(in.size()));
  }

  // lower_bound finds the first record at or after a time, duplicates included; a range is
  // half-open [t0, t1).
  void query_by_time() {
    RecordStore store(StoreLimits{.chunk_records = 4, .max_records = 64});
    const std::uint64_t times[] = {10, 20, 20, 20, 30, 40, 40, 50, 60};
    for (std::uint64_t t : times) store.append(readiness(t, 1, 3));
    QCOMPARE(store.lower_bound(0), std::uint64_t{0});
    QCOMPARE(store.lower_bound(10), std::uint64_t{0});
    QCOMPARE(store.lower_bound(11), std::uint64_t{1});
    QCOMPARE(store.lower_bound(20), std::uint64_t{1});  // the first of three, across a chunk edge
    QCOMPARE(store.lower_bound(21), std::uint64_t{4});
    QCOMPARE(store.lower_bound(40), std::uint64_t{5});
    QCOMPARE(store.lower_bound(60), std::uint64_t{8});
    QCOMPARE(store.lower_bound(61), std::uint64_t{9});
    QCOMPARE(store.range(20, 40), (RecordStore::IndexRange{1, 5}));
    QCOMPARE(store.range(20, 41), (RecordStore::IndexRange{1, 7}));
    QCOMPARE(store.range(0, 1000).size(), std::uint64_t{9});
    QVERIFY(store.range(40, 40).empty());
    QVERIFY(store.range(50, 10).empty());
    QVERIFY(store.range(70, 80).empty());
    RecordStore empty;
    QCOMPARE(empty.lower_bound(5), std::uint64_t{0});
    QVERIFY(empty.range(0, 100).empty());
  }

  // A token's records in a time range, and only its records; untokened kinds are not indexed.
  void query_by_token() {
    RecordStore store(StoreLimits{.chunk_records = 4, .max_records = 64});
    for (std::uint64_t t = 0; t < 30; ++t) {
      store.append(readiness(t, t % 3, static_cast<int>(10 + t % 3)));
      if (t % 5 == 0) store.append(poll_return(t, 1));
    }
    QCOMPARE(store.token_count(), std::size_t{3});
    auto all1 = to_vector(store.token_range(1, 0, 1000));
    QCOMPARE(all1.size(), std::size_t{10});
    for (std::uint64_t i : all1) {
      QCOMPARE(store.at(i).token, std::uint64_t{1});
      QCOMPARE(store.at(i).fd, 11);
    }
    QVERIFY(std::is_sorted(all1.begin(), all1.end()));
    auto mid = store.token_range(2, 5, 15);  // t = 5, 8, 11, 14
    QCOMPARE(mid.size(), std::size_t{4});
    QCOMPARE(store.at(mid[0]).t_ns, std::uint64_t{5});
    QCOMPARE(store.at(mid[3]).t_ns, std::uint64_t{14});
    QVERIFY(store.token_range(2, 15, 5).empty());
    QVERIFY(store.token_range(99, 0, 1000).empty());
    QCOMPARE(store.count(0), std::uint64_t{10});
    QCOMPARE(store.count(99), std::uint64_t{0});
  }

  // Readiness records from the engine take at most 24 bytes each, index included; the
  // estimate of memory in use agrees for a large store.
  void readiness_bytes_per_record() {
    static_assert(RecordStore::kReadinessBytes <= 24);
    QCOMPARE(RecordStore::kReadinessBytes, std::size_t{21});
    RecordStore store(StoreLimits{.chunk_records = 1 << 16, .max_records = 1 << 22});
    constexpr std::uint64_t kN = 1 << 20;
    for (std::uint64_t i = 0; i < kN; ++i) store.append(readiness(i, i % 64, static_cast<int>(i % 64)));
    QCOMPARE(store.stored_in_full(), std::uint64_t{0});
    const double per = static_cast<double>(store.memory_bytes()) / static_cast<double>(kN);
    qInfo("memory_bytes/record = %.2f", per);
    QVERIFY(per <= 24.0);
  }

  // A readiness record whose fd is not the token's fd (or that uses other fields) is kept in
  // full, so it still reads back exactly.
  void unusual_readiness_is_kept_in_full() {
    RecordStore store;
    store.append(readiness(1, 4, 9));
    store.append(readiness(2, 4, 10));  // another fd under the same token
    Record extra = readiness(3, 4, 9);
    extra.value = 77;
    store.append(extra);
    QCOMPARE(store.stored_in_full(), std::uint64_t{2});
    QCOMPARE(store.at(1), readiness(2, 4, 10));
    QCOMPARE(store.at(2), extra);
    QCOMPARE(store.count(4), std::uint64_t{3});
  }

  // An action as the engine's reactions make it is stored compactly and reads back exactly,
  // every outcome and op, up to the largest value the compact form holds; any other action
  // (a larger value, a command id, an errno, bits, another fd, an op or outcome outside the
  // form) is kept in full and reads back exactly too.
  void actions_compact_or_in_full() {
    RecordStore store(StoreLimits{.chunk_records = 8, .max_records = 256});
    store.append(readiness(1, 4, 9));  // the token's fd is 9
    std::vector<Record> compact;
    for (const Op each_op : ready::all_values<Op>())
      for (const Outcome o : ready::all_values<Outcome>()) {
        const auto op = static_cast<std::uint8_t>(each_op);
        Record a = action(2, 4, 9, (std::uint64_t{1} << 27) - 1 - op);
        a.op = op;
        a.outcome = o;
        compact.push_back(a);
      }
    Record last_op = action(2, 4, 9, 0);
    last_op.op = 31;
    compact.push_back(last_op);
    for (const Record& a : compact) store.append(a);
    QCOMPARE(store.stored_in_full(), std::uint64_t{0});

    std::vector<Record> full;
    full.push_back(action(3, 4, 9, std::uint64_t{1} << 27));
    Record with_cmd = action(3, 4, 9, 8);
    with_cmd.value2 = 17;
    full.push_back(with_cmd);
    Record with_err = action(3, 4, 9, 0);
    with_err.outcome = Outcome::error;
    with_err.err = 104;
    full.push_back(with_err);
    Record with_bits = action(3, 4, 9, 8);
    with_bits.bits = 1;
    full.push_back(with_bits);
    full.push_back(action(3, 4, 10, 8));  // not the token's fd
    Record big_op = action(3, 4, 9, 8);
    big_op.op = 32;
    full.push_back(big_op);
    Record odd_outcome = action(3, 4, 9, 8);
    odd_outcome.outcome = static_cast<Outcome>(8);
    full.push_back(odd_outcome);
    Record with_reserved = action(3, 4, 9, 8);
    with_reserved.reserved = 1;
    full.push_back(with_reserved);
    for (const Record& a : full) store.append(a);
    QCOMPARE(store.stored_in_full(), std::uint64_t{full.size()});

    std::uint64_t i = 1;
    for (const Record& a : compact) {
      QCOMPARE(store.at(i), a);
      QCOMPARE(store.kind_at(i), RecordKind::action);
      ++i;
    }
    for (const Record& a : full) {
      QCOMPARE(store.at(i), a);
      QCOMPARE(store.kind_at(i), RecordKind::action);
      ++i;
    }
    QCOMPARE(store.count(4), std::uint64_t{1 + compact.size() + full.size()});
  }

  // A time earlier than the last is clamped to the last: the record is kept in arrival
  // order, counted, and the store stays sorted for the binary searches.
  void out_of_order_append_is_clamped() {
    RecordStore store;
    store.append(readiness(100, 1, 3));
    store.append(readiness(50, 1, 3));
    store.append(readiness(100, 1, 3));  // equal is in order
    store.append(readiness(120, 1, 3));
    QCOMPARE(store.clamped(), std::uint64_t{1});
    QCOMPARE(store.size(), std::uint64_t{4});
    QCOMPARE(store.time_at(1), std::uint64_t{100});
    QCOMPARE(store.at(1).t_ns, std::uint64_t{100});
    QCOMPARE(store.range(0, 100).size(), std::uint64_t{0});
    QCOMPARE(store.range(100, 101).size(), std::uint64_t{3});
  }

  // Over the cap the oldest chunk goes; evicted() counts it; queries only see what is held.
  void eviction_counts_and_queries_stay_correct() {
    RecordStore store(StoreLimits{.chunk_records = 4, .max_records = 10});
    for (std::uint64_t t = 0; t < 100; ++t) store.append(readiness(t, t % 2, static_cast<int>(t % 2)));
    QVERIFY(store.size() <= 10);
    QVERIFY(store.size() >= 10 - 4 + 1);
    QCOMPARE(store.evicted() + store.size(), std::uint64_t{100});
    QCOMPARE(store.begin_index(), store.evicted());
    QCOMPARE(store.evicted() % 4, std::uint64_t{0});  // whole chunks
    QVERIFY(store.chunk_count() <= 4);                // held chunks plus one spare
    QVERIFY_THROWS_EXCEPTION(std::out_of_range, (void)store.at(store.begin_index() - 1));
    QCOMPARE(store.at(store.begin_index()).t_ns, store.begin_index());  // t == index here
    QCOMPARE(store.lower_bound(0), store.begin_index());
    QCOMPARE(store.range(0, 1000).size(), store.size());
    QCOMPARE(store.count(0) + store.count(1), store.size());
    for (std::uint64_t tok : {0u, 1u}) {
      auto ix = to_vector(store.token_range(tok, 0, 1000));
      QCOMPARE(ix.size(), std::size_t(store.count(tok)));
      for (std::uint64_t i : ix) {
        QVERIFY(i >= store.begin_index());
        QCOMPARE(store.at(i).token, tok);
      }
    }
  }

  // Many small chunks, random times with repeats, several tokens and kinds: every query
  // agrees with a brute-force scan, before and after eviction.
  void many_chunks_match_brute_force() {
    RecordStore store(StoreLimits{.chunk_records = 8, .max_records = 4096});
    std::mt19937_64 rng(7);
    std::vector<Record> all;
    std::uint64_t t = 0;
    for (int i = 0; i < 6000; ++i) {
      t += rng() % 3;  // many equal times
      const std::uint64_t tok = rng() % 5;
      Record r = rng() % 4 == 0 ? action(t, tok, static_cast<int>(tok), rng() % 100)
                                : readiness(t, tok, static_cast<int>(tok), 1u << (rng() % 4));
      if (rng() % 10 == 0) r = poll_return(t, 2);
      all.push_back(r);
      store.append(r);
    }
    QVERIFY(store.evicted() > 0);
    const std::uint64_t b = store.begin_index();
    for (std::uint64_t i = b; i < store.end_index(); i += 7) QCOMPARE(store.at(i), all[i]);
    for (int probe = 0; probe < 300; ++probe) {
      const std::uint64_t t0 = rng() % (t + 2), t1 = t0 + rng() % 200;
      std::uint64_t expect_lb = store.end_index();
      for (std::uint64_t i = b; i < all.size(); ++i)
        if (all[i].t_ns >= t0) {
          expect_lb = i;
          break;
        }
      QCOMPARE(store.lower_bound(t0), expect_lb);
      const std::uint64_t tok = rng() % 6;  // 5 is never used
      std::vector<std::uint64_t> expect;
      for (std::uint64_t i = b; i < all.size(); ++i)
        if (RecordStore::is_indexed_by_token(all[i].kind) && all[i].token == tok && all[i].t_ns >= t0 &&
            all[i].t_ns < t1)
          expect.push_back(i);
      QCOMPARE(to_vector(store.token_range(tok, t0, t1)), expect);
    }
  }
};

QTEST_GUILESS_MAIN(TestRecordStore)
#include "tst_record_store.moc"
