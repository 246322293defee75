// readyscope-bench: the anchor workloads of ../shared/anchors/bench, written with ready::.
//
// Same flags, same workloads, same output lines as the anchor programs (raw epoll,
// libuv, libevent, mio), so `EXTRA=build/release/bin/readyscope-bench
// ../shared/anchors/bench/run.sh` puts it in the same table:
//   W1 wake   two threads, each with its own Poll and Waker; a round trip is
//             wake(other) + block in poll until woken back.
//   W2 storm  1000 socketpairs (UnixStream::pair), read ends registered READABLE
//             edge-triggered; each round writes 1 byte to 100 distinct sockets chosen
//             by splitmix64 and polls until 100 events, one 64-byte read per event.
//   store     RecordStore ingest: N readiness records (1000 tokens chosen by splitmix64,
//             times increasing) appended to a store that holds them all; prints
//             records/s and the store's measured bytes per record.
//   W3 pipeline   needs the capture engine (records, ring, notify eventfd); it is
//             measured once the engine exists, and this program says so on stderr.
// Output: workload=<w> impl=readyscope ops=N seconds=S ops_per_s=R p50_us= p99_us= ... pin=<mode>
// BENCH_PIN=none|same|split places threads as the anchors do (W1 driver role 0, waiter 1).
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ready/capture/recording.h"
#include "ready/capture/store.h"
#include "ready/ready.h"

namespace {

constexpr const char* kImpl = "readyscope";
constexpr int kStormSockets = 1000;
constexpr int kStormPerRound = 100;
constexpr std::uint64_t kStormSeed = 0x5EED1234ULL;

std::uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

[[noreturn]] void die(const char* what, const std::error_code& ec) {
  std::fprintf(stderr, "readyscope-bench: %s: %s\n", what, ec.message().c_str());
  std::exit(1);
}

template <class T>
T must(ready::io_result<T> r, const char* what) {
  if (!r) die(what, r.error());
  return std::move(*r);
}

// splitmix64, the generator every anchor program uses, so W2 touches the same sockets.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t s_;
};

// k distinct indices in [0, n) per call: a partial Fisher-Yates over a persistent permutation.
class Picker {
 public:
  Picker(std::uint32_t n, std::uint64_t seed) : perm_(n), rng_(seed) {
    for (std::uint32_t i = 0; i < n; ++i) perm_[i] = i;
  }
  void pick(std::uint32_t k, std::uint32_t* out) {
    const auto n = static_cast<std::uint32_t>(perm_.size());
    for (std::uint32_t i = 0; i < k; ++i) {
      const auto j = i + static_cast<std::uint32_t>(rng_.next() % (n - i));
      std::swap(perm_[i], perm_[j]);
      out[i] = perm_[i];
    }
  }

 private:
  std::vector<std::uint32_t> perm_;
  SplitMix64 rng_;
};

std::string pin_mode() {
  const char* m = std::getenv("BENCH_PIN");
  return m && *m ? m : "none";
}

// none: the scheduler decides; same: every thread on CPU 0; split: role r on CPU r % ncpu.
void pin_role(int role) {
  const std::string m = pin_mode();
  if (m == "none") return;
  const long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  const int cpu = m == "same" ? 0 : static_cast<int>(role % (ncpu > 0 ? ncpu : 1));
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) std::fprintf(stderr, "pin failed\n");
}

void report(const char* workload, std::uint64_t ops, double secs, std::vector<std::uint64_t>& lat,
            const char* extra) {
  std::printf("workload=%s impl=%s ops=%llu seconds=%.4f ops_per_s=%.1f", workload, kImpl,
              static_cast<unsigned long long>(ops), secs, secs > 0 ? static_cast<double>(ops) / secs : 0.0);
  if (!lat.empty()) {
    std::sort(lat.begin(), lat.end());
    const std::size_t n = lat.size();
    const double p50 = static_cast<double>(lat[n / 2]) / 1000.0;
    const double p99 =
        static_cast<double>(lat[std::min(n - 1, static_cast<std::size_t>(static_cast<double>(n) * 0.99))]) /
        1000.0;
    std::printf(" p50_us=%.2f p99_us=%.2f", p50, p99);
  }
  if (*extra) std::printf(" %s", extra);
  std::printf(" pin=%s\n", pin_mode().c_str());
  std::fflush(stdout);
}

