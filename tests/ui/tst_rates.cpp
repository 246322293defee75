// Rates: exact binning (on a real engine and on long synthetic captures), the 2-points-per-
// pixel bound, the bounded per-source memory, replace() once per frame, both palettes.
#include <QChart>
#include <QChartView>
#include <QLineSeries>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTest>
#include <QThreadPool>

#include <map>

#include "session/bridge.h"
#include "session/capture_session.h"
#include "panels/rates_view.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::ui;
using capture::Record;
using capture::RecordKind;

namespace {

constexpr quint64 kSecond = 1000000000;

std::unique_ptr<Bridge> start_bridge() {
  auto b = Bridge::start({}, {});
  if (!b) qFatal("Bridge::start: %s", b.error().message().c_str());
  return std::move(*b);
}

Record readiness(std::uint64_t t_ns, std::uint64_t token) {
  Record r;
  r.kind = RecordKind::readiness;
  r.t_ns = t_ns;
  r.token = token;
  r.bits = 1;
  return r;
}

Record action(std::uint64_t t_ns, std::uint64_t token, capture::Op op, std::uint64_t value) {
  Record r;
  r.kind = RecordKind::action;
  r.t_ns = t_ns;
  r.token = token;
  r.op = static_cast<std::uint8_t>(op);
  r.value = value;
  return r;
}

Record added(std::uint64_t token, capture::SourceKind kind) {
  Record r;
  r.kind = RecordKind::source_added;
  r.token = token;
  r.op = static_cast<std::uint8_t>(kind);
  return r;
}

}  // namespace

class TestRates : public ready::test::CoreTest {
  Q_OBJECT

 private slots:
  void binningIsExactOnARealCapture() {
    auto bridge = start_bridge();
    CaptureSession session(*bridge);
    RatesView view(session);
    capture::SourceOptions o;
    o.reaction.kind = capture::Reaction::drain;
    o.trigger = Trigger::level;
    const auto pair = bridge->submit(capture::cmd::SocketPair{o});
    QVERIFY(pair);
    const auto efd = bridge->submit(capture::cmd::EventFdCreate{0, false, o});
    QVERIFY(efd);
    for (int i = 0; i < 20; ++i) {
      QVERIFY(bridge->submit(capture::cmd::Write{pair->token, std::string(100 + i, 'x')}));
      QVERIFY(bridge->submit(capture::cmd::EventFdWrite{efd->token, 3}));
    }
    // The peer drained all 20 writes (2190 bytes).
    QTRY_COMPARE_WITH_TIMEOUT(view.model().bytes_in(), std::uint64_t{2190}, 10000);
    bridge->stop();  // no record after this one: the store and the model are final

    std::uint64_t events = 0, in = 0, out = 0;
    const auto& s = bridge->store();
    QCOMPARE(s.begin_index(), std::uint64_t{0});
    for (std::uint64_t i = 0; i < s.end_index(); ++i) {
      const Record r = s.at(i);
      if (r.kind == RecordKind::readiness) ++events;
      if (r.kind != RecordKind::action || r.token == efd->token.value) continue;
      const auto op = static_cast<capture::Op>(r.op);
      if (op == capture::Op::read || op == capture::Op::drain) in += r.value;
      if (op == capture::Op::write || op == capture::Op::fill) out += r.value;
    }
    QVERIFY(events >= 2);  // at least one per side
    QCOMPARE(view.model().events(), events);
    QCOMPARE(in, std::uint64_t{2190});
    QCOMPARE(out, std::uint64_t{2190});
    QCOMPARE(view.model().bytes_out(), out);
    const std::uint64_t end = view.model().last_time_ns() + 1;
    for (const std::size_t maxp : {std::size_t{1}, std::size_t{7}, std::size_t{100}, std::size_t{100000}}) {
      QCOMPARE(view.model().total(RatesModel::Total::events, 0, end, maxp).sum(), events);
      QCOMPARE(view.model().total(RatesModel::Total::bytes_in, 0, end, maxp).sum(), in);
      QCOMPARE(view.model().total(RatesModel::Total::bytes_out, 0, end, maxp).sum(), out);
    }
    std::uint64_t per_token = 0;
    for (const std::uint64_t t : view.model().top_tokens(0, end, 100))
      per_token += view.model().token_events(t, 0, end, 50).sum();
    QCOMPARE(per_token, events);
  }

