// The ptrace tracer behind ready/attach/tracer.h.
//
// One tracer thread per Tracer makes every ptrace call (the kernel ties tracees to the thread
// that seized them) and waits with waitpid(-1, __WALL | __WNOTHREAD): __WNOTHREAD keeps it to
// this thread's own tracees and children, so the application's other children (QProcess...)
// are never reaped here. The thread blocks in waitpid; to wake it for stop() it forks a
// "wake child" at start that blocks reading a pipe and exits when stop() writes to it, which
// waitpid sees like any other child. The wake child keeps only that pipe open (the
// application's sockets are not held open by it) and dies with the tracer thread
// (PR_SET_PDEATHSIG).
//
// Per stop: one waitpid, one PTRACE_GET_SYSCALL_INFO (none for stops that are not syscall
// stops), process_vm_readv only for the traced syscalls, one resume. Attached processes
// resume with PTRACE_SYSCALL (a stop at every syscall's entry and exit); launched ones with
// PTRACE_CONT, and the seccomp filter stops them at the traced syscalls' entries only, from
// where PTRACE_SYSCALL takes them to the matching exit.
#include "ready/attach/tracer.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "linux/sys.h"
#include "ready/owned_fd.h"

namespace ready::attach {

namespace {

constexpr std::size_t kMaxQueueCapacity = std::size_t{1} << 24;
constexpr std::size_t kMaxIovecs = 1024;  // iovecs summed per readv/writev/recvmsg/sendmsg (IOV_MAX)

constexpr int kWaitSyscalls[] = {SYS_epoll_wait, SYS_epoll_pwait, SYS_epoll_pwait2};
constexpr int kIoSyscalls[] = {SYS_read,     SYS_write,  SYS_readv,   SYS_writev,
                               SYS_recvfrom, SYS_sendto, SYS_recvmsg, SYS_sendmsg};

bool is_wait(long nr) noexcept { return std::ranges::find(kWaitSyscalls, nr) != std::end(kWaitSyscalls); }
bool is_io(long nr) noexcept { return std::ranges::find(kIoSyscalls, nr) != std::end(kIoSyscalls); }

std::uint64_t monotonic_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

long ptrace_call(__ptrace_request req, pid_t tid, void* addr, void* data) noexcept {
  return ::ptrace(req, tid, addr, data);
}
long ptrace_call(__ptrace_request req, pid_t tid, std::uintptr_t addr = 0, std::uintptr_t data = 0) noexcept {
  return ::ptrace(req, tid, reinterpret_cast<void*>(addr), reinterpret_cast<void*>(data));
}

/// Copies `bytes` from the tracee's address `remote` into `local`; false when not all of it
/// could be read (an unmapped pointer the syscall itself would have failed on).
bool read_tracee(pid_t tid, std::uint64_t remote, void* local, std::size_t bytes) noexcept {
  if (bytes == 0) return true;
  iovec l{local, bytes};
  iovec r{reinterpret_cast<void*>(remote), bytes};
  return ::process_vm_readv(tid, &l, 1, &r, 1, 0) == static_cast<ssize_t>(bytes);
}

/// The sum of the lengths of `count` iovecs at `remote` in the tracee (at most kMaxIovecs).
std::uint64_t iovec_bytes(pid_t tid, std::uint64_t remote, std::uint64_t count) {
  std::array<iovec, 64> chunk{};
  std::uint64_t total = 0;
  count = std::min<std::uint64_t>(count, kMaxIovecs);
  for (std::uint64_t done = 0; done < count;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), count - done));
    if (!read_tracee(tid, remote + done * sizeof(iovec), chunk.data(), n * sizeof(iovec))) break;
    for (std::size_t i = 0; i < n; ++i) total += chunk[i].iov_len;
    done += n;
  }
  return total;
}

