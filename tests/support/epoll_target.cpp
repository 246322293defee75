// ready-epoll-target: a small plain-epoll program for ReadyScope to attach to (issue 17).
//
// It is "someone else's program": plain epoll, no ready:: and no Qt. It logs, one line each,
// what it registers and every event epoll_wait hands it, so a test can compare a trace of it
// with its own account (a differential test).
//
//   ready-epoll-target [--wait-go] [--log FILE] script   run the scripted scenario below, exit 0
//   ready-epoll-target [--log FILE] echo                  an edge-triggered echo server on
//                                                          127.0.0.1 (port printed) until SIGTERM
//
// Log lines on stdout or FILE (line-buffered, key=value):
//   ready pid=P                     at start (with --wait-go it then waits for SIGUSR1, so a
//                                   tracer can attach before the script starts)
//   port=N                          echo: the listening port
//   ctl tid=T epfd=E op=ADD|MOD|DEL fd=F events=0xHEX data=0xHEX   every epoll_ctl it makes
//   event tid=T epfd=E data=0xHEX events=0xHEX                    every event it receives
//   read tid=T fd=F requested=N result=R                          every read of a stream
//   thread tid=T                     a thread started after the go line
//   done
// The script: a level-triggered listener, a client connecting with an edge-triggered
// registration, the accepted stream edge-triggered with a deliberate partial read (10 of 100
// bytes, then no read until the next edge), a level-triggered eventfd, a oneshot timerfd
// re-armed once with EPOLL_CTL_MOD, and a second thread started after the go line with its
// own epoll instance and an edge-triggered eventfd.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace {

std::mutex g_log_mutex;

int tid() { return static_cast<int>(::syscall(SYS_gettid)); }

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "epoll_target: %s: %s\n", what, std::strerror(errno));
  std::exit(2);
}

const char* op_name(int op) { return op == EPOLL_CTL_ADD ? "ADD" : op == EPOLL_CTL_MOD ? "MOD" : "DEL"; }

void ctl(int ep, int op, int fd, std::uint32_t events, std::uint64_t data) {
  epoll_event e{};
  e.events = events;
  e.data.u64 = data;
  if (::epoll_ctl(ep, op, fd, op == EPOLL_CTL_DEL ? nullptr : &e) != 0) die("epoll_ctl");
  std::lock_guard lock(g_log_mutex);
  std::printf("ctl tid=%d epfd=%d op=%s fd=%d events=0x%x data=0x%llx\n", tid(), ep, op_name(op), fd,
              op == EPOLL_CTL_DEL ? 0u : events, op == EPOLL_CTL_DEL ? 0ull : static_cast<unsigned long long>(data));
}

int wait(int ep, epoll_event* evs, int max, int timeout_ms) {
  int n;
  do {
    n = ::epoll_wait(ep, evs, max, timeout_ms);
  } while (n < 0 && errno == EINTR);
  if (n < 0) die("epoll_wait");
  std::lock_guard lock(g_log_mutex);
  for (int i = 0; i < n; ++i)
    std::printf("event tid=%d epfd=%d data=0x%llx events=0x%x\n", tid(), ep,
                static_cast<unsigned long long>(evs[i].data.u64), evs[i].events);
  return n;
}

/// One read(2), logged; returns its result.
ssize_t logged_read(int fd, char* buf, std::size_t n) {
  const ssize_t r = ::read(fd, buf, n);
  const long long result = r < 0 ? -errno : r;
  std::lock_guard lock(g_log_mutex);
  std::printf("read tid=%d fd=%d requested=%zu result=%lld\n", tid(), fd, n, result);
  return r;
}

void arm(int tfd, long ms) {
  itimerspec its{};
  its.it_value.tv_nsec = ms * 1'000'000;
  if (::timerfd_settime(tfd, 0, &its, nullptr) != 0) die("timerfd_settime");
}

void write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

