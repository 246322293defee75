// readyscope-bench's GUI workloads: `-o ingest` (records through the ring and the bridge into
// the store with the main window open) and `-o startup` (process start to the first painted
// frame). `-o paint` is in gui_paint.cpp.
#include "gui_bench.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QEvent>
#include <QFile>
#include <QProcess>
#include <QProcessEnvironment>
#include <QTimer>

#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "session/bridge.h"
#include "window/main_window.h"
#include "ready/capture/notifier.h"
#include "ready/capture/ring.h"
#include "timeline/timelineview.h"

namespace {

using ready::capture::Record;
using ready::capture::RecordKind;

std::uint64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

double rss_mb() {
  QFile f(QStringLiteral("/proc/self/status"));
  if (!f.open(QIODevice::ReadOnly)) return -1;
  for (const QByteArray& line : f.readAll().split('\n')) {
    if (line.startsWith("VmRSS:")) return line.mid(6).trimmed().split(' ').value(0).toDouble() / 1024.0;
  }
  return -1;
}

/// Makes sure a QApplication can exist: the benchmark runs offscreen unless told otherwise.
void ensure_platform() {
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
}

/// With READY_GUI_INGEST_PROFILE set: times every event the application dispatches and keeps,
/// per receiver class (and its parent's) and event type, the count, total and longest, so a
/// frame gap can be blamed on what ran in it. Nested dispatches are counted in their parent too.
class ProfilingApplication : public QApplication {
 public:
  using QApplication::QApplication;
  bool profiling = false;
  struct Cost {
    std::uint64_t count = 0, total_ns = 0, max_ns = 0;
  };
  std::map<QByteArray, Cost> costs;

  bool notify(QObject* receiver, QEvent* e) override {
    if (!profiling) return QApplication::notify(receiver, e);
    // The key first: the receiver (and the event) may be gone when notify returns.
    QByteArray key = receiver->metaObject()->className();
    if (const QObject* parent = receiver->parent()) {
      key.append('<').append(parent->metaObject()->className());
      if (!parent->objectName().isEmpty()) key.append('(').append(parent->objectName().toUtf8()).append(')');
    }
    key.append(" ev").append(QByteArray::number(static_cast<int>(e->type())));
    const std::uint64_t t0 = mono_ns();
    const bool r = QApplication::notify(receiver, e);
    const std::uint64_t dt = mono_ns() - t0;
    Cost& c = costs[key];
    ++c.count;
    c.total_ns += dt;
    c.max_ns = std::max(c.max_ns, dt);
    return r;
  }
};

}  // namespace

