// Helpers shared by the ready:: test suites, modelled on mio's tests/util.
//
// - Every suite derives from ready::test::CoreTest: its init()/cleanup() slots count the
//   process's open descriptors before and after each test function and fail the test
//   on a difference (a leaked or double-closed fd), naming the descriptors.
// - EXPECT_EVENTS polls up to 3 times (500 ms each) until every expected
//   (token, readiness) pair has been seen; extra events are tolerated (spurious events
//   are allowed by the contract) and only logged. Expected readiness is an implication:
//   each expected flag must be present, others may be too.
// - EXPECT_NO_EVENTS proves "nothing happened" with a witness, not a sleep: it registers an
//   eventfd on the same Poll, makes it readable and polls until the witness's event arrives;
//   any other event seen by then fails the test. Readiness reaches epoll's ready list when the
//   kernel changes the object's state (a registration is checked at once; eventfd, pipe, Unix
//   socket writes wake synchronously; loopback TCP is normally delivered in the sender's own softirq), so
//   an event an earlier action causes is queued ahead of the witness.
//   Where the passing of time itself is the behaviour under test (a poll timeout, a timer),
//   a test polls with that timeout itself and says so, or uses a later timer as its witness.
// - CHECKED_CALL runs a helper that reports failures with QVERIFY/QCOMPARE (which return
//   only from the helper) and returns from the test function if it failed.
// - QVERIFY_OK / ASSERT_WOULD_BLOCK check io_result values with readable messages;
//   CHECKED_WRITE / EXPECT_READ / ASSERT_NO_SOCKET_ERROR are mio's checked_write!,
//   expect_read! and the take_error() check.
// Peers (plain blocking sockets, threads, gates and barriers) are in peer.h.
#pragma once

#include <signal.h>
#include <sys/uio.h>

#include <QByteArray>
#include <QObject>
#include <QString>
#include <QTest>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ready/ready.h"

// QCOMPARE prints these through toString, found by argument-dependent lookup.
namespace ready {
inline char* toString(const Token& t) { return qstrdup(("Token(" + std::to_string(t.value) + ")").c_str()); }
namespace net {
inline char* toString(const SocketAddr& a) { return qstrdup(a.to_string().c_str()); }
}  // namespace net
}  // namespace ready

namespace ready::test {

using namespace std::chrono_literals;

/// How long any wait of a test or of its peers may take before it counts as a failure.
inline constexpr std::chrono::seconds kWaitLimit{10};

/// A time limit for a loop (`for (Deadline d; !d.expired();)`) where mio waits forever.
class Deadline {
 public:
  explicit Deadline(std::chrono::milliseconds limit = kWaitLimit)
      : end_(std::chrono::steady_clock::now() + limit) {}
  [[nodiscard]] bool expired() const { return std::chrono::steady_clock::now() >= end_; }

 private:
  std::chrono::steady_clock::time_point end_;
};

/// The readiness an expected event must carry (mio's tests/util Readiness).
struct Readiness {
  enum : std::uint8_t {
    READABLE = 1 << 0,
    WRITABLE = 1 << 1,
    ERROR = 1 << 2,
    READ_CLOSED = 1 << 3,
    WRITE_CLOSED = 1 << 4,
    PRIORITY = 1 << 5,
  };
  std::uint8_t bits = 0;

  constexpr Readiness() = default;
  constexpr Readiness(std::uint8_t b) : bits(b) {}  // NOLINT: implicit from the flags above
  constexpr Readiness(Interest i)                   // NOLINT: implicit, as mio's From<Interest>
      : bits(static_cast<std::uint8_t>((i.is_readable() ? READABLE : 0) | (i.is_writable() ? WRITABLE : 0) |
                                       (i.is_priority() ? PRIORITY : 0))) {}
  /// The readiness an event reports.
  static Readiness of(const Event& e);
  /// True when every flag of `expected` is in this one.
  [[nodiscard]] bool contains(Readiness expected) const { return (bits & expected.bits) == expected.bits; }
  [[nodiscard]] std::string to_string() const;
};

struct ExpectEvent {
  Token token;
  Readiness readiness;
  ExpectEvent(Token t, Readiness r) : token(t), readiness(r) {}
  ExpectEvent(std::size_t t, Readiness r) : token(t), readiness(r) {}
};

/// Base of every core test class: fd-leak check around each test function.
class CoreTest : public QObject {
  Q_OBJECT
 protected:
  /// Called by init() after the fd snapshot; override for per-test setup.
  virtual void setUp() {}

 private slots:
  void init();
  void cleanup();