  void binningIsExactAcrossMerges() {
    RatesModel m;
    std::map<std::uint64_t, std::uint64_t> per_token;
    QRandomGenerator rng(42);
    const std::uint64_t span = 3 * 3600 * kSecond;  // 3 hours: many merges
    std::uint64_t t = 0;
    std::uint64_t n = 0;
    std::uint64_t bytes = 0;
    m.on_record(added(99, capture::SourceKind::timerfd), 0);
    while (t < span) {
      t += rng.bounded(quint64{2} * kSecond);  // non-decreasing, as the engine's
      const std::uint64_t token = 1 + rng.bounded(20u);
      m.on_record(readiness(t, token), n);
      ++per_token[token];
      ++n;
      m.on_record(action(t, token, capture::Op::drain, token), n);
      bytes += token;
      m.on_record(action(t, 99, capture::Op::read, 5), n);  // a timer's expiry count: not bytes
    }
    QVERIFY(m.merges() >= 10);
    QVERIFY(m.bin_count() <= RatesModel::kMaxBins);
    QCOMPARE(m.events(), n);
    QCOMPARE(m.bytes_in(), bytes);
    QCOMPARE(m.total(RatesModel::Total::events, 0, t + 1, 1000).sum(), n);
    QCOMPARE(m.total(RatesModel::Total::bytes_in, 0, t + 1, 3).sum(), bytes);
    for (const auto& [token, count] : per_token) QCOMPARE(m.token_events(token, 0, t + 1, 640).sum(), count);
    // A sub-range: the buckets are whole bins, so the sum over [a, b) is the sum of the
    // records in the bins [a, b) touches.
    const std::uint64_t a = span / 3, b = span / 2;
    const auto part = m.total(RatesModel::Total::events, a, b, 500);
    QVERIFY(part.start_ns <= a);
    QVERIFY(part.start_ns + part.bucket_ns * part.counts.size() >= b);
    // The top tokens are ranked by their events.
    const auto top = m.top_tokens(0, t + 1, 3);
    QCOMPARE(top.size(), std::size_t{3});
    QVERIFY(per_token[top[0]] >= per_token[top[1]] && per_token[top[1]] >= per_token[top[2]]);
    for (const auto& [token, count] : per_token)
      if (std::ranges::find(top, token) == top.end()) QVERIFY(count <= per_token[top[2]]);
  }

  void atMostMaxPointsForAnyRange_data() {
    QTest::addColumn<quint64>("t0");
    QTest::addColumn<quint64>("t1");
    QTest::addColumn<int>("maxPoints");
    for (const int p : {1, 2, 3, 10, 999, 1600, 4000}) {
      QTest::addRow("all, %d", p) << quint64{0} << quint64{7200} * kSecond << p;
      QTest::addRow("odd range, %d", p) << quint64{1234567891} << quint64{5000} * kSecond + 17 << p;
      QTest::addRow("tiny, %d", p) << quint64{3600} * kSecond << quint64{3600} * kSecond + 3 << p;
      QTest::addRow("beyond the data, %d", p) << quint64{0} << quint64{100000} * kSecond << p;
    }
  }

  void atMostMaxPointsForAnyRange() {
    QFETCH(quint64, t0);
    QFETCH(quint64, t1);
    QFETCH(int, maxPoints);
    RatesModel m;
    for (quint64 t = 0; t < 7200 * kSecond; t += kSecond / 3) m.on_record(readiness(t, 1 + (t / kSecond) % 3), 0);
    const auto b = m.total(RatesModel::Total::events, t0, t1, static_cast<std::size_t>(maxPoints));
    QVERIFY2(b.counts.size() <= static_cast<std::size_t>(maxPoints), qPrintable(QString::number(b.counts.size())));
    QVERIFY(!b.counts.empty());
    QVERIFY(b.start_ns <= t0);
    QVERIFY(b.start_ns + b.bucket_ns * b.counts.size() >= t1);
    const auto tb = m.token_events(2, t0, t1, static_cast<std::size_t>(maxPoints));
    QCOMPARE(tb.counts.size(), b.counts.size());
    QCOMPARE(tb.start_ns, b.start_ns);
  }

