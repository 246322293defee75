// mio tests/unix_pipe.rs, plus the pipe facts mio leaves implicit: both ends are created
// non-blocking and close-on-exec, and writing to a pipe whose reader is gone raises
// SIGPIPE unless it is ignored (then the write fails with EPIPE).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <optional>

#include "peer.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::test;

namespace {

constexpr Token RECEIVER{0};
constexpr Token SENDER{1};
constexpr std::string_view DATA1 = "Hello world";

// mio's expect_one_closed_event: one poll of up to 1 s must return exactly one event, for
// `token`, with read_closed (`read`) or write_closed (`!read`).
bool expect_one_closed_event(Poll& poll, Events& events, Token token, bool read, const char* file, int line) {
  auto n = poll.poll(events, 1s);
  if (!n) {
    QTest::qFail(("poll failed: " + describe(n)).c_str(), file, line);
    return false;
  }
  const std::string got = describe(events);
  if (events.size() != 1) {
    QTest::qFail(("expected exactly one event, got " + std::to_string(events.size()) + ":" + got).c_str(),
                 file, line);
    return false;
  }
  const Event& e = events[0];
  if (e.token() != token) {
    QTest::qFail(("invalid token, event:" + got).c_str(), file, line);
    return false;
  }
  if (read ? !e.is_read_closed() : !e.is_write_closed()) {
    QTest::qFail(
        (std::string("expected ") + (read ? "read_closed" : "write_closed") + ", event:" + got).c_str(), file,
        line);
    return false;
  }
  return true;
}

#define EXPECT_ONE_CLOSED_EVENT(poll, events, token, read)                                       \
  do {                                                                                           \
    if (!expect_one_closed_event((poll), (events), (token), (read), __FILE__, __LINE__)) return; \
  } while (false)

// `cat` with its stdin and stdout connected to pipes; the parent keeps the other ends.
// The pipes are made close-on-exec and blocking (like std::process's); posix_spawn dups
// the child's ends onto 0 and 1 (which clears close-on-exec on those two only), so
// cat holds no copy of the parent's ends and sees EOF when the parent's sender closes.
// The destructor kills and reaps the child if the test did not (early failure).
struct Cat {
  pid_t pid = -1;
  OwnedFd stdin_w;   // parent writes here
  OwnedFd stdout_r;  // parent reads here

  static std::optional<Cat> spawn() {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return std::nullopt;
    if (::pipe2(out, O_CLOEXEC) != 0) {
      ::close(in[0]);
      ::close(in[1]);
      return std::nullopt;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    char arg0[] = "cat";
    char* argv[] = {arg0, nullptr};
    Cat c;
    const int rc = ::posix_spawnp(&c.pid, "cat", &fa, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    ::close(out[1]);
    c.stdin_w.reset(in[1]);
    c.stdout_r.reset(out[0]);
    if (rc != 0) return std::nullopt;
    return c;
  }

  Cat() = default;
  Cat(Cat&& o) noexcept
      : pid(std::exchange(o.pid, -1)), stdin_w(std::move(o.stdin_w)), stdout_r(std::move(o.stdout_r)) {}
  Cat& operator=(Cat&&) = delete;
  ~Cat() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      int status;
      ::waitpid(pid, &status, 0);
    }
  }

  // Waits for cat to exit; its exit status (-1 if it did not exit normally).
  int wait() {
    int status = 0;
    pid_t r;
    do r = ::waitpid(pid, &status, 0);
    while (r == -1 && errno == EINTR);
    pid = -1;
    return (r > 0 && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  }
};

// Runs `body` in a forked child and returns the child's wait status. The child only
// makes async-signal-safe calls and leaves with _exit.
int run_in_child(int (*body)()) {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  if (pid < 0) return -1;
  int status = 0;
  pid_t r;
  do r = ::waitpid(pid, &status, 0);
  while (r == -1 && errno == EINTR);
  return r == pid ? status : -1;
}

std::string describe_status(int status) {
  if (status == -1) return "fork/waitpid failed";
  if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by ") + sigabbrev_np(WTERMSIG(status));
  return "status " + std::to_string(status);
}

// Child exit codes for the SIGPIPE tests.
enum : int { kEpipe = 0, kPipeFailed = 10, kWriteSucceeded = 11, kOtherError = 12, kSurvived = 13 };

// Writes one byte to a pipe whose read end is closed; reports the outcome as an exit code.
int write_to_closed_pipe() {
  auto p = unix::pipe();
  if (!p) return kPipeFailed;
  auto& [sender, receiver] = *p;
  (void)receiver.into_fd();  // the returned owner closes the read end at once
  auto w = sender.write(std::string_view("x"));
  if (w) return kWriteSucceeded;
  return w.error().value() == EPIPE ? kEpipe : kOtherError;
}

}  // namespace

class TestUnixPipe : public CoreTest {
  Q_OBJECT

  // Runs `body` with a fresh Poll, its Events and the two ends of a new pipe.
  template <class Body>
  static void with_pipe(Body body) {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(8);
    auto p = unix::pipe();
    QVERIFY_OK(p);
    auto& [sender, receiver] = *p;
    body(*poll, events, sender, receiver);
  }

