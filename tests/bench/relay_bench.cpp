// `readyscope-bench -o relay`: the relay against a direct connection and socat, same run.
//
// Traffic comes from C++ threads in this process with blocking sockets (256 KiB writes and
// reads for the bulk), so the numbers are the relays' and not a Python sender's. Three
// workloads, each through three paths to the same kind of server thread:
//   direct      the client connects straight to the server;
//   socat       `socat TCP-LISTEN:P,reuseaddr,bind=127.0.0.1 TCP:127.0.0.1:Q` (its default
//               8 KiB buffer), one socat process per connection measured;
//   readyscope  an Engine in this process with cmd::Relay (EngineConfig defaults: 256 KiB
//               relay buffer per direction, 65536-record ring), its records drained by a
//               consumer thread (epoll on the Notifier, begin_drain_edge, drain to empty) as
//               the app's session does; every readiness event is a record, dropped ones counted.
// relay_bulk   -B bytes (default 1 GiB) one way, sender -> sink; bytes/s from the sender's
//              first write to the sink's end-of-file.
// relay_rtt    -R round trips (default 20,000; 2 % more first, untimed) of a 64-byte message
//              to an echo server and back; p50 / p99 per round trip.
// relay_conns  -C connections (default 10,000) through the relay at once, each sends 100
//              bytes and reads the server's 100-byte reply; all stay open until every reply
//              came, then RSS is read (/proc/self/statm) and all are closed. The clients and
//              the server are two child processes, so this process holds only the engine and
//              its 2 x C legs (RLIMIT_NOFILE: the soft limit is raised, up to the hard one).
#include "relay_bench.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench_util.h"
#include "ready/capture/engine.h"

extern char** environ;

namespace {

using namespace ready::capture;

constexpr std::size_t kChunk = 256 * 1024;
constexpr std::size_t kPing = 64;
constexpr std::size_t kMessage = 100;

using bench::now_ns;
using bench::pin_mode;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "readyscope-bench: relay: %s\n", what.c_str());
  std::exit(1);
}
[[noreturn]] void fail_errno(const std::string& what) { fail(what + ": " + std::strerror(errno)); }

/// One owned descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/// A blocking listener on 127.0.0.1 (port 0: ephemeral); its port in `port`.
Fd listen_loopback(std::uint16_t& port, int flags = 0) {
  Fd l(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0));
  if (!l.valid()) fail_errno("socket");
  const int one = 1;
  (void)::setsockopt(l.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = loopback(port);
  if (::bind(l.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) fail_errno("bind");
  if (::listen(l.get(), SOMAXCONN) != 0) fail_errno("listen");
  socklen_t len = sizeof a;
  if (::getsockname(l.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) fail_errno("getsockname");
  port = ntohs(a.sin_port);
  return l;
}

/// A blocking connect to 127.0.0.1:port, TCP_NODELAY set; an invalid Fd if refused.
Fd connect_loopback(std::uint16_t port) {
  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) fail_errno("socket");
  const sockaddr_in a = loopback(port);
  if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) return Fd();
  const int one = 1;
  (void)::setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return s;
}

bool write_all(int fd, const std::byte* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}
bool read_exact(int fd, std::byte* p, std::size_t n) {
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return true;
}
/// Reads until end-of-file; the bytes read, or -1 on an error.
std::int64_t read_to_eof(int fd, std::span<std::byte> buf) {
  std::int64_t total = 0;
  for (;;) {
    const ssize_t r = ::read(fd, buf.data(), buf.size());
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) return total;
    total += r;
  }
}

// ---------- the three paths ----------

/// A free loopback port for socat to listen on (bound, read, closed: the small race with
/// other programs taking it in between is accepted).
std::uint16_t free_port() {
  std::uint16_t p = 0;
  Fd l = listen_loopback(p);
  return p;
}

/// Whether something listens on 127.0.0.1:port (from /proc/net/tcp, without connecting:
/// a probe connection would be the one socat serves).
bool listening(std::uint16_t port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  char want[32];
  std::snprintf(want, sizeof want, "0100007F:%04X", port);
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string sl, local, remote, st;
    ls >> sl >> local >> remote >> st;
    if (local == want && st == "0A") return true;
  }
  return false;
}

bool have_socat() { return ::access("/usr/bin/socat", X_OK) == 0 || ::access("/usr/local/bin/socat", X_OK) == 0; }