bool is_group_stop_signal(int sig) noexcept {
  return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/// The BPF program of a launched child: SECCOMP_RET_TRACE for the traced syscalls, ALLOW for
/// the rest; a syscall of another architecture (an x32 or i386 call) is allowed untraced.
std::vector<sock_filter> seccomp_program(bool io) {
  std::vector<int> nrs(std::begin(kWaitSyscalls), std::end(kWaitSyscalls));
  nrs.push_back(SYS_epoll_ctl);
  if (io) nrs.insert(nrs.end(), std::begin(kIoSyscalls), std::end(kIoSyscalls));
  std::vector<sock_filter> p;
  const auto n = static_cast<unsigned char>(nrs.size());
  p.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  // arch != x86_64: jump to the final ALLOW (n + 2 instructions ahead).
  p.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, static_cast<unsigned char>(n + 2)));
  p.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
  for (unsigned char i = 0; i < n; ++i)  // match: jump to the TRACE after the remaining tests
    p.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nrs[i]), static_cast<unsigned char>(n - i), 0));
  p.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  p.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE));
  // The arch mismatch lands here, past TRACE.
  p.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  return p;
}

/// argv[0] as execv needs it: itself when it names a path, else the first executable match
/// in PATH; nullopt when there is none.
std::optional<std::string> resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = ::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    const auto colon = dirs.find(':');
    std::string candidate(dirs.substr(0, colon));
    if (candidate.empty()) candidate.push_back('.');  // an empty PATH entry: the current directory
    candidate.push_back('/');
    candidate.append(name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) return std::nullopt;
    dirs.remove_prefix(colon + 1);
  }
}

/// A field of /proc/PID/status ("Uid", "TracerPid", "Seccomp", "CapEff"), or "".
std::string status_field(const std::string& pid, std::string_view key) {
  std::ifstream in("/proc/" + pid + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 && line[key.size()] == ':') {
      const auto v = line.find_first_not_of(" \t", key.size() + 1);
      return v == std::string::npos ? "" : line.substr(v);
    }
  }
  return "";
}

std::string first_word(const std::string& s) { return s.substr(0, s.find_first_of(" \t")); }

