// RecordStore's per-token state under eviction: a long capture creates and closes sources
// without end, and the state of a token whose records are all evicted is freed, so it stays
// bounded by the records held; queries for the tokens still held stay exact.
#include <cstdint>
#include <deque>
#include <vector>

#include "ready/capture/store.h"
#include "ready_test.h"

using namespace ready::capture;

namespace {
Record make(RecordKind k, std::uint64_t t, std::uint64_t token, int fd, std::uint64_t value = 0) {
  Record r;
  r.kind = k;
  r.t_ns = t;
  r.token = token;
  r.fd = fd;
  if (k == RecordKind::readiness) r.bits = 1;
  if (k == RecordKind::action) {
    r.op = static_cast<std::uint8_t>(Op::read);
    r.value = value;
  }
  if (k == RecordKind::source_added || k == RecordKind::source_removed) r.value = value;
  return r;
}

/// The records a short-lived source leaves: added, readiness, a read, removed (compact and
/// full forms both).
std::vector<Record> lifetime(std::uint64_t t, std::uint64_t token, int fd) {
  return {make(RecordKind::source_added, t, token, fd), make(RecordKind::readiness, t + 1, token, fd),
          make(RecordKind::action, t + 2, token, fd, 5), make(RecordKind::source_removed, t + 3, token, fd, 5)};
}

/// Every record held is the one appended (mirror: the last records appended, by index).
bool holds_exactly(const RecordStore& store, const std::deque<Record>& mirror, std::uint64_t mirror_begin) {
  for (std::uint64_t i = store.begin_index(); i < store.end_index(); ++i)
    if (store.at(i) != mirror[static_cast<std::size_t>(i - mirror_begin)]) return false;
  return true;
}
}  // namespace

class TestStoreTokens : public ready::test::CoreTest {
  Q_OBJECT
 private slots:
  // 10,000 short-lived tokens through a store capped at 256 records: the per-token state
  // follows the records held, not the tokens ever seen.
  void state_of_evicted_tokens_is_freed() {
    constexpr std::uint64_t kMax = 256;
    RecordStore store(StoreLimits{.chunk_records = 64, .max_records = kMax});
    std::size_t most_tokens = 0;
    std::size_t memory_after_1000 = 0;
    for (std::uint64_t token = 1; token <= 10'000; ++token) {
      for (const Record& r : lifetime(token * 10, token, static_cast<int>(3 + token % 50))) store.append(r);
      most_tokens = std::max(most_tokens, store.token_count());
      if (token == 1000) memory_after_1000 = store.memory_bytes();
    }
    QVERIFY(store.evicted() > 0);
    // 4 records per token, at most kMax held (plus the token being appended).
    const std::size_t bound = kMax / 4 + 1;
    QVERIFY2(most_tokens <= bound, qPrintable(QString("%1 tokens held at once").arg(most_tokens)));
    QVERIFY2(store.token_slots() <= bound, qPrintable(QString("%1 slots").arg(store.token_slots())));
    QCOMPARE(store.memory_bytes(), memory_after_1000);
    // An evicted token is unknown; the newest is whole.
    QCOMPARE(store.count(1), std::uint64_t{0});
    QVERIFY(store.token_range(1, 0, ~0ull).empty());
    QCOMPARE(store.count(10'000), std::uint64_t{4});
  }

  // A long-lived token among thousands of short-lived ones: every record held reads back
  // exactly, and the token queries of live tokens match a scan of what is held.
  void live_tokens_stay_exact() {
    RecordStore store(StoreLimits{.chunk_records = 32, .max_records = 128});
    std::deque<Record> mirror;
    std::uint64_t mirror_begin = 0;
    auto append = [&](const Record& r) {
      store.append(r);
      mirror.push_back(r);
      while (mirror.size() > 200) {
        mirror.pop_front();
        ++mirror_begin;
      }
    };
    constexpr std::uint64_t kLong = 1'000'000;  // above every short-lived token
    std::uint64_t t = 1;
    for (std::uint64_t token = 1; token <= 3000; ++token, t += 10) {
      append(make(RecordKind::readiness, t, kLong, 7));
      for (const Record& r : lifetime(t, token, static_cast<int>(100 + token % 7))) append(r);
      if (token % 97 == 0) {
        QVERIFY(holds_exactly(store, mirror, mirror_begin));
        for (const std::uint64_t tok : {kLong, token, token - 1}) {
          std::vector<std::uint64_t> scanned;
          for (std::uint64_t i = store.begin_index(); i < store.end_index(); ++i)
            if (store.at(i).token == tok) scanned.push_back(i);
          const auto ix = store.token_range(tok, 0, ~0ull);
          QCOMPARE(std::vector<std::uint64_t>(ix.begin(), ix.end()), scanned);
          QCOMPARE(store.count(tok), static_cast<std::uint64_t>(scanned.size()));
        }
      }
    }
    QVERIFY(store.token_count() <= 128 / 5 + 3);  // 5 records per iteration, one token partly evicted
    QVERIFY(store.count(kLong) > 0);
  }

  // A token whose records were all evicted and that appears again (a source quiet for a
  // long time) starts afresh, with the fd of its next record, and reads back exactly.
  void token_seen_again_starts_afresh() {
    RecordStore store(StoreLimits{.chunk_records = 4, .max_records = 8});
    store.append(make(RecordKind::readiness, 1, 42, 5));
    for (std::uint64_t i = 0; i < 12; ++i) store.append(make(RecordKind::readiness, 2 + i, 100 + i, 9));
    QCOMPARE(store.count(42), std::uint64_t{0});
    const Record again = make(RecordKind::readiness, 20, 42, 11);
    const Record other_fd = make(RecordKind::readiness, 21, 42, 12);
    const std::uint64_t i1 = store.append(again);
    const std::uint64_t i2 = store.append(other_fd);
    QCOMPARE(store.at(i1), again);
    QCOMPARE(store.at(i2), other_fd);
    QCOMPARE(store.count(42), std::uint64_t{2});
    QCOMPARE(store.token_count(), static_cast<std::size_t>(1 + (store.size() - 2)));
  }
};

QTEST_GUILESS_MAIN(TestStoreTokens)
#include "tst_store_tokens.moc"