/// One socat process relaying one connection from its port to 127.0.0.1:upstream; waited
/// for (and killed if still running) when destroyed.
class Socat {
 public:
  explicit Socat(std::uint16_t upstream) {
    port_ = free_port();
    const std::string l = "TCP-LISTEN:" + std::to_string(port_) + ",reuseaddr,bind=127.0.0.1";
    const std::string u = "TCP:127.0.0.1:" + std::to_string(upstream);
    std::string a0 = "socat";
    std::vector<char*> argv{a0.data(), const_cast<char*>(l.c_str()), const_cast<char*>(u.c_str()), nullptr};
    if (posix_spawnp(&pid_, "socat", nullptr, nullptr, argv.data(), environ) != 0) fail("cannot start socat");
    for (int i = 0; i < 5000 && !listening(port_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!listening(port_)) fail("socat did not listen on " + std::to_string(port_));
  }
  Socat(const Socat&) = delete;
  Socat& operator=(const Socat&) = delete;
  ~Socat() {
    for (int i = 0; i < 2000; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

/// The engine's consumer: a thread waiting on the Notifier (edge-triggered epoll) that
/// drains the ring to empty on every wake and counts the records by kind.
class Consumer {
 public:
  explicit Consumer(Engine& e) : e_(e), ep_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (!ep_.valid()) fail_errno("epoll_create1");
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, e_.notifier().as_raw_fd(), &ev) != 0) fail_errno("epoll_ctl");
    thread_ = std::thread([this] { run(); });
  }
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;
  ~Consumer() { finish(); }
  void finish() {
    if (!thread_.joinable()) return;
    stop_.store(true);
    thread_.join();
  }
  [[nodiscard]] std::uint64_t records() const { return records_.load(); }
  [[nodiscard]] std::uint64_t readiness() const { return readiness_.load(); }
  [[nodiscard]] std::uint64_t removed() const { return removed_.load(); }

 private:
  void run() {
    std::vector<Record> buf(4096);
    for (;;) {
      const bool last = stop_.load();
      epoll_event ev{};
      (void)::epoll_wait(ep_.get(), &ev, 1, last ? 0 : 20);
      (void)e_.notifier().begin_drain_edge();
      for (;;) {
        const std::size_t n = e_.drain(buf);
        if (n == 0) break;
        std::uint64_t ready = 0, rem = 0;
        for (std::size_t i = 0; i < n; ++i) {
          ready += buf[i].kind == RecordKind::readiness;
          rem += buf[i].kind == RecordKind::source_removed;
        }
        records_.fetch_add(n, std::memory_order_relaxed);
        readiness_.fetch_add(ready, std::memory_order_relaxed);
        removed_.fetch_add(rem, std::memory_order_relaxed);
      }
      if (last) return;
    }
  }
  Engine& e_;
  Fd ep_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> records_{0}, readiness_{0}, removed_{0};
  std::thread thread_;
};

/// An engine with one relay from an ephemeral loopback port to 127.0.0.1:upstream.
struct RelayUnderTest {
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Consumer> consumer;
  std::uint16_t port = 0;