  void viewKeepsTwoPointsPerPixel() {
    auto bridge = start_bridge();
    CaptureSession session(*bridge);
    RatesView view(session);
    view.resize(500, 400);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    for (std::uint64_t t = 0; t < 10 * 3600 * kSecond; t += kSecond / 10) {
      view.model().on_record(readiness(t, 1 + (t / kSecond) % 12), 0);
      view.model().on_record(action(t, 1, capture::Op::write, 100), 0);
    }
    view.setRange(0, 10 * 3600 * kSecond);
    QCoreApplication::processEvents();
    view.refresh();
    const auto plot = view.findChild<QChartView*>()->chart()->plotArea().width();
    QVERIFY(plot > 100 && plot < 500);
    const auto bound = static_cast<qsizetype>(2 * plot);
    QVERIFY(view.maxPoints() <= static_cast<std::size_t>(2 * plot));
    QVERIFY(view.totalSeries()->count() > 100);
    QVERIFY2(view.totalSeries()->count() <= bound, qPrintable(QString::number(view.totalSeries()->count())));
    QVERIFY(view.bytesOutSeries()->count() <= bound);
    QCOMPARE(view.shownTokens().size(), std::size_t{RatesView::kTopTokens});
    for (int i = 0; i < RatesView::kTopTokens; ++i) QVERIFY(view.tokenSeries(i)->count() <= bound);
    QVERIFY(view.othersSeries()->isVisible());  // 12 sources, 8 lines: the rest summed
    QVERIFY(view.othersSeries()->count() <= bound);
    QVERIFY(view.bytesOutSeries()->count() <= static_cast<qsizetype>(view.maxPoints()));

    view.setTokenTitles([](std::uint64_t t) { return t == 1 ? QStringLiteral("listener :4000") : QString(); });
    for (int i = 0; i < RatesView::kTopTokens; ++i) {
      const std::uint64_t t = view.shownTokens()[static_cast<std::size_t>(i)];
      QCOMPARE(view.tokenSeries(i)->name(), t == 1 ? QStringLiteral("listener :4000") : QStringLiteral("token %1").arg(t));
    }
    view.hide();
    QThreadPool::globalInstance()->waitForDone();  // Qt's painting threads hold an eventfd each
  }

  void perSourceMemoryIsBounded() {
    RatesModel m;
    const std::uint64_t n = RatesModel::kMaxTokenEntries + 1000;
    for (std::uint64_t i = 0; i < n; ++i) m.on_record(readiness(i * 1000, i + 1), i);  // a source per event
    QVERIFY(m.folded_tokens() > 0);
    QVERIFY(m.token_entries() <= RatesModel::kMaxTokenEntries);
    QCOMPARE(m.events(), n);
    QCOMPARE(m.total(RatesModel::Total::events, 0, m.last_time_ns() + 1, 800).sum(), n);  // totals keep them
    QVERIFY(m.memory_bytes() < std::size_t{200} << 20);
  }

