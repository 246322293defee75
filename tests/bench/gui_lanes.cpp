// `readyscope-bench -o lanes`: the window with 20,000 lanes (issue 16: 10,000 relayed
// connections, a client leg and an upstream leg each, all alive). The records are made up
// here (a relay's record shapes: source_added with related, accept, connect in_progress /
// ok, reads and writes to would-block, a pause and resume on one connection in five, the
// legs' queue records: the band on every lane) and
// pushed through a RingFeed into an open MainWindow (offscreen), so the sources table, the
// lane index and every model take them as from an engine. Then, timed:
//  - ingest: pushing and delivering every record (frames of at most 16 Ki records);
//  - timeline_scroll: Page Down on the timeline and a render of the 1920x1080 timeline,
//    frame after frame through all the lanes (p50 / p99 / max ms per frame);
//  - timeline_filter: the first frame after typing a lane filter (the O(lanes) label match)
//    and the frames after it;
//  - sources_scroll: the sources table scrolled a page and painted (grab), per frame;
//  - sources_filter: typing a filter in the table's filter box (O(rows)).
#include <QApplication>
#include <QImage>
#include <QKeyEvent>
#include <QLineEdit>
#include <QPainter>
#include <QScrollBar>
#include <QTableView>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "gui_bench.h"
#include "models/sources_model.h"
#include "ready/capture/command.h"
#include "ready/capture/record.h"
#include "session/bridge.h"
#include "timeline/laneindex.h"
#include "timeline/timelineview.h"
#include "window/main_window.h"

namespace {

using namespace ready::capture;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kConnections = 10'000;
constexpr int kWidth = 1920;
constexpr int kHeight = 1080;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

struct Stats {
  double p50 = 0, p99 = 0, max = 0;
};
Stats stats(std::vector<double> ms) {
  if (ms.empty()) return {};
  std::sort(ms.begin(), ms.end());
  const auto at = [&ms](double q) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * double(ms.size())))]; };
  return {at(0.5), at(0.99), ms.back()};
}

