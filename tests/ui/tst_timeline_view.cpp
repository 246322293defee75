// TimelineView, offscreen: lanes and legend in light and dark palettes, keys, click, live,
// and its tooltip in the event log's words.
#include <QApplication>
#include <QImage>
#include <QPainter>
#include <QSignalSpy>
#include <QTest>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <set>

#include "models/event_log_model.h"
#include "session/bridge.h"
#include "session/capture_session.h"
#include "ready/capture/command.h"
#include "ready/capture/engine.h"
#include "ready/capture/record.h"
#include "ready/capture/store.h"
#include "models/record_format.h"
#include "models/time_text.h"
#include "timeline/laneindex.h"
#include "timeline/timelineview.h"

using namespace ready;
using namespace ready::capture;
using ready::ui::LaneIndex;
using ready::ui::TimelineView;
using ready::ui::TimeScale;
using ready::ui::TimeWindow;

namespace {

constexpr std::uint32_t kIn = 0x001, kOut = 0x004, kErr = 0x008, kHup = 0x010, kPri = 0x002, kRdHup = 0x2000;

Record rec(RecordKind kind, std::uint64_t t, std::uint64_t token) {
  Record r;
  r.kind = kind;
  r.t_ns = t;
  r.token = token;
  r.fd = static_cast<std::int32_t>(token + 3);
  return r;
}

// A capture by hand: a listener with two accepted streams, a socketpair, a oneshot source,
// every readiness kind, actions of every glyph, poll returns, a note.
struct Scene {
  Scene() : index(store) {}
  std::uint64_t add(const Record& r) {
    const std::uint64_t i = store.append(r);
    index.on_record(store.at(i), i);
    return i;
  }
  void source(std::uint64_t t, std::uint64_t token, SourceKind kind, std::uint64_t value = 0,
              SourceBits bits = {}) {
    Record r = rec(RecordKind::source_added, t, token);
    r.op = static_cast<std::uint8_t>(kind);
    r.value = value;
    r.bits = bits.pack();
    add(r);
  }
  std::uint64_t ready(std::uint64_t t, std::uint64_t token, std::uint32_t bits) {
    Record r = rec(RecordKind::readiness, t, token);
    r.bits = bits;
    return add(r);
  }
  std::uint64_t act(std::uint64_t t, std::uint64_t token, Op op, Outcome o, std::uint64_t v = 0) {
    Record r = rec(RecordKind::action, t, token);
    r.op = static_cast<std::uint8_t>(op);
    r.outcome = o;
    r.value = v;
    return add(r);
  }
  void poll(std::uint64_t t, std::uint64_t events, std::uint64_t blocked) {
    Record r = rec(RecordKind::poll_return, t, 0);
    r.value = events;
    r.value2 = blocked;
    add(r);
  }