  explicit RelayUnderTest(std::uint16_t upstream) {
    auto e = Engine::start(EngineConfig{});
    if (!e) fail("Engine::start: " + e.error().message());
    engine = std::move(*e);
    consumer = std::make_unique<Consumer>(*engine);
    RelayEndpoint listen, up;
    listen.tcp = ready::net::SocketAddr::loopback_v4(0);  // an ephemeral port
    up.tcp = ready::net::SocketAddr::loopback_v4(upstream);
    auto t = engine->submit(cmd::Relay{listen, up});
    if (!t) fail("submit Relay: " + t.error().message());
    for (int i = 0; i < 5000; ++i) {
      if (const auto info = engine->source_info(t->token)) {
        const auto colon = info->local.rfind(':');
        port = static_cast<std::uint16_t>(std::stoul(info->local.substr(colon + 1)));
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    fail("the relay's listener did not appear");
  }
  /// Stops the engine (closing every leg) and the consumer, after it drained the last records.
  void finish() {
    engine->stop();
    consumer->finish();
  }
};

enum class Path { direct, socat, relay };
const char* impl_name(Path p) { return p == Path::direct ? "direct" : p == Path::socat ? "socat" : "readyscope"; }

void line(const char* workload, Path p, std::uint64_t ops, double secs, const std::string& extra) {
  std::printf("workload=%s impl=%s ops=%llu seconds=%.4f ops_per_s=%.1f%s%s pin=%s\n", workload, impl_name(p),
              static_cast<unsigned long long>(ops), secs, secs > 0 ? static_cast<double>(ops) / secs : 0.0,
              extra.empty() ? "" : " ", extra.c_str(), pin_mode().c_str());
  std::fflush(stdout);
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::string engine_fields(RelayUnderTest& r) {
  return "records=" + std::to_string(r.engine->produced()) + " readiness=" + std::to_string(r.consumer->readiness()) +
         " dropped=" + std::to_string(r.engine->dropped());
}

// ---------- relay_bulk ----------

/// Bytes/s of `bytes` one way through `p`; `records_out` gets the engine's fields.
double bulk_once(Path p, std::uint64_t bytes, std::string& extra, bool& ok) {
  std::uint16_t sink_port = 0;
  Fd sink_l = listen_loopback(sink_port);
  std::atomic<std::uint64_t> end_ns{0};
  std::int64_t got = -1;
  std::thread sink([&] {
    Fd s(::accept4(sink_l.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!s.valid()) return;
    std::vector<std::byte> buf(kChunk);
    got = read_to_eof(s.get(), buf);
    end_ns.store(now_ns());
  });
  std::optional<Socat> socat;
  std::optional<RelayUnderTest> relay;
  std::uint16_t target = sink_port;
  if (p == Path::socat) target = (socat.emplace(sink_port), socat->port());
  if (p == Path::relay) target = (relay.emplace(sink_port), relay->port);

  std::vector<std::byte> buf(kChunk, std::byte{0x5a});
  const std::uint64_t t0 = now_ns();
  {
    Fd c = connect_loopback(target);
    if (!c.valid()) fail_errno(std::string("connect (") + impl_name(p) + ")");
    for (std::uint64_t left = bytes; left > 0;) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, kChunk));
      if (!write_all(c.get(), buf.data(), n)) fail_errno(std::string("write (") + impl_name(p) + ")");
      left -= n;
    }
    (void)::shutdown(c.get(), SHUT_WR);
    std::array<std::byte, 64> rest{};
    (void)read_to_eof(c.get(), rest);  // the relay's end-of-file, once the sink closed
  }
  sink.join();
  const double secs = static_cast<double>(end_ns.load() - t0) / 1e9;
  ok = got == static_cast<std::int64_t>(bytes);
  if (!ok) std::fprintf(stderr, "readyscope-bench: relay_bulk %s: sink got %lld of %llu bytes\n", impl_name(p),
                        static_cast<long long>(got), static_cast<unsigned long long>(bytes));
  if (relay) {
    relay->finish();
    extra = engine_fields(*relay);
    if (relay->engine->dropped() != 0) ok = false;
  }
  return secs;
}

// ---------- relay_rtt ----------

std::vector<std::uint64_t> rtt_once(Path p, long round_trips, bool& ok, std::string& extra) {
  std::uint16_t echo_port = 0;
  Fd echo_l = listen_loopback(echo_port);
  std::thread echo([&] {
    Fd s(::accept4(echo_l.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!s.valid()) return;
    const int one = 1;
    (void)::setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::array<std::byte, kPing> m{};
    while (read_exact(s.get(), m.data(), m.size()) && write_all(s.get(), m.data(), m.size())) {
    }
  });
  std::optional<Socat> socat;
  std::optional<RelayUnderTest> relay;
  std::uint16_t target = echo_port;
  if (p == Path::socat) target = (socat.emplace(echo_port), socat->port());
  if (p == Path::relay) target = (relay.emplace(echo_port), relay->port);
  std::vector<std::uint64_t> lat;
  lat.reserve(static_cast<std::size_t>(round_trips));
  const long warm = std::max(100L, round_trips / 50);
  ok = true;
  {
    Fd c = connect_loopback(target);
    if (!c.valid()) fail_errno(std::string("connect (") + impl_name(p) + ")");
    std::array<std::byte, kPing> m{};
    for (long i = 0; i < warm + round_trips; ++i) {
      m[0] = static_cast<std::byte>(i);
      const std::uint64_t t0 = now_ns();
      if (!write_all(c.get(), m.data(), m.size()) || !read_exact(c.get(), m.data(), m.size()) ||
          m[0] != static_cast<std::byte>(i)) {
        ok = false;
        break;
      }
      if (i >= warm) lat.push_back(now_ns() - t0);
    }
  }
  echo.join();
  if (relay) {
    relay->finish();
    extra = engine_fields(*relay);
    if (relay->engine->dropped() != 0) ok = false;
  }
  std::sort(lat.begin(), lat.end());
  return lat;
}

double pct_us(const std::vector<std::uint64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto i = std::min(sorted.size() - 1, static_cast<std::size_t>(static_cast<double>(sorted.size()) * q));
  return static_cast<double>(sorted[i]) / 1000.0;
}

// ---------- relay_conns ----------

std::uint64_t rss_bytes() {
  std::ifstream in("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

/// The server of relay_conns: one epoll thread that accepts every connection, answers each
/// 100-byte request with a 100-byte reply and closes a connection at its end-of-file.
class ReplyServer {
 public:
  ReplyServer() : l_(listen_loopback(port_, SOCK_NONBLOCK)), ep_(::epoll_create1(EPOLL_CLOEXEC)), wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!ep_.valid() || !wake_.valid()) fail_errno("epoll/eventfd");
    add(l_.get(), 0);
    add(wake_.get(), 1);
    thread_ = std::thread([this] { run(); });
  }
  ReplyServer(const ReplyServer&) = delete;
  ReplyServer& operator=(const ReplyServer&) = delete;
  ~ReplyServer() {
    const std::uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
    thread_.join();
  }
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] std::uint64_t replied() const { return replied_.load(); }

 private:
  struct Conn {
    Fd fd;
    std::size_t got = 0;
  };
  void add(int fd, std::uint64_t key) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = key;
    if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) fail_errno("epoll_ctl");
  }
  void run() {
    std::vector<std::unique_ptr<Conn>> conns;  // key = index + 2
    std::vector<epoll_event> evs(256);
    std::array<std::byte, kMessage> reply{};
    std::array<std::byte, 4096> buf{};
    for (;;) {
      const int n = ::epoll_wait(ep_.get(), evs.data(), static_cast<int>(evs.size()), -1);
      for (int i = 0; i < n; ++i) {
        const std::uint64_t key = evs[static_cast<std::size_t>(i)].data.u64;
        if (key == 1) return;
        if (key == 0) {
          for (;;) {
            const int s = ::accept4(l_.get(), nullptr, nullptr, SOCK_CLOEXEC);
            if (s < 0) break;
            conns.push_back(std::make_unique<Conn>(Conn{Fd(s), 0}));
            add(s, conns.size() + 1);
          }
          continue;
        }
        Conn& c = *conns[key - 2];
        const ssize_t r = ::read(c.fd.get(), buf.data(), buf.size());
        if (r <= 0) {
          if (r < 0 && errno == EINTR) continue;
          c.fd.reset();  // end-of-file or an error: closed (and out of the epoll set)
          continue;
        }
        const std::size_t before = c.got;
        c.got += static_cast<std::size_t>(r);
        if (before < kMessage && c.got >= kMessage) {
          if (write_all(c.fd.get(), reply.data(), reply.size())) replied_.fetch_add(1);
        }
      }
    }
  }
  std::uint16_t port_ = 0;
  Fd l_;
  Fd ep_;
  Fd wake_;
  std::atomic<std::uint64_t> replied_{0};
  std::thread thread_;
};

