// Poll and the rest of the process: signals interrupting a wait (EINTR returned, as mio
// 1.x does), registration from another thread waking a blocked poll, descriptor hygiene
// (no leak over many Poll lifetimes, every descriptor close-on-exec and non-blocking).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "peer.h"
#include "ready_test.h"
#include "ready/unix/signalfd.h"

using namespace ready;
using namespace ready::test;

namespace {

volatile sig_atomic_t g_signals_caught = 0;
extern "C" void count_signal(int) { g_signals_caught = g_signals_caught + 1; }

// Installs count_signal for SIGUSR1 (with the given sa_flags) and unblocks SIGUSR1 in this
// thread; the destructor restores the previous handler and mask.
struct Sigusr1Handler {
  struct sigaction old {};
  sigset_t old_mask{};
  bool installed = false;
  explicit Sigusr1Handler(int flags) {
    struct sigaction sa {};
    sa.sa_handler = count_signal;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    installed = ::sigaction(SIGUSR1, &sa, &old) == 0;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    ::pthread_sigmask(SIG_UNBLOCK, &set, &old_mask);
  }
  ~Sigusr1Handler() {
    ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    if (installed) ::sigaction(SIGUSR1, &old, nullptr);
  }
  Sigusr1Handler(const Sigusr1Handler&) = delete;
  Sigusr1Handler& operator=(const Sigusr1Handler&) = delete;
};

// Sends SIGUSR1 to `target` every 100 ms until stopped (a jthread stops and joins on
// destruction), at most 20 times. Repeating makes the test independent of when the target
// enters the wait: a signal that lands just before epoll_wait only runs the handler, the
// next one interrupts the wait. The cap lets a poll that wrongly retries EINTR run into
// its timeout and fail instead of looping for ever.
std::jthread signal_repeatedly(pthread_t target) {
  return std::jthread([target](std::stop_token stop) {
    for (int sent = 0; sent < 20 && !stop.stop_requested(); ++sent) {
      for (int i = 0; i < 10 && !stop.stop_requested(); ++i) std::this_thread::sleep_for(10ms);
      if (!stop.stop_requested()) ::pthread_kill(target, SIGUSR1);
    }
  });
}

// Blocks in poll for up to 5 s while another thread signals this one.
void expect_poll_interrupted(int sa_flags) {
  auto poll = Poll::create();
  QVERIFY_OK(poll);
  Events events(8);
  Sigusr1Handler handler(sa_flags);
  QVERIFY(handler.installed);
  g_signals_caught = 0;

  const auto start = std::chrono::steady_clock::now();
  io_result<std::size_t> r;
  {
    auto sender = signal_repeatedly(::pthread_self());
    r = poll->poll(events, 5s);
  }  // the sender is stopped and joined here, before the handler is restored
  const auto elapsed = std::chrono::steady_clock::now() - start;

  QVERIFY2(!r, ("poll returned " + std::to_string(r.value_or(0)) + " events instead of EINTR").c_str());
  QVERIFY2(r.error() == std::errc::interrupted, describe(r).c_str());
  QVERIFY(is_would_block(r.error()) == false);
  QVERIFY(events.empty());
  QVERIFY(g_signals_caught >= 1);
  QVERIFY2(elapsed < 4s, "poll was not interrupted early");

  // The Poll is still usable afterwards.
  auto again = poll->poll(events, 0ms);
  QVERIFY_OK(again);
  QCOMPARE(*again, std::size_t{0});
}

}  // namespace

class TestPollSignals : public CoreTest {
  Q_OBJECT
 private slots:
  // mio 1.x Poll::poll docs: EINTR is no longer retried but returned. A handler installed
  // without SA_RESTART runs during the wait; poll returns std::errc::interrupted.
  void eintr_from_signal_during_poll_is_returned_as_value() { CHECKED_CALL(expect_poll_interrupted(0)); }