std::string user_name(const std::string& uid) {
  std::ifstream in("/etc/passwd");
  std::string line;
  while (std::getline(in, line)) {
    const auto a = line.find(':');
    const auto b = line.find(':', a == std::string::npos ? a : a + 1);
    const auto c = line.find(':', b == std::string::npos ? b : b + 1);
    if (c != std::string::npos && line.compare(b + 1, c - b - 1, uid) == 0) return line.substr(0, a);
  }
  return "uid " + uid;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct Tracer::Impl {
  enum class Mode : std::uint8_t { attach, launch };

  struct Thread {
    // The syscall it entered and we traced, until its exit stop.
    long nr = -1;
    std::array<std::uint64_t, 6> args{};
    TraceEvent pending;        // ctl / io: the half filled in at entry
    bool awaiting_exit = false;  // launch mode: resume with PTRACE_SYSCALL to see the exit
    // Attached: the last syscall stop was the entry of a syscall we do not trace, so the next
    // syscall stop is its exit and needs no PTRACE_GET_SYSCALL_INFO (a third of the ptrace
    // calls of an untraced syscall). Only set after an entry was seen, so never guessed.
    bool in_untraced = false;
  };

  Mode mode = Mode::attach;
  TraceOptions options;
  pid_t target = 0;
  std::vector<std::string> argv;  // launch

  OwnedFd notify;  // eventfd: readable while the queue holds events
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> done{false};
  OwnedFd wake_write;  // the wake child's socket pair, this end
  pid_t wake_child = -1;
  std::thread thread;

  std::mutex mutex;  // guards queue and dropped_count
  std::vector<TraceEvent> queue;
  std::uint64_t dropped_count = 0;

  // Tracer thread only.
  std::unordered_map<pid_t, Thread> threads;
  bool stopping = false;
  int last_exit_status = 0;  // of the leader, as TraceEvent::result
  std::promise<std::error_code> started;
  bool start_reported = false;
  OwnedFd exec_error_read;  // launch: the child writes its errno here when exec fails

  /// Queues `ev` (or counts it dropped); `last` marks the trace finished in the same step, so
  /// finished() is true as soon as the `detached` event can be drained. The detached event
  /// is never dropped: it may exceed the capacity by one.
  void push(TraceEvent&& ev, bool last = false) {
    std::lock_guard lock(mutex);
    if (last) done.store(true, std::memory_order_release);
    if (queue.size() >= options.queue_capacity && !last) {
      ++dropped_count;
      return;
    }
    const bool was_empty = queue.empty();
    queue.push_back(std::move(ev));
    if (was_empty) {
      const std::uint64_t one = 1;
      (void)!::write(notify.get(), &one, sizeof one);
    }
  }

  TraceEvent event(TraceEvent::Kind kind, pid_t tid, std::uint64_t t) const {
    TraceEvent ev;
    ev.kind = kind;
    ev.tid = tid;
    ev.t_ns = t;
    return ev;
  }

  void report_start(std::error_code ec) {
    if (start_reported) return;
    start_reported = true;
    started.set_value(ec);
  }

  // ---- setup (tracer thread) ----

  io_result<void> start_wake_child() {
    // A socket pair rather than a pipe: stop() writes with MSG_NOSIGNAL, so a wake child that
    // is already gone cannot raise SIGPIPE in the application.
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return std::unexpected(last_error());
    OwnedFd r(fds[0]);
    wake_write = OwnedFd(fds[1]);
    const pid_t child = ::fork();
    if (child < 0) return std::unexpected(last_error());
    if (child == 0) {
      // Async-signal-safe calls only: keep the read end as fd 0, close everything else (the
      // application's sockets must not stay open in here), wait for a byte or EOF.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::dup2(r.get(), 0);
      ::syscall(SYS_close_range, 1u, ~0u, 0u);
      char c;
      while (::read(0, &c, 1) < 0 && errno == EINTR) {
      }
      ::_exit(0);
    }
    wake_child = child;
    return {};
  }

  io_result<void> seize_all() {
    const long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC;
    const std::uint64_t t = monotonic_ns();
    // Seize the leader first: its failure is the process's (ESRCH, EPERM).
    if (ptrace_call(PTRACE_SEIZE, target, 0, static_cast<std::uintptr_t>(opts)) != 0) return std::unexpected(last_error());
    threads.emplace(target, Thread{});
    // Threads may be created while we read the list; read it again until nothing is new.
    const std::string dir = "/proc/" + std::to_string(target) + "/task";
    for (bool added = true; added;) {
      added = false;
      DIR* d = ::opendir(dir.c_str());
      if (d == nullptr) break;
      while (const dirent* e = ::readdir(d)) {
        const pid_t tid = static_cast<pid_t>(std::atol(e->d_name));
        if (tid <= 0 || threads.contains(tid)) continue;
        // EPERM: already ours through PTRACE_O_TRACECLONE; ESRCH: it has exited.
        if (ptrace_call(PTRACE_SEIZE, tid, 0, static_cast<std::uintptr_t>(opts)) != 0 && errno != EPERM) continue;
        threads.emplace(tid, Thread{});
        added = true;
      }
      ::closedir(d);
    }
    // Bring every thread to a stop so that it can be resumed with PTRACE_SYSCALL.
    for (auto& [tid, th] : threads) {
      ptrace_call(PTRACE_INTERRUPT, tid);
      TraceEvent ev = event(TraceEvent::Kind::thread_started, tid, t);
      push(std::move(ev));
    }
    return {};
  }

  io_result<void> start_child() {
    if (argv.empty()) return std::unexpected(os_error(EINVAL));
    const auto program = resolve_program(argv[0]);
    if (!program) return std::unexpected(os_error(ENOENT));
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    auto filter = seccomp_program(options.io);
    sock_fprog prog{static_cast<unsigned short>(filter.size()), filter.data()};
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return std::unexpected(last_error());
    exec_error_read = OwnedFd(fds[0]);
    OwnedFd err_write(fds[1]);
    const pid_t child = ::fork();
    if (child < 0) return std::unexpected(last_error());
    if (child == 0) {
      // Async-signal-safe calls only. The program gets a clean signal mask and SIGPIPE's
      // default, whatever this application's thread had.
      auto fail = [&](int err) {
        (void)!::write(err_write.get(), &err, sizeof err);
        ::_exit(127);
      };
      sigset_t none;
      ::sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::signal(SIGPIPE, SIG_DFL);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::kill(::getpid(), SIGSTOP);  // the tracer seizes us here
      if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(errno);
      if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) fail(errno);
      ::execv(program->c_str(), cargv.data());
      fail(errno);
    }
    err_write.reset();
    target = child;
    int status = 0;
    while (::waitpid(child, &status, WSTOPPED | __WALL) < 0) {
      if (errno != EINTR) return std::unexpected(last_error());
    }
    if (!WIFSTOPPED(status)) return std::unexpected(os_error(ECHILD));
    const long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACESECCOMP |
                      PTRACE_O_EXITKILL;
    if (ptrace_call(PTRACE_SEIZE, child, 0, static_cast<std::uintptr_t>(opts)) != 0) {
      const auto ec = last_error();
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, __WALL);
      return std::unexpected(ec);
    }
    threads.emplace(child, Thread{});
    ::kill(child, SIGCONT);
    push(event(TraceEvent::Kind::thread_started, child, monotonic_ns()));
    return {};
  }

  // ---- the loop (tracer thread) ----

  void resume(pid_t tid, Thread* th, int sig = 0) {
    const bool syscall_stops = mode == Mode::attach || (th != nullptr && th->awaiting_exit);
    ptrace_call(syscall_stops ? PTRACE_SYSCALL : PTRACE_CONT, tid, 0, static_cast<std::uintptr_t>(sig));
  }

  void on_syscall_stop(pid_t tid, Thread& th, std::uint64_t t) {
    if (std::exchange(th.in_untraced, false)) return;
    __ptrace_syscall_info info{};
    if (ptrace_call(PTRACE_GET_SYSCALL_INFO, tid, reinterpret_cast<void*>(sizeof info), &info) <= 0) return;
    if (info.arch != AUDIT_ARCH_X86_64) return;
    if (info.op == PTRACE_SYSCALL_INFO_ENTRY || info.op == PTRACE_SYSCALL_INFO_SECCOMP) {
      const auto nr = static_cast<long>(info.op == PTRACE_SYSCALL_INFO_ENTRY ? info.entry.nr : info.seccomp.nr);
      const auto& args = info.op == PTRACE_SYSCALL_INFO_ENTRY ? info.entry.args : info.seccomp.args;
      th.nr = -1;
      if (is_wait(nr)) {
        on_wait_entry(tid, th, nr, args, t);
      } else if (nr == SYS_epoll_ctl) {
        on_ctl_entry(tid, th, args, t);
      } else if (options.io && is_io(nr)) {
        on_io_entry(tid, th, nr, args, t);
      } else {
        th.in_untraced = info.op == PTRACE_SYSCALL_INFO_ENTRY;
        return;
      }
      th.nr = nr;
      std::copy(std::begin(args), std::end(args), th.args.begin());
      th.awaiting_exit = mode == Mode::launch;
    } else if (info.op == PTRACE_SYSCALL_INFO_EXIT) {
      th.awaiting_exit = false;
      if (th.nr < 0) return;  // an untraced syscall, or one entered before we attached
      const long nr = std::exchange(th.nr, -1);
      const std::int64_t rval = info.exit.rval;
      if (is_wait(nr)) {
        TraceEvent ev = event(TraceEvent::Kind::wait_exit, tid, t);
        ev.syscall_nr = static_cast<int>(nr);
        ev.epfd = static_cast<int>(th.args[0]);
        ev.max_events = static_cast<std::int64_t>(static_cast<int>(th.args[2]));
        ev.result = rval;
        if (rval > 0) {
          const auto n = std::min<std::size_t>(static_cast<std::size_t>(rval), kMaxReadyPerWait);
          ev.ready.resize(n);
          if (!read_tracee(tid, th.args[1], ev.ready.data(), n * sizeof(epoll_event))) ev.ready.clear();
        }
        push(std::move(ev));
      } else {
        TraceEvent ev = std::move(th.pending);
        ev.t_ns = t;
        ev.result = rval;
        push(std::move(ev));
      }
    }
  }

  void on_wait_entry(pid_t tid, Thread&, long nr, const std::uint64_t (&args)[6], std::uint64_t t) {
    TraceEvent ev = event(TraceEvent::Kind::wait_enter, tid, t);
    ev.syscall_nr = static_cast<int>(nr);
    ev.epfd = static_cast<int>(args[0]);
    ev.max_events = static_cast<int>(args[2]);
    if (nr == SYS_epoll_pwait2) {
      timespec ts{};
      if (args[3] != 0 && read_tracee(tid, args[3], &ts, sizeof ts))
        ev.timeout_ns = static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
    } else {
      const int ms = static_cast<int>(args[3]);
      if (ms >= 0) ev.timeout_ns = std::int64_t{ms} * 1'000'000;
    }
    push(std::move(ev));
  }

  void on_ctl_entry(pid_t tid, Thread& th, const std::uint64_t (&args)[6], std::uint64_t t) {
    TraceEvent ev = event(TraceEvent::Kind::ctl, tid, t);
    ev.syscall_nr = SYS_epoll_ctl;
    ev.epfd = static_cast<int>(args[0]);
    ev.op = static_cast<int>(args[1]);
    ev.fd = static_cast<int>(args[2]);
    epoll_event e{};
    if (ev.op != EPOLL_CTL_DEL && args[3] != 0 && read_tracee(tid, args[3], &e, sizeof e)) {
      ev.events = e.events;
      ev.data = e.data.u64;
    }
    th.pending = std::move(ev);
  }

  void on_io_entry(pid_t tid, Thread& th, long nr, const std::uint64_t (&args)[6], std::uint64_t t) {
    TraceEvent ev = event(TraceEvent::Kind::io, tid, t);
    ev.syscall_nr = static_cast<int>(nr);
    ev.fd = static_cast<int>(args[0]);
    if (nr == SYS_readv || nr == SYS_writev) {
      ev.requested = iovec_bytes(tid, args[1], args[2]);
    } else if (nr == SYS_recvmsg || nr == SYS_sendmsg) {
      msghdr m{};
      if (read_tracee(tid, args[1], &m, sizeof m))
        ev.requested = iovec_bytes(tid, reinterpret_cast<std::uintptr_t>(m.msg_iov), m.msg_iovlen);
    } else {
      ev.requested = args[2];
    }
    th.pending = std::move(ev);
  }

  void on_event_stop(pid_t tid, Thread* th, int event_code, int sig, std::uint64_t t) {
    switch (event_code) {
      case PTRACE_EVENT_CLONE: {
        unsigned long child = 0;
        ptrace_call(PTRACE_GETEVENTMSG, tid, nullptr, &child);
        const auto ctid = static_cast<pid_t>(child);
        // Only threads of this process: a clone() without CLONE_THREAD is another process.
        const std::string task = "/proc/" + std::to_string(target) + "/task/" + std::to_string(ctid);
        if (::access(task.c_str(), F_OK) == 0) {
          threads.try_emplace(ctid);
          TraceEvent ev = event(TraceEvent::Kind::thread_started, ctid, t);
          ev.related = tid;
          push(std::move(ev));
        } else {
          threads.try_emplace(ctid);  // detached at its first stop
          foreign.push_back(ctid);
        }
        break;
      }
      case PTRACE_EVENT_EXEC: {
        unsigned long former = 0;
        ptrace_call(PTRACE_GETEVENTMSG, tid, nullptr, &former);
        const auto ftid = static_cast<pid_t>(former);
        if (ftid != tid) threads.erase(ftid);
        if (th != nullptr) *th = Thread{};
        TraceEvent ev = event(TraceEvent::Kind::exec, tid, t);
        ev.related = ftid;
        push(std::move(ev));
        if (mode == Mode::launch) {
          exec_error_read.reset();
          report_start({});
        }
        break;
      }
      case PTRACE_EVENT_SECCOMP:
        if (th != nullptr) on_syscall_stop(tid, *th, t);
        break;
      case PTRACE_EVENT_STOP:
        if (is_group_stop_signal(sig)) {
          // A group-stop (SIGSTOP, ^Z): the thread stays stopped, as it would untraced, until
          // SIGCONT, which wakes it into another stop.
          ptrace_call(PTRACE_LISTEN, tid);
          return;
        }
        break;
      default:
        break;
    }
    resume(tid, th);
  }

  std::vector<pid_t> foreign;  // clone()d processes (not threads): detached at first stop

  /// A stop while stopping: detach, handing back a signal that was about to be delivered.
  void detach(pid_t tid, int status) {
    int sig = 0;
    if (WIFSTOPPED(status) && (status >> 16) == 0 && WSTOPSIG(status) != (SIGTRAP | 0x80)) sig = WSTOPSIG(status);
    ptrace_call(PTRACE_DETACH, tid, 0, static_cast<std::uintptr_t>(sig));
    threads.erase(tid);
  }

  void begin_stop() {
    stopping = true;
    if (mode == Mode::launch) {
      ::kill(target, SIGKILL);
      return;
    }
    for (auto& [tid, th] : threads) ptrace_call(PTRACE_INTERRUPT, tid);
  }

  void on_gone(pid_t tid, int status, std::uint64_t t) {
    const std::int64_t code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    if (tid == target) last_exit_status = static_cast<int>(code);
    if (threads.erase(tid) == 0) return;
    if (!stopping && tid != target) {
      TraceEvent ev = event(TraceEvent::Kind::thread_exited, tid, t);
      ev.result = code;
      push(std::move(ev));
    }
    if (tid == target && mode == Mode::launch && !start_reported) {
      // The child ended before its exec: its errno is in the pipe.
      int err = 0;
      if (exec_error_read && ::read(exec_error_read.get(), &err, sizeof err) == sizeof err && err != 0)
        report_start(os_error(err));
      else
        report_start(os_error(ECHILD));
    }
  }

  void loop() {
    bool process_gone = false;
    while (!threads.empty()) {
      int status = 0;
      const pid_t tid = ::waitpid(-1, &status, __WALL | __WNOTHREAD);
      const std::uint64_t t = monotonic_ns();
      if (tid < 0) {
        if (errno == EINTR) continue;
        break;  // ECHILD: nothing left to wait for
      }
      if (tid == wake_child) {
        wake_child = -1;
        if (!stopping) begin_stop();
        continue;
      }
      if (WIFEXITED(status) || WIFSIGNALED(status)) {
        on_gone(tid, status, t);
        process_gone = process_gone || tid == target;
        continue;
      }
      if (!WIFSTOPPED(status)) continue;
      if (auto f = std::ranges::find(foreign, tid); f != foreign.end()) {
        foreign.erase(f);
        detach(tid, status);
        continue;
      }
      if (stopping) {
        if (mode == Mode::attach) detach(tid, status);
        continue;  // launch: SIGKILL is on its way
      }
      auto it = threads.find(tid);
      if (it == threads.end()) {
        // A new thread whose first stop came before its creator's PTRACE_EVENT_CLONE.
        it = threads.try_emplace(tid).first;
      }
      Thread& th = it->second;
      const int sig = WSTOPSIG(status);
      const int event_code = status >> 16;
      if (sig == (SIGTRAP | 0x80)) {
        on_syscall_stop(tid, th, t);
        resume(tid, &th);
      } else if (event_code != 0) {
        on_event_stop(tid, &th, event_code, sig, t);
      } else {
        resume(tid, &th, sig);  // signal-delivery-stop: deliver it
      }
    }
    if (process_gone || (threads.empty() && !stopping)) {
      TraceEvent ev = event(TraceEvent::Kind::process_exited, target, monotonic_ns());
      ev.result = last_exit_status;
      push(std::move(ev));
    }
  }

  void run() {
    auto fail = [&](std::error_code ec) {
      report_start(ec);
      finish();
    };
    if (auto w = start_wake_child(); !w) return fail(w.error());
    if (mode == Mode::attach) {
      if (auto s = seize_all(); !s) {
        for (auto& [tid, th] : threads) ptrace_call(PTRACE_DETACH, tid);
        threads.clear();
        return fail(s.error());
      }
      report_start({});
    } else if (auto s = start_child(); !s) {
      return fail(s.error());
    }
    loop();
    report_start(os_error(ECHILD));  // launch: the child vanished without a word
    finish();
  }

  void finish() {
    if (wake_child > 0) {
      ::kill(wake_child, SIGKILL);
      ::waitpid(wake_child, nullptr, __WALL);
      wake_child = -1;
    }
    push(event(TraceEvent::Kind::detached, target, monotonic_ns()), true);
  }

  void request_stop() {
    if (stop_requested.exchange(true)) return;
    const char c = 's';
    (void)!::send(wake_write.get(), &c, 1, MSG_NOSIGNAL);
  }
};