  // mio's smoke exchange: registered (receiver READABLE, sender WRITABLE), the sender is
  // writable, writes DATA1, and the receiver becomes readable and reads exactly DATA1.
  static void send_data1_through(Poll& poll, Events& events, unix::Sender& sender, unix::Receiver& receiver) {
    QVERIFY_OK(poll.registry().add(receiver, RECEIVER, Interest::READABLE));
    QVERIFY_OK(poll.registry().add(sender, SENDER, Interest::WRITABLE));

    EXPECT_EVENTS(poll, events, ExpectEvent(SENDER, Interest::WRITABLE));
    CHECKED_WRITE(sender.write(DATA1), DATA1.size());

    EXPECT_EVENTS(poll, events, ExpectEvent(RECEIVER, Interest::READABLE));
    std::array<std::byte, 20> buf{};
    EXPECT_READ(receiver.read(buf), buf, DATA1);
  }

 private slots:
  // mio: unix_pipe.rs::smoke
  void smoke() {
    CHECKED_CALL(with_pipe([](Poll& poll, Events& events, unix::Sender& sender, unix::Receiver& receiver) {
      std::array<std::byte, 20> buf{};
      ASSERT_WOULD_BLOCK(receiver.read(buf));

      CHECKED_CALL(send_data1_through(poll, events, sender, receiver));
    }));
  }

  // mio: unix_pipe.rs::event_when_sender_is_dropped. As in mio the data is left unread when the
  // sender goes: the hang-up is a new edge anyway (EPOLLIN|EPOLLHUP). Then the data is still
  // there and the next read is end-of-file.
  void event_when_sender_is_dropped() {
    CHECKED_CALL(with_pipe([](Poll& poll, Events& events, unix::Sender& sender, unix::Receiver& receiver) {
      QVERIFY_OK(poll.registry().add(receiver, RECEIVER, Interest::READABLE));

      Barrier barrier(2);
      io_result<std::size_t> written = std::unexpected(std::error_code());
      Worker thread(
          [&barrier, &written, s = std::move(sender)]() mutable {
            written = s.write(DATA1);
            if (!barrier.wait() || !barrier.wait()) return std::string("barrier not passed");
            drop(s);  // closes the write end in this thread
            return barrier.wait() ? std::string() : std::string("barrier not passed");
          },
          [&barrier] { barrier.abandon(); });

      QVERIFY(barrier.wait());  // the write is done
      QVERIFY_OK(written);
      QCOMPARE(*written, DATA1.size());
      EXPECT_EVENTS(poll, events, ExpectEvent(RECEIVER, Interest::READABLE));

      QVERIFY(barrier.wait());  // unblock the thread
      QVERIFY(barrier.wait());  // the sender is closed
      QVERIFY_JOINED(thread);

      EXPECT_ONE_CLOSED_EVENT(poll, events, RECEIVER, true);

      std::array<std::byte, 20> buf{};
      EXPECT_READ(receiver.read(buf), buf, DATA1);
      EXPECT_READ(receiver.read(buf), buf, "");  // end-of-file, not would-block: no writer is left
    }));
  }

  // mio: unix_pipe.rs::event_when_receiver_is_dropped. Linux reports EPOLLOUT|EPOLLERR here (the
  // pipe is empty, so still writable, and has no reader); write_closed holds through the
  // "EPOLLOUT and EPOLLERR" rule. See ..._with_full_pipe for EPOLLERR alone.
  void event_when_receiver_is_dropped() {
    CHECKED_CALL(with_pipe([](Poll& poll, Events& events, unix::Sender& sender, unix::Receiver& receiver) {
      QVERIFY_OK(poll.registry().add(sender, SENDER, Interest::WRITABLE));

      Barrier barrier(2);
      Worker thread(
          [&barrier, r = std::move(receiver)]() mutable {
            if (!barrier.wait()) return std::string("barrier not passed");
            drop(r);  // closes the read end in this thread
            return barrier.wait() ? std::string() : std::string("barrier not passed");
          },
          [&barrier] { barrier.abandon(); });

      EXPECT_EVENTS(poll, events, ExpectEvent(SENDER, Interest::WRITABLE));

      QVERIFY(barrier.wait());  // unblock the thread
      QVERIFY(barrier.wait());  // the receiver is closed
      QVERIFY_JOINED(thread);

      EXPECT_ONE_CLOSED_EVENT(poll, events, SENDER, false);
      QVERIFY(events[0].is_error());
      QCOMPARE(events[0].epoll_bits(), std::uint32_t{EPOLLOUT | EPOLLERR});
    }));
  }

