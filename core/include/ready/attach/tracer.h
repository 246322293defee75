// Level 2 of attach (issue 17): a ptrace tracer of another process's epoll syscalls.
//
// A `Tracer` follows every thread of one process (including threads created later) and
// reports, as `TraceEvent`s, each `epoll_wait` / `epoll_pwait` / `epoll_pwait2` entry and
// return (with the ready events the kernel handed back), each `epoll_ctl`, and with
// `TraceOptions::io` the read/write/recv/send family. It is Qt-free and knows nothing of
// records: the capture engine turns its events into records.
//
// Threads. All ptrace calls are made by one private thread (the tracer thread), because the
// kernel ties a tracee to the thread that attached it. The public functions below may be
// called from any one consumer thread (not concurrently with each other, except `fd()` and
// `pid()`, which are constant).
//
// Read-only. The tracer never writes to the traced process's memory or registers. It reads
// syscall arguments with PTRACE_GET_SYSCALL_INFO (Linux 5.3) and the returned event array,
// iovecs and msghdrs with process_vm_readv.
//
// Two ways in:
//  - `attach(pid)`: PTRACE_SEIZE of every thread in /proc/PID/task, then syscall stops on
//    *every* syscall of the process (no filter can be installed from outside), so a
//    syscall-heavy program runs noticeably slower while attached (see docs/performance.md,
//    "Tracing overhead"). A thread blocked in a syscall when it is seized is interrupted and
//    its syscall restarted by the kernel (an epoll_wait restarts with its full timeout).
//  - `launch(argv)`: the program is started under the trace from its first instruction. The
//    child installs a seccomp filter (PR_SET_NO_NEW_PRIVS + SECCOMP_RET_TRACE for the traced
//    syscalls, ALLOW for the rest) before exec, so it only stops on the traced syscalls.
//    Kernel rule: a syscall that a seccomp filter sends to a tracer fails with ENOSYS when
//    there is no tracer, so a launched program cannot outlive its trace: it is killed
//    (SIGKILL) by `stop()`, and by the kernel (PTRACE_O_EXITKILL) if the tracing process dies.
//
// Ending. `stop()` detaches every thread of an attached process cleanly (it runs on as if
// never traced; a thread that was in a group-stop stays stopped) and kills a launched one.
// If the tracing process dies, even by SIGKILL, the kernel detaches an attached process and
// it runs on unharmed. An application that traces should call `stop()` (or destroy the
// Tracer) from its SIGINT/SIGTERM handling, outside the signal handler (ReadyScope's app
// already routes both signals to an orderly shutdown that destroys the engine).
//
// Delivery. Events go into a bounded queue (`TraceOptions::queue_capacity` events). The
// tracee is stopped only while its own stop is handled (microseconds): a full queue drops the
// event and counts it in `dropped()`, it never waits for the consumer. `fd()` is an eventfd
// that is readable while events wait; `drain()` empties the queue and resets it.
//
// Clock. `TraceEvent::t_ns` is CLOCK_MONOTONIC in nanoseconds (std::chrono::steady_clock on
// Linux), read when the tracer saw the stop: subtract the capture's start to get record time.
#pragma once

#include <sys/epoll.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "ready/error.h"