 private:
  std::vector<std::string> fds_before_;
};

/// "/proc/self/fd" entries as "N -> target", sorted.
std::vector<std::string> open_fds();
/// The number of open descriptors of this process.
std::size_t open_fd_count();

// Implementation of the macros below; each returns false after reporting a failure.
bool expect_events(Poll& poll, Events& events, std::vector<ExpectEvent> expected, const char* file, int line);
bool expect_no_events(Poll& poll, Events& events, const char* file, int line);

/// Registers a witness eventfd on `poll` as kWitnessToken, makes it readable and polls until
/// its event arrives, calling `each` for every other event seen by then (the witness's own
/// batch included); then deregisters it. Empty, or what went wrong (no witness event in
/// kWaitLimit, a failed syscall).
std::string poll_until_witness(Poll& poll, Events& events, const std::function<void(const Event&)>& each);

/// The token EXPECT_NO_EVENTS's witness is registered with while it runs; no test uses it.
inline constexpr Token kWitnessToken{~std::size_t{0} - 1};

/// The events of the last poll (" {event} {event}"), for failure messages.
std::string describe(const Events& events);

/// Polls (500 ms a time, up to `limit`) for an event of `token` satisfying `pred`; nullopt if none.
template <class Pred>
std::optional<Event> wait_for_event(Poll& poll, Events& events, Token token, Pred pred,
                                    std::chrono::milliseconds limit = kWaitLimit) {
  for (Deadline d(limit); !d.expired();) {
    if (!poll.poll(events, 500ms)) return std::nullopt;
    for (const Event& e : events)
      if (e.token() == token && pred(e)) return e;
  }
  return std::nullopt;
}

/// The first event for `token`, whatever its readiness (see wait_for_event).
inline std::optional<Event> wait_for_token(Poll& poll, Events& events, Token token,
                                           std::chrono::milliseconds limit = kWaitLimit) {
  return wait_for_event(
      poll, events, token, [](const Event&) { return true; }, limit);
}

/// A description of an io_result for failure messages ("ok" or "error: ECONNRESET ...").
template <class T>
std::string describe(const io_result<T>& r) {
  if (r) return "ok";
  const auto& ec = r.error();
  return "error " + std::string(ec.category().name()) + ":" + std::to_string(ec.value()) + " (" +
         ec.message() + ")";
}

/// The message of an expected error, whichever way it is named.
inline std::string code_text(std::errc e) { return std::make_error_condition(e).message(); }
inline std::string code_text(Errc e) { return make_error_code(e).message(); }
inline std::string code_text(const std::error_code& e) { return e.message(); }

/// 127.0.0.1:0 and [::1]:0: a loopback address with an ephemeral port.
net::SocketAddr any_local_address();
net::SocketAddr any_local_ipv6_address();

/// False when binding ::1 fails with EAFNOSUPPORT or EADDRNOTAVAIL (no IPv6 loopback).
bool ipv6_loopback_available();

/// O_NONBLOCK / FD_CLOEXEC are set on the descriptor.
bool is_non_blocking(int fd);
bool is_close_on_exec(int fd);

/// A fresh path for a Unix socket in this process's private temp directory (0700,
/// removed at exit). Short enough for sun_path.
std::string temp_path(std::string_view name);

/// A temp_path whose file (a bound socket) is removed when it leaves scope, failed or not.
struct Unlink {
  std::string path;
  explicit Unlink(std::string p) : path(std::move(p)) {}
  Unlink(const Unlink&) = delete;
  Unlink& operator=(const Unlink&) = delete;
  ~Unlink();
};

/// A Linux abstract socket name no other test (or test run) uses.
std::string unique_abstract_name(std::string_view what);

/// Rust's drop(): destroys (closes) what `x` holds now, leaving it moved-from.
template <class T>
void drop(T& x) {
  T gone = std::move(x);
}

/// SIGPIPE at its default (terminate) and unblocked in this thread while it lives; then restored.
class DefaultSigpipe {
 public:
  DefaultSigpipe();
  DefaultSigpipe(const DefaultSigpipe&) = delete;
  DefaultSigpipe& operator=(const DefaultSigpipe&) = delete;
  ~DefaultSigpipe();
  /// Both the disposition and the mask were set.
  [[nodiscard]] bool installed() const { return action_set_ && mask_set_; }

 private:
  struct sigaction old_action_ {};
  sigset_t old_mask_{};
  bool action_set_ = false;
  bool mask_set_ = false;
};

/// Bytes of a string, and the string of some bytes.
inline std::span<const std::byte> bytes(std::string_view s) { return ready::as_bytes(s); }
inline std::string str(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// An iovec over a buffer to fill, or over data that is only read (write_vectored).
inline iovec iov(std::span<char> buf) { return {buf.data(), buf.size()}; }
inline iovec iov(std::string_view data) { return {const_cast<char*>(data.data()), data.size()}; }

/// Text as a QString, so QCOMPARE prints both sides (std::string has no QTest::toString).
inline QString qs(std::string_view s) {
  return QString::fromUtf8(s.data(), static_cast<qsizetype>(s.size()));
}
/// Data as a QByteArray: QCOMPARE then compares byte for byte and prints both sides.
inline QByteArray qbytes(std::string_view s) { return {s.data(), static_cast<qsizetype>(s.size())}; }
inline QByteArray qbytes(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), static_cast<qsizetype>(b.size())};
}

}  // namespace ready::test

