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
//   W3 pipeline   through the capture engine: 64 Unix stream connections to an engine
//             UnixListen (Reaction::drain, edge-triggered), so the engine's poll thread owns
//             the read ends, reads them in its drain reaction and reports readiness + drain
//             action records through its ring and Notifier eventfd; a consumer thread waits
//             in its own Poll (epoll, edge-triggered) on the Notifier fd, calls
//             begin_drain_edge (no eventfd read, as the anchors' GUI thread), drains the ring in batches
//             into a RecordStore and counts messages from the drain actions (value / 8).
//             The producer writes 8-byte timestamps to sockets chosen by splitmix64
//             (PIPE_SEED) with at most `window` messages in flight; latency = consumer
//             receipt time minus the producer's timestamp (kept aside by message number,
//             see SendTimes, since the engine does not hand the payload to the consumer).
//             `pipeline` uses -W
//             (default 256), `pipeline_w1` window 1. Extra fields: records (stored),
//             store_records_per_s (time inside RecordStore::append only),
//             store_bytes_per_record, dropped (ring drops: must be 0), and the CPU time
//             each thread spent in the timed part: cpu_producer_ms, cpu_poll_ms (the
//             engine's poll thread, from /proc/self/task/*/schedstat; 0 without it),
//             cpu_consumer_ms. With every thread on one CPU (BENCH_PIN=same) their sum is
//             the wall time, so they show which thread a difference to raw sits in.
// Output: workload=<w> impl=readyscope ops=N seconds=S ops_per_s=R p50_us= p99_us= ... pin=<mode>
// BENCH_PIN=none|same|split places threads as the anchors do (W1 driver role 0, waiter 1).
#include <dirent.h>
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

#include "ready/capture/engine.h"
#include "ready/capture/recording.h"
#include "ready/capture/store.h"
#include "export_bench.h"
#include "relay_bench.h"
#include "trace_bench.h"
#include "ready/ready.h"

#include "gui_bench.h"

namespace {

constexpr const char* kImpl = "readyscope";
constexpr int kStormSockets = 1000;
constexpr int kStormPerRound = 100;
constexpr std::uint64_t kStormSeed = 0x5EED1234ULL;
constexpr int kPipeSockets = 64;
constexpr std::uint64_t kPipeSeed = 0xC0FFEEULL;

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

// ---------- soak: a long capture through the engine into a capped store ----------

// VmRSS of this process in bytes, from /proc/self/status (0 if unreadable).
std::uint64_t rss_bytes() {
  FILE* f = std::fopen("/proc/self/status", "re");
  if (!f) return 0;
  char line[256];
  std::uint64_t kib = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, "VmRSS:", 6) == 0) kib = std::strtoull(line + 6, nullptr, 10);
  std::fclose(f);
  return kib * 1024;
}

