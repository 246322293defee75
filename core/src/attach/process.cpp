// Reading another process through /proc (ready/attach/process.h): the files are read by
// the Linux layer (linux/proc.h), their text parsed by procfs_parse.cpp.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <string_view>

#include "linux/os.h"
#include "linux/proc.h"
#include "ready/attach/process.h"

namespace ready::attach {

namespace {

constexpr std::size_t kMaxFdinfoBytes = std::size_t{256} << 20;  // ~2.5M watched descriptors
constexpr std::size_t kMaxNetTableBytes = std::size_t{512} << 20;
constexpr std::size_t kMaxSmallFileBytes = 64 * 1024;

std::string proc_path(int pid, std::string_view rest) { return "/proc/" + std::to_string(pid) + "/" + std::string(rest); }

std::optional<int> as_number(std::string_view s) {
  int v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

std::string process_name(int pid) {
  auto comm = os::read_proc_text(proc_path(pid, "comm"), kMaxSmallFileBytes);
  if (!comm) return {};
  std::string n = std::move(*comm);
  while (!n.empty() && n.back() == '\n') n.pop_back();
  return n;
}

std::string command_line(int pid) {
  auto c = os::read_proc_text(proc_path(pid, "cmdline"), kMaxSmallFileBytes);
  if (!c) return {};
  std::string s = std::move(*c);
  while (!s.empty() && s.back() == '\0') s.pop_back();
  std::replace(s.begin(), s.end(), '\0', ' ');
  return s;
}

int errno_of(const std::error_code& ec) { return ec.value() != 0 ? ec.value() : EIO; }

/// The epoll instances among the process's descriptors (ascending).
io_result<std::vector<int>> list_epolls(int pid) {
  auto names = os::list_dir(proc_path(pid, "fd"));
  if (!names) return std::unexpected(names.error());
  std::vector<int> out;
  for (const std::string& n : *names) {
    const auto fd = as_number(n);
    if (!fd) continue;
    auto link = os::read_link(proc_path(pid, "fd/" + n));
    if (link && classify_link(*link).kind == LinkKind::epoll) out.push_back(*fd);
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// ENOENT reading a file of /proc/PID: the process ended (or the descriptor closed) — which
/// one, /proc/PID itself says.
bool process_gone(int pid) { return !os::owner_uid("/proc/" + std::to_string(pid)); }

}  // namespace

AttachError attach_error(int pid, int err) {
  const std::string who = "process " + std::to_string(pid);
  switch (err) {
    case ESRCH:
      return {err, "no process with id " + std::to_string(pid)};
    case EACCES:
    case EPERM: {
      const std::string name = process_name(pid);
      auto uid = os::owner_uid("/proc/" + std::to_string(pid));
      const unsigned me = os::effective_uid();
      std::string text = who + (name.empty() ? "" : " (" + name + ")");
      if (uid && *uid != me)
        return {err, text + " belongs to user " + std::to_string(*uid) + ", not to you (uid " + std::to_string(me) +
                         "): run readyscope as that user, or as root"};
      return {err, text + ": reading its descriptors in /proc was refused (" + std::strerror(err) +
                       "): run readyscope as the process's user or as root; a process that made itself "
                       "undumpable (prctl PR_SET_DUMPABLE 0) needs root"};
    }
    case ENOENT:
      return {err, who + " holds no epoll instance"};
    default:
      return {err, who + ": reading /proc failed: " + std::strerror(err)};
  }
}

std::expected<ProcessEntry, AttachError> inspect_process(int pid) {
  if (pid <= 0 || !os::owner_uid("/proc/" + std::to_string(pid))) return std::unexpected(attach_error(pid, ESRCH));
  auto epolls = list_epolls(pid);
  if (!epolls) {
    const int e = errno_of(epolls.error());
    return std::unexpected(attach_error(pid, e == ENOENT ? ESRCH : e));
  }
  return ProcessEntry{pid, process_name(pid), command_line(pid), static_cast<int>(epolls->size())};
}

std::vector<ProcessEntry> epoll_processes() {
  std::vector<ProcessEntry> out;
  auto names = os::list_dir("/proc");
  if (!names) return out;
  const unsigned me = os::effective_uid();
  const int self = os::process_id();
  for (const std::string& n : *names) {
    const auto pid = as_number(n);
    if (!pid || *pid == self) continue;
    // Root may read every process; any other user lists its own (the others would refuse).
    if (me != 0) {
      auto uid = os::owner_uid("/proc/" + n);
      if (!uid || *uid != me) continue;
    }
    auto epolls = list_epolls(*pid);
    if (!epolls || epolls->empty()) continue;
    out.push_back({*pid, process_name(*pid), command_line(*pid), static_cast<int>(epolls->size())});
  }
  std::sort(out.begin(), out.end(), [](const ProcessEntry& a, const ProcessEntry& b) { return a.pid < b.pid; });
  return out;
}

std::expected<Sample, AttachError> sample_process(int pid, const std::vector<int>& epfds, bool relist) {
  Sample s;
  if (relist) {
    auto l = list_epolls(pid);
    if (!l) {
      const int e = errno_of(l.error());
      return std::unexpected(attach_error(pid, e == ENOENT ? ESRCH : e));
    }
    s.epfds = std::move(*l);
  } else {
    s.epfds = epfds;
  }
  std::vector<int> live;
  for (const int epfd : s.epfds) {
    const std::string path = proc_path(pid, "fdinfo/" + std::to_string(epfd));
    auto text = os::read_proc_text(path, kMaxFdinfoBytes);
    if (!text) {
      const int e = errno_of(text.error());
      if (e == ENOENT && !process_gone(pid)) continue;  // the instance closed
      return std::unexpected(attach_error(pid, e == ENOENT ? ESRCH : e));
    }
    auto info = parse_fdinfo(*text);
    if (!info) return std::unexpected(AttachError{EBADMSG, path + ": " + info.error()});
    // A descriptor reused by something else than an epoll instance has no tfd lines: the
    // next relist drops it.
    live.push_back(epfd);
    for (const EpollEntry& e : info->entries) s.registrations.push_back({epfd, e});
  }
  s.epfds = std::move(live);
  return s;
}

Resolved describe_fd(int pid, int fd, NetTables& net, bool& net_read) {
  auto link = os::read_link(proc_path(pid, "fd/" + std::to_string(fd)));
  if (!link) return Resolved{capture::SourceKind::other, "closed", ""};
  const LinkTarget t = classify_link(*link);
  if (t.kind == LinkKind::socket && !net_read) {
    net_read = true;
    const auto read_inet = [&](std::string_view file, bool v6, auto& into) {
      auto text = os::read_proc_text(proc_path(pid, "net/" + std::string(file)), kMaxNetTableBytes);
      if (!text) return;
      auto rows = parse_inet_table(*text, v6);
      if (!rows) return;
      for (InetSocket& r : *rows) into.emplace(r.inode, std::move(r));
    };
    read_inet("tcp", false, net.tcp);
    read_inet("tcp6", true, net.tcp);
    read_inet("udp", false, net.udp);
    read_inet("udp6", true, net.udp);
    if (auto text = os::read_proc_text(proc_path(pid, "net/unix"), kMaxNetTableBytes)) {
      if (auto rows = parse_unix_table(*text))
        for (UnixSocket& u : *rows) net.unix_sockets.emplace(u.inode, std::move(u));
    }
  }
  std::optional<std::uint32_t> flags;
  if (t.kind == LinkKind::pipe) {
    if (auto text = os::read_proc_text(proc_path(pid, "fdinfo/" + std::to_string(fd)), kMaxSmallFileBytes))
      if (auto info = parse_fdinfo(*text)) flags = info->flags;
  }
  return resolve(*link, net, flags);
}

}  // namespace ready::attach
