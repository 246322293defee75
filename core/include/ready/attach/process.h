// Another process, read through /proc (docs/attach.md): is it there, may this user read it,
// which epoll instances does it hold, what does each watch. Used by the capture engine's
// attach sampler (cmd::Attach), the command line's checks and the window's process list.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "ready/attach/procfs.h"

namespace ready::attach {

/// Why a process cannot be read: the errno and one line that says so and names the fix.
struct AttachError {
  int err = 0;  ///< ESRCH no such process, EACCES another user's, ENOENT no epoll instance, ...
  std::string message;
};

/// A process as the attach list shows it.
struct ProcessEntry {
  int pid = 0;
  std::string name;     ///< /proc/PID/comm
  std::string cmdline;  ///< /proc/PID/cmdline, arguments joined by spaces ("" for a kernel thread)
  int epoll_instances = 0;
};

/// The text of one error: "no process with id 123", "process 1 (systemd) belongs to user 0,
/// not to you (uid 1000): run readyscope as that user, or as root", ...
AttachError attach_error(int pid, int err);

/// Checks that `pid` is a process whose descriptors this user may read, and counts its
/// epoll instances. Errors: ESRCH (no such process, also for pid <= 0), EACCES / EPERM (another
/// user's process, or a hardened /proc), any other errno reading /proc.
std::expected<ProcessEntry, AttachError> inspect_process(int pid);

/// The processes this user may read that hold at least one epoll instance, by pid. Processes
/// that end or cannot be read while the list is made are left out. This process is left out.
std::vector<ProcessEntry> epoll_processes();

/// One registration of an epoll instance, as sampled.
struct Registration {
  int epfd = -1;  ///< the epoll instance's descriptor in the process
  EpollEntry entry;
};

/// One look at a process's epoll instances.
struct Sample {
  std::vector<int> epfds;                   ///< its epoll instances (ascending)
  std::vector<Registration> registrations;  ///< every instance's entries, in (epfd, file) order
};

/// Reads the fdinfo of each of `epfds` (an instance that closed since is left out of
/// `epfds` of the result). With `relist`, first lists /proc/PID/fd for the epoll instances
/// (`epfds` is then ignored). Errors: ESRCH when the process is gone, EACCES, or a parse
/// error (EBADMSG, the message naming the file and line).
std::expected<Sample, AttachError> sample_process(int pid, const std::vector<int>& epfds, bool relist);

/// What descriptor `fd` of `pid` is: its link, resolved through the process's net tables
/// (read into `net` on the first socket that needs them: pass the same `net` and `net_read`
/// for every descriptor of one sample so they are read once) and its open flags (pipes).
/// A descriptor that closed meanwhile: kind `other`, local "closed".
Resolved describe_fd(int pid, int fd, NetTables& net, bool& net_read);

}  // namespace ready::attach
