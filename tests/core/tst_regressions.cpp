// mio tests/regressions.rs: bugs mio once had, kept as tests.
#include <algorithm>
#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "peer.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::test;

namespace {

constexpr Token ID1{1};
constexpr Token WAKE_TOKEN{10};

}  // namespace

class TestRegressions : public CoreTest {
  Q_OBJECT
 private slots:
  // mio: regressions.rs::issue_776. After the first event of a connecting stream, a read
  // with no data is would-block, not an error (e.g. not ENOTCONN). The peer's blocking read
  // (time-limited) then sees end-of-file when the stream is destroyed.
  void issue_776() {
    auto listener = net::TcpListener::bind(any_local_address());  // mio: a std listener
    QVERIFY_OK(listener);
    auto addr = listener->local_addr();
    QVERIFY_OK(addr);
    QVERIFY_OK(make_blocking(*listener));
    std::optional<std::size_t> bytes_read;
    Worker peer = accept_and_read_once(*listener, bytes_read);  // mio: .expect("read")

    auto poll = Poll::create();
    QVERIFY_OK(poll);
    auto connected = net::TcpStream::connect(*addr);
    QVERIFY_OK(connected);
    std::optional<net::TcpStream> stream(std::move(*connected));
    QVERIFY_OK(poll->registry().add(*stream, Token(1), Interest::READABLE | Interest::WRITABLE));
    Events events(16);
    QVERIFY2(wait_for_token(*poll, events, Token(1)), "no event for the connecting stream");

    std::array<std::byte, 1024> buf{};
    ASSERT_WOULD_BLOCK(stream->read(buf));

    stream.reset();
    QVERIFY_JOINED(peer);
  }

  // mio: regressions.rs::issue_1205. A listener is removed right after a client connects
  // to it; a poll woken 500 ms later by a Waker from another thread returns exactly one
  // event, the Waker's: no stale event for the removed listener. (mio polls with no
  // timeout; 10 s here so a failure cannot hang.)
  void issue_1205() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);

    auto created = Waker::create(poll->registry(), WAKE_TOKEN);
    QVERIFY_OK(created);
    // The Waker must stay alive for its events to be delivered: shared with the thread.
    auto waker = std::make_shared<const Waker>(std::move(*created));

    auto listener = net::TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    QVERIFY_OK(poll->registry().add(*listener, ID1, Interest::READABLE));

    auto n = poll->poll(events, 0ms);
    QVERIFY_OK(n);
    QCOMPARE(*n, std::size_t{0});

    auto addr = listener->local_addr();
    QVERIFY_OK(addr);
    auto stream = net::TcpStream::connect(*addr);
    QVERIFY_OK(stream);

    QVERIFY_OK(poll->registry().remove(*listener));

    Worker t = wake_later(waker, 500ms);

    n = poll->poll(events, 10s);
    QVERIFY_OK(n);
    QCOMPARE(*n, std::size_t{1});
    QVERIFY(events[0].is_readable());
    QCOMPARE(events[0].token(), WAKE_TOKEN);

    QVERIFY_JOINED(t);
  }

  // mio: regressions.rs::issue_1403. An unbound UnixDatagram sends to a bound path; the
  // receiver gets the whole datagram and the sender's address has no pathname (unnamed).
  void issue_1403() {
    const Unlink socket_file{temp_path("issue_1403")};
    const std::string& path = socket_file.path;
    auto datagram1 = net::UnixDatagram::bind(path);
    QVERIFY_OK(datagram1);
    auto datagram2 = net::UnixDatagram::unbound();
    QVERIFY_OK(datagram2);

    std::array<std::byte, 1024> buf{};
    buf.fill(std::byte{1});
    auto n = datagram2->send_to(buf, path);
    QVERIFY_OK(n);

    buf.fill(std::byte{0});
    auto got = datagram1->recv_from(buf);
    QVERIFY_OK(got);
    QCOMPARE(got->n, *n);
    QCOMPARE(got->n, buf.size());
    QVERIFY(got->from.as_pathname() == std::nullopt);
    QVERIFY(got->from.is_unnamed());
    QVERIFY(std::all_of(buf.begin(), buf.end(), [](std::byte b) { return b == std::byte{1}; }));
  }
};

QTEST_GUILESS_MAIN(TestRegressions)
#include "tst_regressions.moc"
