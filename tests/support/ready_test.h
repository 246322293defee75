// Helpers shared by the ready:: test suites, modelled on mio's tests/util.
//
// - Every suite derives from ready::test::CoreTest: its init()/cleanup() slots count the
//   process's open descriptors before and after each test function and fail the test
//   on a difference (a leaked or double-closed fd), naming the descriptors.
// - EXPECT_EVENTS polls up to 3 times (500 ms each) until every expected
//   (token, readiness) pair has been seen; extra events are tolerated (spurious events
//   are allowed by the contract) and only logged. Expected readiness is an implication:
//   each expected flag must be present, others may be too.
// - EXPECT_NO_EVENTS polls once for 50 ms and fails on any event.
// - QVERIFY_OK / ASSERT_WOULD_BLOCK check io_result values with readable messages.
#pragma once

#include <QObject>
#include <QTest>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ready/ready.h"

namespace ready::test {

using namespace std::chrono_literals;

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

/// O_NONBLOCK / FD_CLOEXEC are set on the descriptor.
bool is_non_blocking(int fd);
bool is_close_on_exec(int fd);

/// A fresh path for a Unix socket in this process's private temp directory (0700,
/// removed at exit). Short enough for sun_path.
std::string temp_path(std::string_view name);

/// Bytes of a string, and the string of some bytes.
inline std::span<const std::byte> bytes(std::string_view s) { return ready::as_bytes(s); }
inline std::string str(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace ready::test

/// Fails the test (and returns from it) unless every expected event arrives.
#define EXPECT_EVENTS(poll, events, ...)                                                            \
  do {                                                                                              \
    if (!::ready::test::expect_events((poll), (events), {__VA_ARGS__}, __FILE__, __LINE__)) return; \
  } while (false)

/// Fails the test (and returns from it) if a 50 ms poll returns any event.
#define EXPECT_NO_EVENTS(poll, events)                                                  \
  do {                                                                                  \
    if (!::ready::test::expect_no_events((poll), (events), __FILE__, __LINE__)) return; \
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