/// Raises the soft RLIMIT_NOFILE to `want` (at most the hard limit: raising that needs
/// CAP_SYS_RESOURCE, which a container may not grant even to root). False when the hard limit
/// is lower.
bool raise_fd_limit(rlim_t want) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return false;
  if (rl.rlim_max < want) {
    rlimit more = rl;
    more.rlim_cur = more.rlim_max = want;
    if (setrlimit(RLIMIT_NOFILE, &more) == 0) return true;
    return false;
  }
  rl.rlim_cur = std::max(rl.rlim_cur, want);
  return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

struct Pipe {
  Fd r, w;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) fail_errno("pipe2");
    r = Fd(fds[0]);
    w = Fd(fds[1]);
  }
};

template <class T>
void put(const Fd& f, T v) {
  if (!write_all(f.get(), reinterpret_cast<const std::byte*>(&v), sizeof v)) fail_errno("pipe write");
}
template <class T>
T take(const Fd& f) {
  T v{};
  if (!read_exact(f.get(), reinterpret_cast<std::byte*>(&v), sizeof v)) fail("a child process ended early");
  return v;
}

/// The server child: answers every request, tells its port, and when told to, how many it
/// answered.
[[noreturn]] void server_child(long n, Pipe& port, Pipe& control) {
  port.r.reset();
  control.w.reset();
  if (!raise_fd_limit(static_cast<rlim_t>(n) + 64)) fail("server: RLIMIT_NOFILE below -C");
  std::uint64_t replied = 0;
  {
    ReplyServer server;
    put<std::uint16_t>(port.w, server.port());
    (void)take<char>(control.r);  // the relay's legs are closed
    replied = server.replied();
  }
  put<std::uint64_t>(port.w, replied);
  std::_Exit(0);
}

