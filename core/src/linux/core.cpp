// Error category, descriptor owner, Interest/Event printing, Events.
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <charconv>
#include <limits>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "linux/sys.h"
#include "ready/error.h"
#include "ready/event.h"
#include "ready/interest.h"
#include "ready/owned_fd.h"

namespace ready {

namespace {
class ReadyCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ready"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::already_registered:
        return "source already registered with a Registry";
      case Errc::not_registered:
        return "source not registered with this Registry";
      case Errc::registered_with_other_poll:
        return "source registered with a different Poll";
      case Errc::waker_exists:
        return "only one Waker can be active per Poll";
    }
    return "unknown ready error";
  }
  std::error_condition default_error_condition(int ev) const noexcept override {
    switch (static_cast<Errc>(ev)) {
      case Errc::already_registered:
      case Errc::waker_exists:
        return std::errc::file_exists;
      case Errc::not_registered:
        return std::errc::no_such_file_or_directory;
      case Errc::registered_with_other_poll:
        return std::errc::invalid_argument;
    }
    return {ev, *this};
  }
};
}  // namespace

const std::error_category& ready_category() noexcept {
  static const ReadyCategory cat;
  return cat;
}

std::string errno_name(int err) {
  // strerrorname_np is glibc >= 2.32 (Debian 12 has 2.36).
  if (const char* n = strerrorname_np(err)) return n;
  std::string s = "E";  // not "E" + to_string(): GCC 12 warns falsely (-Wrestrict) at -O2
  s += std::to_string(err);
  return s;
}

std::optional<int> errno_from_name(std::string_view name) {
  // Built once from the C library's own names, so it knows exactly what errno_name prints.
  static const std::unordered_map<std::string, int> table = [] {
    std::unordered_map<std::string, int> t;
    for (int e = 1; e < 256; ++e) {
      const std::string n = errno_name(e);
      if (n.size() > 1 && !(n[1] >= '0' && n[1] <= '9')) t.emplace(n, e);
    }
    return t;
  }();
  if (auto it = table.find(std::string(name)); it != table.end()) return it->second;
  if (name.size() > 1 && name[0] == 'E') {  // "E<number>": what errno_name gives an unknown one
    int v = 0;
    const auto r = std::from_chars(name.data() + 1, name.data() + name.size(), v);
    if (r.ec == std::errc() && r.ptr == name.data() + name.size() && v > 0) return v;
  }
  return std::nullopt;
}

void OwnedFd::reset(int fd) noexcept {
  if (fd_ >= 0 && fd_ != fd) ::close(fd_);  // never retried: see the class comment
  fd_ = fd;
}

std::error_code OwnedFd::close() noexcept {
  if (fd_ < 0) return {};
  const int r = ::close(std::exchange(fd_, -1));
  return r == 0 ? std::error_code{} : last_error();
}

std::error_code OwnedFd::try_clone(OwnedFd& out) const noexcept {
  auto r = sys::own(sys::call(::fcntl, fd_, F_DUPFD_CLOEXEC, 0));
  if (!r) return r.error();
  out = std::move(*r);
  return {};
}

std::string Interest::to_string() const {
  std::string s;
  auto put = [&](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += " | ";
    s += name;
  };
  put(is_readable(), "READABLE");
  put(is_writable(), "WRITABLE");
  put(is_priority(), "PRIORITY");
  return s;
}

const char* to_string(Trigger t) noexcept { return name_of(t).data(); }

std::string epoll_bits_to_string(std::uint32_t bits) {
  static constexpr struct {
    std::uint32_t bit;
    const char* name;
  } kNames[] = {{EPOLLIN, "EPOLLIN"},         {EPOLLPRI, "EPOLLPRI"},       {EPOLLOUT, "EPOLLOUT"},
                {EPOLLERR, "EPOLLERR"},       {EPOLLHUP, "EPOLLHUP"},       {EPOLLRDNORM, "EPOLLRDNORM"},
                {EPOLLRDBAND, "EPOLLRDBAND"}, {EPOLLWRNORM, "EPOLLWRNORM"}, {EPOLLWRBAND, "EPOLLWRBAND"},
                {EPOLLMSG, "EPOLLMSG"},       {EPOLLRDHUP, "EPOLLRDHUP"},   {EPOLLONESHOT, "EPOLLONESHOT"},
                {EPOLLET, "EPOLLET"}};
  std::string s;
  for (const auto& n : kNames) {
    if (!(bits & n.bit)) continue;
    if (!s.empty()) s += '|';
    s += n.name;
    bits &= ~n.bit;
  }
  if (bits) {
    if (!s.empty()) s += '|';
    char hex[16];
    snprintf(hex, sizeof hex, "0x%x", bits);
    s += hex;
  }
  return s.empty() ? "0" : s;
}

std::string Event::to_string() const {
  std::string s = "token=" + std::to_string(token().value);
  auto put = [&](bool on, const char* name) {
    if (on) (s += ' ') += name;
  };
  put(is_readable(), "readable");
  put(is_writable(), "writable");
  put(is_error(), "error");
  put(is_read_closed(), "read_closed");
  put(is_write_closed(), "write_closed");
  put(is_priority(), "priority");
  return s + " (" + epoll_bits_to_string(epoll_bits()) + ")";
}

Events::Events(std::size_t capacity) : capacity_(capacity) {
  if (capacity == 0)
    throw std::invalid_argument("ready::Events: capacity must be at least 1 (epoll_wait rejects 0)");
  // epoll_wait's maxevents is an int and the kernel caps it at INT_MAX / sizeof(epoll_event).
  if (capacity > static_cast<std::size_t>(std::numeric_limits<int>::max()) / sizeof(epoll_event))
    throw std::invalid_argument("ready::Events: capacity larger than epoll_wait accepts");
  buf_ = std::make_unique<Event[]>(capacity);
}

}  // namespace ready

namespace ready::sys {

void name_this_thread(const char* name) noexcept { (void)::pthread_setname_np(::pthread_self(), name); }

}  // namespace ready::sys
