// Payload buffers that grow with their bytes (docs/engine.md, "Payload"): the kept stream
// stays exact across every growth and wrap, nothing is evicted below the bound, eviction at
// the bound is as before; and payload(token, since, max_bytes) copies at most max_bytes,
// paging through the stream with `next`.
#include <cstdint>
#include <string>

#include "engine_util.h"

using namespace ready;
using namespace ready::test;

namespace {

std::string text(const std::vector<std::byte>& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

/// The bytes of one direction, in stream order.
std::string joined(const PayloadSnapshot& p, Direction d) {
  std::string s;
  for (const auto& c : p.chunks)
    if (c.direction == d) s += text(c.bytes);
  return s;
}

/// Write `i`'s bytes: distinct per write and per position, so a misplaced byte shows.
std::string block(int i, std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t k = 0; k < n; ++k) s[k] = static_cast<char>('A' + (i * 7 + static_cast<int>(k % 53)) % 58);
  return s;
}

std::uint64_t bytes_in(const std::vector<Record>& rs, Token t) {
  std::uint64_t n = 0;
  for (const Record& r : rs)
    if (r.kind == RecordKind::action && r.token == t.value && r.outcome != Outcome::error &&
        (r.op == static_cast<std::uint8_t>(Op::drain) || r.op == static_cast<std::uint8_t>(Op::read)))
      n += r.value;
  return n;
}

}  // namespace

class TestPayloadGrowth : public CoreTest {
  Q_OBJECT
 private slots:
  // Writes of 3000 bytes through a socket pair whose reader drains: both ends' buffers grow
  // from 4 KiB to the 64 KiB bound through every doubling, wrapping in between. Below the
  // bound nothing is evicted; past it, exactly the oldest bytes are.
  void stream_exact_across_growth_and_eviction() {
    EngineConfig cfg;
    cfg.payload_bytes_per_source = 64 * 1024;
    START_ENGINE(eng, c, cfg);
    auto p = eng.submit(cmd::SocketPair{});
    QVERIFY_OK(p);
    QVERIFY_OK(eng.submit(cmd::SetReaction{p->token2, ReactionSpec{Reaction::drain}}));
    std::string all;
    for (int i = 0; i < 40; ++i) {
      const std::string b = block(i, 3000);
      all += b;
      QVERIFY_OK(eng.submit(cmd::Write{p->token, b}));
      QVERIFY(c.wait_for([&](const auto& rs) { return bytes_in(rs, p->token2) == all.size(); }));
      const auto w = eng.payload(p->token);
      const auto r = eng.payload(p->token2);
      QVERIFY(w && r);
      const std::size_t kept = std::min<std::size_t>(all.size(), cfg.payload_bytes_per_source);
      QCOMPARE(w->next, std::uint64_t{all.size()});
      QCOMPARE(r->next, std::uint64_t{all.size()});
      QCOMPARE(w->evicted, std::uint64_t{all.size() - kept});
      QCOMPARE(r->evicted, std::uint64_t{all.size() - kept});
      QVERIFY2(joined(*w, Direction::out) == all.substr(all.size() - kept), qPrintable(QString("write %1").arg(i)));
      QVERIFY2(joined(*r, Direction::in) == all.substr(all.size() - kept), qPrintable(QString("read %1").arg(i)));
      QCOMPARE(w->chunks.front().offset, std::uint64_t{all.size() - kept});
    }
    // The first eviction was warned about once per source.
    QCOMPARE(std::count_if(c.records.begin(), c.records.end(),
                           [&](const Record& r) {
                             return r.kind == RecordKind::warning && r.token == p->token.value &&
                                    r.op == static_cast<std::uint8_t>(WarningKind::payload_truncated);
                           }),
             std::ptrdiff_t{1});
    // No growth failed.
    QVERIFY(!c.find([](const Record& r) {
      return r.kind == RecordKind::warning && r.op == static_cast<std::uint8_t>(WarningKind::engine_error);
    }));
  }