// `total` records through the engine into a RecordStore with the default limits (what the
// window's session uses), as a long capture would: 4 Unix stream connections to an engine
// UnixListen (Reaction::discard), a producer writing 16-byte messages to them and replacing
// one connection every 50,000 writes (so tokens come and go), the consumer (this thread)
// draining the ring into the store. The producer waits while half the ring is in flight, so
// nothing is dropped. Reports VmRSS when 10 %, 20 % and 100 % of the records were stored:
// the store fills at 2^24 records (16.8 % of the default 100M), so RSS must be flat from
// 20 % to 100 % (within 5 %), and the evicted count is exactly stored - kept.
int w_soak(long total_l) {
  namespace cap = ready::capture;
  const auto total = static_cast<std::uint64_t>(total_l);
  auto engine = must(cap::Engine::start(), "Engine::start");
  cap::RecordStore store;  // default limits
  std::vector<cap::Record> batch(4096);
  char dir[] = "/tmp/readyscope-bench-XXXXXX";
  if (!mkdtemp(dir)) die("mkdtemp", std::error_code(errno, std::system_category()));
  const std::string path = std::string(dir) + "/soak.sock";
  cap::SourceOptions opts;
  opts.reaction.kind = cap::Reaction::discard;
  opts.reaction.stop_at_short_read = true;
  (void)must(engine->submit(cap::cmd::UnixListen{path, opts}), "submit UnixListen");
  auto drain_all = [&] {
    engine->notifier().begin_drain();
    std::size_t k;
    while ((k = engine->drain(batch)) > 0)
      for (std::size_t i = 0; i < k; ++i) store.append(batch[i]);
  };
  // The listener exists once a connect succeeds.
  for (;;) {
    drain_all();
    if (auto probe = ready::net::UnixStream::connect(path)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }

  const std::uint64_t half_ring = engine->config().ring_capacity / 2;
  std::atomic<bool> stop{false};
  std::thread producer([&] {
    constexpr int kConns = 4;
    constexpr std::uint64_t kReplaceEvery = 50'000;
    std::vector<ready::net::UnixStream> conns;
    for (int i = 0; i < kConns; ++i) conns.push_back(must(ready::net::UnixStream::connect(path), "connect"));
    const std::array<std::byte, 16> msg{};
    SplitMix64 rng(kPipeSeed);
    for (std::uint64_t n = 1; !stop.load(std::memory_order_relaxed); ++n) {
      while (engine->produced() - engine->delivered() - engine->dropped() > half_ring &&
             !stop.load(std::memory_order_relaxed))
        std::this_thread::yield();
      auto& c = conns[rng.next() % kConns];
      (void)c.write(msg);  // would-block (the engine is behind) is fine: the next write comes
      if (n % kReplaceEvery == 0) c = must(ready::net::UnixStream::connect(path), "connect");
    }
  });

  const std::uint64_t start = now_ns();
  std::uint64_t rss_10 = 0, rss_20 = 0;
  while (store.end_index() < total) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    drain_all();
    if (rss_10 == 0 && store.end_index() >= total / 10) rss_10 = rss_bytes();
    if (rss_20 == 0 && store.end_index() >= total / 5) rss_20 = rss_bytes();
  }
  const std::uint64_t rss_100 = rss_bytes();
  const double secs = static_cast<double>(now_ns() - start) / 1e9;
  stop = true;
  producer.join();
  engine->stop();
  drain_all();
  ::unlink(path.c_str());
  ::rmdir(dir);

  const std::uint64_t stored = store.end_index();
  const bool exact = engine->produced() == engine->delivered() + engine->dropped() &&
                     stored == engine->delivered() && store.evicted() == stored - store.size();
  const double drift = rss_20 == 0 ? 0.0
                                   : (static_cast<double>(rss_100) - static_cast<double>(rss_20)) /
                                         static_cast<double>(rss_20);
  const bool filled = store.evicted() > 0 && total / 5 >= store.limits().max_records;
  char extra[320];
  std::snprintf(extra, sizeof extra,
                "produced=%llu dropped=%llu kept=%llu evicted=%llu rss_10pct_mb=%.1f rss_20pct_mb=%.1f "
                "rss_100pct_mb=%.1f rss_drift_20_100=%.3f tokens_held=%zu",
                static_cast<unsigned long long>(engine->produced()),
                static_cast<unsigned long long>(engine->dropped()), static_cast<unsigned long long>(store.size()),
                static_cast<unsigned long long>(store.evicted()), static_cast<double>(rss_10) / 1048576.0,
                static_cast<double>(rss_20) / 1048576.0, static_cast<double>(rss_100) / 1048576.0, drift,
                store.token_count());
  std::vector<std::uint64_t> no_latency;
  report("soak", stored, secs, no_latency, extra);
  if (!exact) {
    std::fprintf(stderr, "readyscope-bench: soak: the accounting does not add up\n");
    return 1;
  }
  if (engine->dropped() != 0) {
    std::fprintf(stderr, "readyscope-bench: soak: the ring dropped records\n");
    return 1;
  }
  if (filled && (drift > 0.05 || drift < -0.05)) {
    std::fprintf(stderr, "readyscope-bench: soak: RSS not flat from 20 %% to 100 %% (%.1f %%)\n", drift * 100);
    return 1;
  }
  return 0;
}

