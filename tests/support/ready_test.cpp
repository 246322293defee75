#include "ready_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>

namespace ready::test {

Readiness Readiness::of(const Event& e) {
  std::uint8_t b = 0;
  if (e.is_readable()) b |= READABLE;
  if (e.is_writable()) b |= WRITABLE;
  if (e.is_error()) b |= ERROR;
  if (e.is_read_closed()) b |= READ_CLOSED;
  if (e.is_write_closed()) b |= WRITE_CLOSED;
  if (e.is_priority()) b |= PRIORITY;
  return Readiness(b);
}

std::string Readiness::to_string() const {
  static constexpr std::pair<std::uint8_t, const char*> kNames[] = {
      {READABLE, "READABLE"},       {WRITABLE, "WRITABLE"},         {ERROR, "ERROR"},
      {READ_CLOSED, "READ_CLOSED"}, {WRITE_CLOSED, "WRITE_CLOSED"}, {PRIORITY, "PRIORITY"}};
  std::string s;
  for (auto [bit, name] : kNames) {
    if (!(bits & bit)) continue;
    if (!s.empty()) s += " | ";
    s += name;
  }
  return s.empty() ? "(none)" : s;
}

std::vector<std::string> open_fds() {
  std::vector<std::string> out;
  DIR* d = opendir("/proc/self/fd");
  if (!d) return out;
  const int self = dirfd(d);
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const int fd = atoi(e->d_name);
    if (fd == self) continue;
    char target[PATH_MAX] = {};
    const std::string link = std::string("/proc/self/fd/") + e->d_name;
    const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
    out.push_back(std::to_string(fd) + " -> " +
                  (n > 0 ? std::string(target, static_cast<std::size_t>(n)) : "?"));
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t open_fd_count() { return open_fds().size(); }

void CoreTest::init() {
  fds_before_ = open_fds();
  setUp();
}

void CoreTest::cleanup() {
  const auto after = open_fds();
  if (after == fds_before_) return;
  std::string diff;
  for (const auto& f : after)
    if (std::find(fds_before_.begin(), fds_before_.end(), f) == fds_before_.end()) diff += " +[" + f + "]";
  for (const auto& f : fds_before_)
    if (std::find(after.begin(), after.end(), f) == after.end()) diff += " -[" + f + "]";
  QFAIL(("open descriptors changed during the test (" + std::to_string(fds_before_.size()) + " before, " +
         std::to_string(after.size()) + " after):" + diff)
            .c_str());
}

bool expect_events(Poll& poll, Events& events, std::vector<ExpectEvent> expected, const char* file,
                   int line) {
  // Up to 3 polls of 500 ms, like mio: events may be split over several polls.
  for (int attempt = 0; attempt < 3 && !expected.empty(); ++attempt) {
    auto r = poll.poll(events, 500ms);
    if (!r) {
      if (r.error() == std::errc::interrupted) continue;
      QTest::qFail(("poll failed: " + describe(r)).c_str(), file, line);
      return false;
    }
    for (const Event& e : events) {
      const auto got = Readiness::of(e);
      auto it = std::find_if(expected.begin(), expected.end(), [&](const ExpectEvent& x) {
        return x.token == e.token() && got.contains(x.readiness);
      });
      if (it != expected.end()) {
        std::swap(*it, expected.back());
        expected.pop_back();
      } else {
        qDebug("tolerated unexpected event: %s", e.to_string().c_str());
      }
    }
  }
  if (expected.empty()) return true;
  std::string missing;
  for (const auto& x : expected)
    missing += " {token=" + std::to_string(x.token.value) + " " + x.readiness.to_string() + "}";
  QTest::qFail(("expected events not seen:" + missing).c_str(), file, line);
  return false;
}

std::string poll_until_witness(Poll& poll, Events& events, const std::function<void(const Event&)>& each) {
  // The witness: an eventfd added now and written at once. Its event comes from the first
  // epoll_wait that finds it on the ready list, behind anything made ready before it.
  auto witness = unix::EventFd::create();
  if (!witness) return "cannot create the witness eventfd: " + describe(witness);
  if (auto added = poll.registry().add(*witness, kWitnessToken, Interest::READABLE); !added)
    return "cannot register the witness eventfd: " + describe(added);
  if (auto written = witness->write(1); !written)
    return "cannot write the witness eventfd: " + describe(written);
  bool witnessed = false;
  for (Deadline d; !witnessed && !d.expired();) {
    auto r = poll.poll(events, 500ms);
    if (!r) {
      if (r.error() == std::errc::interrupted) continue;
      return "poll failed: " + describe(r);
    }
    for (const Event& e : events) {
      if (e.token() == kWitnessToken)
        witnessed = true;
      else
        each(e);
    }
  }
  if (auto removed = poll.registry().remove(*witness); !removed)
    return "cannot deregister the witness eventfd: " + describe(removed);
  return witnessed ? std::string() : "the witness eventfd's event never came";
}

bool expect_no_events(Poll& poll, Events& events, const char* file, int line) {
  std::string others;
  const std::string error =
      poll_until_witness(poll, events, [&](const Event& e) { others += " {" + e.to_string() + "}"; });
  if (!others.empty()) {
    QTest::qFail(("expected no events, got (by the witness's event):" + others).c_str(), file, line);
    return false;
  }
  if (!error.empty()) {
    QTest::qFail(error.c_str(), file, line);
    return false;
  }
  return true;
}

std::string describe(const Events& events) {
  std::string s;
  for (const Event& e : events) s += " {" + e.to_string() + "}";
  return s;
}

net::SocketAddr any_local_address() { return net::SocketAddr::loopback_v4(0); }
net::SocketAddr any_local_ipv6_address() { return net::SocketAddr::loopback_v6(0); }

bool ipv6_loopback_available() {
  const OwnedFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno != EAFNOSUPPORT;
  const net::SocketAddr addr = any_local_ipv6_address();
  return ::bind(fd.get(), addr.as_sockaddr(), addr.len()) == 0 || errno != EADDRNOTAVAIL;
}

bool is_non_blocking(int fd) {
  const int fl = fcntl(fd, F_GETFL);
  return fl != -1 && (fl & O_NONBLOCK);
}

bool is_close_on_exec(int fd) {
  const int fl = fcntl(fd, F_GETFD);
  return fl != -1 && (fl & FD_CLOEXEC);
}

namespace {
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/ready-test-XXXXXX";  // mkdtemp makes it 0700
    if (mkdtemp(tmpl)) path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};
}  // namespace

std::string temp_path(std::string_view name) {
  static TempDir dir;
  static std::atomic<int> counter{0};
  return dir.path + "/" + std::string(name) + "." + std::to_string(counter.fetch_add(1));
}

Unlink::~Unlink() { ::unlink(path.c_str()); }

std::string unique_abstract_name(std::string_view what) {
  static std::atomic<int> counter{0};
  return "ready-test-" + std::string(what) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter.fetch_add(1));
}

DefaultSigpipe::DefaultSigpipe() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  action_set_ = ::sigaction(SIGPIPE, &dfl, &old_action_) == 0;
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  mask_set_ = ::pthread_sigmask(SIG_UNBLOCK, &pipe, &old_mask_) == 0;
}

DefaultSigpipe::~DefaultSigpipe() {
  if (mask_set_) ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  if (action_set_) ::sigaction(SIGPIPE, &old_action_, nullptr);
}

}  // namespace ready::test