/// The client child: n connections to the relay (its port comes through `go`), one request
/// each, the replies read back (at most kWindow connects ahead of them, so the relay's
/// listener backlog never holds more), all held open; the replies that came back intact are
/// counted and sent; the next byte on `go` closes them all.
[[noreturn]] void client_child(long n_conns, Pipe& go, Pipe& result) {
  go.w.reset();
  result.r.reset();
  const auto n = static_cast<std::size_t>(n_conns);
  if (!raise_fd_limit(static_cast<rlim_t>(n) + 64)) fail("clients: RLIMIT_NOFILE below -C");
  const auto port = take<std::uint16_t>(go.r);
  constexpr std::size_t kWindow = 512;
  std::vector<Fd> clients;
  clients.reserve(n);
  std::array<std::byte, kMessage> req{}, rep{};
  std::uint64_t replies = 0;
  const auto read_reply = [&](std::size_t i) {
    if (read_exact(clients[i].get(), rep.data(), rep.size())) ++replies;
  };
  for (std::size_t i = 0; i < n; ++i) {
    Fd c = connect_loopback(port);
    if (!c.valid()) fail_errno("relay_conns: connect " + std::to_string(i));
    req[0] = static_cast<std::byte>(i);
    if (!write_all(c.get(), req.data(), req.size())) fail_errno("relay_conns: write");
    clients.push_back(std::move(c));
    if (i >= kWindow) read_reply(i - kWindow);
  }
  for (std::size_t i = n > kWindow ? n - kWindow : 0; i < n; ++i) read_reply(i);
  put<std::uint64_t>(result.w, replies);
  (void)take<char>(go.r);
  clients.clear();
  put<char>(result.w, 'c');
  std::_Exit(0);
}