// ---------- W3 pipeline (through the capture engine) ----------

// CPU time of the calling thread, in nanoseconds (user + system, as the scheduler charged it).
std::uint64_t thread_cpu_ns() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(t.tv_nsec);
}

// CPU time of this process's thread named `name` (the engine names its poll thread
// "ready-poll"), from /proc/self/task/<tid>/schedstat; 0 if there is none. Diagnostic only:
// the pipeline line's cpu_*_ms fields say which thread a difference to raw sits in.
std::uint64_t named_thread_cpu_ns(std::string_view name) {
  DIR* dir = ::opendir("/proc/self/task");
  if (!dir) return 0;
  std::uint64_t ns = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    const std::string base = std::string("/proc/self/task/") + e->d_name;
    char comm[32] = {};
    if (FILE* f = std::fopen((base + "/comm").c_str(), "r")) {
      if (!std::fgets(comm, sizeof comm, f)) comm[0] = '\0';
      std::fclose(f);
    }
    if (std::string_view(comm).substr(0, name.size()) != name) continue;
    if (FILE* f = std::fopen((base + "/schedstat").c_str(), "r")) {
      unsigned long long v = 0;
      if (std::fscanf(f, "%llu", &v) == 1) ns = v;
      std::fclose(f);
    }
    break;
  }
  ::closedir(dir);
  return ns;
}

// The send times, for the latency. The engine does not hand the payload (the timestamps) to
// the consumer, so the bench keeps them aside, as cheaply as it can: the connection each
// message goes to follows from the seed, so before the timed part the schedule is replayed
// into per-connection lists of message numbers; during it the producer stores message i's
// send time in times[i] (one sequential store, nearly what the anchors' producer does:
// nothing), and the consumer, told by a drain action that connection c delivered k
// messages, takes the next k message numbers of c's list. Per connection, messages arrive
// in the order they were sent (a stream).
class SendTimes {
 public:
  SendTimes(std::uint64_t total, int connections, std::uint64_t seed)
      : times_(std::make_unique<std::atomic<std::uint64_t>[]>(total)),
        order_(total),
        next_(static_cast<std::size_t>(connections) + 1),
        end_(static_cast<std::size_t>(connections)) {
    std::vector<std::uint32_t> conn(total);
    SplitMix64 rng(seed);
    for (std::uint64_t i = 0; i < total; ++i) {
      conn[i] = static_cast<std::uint32_t>(rng.next() % static_cast<std::uint64_t>(connections));
      ++next_[conn[i] + 1];
    }
    for (std::size_t c = 1; c < next_.size(); ++c) next_[c] += next_[c - 1];
    for (std::size_t c = 0; c < end_.size(); ++c) end_[c] = next_[c + 1];
    std::vector<std::uint64_t> fill(next_.begin(), next_.end() - 1);
    for (std::uint64_t i = 0; i < total; ++i) order_[fill[conn[i]]++] = static_cast<std::uint32_t>(i);
  }
  /// Producer: message i was sent at t (before its write(2); release: the consumer's
  /// acquire load of it is what orders the two, the socket is not a C++ edge).
  void sent(std::uint64_t i, std::uint64_t t) { times_[i].store(t, std::memory_order_release); }
  /// Consumer: the send time of connection c's next message. A message that was not sent
  /// (or one too many) is a bookkeeping bug: stop rather than read garbage.
  std::uint64_t next(std::size_t c) {
    const std::uint64_t k = next_[c]++;
    const std::uint64_t t = k < end_[c] ? times_[order_[k]].load(std::memory_order_acquire) : 0;
    if (t == 0) {
      std::fprintf(stderr, "readyscope-bench: pipeline: a drain reported a message that was not sent\n");
      std::exit(1);
    }
    return t;
  }

 private:
  std::unique_ptr<std::atomic<std::uint64_t>[]> times_;  // zero: not sent yet
  std::vector<std::uint32_t> order_;  // message numbers, grouped by connection, in send order
  std::vector<std::uint64_t> next_;   // per connection: its next position in order_
  std::vector<std::uint64_t> end_;    // per connection: the end of its run in order_
};

