// ready-trace-dump: the Tracer (ready/attach/tracer.h) in a process of its own, printing its
// events as lines. The tests run it to kill a tracer with SIGKILL mid-trace; it is also a
// quick way to look at what the Tracer sees:
//
//   ready-trace-dump [--io] PID            attach to PID
//   ready-trace-dump [--io] -- PROGRAM...  launch PROGRAM under the seccomp filter
//
// Prints "tracing pid=P" once tracing, then one line per event (kind and key=value fields),
// and ends at "detached" (the process ended) or on SIGINT/SIGTERM, which call stop() as
// ReadyScope does: the signals are blocked and read from a signalfd, so stop() runs in main,
// never in a handler. An error prints Tracer::error_text and exits 1.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ready/attach/tracer.h"

namespace {

const char* kind_name(ready::attach::TraceEvent::Kind k) {
  using K = ready::attach::TraceEvent::Kind;
  switch (k) {
    case K::wait_enter: return "wait_enter";
    case K::wait_exit: return "wait_exit";
    case K::ctl: return "ctl";
    case K::io: return "io";
    case K::thread_started: return "thread_started";
    case K::thread_exited: return "thread_exited";
    case K::exec: return "exec";
    case K::process_exited: return "process_exited";
    case K::detached: return "detached";
  }
  return "?";
}

void print(const ready::attach::TraceEvent& e) {
  using K = ready::attach::TraceEvent::Kind;
  std::printf("%s tid=%d t=%llu", kind_name(e.kind), e.tid, static_cast<unsigned long long>(e.t_ns));
  switch (e.kind) {
    case K::wait_enter:
      std::printf(" nr=%d epfd=%d timeout_ns=%lld", e.syscall_nr, e.epfd, static_cast<long long>(e.timeout_ns));
      break;
    case K::wait_exit:
      std::printf(" nr=%d epfd=%d result=%lld", e.syscall_nr, e.epfd, static_cast<long long>(e.result));
      for (const auto& r : e.ready)
        std::printf(" 0x%llx:0x%x", static_cast<unsigned long long>(r.data.u64), r.events);
      break;
    case K::ctl:
      std::printf(" epfd=%d op=%d fd=%d events=0x%x data=0x%llx result=%lld", e.epfd, e.op, e.fd, e.events,
                  static_cast<unsigned long long>(e.data), static_cast<long long>(e.result));
      break;
    case K::io:
      std::printf(" nr=%d fd=%d requested=%llu result=%lld", e.syscall_nr, e.fd,
                  static_cast<unsigned long long>(e.requested), static_cast<long long>(e.result));
      break;
    default:
      std::printf(" related=%d result=%lld", e.related, static_cast<long long>(e.result));
      break;
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  ready::attach::TraceOptions options;
  std::vector<std::string> program;
  pid_t pid = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--io") {
      options.io = true;
    } else if (a == "--") {
      program.assign(argv + i + 1, argv + argc);
      break;
    } else {
      pid = static_cast<pid_t>(std::atoi(argv[i]));
    }
  }
  if (pid == 0 && program.empty()) {
    std::fprintf(stderr, "usage: ready-trace-dump [--io] PID | [--io] -- PROGRAM ARGS...\n");
    return 64;
  }
  // Before any thread exists, so every thread inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigprocmask(SIG_BLOCK, &sigs, nullptr);
  const int sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);

  auto tracer = program.empty() ? ready::attach::Tracer::attach(pid, options)
                                : ready::attach::Tracer::launch(program, options);
  if (!tracer) {
    std::fprintf(stderr, "ready-trace-dump: %s\n", ready::attach::Tracer::error_text(pid, tracer.error()).c_str());
    return 1;
  }
  std::printf("tracing pid=%d\n", (*tracer)->pid());
  std::vector<ready::attach::TraceEvent> events;
  for (;;) {
    pollfd fds[2] = {{(*tracer)->fd(), POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents & POLLIN) (*tracer)->stop();  // detaches; its events follow below
    events.clear();
    (*tracer)->drain(events);
    bool ended = false;
    for (const auto& e : events) {
      print(e);
      ended = ended || e.kind == ready::attach::TraceEvent::Kind::detached;
    }
    if (ended) break;
  }
  std::printf("dropped=%llu\n", static_cast<unsigned long long>((*tracer)->dropped()));
  ::close(sfd);
  return 0;
}
