// The bridge: a real engine's records reach the store through the QSocketNotifier, frames
// cover every appended record exactly once, observers see every record in order, the
// accounting adds up, eviction is reported, and any RecordFeed works the same way.
#include <QSignalSpy>
#include <QTest>
#include <atomic>
#include <thread>
#include <utility>
#include <vector>

#include "session/bridge.h"
#include "models_test_util.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;
using ready::ui::Bridge;

namespace {

/// Every on_record / on_evicted call, in order.
struct Recorder final : ui::RecordObserver {
  std::vector<std::pair<Record, std::uint64_t>> seen;
  std::vector<std::uint64_t> evictions;
  void on_record(const Record& r, std::uint64_t index) override { seen.emplace_back(r, index); }
  void on_evicted(std::uint64_t new_begin) override { evictions.push_back(new_begin); }
};

/// Frames as (begin, end, evicted_to).
struct Frame {
  std::uint64_t begin, end, evicted_to;
};
std::vector<Frame> frames_of(const QSignalSpy& spy) {
  std::vector<Frame> out;
  for (const auto& args : spy)
    out.push_back(
        {args[0].value<std::uint64_t>(), args[1].value<std::uint64_t>(), args[2].value<std::uint64_t>()});
  return out;
}

Record note_record(std::uint64_t i) {
  Record r;
  r.kind = RecordKind::note;
  r.t_ns = 1000 + i;
  r.value = i;
  return r;
}

}  // namespace

class TestBridge : public CoreTest {
  Q_OBJECT

 private slots:
  // Records of a real engine arrive by themselves (no drain_now): the notifier drains.
  void records_arrive_through_the_notifier() {
    START_BRIDGE(bridge, EngineConfig{}, Bridge::Options{});
    QVERIFY(bridge->engine() != nullptr);
    auto t = bridge->submit(cmd::TcpListen{net::SocketAddr::loopback_v4(0)});
    QVERIFY_OK(t);
    std::optional<std::uint64_t> added;
    WAIT_RECORD(*bridge, added, kind_of(RecordKind::source_added, t->token));
    const Record r = bridge->store().at(*added);
    QCOMPARE(static_cast<SourceKind>(r.op), SourceKind::tcp_listener);
    QCOMPARE(r.value2, t->id);
    QVERIFY(bridge->status().poll_thread_running);
    bridge->stop();
    QVERIFY(!bridge->status().poll_thread_running);
    // stop drained: the listener's source_removed is in the store now, without waiting.
    QVERIFY(find_record(bridge->store(), kind_of(RecordKind::source_removed, t->token), *added));
  }

  // Frames tile the appended records: each begins where the last ended, the last ends at
  // the store's end, and observers saw every record in order with its index.
  void frames_and_observers_cover_every_record() {
    START_BRIDGE(bridge, EngineConfig{}, Bridge::Options{});
    Recorder rec;
    bridge->add_observer(&rec);
    QSignalSpy frames(bridge.get(), &Bridge::frame);
    auto l = bridge->submit(cmd::TcpListen{
        net::SocketAddr::loopback_v4(0),
        SourceOptions{Interest::READABLE, Trigger::edge, ReactionSpec{Reaction::auto_accept}}});
    QVERIFY_OK(l);
    std::optional<std::uint64_t> added;
    WAIT_RECORD(*bridge, added, kind_of(RecordKind::source_added, l->token));
    const auto info = bridge->engine()->source_info(l->token);
    QVERIFY(info.has_value());
    const auto addr = net::SocketAddr::parse(info->local);
    QVERIFY(addr.has_value());
    auto c = bridge->submit(cmd::TcpConnect{*addr});
    QVERIFY_OK(c);
    std::optional<std::uint64_t> connected;
    WAIT_RECORD(*bridge, connected, action_of(c->token, Op::connect, Outcome::ok));
    QVERIFY_OK(bridge->submit(cmd::Note{"done"}));
    std::optional<std::uint64_t> note;
    WAIT_RECORD(*bridge, note, [](const Record& r) { return r.kind == RecordKind::note; });
    QCOMPARE(bridge->note_text(bridge->store().at(*note).value), QStringLiteral("done"));
    bridge->stop();  // drains and flushes the last frame

    const std::uint64_t end = bridge->store().end_index();
    const auto fs = frames_of(frames);
    QVERIFY(!fs.empty());
    QCOMPARE(fs.front().begin, std::uint64_t{0});
    for (std::size_t i = 0; i < fs.size(); ++i) {
      QVERIFY(fs[i].begin < fs[i].end);
      QCOMPARE(fs[i].evicted_to, std::uint64_t{0});
      if (i > 0) QCOMPARE(fs[i].begin, fs[i - 1].end);
    }
    QCOMPARE(fs.back().end, end);

    QCOMPARE(rec.seen.size(), static_cast<std::size_t>(end));
    for (std::size_t i = 0; i < rec.seen.size(); ++i) {
      QCOMPARE(rec.seen[i].second, static_cast<std::uint64_t>(i));
      QVERIFY(rec.seen[i].first == bridge->store().at(i));
    }
    QVERIFY(rec.evictions.empty());
    bridge->remove_observer(&rec);
  }