/// Fails the test (and returns from it) unless every expected event arrives.
#define EXPECT_EVENTS(poll, events, ...)                                                            \
  do {                                                                                              \
    if (!::ready::test::expect_events((poll), (events), {__VA_ARGS__}, __FILE__, __LINE__)) return; \
  } while (false)

/// Fails the test (and returns from it) if any event arrives before a witness made ready now.
#define EXPECT_NO_EVENTS(poll, events)                                                  \
  do {                                                                                  \
    if (!::ready::test::expect_no_events((poll), (events), __FILE__, __LINE__)) return; \
  } while (false)

/// Runs a helper whose checks (QVERIFY, QCOMPARE, ...) return only from the helper, then
/// returns from the test function if any of them failed.
#define CHECKED_CALL(...)                     \
  do {                                        \
    __VA_ARGS__;                              \
    if (::QTest::currentTestFailed()) return; \
  } while (false)

// Each macro evaluates its argument exactly once (a poll or a read must not run twice).

/// The io_result holds a value (prints the error otherwise).
#define QVERIFY_OK(result)                                                     \
  do {                                                                         \
    const auto& ready_r_ = (result);                                           \
    QVERIFY2(ready_r_.has_value(), ::ready::test::describe(ready_r_).c_str()); \
  } while (false)

/// The io_result holds the would-block error.
#define ASSERT_WOULD_BLOCK(result)                                                        \
  do {                                                                                    \
    const auto& ready_r_ = (result);                                                      \
    QVERIFY2(::ready::is_would_block(ready_r_),                                           \
             ("expected would-block, got " + ::ready::test::describe(ready_r_)).c_str()); \
  } while (false)

/// The io_result holds an error equal to `expected_code` (a std::errc, a ready::Errc or a
/// std::error_code).
#define ASSERT_ERROR(result, expected_code)                                            \
  do {                                                                                 \
    const auto& ready_r_ = (result);                                                   \
    QVERIFY2(!ready_r_.has_value() && ready_r_.error() == (expected_code),             \
             ("expected error " + ::ready::test::code_text(expected_code) + ", got " + \
              ::ready::test::describe(ready_r_))                                       \
                 .c_str());                                                            \
  } while (false)

/// mio's checked_write!: the call succeeds and transfers exactly `expected_len` bytes.
#define CHECKED_WRITE(call, expected_len)                        \
  do {                                                           \
    const auto& written_ = (call);                               \
    QVERIFY_OK(written_);                                        \
    QCOMPARE(*written_, static_cast<std::size_t>(expected_len)); \
  } while (false)

/// mio's expect_read!: the read succeeds and the bytes it put in `buf` are exactly `expected`.
#define EXPECT_READ(call, buf, expected)                                           \
  do {                                                                             \
    const auto& read_ = (call);                                                    \
    QVERIFY_OK(read_);                                                             \
    QCOMPARE(::ready::test::qbytes(std::span<const std::byte>(buf).first(*read_)), \
             ::ready::test::qbytes(std::string_view(expected)));                   \
  } while (false)

/// take_error() succeeds and reports no pending error.
#define ASSERT_NO_SOCKET_ERROR(sock)                                         \
  do {                                                                       \
    const auto pending_ = (sock).take_error();                               \
    QVERIFY_OK(pending_);                                                    \
    QVERIFY2(!*pending_, ("pending error: " + pending_->message()).c_str()); \
  } while (false)

namespace ready::test {

/// mio's vectored smoke step: data1+data2 echo back into two buffers, the byte after untouched.
template <class Stream>
void expect_vectored_echo(Poll& poll, Events& events, const Stream& stream, Token token,
                          std::string_view data1, std::string_view data2) {
  const std::array<iovec, 2> out{iov(data1), iov(data2)};
  CHECKED_WRITE(stream.write_vectored(out), data1.size() + data2.size());
  EXPECT_EVENTS(poll, events, ExpectEvent(token, Interest::READABLE));
  std::vector<char> buf1(data1.size(), 1);
  std::vector<char> buf2(data2.size() + 1, 2);
  const std::array<iovec, 2> in{iov(buf1), iov(buf2)};
  CHECKED_WRITE(stream.read_vectored(in), data1.size() + data2.size());
  QCOMPARE(qbytes(std::string_view(buf1.data(), buf1.size())), qbytes(data1));
  QCOMPARE(qbytes(std::string_view(buf2.data(), data2.size())), qbytes(data2));
  QCOMPARE(int{buf2[data2.size()]}, 2);  // the byte after them is untouched
}

}  // namespace ready::test

/// Skips the test when this machine has no IPv6 loopback (::1).
#define SKIP_WITHOUT_IPV6()                                                                       \
  do {                                                                                            \
    if (!::ready::test::ipv6_loopback_available()) QSKIP("IPv6 loopback (::1) is not available"); \
  } while (false)