  // Not in mio (its reference notes the case): when the pipe is full as the reader goes,
  // Linux reports EPOLLERR alone (not writable, no HUP). is_write_closed has its
  // "e == EPOLLERR" rule for exactly this (mio #1350).
  void event_when_receiver_is_dropped_with_full_pipe() {
    CHECKED_CALL(with_pipe([](Poll& poll, Events& events, unix::Sender& sender, unix::Receiver& receiver) {
      const std::array<std::byte, 4096> chunk{};
      for (;;) {
        auto w = sender.write(chunk);
        if (!w) {
          ASSERT_WOULD_BLOCK(w);
          break;
        }
      }
      QVERIFY_OK(poll.registry().add(sender, SENDER, Interest::WRITABLE));
      EXPECT_NO_EVENTS(poll, events);  // full: not writable

      drop(receiver);

      EXPECT_ONE_CLOSED_EVENT(poll, events, SENDER, false);
      QCOMPARE(events[0].epoll_bits(), std::uint32_t{EPOLLERR});
      QVERIFY(!events[0].is_writable());
      QVERIFY(!events[0].is_read_closed());
    }));
  }

  // mio: unix_pipe.rs::from_child_process_io. mio wraps std's ChildStdin/ChildStdout; here the
  // pipes are made with plain pipe2 (blocking, like std's), the parent ends adopted with
  // from_fd and switched to non-blocking.
  void from_child_process_io() {
    auto child = Cat::spawn();
    QVERIFY2(child, "failed to start `cat`");
    QVERIFY(!is_non_blocking(child->stdin_w.get()));
    auto sender = unix::Sender::from_fd(std::move(child->stdin_w));
    auto receiver = unix::Receiver::from_fd(std::move(child->stdout_r));
    QVERIFY_OK(sender.set_nonblocking(true));
    QVERIFY_OK(receiver.set_nonblocking(true));
    QVERIFY(is_non_blocking(sender.as_raw_fd()));
    QVERIFY(is_non_blocking(receiver.as_raw_fd()));

    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(8);
    CHECKED_CALL(send_data1_through(*poll, events, sender, receiver));

    drop(sender);  // cat sees EOF, exits, and its stdout closes

    EXPECT_ONE_CLOSED_EVENT(*poll, events, RECEIVER, true);
    QCOMPARE(child->wait(), 0);
  }

  // mio: unix_pipe.rs::nonblocking_child_process_io
  void nonblocking_child_process_io() {
    auto child = Cat::spawn();
    QVERIFY2(child, "failed to start `cat`");
    auto sender = unix::Sender::from_fd(std::move(child->stdin_w));
    auto receiver = unix::Receiver::from_fd(std::move(child->stdout_r));
    QVERIFY(!is_non_blocking(receiver.as_raw_fd()));  // from_fd keeps the blocking mode

    QVERIFY_OK(receiver.set_nonblocking(true));
    QVERIFY(is_non_blocking(receiver.as_raw_fd()));

    std::array<std::byte, 20> buf{};
    ASSERT_WOULD_BLOCK(receiver.read(buf));

    drop(sender);
    QCOMPARE(child->wait(), 0);
  }

  // pipe2(O_NONBLOCK | O_CLOEXEC) for both ends; set_nonblocking switches O_NONBLOCK
  // (FIONBIO, as mio) both ways.
  void pipe_ends_are_nonblocking_and_cloexec() {
    auto p = unix::pipe();
    QVERIFY_OK(p);
    auto& [sender, receiver] = *p;
    for (int fd : {sender.as_raw_fd(), receiver.as_raw_fd()}) {
      QVERIFY(is_non_blocking(fd));
      QVERIFY(is_close_on_exec(fd));
    }
    QVERIFY_OK(sender.set_nonblocking(false));
    QVERIFY_OK(receiver.set_nonblocking(false));
    QVERIFY(!is_non_blocking(sender.as_raw_fd()));
    QVERIFY(!is_non_blocking(receiver.as_raw_fd()));
    QVERIFY(is_close_on_exec(sender.as_raw_fd()));  // FIONBIO leaves the fd flags alone
    QVERIFY_OK(sender.set_nonblocking(true));
    QVERIFY_OK(receiver.set_nonblocking(true));
    QVERIFY(is_non_blocking(sender.as_raw_fd()));
    QVERIFY(is_non_blocking(receiver.as_raw_fd()));
  }

  // With SIGPIPE ignored (ready::unix::ignore_sigpipe) a write to a pipe without a reader
  // fails with EPIPE. Run in a forked child so the test process's disposition is untouched.
  void pipe_write_after_reader_closed_gives_epipe_when_sigpipe_ignored() {
    const int status = run_in_child([] {
      unix::ignore_sigpipe();
      return write_to_closed_pipe();
    });
    QVERIFY2(WIFEXITED(status) && WEXITSTATUS(status) == kEpipe, describe_status(status).c_str());
  }

  // With the default disposition the same write kills the process with SIGPIPE: pipes have
  // no MSG_NOSIGNAL, which is why the Sender documentation tells callers to ignore it.
  void pipe_write_after_reader_closed_raises_sigpipe_by_default() {
    const int status = run_in_child([] {
      const DefaultSigpipe sigpipe;
      const int r = write_to_closed_pipe();
      return r == kEpipe ? kSurvived : r;
    });
    QVERIFY2(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE, describe_status(status).c_str());
  }
};

QTEST_GUILESS_MAIN(TestUnixPipe)
#include "tst_unix_pipe.moc"
