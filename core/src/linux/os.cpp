// The Linux layer's named operations for ready::capture (see os.h).
#include "linux/os.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "linux/sys.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

namespace ready::os {

void populate(void* p, std::size_t bytes) noexcept {
  static const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t first = (a + page - 1) & ~(page - 1);
  const std::uintptr_t last = (a + bytes) & ~(page - 1);
  if (last > first)
    (void)sys::call(::madvise, reinterpret_cast<void*>(first), static_cast<std::size_t>(last - first),
                    MADV_POPULATE_WRITE);
}

io_result<OwnedFd> open_read(const std::string& path, bool nonblock) noexcept {
  return sys::own(sys::call_retry(::open, path.c_str(), O_RDONLY | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0)));
}

io_result<OwnedFd> create_write(const std::string& path, bool overwrite) noexcept {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (overwrite ? O_TRUNC : O_EXCL);
  return sys::own(sys::call_retry(::open, path.c_str(), flags, 0644));
}

io_result<std::uint64_t> regular_file_size(int fd) noexcept {
  struct stat st {};
  if (auto r = sys::call(::fstat, fd, &st); !r) return std::unexpected(r.error());
  if (!S_ISREG(st.st_mode)) return std::unexpected(os_error(EINVAL));
  return static_cast<std::uint64_t>(st.st_size);
}

io_result<std::size_t> read_some(int fd, std::span<char> buf) noexcept {
  auto n = sys::call_retry(::read, fd, static_cast<void*>(buf.data()), buf.size());
  if (!n) return std::unexpected(n.error());
  return static_cast<std::size_t>(*n);
}

io_result<std::size_t> read_full(int fd, std::span<char> buf) noexcept {
  std::size_t got = 0;
  while (got < buf.size()) {
    auto n = read_some(fd, buf.subspan(got));
    if (!n) return std::unexpected(n.error());
    if (*n == 0) break;
    got += *n;
  }
  return got;
}

io_result<void> rewind(int fd) noexcept { return sys::ok_or_error(sys::call(::lseek, fd, off_t{0}, SEEK_SET)); }

io_result<void> write_all(int fd, std::span<const char> data) noexcept {
  std::size_t done = 0;
  while (done < data.size()) {
    auto n = sys::call_retry(::write, fd, static_cast<const void*>(data.data() + done), data.size() - done);
    if (!n) return std::unexpected(n.error());
    done += static_cast<std::size_t>(*n);
  }
  return {};
}

bool allocation_fault() noexcept { return sys::fault::check(&sys::fault::allocation) != 0; }

int process_id() noexcept { return static_cast<int>(::getpid()); }

io_result<void> remove_file(const std::string& path) noexcept {
  return sys::ok_or_error(sys::call(::unlink, path.c_str()));
}

}  // namespace ready::os