/// The records of a relay with kConnections live connections.
std::vector<Record> relay_records() {
  std::vector<Record> out;
  std::uint64_t t = 1'000'000;
  const std::uint32_t relay = SourceBits{ready::Interest::READABLE, ready::Trigger::edge, Reaction::relay}.pack();
  const std::uint32_t relay_rw =
      SourceBits{ready::Interest::READABLE | ready::Interest::WRITABLE, ready::Trigger::edge, Reaction::relay}.pack();
  SourceBits paused_bits{ready::Interest::READABLE, ready::Trigger::edge, Reaction::relay};
  paused_bits.paused = true;
  const std::uint32_t paused = paused_bits.pack();
  const auto rec = [&](RecordKind kind, std::uint64_t token, std::uint8_t op, std::uint64_t value = 0,
                       std::uint32_t bits = 0, Outcome outcome = Outcome::ok) {
    Record r;
    t += 700;
    r.t_ns = t;
    r.kind = kind;
    r.token = token;
    r.fd = static_cast<std::int32_t>(5 + token % 60000);
    r.op = op;
    r.value = value;
    r.bits = bits;
    r.outcome = outcome;
    out.push_back(r);
  };
  const auto poll = [&](std::uint64_t events) {
    Record r;
    t += 2'000;
    r.t_ns = t;
    r.kind = RecordKind::poll_return;
    r.value = events;
    r.value2 = 1'500;
    out.push_back(r);
  };
  // A queue record (issue 18): the leg's bytes readable and unsent, as the engine samples them.
  const auto queue = [&](std::uint64_t token, std::uint64_t readable, std::uint64_t unsent) {
    rec(RecordKind::queue, token, 0, readable);
    out.back().value2 = unsent;
  };
  const auto op = [](Op o) { return static_cast<std::uint8_t>(o); };
  constexpr std::uint32_t kIn = 0x001, kOut = 0x004;
  rec(RecordKind::source_added, 1, static_cast<std::uint8_t>(SourceKind::tcp_listener), 0, relay);
  for (std::uint64_t i = 0; i < kConnections; ++i) {
    const std::uint64_t client = 2 + 2 * i, up = 3 + 2 * i;
    poll(1);
    rec(RecordKind::readiness, 1, 0, 0, kIn);
    rec(RecordKind::source_added, client, static_cast<std::uint8_t>(SourceKind::tcp_stream), 1, relay);
    rec(RecordKind::action, 1, op(Op::accept), client);
    rec(RecordKind::source_added, up, static_cast<std::uint8_t>(SourceKind::tcp_stream), client, relay_rw);
    rec(RecordKind::action, up, op(Op::connect), 0, 0, Outcome::in_progress);
    poll(2);
    rec(RecordKind::readiness, up, 0, 0, kOut);
    rec(RecordKind::action, up, op(Op::connect));
    rec(RecordKind::readiness, client, 0, 0, kIn);
    rec(RecordKind::action, client, op(Op::read), 517);
    rec(RecordKind::action, client, op(Op::read), 0, 0, Outcome::would_block);
    rec(RecordKind::action, up, op(Op::write), 517);
    queue(up, 0, 517);
    if (i % 5 == 0) {
      rec(RecordKind::source_changed, client, 0, 0, paused);
      rec(RecordKind::source_changed, client, 0, 0, relay);
    }
    poll(1);
    rec(RecordKind::readiness, up, 0, 0, kIn);
    rec(RecordKind::action, up, op(Op::read), 1432);
    rec(RecordKind::action, up, op(Op::read), 0, 0, Outcome::would_block);
    queue(up, 0, 0);
    rec(RecordKind::action, client, op(Op::write), 1432);
    queue(client, 0, 1432);
  }
  return out;
}

}  // namespace

