#include "export_bench.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ready/capture/command.h"
#include "ready/capture/export.h"

namespace {

using namespace ready::capture;

constexpr std::uint32_t kStreams = 1000;
constexpr std::size_t kSlice = 4096;

double seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::vector<Record> capture_mix(std::uint64_t n) {
  std::vector<Record> rs;
  rs.reserve(n);
  std::uint64_t t = 1000, x = 0x9E3779B97F4A7C15ULL;
  const auto rnd = [&x] {  // xorshift64: a fixed mix, the same every run
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  const auto push = [&](Record r) {
    if (rs.size() < n) rs.push_back(r);
  };
  for (std::uint32_t s = 0; s < kStreams && rs.size() < n; ++s) {
    Record r;
    r.kind = RecordKind::source_added;
    r.t_ns = t += 150;
    r.token = s + 1;
    r.fd = static_cast<std::int32_t>(s) + 10;
    r.op = static_cast<std::uint8_t>(SourceKind::tcp_stream);
    r.bits = SourceBits{ready::Interest::READABLE, ready::Trigger::edge, Reaction::echo}.pack();
    r.value = 1;
    push(r);
  }
  while (rs.size() < n) {
    Record poll;
    poll.kind = RecordKind::poll_return;
    poll.t_ns = t += 2000;
    poll.value = 4;
    poll.value2 = 1500;
    push(poll);
    for (int k = 0; k < 4; ++k) {
      const auto s = static_cast<std::uint32_t>(rnd() % kStreams);
      Record r;
      r.token = s + 1;
      r.fd = static_cast<std::int32_t>(s) + 10;
      r.kind = RecordKind::readiness;
      r.t_ns = t += 100;
      r.bits = (k == 0) ? 0x2001u : 0x1u;  // EPOLLIN|EPOLLRDHUP or EPOLLIN
      push(r);
      r.bits = 0;
      r.kind = RecordKind::action;
      r.op = static_cast<std::uint8_t>(Op::read);
      r.t_ns = t += 300;
      r.value = 1 + rnd() % 4096;
      push(r);
      r.t_ns = t += 200;
      r.value = 0;
      r.outcome = Outcome::would_block;
      push(r);
      if (k == 0) {
        r.op = static_cast<std::uint8_t>(Op::write);
        r.outcome = Outcome::ok;
        r.t_ns = t += 400;
        r.value = 1 + rnd() % 4096;
        push(r);
      }
    }
    if (rs.size() % 10000 < 16) {
      Record note;
      note.kind = RecordKind::note;
      note.t_ns = t += 10;
      note.value = 1;
      push(note);
    }
  }
  return rs;
}

template <class Writer>
int run(const char* workload, const std::string& path, const std::vector<Record>& rs) {
  ExportOptions o;
  o.note_text = [](std::uint64_t) { return std::optional<std::string>("a note, \"quoted\""); };
  o.addresses = [](std::uint64_t token) {
    return std::optional(SourceAddresses{"127.0.0.1:7000", "127.0.0.1:" + std::to_string(40000 + token)});
  };
  const double cpu0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
  const double t0 = seconds(CLOCK_MONOTONIC);
  auto w = Writer::create(path, o);
  if (!w) {
    std::fprintf(stderr, "readyscope-bench: %s: %s: %s\n", workload, path.c_str(),
                 w.error().message().c_str());
    return 1;
  }
  const std::span<const Record> all(rs);
  for (std::size_t i = 0; i < all.size(); i += kSlice) {
    if (auto r = w->write(all.subspan(i, std::min(kSlice, all.size() - i))); !r) {
      std::fprintf(stderr, "readyscope-bench: %s: write: %s\n", workload, r.error().message().c_str());
      return 1;
    }
  }
  if (auto r = w->close(); !r) {
    std::fprintf(stderr, "readyscope-bench: %s: close: %s\n", workload, r.error().message().c_str());
    return 1;
  }
  const double secs = seconds(CLOCK_MONOTONIC) - t0;
  const double cpu = seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
  const double n = static_cast<double>(rs.size());
  const char* pin = std::getenv("BENCH_PIN");
  std::printf(
      "workload=%s impl=readyscope ops=%zu seconds=%.4f ops_per_s=%.1f file_bytes=%llu cpu_s=%.4f "
      "cpu_ops_per_s=%.1f pin=%s\n",
      workload, rs.size(), secs, secs > 0 ? n / secs : 0.0,
      static_cast<unsigned long long>(w->bytes_written()), cpu, cpu > 0 ? n / cpu : 0.0,
      pin && *pin ? pin : "none");
  std::fflush(stdout);
  ::unlink(path.c_str());
  return 0;
}

}  // namespace

int export_bench_main(long records) {
  char dir[] = "/tmp/readyscope-bench-XXXXXX";
  if (!mkdtemp(dir)) {
    std::perror("readyscope-bench: mkdtemp");
    return 1;
  }
  const std::vector<Record> rs = capture_mix(static_cast<std::uint64_t>(records));
  int rc = run<TraceWriter>("export_trace", std::string(dir) + "/export.json", rs);
  if (rc == 0) rc = run<CsvWriter>("export_csv", std::string(dir) + "/export.csv", rs);
  ::rmdir(dir);
  return rc;
}