  // Linux never restarts epoll_wait after a handler, even with SA_RESTART (signal(7)), so
  // the caller sees EINTR either way; Poll does not hide it.
  void eintr_is_returned_even_with_sa_restart() { CHECKED_CALL(expect_poll_interrupted(SA_RESTART)); }

  // Registry is thread-safe: adding an already-readable source from another thread wakes a
  // poll that is blocked with nothing registered, and the event carries exactly its token.
  void registration_from_other_thread_wakes_blocked_poll() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(8);
    auto efd = unix::EventFd::create(1);
    QVERIFY_OK(efd);

    const Registry& registry = poll->registry();
    io_result<void> added = std::unexpected(std::error_code());
    const auto start = std::chrono::steady_clock::now();
    io_result<std::size_t> n;
    {
      std::jthread adder([&] {
        std::this_thread::sleep_for(100ms);
        added = registry.add(*efd, Token(42), Interest::READABLE);
      });
      do n = poll->poll(events, 5s);
      while (!n && n.error() == std::errc::interrupted);
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;

    QVERIFY_OK(added);
    QVERIFY_OK(n);
    QVERIFY2(elapsed < 4s, "the blocked poll was not woken by the registration");
    QCOMPARE(*n, std::size_t{1});
    QCOMPARE(events[0].token(), Token(42));
    QVERIFY(events[0].is_readable());
    QVERIFY(efd->is_registered());
  }

  // Each Poll owns exactly one descriptor (plus one per Registry clone) and closes it.
  void poll_create_destroy_2000_cycles_leaves_no_fd() {
    const std::size_t before = open_fd_count();
    Events events(4);
    for (int i = 0; i < 2000; ++i) {
      auto poll = Poll::create();
      QVERIFY_OK(poll);
      auto n = poll->poll(events, 0ms);
      QVERIFY_OK(n);
      QCOMPARE(*n, std::size_t{0});
      if (i % 100 == 0) {
        auto clone = poll->registry().try_clone();
        QVERIFY_OK(clone);
        QCOMPARE(open_fd_count(), before + 2);
      }
    }
    QCOMPARE(open_fd_count(), before);
  }

