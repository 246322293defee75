#include "ready/unix/signalfd.h"

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

#include "linux/sys.h"

namespace ready::unix {

io_result<SignalFd> SignalFd::open(std::initializer_list<int> signal_numbers) {
  sigset_t set;
  sigemptyset(&set);
  for (const int s : signal_numbers) {
    if (s == SIGKILL || s == SIGSTOP || sigaddset(&set, s) != 0) return std::unexpected(os_error(EINVAL));
  }
  // pthread_sigmask reports its error as the return value, not in errno.
  if (const int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr); rc != 0) return std::unexpected(os_error(rc));
  auto fd = sys::own(sys::call(::signalfd, -1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd) return std::unexpected(fd.error());
  return SignalFd(std::move(*fd));
}

io_result<int> SignalFd::read() const noexcept {
  signalfd_siginfo info{};
  auto n = sys::call_retry(::read, as_raw_fd(), static_cast<void*>(&info), sizeof info);
  if (!n) return std::unexpected(n.error());
  // The kernel hands out whole siginfo structures or fails; anything else is a kernel bug.
  if (static_cast<std::size_t>(*n) != sizeof info) return std::unexpected(os_error(EIO));
  return static_cast<int>(info.ssi_signo);
}

}  // namespace ready::unix