void w_pipeline_one(const char* workload, long total_l, long window, bool drain_until_eagain) {
  namespace cap = ready::capture;
  const auto total = static_cast<std::uint64_t>(total_l);
  // The engine's poll thread is started from this thread and inherits its placement: role 1.
  pin_role(1);
  auto engine = must(cap::Engine::start(), "Engine::start");
  pin_role(0);

  cap::StoreLimits limits;
  // poll_return + readiness + drain action per message at most, plus setup records.
  limits.max_records = std::clamp<std::uint64_t>(3 * total + 4096, limits.chunk_records,
                                                 cap::RecordStore::kMaxRecords);
  cap::RecordStore store(limits);
  std::vector<cap::Record> batch(4096);
  // The consumer waits in its own Poll on the Notifier's eventfd (edge-triggered, as the
  // anchors' GUI thread waits on theirs). So begin_drain_edge is valid: it clears the pending
  // flag without reading the eventfd, as the anchors' GUI thread never reads theirs.
  auto consumer_poll = must(ready::Poll::create(), "Poll::create");
  {
    ready::SourceFd notify_source{engine->notifier().as_raw_fd()};
    if (auto r = consumer_poll.registry().add(notify_source, ready::Token(0), ready::Interest::READABLE); !r)
      die("Registry::add", r.error());
  }
  ready::Events consumer_events(4);

  // Consumer side, used by this thread during setup and by the consumer thread after it:
  // wait for the Notifier fd, begin_drain_edge, then drain the ring to empty.
  auto wait_ready = [&] {
    poll_blocking(consumer_poll, consumer_events);
    engine->notifier().begin_drain_edge();
  };
  // Setup: drains until `want` returns true for a record (every record goes to the store).
  auto wait_for = [&](auto want) {
    for (;;) {
      wait_ready();
      bool found = false;
      std::size_t k;
      while ((k = engine->drain(batch)) > 0) {
        for (std::size_t i = 0; i < k; ++i) {
          store.append(batch[i]);
          const cap::Record& r = batch[i];
          if (r.kind == cap::RecordKind::action && r.outcome == cap::Outcome::error) {
            std::fprintf(stderr, "readyscope-bench: pipeline setup: %s failed: %s\n",
                         std::string(cap::to_string(static_cast<cap::Op>(r.op))).c_str(), std::strerror(r.err));
            std::exit(1);
          }
          if (!found && want(r)) found = true;
        }
      }
      if (found) return;
    }
  };

  char dir[] = "/tmp/readyscope-bench-XXXXXX";
  if (!mkdtemp(dir)) die("mkdtemp", std::error_code(errno, std::system_category()));
  const std::string path = std::string(dir) + "/pipeline.sock";
  cap::SourceOptions opts;  // READABLE, edge-triggered, as the anchors register their read ends
  opts.reaction.kind = cap::Reaction::drain;
  // A short read ends the drain, as in the anchors' poll thread (epoll(7) Q9); -E: read on
  // until EAGAIN (the engine's default, one more read per event).
  opts.reaction.stop_at_short_read = !drain_until_eagain;
  const auto listen = must(engine->submit(cap::cmd::UnixListen{path, opts}), "submit UnixListen");
  wait_for([&](const cap::Record& r) {
    return r.kind == cap::RecordKind::source_added && r.token == listen.token.value;
  });

  // One connection at a time, so the i-th accepted stream is the i-th connection: the engine
  // accepts it (auto-accept on the listener) and records source_added (value = listener).
  std::vector<ready::net::UnixStream> wr;
  std::vector<int> index_of;  // engine token -> connection index (-1: not a connection)
  wr.reserve(kPipeSockets);
  for (int i = 0; i < kPipeSockets; ++i) {
    wr.push_back(must(ready::net::UnixStream::connect(path), "UnixStream::connect"));
    wait_for([&](const cap::Record& r) {
      if (r.kind != cap::RecordKind::source_added || r.value != listen.token.value) return false;
      if (index_of.size() <= r.token) index_of.resize(r.token + 1, -1);
      index_of[r.token] = i;
      return true;
    });
  }
  ::unlink(path.c_str());
  ::rmdir(dir);
  const std::uint64_t setup_records = store.size();

  SendTimes sent(total, kPipeSockets, kPipeSeed);

  std::atomic<std::uint64_t> consumed{0};
  std::vector<std::uint64_t> lat(total);
  std::uint64_t end_ns = 0, append_ns = 0, consumer_cpu_ns = 0;
  const std::uint64_t poll_cpu0 = named_thread_cpu_ns("ready-poll");
  const std::uint64_t start = now_ns();

  std::thread consumer([&] {
    pin_role(2);
    const std::uint64_t cpu0 = thread_cpu_ns();
    std::uint64_t got = 0;
    while (got < total) {
      wait_ready();
      std::size_t k;
      while ((k = engine->drain(batch)) > 0) {
        const std::uint64_t t = now_ns();
        for (std::size_t i = 0; i < k; ++i) {
          const cap::Record& r = batch[i];
          if (r.kind != cap::RecordKind::action || r.token >= index_of.size() || index_of[r.token] < 0) continue;
          if (r.op != static_cast<std::uint8_t>(cap::Op::drain) || r.outcome == cap::Outcome::error ||
              r.outcome == cap::Outcome::eof || r.value % 8 != 0) {
            std::fprintf(stderr, "readyscope-bench: pipeline: unexpected action on token %llu (op %u, %s, %llu bytes)\n",
                         static_cast<unsigned long long>(r.token), unsigned{r.op},
                         std::string(cap::to_string(r.outcome)).c_str(), static_cast<unsigned long long>(r.value));
            std::exit(1);
          }
          const auto conn = static_cast<std::size_t>(index_of[r.token]);
          for (std::uint64_t m = r.value / 8; m > 0; --m) {
            if (got >= total) {
              std::fprintf(stderr, "readyscope-bench: pipeline: more messages than were sent\n");
              std::exit(1);
            }
            lat[got++] = t - sent.next(conn);
          }
        }
        const std::uint64_t a0 = now_ns();
        for (std::size_t i = 0; i < k; ++i) store.append(batch[i]);
        append_ns += now_ns() - a0;
        consumed.store(got, std::memory_order_release);
      }
    }
    end_ns = now_ns();
    consumer_cpu_ns = thread_cpu_ns() - cpu0;
  });

  // Producer (this thread): a random connection per message, its timestamp, a bounded window.
  SplitMix64 rng(kPipeSeed);
  const std::uint64_t producer_cpu0 = thread_cpu_ns();
  for (std::uint64_t i = 0; i < total; ++i) {
    while (i - consumed.load(std::memory_order_acquire) >= static_cast<std::uint64_t>(window)) sched_yield();
    const auto s = static_cast<std::size_t>(rng.next() % kPipeSockets);
    const std::uint64_t ts = now_ns();
    sent.sent(i, ts);
    // The producer is the workload's traffic, not the engine: it writes exactly as the
    // anchors' producer does, with write(2) (UnixStream::write would send(MSG_NOSIGNAL),
    // a different and slightly dearer syscall path than the one raw is measured with).
    const ssize_t n = ::write(wr[s].as_raw_fd(), &ts, sizeof ts);
    if (n != static_cast<ssize_t>(sizeof ts))
      die("producer write", n < 0 ? std::error_code(errno, std::system_category()) : std::make_error_code(std::errc::io_error));
  }
  const std::uint64_t producer_cpu_ns = thread_cpu_ns() - producer_cpu0;
  consumer.join();
  const std::uint64_t poll_cpu_ns = named_thread_cpu_ns("ready-poll") - poll_cpu0;
  const double secs = static_cast<double>(end_ns - start) / 1e9;
  const std::uint64_t timed_records = store.size() - setup_records;

  engine->stop();
  for (std::size_t k; (k = engine->drain(batch)) > 0;)
    for (std::size_t i = 0; i < k; ++i) store.append(batch[i]);
  if (engine->produced() != engine->delivered() + engine->dropped()) {
    std::fprintf(stderr, "readyscope-bench: pipeline: ring accounting does not add up\n");
    std::exit(1);
  }
  char extra[384];
  std::snprintf(extra, sizeof extra,
                "window=%ld drain=%s records=%llu store_records_per_s=%.1f store_bytes_per_record=%.2f dropped=%llu "
                "cpu_producer_ms=%.1f cpu_poll_ms=%.1f cpu_consumer_ms=%.1f",
                window, drain_until_eagain ? "until_eagain" : "short_read",
                static_cast<unsigned long long>(timed_records),
                append_ns > 0 ? static_cast<double>(timed_records) * 1e9 / static_cast<double>(append_ns) : 0.0,
                static_cast<double>(store.memory_bytes()) / static_cast<double>(store.size()),
                static_cast<unsigned long long>(engine->dropped()), static_cast<double>(producer_cpu_ns) / 1e6,
                static_cast<double>(poll_cpu_ns) / 1e6, static_cast<double>(consumer_cpu_ns) / 1e6);
  report(workload, total, secs, lat, extra);
}

