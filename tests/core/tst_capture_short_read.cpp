// ReactionSpec::stop_at_short_read: a drain reaction on a stream that stops at a short read
// (epoll(7) Q9) instead of reading on until EAGAIN, and what its action records say.
#include <algorithm>
#include <array>
#include <functional>
#include <optional>
#include <vector>

#include "peer.h"
#include "ready/capture/engine.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;

namespace {

/// The test thread as the engine's one consumer: begin_drain, drain to empty, keep everything.
class Records {
 public:
  explicit Records(Engine& e) : e_(e) {}

  /// Pumps the ring until a record satisfies `pred` (its index) or the wait limit passes.
  std::optional<std::size_t> wait_for(const std::function<bool(const Record&)>& pred) {
    for (Deadline d;;) {
      (void)e_.notifier().begin_drain();
      std::array<Record, 256> buf{};
      while (const std::size_t n = e_.drain(buf)) all.insert(all.end(), buf.begin(), buf.begin() + n);
      for (std::size_t i = 0; i < all.size(); ++i)
        if (pred(all[i])) return i;
      if (d.expired()) return std::nullopt;
      (void)wait_readable(e_.notifier().as_raw_fd(), 100ms);
    }
  }

  std::vector<Record> all;

 private:
  Engine& e_;
};

std::function<bool(const Record&)> drain_of(Token t) {
  return [=](const Record& r) {
    return r.kind == RecordKind::action && r.token == t.value && r.op == static_cast<std::uint8_t>(Op::drain);
  };
}

SourceOptions drain_options(bool stop_at_short_read) {
  SourceOptions o;
  o.reaction.kind = Reaction::drain;
  o.reaction.stop_at_short_read = stop_at_short_read;
  return o;
}

}  // namespace

class TestCaptureShortRead : public CoreTest {
  Q_OBJECT
 private slots:
  // Off (the default): the drain reads on until EAGAIN and records would_block.
  void default_drain_reads_until_would_block() {
    auto started = Engine::start();
    QVERIFY_OK(started);
    Engine& eng = **started;
    Records rec(eng);
    auto pair = eng.submit(cmd::SocketPair{drain_options(false)});
    QVERIFY_OK(pair);
    QVERIFY_OK(eng.submit(cmd::Write{pair->token2, "hello"}));
    const auto i = rec.wait_for(drain_of(pair->token));
    QVERIFY(i);
    QCOMPARE(rec.all[*i].outcome, Outcome::would_block);
    QCOMPARE(rec.all[*i].value, std::uint64_t{5});
  }

  // On: the 5-byte read is short (the buffer is 64 KiB), so the drain ends there: outcome ok,
  // the bytes read, and no read that returned EAGAIN.
  void short_read_ends_the_drain() {
    auto started = Engine::start();
    QVERIFY_OK(started);
    Engine& eng = **started;
    Records rec(eng);
    auto pair = eng.submit(cmd::SocketPair{drain_options(true)});
    QVERIFY_OK(pair);
    QVERIFY_OK(eng.submit(cmd::Write{pair->token2, "hello"}));
    const auto i = rec.wait_for(drain_of(pair->token));
    QVERIFY(i);
    QCOMPARE(rec.all[*i].outcome, Outcome::ok);
    QCOMPARE(rec.all[*i].value, std::uint64_t{5});
  }

  // On, but the peer has closed: the event reports read_closed, so the drain reads on to the
  // end-of-file, records eof and the reaction closes the stream, as without the option.
  void read_closed_still_reads_to_eof() {
    auto started = Engine::start();
    QVERIFY_OK(started);
    Engine& eng = **started;
    Records rec(eng);
    auto pair = eng.submit(cmd::SocketPair{drain_options(true)});
    QVERIFY_OK(pair);
    QVERIFY_OK(eng.submit(cmd::Write{pair->token2, "hi"}));
    QVERIFY_OK(eng.submit(cmd::Close{pair->token2}));
    const Token t = pair->token;
    const auto eof = rec.wait_for([&](const Record& r) { return drain_of(t)(r) && r.outcome == Outcome::eof; });
    QVERIFY(eof);
    std::uint64_t bytes = 0;
    for (const Record& r : rec.all)
      if (drain_of(t)(r)) bytes += r.value;
    QCOMPARE(bytes, std::uint64_t{2});
    QVERIFY(rec.wait_for([&](const Record& r) { return r.kind == RecordKind::source_removed && r.token == t.value; }));
  }
};

QTEST_GUILESS_MAIN(TestCaptureShortRead)
#include "tst_capture_short_read.moc"