int gui_ingest_main(double seconds, double rate) {
  ensure_platform();
  int argc = 1;
  char name[] = "readyscope-bench";
  char* argv[] = {name, nullptr};
  ProfilingApplication app(argc, argv);
  app.profiling = qEnvironmentVariableIsSet("READY_GUI_INGEST_PROFILE");

  constexpr int kTokens = 32;
  auto feedOwned = std::make_unique<ready::ui::RingFeed>(ready::ui::Bridge::kWindowRingCapacity);
  ready::ui::RingFeed* feed = feedOwned.get();
  ready::ui::Bridge::Options options;  // the store's default bound: 2^24 records
  auto bridge = std::make_unique<ready::ui::Bridge>(std::move(feedOwned), options);
  const std::uint64_t storeBound = bridge->store().limits().max_records;
  ready::ui::MainWindow window(std::move(bridge));
  window.resize(1600, 900);
  window.show();

  // Frame gaps: a 16 ms timer on the GUI thread; a gap is the time between two of its ticks.
  // Paints of the timeline are counted too (it repaints at most once per bridge frame).
  std::uint64_t lastTick = 0, maxGap = 0, ticks = 0;
  std::atomic<bool> producing{false};
  QTimer frameTimer;
  frameTimer.setTimerType(Qt::PreciseTimer);
  frameTimer.setInterval(16);
  QObject::connect(&frameTimer, &QTimer::timeout, [&] {
    const std::uint64_t now = mono_ns();
    if (producing.load(std::memory_order_relaxed) && lastTick != 0) maxGap = std::max(maxGap, now - lastTick);
    lastTick = now;
    ++ticks;
  });
  struct PaintCounter : QObject {
    std::uint64_t paints = 0;
    bool eventFilter(QObject*, QEvent* e) override {
      if (e->type() == QEvent::Paint) ++paints;
      return false;
    }
  } paintCounter;
  window.timeline()->installEventFilter(&paintCounter);

  const std::uint64_t total = static_cast<std::uint64_t>(seconds * rate);
  std::uint64_t startNs = 0, endNs = 0;
  std::thread producer;
  QTimer::singleShot(200, [&] {
    frameTimer.start();
    startNs = mono_ns();
    producing = true;
    producer = std::thread([&, feed] {
      // Sources first, so lanes exist; then readiness records of mixed kinds, paced in
      // 1 ms steps to `rate` per second.
      for (int i = 0; i < kTokens; ++i) {
        Record r;
        r.kind = RecordKind::source_added;
        r.token = static_cast<std::uint64_t>(i + 1);
        r.fd = 100 + i;
        r.op = static_cast<std::uint8_t>(ready::capture::SourceKind::tcp_stream);
        r.bits = ready::capture::SourceBits{}.pack();
        r.t_ns = 0;
        feed->ring.try_push(r);
      }
      feed->notifier.notify();
      static constexpr std::uint32_t kBits[] = {EPOLLIN, EPOLLOUT, EPOLLIN | EPOLLOUT, EPOLLIN | EPOLLRDHUP, EPOLLERR | EPOLLHUP, EPOLLPRI};
      std::uint64_t pushed = 0;
      timespec next{};
      clock_gettime(CLOCK_MONOTONIC, &next);
      while (pushed < total) {
        const std::uint64_t now = mono_ns();
        const std::uint64_t due = std::min<std::uint64_t>(
            total, static_cast<std::uint64_t>(static_cast<double>(now - startNs) * rate / 1e9));
        for (; pushed < due; ++pushed) {
          Record r;
          r.kind = RecordKind::readiness;
          r.token = pushed % kTokens + 1;
          r.fd = 100 + static_cast<int>(r.token - 1);
          r.bits = kBits[(pushed / kTokens) % 6];
          r.t_ns = now - startNs;
          feed->ring.try_push(r);
        }
        feed->notifier.notify();
        next.tv_nsec += 1'000'000;
        if (next.tv_nsec >= 1'000'000'000) {
          next.tv_nsec -= 1'000'000'000;
          ++next.tv_sec;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
      }
      endNs = mono_ns();
      producing = false;
    });
  });
  // Done when the producer finished and the store holds everything it pushed.
  QTimer done;
  done.setInterval(50);
  QObject::connect(&done, &QTimer::timeout, [&] {
    if (producing.load() || startNs == 0) return;
    const auto s = window.bridge().status();
    if (s.received + s.dropped < total + kTokens) return;
    QCoreApplication::quit();
  });
  done.start();
  app.exec();
  if (producer.joinable()) producer.join();

  const auto s = window.bridge().status();
  const double secs = static_cast<double>(endNs - startNs) / 1e9;
  std::printf(
      "workload=ingest impl=readyscope records=%llu seconds=%.3f records_per_s=%.1f max_frame_gap_ms=%.2f "
      "dropped=%llu rss_mb=%.1f store_mb=%.1f store_bound_records=%llu evicted=%llu timeline_paints=%llu "
      "frame_ticks=%llu pin=none\n",
      static_cast<unsigned long long>(s.received), secs, secs > 0 ? static_cast<double>(s.received) / secs : 0.0,
      static_cast<double>(maxGap) / 1e6, static_cast<unsigned long long>(s.dropped), rss_mb(),
      static_cast<double>(window.bridge().store().memory_bytes()) / (1024.0 * 1024.0),
      static_cast<unsigned long long>(storeBound), static_cast<unsigned long long>(s.evicted),
      static_cast<unsigned long long>(paintCounter.paints), static_cast<unsigned long long>(ticks));
  std::fflush(stdout);
  for (const auto& [key, c] : app.costs) {
    if (c.max_ns < 2'000'000) continue;
    std::fprintf(stderr, "profile: %-60s count=%llu total_ms=%.1f max_ms=%.2f\n", key.constData(),
                 static_cast<unsigned long long>(c.count), static_cast<double>(c.total_ns) / 1e6,
                 static_cast<double>(c.max_ns) / 1e6);
  }
  window.timeline()->removeEventFilter(&paintCounter);
  return 0;
}

int gui_startup_main(int runs) {
  // The app next to this benchmark (both land in <build>/bin).
  char self[PATH_MAX] = {};
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    std::fprintf(stderr, "startup: cannot find /proc/self/exe\n");
    return 1;
  }
  std::string app(self, static_cast<std::size_t>(n));
  app = app.substr(0, app.rfind('/')) + "/readyscope";
  if (access(app.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "startup: %s is not built (cmake --build ... --target readyscope)\n", app.c_str());
    return 1;
  }
  ensure_platform();
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("READYSCOPE_STARTUP_PROBE"), QStringLiteral("1"));
    // A fresh settings folder: no remembered layout or theme changes what is measured.
    env.insert(QStringLiteral("XDG_CONFIG_HOME"), QStringLiteral("/tmp/readyscope-bench-startup-config"));
    p.setProcessEnvironment(env);
    const std::uint64_t t0 = mono_ns();
    p.start(QString::fromStdString(app), {});
    if (!p.waitForFinished(30'000)) {
      std::fprintf(stderr, "startup: readyscope did not finish\n");
      p.kill();
      p.waitForFinished();
      return 1;
    }
    const QByteArray out = p.readAllStandardOutput();
    const int at = out.indexOf("first_paint_ns=");
    if (at < 0 || p.exitCode() != 0) {
      std::fprintf(stderr, "startup: no first_paint_ns line (exit %d): %s\n", p.exitCode(),
                   p.readAllStandardError().constData());
      return 1;
    }
    const std::uint64_t painted = out.mid(at + 15).trimmed().split('\n').value(0).toULongLong();
    ms.push_back(static_cast<double>(painted - t0) / 1e6);
  }
  std::sort(ms.begin(), ms.end());
  std::printf("workload=startup impl=readyscope ms=%.1f runs=%d min_ms=%.1f max_ms=%.1f pin=none\n", ms[ms.size() / 2],
              runs, ms.front(), ms.back());
  std::fflush(stdout);
  return 0;
}
