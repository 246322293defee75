// `readyscope-bench -o trace`: the traced program's event-loop throughput, untraced, under the
// Tracer (ready/attach/tracer.h) attached and launched, and under strace attached (-p) and
// launched (--seccomp-bpf), in the same run.
//
// The traced program is ready-epoll-target's echo server (tests/support/epoll_target.cpp):
// one epoll_wait, a read, a write and a read to EAGAIN per message. The client is this
// process: a blocking TCP_NODELAY socket sending 64 bytes and reading them back, round trip
// after round trip (2 % untimed first). Every impl runs once per round, in the same order, for
// `rounds` rounds; each line is the median round (by ops/s) with that round's latencies.
//
// The Tracer runs as the engine would run it: its events drained by a consumer thread woken
// through the Tracer's eventfd. strace runs as the issue asks:
//   strace -f -e trace=epoll_wait,epoll_pwait,epoll_ctl -o /dev/null -p PID
//   strace -f --seccomp-bpf -e trace=epoll_wait,epoll_pwait,epoll_ctl -o /dev/null PROGRAM
#include "trace_bench.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "ready/attach/tracer.h"

extern char** environ;

namespace {

using ready::attach::TraceEvent;
using ready::attach::Tracer;

constexpr std::size_t kPing = 64;
const char* const kStraceFilter = "trace=epoll_wait,epoll_pwait,epoll_ctl";

using bench::now_ns;
using bench::pin_mode;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "readyscope-bench: trace: %s\n", what.c_str());
  std::exit(1);
}

bool have_strace() { return ::access("/usr/bin/strace", X_OK) == 0; }

pid_t spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) fail("cannot start " + args[0]);
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

void reap(pid_t pid) {
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

/// A key's value in a line of the target's log ("port", "pid"), once that line is written.
long log_value(const std::string& log, const std::string& key) {
  for (int i = 0; i < 1000; ++i) {
    std::ifstream in(log);
    std::string line;
    while (std::getline(in, line)) {
      const auto at = line.find(key + "=");
      if (at != std::string::npos) return std::atol(line.c_str() + at + key.size() + 1);
    }
    ::usleep(10'000);
  }
  fail("the echo target wrote no " + key + " to " + log);
}

/// True once `pid` has a tracer (TracerPid in /proc/PID/status), waiting up to 10 s.
bool wait_traced(pid_t pid) {
  for (int i = 0; i < 1000; ++i) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("TracerPid:", 0) == 0 && std::atol(line.c_str() + 10) != 0) return true;
    ::usleep(10'000);
  }
  return false;
}

struct Result {
  double ops_per_s = 0;
  double secs = 0;
  double p50_us = 0;
  double p99_us = 0;
  std::uint64_t events = 0;
  std::uint64_t dropped = 0;
};

/// `n` round trips of kPing bytes to 127.0.0.1:port (after n/50 untimed).
Result round_trips(int port, long n) {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) fail("connect to the echo target failed");
  char buf[kPing];
  std::memset(buf, 'p', sizeof buf);
  std::vector<std::uint64_t> lat;
  lat.reserve(static_cast<std::size_t>(n));
  const long warm = n / 50;
  std::uint64_t t0 = 0;
  for (long i = 0; i < warm + n; ++i) {
    if (i == warm) t0 = now_ns();
    const std::uint64_t t = now_ns();
    if (::send(s, buf, kPing, MSG_NOSIGNAL) != static_cast<ssize_t>(kPing)) fail("send failed");
    std::size_t got = 0;
    while (got < kPing) {
      const ssize_t r = ::recv(s, buf + got, kPing - got, 0);
      if (r <= 0) fail("the echo target stopped answering");
      got += static_cast<std::size_t>(r);
    }
    if (i >= warm) lat.push_back(now_ns() - t);
  }
  Result res;
  res.secs = static_cast<double>(now_ns() - t0) / 1e9;
  res.ops_per_s = static_cast<double>(n) / res.secs;
  std::sort(lat.begin(), lat.end());
  res.p50_us = static_cast<double>(lat[lat.size() / 2]) / 1e3;
  res.p99_us = static_cast<double>(lat[lat.size() * 99 / 100]) / 1e3;
  ::close(s);
  return res;
}

/// Drains a Tracer as the engine's poll thread would, counting events, until stopped.
class Consumer {
 public:
  explicit Consumer(Tracer& t) : thread_([this, &t] { run(t); }) {}
  ~Consumer() { finish(); }
  std::uint64_t finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return events_;
  }

 private:
  void run(Tracer& t) {
    std::vector<TraceEvent> batch;
    while (!stop_) {
      pollfd p{t.fd(), POLLIN, 0};
      ::poll(&p, 1, 20);
      batch.clear();
      events_ += t.drain(batch);
    }
  }
  std::atomic<bool> stop_{false};
  std::uint64_t events_ = 0;
  std::thread thread_;
};

enum class Impl { untraced, readyscope_attach, readyscope_launch, strace_attach, strace_launch };
const char* name(Impl i) {
  switch (i) {
    case Impl::untraced: return "untraced";
    case Impl::readyscope_attach: return "readyscope-attach";
    case Impl::readyscope_launch: return "readyscope-launch";
    case Impl::strace_attach: return "strace-attach";
    case Impl::strace_launch: return "strace-launch";
  }
  return "?";
}