  // A frame says "something changed since the last frame", not "a drain happened": any
  // number of drains between two frame ticks give one frame.
  void one_frame_per_tick_however_many_drains() {
    auto owned = std::make_unique<RingFeed>(1 << 16);
    RingFeed& feed = *owned;
    Bridge::Options o;
    o.frame_interval_ms = 3'600'000;  // the tick never comes during the test: flush_frame is it
    Bridge bridge(std::move(owned), o);
    QSignalSpy frames(&bridge, &Bridge::frame);
    constexpr std::uint64_t kBatches = 50, kPer = 100;
    std::atomic<std::uint64_t> pushed{0};
    std::thread producer([&] {
      for (std::uint64_t b = 0; b < kBatches; ++b) {
        for (std::uint64_t i = 0; i < kPer; ++i) feed.ring.try_push(note_record(b * kPer + i));
        pushed += kPer;
        (void)feed.notifier.notify();
        std::this_thread::yield();
      }
    });
    QTRY_COMPARE_WITH_TIMEOUT(bridge.store().size(), kBatches * kPer, kUiWaitMs);
    producer.join();
    // The drain that woke the idle bridge emitted its frame at once; the drains after it
    // emit nothing until the tick (flush_frame here).
    QCOMPARE(frames.count(), 1);
    const auto first = frames_of(frames).front();
    QCOMPARE(first.begin, std::uint64_t{0});
    QVERIFY(first.end > 0 && first.end <= kBatches * kPer);
    bridge.flush_frame();
    const int expected = first.end < kBatches * kPer ? 2 : 1;  // the rest in one frame
    QCOMPARE(frames.count(), expected);
    QCOMPARE(frames_of(frames).back().end, kBatches * kPer);
    bridge.flush_frame();  // nothing new: no frame
    QCOMPARE(frames.count(), expected);
    for (std::uint64_t i = 0; i < kBatches * kPer; ++i) QVERIFY(bridge.store().at(i) == note_record(i));
    // The same accounting as the engine's.
    const auto s = bridge.status();
    QCOMPARE(s.produced, kBatches * kPer);
    QCOMPARE(s.dropped, std::uint64_t{0});
    QCOMPARE(s.received, kBatches * kPer);
    QCOMPARE(s.ring_fill, std::uint64_t{0});
    QCOMPARE(s.ring_capacity, std::size_t{1} << 16);
    QVERIFY(!s.poll_thread_running);
    // No engine to command.
    QVERIFY(bridge.engine() == nullptr);
    QSignalSpy failed(&bridge, &Bridge::commandFailed);
    auto t = bridge.submit(cmd::Note{"x"});
    QVERIFY(!t.has_value());
    QCOMPARE(t.error(), std::make_error_code(std::errc::not_connected));
    QCOMPARE(failed.count(), 1);
    QVERIFY(failed.front().front().toString().contains(QStringLiteral("ENOTCONN")));
  }