  // Many tiny writes: the chunk table grows too (from 32 entries to 512 for 64 KiB) and
  // evicts only at its bound, the oldest chunks first.
  void chunk_table_grows_to_its_bound() {
    EngineConfig cfg;
    cfg.payload_bytes_per_source = 64 * 1024;  // chunk bound: 512
    START_ENGINE(eng, c, cfg);
    auto p = eng.submit(cmd::SocketPair{});
    QVERIFY_OK(p);
    // The reader drains between batches: one-byte writes fill a socket pair's send
    // buffer after a few hundred (each is an skb of its own).
    QVERIFY_OK(eng.submit(cmd::SetReaction{p->token2, ReactionSpec{Reaction::drain}}));
    for (int b = 0; b < 6; ++b) {
      std::vector<Command> writes;
      for (int i = b * 100; i < (b + 1) * 100; ++i)
        writes.push_back(cmd::Write{p->token, std::string(1, static_cast<char>('a' + i % 26))});
      auto t = eng.submit_batch(std::move(writes));
      QVERIFY_OK(t);
      QVERIFY(c.wait_for([&](const auto& rs) { return bytes_in(rs, p->token2) == std::uint64_t(b + 1) * 100; }));
    }
    const auto w = eng.payload(p->token);
    QVERIFY(w);
    QCOMPARE(w->chunks.size(), std::size_t{512});
    QCOMPARE(w->evicted, std::uint64_t{600 - 512});
    QCOMPARE(w->chunks.front().offset, std::uint64_t{600 - 512});
    for (std::size_t k = 0; k < w->chunks.size(); ++k)
      QCOMPARE(text(w->chunks[k].bytes), std::string(1, static_cast<char>('a' + (600 - 512 + k) % 26)));
  }

  // payload(token, since, max_bytes): at most max_bytes, oldest first, the last chunk cut;
  // `next` continues where the copy stopped, and the pages join into the whole stream.
  void max_bytes_pages_through_the_stream() {
    START_ENGINE(eng, c);
    auto p = eng.submit(cmd::SocketPair{});
    QVERIFY_OK(p);
    std::string all;
    for (int i = 0; i < 5; ++i) {
      const std::string b = block(i, 2000);
      all += b;
      auto w = eng.submit(cmd::Write{p->token, b});
      QVERIFY_OK(w);
      QVERIFY(c.wait_for(seen([&](const Record& r) { return r.kind == RecordKind::action && r.value2 == w->id; })));
    }
    const auto first = eng.payload(p->token, 0, 3000);
    QVERIFY(first);
    QCOMPARE(first->chunks.size(), std::size_t{2});
    QCOMPARE(first->chunks[0].bytes.size(), std::size_t{2000});
    QCOMPARE(first->chunks[1].offset, std::uint64_t{2000});
    QCOMPARE(first->chunks[1].bytes.size(), std::size_t{1000});  // cut at the limit
    QCOMPARE(first->next, std::uint64_t{3000});

    std::string paged;
    for (std::uint64_t since = 0; since < all.size();) {
      const auto page = eng.payload(p->token, since, 777);
      QVERIFY(page);
      std::size_t n = 0;
      for (const auto& ch : page->chunks) {
        QCOMPARE(ch.offset, since + n);
        n += ch.bytes.size();
      }
      QVERIFY(n <= 777);
      QVERIFY(n > 0);
      QCOMPARE(page->next, since + n);
      paged += joined(*page, Direction::out);
      since = page->next;
    }
    QVERIFY(paged == all);

    const auto none = eng.payload(p->token, 0, 0);
    QVERIFY(none);
    QVERIFY(none->chunks.empty());
    QCOMPARE(none->next, std::uint64_t{0});
    const auto everything = eng.payload(p->token);  // the default: all that is kept
    QVERIFY(everything);
    QVERIFY(joined(*everything, Direction::out) == all);
    QCOMPARE(everything->next, std::uint64_t{all.size()});
  }
};

QTEST_GUILESS_MAIN(TestPayloadGrowth)
#include "tst_payload_growth.moc"