// Blocks until poll returns at least one event; EINTR is retried (the caller's choice in ready::).
void poll_blocking(ready::Poll& poll, ready::Events& events) {
  for (;;) {
    auto n = poll.poll(events, std::nullopt);
    if (n) {
      if (*n > 0) return;
      continue;
    }
    if (n.error() != std::errc::interrupted) die("poll", n.error());
  }
}

// ---------- W1 wake ----------
void w_wake(long iters) {
  auto poll_a = must(ready::Poll::create(), "Poll::create");
  auto poll_b = must(ready::Poll::create(), "Poll::create");
  const auto waker_a = must(ready::Waker::create(poll_a.registry(), ready::Token(0)), "Waker::create");
  const auto waker_b = must(ready::Waker::create(poll_b.registry(), ready::Token(0)), "Waker::create");
  std::atomic<bool> stop{false};
  pin_role(0);
  std::thread waiter([&] {
    pin_role(1);
    ready::Events events(4);
    for (;;) {
      poll_blocking(poll_a, events);
      if (stop.load(std::memory_order_acquire)) break;
      if (auto r = waker_b.wake(); !r) die("wake", r.error());
    }
  });
  const long warm = std::max(1000L, iters / 50);
  std::vector<std::uint64_t> lat;
  lat.reserve(static_cast<std::size_t>(iters));
  ready::Events events(4);
  std::uint64_t start = 0;
  for (long i = 0; i < warm + iters; ++i) {
    if (i == warm) start = now_ns();
    const std::uint64_t t0 = now_ns();
    if (auto r = waker_a.wake(); !r) die("wake", r.error());
    poll_blocking(poll_b, events);
    if (i >= warm) lat.push_back(now_ns() - t0);
  }
  const double secs = static_cast<double>(now_ns() - start) / 1e9;
  stop.store(true, std::memory_order_release);
  (void)waker_a.wake();
  waiter.join();
  report("wake", static_cast<std::uint64_t>(iters), secs, lat, "");
}

// ---------- W2 storm ----------
void w_storm(long rounds) {
  pin_role(0);
  auto poll = must(ready::Poll::create(), "Poll::create");
  std::vector<ready::net::UnixStream> rd, wr;
  rd.reserve(kStormSockets);
  wr.reserve(kStormSockets);
  for (int i = 0; i < kStormSockets; ++i) {
    auto [r, w] = must(ready::net::UnixStream::pair(), "UnixStream::pair");
    if (auto ok =
            poll.registry().add(r, ready::Token(static_cast<std::size_t>(i)), ready::Interest::READABLE);
        !ok)
      die("Registry::add", ok.error());
    rd.push_back(std::move(r));
    wr.push_back(std::move(w));
  }
  Picker picker(kStormSockets, kStormSeed);
  std::array<std::uint32_t, kStormPerRound> idx{};
  ready::Events events(256);
  std::array<std::byte, 64> buf{};
  const auto x = ready::as_bytes("x");
  const long warm = std::max(100L, rounds / 50);
  std::uint64_t total = 0, start = 0;
  std::vector<std::uint64_t> lat;
  lat.reserve(static_cast<std::size_t>(rounds));
  for (long r = 0; r < warm + rounds; ++r) {
    if (r == warm) {
      start = now_ns();
      total = 0;
    }
    picker.pick(kStormPerRound, idx.data());
    const std::uint64_t t0 = now_ns();
    for (std::uint32_t k : idx) {
      auto n = wr[k].write(x);
      if (!n || *n != 1) die("write", n ? std::make_error_code(std::errc::io_error) : n.error());
    }
    int got = 0;
    while (got < kStormPerRound) {
      poll_blocking(poll, events);
      for (const ready::Event& e : events) {
        // One read drains: a short read on a stream socket means the buffer is empty (epoll(7) Q9).
        auto n = rd[e.token().value].read(buf);
        if (!n || *n == 0) die("read", n ? std::make_error_code(std::errc::io_error) : n.error());
        ++got;
      }
    }
    if (got != kStormPerRound) {
      std::fprintf(stderr, "storm: got %d events, expected %d\n", got, kStormPerRound);
      std::exit(1);
    }
    if (r >= warm) lat.push_back(now_ns() - t0);
    total += static_cast<std::uint64_t>(got);
  }
  const double secs = static_cast<double>(now_ns() - start) / 1e9;
  report("storm", total, secs, lat, "lat=per_round");
}