  // A burst of records from a real engine is reported in far fewer frames than records,
  // and the frames still tile exactly what was appended.
  void a_burst_gives_few_frames() {
    START_BRIDGE(bridge, EngineConfig{}, Bridge::Options{});
    QSignalSpy frames(bridge.get(), &Bridge::frame);
    constexpr int kNotes = 3000;
    for (int i = 0; i < kNotes; ++i) QVERIFY_OK(bridge->submit(cmd::Note{"n"}));
    QTRY_VERIFY_WITH_TIMEOUT(
        !frames.isEmpty() && frames_of(frames).back().end >= static_cast<std::uint64_t>(kNotes), kUiWaitMs);
    // A frame per record would need kNotes frame ticks (48 s at 16 ms); the records came
    // in a few drains, each followed by at most one frame.
    QVERIFY2(frames.count() < kNotes / 10, qPrintable(QString::number(frames.count())));
    std::uint64_t covered = 0;
    for (const auto& f : frames_of(frames)) {
      QCOMPARE(f.begin, covered);
      covered = f.end;
    }
  }

  // After stop and the final drain: produced = stored + dropped, nothing left in the ring.
  // A small ring makes drops likely; the equation must hold either way.
  void status_accounting_after_stop() {
    EngineConfig cfg;
    cfg.ring_capacity = 16;
    START_BRIDGE(bridge, cfg, Bridge::Options{});
    for (int i = 0; i < 500; ++i) QVERIFY_OK(bridge->submit(cmd::Note{"n"}));
    bridge->stop();
    const auto s = bridge->status();
    QVERIFY(s.produced > 0);
    QCOMPARE(s.produced, s.stored + s.dropped);
    QCOMPARE(s.received, s.stored);
    QCOMPARE(s.ring_fill, std::uint64_t{0});
    QCOMPARE(s.evicted, std::uint64_t{0});
    QCOMPARE(s.ring_capacity, std::size_t{16});
    QVERIFY(!s.poll_thread_running);
    // Refused after stop: reported as commandFailed too.
    QSignalSpy failed(bridge.get(), &Bridge::commandFailed);
    QVERIFY(!bridge->submit(cmd::Note{"late"}).has_value());
    QCOMPARE(failed.count(), 1);
  }

  // The store's bound: eviction shows in the frames (evicted_to) and observers' on_evicted,
  // and a frame never names an evicted record.
  void eviction_reaches_frames_and_observers() {
    Bridge::Options o;
    o.store = StoreLimits{4, 8};
    START_BRIDGE(bridge, EngineConfig{}, o);
    Recorder rec;
    bridge->add_observer(&rec);
    QSignalSpy frames(bridge.get(), &Bridge::frame);
    for (int i = 0; i < 40; ++i) QVERIFY_OK(bridge->submit(cmd::Note{"n"}));
    bridge->stop();
    const auto& store = bridge->store();
    QVERIFY(store.end_index() >= 40);
    QVERIFY(store.size() <= 8);
    QVERIFY(store.begin_index() > 0);
    QCOMPARE(store.evicted(), store.begin_index());
    QCOMPARE(bridge->status().evicted, store.begin_index());
    const auto fs = frames_of(frames);
    QVERIFY(!fs.empty());
    QCOMPARE(fs.back().evicted_to, store.begin_index());
    QCOMPARE(fs.back().end, store.end_index());
    for (const auto& f : fs) QVERIFY(f.begin >= f.evicted_to);
    QVERIFY(!rec.evictions.empty());
    QCOMPARE(rec.evictions.back(), store.begin_index());
    for (std::size_t i = 1; i < rec.evictions.size(); ++i) QVERIFY(rec.evictions[i] > rec.evictions[i - 1]);
    QCOMPARE(rec.seen.size(), static_cast<std::size_t>(store.end_index()));
  }

  // A bridge destroyed with live sources and no explicit stop leaves no descriptor open
  // (CoreTest's cleanup compares /proc/self/fd), and so does one over a custom feed.
  void destroying_a_running_bridge_leaks_nothing() {
    {
      START_BRIDGE(bridge, EngineConfig{}, Bridge::Options{});
      auto p = bridge->submit(cmd::Pipe{});
      QVERIFY_OK(p);
      auto l = bridge->submit(cmd::TcpListen{net::SocketAddr::loopback_v4(0)});
      QVERIFY_OK(l);
      std::optional<std::uint64_t> added;
      WAIT_RECORD(*bridge, added, kind_of(RecordKind::source_added, l->token));
    }
    { Bridge b(std::make_unique<RingFeed>(8), Bridge::Options{}); }
  }
};

QTEST_MAIN(TestBridge)
#include "tst_bridge.moc"
