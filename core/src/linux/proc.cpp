// /proc operations for attaching (see proc.h).
#include "linux/proc.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "linux/sys.h"

namespace ready::os {

namespace {
long pidfd_open_call(int pid, unsigned flags) { return ::syscall(SYS_pidfd_open, pid, flags); }
}  // namespace

io_result<std::string> read_proc_text(const std::string& path, std::size_t max_bytes) noexcept {
  try {
    auto fd = sys::own(sys::call_retry(::open, path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return std::unexpected(fd.error());
    std::string out;
    std::array<char, 16384> buf{};
    for (;;) {
      auto n = sys::call_retry(::read, fd->get(), static_cast<void*>(buf.data()), buf.size());
      if (!n) return std::unexpected(n.error());
      if (*n == 0) return out;
      if (out.size() + static_cast<std::size_t>(*n) > max_bytes) return std::unexpected(os_error(EFBIG));
      out.append(buf.data(), static_cast<std::size_t>(*n));
    }
  } catch (const std::bad_alloc&) {
    return std::unexpected(os_error(ENOMEM));
  }
}

io_result<std::string> read_link(const std::string& path) noexcept {
  std::array<char, 4096> buf{};
  auto n = sys::call(::readlink, path.c_str(), buf.data(), buf.size() - 1);
  if (!n) return std::unexpected(n.error());
  try {
    return std::string(buf.data(), static_cast<std::size_t>(*n));
  } catch (const std::bad_alloc&) {
    return std::unexpected(os_error(ENOMEM));
  }
}

io_result<std::vector<std::string>> list_dir(const std::string& path) noexcept {
  auto fd = sys::call_retry(::open, path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (!fd) return std::unexpected(fd.error());
  DIR* d = ::fdopendir(*fd);  // owns the descriptor from here on
  if (!d) {
    const int e = errno;
    ::close(*fd);
    return std::unexpected(os_error(e));
  }
  std::vector<std::string> names;
  int err = 0;
  try {
    for (;;) {
      errno = 0;
      const dirent* e = ::readdir(d);
      if (!e) {
        err = errno;
        break;
      }
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      names.emplace_back(e->d_name);
    }
  } catch (const std::bad_alloc&) {
    err = ENOMEM;
  }
  ::closedir(d);
  if (err != 0) return std::unexpected(os_error(err));
  return names;
}

io_result<unsigned> owner_uid(const std::string& path) noexcept {
  struct stat st {};
  if (auto r = sys::call(::stat, path.c_str(), &st); !r) return std::unexpected(r.error());
  return static_cast<unsigned>(st.st_uid);
}

unsigned effective_uid() noexcept { return static_cast<unsigned>(::geteuid()); }

io_result<OwnedFd> pidfd_open(int pid) noexcept {
  auto r = sys::call(pidfd_open_call, pid, 0u);
  if (!r) return std::unexpected(r.error());
  return OwnedFd(static_cast<int>(*r));
}

}  // namespace ready::os