  void replaceOncePerFrame() {
    auto bridge = start_bridge();
    CaptureSession session(*bridge);
    RatesView view(session);
    view.resize(600, 400);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    QSignalSpy replaced(view.totalSeries(), &QXYSeries::pointsReplaced);
    QSignalSpy added(view.totalSeries(), &QXYSeries::pointAdded);
    // Whoever shows the view hands it each frame (the window does, after the timeline).
    connect(&session, &CaptureSession::frameDelivered, &view, &RatesView::onFrame);
    QSignalSpy frames(bridge.get(), &Bridge::frame);
    const std::uint64_t refreshes = view.refreshCount();

    capture::SourceOptions o;
    o.reaction.kind = capture::Reaction::drain;
    const auto pair = bridge->submit(capture::cmd::SocketPair{o});
    QVERIFY(pair);
    for (int i = 0; i < 50; ++i) QVERIFY(bridge->submit(capture::cmd::Write{pair->token, "ping"}));
    QTRY_COMPARE_WITH_TIMEOUT(view.model().bytes_in(), std::uint64_t{200}, 10000);
    bridge->stop();
    bridge->flush_frame();

    QVERIFY(frames.count() >= 1);
    QCOMPARE(view.refreshCount() - refreshes, static_cast<std::uint64_t>(frames.count()));
    QCOMPARE(replaced.count(), frames.count());
    QCOMPARE(added.count(), 0);
    QVERIFY(view.totalSeries()->count() > 0);
    QVERIFY(view.model().events() >= 1);  // edge-triggered: one edge may cover all 50
    // The pair's ends are the lines of their own, by events.
    QVERIFY(!view.shownTokens().empty());
    for (const std::uint64_t t : view.shownTokens()) QVERIFY(t == pair->token.value || t == pair->token2.value);
    double sum = 0;
    for (const QPointF& p : view.bytesInSeries()->points()) sum += p.y();
    QVERIFY(sum > 0);
    QVERIFY(view.isLive());

    // Hidden, it does not redraw per frame, but catches up once when shown.
    view.hide();
    const std::uint64_t hidden = view.refreshCount();
    view.onFrame(0, 0, 0);
    view.onFrame(0, 0, 0);
    QCOMPARE(view.refreshCount(), hidden);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    QVERIFY(view.refreshCount() > hidden);
    view.hide();
    QThreadPool::globalInstance()->waitForDone();  // Qt's painting threads hold an eventfd each
  }

  void bothPalettesRender() {
    auto bridge = start_bridge();
    CaptureSession session(*bridge);
    RatesView view(session);
    QRandomGenerator rng(7);
    for (std::uint64_t t = 0; t < 60 * kSecond; t += kSecond / 50) {
      const std::uint64_t token = 1 + rng.bounded(11u);
      for (std::uint64_t k = 0; k < token; ++k) view.model().on_record(readiness(t, token), 0);
      view.model().on_record(action(t, token, capture::Op::drain, 200 + rng.bounded(800u)), 0);
      view.model().on_record(action(t, token, capture::Op::write, 100 + rng.bounded(300u)), 0);
    }
    view.resize(820, 520);
    view.setLive();
    for (const bool dark : {false, true}) {
      QPalette pal;
      if (dark) {
        pal.setColor(QPalette::Window, QColor(0x2b, 0x2b, 0x2b));
        pal.setColor(QPalette::Base, QColor(0x1e, 0x1e, 0x1e));
        pal.setColor(QPalette::Text, QColor(0xe0, 0xe0, 0xe0));
        pal.setColor(QPalette::WindowText, QColor(0xe0, 0xe0, 0xe0));
        pal.setColor(QPalette::PlaceholderText, QColor(0x9a, 0x9a, 0x9a));
      }
      view.setPalette(pal);
      const QImage img = view.grab().toImage();
      QVERIFY(!img.isNull());
      // The chart's background is the palette's Base, so a dark palette gives a dark chart.
      QCOMPARE(QColor(img.pixel(2, 2)).rgb(), pal.color(QPalette::Base).rgb());
      QCOMPARE(view.totalSeries()->pen().color(), pal.color(QPalette::Text));
      const QString out = qEnvironmentVariable("READY_GRAB_DIR");
      if (!out.isEmpty()) img.save(out + (dark ? QStringLiteral("/rates-dark.png") : QStringLiteral("/rates-light.png")));
    }
    QThreadPool::globalInstance()->waitForDone();  // Qt's painting threads hold an eventfd each
  }
};

QTEST_MAIN(TestRates)
#include "tst_rates.moc"