// Ingest into a RecordStore: readiness records as the engine makes them (token, its fd, epoll
// bits, monotonic time), one thread, no eviction (the cap is the record count).
void w_store(long records) {
  pin_role(0);
  const auto n = static_cast<std::uint64_t>(records);
  ready::capture::StoreLimits limits;
  limits.max_records =
      std::clamp<std::uint64_t>(n, limits.chunk_records, ready::capture::RecordStore::kMaxRecords);
  ready::capture::RecordStore store(limits);
  // Token choices precomputed so the timed loop measures the store, not the generator.
  SplitMix64 rng(kStormSeed);
  std::vector<std::uint32_t> tokens(1 << 16);
  for (auto& t : tokens) t = static_cast<std::uint32_t>(rng.next() % kStormSockets);
  ready::capture::Record r;
  r.kind = ready::capture::RecordKind::readiness;
  const std::uint64_t start = now_ns();
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint32_t tok = tokens[i & (tokens.size() - 1)];
    r.t_ns = i * 100;
    r.token = tok + 1;
    r.fd = static_cast<std::int32_t>(tok) + 3;
    r.bits = 0x1;  // EPOLLIN
    store.append(r);
  }
  const double secs = static_cast<double>(now_ns() - start) / 1e9;
  if (store.size() != n || store.evicted() != 0) {
    std::fprintf(stderr, "readyscope-bench: store kept %llu of %llu records\n",
                 static_cast<unsigned long long>(store.size()), static_cast<unsigned long long>(n));
    std::exit(1);
  }
  char extra[64];
  std::snprintf(extra, sizeof extra, "bytes_per_record=%.2f",
                static_cast<double>(store.memory_bytes()) / static_cast<double>(store.size()));
  std::vector<std::uint64_t> no_latency;
  report("store", n, secs, no_latency, extra);
}