Result run_one(Impl impl, long n, const std::string& dir) {
  const std::string log = dir + "/target-" + std::to_string(static_cast<int>(impl)) + ".log";
  const std::vector<std::string> target = {READY_EPOLL_TARGET, "--log", log, "echo"};
  std::remove(log.c_str());
  Result r;
  switch (impl) {
    case Impl::untraced: {
      const pid_t pid = spawn(target);
      r = round_trips(static_cast<int>(log_value(log, "port")), n);
      ::kill(pid, SIGTERM);
      reap(pid);
      break;
    }
    case Impl::readyscope_attach: {
      const pid_t pid = spawn(target);
      const int port = static_cast<int>(log_value(log, "port"));
      auto t = Tracer::attach(pid);
      if (!t) fail("attach: " + Tracer::error_text(pid, t.error()));
      {
        Consumer c(**t);
        r = round_trips(port, n);
        (*t)->stop();  // detach before the kill: our wait must not compete for the child
        r.events = c.finish();
      }
      r.dropped = (*t)->dropped();
      ::kill(pid, SIGTERM);
      reap(pid);
      break;
    }
    case Impl::readyscope_launch: {
      auto t = Tracer::launch(target);
      if (!t) fail("launch: " + Tracer::error_text(0, t.error()));
      const int port = static_cast<int>(log_value(log, "port"));
      Consumer c(**t);
      r = round_trips(port, n);
      (*t)->stop();  // kills the launched program
      r.events = c.finish();
      r.dropped = (*t)->dropped();
      break;
    }
    case Impl::strace_attach: {
      const pid_t pid = spawn(target);
      const int port = static_cast<int>(log_value(log, "port"));
      const pid_t st = spawn({"strace", "-f", "-e", kStraceFilter, "-o", "/dev/null", "-p", std::to_string(pid)});
      if (!wait_traced(pid)) fail("strace -p did not attach");
      r = round_trips(port, n);
      ::kill(st, SIGINT);  // strace detaches
      reap(st);
      ::kill(pid, SIGTERM);
      reap(pid);
      break;
    }
    case Impl::strace_launch: {
      std::vector<std::string> args = {"strace", "-f", "--seccomp-bpf", "-e", kStraceFilter, "-o", "/dev/null"};
      args.insert(args.end(), target.begin(), target.end());
      const pid_t st = spawn(args);
      const int port = static_cast<int>(log_value(log, "port"));
      const auto pid = static_cast<pid_t>(log_value(log, "pid"));
      r = round_trips(port, n);
      ::kill(pid, SIGTERM);
      reap(st);
      break;
    }
  }
  return r;
}

}  // namespace

int trace_bench_main(const TraceBenchOptions& o) {
  char tmpl[] = "/tmp/readyscope-trace-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) fail("mkdtemp");
  const std::string dir = tmpl;
  std::vector<Impl> impls = {Impl::untraced, Impl::readyscope_attach, Impl::readyscope_launch};
  if (have_strace()) {
    impls.push_back(Impl::strace_attach);
    impls.push_back(Impl::strace_launch);
  } else {
    std::fprintf(stderr, "readyscope-bench: trace: strace is not installed (scripts/deps.sh): its lines are left out\n");
  }
  std::map<Impl, std::vector<Result>> runs;
  for (int round = 0; round < o.rounds; ++round)
    for (Impl i : impls) runs[i].push_back(run_one(i, o.round_trips, dir));
  std::map<Impl, Result> median;
  for (auto& [impl, rs] : runs) {
    std::sort(rs.begin(), rs.end(), [](const Result& a, const Result& b) { return a.ops_per_s < b.ops_per_s; });
    median[impl] = rs[rs.size() / 2];
  }
  int status = 0;
  const double base = median[Impl::untraced].ops_per_s;
  for (Impl i : impls) {
    const Result& r = median[i];
    std::printf("workload=trace_rtt impl=%s ops=%ld seconds=%.4f ops_per_s=%.1f p50_us=%.2f p99_us=%.2f "
                "of_untraced=%.3f",
                name(i), o.round_trips, r.secs, r.ops_per_s, r.p50_us, r.p99_us, r.ops_per_s / base);
    const Impl strace_same = i == Impl::readyscope_attach ? Impl::strace_attach : Impl::strace_launch;
    if ((i == Impl::readyscope_attach || i == Impl::readyscope_launch) && median.contains(strace_same))
      std::printf(" over_strace=%.3f", r.ops_per_s / median[strace_same].ops_per_s);
    if (i == Impl::readyscope_attach || i == Impl::readyscope_launch) {
      std::printf(" events=%llu dropped=%llu", static_cast<unsigned long long>(r.events),
                  static_cast<unsigned long long>(r.dropped));
      if (r.dropped != 0) status = 1;
    }
    std::printf(" rounds=%d pin=%s\n", o.rounds, pin_mode().c_str());
  }
  std::fflush(stdout);
  for (Impl i : impls) std::remove((dir + "/target-" + std::to_string(static_cast<int>(i)) + ".log").c_str());
  ::rmdir(dir.c_str());
  return status;
}