struct Opts {
  long wake_iters = 200000;
  long storm_rounds = 20000;
  long store_records = 10'000'000;
  long load_records = 2'000'000;
  bool load_records_given = false;  // -L: else -o open writes 10M
  long pipe_records = 1'000'000;
  long soak_records = 100'000'000;
  long pipe_window = 256;
  long pipe_lat_records = 100'000;
  bool drain_until_eagain = false;
  RelayBenchOptions relay;
  TraceBenchOptions trace;
  std::string only;  // empty: every workload but load
  [[nodiscard]] bool want(const char* w) const {
    // load, soak and the GUI workloads: only by name
    return only.empty() ? std::string_view(w) != "load" && std::string_view(w) != "soak" : only == w;
  }
};

void usage(const char* argv0, FILE* to) {
  std::fprintf(
      to,
      "usage: %s [-w wake_iters] [-s storm_rounds] [-p pipeline_or_soak_records] [-W pipeline_window]\n"
      "          [-l pipeline_w1_records] [-n store_records] [-L load_records] [-E]\n"
      "          [-B relay_bulk_bytes] [-R relay_round_trips] [-C relay_connections] [-T trace_round_trips]\n"
      "          [-o wake|storm|store|pipeline|load|soak|paint|ingest|startup|export|open|lanes|relay|trace]\n"
      "The anchor workloads of ../shared/anchors/bench through ready::; one output line per workload.\n"
      "load (only with -o load): write load_records readiness records to a temp recording, time\n"
      "load_recording.\n"
      "export (only with -o export): load_records records of a capture's mix written by TraceWriter\n"
      "and by CsvWriter to temp files (tests/bench/export_bench.h); records/s each.\n"
      "relay (only with -o relay): a direct loopback connection, socat and the engine's relay\n"
      "(cmd::Relay, records drained by a consumer thread) in the same run, C++ sender/sink threads:\n"
      "relay_bulk: -B bytes one way (default 1 GiB), GB/s and the ratios relay/direct, relay/socat;\n"
      "relay_rtt: -R round trips of 64 bytes (default 20000), p50/p99 and the latency added;\n"
      "relay_conns: -C connections at once through the relay (default 10000), 100 bytes each way,\n"
      "all complete, records dropped, RSS per connection (raises RLIMIT_NOFILE; root for > hard).\n"
      "trace (only with -o trace): -T round trips of 64 bytes (default 20000) through a plain-epoll\n"
      "echo server (ready-epoll-target) untraced, under the attach Tracer attached and launched, and\n"
      "under strace -p and strace --seccomp-bpf, 5 rounds; ratios to untraced and to strace.\n"
      "soak (only with -o soak): 100M records (-p N: N) through the engine into a RecordStore\n"
      "with the default cap (2^24 records); reports RSS at 10 %%, 20 %% and 100 %% (flat from 20 %%,\n"
      "when the store is full, to 100 %%: within 5 %%, else exit 1) and the evicted count.\n"
      "paint, ingest, startup (only by name; offscreen unless QT_QPA_PLATFORM is set): the GUI's\n"
      "timeline paint of 10M records, 1M records/s for 10 s into the open main window, and\n"
      "process start to the first painted frame (see docs/performance.md).\n"
      "open (only by name): write load_records (-L; default 10M) records of an echo server's mix to\n"
      "a temp recording, then open it as the window does; records/s and the largest frame gap.\n"
      "lanes (only by name): the window with 20,000 lanes (10,000 relayed connections' records):\n"
      "ingest, timeline scroll and lane filter, sources table scroll and filter; ms per frame.\n"
      "pipeline / pipeline_w1 go through the capture engine; its drain reaction stops at a short\n"
      "read (ReactionSpec::stop_at_short_read), or with -E reads on until EAGAIN (the default).\n"
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
  while ((c = getopt(argc, argv, "w:s:p:W:l:n:L:o:EB:R:C:T:h")) != -1) {
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
        o.load_records_given = true;
        break;
      case 'p':  // -o soak: the soak's records
        o.pipe_records = o.soak_records = count_arg(argv[0], c, optarg);
        break;
      case 'W':
        o.pipe_window = count_arg(argv[0], c, optarg);
        break;
      case 'l':
        o.pipe_lat_records = count_arg(argv[0], c, optarg);
        break;
      case 'o':
        o.only = optarg;
        if (o.only != "wake" && o.only != "storm" && o.only != "store" && o.only != "pipeline" &&
            o.only != "load" && o.only != "soak" && o.only != "paint" && o.only != "ingest" && o.only != "startup" &&
            o.only != "export" && o.only != "open" && o.only != "lanes" && o.only != "relay" && o.only != "trace") {
          std::fprintf(stderr,
                       "%s: unknown workload '%s' (wake, storm, store, pipeline, load, soak, paint, ingest, startup, "
                       "export, open, lanes, relay, trace)\n",
                       argv[0], optarg);
          return 2;
        }
        break;
      case 'B':
        o.relay.bulk_bytes = static_cast<std::uint64_t>(count_arg(argv[0], c, optarg));
        break;
      case 'R':
        o.relay.round_trips = count_arg(argv[0], c, optarg);
        break;
      case 'C':
        o.relay.connections = count_arg(argv[0], c, optarg);
        break;
      case 'T':
        o.trace.round_trips = count_arg(argv[0], c, optarg);
        break;
      case 'E':
        o.drain_until_eagain = true;
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
  // The GUI workloads run only when asked for by name (-o), like load.
#if READY_BENCH_GUI
  if (o.only == "paint") return gui_paint_main();
  if (o.only == "ingest") return gui_ingest_main();
  if (o.only == "startup") return gui_startup_main();
  if (o.only == "open") return gui_open_main(o.load_records_given ? o.load_records : 10'000'000);
  if (o.only == "lanes") return gui_lanes_main();
#else
  if (o.only == "paint" || o.only == "ingest" || o.only == "startup" || o.only == "open" || o.only == "lanes") {
    std::fprintf(stderr, "%s: -o %s needs the GUI, which this build leaves out (READY_GUI=OFF)\n", argv[0],
                 o.only.c_str());
    return 2;
  }
#endif
  if (o.want("wake")) w_wake(o.wake_iters);
  if (o.want("storm")) w_storm(o.storm_rounds);
  if (o.want("store")) w_store(o.store_records);
  if (o.want("load")) w_load(o.load_records);
  if (o.only == "export") return export_bench_main(o.load_records);
  if (o.only == "relay") return relay_bench_main(o.relay);
  if (o.only == "trace") return trace_bench_main(o.trace);
  if (o.want("soak")) return w_soak(o.soak_records);
  if (o.want("pipeline")) {
    w_pipeline_one("pipeline", o.pipe_records, o.pipe_window, o.drain_until_eagain);
    w_pipeline_one("pipeline_w1", o.pipe_lat_records, 1, o.drain_until_eagain);
  }
  return 0;
}