// ---------------------------------------------------------------------------------------------

bool TraceEvent::is_input() const noexcept {
  return kind == Kind::io &&
         (syscall_nr == SYS_read || syscall_nr == SYS_readv || syscall_nr == SYS_recvfrom || syscall_nr == SYS_recvmsg);
}

namespace {

io_result<std::unique_ptr<Tracer::Impl>> make_impl(TraceOptions options) {
  if (options.queue_capacity == 0 || options.queue_capacity > kMaxQueueCapacity) return std::unexpected(os_error(EINVAL));
  auto impl = std::make_unique<Tracer::Impl>();
  impl->options = options;
  auto fd = sys::own(sys::call(::eventfd, 0u, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!fd) return std::unexpected(fd.error());
  impl->notify = std::move(*fd);
  return impl;
}

}  // namespace

io_result<std::unique_ptr<Tracer>> Tracer::start(std::unique_ptr<Impl> impl) {
  auto started = impl->started.get_future();
  Impl* raw = impl.get();
  raw->thread = std::thread([raw] { raw->run(); });
  if (const std::error_code ec = started.get()) {
    raw->thread.join();
    return std::unexpected(ec);
  }
  return std::unique_ptr<Tracer>(new Tracer(std::move(impl)));
}

io_result<std::unique_ptr<Tracer>> Tracer::attach(pid_t pid, TraceOptions options) {
  if (pid <= 0 || pid == ::getpid()) return std::unexpected(os_error(EINVAL));
  auto impl = make_impl(options);
  if (!impl) return std::unexpected(impl.error());
  (*impl)->mode = Impl::Mode::attach;
  (*impl)->target = pid;
  return start(std::move(*impl));
}

io_result<std::unique_ptr<Tracer>> Tracer::launch(const std::vector<std::string>& argv, TraceOptions options) {
  if (argv.empty() || argv[0].empty()) return std::unexpected(os_error(EINVAL));
  auto impl = make_impl(options);
  if (!impl) return std::unexpected(impl.error());
  (*impl)->mode = Impl::Mode::launch;
  (*impl)->argv = argv;
  return start(std::move(*impl));
}

std::string Tracer::error_text(pid_t pid, const std::error_code& ec) {
  const std::string p = std::to_string(pid);
  const int err = ec.category() == std::system_category() ? ec.value() : 0;
  switch (err) {
    case ESRCH:
      return "no process " + p + ": check the id (pidof NAME, ps -e)";
    case EINVAL:
      return pid <= 0 || pid == ::getpid() ? "cannot trace process " + p + ": give the id of another running process"
                                           : "cannot trace process " + p + ": invalid request";
    case ENOENT:
    case EACCES:
      if (pid == 0) return "cannot start the program: " + ec.message() + " (check the name and PATH)";
      break;
    case ENOSYS:
      return "cannot trace: this kernel lacks PTRACE_GET_SYSCALL_INFO (Linux 5.3 or later needed) or ptrace is "
             "disabled here";
    case EPERM: {
      const std::string uid = first_word(status_field(p, "Uid"));
      const std::string my_uid = std::to_string(::geteuid());
      if (!uid.empty() && uid != my_uid && ::geteuid() != 0)
        return "process " + p + " belongs to " + user_name(uid) + ": run readyscope as that user, or as root";
      const std::string tracer = status_field(p, "TracerPid");
      if (!tracer.empty() && tracer != "0")
        return "process " + p + " is already traced by process " + tracer +
               " (a debugger or strace): end that trace first";
      const std::string seccomp = status_field("self", "Seccomp");
      if (!seccomp.empty() && seccomp != "0")
        return "ptrace is forbidden here by a seccomp policy (a container?): allow it, e.g. docker run --cap-add "
               "SYS_PTRACE --security-opt seccomp=unconfined";
      std::ifstream yama("/proc/sys/kernel/yama/ptrace_scope");
      int scope = -1;
      if (yama >> scope && scope > 0)
        return "ptrace of process " + p + " refused: kernel.yama.ptrace_scope is " + std::to_string(scope) +
               (scope == 1   ? " (only a program's ancestors may trace it)"
                : scope == 2 ? " (only CAP_SYS_PTRACE may trace)"
                             : " (no tracing at all)") +
               (scope < 3 ? ": run as root, give readyscope CAP_SYS_PTRACE (setcap cap_sys_ptrace+ep), or start "
                            "the program under it (readyscope --trace -- PROGRAM)"
                          : ": only a reboot with another setting allows it");
      return "ptrace of process " + p + " refused: it needs CAP_SYS_PTRACE (run as root) or a container that allows "
             "ptrace";
    }
    default:
      break;
  }
  return (pid > 0 ? "cannot trace process " + p : std::string("cannot start the program")) + ": " + ec.message();
}

Tracer::Tracer(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

Tracer::~Tracer() { stop(); }

pid_t Tracer::pid() const noexcept { return m_impl->target; }
int Tracer::fd() const noexcept { return m_impl->notify.get(); }

std::size_t Tracer::drain(std::vector<TraceEvent>& out) {
  std::lock_guard lock(m_impl->mutex);
  std::uint64_t count;
  (void)!::read(m_impl->notify.get(), &count, sizeof count);
  const std::size_t n = m_impl->queue.size();
  if (out.empty()) {
    out.swap(m_impl->queue);
  } else {
    std::move(m_impl->queue.begin(), m_impl->queue.end(), std::back_inserter(out));
    m_impl->queue.clear();
  }
  return n;
}

std::uint64_t Tracer::dropped() const noexcept {
  std::lock_guard lock(m_impl->mutex);
  return m_impl->dropped_count;
}

bool Tracer::finished() const noexcept { return m_impl->done.load(std::memory_order_acquire); }

void Tracer::stop() {
  m_impl->request_stop();
  if (m_impl->thread.joinable()) m_impl->thread.join();
}

}  // namespace ready::attach