namespace ready::attach {

struct TraceOptions {
  /// Also report read, write, readv, writev, recvfrom, sendto, recvmsg and sendmsg on every
  /// descriptor (the consumer keeps those on the descriptors it cares about).
  bool io = false;
  /// Events waiting for `drain()` at most (1 to 2^24); more are dropped and counted.
  std::size_t queue_capacity = 65536;
};

/// At most this many ready events are copied out of one epoll_wait return; `result` still
/// says how many the kernel returned (ready.size() < result means the rest were left out).
inline constexpr std::size_t kMaxReadyPerWait = 4096;

struct TraceEvent {
  enum class Kind : std::uint8_t {
    wait_enter,      ///< a thread entered epoll_wait/_pwait/_pwait2: epfd, timeout_ns, max_events
    wait_exit,       ///< it returned: result = count or -errno, ready = the events it got
    ctl,             ///< epoll_ctl returned: epfd, op, fd, events, data, result (0 or -errno)
    io,              ///< with TraceOptions::io: fd, requested bytes, result = bytes or -errno
    thread_started,  ///< tid is new (traced from its first instruction); related = creator's tid
    thread_exited,   ///< tid is gone; result = exit status as below
    exec,            ///< the process called execve; tid = the process id, related = former tid
    process_exited,  ///< the whole process ended: result = exit code, or -signal if killed
    detached,        ///< the trace ended (stop(), process exit or an error); always the last event
  };
  Kind kind = Kind::wait_enter;
  pid_t tid = 0;                ///< the thread that made the syscall
  std::uint64_t t_ns = 0;       ///< CLOCK_MONOTONIC ns when the tracer saw the stop
  int syscall_nr = -1;          ///< SYS_epoll_wait, SYS_read, ... (<sys/syscall.h>), -1 for non-syscall kinds
  int epfd = -1;                ///< the epoll instance (wait_*, ctl)
  int fd = -1;                  ///< ctl: the target fd; io: the descriptor read or written
  int op = 0;                   ///< ctl: EPOLL_CTL_ADD / MOD / DEL
  std::uint32_t events = 0;     ///< ctl: the interest mask as passed (0 for DEL)
  std::uint64_t data = 0;       ///< ctl: the epoll_data the program chose (as u64)
  std::int64_t result = 0;      ///< syscall return value (n, bytes, 0) or -errno; exit status
  std::int64_t timeout_ns = -1; ///< wait_enter: the timeout, -1 = infinite
  std::int64_t max_events = 0;  ///< wait_enter / wait_exit: maxevents as passed
  std::uint64_t requested = 0;  ///< io: bytes asked for (the sum over iovecs for *v / *msg)
  pid_t related = 0;            ///< thread_started: the creating thread; exec: the former tid
  std::vector<epoll_event> ready;  ///< wait_exit: the returned events, at most kMaxReadyPerWait

  /// True for the input half of the io family (read, readv, recvfrom, recvmsg).
  [[nodiscard]] bool is_input() const noexcept;
};

class Tracer {
public:
  /// Seizes every thread of process `pid` and starts tracing. Errors (as values):
  /// ESRCH no such process, EPERM not allowed (see `error_text`), EINVAL bad options or
  /// pid <= 0 or the calling process itself, ENOSYS kernel without PTRACE_GET_SYSCALL_INFO.
  static io_result<std::unique_ptr<Tracer>> attach(pid_t pid, TraceOptions options = {});
  /// Starts `argv` (argv[0] looked up in PATH) under the trace with a seccomp filter; the
  /// program inherits stdin/stdout/stderr and the environment. ENOENT/EACCES when it cannot
  /// be executed (reported here, not as an exit), EINVAL for an empty argv.
  static io_result<std::unique_ptr<Tracer>> launch(const std::vector<std::string>& argv,
                                                   TraceOptions options = {});

  /// One line for a user, with the fix, for an error from attach() or launch() on `pid`:
  /// no such process; another user's process; ptrace refused (naming
  /// /proc/sys/kernel/yama/ptrace_scope's value when that file exists, and CAP_SYS_PTRACE);
  /// ptrace forbidden by a seccomp policy or container.
  static std::string error_text(pid_t pid, const std::error_code& ec);

  ~Tracer();  // stop()
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  /// The traced process id (the launched program's pid for launch()).
  [[nodiscard]] pid_t pid() const noexcept;
  /// An eventfd (non-blocking, close-on-exec, owned by the Tracer): readable while events
  /// wait for drain(). Register it for reading; level- or edge-triggered both work as long as
  /// each wake-up is followed by drain().
  [[nodiscard]] int fd() const noexcept;
  /// Appends every waiting event to `out` in the order seen and returns how many. Resets fd().
  std::size_t drain(std::vector<TraceEvent>& out);
  /// Events dropped so far because the queue was full.
  [[nodiscard]] std::uint64_t dropped() const noexcept;
  /// True once the trace has ended (the `detached` event is queued).
  [[nodiscard]] bool finished() const noexcept;
  /// Ends the trace: detaches every thread of an attached process, kills a launched one, and
  /// waits for the tracer thread. Idempotent; the destructor calls it. Events already queued
  /// stay drainable, ending with `detached`.
  void stop();

  struct Impl;

private:
  explicit Tracer(std::unique_ptr<Impl> impl);
  static io_result<std::unique_ptr<Tracer>> start(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace ready::attach
