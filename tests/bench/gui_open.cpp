// readyscope-bench's `-o open`: a recording of N records opened through the window's own
// path (RecordingFeed -> Bridge -> CaptureSession and its models, in a MainWindow shown
// offscreen), timed until the last record is in the store, with the GUI thread's frame gaps.
#include "gui_bench.h"

#include <QApplication>
#include <QEvent>
#include <QWidget>
#include <QObject>
#include <QTimer>

#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "ready/capture/recording.h"
#include "session/recording_feed.h"
#include "window/main_window.h"
#include "window/open_recording.h"

namespace {

using ready::capture::Op;
using ready::capture::Outcome;
using ready::capture::Record;
using ready::capture::RecordKind;
using ready::capture::SourceKind;

std::uint64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

double cpu_s(clockid_t clock = CLOCK_PROCESS_CPUTIME_ID) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

/// xorshift64*: a fixed, cheap sequence (the same file every run).
struct Rng {
  std::uint64_t s = 0x9e3779b97f4a7c15ULL;
  std::uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545f4914f6cdd1dULL;
  }
};

/// What an echo server under load records: a listener and kStreams accepted streams, then
/// loop iterations of one poll_return, a few readiness events, each handled by a read, the
/// echo's write and the read that would block; a note now and then; the final stats line.
bool write_recording(const std::string& path, std::uint64_t n) {
  constexpr std::uint64_t kStreams = 32;
  auto w = ready::capture::RecordingWriter::create(path);
  if (!w) return false;
  std::vector<Record> batch;
  batch.reserve(4096);
  std::uint64_t written = 0, t = 0;
  Rng rng;
  const auto put = [&](Record r) -> bool {
    r.t_ns = t;
    t += 50 + rng.next() % 200;
    batch.push_back(r);
    ++written;
    if (batch.size() == batch.capacity()) {
      if (!w->write(batch)) return false;
      batch.clear();
    }
    return true;
  };
  const auto added = [&](std::uint64_t token, SourceKind kind, std::uint64_t related) {
    Record r;
    r.kind = RecordKind::source_added;
    r.token = token;
    r.fd = static_cast<std::int32_t>(token + 5);
    r.op = static_cast<std::uint8_t>(kind);
    r.bits = ready::capture::SourceBits{}.pack();
    r.value = related;
    return put(r);
  };
  bool ok = added(1, SourceKind::tcp_listener, 0);
  for (std::uint64_t i = 0; ok && i < kStreams; ++i) ok = added(2 + i, SourceKind::tcp_stream, 1);
  while (ok && written + 1 < n) {
    const std::uint64_t events = 1 + rng.next() % 4;
    Record poll;
    poll.kind = RecordKind::poll_return;
    poll.value = events;
    poll.value2 = rng.next() % 100'000;
    ok = put(poll);
    for (std::uint64_t e = 0; ok && e < events && written + 1 < n; ++e) {
      const std::uint64_t token = 2 + rng.next() % kStreams;
      const auto fd = static_cast<std::int32_t>(token + 5);
      Record ready;
      ready.kind = RecordKind::readiness;
      ready.token = token;
      ready.fd = fd;
      ready.bits = rng.next() % 8 == 0 ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
      ok = put(ready);
      const std::uint64_t bytes = 1 + rng.next() % 4096;
      for (const auto& [op, outcome, value] : {std::tuple{Op::read, Outcome::ok, bytes}, std::tuple{Op::write, Outcome::ok, bytes},
                                              std::tuple{Op::read, Outcome::would_block, std::uint64_t{0}}}) {
        if (!ok || written + 1 >= n) break;
        Record a;
        a.kind = RecordKind::action;
        a.token = token;
        a.fd = fd;
        a.op = static_cast<std::uint8_t>(op);
        a.outcome = outcome;
        a.value = value;
        ok = put(a);
      }
    }
    if (ok && rng.next() % 50'000 == 0 && written + 1 < n) {
      Record note;
      note.kind = RecordKind::note;
      ok = put(note);
    }
  }
  Record stats;
  stats.kind = RecordKind::stats;
  stats.value = written;
  ok = ok && put(stats);
  return ok && (batch.empty() || w->write(batch)) && w->close();
}

/// Makes sure a QApplication can exist: the benchmark runs offscreen unless told otherwise.
void ensure_platform() {
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
}

}  // namespace