// Loading a recording: N readiness records (as w_store makes them) written to a temp file
// with RecordingWriter (not timed), then load_recording into a RecordStore (timed).
// Only with -o load: it writes a file (~100 bytes per record).
void w_load(long records) {
  pin_role(0);
  const auto n = static_cast<std::uint64_t>(records);
  char dir[] = "/tmp/readyscope-bench-XXXXXX";
  if (!mkdtemp(dir)) {
    std::perror("readyscope-bench: mkdtemp");
    std::exit(1);
  }
  const std::string path = std::string(dir) + "/load.jsonl";
  auto fail = [&](const std::string& what) {
    std::fprintf(stderr, "readyscope-bench: load: %s\n", what.c_str());
    ::unlink(path.c_str());
    ::rmdir(dir);
    std::exit(1);
  };
  {
    auto w = ready::capture::RecordingWriter::create(path);
    if (!w) fail("create: " + w.error().message());
    SplitMix64 rng(kStormSeed);
    std::vector<ready::capture::Record> batch(4096);
    for (std::uint64_t i = 0; i < n;) {
      std::size_t k = 0;
      for (; k < batch.size() && i < n; ++k, ++i) {
        const auto tok = static_cast<std::uint32_t>(rng.next() % kStormSockets);
        ready::capture::Record& r = batch[k];
        r = {};
        r.kind = ready::capture::RecordKind::readiness;
        r.t_ns = i * 100;
        r.token = tok + 1;
        r.fd = static_cast<std::int32_t>(tok) + 3;
        r.bits = (i % 4 == 0) ? 0x2005u : 0x1u;  // EPOLLIN|EPOLLOUT|EPOLLRDHUP or EPOLLIN
      }
      if (auto wr = w->write(std::span<const ready::capture::Record>(batch.data(), k)); !wr)
        fail("write: " + wr.error().message());
    }
    if (auto cr = w->close(); !cr) fail("close: " + cr.error().message());
  }
  ready::capture::StoreLimits limits;
  limits.max_records =
      std::clamp<std::uint64_t>(n, limits.chunk_records, ready::capture::RecordStore::kMaxRecords);
  ready::capture::RecordStore store(limits);
  // CPU time too: on a shared machine the wall time includes waiting for a core.
  timespec cpu0{}, cpu1{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
  const std::uint64_t start = now_ns();
  auto loaded = ready::capture::load_recording(path, store);
  const double secs = static_cast<double>(now_ns() - start) / 1e9;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
  const double cpu_secs =
      static_cast<double>(cpu1.tv_sec - cpu0.tv_sec) + static_cast<double>(cpu1.tv_nsec - cpu0.tv_nsec) / 1e9;
  if (!loaded) fail(loaded.error().message());
  if (store.size() != n)
    fail("loaded " + std::to_string(store.size()) + " of " + std::to_string(n) + " records");
  struct stat st {};
  const long long bytes = ::stat(path.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : 0;
  ::unlink(path.c_str());
  ::rmdir(dir);
  char extra[128];
  std::snprintf(extra, sizeof extra, "file_bytes=%lld cpu_s=%.4f cpu_ops_per_s=%.1f", bytes, cpu_secs,
                cpu_secs > 0 ? static_cast<double>(n) / cpu_secs : 0.0);
  std::vector<std::uint64_t> no_latency;
  report("load", n, secs, no_latency, extra);
}

struct Opts {
  long wake_iters = 200000;
  long storm_rounds = 20000;
  long store_records = 10'000'000;
  long load_records = 2'000'000;
  std::string only;  // empty: every workload but load
  [[nodiscard]] bool want(const char* w) const {
    return only.empty() ? std::string_view(w) != "load" : only == w;
  }
};

void usage(const char* argv0, FILE* to) {
  std::fprintf(
      to,
      "usage: %s [-w wake_iters] [-s storm_rounds] [-p pipeline_records] [-W pipeline_window]\n"
      "          [-l pipeline_w1_records] [-n store_records] [-L load_records]\n"
      "          [-o wake|storm|store|pipeline|load]\n"
      "The anchor workloads of ../shared/anchors/bench through ready::; one output line per workload.\n"
      "load (only with -o load): write load_records readiness records to a temp recording, time\n"
      "load_recording.\n"
      "Env BENCH_PIN=none|same|split: thread placement (see the anchors' README).\n",
      argv0);
}

// A positive count from an option's text; exits 2 with a message otherwise.
long count_arg(const char* argv0, int opt, const char* text) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v <= 0) {
    std::fprintf(stderr, "%s: -%c needs a positive integer, got '%s'\n", argv0, opt, text);
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  Opts o;
  int c;
  while ((c = getopt(argc, argv, "w:s:p:W:l:n:L:o:h")) != -1) {
    switch (c) {
      case 'w':
        o.wake_iters = count_arg(argv[0], c, optarg);
        break;
      case 's':
        o.storm_rounds = count_arg(argv[0], c, optarg);
        break;
      case 'n':
        o.store_records = count_arg(argv[0], c, optarg);
        break;
      case 'L':
        o.load_records = count_arg(argv[0], c, optarg);
        break;
      case 'p':
      case 'W':
      case 'l':
        (void)count_arg(argv[0], c, optarg);  // pipeline sizes: accepted for the anchors' command line
        break;
      case 'o':
        o.only = optarg;
        if (o.only != "wake" && o.only != "storm" && o.only != "store" && o.only != "pipeline" &&
            o.only != "load") {
          std::fprintf(stderr, "%s: unknown workload '%s' (wake, storm, store, pipeline, load)\n", argv[0],
                       optarg);
          return 2;
        }
        break;
      case 'h':
        usage(argv[0], stdout);
        return 0;
      default:
        usage(argv[0], stderr);
        return 2;
    }
  }
  // 1000 socketpairs need 2000+ descriptors.
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (o.want("wake")) w_wake(o.wake_iters);
  if (o.want("storm")) w_storm(o.storm_rounds);
  if (o.want("store")) w_store(o.store_records);
  if (o.want("load")) w_load(o.load_records);
  if (o.want("pipeline"))
    std::fprintf(stderr,
                 "readyscope-bench: W3 pipeline runs through the capture engine, which is not built yet\n");
  return 0;
}
