// The timeline paint benchmark: 10M records across 32 source lanes (plus the poll lane),
// rendered by TimelineView::render into a 1920x1080 image, 50 frames per view.
//
// The workload imitates a busy server loop: epoll_wait returns every ~8 us on average
// (blocked a random 0-12 us), carrying 1-4 events; each event is a readiness record on a
// lane picked with a skewed distribution (a few hot connections, a long tail), followed by
// its reaction: a read of n bytes and, usually, the read that would block; now and then an
// EOF, an error, a write or a readable|writable / RDHUP / error event. Output, one line per
// view: workload=paint impl=readyscope view=<full|zoom1pct> ms_per_frame=<median of 50> ...
#include <QApplication>
#include <QImage>
#include <QPainter>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <vector>

#include "ready/capture/command.h"
#include "ready/capture/record.h"
#include "ready/capture/store.h"
#include "timeline/laneindex.h"
#include "timeline/timelineview.h"

namespace {

using namespace ready::capture;
using ready::Trigger;

constexpr std::uint64_t kRecords = 10'000'000;
constexpr int kLanes = 32;
constexpr int kFrames = 50;
constexpr int kWidth = 1920;
constexpr int kHeight = 1080;

struct Workload {
  RecordStore store{StoreLimits{std::size_t{1} << 16, std::uint64_t{1} << 24}};
  std::unique_ptr<ready::ui::LaneIndex> index;
  double build_s = 0;
};

void build(Workload& w) {
  const auto start = std::chrono::steady_clock::now();
  w.index = std::make_unique<ready::ui::LaneIndex>(w.store);
  auto add = [&w](const Record& r) {
    const std::uint64_t i = w.store.append(r);
    w.index->on_record(r, i);
  };
  std::mt19937_64 rng(42);
  std::uint64_t t = 1'000;
  // 32 sources: a listener with 25 accepted streams, a socketpair, a pipe, an eventfd, a
  // timerfd, one connected stream.
  auto source = [&](std::uint64_t token, SourceKind kind, std::uint64_t value, Trigger trig) {
    Record r;
    r.t_ns = t;
    r.token = token;
    r.fd = static_cast<std::int32_t>(token + 4);
    r.kind = RecordKind::source_added;
    r.op = static_cast<std::uint8_t>(kind);
    r.value = value;
    r.bits = SourceBits{ready::Interest::READABLE, trig, Reaction::drain}.pack();
    add(r);
    t += 500;
  };
  source(1, SourceKind::tcp_listener, 0, Trigger::edge);
  for (std::uint64_t tok = 2; tok <= 26; ++tok) source(tok, SourceKind::tcp_stream, 1, tok % 5 == 0 ? Trigger::level : Trigger::edge);
  source(27, SourceKind::unix_stream, 28, Trigger::edge);
  source(28, SourceKind::unix_stream, 27, Trigger::edge);
  source(29, SourceKind::pipe_sender, 30, Trigger::edge);
  source(30, SourceKind::pipe_receiver, 29, Trigger::edge);
  source(31, SourceKind::eventfd, 0, Trigger::level);
  source(32, SourceKind::tcp_stream, 0, Trigger::oneshot);

  // Skewed lane choice: lane i with weight 1 / (i + 1).
  std::vector<double> weights;
  for (int i = 0; i < kLanes; ++i) weights.push_back(1.0 / (i + 1));
  std::discrete_distribution<int> lane(weights.begin(), weights.end());
  const std::uint32_t kIn = 0x001, kOut = 0x004, kErr = 0x008, kHup = 0x010, kRdHup = 0x2000;
  while (w.store.end_index() < kRecords) {
    const std::uint64_t blocked = rng() % 12'000;
    t += blocked + 200;
    const std::uint64_t events = 1 + rng() % 4;
    Record pr;
    pr.t_ns = t;
    pr.kind = RecordKind::poll_return;
    pr.value = events;
    pr.value2 = blocked;
    add(pr);
    for (std::uint64_t e = 0; e < events && w.store.end_index() < kRecords; ++e) {
      const std::uint64_t tok = 1 + static_cast<std::uint64_t>(lane(rng));
      t += 150 + rng() % 300;
      Record rd;
      rd.t_ns = t;
      rd.token = tok;
      rd.fd = static_cast<std::int32_t>(tok + 4);
      rd.kind = RecordKind::readiness;
      const std::uint64_t roll = rng() % 1000;
      rd.bits = roll < 850 ? kIn : roll < 930 ? kOut : roll < 980 ? kIn | kOut : roll < 995 ? kIn | kRdHup : kErr | kHup;
      add(rd);
      Record a;
      a.token = tok;
      a.fd = rd.fd;
      a.kind = RecordKind::action;
      t += 300 + rng() % 700;
      a.t_ns = t;
      const std::uint64_t act = rng() % 1000;
      if (act < 900) {
        a.op = static_cast<std::uint8_t>(Op::read);
        a.value = 1 + rng() % 4096;
        add(a);
        if (rng() % 4 != 0) {
          t += 200;
          a.t_ns = t;
          a.value = 0;
          a.outcome = Outcome::would_block;
          add(a);
        }
      } else if (act < 970) {
        a.op = static_cast<std::uint8_t>(Op::write);
        a.value = 1 + rng() % 4096;
        add(a);
      } else if (act < 990) {
        a.op = static_cast<std::uint8_t>(Op::read);
        a.outcome = Outcome::eof;
        add(a);
      } else {
        a.op = static_cast<std::uint8_t>(Op::read);
        a.outcome = Outcome::error;
        a.err = 104;
        add(a);
      }
    }
  }
  w.build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median_ms(ready::ui::TimelineView& view, QImage& img) {
  std::vector<double> ms;
  {
    QPainter p(&img);  // warm-up: glyphs, scratch buffers
    view.render(p, img.rect());
  }
  for (int i = 0; i < kFrames; ++i) {
    const auto start = std::chrono::steady_clock::now();
    {
      QPainter p(&img);
      view.render(p, img.rect());
    }
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(ms.begin(), ms.begin() + kFrames / 2, ms.end());
  return ms[kFrames / 2];
}

}  // namespace

/// Runs the paint benchmark; prints one line per view to stdout, details to stderr.
int gui_paint_main() {
  std::unique_ptr<QApplication> app;
  if (!QCoreApplication::instance()) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    static int argc = 1;
    static char name[] = "readyscope-gui-paint";
    static char* argv[] = {name, nullptr};
    app = std::make_unique<QApplication>(argc, argv);
  }
  Workload w;
  build(w);
  std::fprintf(stderr,
               "built %llu records in %.2f s; span %.3f s; store %.1f MiB; summaries %.1f MiB (%zu entries, %.2f per record)\n",
               static_cast<unsigned long long>(w.store.size()), w.build_s,
               double(w.index->data_window().span()) / 1e9, double(w.store.memory_bytes()) / (1 << 20),
               double(w.index->memory_bytes()) / (1 << 20), w.index->summary_entries(),
               double(w.index->summary_entries()) / double(w.store.size()));
  if (qEnvironmentVariableIsSet("READY_GUI_PAINT_LEVELS")) {
    using Levels = ready::ui::SummaryLevels<ready::ui::MarkBucket>;
    for (std::size_t k = 0; k < Levels::kLevels; ++k) {
      std::size_t n = 0;
      for (const auto& l : w.index->lanes()) n += l.readiness.level(k).size() + l.actions.level(k).size();
      std::fprintf(stderr, "level %zu (%llu ns): %zu entries\n", k, static_cast<unsigned long long>(Levels::width(k)), n);
    }
  }
  ready::ui::TimelineView view;
  view.resize(kWidth, kHeight);
  view.setData(&w.store, w.index.get());
  QImage img(kWidth, kHeight, QImage::Format_ARGB32_Premultiplied);
  const ready::ui::TimeWindow full = w.index->data_window();
  struct View {
    const char* name;
    ready::ui::TimeWindow window;
  };
  const std::uint64_t pct = full.span() / 100;
  const View views[] = {{"full", full}, {"zoom1pct", {full.t0 + full.span() / 2, full.t0 + full.span() / 2 + pct}}};
  for (const View& v : views) {
    view.setView(v.window.t0, v.window.t1);
    const double ms = median_ms(view, img);
    std::printf("workload=paint impl=readyscope view=%s ms_per_frame=%.3f records=%llu lanes=%d width=%d pin=none\n",
                v.name, ms, static_cast<unsigned long long>(w.store.size()), kLanes, kWidth);
    std::fflush(stdout);
  }
  // For the record (stderr): a view narrower than the finest summary level, where the
  // lanes read the store's exact records (0.1% of the capture: ~6.6 us a pixel).
  {
    const std::uint64_t t0 = full.t0 + full.span() / 2;
    view.setView(t0, t0 + full.span() / 1000);
    std::fprintf(stderr, "view=zoom0.1pct (exact records) ms_per_frame=%.3f\n", median_ms(view, img));
  }
  if (const QByteArray png = qgetenv("READY_GUI_PAINT_PNG"); !png.isEmpty()) img.save(QString::fromLocal8Bit(png));
  return 0;
}