/// 10,000 connections at once through the relay. The clients and the server are child
/// processes (forked before this process starts a thread), so this process holds only the
/// engine: its RSS is the engine's (and the consumer's), and its descriptors are the legs.
int conns_run(long n_conns) {
  const auto n = static_cast<std::size_t>(n_conns);
  const rlim_t need = static_cast<rlim_t>(n) * 2 + 32;  // two legs a connection, the engine's own and stdio
  if (!raise_fd_limit(need)) {
    rlimit rl{};
    (void)getrlimit(RLIMIT_NOFILE, &rl);
    std::fprintf(stderr,
                 "readyscope-bench: relay_conns: %zu connections need %llu descriptors here (two legs each), the hard "
                 "RLIMIT_NOFILE is %llu and cannot be raised (no CAP_SYS_RESOURCE): use -C %llu at most\n",
                 n, static_cast<unsigned long long>(need), static_cast<unsigned long long>(rl.rlim_max),
                 static_cast<unsigned long long>(rl.rlim_max > 32 ? (rl.rlim_max - 32) / 2 : 0));
    return 1;
  }
  Pipe server_port, server_control, client_go, client_result;
  const pid_t server_pid = ::fork();
  if (server_pid < 0) fail_errno("fork");
  if (server_pid == 0) server_child(n_conns, server_port, server_control);
  const pid_t client_pid = ::fork();
  if (client_pid < 0) fail_errno("fork");
  if (client_pid == 0) client_child(n_conns, client_go, client_result);
  server_port.w.reset();
  server_control.r.reset();
  client_go.r.reset();
  client_result.w.reset();

  const auto upstream = take<std::uint16_t>(server_port.r);
  RelayUnderTest relay(upstream);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::uint64_t rss0 = rss_bytes();
  const std::uint64_t t0 = now_ns();
  put<std::uint16_t>(client_go.w, relay.port);
  const auto replies = take<std::uint64_t>(client_result.r);
  const double secs = static_cast<double>(now_ns() - t0) / 1e9;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the consumer catches up
  const std::uint64_t rss1 = rss_bytes();
  const std::uint64_t removed_open = relay.consumer->removed();
  put<char>(client_go.w, 'x');  // all close: the relay passes each end-of-file on, closes both legs
  (void)take<char>(client_result.r);
  const std::uint64_t t_close = now_ns();
  while (relay.consumer->removed() < 2 * n && now_ns() - t_close < 60'000'000'000ULL)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const std::uint64_t legs_closed = relay.consumer->removed();
  put<char>(server_control.w, 'x');
  const auto replied = take<std::uint64_t>(server_port.r);
  ::waitpid(server_pid, nullptr, 0);
  ::waitpid(client_pid, nullptr, 0);
  relay.finish();
  const double per_conn = static_cast<double>(rss1 > rss0 ? rss1 - rss0 : 0) / static_cast<double>(n);
  const bool ok = replies == n && replied == n && removed_open == 0 && legs_closed >= 2 * n &&
                  relay.engine->dropped() == 0;
  line("relay_conns", Path::relay, n, secs,
       "completed=" + std::to_string(replies) + " open_at_once=" + std::to_string(removed_open == 0 ? n : 0) +
           " legs_closed=" + std::to_string(legs_closed) + " " + engine_fields(relay) +
           " rss_before_mb=" + fmt("%.1f", static_cast<double>(rss0) / 1048576.0) +
           " rss_open_mb=" + fmt("%.1f", static_cast<double>(rss1) / 1048576.0) +
           " rss_per_conn_bytes=" + fmt("%.0f", per_conn) + " connect_window=512");
  return ok ? 0 : 1;
}

}  // namespace

int relay_bench_main(const RelayBenchOptions& o) {
  const bool socat = have_socat();
  if (!socat) std::fprintf(stderr, "readyscope-bench: relay: socat not found (scripts/deps.sh installs it): its lines are left out\n");
  int rc = 0;
  // relay_bulk
  double gbs[3] = {0, 0, 0};
  for (Path p : {Path::direct, Path::socat, Path::relay}) {
    if (p == Path::socat && !socat) continue;
    std::string extra;
    bool ok = false;
    const double secs = bulk_once(p, o.bulk_bytes, extra, ok);
    if (!ok) rc = 1;
    const double bps = secs > 0 ? static_cast<double>(o.bulk_bytes) / secs : 0;
    gbs[static_cast<int>(p)] = bps / 1e9;
    std::string f = "gb_per_s=" + fmt("%.3f", bps / 1e9) + " sender=cpp_256k";
    if (p == Path::relay) {
      f += " " + extra + " relay_over_direct=" + fmt("%.3f", gbs[2] / gbs[0]);
      if (socat) f += " relay_over_socat=" + fmt("%.3f", gbs[2] / gbs[1]);
    }
    line("relay_bulk", p, o.bulk_bytes, secs, f);
  }
  // relay_rtt
  double p50_direct = 0, p99_direct = 0;
  for (Path p : {Path::direct, Path::socat, Path::relay}) {
    if (p == Path::socat && !socat) continue;
    bool ok = false;
    std::string extra;
    const auto lat = rtt_once(p, o.round_trips, ok, extra);
    if (!ok) rc = 1;
    double total = 0;
    for (const auto v : lat) total += static_cast<double>(v);
    const double p50 = pct_us(lat, 0.5), p99 = pct_us(lat, 0.99);
    if (p == Path::direct) p50_direct = p50, p99_direct = p99;
    std::string f = "p50_us=" + fmt("%.2f", p50) + " p99_us=" + fmt("%.2f", p99) + " msg_bytes=64";
    if (p != Path::direct)
      f += " added_p50_us=" + fmt("%.2f", p50 - p50_direct) + " added_p99_us=" + fmt("%.2f", p99 - p99_direct);
    if (!extra.empty()) f += " " + extra;
    line("relay_rtt", p, lat.size(), total / 1e9, f);
  }
  // relay_conns
  if (conns_run(o.connections) != 0) rc = 1;
  return rc;
}