int gui_lanes_main() {
  std::unique_ptr<QApplication> app;
  if (!QCoreApplication::instance()) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    static int argc = 1;
    static char name[] = "readyscope-gui-lanes";
    static char* argv[] = {name, nullptr};
    app = std::make_unique<QApplication>(argc, argv);
  }
  auto owned = std::make_unique<ready::ui::RingFeed>(std::size_t{1} << 16);
  ready::ui::RingFeed& feed = *owned;
  auto bridge_owned = std::make_unique<ready::ui::Bridge>(std::move(owned), ready::ui::Bridge::Options{});
  ready::ui::Bridge* bridge = bridge_owned.get();
  ready::ui::MainWindow w(std::move(bridge_owned));
  w.resize(kWidth, kHeight);
  w.show();
  QCoreApplication::processEvents();

  // Ingest, frame by frame.
  const std::vector<Record> records = relay_records();
  std::vector<double> frame_ms;
  const auto ingest_start = Clock::now();
  constexpr std::size_t kBatch = 16384;
  for (std::size_t i = 0; i < records.size(); i += kBatch) {
    const auto f0 = Clock::now();
    for (std::size_t j = i; j < std::min(records.size(), i + kBatch); ++j) {
      // The bridge takes a bounded batch per drain: make room rather than drop.
      while (!feed.ring.try_push(records[j])) {
        feed.notifier.notify();
        bridge->drain_now();
      }
    }
    feed.notifier.notify();
    while (bridge->drain_now() > 0) {
    }
    bridge->flush_frame();
    QCoreApplication::processEvents();
    frame_ms.push_back(ms_since(f0));
  }
  const double ingest_s = ms_since(ingest_start) / 1000.0;
  const Stats ingest = stats(frame_ms);
  const std::size_t lanes = w.laneIndex().order().size();
  std::printf(
      "workload=lanes impl=readyscope what=ingest records=%zu lanes=%zu sources=%zu s=%.3f records_per_s=%.0f "
      "frame_p50_ms=%.2f frame_max_ms=%.2f dropped=%llu\n",
      records.size(), lanes, w.sourceTable().size(), ingest_s, double(records.size()) / ingest_s, ingest.p50, ingest.max,
      static_cast<unsigned long long>(feed.dropped()));

  // The timeline, scrolled page by page through every lane.
  ready::ui::TimelineView* view = w.timeline();
  view->resize(kWidth, kHeight);  // as the paint benchmark: the lanes of a full-HD view
  QImage img(kWidth, kHeight, QImage::Format_ARGB32_Premultiplied);
  const auto render = [&] {
    QPainter p(&img);
    view->render(p, img.rect());
  };
  render();  // warm-up
  const auto key = [&](Qt::Key k) {
    QKeyEvent press(QEvent::KeyPress, k, Qt::NoModifier);
    QCoreApplication::sendEvent(view, &press);
  };
  const int rows_per_page = std::max(1, (kHeight - 80) / ready::ui::kLaneHeight);
  const int frames = std::min<int>(2000, static_cast<int>(lanes) / rows_per_page + 1);
  std::vector<double> scroll_ms;
  for (int i = 0; i < frames; ++i) {
    const auto f0 = Clock::now();
    key(Qt::Key_PageDown);
    render();
    scroll_ms.push_back(ms_since(f0));
  }
  const Stats scroll = stats(scroll_ms);
  std::printf(
      "workload=lanes impl=readyscope what=timeline_scroll lanes=%zu width=%d height=%d frames=%d p50_ms=%.3f "
      "p99_ms=%.3f max_ms=%.3f\n",
      lanes, kWidth, kHeight, frames, scroll.p50, scroll.p99, scroll.max);

  // A lane filter: the first frame matches every lane's label once; later frames reuse it.
  key(Qt::Key_Home);
  const auto t_filter = Clock::now();
  w.laneFilterEdit()->setText(QStringLiteral("#4711"));
  render();
  const double filter_first = ms_since(t_filter);
  std::vector<double> filtered_ms;
  for (int i = 0; i < 50; ++i) {
    const auto f0 = Clock::now();
    render();
    filtered_ms.push_back(ms_since(f0));
  }
  std::printf("workload=lanes impl=readyscope what=timeline_filter filter=#4711 shown=%zu first_frame_ms=%.3f "
              "p50_ms=%.3f\n",
              view->shownLaneCount(), filter_first, stats(filtered_ms).p50);
  w.laneFilterEdit()->clear();

  // The sources table: a page down and a paint per frame.
  QTableView* table = w.sourcesView();
  table->resize(600, kHeight);
  QScrollBar* bar = table->verticalScrollBar();
  (void)table->grab();
  std::vector<double> table_ms;
  for (int i = 0; i < 200; ++i) {
    const auto f0 = Clock::now();
    bar->setValue(std::min(bar->maximum(), bar->value() + bar->pageStep() * 5));
    (void)table->viewport()->grab();
    table_ms.push_back(ms_since(f0));
  }
  const Stats tab = stats(table_ms);
  std::printf("workload=lanes impl=readyscope what=sources_scroll rows=%d frames=200 p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
              table->model()->rowCount(), tab.p50, tab.p99, tab.max);

  // The filter model directly (the line edit applies it once typing pauses for 200 ms).
  const auto t_sf = Clock::now();
  w.sourcesFilter()->setFilterText(QStringLiteral("upstream"));
  const double sf_ms = ms_since(t_sf);
  const int shown = table->model()->rowCount();
  const auto t_clear = Clock::now();
  w.sourcesFilter()->setFilterText(QString());
  std::printf("workload=lanes impl=readyscope what=sources_filter filter=upstream rows=%d shown=%d filter_ms=%.3f "
              "clear_ms=%.3f\n",
              table->model()->rowCount(), shown, sf_ms, ms_since(t_clear));
  return 0;
}