int gui_open_main(long records) {
  ensure_platform();
  const auto n = static_cast<std::uint64_t>(records);
  char dir[] = "/tmp/readyscope-bench-XXXXXX";
  if (!mkdtemp(dir)) {
    std::perror("readyscope-bench: mkdtemp");
    return 1;
  }
  const std::string path = std::string(dir) + "/open.jsonl";
  const auto cleanup = [&] {
    ::unlink(path.c_str());
    ::rmdir(dir);
  };
  if (!write_recording(path, n)) {
    std::fprintf(stderr, "readyscope-bench: open: cannot write %s\n", path.c_str());
    cleanup();
    return 1;
  }

  int argc = 1;
  char name[] = "readyscope-bench";
  char* argv[] = {name, nullptr};
  QApplication app(argc, argv);
  // The store keeps every record (its default bound, 2^24, holds 10M; beyond, the bound).
  ready::ui::Bridge::Options options;
  options.store.max_records = std::clamp<std::uint64_t>(n, options.store.max_records,
                                                        ready::capture::RecordStore::kMaxRecords);

  // max_gap: between two ticks once the window has painted for the first time (its
  // construction, first layout and first paint are the start-up's: first_paint_ms).
  std::uint64_t last_tick = 0, max_gap = 0, painted_at = 0, ticks = 0, reader_done_ns = 0;
  // The GUI thread's own CPU time between the same two ticks: what it did in a gap, apart
  // from waiting for a core (on a loaded machine the wall gap is mostly that wait).
  double last_tick_cpu = 0, max_gap_cpu = 0;
  bool loading = true;
  const double cpu0 = cpu_s(), gui_cpu0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
  const std::uint64_t start = mono_ns();
  auto window = ready::ui::make_recording_window(QString::fromStdString(path), options);
  if (!window) {
    std::fprintf(stderr, "readyscope-bench: open: %s\n", window.error().message().c_str());
    cleanup();
    return 1;
  }
  ready::ui::RecordingView* view = ready::ui::recording_view(**window);
  struct FirstPaint : QObject {
    QWidget* window = nullptr;
    std::uint64_t* at = nullptr;
    bool eventFilter(QObject* o, QEvent* e) override {
      if (*at == 0 && e->type() == QEvent::Paint && o->isWidgetType() && static_cast<QWidget*>(o)->window() == window)
        *at = mono_ns();
      return false;
    }
  } first_paint;
  first_paint.window = window->get();
  first_paint.at = &painted_at;
  app.installEventFilter(&first_paint);
  (*window)->resize(1600, 900);
  (*window)->show();

  // Frame gaps: a 16 ms timer on the GUI thread, as in -o ingest. Its tick also notes when
  // the reader has read the whole file (the reader alone is -o load).
  QTimer frame_timer;
  frame_timer.setTimerType(Qt::PreciseTimer);
  frame_timer.setInterval(16);
  QObject::connect(&frame_timer, &QTimer::timeout, [&] {
    const std::uint64_t now = mono_ns();
    const double now_cpu = cpu_s(CLOCK_THREAD_CPUTIME_ID);
    if (loading && painted_at != 0 && last_tick >= painted_at) {
      max_gap = std::max(max_gap, now - last_tick);
      max_gap_cpu = std::max(max_gap_cpu, now_cpu - last_tick_cpu);
    }
    last_tick_cpu = now_cpu;
    last_tick = now;
    ++ticks;
    const auto& p = view->feed().progress();
    if (reader_done_ns == 0 && p.bytes_total.load() != 0 && p.bytes_read.load() == p.bytes_total.load())
      reader_done_ns = now;
  });
  frame_timer.start();
  std::uint64_t end = 0;
  QObject::connect(view, &ready::ui::RecordingView::loaded, [&] {
    end = mono_ns();
    loading = false;
    QTimer::singleShot(0, &app, &QCoreApplication::quit);
  });
  QApplication::exec();
  app.removeEventFilter(&first_paint);
  // CPU seconds of the whole load and of the GUI thread alone (draining, models, paints);
  // the rest is the reader thread's (Qt's own threads idle offscreen). On a shared machine
  // they are the steadier figures: n / max(gui, reader) is the rate two free cores would give.
  const double cpu = cpu_s() - cpu0, gui_cpu = cpu_s(CLOCK_THREAD_CPUTIME_ID) - gui_cpu0;

  const auto& store = (*window)->bridge().store();
  const auto& outcome = view->feed().outcome();
  int rc = 0;
  if (!outcome || !outcome->has_value()) {
    std::fprintf(stderr, "readyscope-bench: open: %s\n",
                 outcome ? outcome->error().message().c_str() : "the load did not end");
    rc = 1;
  } else if (store.size() + store.evicted() != n) {
    std::fprintf(stderr, "readyscope-bench: open: %llu records in the store, %llu written\n",
                 static_cast<unsigned long long>(store.size() + store.evicted()), static_cast<unsigned long long>(n));
    rc = 1;
  }
  const double secs = static_cast<double>(end - start) / 1e9;
  const long long bytes = static_cast<long long>(view->feed().progress().bytes_total.load());
  std::printf(
      "workload=open impl=readyscope records=%llu seconds=%.3f records_per_s=%.1f reader_s=%.3f "
      "max_frame_gap_ms=%.2f max_frame_gap_cpu_ms=%.2f first_paint_ms=%.1f frame_ticks=%llu file_bytes=%lld cpu_s=%.3f gui_cpu_s=%.3f "
      "reader_cpu_s=%.3f queue_full_waits=%llu evicted=%llu pin=none\n",
      static_cast<unsigned long long>(n), secs, secs > 0 ? static_cast<double>(n) / secs : 0.0,
      reader_done_ns ? static_cast<double>(reader_done_ns - start) / 1e9 : 0.0, static_cast<double>(max_gap) / 1e6,
      max_gap_cpu * 1e3,
      painted_at ? static_cast<double>(painted_at - start) / 1e6 : 0.0,
      static_cast<unsigned long long>(ticks), bytes, cpu, gui_cpu, cpu - gui_cpu,
      static_cast<unsigned long long>(view->feed().queue_full_waits()),
      static_cast<unsigned long long>(store.evicted()));
  std::fflush(stdout);
  window->reset();
  cleanup();
  return rc;
}