  // epoll_create1(EPOLL_CLOEXEC); a Registry clone (F_DUPFD_CLOEXEC) too. mio's in-crate
  // poll::as_raw_fd test: the descriptor is valid (> 0).
  void poll_fd_is_cloexec() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    QVERIFY(poll->as_raw_fd() > 0);
    QCOMPARE(poll->registry().as_raw_fd(), poll->as_raw_fd());
    QVERIFY(is_close_on_exec(poll->as_raw_fd()));
    auto clone = poll->registry().try_clone();
    QVERIFY_OK(clone);
    QVERIFY(clone->as_raw_fd() != poll->as_raw_fd());
    QVERIFY(is_close_on_exec(clone->as_raw_fd()));
  }

  // Every descriptor the library creates is non-blocking and close-on-exec from the
  // creating call on (SOCK_*/EFD_*/TFD_*/O_* flags, accept4 for accepted sockets).
  void sources_are_cloexec_and_nonblocking() {
    auto tcp_listener = net::TcpListener::bind(any_local_address());
    QVERIFY_OK(tcp_listener);
    auto tcp_pair = connected_pair(*tcp_listener);
    QVERIFY_OK(tcp_pair);
    auto udp = net::UdpSocket::bind(any_local_address());
    QVERIFY_OK(udp);

    const Unlink path{temp_path("cloexec.sock")};
    auto unix_listener = net::UnixListener::bind(path.path);
    QVERIFY_OK(unix_listener);
    auto unix_stream = net::UnixStream::connect(path.path);
    QVERIFY_OK(unix_stream);
    auto unix_accepted = unix_listener->accept();
    QVERIFY_OK(unix_accepted);
    auto unix_pair = net::UnixStream::pair();
    QVERIFY_OK(unix_pair);
    const Unlink dgram_path{temp_path("cloexec.dgram")};
    auto unix_dgram = net::UnixDatagram::bind(dgram_path.path);
    QVERIFY_OK(unix_dgram);
    auto unix_unbound = net::UnixDatagram::unbound();
    QVERIFY_OK(unix_unbound);
    auto dgram_pair = net::UnixDatagram::pair();
    QVERIFY_OK(dgram_pair);

    auto pipe = unix::pipe();
    QVERIFY_OK(pipe);
    auto efd = unix::EventFd::create();
    QVERIFY_OK(efd);
    auto timer = unix::TimerFd::create();
    QVERIFY_OK(timer);
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    auto waker = Waker::create(poll->registry(), Token(0));
    QVERIFY_OK(waker);

    const std::vector<std::pair<std::string, int>> fds = {
        {"TcpListener", tcp_listener->as_raw_fd()},
        {"TcpStream (connect)", tcp_pair->first.as_raw_fd()},
        {"TcpStream (accept)", tcp_pair->second.as_raw_fd()},
        {"UdpSocket", udp->as_raw_fd()},
        {"UnixListener", unix_listener->as_raw_fd()},
        {"UnixStream (connect)", unix_stream->as_raw_fd()},
        {"UnixStream (accept)", unix_accepted->stream.as_raw_fd()},
        {"UnixStream::pair first", unix_pair->first.as_raw_fd()},
        {"UnixStream::pair second", unix_pair->second.as_raw_fd()},
        {"UnixDatagram (bind)", unix_dgram->as_raw_fd()},
        {"UnixDatagram (unbound)", unix_unbound->as_raw_fd()},
        {"UnixDatagram::pair first", dgram_pair->first.as_raw_fd()},
        {"UnixDatagram::pair second", dgram_pair->second.as_raw_fd()},
        {"pipe Sender", pipe->first.as_raw_fd()},
        {"pipe Receiver", pipe->second.as_raw_fd()},
        {"EventFd", efd->as_raw_fd()},
        {"TimerFd", timer->as_raw_fd()},
        {"Waker", waker->as_raw_fd()},
    };
    for (const auto& [name, fd] : fds) {
      QVERIFY2(fd >= 0, name.c_str());
      QVERIFY2(is_non_blocking(fd), (name + " is blocking").c_str());
      QVERIFY2(is_close_on_exec(fd), (name + " is not close-on-exec").c_str());
    }
    // The epoll descriptor: close-on-exec (non-blocking means nothing for it).
    QVERIFY(is_close_on_exec(poll->as_raw_fd()));
  }

  // A signalfd delivers a signal as readable; the signal is blocked, so no handler runs
  // and nothing is lost. SIGKILL and SIGSTOP cannot be blocked and are refused.
  void signalfd_delivers_a_blocked_signal() {
    ASSERT_ERROR(unix::SignalFd::open({SIGKILL}), std::errc::invalid_argument);
    ASSERT_ERROR(unix::SignalFd::open({SIGUSR2, SIGSTOP}), std::errc::invalid_argument);
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(4);
    auto sfd = unix::SignalFd::open({SIGUSR2});
    QVERIFY_OK(sfd);
    QVERIFY(is_non_blocking(sfd->as_raw_fd()));
    QVERIFY(is_close_on_exec(sfd->as_raw_fd()));
    QVERIFY_OK(poll->registry().add(*sfd, Token(3), Interest::READABLE));
    ASSERT_WOULD_BLOCK(sfd->read());
    QCOMPARE(::pthread_kill(::pthread_self(), SIGUSR2), 0);
    EXPECT_EVENTS(*poll, events, ExpectEvent{Token(3), Readiness::READABLE});
    auto got = sfd->read();
    QVERIFY_OK(got);
    QCOMPARE(*got, SIGUSR2);
    ASSERT_WOULD_BLOCK(sfd->read());
    QVERIFY_OK(poll->registry().remove(*sfd));
  }
};

QTEST_GUILESS_MAIN(TestPollSignals)
#include "tst_poll_signals.moc"
