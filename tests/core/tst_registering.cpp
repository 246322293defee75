// mio tests/registering.rs: add / modify / remove sequences and one source in two Polls.
#include <array>
#include <chrono>
#include <string>
#include <thread>

#include "peer.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::test;

namespace {
constexpr Token SERVER{0};
constexpr Token CLIENT{1};
}  // namespace

class TestRegistering : public CoreTest {
  Q_OBJECT

  // mio's *_register_multiple_event_loops: `source` is added to poll1 (READABLE|WRITABLE as
  // `token`); adding it to poll2 as well fails with already_registered and mio's message.
  static void add_to_both(const Poll& poll1, const Poll& poll2, Source& source, Token token) {
    QVERIFY_OK(poll1.registry().add(source, token, Interest::READABLE | Interest::WRITABLE));
    auto res = poll2.registry().add(source, token, Interest::READABLE | Interest::WRITABLE);
    ASSERT_ERROR(res, Errc::already_registered);
    QVERIFY(res.error().message().find("already registered with a Registry") != std::string::npos);
  }
 private slots:
  // mio: registering.rs::register_deregister. mio's TestHandler state machine, handling
  // the first event of each poll (mio polls with no timeout; here each poll is limited to
  // 5 s and an empty one fails the test instead of hanging):
  //   listener readable -> accept, write "foobar" and drop the accepted socket;
  //   client readable   -> (state 0 -> 1) modify the client to WRITABLE;
  //   client writable   -> (state 1 -> 2) remove client and listener, stop.
  // Then no event comes (by a witness made ready after the removals).
  void register_deregister() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(1024);

    auto server = net::TcpListener::bind(any_local_address());
    QVERIFY_OK(server);
    auto addr = server->local_addr();
    QVERIFY_OK(addr);
    QVERIFY_OK(poll->registry().add(*server, SERVER, Interest::READABLE));

    auto client = net::TcpStream::connect(*addr);
    QVERIFY_OK(client);
    QVERIFY_OK(poll->registry().add(*client, CLIENT, Interest::READABLE));

    int state = 0;
    bool done = false;
    while (!done) {
      auto n = poll->poll(events, 5s);
      QVERIFY_OK(n);
      QVERIFY2(*n > 0, qPrintable(QString("no event within 5 s in state %1").arg(state)));
      const Event& event = events[0];

      if (event.is_readable()) {
        if (event.token() == SERVER) {
          auto accepted = server->accept();
          QVERIFY_OK(accepted);
          auto w = accepted->stream.write("foobar");
          QVERIFY2(w || is_would_block(w),
                   ("unexpected error writing to connection: " + describe(w)).c_str());
          // The accepted socket is dropped here, as in mio.
        } else if (event.token() == CLIENT) {
          QVERIFY2(state == 0, qPrintable(QString("unexpected state %1").arg(state)));
          state = 1;
          QVERIFY_OK(poll->registry().modify(*client, CLIENT, Interest::WRITABLE));
        } else {
          QFAIL(("unexpected token: " + event.to_string()).c_str());
        }
      }

      if (event.is_writable()) {
        QVERIFY2(event.token() == CLIENT, ("unexpected token: " + event.to_string()).c_str());
        QVERIFY2(state == 1, qPrintable(QString("unexpected state %1").arg(state)));
        state = 2;
        QVERIFY_OK(poll->registry().remove(*client));
        QVERIFY_OK(poll->registry().remove(*server));
        done = true;
      }
    }
    QCOMPARE(state, 2);

    EXPECT_NO_EVENTS(*poll, events);  // none after the removals
  }

  // mio: registering.rs::reregister_different_interest_without_poll. A listener with a
  // pending connection is modified from READABLE to WRITABLE without polling in between:
  // EPOLL_CTL_MOD replaces the interest, so the pending readable edge is not reported.
  void reregister_different_interest_without_poll() {
    Events events(1024);
    auto poll = Poll::create();
    QVERIFY_OK(poll);

    auto l = net::TcpListener::bind(any_local_address());
    QVERIFY_OK(l);
    QVERIFY_OK(poll->registry().add(*l, Token(0), Interest::READABLE));

    auto addr = l->local_addr();
    QVERIFY_OK(addr);
    auto s1 = net::TcpStream::connect(*addr);
    QVERIFY_OK(s1);
    QVERIFY_OK(poll->registry().add(*s1, Token(2), Interest::READABLE));

    // The connection is pending (seen by poll(2), which leaves epoll's edges alone).
    QVERIFY2(wait_readable(l->as_raw_fd()), "the connection never reached the listener");

    QVERIFY_OK(poll->registry().modify(*l, Token(0), Interest::WRITABLE));

    EXPECT_NO_EVENTS(*poll, events);
  }

  // mio: registering.rs::tcp_register_multiple_event_loops [debug-only in mio]. A listener,
  // and a stream, already added to poll1 cannot be added to poll2: already_registered
  // (mio: "I/O source already registered with a `Registry`"). Without the check epoll
  // would accept it and both Polls would get its events.
  void tcp_register_multiple_event_loops() {
    auto listener = net::TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    auto addr = listener->local_addr();
    QVERIFY_OK(addr);

    auto poll1 = Poll::create();
    QVERIFY_OK(poll1);
    auto poll2 = Poll::create();
    QVERIFY_OK(poll2);

    // Try registering the same socket with the second Poll.
    CHECKED_CALL(add_to_both(*poll1, *poll2, *listener, Token(0)));

    // Try the stream.
    auto stream = net::TcpStream::connect(*addr);
    QVERIFY_OK(stream);
    CHECKED_CALL(add_to_both(*poll1, *poll2, *stream, Token(1)));
  }

  // mio: registering.rs::udp_register_multiple_event_loops [debug-only in mio]. The same
  // for a UDP socket.
  void udp_register_multiple_event_loops() {
    auto socket = net::UdpSocket::bind(any_local_address());
    QVERIFY_OK(socket);

    auto poll1 = Poll::create();
    QVERIFY_OK(poll1);
    auto poll2 = Poll::create();
    QVERIFY_OK(poll2);
    CHECKED_CALL(add_to_both(*poll1, *poll2, *socket, Token(0)));
  }

  // mio: registering.rs::registering_after_deregistering. add, remove, add again of an idle
  // listener succeeds, and a 100 ms poll is empty.
  void registering_after_deregistering() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(8);

    auto server = net::TcpListener::bind(any_local_address());
    QVERIFY_OK(server);
    QVERIFY_OK(poll->registry().add(*server, SERVER, Interest::READABLE));
    QVERIFY_OK(poll->registry().remove(*server));
    QVERIFY_OK(poll->registry().add(*server, SERVER, Interest::READABLE));

    EXPECT_NO_EVENTS(*poll, events);
  }
};

QTEST_GUILESS_MAIN(TestRegistering)
#include "tst_registering.moc"