  // Sparse: 60 marks per lane over 1 s (shapes), plus a dense burst on lane 2 (stripes).
  void build() {
    constexpr std::uint64_t ms = 1'000'000;
    source(0, 1, SourceKind::tcp_listener);
    source(1 * ms, 2, SourceKind::tcp_stream, 1, {Interest::READABLE | Interest::WRITABLE, Trigger::edge, {}});
    source(2 * ms, 3, SourceKind::unix_stream, 4, {Interest::READABLE, Trigger::level, {}});
    source(2 * ms, 4, SourceKind::unix_stream, 3);
    source(3 * ms, 5, SourceKind::tcp_stream, 1, {Interest::READABLE, Trigger::oneshot, {}});
    const std::uint32_t kinds[] = {kIn, kOut, kErr | kHup, kIn | kRdHup, kPri, kIn | kOut};
    const Op ops[] = {Op::read, Op::write, Op::read, Op::read, Op::connect, Op::write};
    const Outcome outs[] = {Outcome::ok, Outcome::ok, Outcome::would_block, Outcome::eof, Outcome::ok, Outcome::error};
    for (int i = 0; i < 60; ++i) {
      const std::uint64_t t = 10 * ms + static_cast<std::uint64_t>(i) * 16 * ms;
      poll(t, 1 + static_cast<std::uint64_t>(i % 4), 12 * ms);
      if (i == 30) {
        Record n = rec(RecordKind::note, t, 0);
        n.value = 1;
        add(n);
      }
      for (std::uint64_t tok = 1; tok <= 5; ++tok) {
        const std::uint64_t tt = t + tok * 100'000;
        ready(tt, tok, kinds[(static_cast<std::size_t>(i) + tok) % 6]);
        act(tt + 20'000, tok, ops[(static_cast<std::size_t>(i) + tok) % 6], outs[(static_cast<std::size_t>(i) + tok) % 6], 100);
        if (tok == 5 && i % 2) act(tt + 30'000, tok, Op::rearm, Outcome::ok);
      }
    }
    for (int i = 0; i < 20'000; ++i) ready(990 * ms + static_cast<std::uint64_t>(i) * 100, 2, i % 3 ? kIn : kOut);
    source(995 * ms, 6, SourceKind::tcp_stream, 1);
    Record gone = rec(RecordKind::source_removed, 999 * ms, 4);
    add(gone);
  }

  RecordStore store;
  LaneIndex index;
};

QPalette darkPalette() {
  QPalette p;
  p.setColor(QPalette::Window, QColor(0x20, 0x22, 0x25));
  p.setColor(QPalette::WindowText, QColor(0xe0, 0xe0, 0xe0));
  p.setColor(QPalette::Base, QColor(0x15, 0x16, 0x18));
  p.setColor(QPalette::AlternateBase, QColor(0x26, 0x28, 0x2b));
  p.setColor(QPalette::Text, QColor(0xe8, 0xe8, 0xe8));
  p.setColor(QPalette::Mid, QColor(0x60, 0x60, 0x60));
  p.setColor(QPalette::Highlight, QColor(0x3d, 0x8e, 0xe0));
  p.setColor(QPalette::Link, QColor(0x8a, 0xb4, 0xf8));
  return p;
}

std::set<QRgb> colours_in(const QImage& img, QRect r) {
  std::set<QRgb> out;
  r = r.intersected(img.rect());
  for (int y = r.top(); y <= r.bottom(); ++y)
    for (int x = r.left(); x <= r.right(); ++x) out.insert(img.pixel(x, y) | 0xff000000u);
  return out;
}

void maybe_save(const QImage& img, const QString& name) {
  const QByteArray dir = qgetenv("READY_TIMELINE_PNG_DIR");
  if (!dir.isEmpty()) img.save(QString::fromLocal8Bit(dir) + QLatin1Char('/') + name + QStringLiteral(".png"));
}

}  // namespace

class TimelineViewTest : public QObject {
  Q_OBJECT

 private slots:
  void lanes_and_legend_in_both_palettes_data() {
    QTest::addColumn<bool>("dark");
    QTest::newRow("light") << false;
    QTest::newRow("dark") << true;
  }
  void lanes_and_legend_in_both_palettes() {
    QFETCH(bool, dark);
    Scene scene;
    scene.build();
    TimelineView view;
    if (dark) view.setPalette(darkPalette());
    view.resize(1200, 330);
    view.setData(&scene.store, &scene.index);
    const QImage img = view.grab().toImage().convertToFormat(QImage::Format_RGB32);
    maybe_save(img, dark ? QStringLiteral("timeline-dark") : QStringLiteral("timeline-light"));
    const QRgb base = view.palette().color(QPalette::Base).rgb();

    // Every readiness colour is in the legend row and in the lanes.
    const QRect legend(0, 0, img.width(), TimelineView::kLegendHeight);
    const QRect plot = view.plotRect();
    const auto legend_colours = colours_in(img, legend);
    const auto plot_colours = colours_in(img, plot);
    for (auto f : {flag_readable, flag_writable, flag_error, flag_read_closed, flag_write_closed, flag_priority}) {
      const QRgb c = TimelineView::flagColor(f).rgb();
      QVERIFY2(legend_colours.count(c), qPrintable(TimelineView::flagName(f)));
      QVERIFY2(plot_colours.count(c), qPrintable(TimelineView::flagName(f)));
    }
    // The 7 lanes (poll + 6 tokens, the removed one still in the store) in the listener's
    // group order; each row has marks (not only background) in the plot.
    const auto& order = scene.index.order();
    QCOMPARE(order.size(), std::size_t{7});
    std::vector<std::uint64_t> tokens;
    for (auto id : order) tokens.push_back(scene.index.lane(id).token);
    QCOMPARE(tokens, (std::vector<std::uint64_t>{0, 1, 2, 5, 6, 3, 4}));
    for (int row = 0; row < 7; ++row) {
      const QRect lane(plot.left(), plot.top() + row * TimelineView::kLaneHeight, plot.width(), TimelineView::kLaneHeight);
      if (lane.bottom() > img.height()) break;
      const auto cs = colours_in(img, lane);
      QVERIFY2(cs.size() > 3, qPrintable(QStringLiteral("row %1").arg(row)));
      // The label column shows text (a colour other than the background).
      const auto label = colours_in(img, QRect(0, lane.top(), plot.left() - 1, lane.height()));
      QVERIFY2(label.size() > 1 || !label.count(base), qPrintable(QStringLiteral("label %1").arg(row)));
    }
    // render() into an image paints the same thing as the widget.
    QImage again(view.size(), QImage::Format_RGB32);
    {
      QPainter p(&again);
      view.render(p, again.rect());
    }
    QCOMPARE(again, img);
  }

  // A step's narration and the pitfall it shows often land in the same pixel column: the
  // note's line must not hide the warning's mark on the lane.
  void warning_in_a_notes_column_is_drawn() {
    Scene scene;
    const std::uint64_t ms = 1'000'000;
    scene.source(1 * ms, 1, SourceKind::unix_stream);
    scene.act(2 * ms, 1, Op::read, Outcome::ok, 4);
    Record note = rec(RecordKind::note, 50 * ms, 0);
    note.value = 1;
    scene.add(note);
    Record warn = rec(RecordKind::warning, 50 * ms, 1);
    warn.op = static_cast<std::uint8_t>(WarningKind::read_after_close);
    scene.add(warn);
    scene.act(100 * ms, 1, Op::read, Outcome::eof);
    TimelineView view;
    view.resize(900, 200);
    view.setData(&scene.store, &scene.index);
    const QImage img = view.grab().toImage().convertToFormat(QImage::Format_RGB32);
    const QRect plot = view.plotRect();
    const QRect lane1(plot.left(), plot.top() + TimelineView::kLaneHeight, plot.width(), TimelineView::kLaneHeight);
    QVERIFY(colours_in(img, lane1).count(QColor(0xF0, 0xE4, 0x42).rgb()));  // the warning's yellow
  }

  void empty_hint_until_the_first_source() {
    Scene scene;
    TimelineView view;
    view.resize(900, 300);
    view.setData(&scene.store, &scene.index);
    QVERIFY(!view.showsEmptyHint());  // no hint set: nothing to show
    view.setEmptyHint(QStringLiteral("No sources yet.\nFile > New source… (Ctrl+N)"));
    QVERIFY(view.showsEmptyHint());
    // The hint is painted in the middle of the plot, well below the lanes a source would
    // take: that part holds text, not only the background.
    const QImage img = view.grab().toImage().convertToFormat(QImage::Format_RGB32);
    const QRect plot = view.plotRect();
    const QRect below(plot.left(), plot.top() + 3 * TimelineView::kLaneHeight, plot.width(),
                      plot.height() - 3 * TimelineView::kLaneHeight);
    QVERIFY(colours_in(img, below).size() > 2);
    // A poll return alone is not a source: still the hint.
    scene.poll(1'000'000, 0, 1'000'000);
    view.onFrame(0, scene.store.end_index(), 0);
    QVERIFY(view.showsEmptyHint());
    scene.source(2'000'000, 1, SourceKind::tcp_listener);
    view.onFrame(0, scene.store.end_index(), 0);
    QVERIFY(!view.showsEmptyHint());
    const QImage after = view.grab().toImage().convertToFormat(QImage::Format_RGB32);
    QCOMPARE(colours_in(after, below).size(), std::size_t{1});  // the background alone
  }

  void legend_wraps_instead_of_overlapping() {
    Scene scene;
    scene.build();
    TimelineView view;
    view.setData(&scene.store, &scene.index);
    QCOMPARE(view.legendRows(2400), 1);
    QCOMPARE(view.legendRows(560), 2);
    // The lanes start below however many legend rows there are.
    for (int width : {2400, 560}) {
      view.resize(width, 300);
      QCOMPARE(view.plotRect().top(), view.legendRows(width) * TimelineView::kLegendHeight + TimelineView::kAxisHeight);
      // Every readiness colour still in the legend's first row.
      const QImage img = view.grab().toImage().convertToFormat(QImage::Format_RGB32);
      const auto legend = colours_in(img, QRect(0, 0, img.width(), TimelineView::kLegendHeight));
      for (auto f : {flag_readable, flag_writable, flag_error, flag_read_closed, flag_write_closed, flag_priority})
        QVERIFY2(legend.count(TimelineView::flagColor(f).rgb()), qPrintable(TimelineView::flagName(f)));
    }
  }

  void keys_zoom_and_pan() {
    Scene scene;
    scene.build();
    TimelineView view;
    view.resize(1000, 300);
    view.setData(&scene.store, &scene.index);
    QSignalSpy changed(&view, &TimelineView::viewChanged);
    QSignalSpy follow(&view, &TimelineView::followLiveChanged);
    const TimeWindow full = view.view();
    QCOMPARE(full, scene.index.data_window());
    QVERIFY(view.followLive());

    // W: 1.5x less time around the centre of the plot; following live stops.
    const QRect pr = view.plotRect();
    const double centre = pr.center().x();
    const std::uint64_t t_centre = TimeScale(full, pr.left(), pr.width()).time(centre);
    QTest::keyClick(&view, Qt::Key_W);
    TimeWindow v = view.view();
    QVERIFY(std::abs(double(v.span()) - double(full.span()) / 1.5) <= 2);
    QVERIFY(std::abs(double(TimeScale(v, pr.left(), pr.width()).time(centre)) - double(t_centre)) <= 2);
    QVERIFY(v.t0 > full.t0 && v.t1 < full.t1);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(follow.count(), 1);
    QVERIFY(!view.followLive());

    // D pans a fifth of the width later, A back.
    const TimeWindow before_pan = v;
    QTest::keyClick(&view, Qt::Key_D);
    v = view.view();
    QCOMPARE(v.span(), before_pan.span());
    QVERIFY(std::abs(double(v.t0 - before_pan.t0) - double(before_pan.span()) / 5) <= 2);
    QTest::keyClick(&view, Qt::Key_A);
    QVERIFY(std::abs(double(view.view().t0) - double(before_pan.t0)) <= 2);

    // S zooms out, but never past the data.
    for (int i = 0; i < 10; ++i) QTest::keyClick(&view, Qt::Key_S);
    QCOMPARE(view.view(), full);
    // D at the end of the data does not move.
    QTest::keyClick(&view, Qt::Key_W);
    QTest::keyClick(&view, Qt::Key_W);
    for (int i = 0; i < 20; ++i) QTest::keyClick(&view, Qt::Key_D);
    QCOMPARE(view.view().t1, full.t1);

    // Drag selects a range and zooms to it; Backspace goes back; 0 resets.
    const TimeWindow before_drag = view.view();
    const QRect plot = view.plotRect();
    QTest::mousePress(&view, Qt::LeftButton, {}, QPoint(plot.left() + 100, plot.top() + 40));
    QTest::mouseMove(&view, QPoint(plot.left() + 300, plot.top() + 40));
    QTest::mouseRelease(&view, Qt::LeftButton, {}, QPoint(plot.left() + 300, plot.top() + 40));
    const TimeScale s(before_drag, plot.left(), plot.width());
    QCOMPARE(view.view(), (TimeWindow{s.time(plot.left() + 100), s.time(plot.left() + 300)}));
    QVERIFY(view.zoomStack().can_go_back());
    QTest::keyClick(&view, Qt::Key_Backspace);
    QCOMPARE(view.view(), before_drag);
    QVERIFY(!view.zoomStack().can_go_back());
    QTest::keyClick(&view, Qt::Key_W);
    QTest::keyClick(&view, Qt::Key_0);
    QCOMPARE(view.view(), full);
    QTest::keyClick(&view, Qt::Key_W);
    QTest::keyClick(&view, Qt::Key_Home);
    QCOMPARE(view.view(), full);

    // Shift-drag measures and does not zoom.
    QTest::mousePress(&view, Qt::LeftButton, Qt::ShiftModifier, QPoint(plot.left() + 100, plot.top() + 40));
    QTest::mouseMove(&view, QPoint(plot.left() + 400, plot.top() + 40));
    QTest::mouseRelease(&view, Qt::LeftButton, Qt::ShiftModifier, QPoint(plot.left() + 400, plot.top() + 40));
    QCOMPARE(view.view(), full);

    // Ctrl+wheel: zoom in at the cursor keeps the time under it (the wheel alone scrolls lanes).
    const QPoint at(plot.left() + 200, plot.top() + 40);
    const std::uint64_t t_at = TimeScale(view.view(), plot.left(), plot.width()).time(at.x());
    QWheelEvent wheel(at, view.mapToGlobal(at), {}, QPoint(0, 120), Qt::NoButton, Qt::ControlModifier,
                      Qt::NoScrollPhase, false);
    QApplication::sendEvent(&view, &wheel);
    QVERIFY(view.view().span() < full.span());
    const std::uint64_t t_after = TimeScale(view.view(), plot.left(), plot.width()).time(at.x());
    QVERIFY(std::abs(double(t_after) - double(t_at)) <= double(full.span()) / plot.width());
  }

  void click_emits_the_record_index() {
    Scene scene;
    scene.build();
    TimelineView view;
    view.resize(1200, 330);
    view.setData(&scene.store, &scene.index);
    // A sparse readiness mark and an action tick of token 5 (the oneshot stream).
    const std::uint64_t ms = 1'000'000;
    const auto first = scene.store.lower_bound(10 * ms + 16 * ms * 20 + 5 * 100'000);
    QCOMPARE(scene.store.kind_at(first), RecordKind::readiness);
    QSignalSpy clicked(&view, &TimelineView::recordClicked);
    for (const std::uint64_t idx : {first, first + 1}) {
      const auto pos = view.recordPosition(idx);
      QVERIFY(pos.has_value());
      QTest::mouseClick(&view, Qt::LeftButton, {}, *pos);
      QCOMPARE(clicked.count(), 1);
      QCOMPARE(clicked.takeFirst().at(0).toULongLong(), idx);
      QCOMPARE(view.selectedRecord(), std::optional(idx));
    }
    // A click on nothing selects nothing and emits nothing.
    QTest::mouseClick(&view, Qt::LeftButton, {}, QPoint(view.plotRect().right() - 2, view.plotRect().bottom() - 2));
    QCOMPARE(clicked.count(), 0);
    QVERIFY(!view.selectedRecord());
    // selectRecord brings a record into view.
    QTest::keyClick(&view, Qt::Key_W);
    QTest::keyClick(&view, Qt::Key_W);
    QTest::keyClick(&view, Qt::Key_W);
    view.selectRecord(3);  // early in the capture
    QVERIFY(view.view().t0 <= scene.store.time_at(3) && scene.store.time_at(3) < view.view().t1);
    QCOMPARE(view.selectedRecord(), std::optional<std::uint64_t>(3));
    maybe_save(view.grab().toImage(), QStringLiteral("timeline-selected"));
  }

  void pause_and_follow_live() {
    Scene scene;
    scene.build();
    TimelineView view;
    view.resize(800, 300);
    view.setData(&scene.store, &scene.index);
    QSignalSpy changed(&view, &TimelineView::viewChanged);
    const TimeWindow before = view.view();
    QTest::keyClick(&view, Qt::Key_Space);
    QVERIFY(view.isPaused());
    const std::uint64_t i = scene.ready(2'000'000'000, 2, kIn);
    view.onFrame(i, i + 1, 0);
    QCOMPARE(view.view(), before);  // frozen
    QTest::keyClick(&view, Qt::Key_Space);
    QVERIFY(!view.isPaused());
    // Caught up: the whole capture, the newest record 1/32 of the span from the edge.
    const TimeWindow d = scene.index.data_window();
    QCOMPARE(d.t1, std::uint64_t{2'000'000'001});
    QCOMPARE(view.view(), (TimeWindow{d.t0, d.t1 + d.span() / 32}));
    // Zoomed in and following: the span is kept, the end follows.
    QTest::keyClick(&view, Qt::Key_W);
    QVERIFY(!view.followLive());
    const std::uint64_t span = view.view().span();
    QTest::keyClick(&view, Qt::Key_F);
    QVERIFY(view.followLive());
    QCOMPARE(view.view(), (TimeWindow{d.t1 + span / 32 - span, d.t1 + span / 32}));
    const std::uint64_t j = scene.ready(3'000'000'000, 2, kIn);
    view.onFrame(j, j + 1, 0);
    QCOMPARE(view.view(), (TimeWindow{3'000'000'001 + span / 32 - span, 3'000'000'001 + span / 32}));
    QVERIFY(changed.count() >= 3);
  }

  // A real engine: a socketpair, bytes written one way, the bridge feeding LaneIndex and
  // the view; both ends get lanes, adjacent, and readiness shows.
  void live_engine_socketpair() {
    auto started = ready::ui::Bridge::start({}, {});
    QVERIFY(started.has_value());
    std::unique_ptr<ready::ui::Bridge> bridge = std::move(*started);
    LaneIndex index(bridge->store());
    bridge->add_observer(&index);
    TimelineView view;
    view.resize(900, 260);
    view.setData(&bridge->store(), &index);
    QObject::connect(bridge.get(), &ready::ui::Bridge::frame, &view, &TimelineView::onFrame);
    QSignalSpy changed(&view, &TimelineView::viewChanged);
    const auto ticket = bridge->submit(cmd::SocketPair{});
    QVERIFY(ticket.has_value());
    QVERIFY(bridge->submit(cmd::Write{ticket->token, "hello"}).has_value());
    const std::uint64_t b = ticket->token2.value;
    // Wait (no timing asserted) until the other end's readable event arrived.
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
          bridge->drain_now();
          bridge->flush_frame();
          const auto lane = index.lane_of(b);
          return lane && !index.lane(*lane).readiness.level(0).empty();
        }(),
        10'000);
    const auto& order = index.order();
    const auto a = std::find(order.begin(), order.end(), *index.lane_of(ticket->token.value));
    QVERIFY(a != order.end() && a + 1 != order.end());
    QCOMPARE(a[1], *index.lane_of(b));  // the pair is adjacent
    QVERIFY(changed.count() > 0);       // the view followed the records
    const QImage img = view.grab().toImage().convertToFormat(QImage::Format_RGB32);
    maybe_save(img, QStringLiteral("timeline-live"));
    QVERIFY(colours_in(img, view.plotRect()).count(TimelineView::flagColor(flag_readable).rgb()));
    bridge->remove_observer(&index);
    bridge->stop();
  }

  // The hover text, in the event log's words: time, lane, what and result, the log's
  // detail, the interest in force and the action after.
  void describe_record() {
    Scene scene;
    const SourceBits bits{Interest::READABLE | Interest::WRITABLE, Trigger::edge, Reaction::read};
    scene.source(1'000, 7, SourceKind::tcp_stream, 0, bits);
    const std::uint64_t ev = scene.ready(2'000'000, 7, kIn | kOut);
    scene.act(2'003'000, 7, Op::read, Outcome::ok, 512);
    const std::uint64_t wb = scene.act(2'004'000, 7, Op::read, Outcome::would_block);
    Record refused = rec(RecordKind::action, 2'005'000, 7);
    refused.op = static_cast<std::uint8_t>(Op::connect);
    refused.outcome = Outcome::error;
    refused.err = ECONNREFUSED;
    const std::uint64_t ri = scene.add(refused);
    Record pr = rec(RecordKind::poll_return, 3'000'000, 0);
    pr.value = 2;
    pr.value2 = 1'500'000;
    const std::uint64_t pi = scene.add(pr);
    TimelineView view;
    view.setData(&scene.store, &scene.index);
    view.setLabeler([](std::uint64_t token) { return QStringLiteral("#%1 tcp_stream 127.0.0.1:5000").arg(token); });
    const QString e = view.describeRecord(ev);
    QVERIFY2(e.contains(QStringLiteral("t = %1").arg(ui::time_text(2'000'000))), qPrintable(e));
    QVERIFY2(e.contains(QStringLiteral("#7 tcp_stream 127.0.0.1:5000")), qPrintable(e));
    QVERIFY2(e.contains(QStringLiteral("readable|writable")), qPrintable(e));
    QVERIFY2(e.contains(QStringLiteral("fd 10, epoll 0x5")), qPrintable(e));
    QVERIFY2(e.contains(QStringLiteral("interest: readable|writable edge read")), qPrintable(e));
    QVERIFY2(!e.contains(QStringLiteral("R|W")), qPrintable(e));
    QVERIFY2(e.contains(QStringLiteral("then: read ok 512 (+3 µs)")), qPrintable(e));
    QVERIFY2(view.describeRecord(wb).contains(QStringLiteral("read would_block")), qPrintable(view.describeRecord(wb)));
    const QString c = view.describeRecord(ri);
    QVERIFY2(c.contains(QStringLiteral("connect error ECONNREFUSED (")), qPrintable(c));
    const QString p = view.describeRecord(pi);
    QVERIFY2(p.contains(QStringLiteral("epoll_wait\npoll_return 2 events\nblocked 1.5 ms")), qPrintable(p));
    QVERIFY(view.describeRecord(999).isEmpty());
  }

  // The tooltip and the event log say the same about the same record: for every record of a
  // real capture that the timeline draws, the tooltip holds the log row's time, its what and
  // result, and its detail; a readiness record's interest line is its source row's result.
  void tooltip_reads_like_the_log() {
    auto started = ready::ui::Bridge::start({}, {});
    QVERIFY(started.has_value());
    std::unique_ptr<ready::ui::Bridge> bridge = std::move(*started);
    LaneIndex index(bridge->store());
    bridge->add_observer(&index);
    ready::ui::CaptureSession session(*bridge);
    ready::ui::EventLogModel log(session);
    TimelineView view;
    view.setData(&bridge->store(), &index);
    const auto ticket = bridge->submit(cmd::SocketPair{});
    QVERIFY(ticket.has_value());
    QVERIFY(bridge->submit(cmd::Write{ticket->token, "hello"}).has_value());
    const std::uint64_t b = ticket->token2.value;
    const auto drained_until = [&](auto&& done) {
      bridge->drain_now();
      bridge->flush_frame();
      return done();
    };
    // Wait (no timing asserted) for the other end's readable event before reading: data read
    // before epoll_wait looks would never be reported.
    QTRY_VERIFY_WITH_TIMEOUT(drained_until([&] {
                               const auto lane = index.lane_of(b);
                               return lane && !index.lane(*lane).readiness.level(0).empty();
                             }),
                             10'000);
    QVERIFY(bridge->submit(cmd::Read{ticket->token2, 100}).has_value());
    QVERIFY(bridge->submit(cmd::Read{ticket->token2, 100}).has_value());  // would block
    QTRY_VERIFY_WITH_TIMEOUT(drained_until([&] {
                               const RecordStore& st = bridge->store();
                               for (std::uint64_t i = st.begin_index(); i < st.end_index(); ++i) {
                                 const Record r = st.at(i);
                                 if (r.kind == RecordKind::action && r.token == b && r.outcome == Outcome::would_block)
                                   return true;
                               }
                               return false;
                             }),
                             10'000);
    bridge->remove_observer(&index);
    bridge->stop();  // drains and flushes: the log has every record now
    using C = ready::ui::EventLogModel;
    const auto cell = [&](int row, int column) { return log.data(log.index(row, column)).toString(); };
    std::set<RecordKind> seen;
    QString added_result;  // token b's source row: its interest, mode and reaction
    for (int row = 0; row < log.rowCount(); ++row) {
      const std::uint64_t i = *log.storeIndexAt(row);
      const Record r = bridge->store().at(i);
      if (r.kind == RecordKind::source_added && r.token == b) added_result = cell(row, C::ResultColumn);
      if (r.kind == RecordKind::note || r.kind == RecordKind::stats) continue;  // markers, not hovered records
      const QString tip = view.describeRecord(i);
      const QString what = cell(row, C::WhatColumn);
      const QString result = cell(row, C::ResultColumn);
      QVERIFY2(tip.contains(QStringLiteral("t = ") + cell(row, C::TimeColumn)), qPrintable(tip));
      QVERIFY2(tip.contains(result.isEmpty() ? what : what + QLatin1Char(' ') + result), qPrintable(tip));
      QVERIFY2(tip.contains(cell(row, C::DetailColumn)), qPrintable(tip));
      if (r.kind == RecordKind::readiness && r.token == b) {
        QVERIFY(!added_result.isEmpty());
        QVERIFY2(tip.contains(QStringLiteral("interest: ") + added_result), qPrintable(tip));
      }
      seen.insert(r.kind);
    }
    for (const RecordKind k : {RecordKind::source_added, RecordKind::readiness, RecordKind::action, RecordKind::poll_return})
      QVERIFY2(seen.count(k), qPrintable(ui::record_kind_text(k)));
  }

  void duration_text_data() {
    QTest::addColumn<double>("ns");
    QTest::addColumn<QString>("text");
    QTest::newRow("ns") << 250.0 << QStringLiteral("250 ns");
    QTest::newRow("us") << 1500.0 << QStringLiteral("1.5 µs");
    QTest::newRow("ms") << 12'250'000.0 << QStringLiteral("12.25 ms");
    QTest::newRow("s") << 3e9 << QStringLiteral("3 s");
  }
  void duration_text() {
    QFETCH(double, ns);
    QFETCH(QString, text);
    QCOMPARE(TimelineView::durationText(ns), text);
  }
};

QTEST_MAIN(TimelineViewTest)
#include "tst_timeline_view.moc"
