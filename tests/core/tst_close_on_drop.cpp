// mio tests/close_on_drop.rs: the peer closing a connection is seen as a readable event
// followed by end-of-file.
#include <array>
#include <chrono>
#include <string>

#include "ready_test.h"

using namespace ready;
using namespace ready::test;

namespace {
constexpr Token SERVER{0};
constexpr Token CLIENT{1};
}  // namespace

class TestCloseOnDrop : public CoreTest {
  Q_OBJECT
 private slots:
  // mio: close_on_drop.rs::close_on_drop. mio's TestHandler state machine:
  //   listener readable -> accept and drop the connection at once (the peer closes);
  //   client writable   -> connected: modify the client to READABLE;
  //   client readable   -> in state Initial read once (whatever it returns) and move to
  //                        AfterRead; then a read must return 0 (end-of-file) -> shutdown.
  // Every readable event modifies the client to READABLE again (a re-arm; with the edge
  // trigger EPOLL_CTL_MOD re-evaluates readiness). mio polls with no timeout; here each
  // poll is limited to 5 s and an empty one fails the test instead of hanging.
  void close_on_drop() {
    enum class State { Initial, AfterRead };
    auto poll = Poll::create();
    QVERIFY_OK(poll);

    // Create & set up the server socket.
    auto srv = net::TcpListener::bind(any_local_address());
    QVERIFY_OK(srv);
    auto addr = srv->local_addr();
    QVERIFY_OK(addr);
    QVERIFY_OK(poll->registry().add(*srv, SERVER, Interest::READABLE));

    // Create & set up the client socket.
    auto cli = net::TcpStream::connect(*addr);
    QVERIFY_OK(cli);
    QVERIFY_OK(poll->registry().add(*cli, CLIENT, Interest::WRITABLE));

    Events events(1024);
    State state = State::Initial;
    bool shutdown = false;

    while (!shutdown) {
      auto n = poll->poll(events, 5s);
      QVERIFY_OK(n);
      QVERIFY2(*n > 0, "no event within 5 s");

      for (const Event& event : events) {
        if (event.is_readable()) {
          if (event.token() == SERVER) {
            // Accept and drop the connection.
            QVERIFY_OK(srv->accept());
          } else if (event.token() == CLIENT) {
            if (state == State::Initial) {
              std::array<std::byte, 4096> buf{};
              auto got = cli->read(buf);
              qDebug("GOT=%s", got ? (std::to_string(*got) + " bytes").c_str() : describe(got).c_str());
              state = State::AfterRead;
            }
            std::array<std::byte, 1024> buf{};
            auto r = cli->read(buf);
            QVERIFY2(r.has_value(), ("unexpected error " + describe(r)).c_str());
            QVERIFY2(*r == 0, "the client socket should not be readable");
            shutdown = true;
          } else {
            QFAIL(("received unknown token: " + event.to_string()).c_str());
          }
          QVERIFY_OK(poll->registry().modify(*cli, CLIENT, Interest::READABLE));
        }

        if (event.is_writable()) {
          QVERIFY2(event.token() != SERVER, "received writable for the server token");
          QVERIFY2(event.token() == CLIENT, ("received unknown token: " + event.to_string()).c_str());
          // Connected.
          QVERIFY_OK(poll->registry().modify(*cli, CLIENT, Interest::READABLE));
        }
      }
    }
    QVERIFY(state == State::AfterRead);
  }
};

QTEST_GUILESS_MAIN(TestCloseOnDrop)
#include "tst_close_on_drop.moc"