int listen_loopback(std::uint16_t* port) {
  const int ls = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (ls < 0) die("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(ls, 16) != 0) die("listen");
  socklen_t len = sizeof a;
  ::getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return ls;
}

// Tokens (epoll data) of the script.
enum : std::uint64_t { kListener = 1, kClient = 2, kEventFd = 3, kTimer = 4, kConn = 5, kThreadEfd = 0x77 };

void second_thread(int efd_ready) {
  {
    std::lock_guard lock(g_log_mutex);
    std::printf("thread tid=%d\n", tid());
  }
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  ctl(ep, EPOLL_CTL_ADD, efd_ready, EPOLLIN | EPOLLET, kThreadEfd);
  epoll_event evs[4];
  while (wait(ep, evs, 4, 2000) == 0) {
  }
  std::uint64_t v;
  (void)!::read(efd_ready, &v, sizeof v);
  ctl(ep, EPOLL_CTL_DEL, efd_ready, 0, 0);
  ::close(ep);
}

int script() {
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  std::uint16_t port = 0;
  const int ls = listen_loopback(&port);
  ctl(ep, EPOLL_CTL_ADD, ls, EPOLLIN, kListener);  // level-triggered

  const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno != EINPROGRESS) die("connect");
  ctl(ep, EPOLL_CTL_ADD, client, EPOLLOUT | EPOLLET, kClient);  // edge-triggered

  const int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ctl(ep, EPOLL_CTL_ADD, efd, EPOLLIN, kEventFd);  // level-triggered

  const int tfd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  ctl(ep, EPOLL_CTL_ADD, tfd, EPOLLIN | EPOLLONESHOT, kTimer);
  arm(tfd, 5);

  int conn = -1, conn_edges = 0, timer_fires = 0;
  bool client_sent = false, replied = false, client_got_reply = false;
  char buf[4096];
  epoll_event evs[16];
  while (!(client_got_reply && timer_fires == 2)) {
    const int n = wait(ep, evs, 16, 2000);
    if (n == 0) {
      std::fprintf(stderr, "epoll_target: the script stalled\n");
      return 3;
    }
    for (int i = 0; i < n; ++i) {
      switch (evs[i].data.u64) {
        case kListener: {
          const int c = ::accept4(ls, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;  // level-triggered: a spurious wake-up is harmless
          conn = c;
          ctl(ep, EPOLL_CTL_ADD, conn, EPOLLIN | EPOLLRDHUP | EPOLLET, kConn);
          break;
        }
        case kClient:
          if (!client_sent && (evs[i].events & EPOLLOUT)) {
            client_sent = true;
            ctl(ep, EPOLL_CTL_MOD, client, EPOLLIN | EPOLLET, kClient);
            const std::string msg(100, 'a');
            write_all(client, msg.data(), msg.size());
          } else if (evs[i].events & EPOLLIN) {
            while (logged_read(client, buf, sizeof buf) > 0) {
            }
            client_got_reply = replied;
          }
          break;
        case kConn:
          ++conn_edges;
          if (conn_edges == 1) {
            // The deliberate edge-triggered partial read: 10 of 100 bytes, then no read
            // until the next edge (which the eventfd below arranges).
            logged_read(conn, buf, 10);
            const std::uint64_t one = 1;
            write_all(efd, reinterpret_cast<const char*>(&one), sizeof one);
          } else {
            while (logged_read(conn, buf, sizeof buf) > 0) {
            }
            if (!replied) {
              replied = true;
              write_all(conn, "ok", 2);
            }
          }
          break;
        case kEventFd: {
          std::uint64_t v;
          if (::read(efd, &v, sizeof v) == sizeof v) {
            const std::string more(50, 'b');  // a new edge on the accepted stream
            write_all(client, more.data(), more.size());
          }
          break;
        }
        case kTimer: {
          std::uint64_t v;
          (void)!::read(tfd, &v, sizeof v);
          if (++timer_fires == 1) {
            ctl(ep, EPOLL_CTL_MOD, tfd, EPOLLIN | EPOLLONESHOT, kTimer);  // re-arm the oneshot
            arm(tfd, 5);
          }
          break;
        }
        default:
          break;
      }
    }
  }

  // A thread started now, after any attach: its epoll instance and events are its own.
  const int efd2 = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  std::thread t(second_thread, efd2);
  ::usleep(20'000);
  const std::uint64_t one = 1;
  write_all(efd2, reinterpret_cast<const char*>(&one), sizeof one);
  t.join();

  ctl(ep, EPOLL_CTL_DEL, ls, 0, 0);
  ctl(ep, EPOLL_CTL_DEL, client, 0, 0);
  ctl(ep, EPOLL_CTL_DEL, conn, 0, 0);
  ctl(ep, EPOLL_CTL_DEL, efd, 0, 0);
  ctl(ep, EPOLL_CTL_DEL, tfd, 0, 0);
  for (int fd : {ls, client, conn, efd, tfd, efd2, ep}) ::close(fd);
  std::printf("done\n");
  return 0;
}

int echo() {
  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::uint16_t port = 0;
  const int ls = listen_loopback(&port);
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.fd = ls;
  ::epoll_ctl(ep, EPOLL_CTL_ADD, ls, &e);
  std::printf("port=%u\n", port);
  std::fflush(stdout);
  char buf[65536];
  epoll_event evs[64];
  for (;;) {
    const int n = ::epoll_wait(ep, evs, 64, -1);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < n; ++i) {
      const int fd = evs[i].data.fd;
      if (fd == ls) {
        const int c = ::accept4(ls, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) continue;
        epoll_event ce{};
        ce.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
        ce.data.fd = c;
        ::epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
      } else {
        for (;;) {  // edge-triggered: read to EAGAIN
          const ssize_t r = ::read(fd, buf, sizeof buf);
          if (r > 0) {
            (void)!::write(fd, buf, static_cast<std::size_t>(r));  // small messages: fits
            continue;
          }
          if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
            ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
            ::close(fd);
          }
          if (r < 0 && errno == EINTR) continue;
          break;
        }
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  ::signal(SIGPIPE, SIG_IGN);
  bool wait_go = false;
  std::string_view mode;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--wait-go") wait_go = true;
    else if (a == "--log" && i + 1 < argc) {
      if (std::freopen(argv[++i], "w", stdout) == nullptr) die("--log");
      std::setvbuf(stdout, nullptr, _IOLBF, 0);
    } else if (a == "script" || a == "echo") mode = a;
    else {
      std::fprintf(stderr, "usage: ready-epoll-target [--wait-go] [--log FILE] script|echo\n");
      return 64;
    }
  }
  if (mode.empty()) {
    std::fprintf(stderr, "usage: ready-epoll-target [--wait-go] [--log FILE] script|echo\n");
    return 64;
  }
  sigset_t go;
  sigemptyset(&go);
  sigaddset(&go, SIGUSR1);
  if (wait_go) sigprocmask(SIG_BLOCK, &go, nullptr);
  std::printf("ready pid=%d\n", static_cast<int>(::getpid()));
  if (wait_go) {
    int sig = 0;
    sigwait(&go, &sig);
  }
  return mode == "script" ? script() : echo();
}
