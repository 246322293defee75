// mio tests/tcp.rs, plus TCP behaviours beyond mio's suite (connect outcome, SIGPIPE, HUP).
//
// mio's peers are blocking std::net sockets in threads; here they are plain blocking
// sockets in a Worker thread (peer.h) that every test joins before it returns.
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "peer.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::net;
using namespace ready::test;
using namespace std::chrono_literals;

namespace {

// --- Helpers of this suite. ---

/// io::Write::write_all: writes everything or returns the first error (would-block included).
io_result<void> write_all(const TcpStream& s, std::span<const std::byte> data) {
  while (!data.empty()) {
    auto n = s.write(data);
    if (!n) return std::unexpected(n.error());
    data = data.subspan(*n);
  }
  return {};
}

std::optional<Event> wait_writable(Poll& poll, Events& events, Token token) {
  return wait_for_event(poll, events, token, [](const Event& e) { return e.is_writable(); });
}

/// mio's `while events.is_empty() { poll(None) }`, bounded.
bool poll_until_some(Poll& poll, Events& events) {
  for (Deadline d; !d.expired();) {
    if (!poll.poll(events, 500ms)) return false;
    if (!events.empty()) return true;
  }
  return false;
}

/// Writes 1 KiB at a time (after a would-block, waiting for `token` to be writable again)
/// until a write fails: that error, or nullopt if none came within kWaitLimit.
std::optional<std::error_code> write_until_error(Poll& poll, Events& events, const TcpStream& s,
                                                 Token token) {
  const std::array<std::byte, 1024> buf{};
  for (Deadline d; !d.expired();) {
    auto n = s.write(buf);
    if (n) continue;
    if (!is_would_block(n.error())) return n.error();
    if (!wait_writable(poll, events, token)) return std::nullopt;
  }
  return std::nullopt;
}

/// The plain peer of read/peek: accepts one connection and sends it `n` bytes.
Worker send_bytes(int listener, std::size_t n) {
  return Worker(
      [listener, n] {
        auto conn = plain_accept(listener);
        if (!conn) return failure("accept", conn.error());
        const std::array<std::byte, 1024> buf{};
        for (std::size_t amt = 0; amt < n;) {
          auto sent = plain_send(conn->get(), buf);
          if (!sent) return failure("send", sent.error());
          amt += *sent;
        }
        return std::string();
      },
      unblock(listener));
}

/// The plain peer of write/multiple_writes_immediate_success: accepts one connection and
/// receives `n` bytes from it, each equal to `each` when that is given.
Worker receive_bytes(int listener, std::size_t n, std::optional<std::byte> each = std::nullopt) {
  return Worker(
      [listener, n, each] {
        auto conn = plain_accept(listener);
        if (!conn) return failure("accept", conn.error());
        std::array<std::byte, 1024> buf{};
        for (std::size_t amt = 0; amt < n;) {
          buf.fill(std::byte{0});
          auto got = plain_recv(conn->get(), buf);
          if (!got) return failure("recv", got.error());
          if (*got == 0) return "end of stream after " + std::to_string(amt) + " bytes";
          amt += *got;
          for (std::size_t i = 0; each && i < *got; ++i)
            if (buf[i] != *each)
              return "byte " + std::to_string(amt - *got + i) + " is not " +
                     std::to_string(std::to_integer<int>(*each));
        }
        return std::string();
      },
      unblock(listener));
}

bool is_default_and_unblocked(int sig) {
  struct sigaction now {};
  sigset_t mask;
  return ::sigaction(sig, nullptr, &now) == 0 && now.sa_handler == SIG_DFL &&
         ::pthread_sigmask(SIG_BLOCK, nullptr, &mask) == 0 && !sigismember(&mask, sig);
}

/// mio's wait! macro: polls (1 s at a time, 5 s at most) until token 0 reports `ready`;
/// every event seen on the way must have read_closed (`expect_read_closed`) or neither
/// closed flag. Returns "" or what went wrong.
std::string wait_ready(Poll& poll, bool (Event::*ready)() const noexcept, bool expect_read_closed) {
  Events events(16);
  for (Deadline d(5s); !d.expired();) {
    auto r = poll.poll(events, 1s);
    if (!r) return "poll failed: " + describe(r);
    for (const Event& e : events) {
      if (expect_read_closed ? !e.is_read_closed() : (e.is_read_closed() || e.is_write_closed()))
        return "unexpected closed flags on " + e.to_string();
      if (e.token() == Token(0) && (e.*ready)()) return {};
    }
  }
  return "not ready";
}

}  // namespace

class TestTcp : public CoreTest {
  Q_OBJECT

 private slots:
  // mio: tcp::accept. A plain client connects; the listener reports readable, one accept
  // succeeds, and the next one would block.
  void accept() {
    auto listener = TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    const auto addr = listener->local_addr();
    QVERIFY_OK(addr);
    Worker client([a = *addr] {
      auto s = plain_connect(a);  // connected, then closed at once
      return s ? std::string() : failure("connect", s.error());
    });

    auto poll = Poll::create();
    QVERIFY_OK(poll);
    QVERIFY_OK(poll->registry().add(*listener, Token(1), Interest::READABLE));
    Events events(128);

    bool hit = false;
    for (Deadline d; !hit;) {
      QVERIFY2(!d.expired(), "no event for the listener");
      QVERIFY_OK(poll->poll(events, 500ms));
      for (const Event& e : events) {
        hit = true;
        QCOMPARE(e.token(), Token(1));
        QVERIFY(e.is_readable());
        QVERIFY_OK(listener->accept());
      }
    }
    ASSERT_WOULD_BLOCK(listener->accept());
    QVERIFY_JOINED(client);
  }

  // mio: tcp::connect. A connecting stream registered R|W first gets exactly one event,
  // writable. After the peer closes, the next event is readable (end-of-stream).
  void connect() {
    auto listener = plain_listener(any_local_address());
    QVERIFY_OK(listener);
    const int lfd = listener->get();
    Gate close_now, closed;
    Worker server(
        [&close_now, &closed, lfd] {
          auto conn = plain_accept(lfd);
          if (!conn) return failure("accept", conn.error());
          if (!close_now.wait()) return std::string("never told to close");
          conn->reset();
          closed.open();
          return std::string();
        },
        unblock(lfd, &close_now));

    auto poll = Poll::create();
    QVERIFY_OK(poll);
    auto stream = TcpStream::connect(local_address(lfd));
    QVERIFY_OK(stream);
    QVERIFY_OK(poll->registry().add(*stream, Token(1), Interest::READABLE | Interest::WRITABLE));
    Events events(128);

    int hit = 0;
    for (int phase = 1; phase <= 2; ++phase) {
      if (phase == 2) {
        close_now.open();
        QVERIFY(closed.wait());
      }
      for (Deadline d; hit < phase;) {
        QVERIFY2(!d.expired(), "no event");
        QVERIFY_OK(poll->poll(events, 500ms));
        for (const Event& e : events) {
          QCOMPARE(e.token(), Token(1));
          if (hit == 0)
            QVERIFY2(e.is_writable(), e.to_string().c_str());
          else if (hit == 1)
            QVERIFY2(e.is_readable(), e.to_string().c_str());
          else
            QFAIL(("one event too many: " + e.to_string()).c_str());
          ++hit;
        }
      }
      QCOMPARE(hit, phase);
    }
    QVERIFY_JOINED(server);
  }

  // mio: tcp::read. The peer writes 16 MiB; on each readable event the client reads until
  // would-block, and gets every byte.
  void read() { CHECKED_CALL(read_16_mib(false)); }

  // mio: tcp::peek. As `read`, but each event starts with a peek; a peek that would block
  // skips the event (a spurious one).
  void peek() { CHECKED_CALL(read_16_mib(true)); }

  // mio: tcp::write. The client writes 16 MiB, on each writable event until would-block;
  // the peer reads it all.
  void write() {
    constexpr std::size_t N = 16 * 1024 * 1024;
    auto listener = plain_listener(any_local_address());
    QVERIFY_OK(listener);
    Worker server = receive_bytes(listener->get(), N);

    auto poll = Poll::create();
    QVERIFY_OK(poll);
    auto stream = TcpStream::connect(local_address(listener->get()));
    QVERIFY_OK(stream);
    QVERIFY_OK(poll->registry().add(*stream, Token(1), Interest::WRITABLE));
    Events events(128);

    std::size_t amt = 0;
    const std::array<std::byte, 1024> buf{};
    for (Deadline d(30s); amt < N;) {
      QVERIFY2(!d.expired(), ("only " + std::to_string(amt) + " bytes written").c_str());
      QVERIFY_OK(poll->poll(events, 500ms));
      for (const Event& e : events) {
        QCOMPARE(e.token(), Token(1));
        while (amt < N) {
          auto n = stream->write(buf);
          if (is_would_block(n)) break;
          QVERIFY_OK(n);
          amt += *n;
        }
      }
    }
    QVERIFY_JOINED(server);
  }

  // mio: tcp::connect_then_close. The accepted stream is registered and destroyed at once
  // (never removed): harmless, its fd leaves the epoll set; the client then sees the close.
  void connect_then_close() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    auto listener = TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    auto s = TcpStream::connect(listener->local_addr().value());
    QVERIFY_OK(s);
    QVERIFY_OK(poll->registry().add(*listener, Token(1), Interest::READABLE));
    QVERIFY_OK(poll->registry().add(*s, Token(2), Interest::READABLE));
    Events events(128);

    bool shutdown = false;
    for (Deadline d; !shutdown;) {
      QVERIFY2(!d.expired(), "the client never saw the close");
      QVERIFY_OK(poll->poll(events, 500ms));
      for (const Event& e : events) {
        if (e.token() == Token(1)) {
          auto accepted = listener->accept();
          QVERIFY_OK(accepted);
          QVERIFY_OK(
              poll->registry().add(accepted->stream, Token(3), Interest::READABLE | Interest::WRITABLE));
        } else if (e.token() == Token(2)) {
          shutdown = true;
        }
      }
    }
  }

  // mio: tcp::listen_then_close. A registered listener that is destroyed produces no event.
  void listen_then_close() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    {
      auto listener = TcpListener::bind(any_local_address());
      QVERIFY_OK(listener);
      QVERIFY_OK(poll->registry().add(*listener, Token(1), Interest::READABLE));
    }
    Events events(128);
    EXPECT_NO_EVENTS(*poll, events);  // none at all, so none for the closed TcpListener
  }

  // mio: tcp::bind_twice_bad. Binding a listening address again fails (EADDRINUSE on Linux,
  // SO_REUSEADDR notwithstanding).
  void bind_twice_bad() {
    auto l1 = TcpListener::bind(any_local_address());
    QVERIFY_OK(l1);
    auto addr = l1->local_addr();
    QVERIFY_OK(addr);
    ASSERT_ERROR(TcpListener::bind(*addr), os_error(EADDRINUSE));
  }

  // mio: tcp::multiple_writes_immediate_success. After the first writable event, 16 write_all
  // of 1 KiB succeed without waiting, and the peer receives only bytes equal to 1.
  void multiple_writes_immediate_success() {
    constexpr std::size_t N = 16;
    auto listener = plain_listener(any_local_address());
    QVERIFY_OK(listener);
    Worker server = receive_bytes(listener->get(), 1024 * N, std::byte{1});

    auto poll = Poll::create();
    QVERIFY_OK(poll);
    auto s = TcpStream::connect(local_address(listener->get()));
    QVERIFY_OK(s);
    QVERIFY_OK(poll->registry().add(*s, Token(1), Interest::WRITABLE));
    Events events(16);
    QVERIFY2(wait_writable(*poll, events, Token(1)), "the stream never became writable");

    std::array<std::byte, 1024> ones;
    ones.fill(std::byte{1});
    for (std::size_t i = 0; i < N; ++i) QVERIFY_OK(write_all(*s, ones));
    QVERIFY_JOINED(server);
  }

  // mio: tcp::connection_reset_by_peer. The client closes with linger 0 (RST); the accepted
  // stream, registered afterwards, reports readable and its read returns no data. Linux
  // reports the reset itself: the read fails with ECONNRESET.
  void connection_reset_by_peer() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto listener = TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    std::optional<TcpStream> client;
    {
      auto c = TcpStream::connect(listener->local_addr().value());
      QVERIFY_OK(c);
      client.emplace(std::move(*c));
    }
    QVERIFY_OK(client->set_linger(0));
    QVERIFY_OK(poll->registry().add(*listener, Token(0), Interest::READABLE));
    QVERIFY_OK(poll->registry().add(*client, Token(1), Interest::READABLE | Interest::WRITABLE));

    std::optional<TcpStream> server;
    for (Deadline d; !server;) {
      QVERIFY2(!d.expired(), "nothing to accept");
      QVERIFY_OK(poll->poll(events, 500ms));
      for (const Event& e : events) {
        if (e.token() != Token(0)) continue;
        auto accepted = listener->accept();
        if (is_would_block(accepted)) continue;
        QVERIFY_OK(accepted);
        server.emplace(std::move(accepted->stream));
        break;
      }
    }

    client.reset();  // close with linger 0: a reset
    QVERIFY2(wait_readable(server->as_raw_fd()), "the reset never arrived");  // poll(2): no edge consumed
    QVERIFY_OK(poll->registry().add(*server, Token(3), Interest::READABLE));

    auto ev = wait_for_token(*poll, events, Token(3));
    QVERIFY2(ev, "no event for the reset stream");
    QVERIFY2(ev->is_readable(), ev->to_string().c_str());
    std::array<std::byte, 16> buf{};
    auto r = server->read(buf);
    QVERIFY2(!r || *r == 0, ("expected no data, read " + std::to_string(r.value_or(0)) + " bytes").c_str());
    ASSERT_ERROR(r, os_error(ECONNRESET));
  }

  // mio: tcp::connect_error. Connecting to a closed port: the writable event also has
  // write_closed on Linux (EPOLLOUT|EPOLLERR|EPOLLHUP), and take_error returns the code
  // (ECONNREFUSED). mio picks a "random" port; here the port is reserved by a bound socket
  // that does not listen, so nothing can be accepting on it.
  void connect_error() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    OwnedFd reserved(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    QVERIFY(reserved.valid());
    const SocketAddr any = any_local_address();
    QVERIFY(::bind(reserved.get(), any.as_sockaddr(), any.len()) == 0);

    auto stream = TcpStream::connect(local_address(reserved.get()));
    if (!stream) {
      // As in mio: a refusal reported by connect itself is allowed, though Linux reports a
      // loopback refusal later, through the socket error.
      ASSERT_ERROR(stream, os_error(ECONNREFUSED));
      return;
    }
    QVERIFY_OK(poll->registry().add(*stream, Token(0), Interest::WRITABLE));
    auto ev = wait_for_token(*poll, events, Token(0));
    QVERIFY2(ev, "no event for the failed connect");
    QVERIFY2(ev->is_writable(), ev->to_string().c_str());
    QVERIFY2(ev->is_write_closed(), ev->to_string().c_str());

    auto err = stream->take_error();
    QVERIFY_OK(err);
    QVERIFY2(*err == std::errc::connection_refused, ("take_error: " + err->message()).c_str());
  }

  // mio: tcp::write_error. After the peer closes, writing (and waiting for writable after
  // would-block) eventually fails with a real error: EPIPE or ECONNRESET on Linux.
  void write_error() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto listener = plain_listener(any_local_address());
    QVERIFY_OK(listener);
    const int lfd = listener->get();
    Gate close_now;
    Worker server(
        [&close_now, lfd] {
          auto conn = plain_accept(lfd);
          if (!conn) return failure("accept", conn.error());
          if (!close_now.wait()) return std::string("never told to close");
          return std::string();  // conn closes here
        },
        unblock(lfd, &close_now));

    auto s = TcpStream::connect(local_address(lfd));
    QVERIFY_OK(s);
    QVERIFY_OK(poll->registry().add(*s, Token(0), Interest::READABLE | Interest::WRITABLE));
    QVERIFY2(wait_writable(*poll, events, Token(0)), "never writable");
    close_now.open();
    QVERIFY_JOINED(server);

    const auto error = write_until_error(*poll, events, *s, Token(0));
    QVERIFY2(error, "writes never failed");
    QVERIFY2(*error == std::errc::broken_pipe || *error == std::errc::connection_reset,
             error->message().c_str());
  }

  // mio: tcp::write_shutdown. While connected, no event has a closed flag and an idle poll
  // is empty; after the peer's shutdown(write) the client gets readable with read_closed.
  void write_shutdown() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    auto listener = plain_listener(any_local_address());
    QVERIFY_OK(listener);
    auto client = TcpStream::connect(local_address(listener->get()));
    QVERIFY_OK(client);
    QVERIFY_OK(poll->registry().add(*client, Token(0), Interest::READABLE.add(Interest::WRITABLE)));
    auto socket = plain_accept(listener->get());
    QVERIFY_OK(socket);

    std::string why = wait_ready(*poll, &Event::is_writable, false);
    QVERIFY2(why.empty(), why.c_str());

    Events events(16);
    EXPECT_NO_EVENTS(*poll, events);

    QCOMPARE(::shutdown(socket->get(), SHUT_WR), 0);
    why = wait_ready(*poll, &Event::is_readable, true);
    QVERIFY2(why.empty(), why.c_str());
  }

  // mio: tcp::local_addr_ready. peer_addr and local_addr work on the accepted stream in its
  // writable event, and on the client in its readable event.
  void local_addr_ready() {
    constexpr Token LISTEN{0}, CLIENT{1}, SERVER{2};
    auto server = TcpListener::bind(any_local_address());
    QVERIFY_OK(server);
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    QVERIFY_OK(poll->registry().add(*server, LISTEN, Interest::READABLE));
    auto sock = TcpStream::connect(server->local_addr().value());
    QVERIFY_OK(sock);
    QVERIFY_OK(poll->registry().add(*sock, CLIENT, Interest::READABLE));
    Events events(1024);

    std::optional<TcpStream> accepted;
    bool shutdown = false;
    for (Deadline d; !shutdown;) {
      QVERIFY2(!d.expired(), "the client never became readable");
      QVERIFY_OK(poll->poll(events, 500ms));
      for (const Event& e : events) {
        if (e.token() == LISTEN) {
          auto a = server->accept();
          QVERIFY_OK(a);
          accepted.emplace(std::move(a->stream));
          QVERIFY_OK(poll->registry().add(*accepted, SERVER, Interest::WRITABLE));
        } else if (e.token() == SERVER) {
          QVERIFY(accepted);
          QVERIFY_OK(accepted->peer_addr());
          QVERIFY_OK(accepted->local_addr());
          CHECKED_WRITE(accepted->write(std::string_view("\x01\x02\x03")), 3);
          accepted.reset();
        } else if (e.token() == CLIENT) {
          QVERIFY_OK(sock->peer_addr());
          QVERIFY_OK(sock->local_addr());
          shutdown = true;
        } else {
          QFAIL(("unexpected token: " + e.to_string()).c_str());
        }
      }
    }
  }

  // mio: tcp::write_then_drop. Each step's poll returns exactly one event: the listener,
  // then the accepted stream (writable), then, after it wrote 4 bytes and was destroyed,
  // the reregistered client; which reads the 4 bytes.
  void write_then_drop() { CHECKED_CALL(write_then_close(false)); }

  // mio: tcp::write_then_deregister. As write_then_drop, with the writer removed from the
  // Poll instead of destroyed.
  void write_then_deregister() { CHECKED_CALL(write_then_close(true)); }

  // mio: tcp::tcp_no_events_after_deregister. Once listener, client and accepted stream are
  // removed no events arrive, though data still flows both ways.
  void tcp_no_events_after_deregister() {
    constexpr Token ID1{1}, ID2{2}, ID3{3};
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto listener = TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    const auto addr = listener->local_addr();
    QVERIFY_OK(addr);
    auto stream = TcpStream::connect(*addr);
    QVERIFY_OK(stream);
    QVERIFY_OK(poll->registry().add(*listener, ID1, Interest::READABLE));
    QVERIFY_OK(poll->registry().add(*stream, ID3, Interest::READABLE));
    EXPECT_EVENTS(*poll, events, ExpectEvent(ID1, Interest::READABLE));

    auto accepted = listener->accept();
    QVERIFY_OK(accepted);
    TcpStream& stream2 = accepted->stream;
    QVERIFY(accepted->peer.is_loopback());
    QCOMPARE(stream2.peer_addr().value(), accepted->peer);
    QCOMPARE(stream2.local_addr().value(), *addr);

    QVERIFY_OK(poll->registry().add(stream2, ID2, Interest::WRITABLE));
    EXPECT_EVENTS(*poll, events, ExpectEvent(ID2, Interest::WRITABLE));
    QVERIFY_OK(write_all(stream2, bytes("\x01\x02\x03\x04")));
    EXPECT_EVENTS(*poll, events, ExpectEvent(ID3, Interest::READABLE));

    QVERIFY_OK(poll->registry().remove(*listener));
    QVERIFY_OK(poll->registry().remove(*stream));
    QVERIFY_OK(poll->registry().remove(stream2));
    EXPECT_NO_EVENTS(*poll, events);

    std::array<std::byte, 10> buf{};
    EXPECT_READ(stream->read(buf), buf, "\x01\x02\x03\x04");
    CHECKED_WRITE(stream2.write(std::string_view("\x01\x02\x03\x04")), 4);
    // The bytes are in (poll(2) sees them), so the witness comes after their wake-up.
    QVERIFY2(wait_readable(stream->as_raw_fd()), "the second write never arrived");
    EXPECT_NO_EVENTS(*poll, events);

    EXPECT_READ(stream->read(buf), buf, "\x01\x02\x03\x04");
    EXPECT_NO_EVENTS(*poll, events);
  }

  // Beyond mio: the connect recipe of TcpStream's documentation. A stream registered
  // WRITABLE gets a writable event once connected; take_error is then empty and peer_addr
  // names the listener. Before that, peer_addr may fail with ENOTCONN (still connecting).
  void connect_in_progress_then_connected() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto listener = TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    const auto addr = listener->local_addr();
    QVERIFY_OK(addr);

    auto stream = TcpStream::connect(*addr);
    QVERIFY_OK(stream);
    auto early = stream->peer_addr();
    QVERIFY2(early || early.error() == std::errc::not_connected, describe(early).c_str());

    QVERIFY_OK(poll->registry().add(*stream, Token(1), Interest::WRITABLE));
    EXPECT_EVENTS(*poll, events, ExpectEvent(Token(1), Interest::WRITABLE));
    auto err = stream->take_error();
    QVERIFY_OK(err);
    QVERIFY2(!*err, ("take_error: " + err->message()).c_str());
    auto peer = stream->peer_addr();
    QVERIFY_OK(peer);
    QCOMPARE(*peer, *addr);
    auto local = stream->local_addr();
    QVERIFY_OK(local);
    QVERIFY(local->is_loopback());

    auto pair_end = listener->accept();
    QVERIFY_OK(pair_end);
    QCOMPARE(pair_end->peer, *local);
  }

  // Beyond mio: with SIGPIPE at its default disposition (which would kill the process),
  // writing to a socket that cannot send any more fails with EPIPE (or ECONNRESET when the
  // peer's reset is reported first) and the process survives: every send uses MSG_NOSIGNAL.
  // Covers a local shutdown(write) (write, write_vectored, send_oob) and a closed peer.
  void write_to_closed_peer_gives_epipe_not_sigpipe() {
    DefaultSigpipe sigpipe;
    QVERIFY(is_default_and_unblocked(SIGPIPE));
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto listener = TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);

    {  // A local shutdown(write): the write fails at once.
      auto pair = connected_pair(*listener);
      QVERIFY_OK(pair);
      auto& [client, server] = *pair;
      QVERIFY_OK(client.shutdown(Shutdown::write));
      ASSERT_ERROR(client.write(std::string_view("data")), os_error(EPIPE));
      const std::array<iovec, 1> data{iov(std::string_view("data"))};
      ASSERT_ERROR(client.write_vectored(data), os_error(EPIPE));
      ASSERT_ERROR(client.send_oob(std::byte{'!'}), os_error(EPIPE));
    }

    {  // The peer closed: the first write may still succeed (the peer answers it with a reset).
      auto pair = connected_pair(*listener);
      QVERIFY_OK(pair);
      TcpStream client = std::move(pair->first);
      drop(pair->second);  // closed
      QVERIFY_OK(poll->registry().add(client, Token(1), Interest::WRITABLE));

      const auto error = write_until_error(*poll, events, client, Token(1));
      QVERIFY2(error, "writes to a closed peer never failed");
      QVERIFY2(*error == std::errc::broken_pipe || *error == std::errc::connection_reset,
               error->message().c_str());
      // The reset has been reported; from now on it is EPIPE.
      const std::array<std::byte, 1024> buf{};
      ASSERT_ERROR(client.write(buf), os_error(EPIPE));
    }
    QVERIFY(is_default_and_unblocked(SIGPIPE));  // still here: no SIGPIPE was raised
  }

  // Beyond mio: once both directions are shut (each side called shutdown(write)), epoll
  // reports EPOLLHUP: read_closed and write_closed on both ends. A single shutdown only
  // gives the other end read_closed (EPOLLRDHUP), no HUP.
  void hup_after_both_sides_close() {
    constexpr Token CLIENT{1}, SERVER{2};
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    Events events(16);
    auto listener = TcpListener::bind(any_local_address());
    QVERIFY_OK(listener);
    auto pair = connected_pair(*listener);
    QVERIFY_OK(pair);
    auto& [client, server] = *pair;
    QVERIFY_OK(poll->registry().add(client, CLIENT, Interest::READABLE | Interest::WRITABLE));
    QVERIFY_OK(poll->registry().add(server, SERVER, Interest::READABLE | Interest::WRITABLE));
    EXPECT_EVENTS(*poll, events, ExpectEvent(CLIENT, Interest::WRITABLE),
                  ExpectEvent(SERVER, Interest::WRITABLE));

    QVERIFY_OK(client.shutdown(Shutdown::write));
    auto half = wait_for_event(*poll, events, SERVER, [](const Event& e) { return e.is_read_closed(); });
    QVERIFY2(half, "the server never saw the client's shutdown");
    QVERIFY2(!(half->epoll_bits() & EPOLLHUP), half->to_string().c_str());
    QVERIFY2(!half->is_write_closed(), half->to_string().c_str());

    QVERIFY_OK(server.shutdown(Shutdown::write));
    EXPECT_EVENTS(*poll, events,
                  ExpectEvent(CLIENT, Readiness(Readiness::READ_CLOSED | Readiness::WRITE_CLOSED)),
                  ExpectEvent(SERVER, Readiness(Readiness::READ_CLOSED | Readiness::WRITE_CLOSED)));

    std::array<std::byte, 16> buf{};
    EXPECT_READ(client.read(buf), buf, "");  // end-of-stream
    EXPECT_READ(server.read(buf), buf, "");
    ASSERT_ERROR(client.write(std::string_view("x")), os_error(EPIPE));
    ASSERT_ERROR(server.write(std::string_view("x")), os_error(EPIPE));
  }

 private:
  // read / peek: the peer sends 16 MiB; the client reads on each readable event until
  // would-block, first peeking when `peek_first` (a peek that would block skips the event).
  void read_16_mib(bool peek_first) {
    constexpr std::size_t N = 16 * 1024 * 1024;
    auto listener = plain_listener(any_local_address());
    QVERIFY_OK(listener);
    Worker server = send_bytes(listener->get(), N);

    auto poll = Poll::create();
    QVERIFY_OK(poll);
    auto stream = TcpStream::connect(local_address(listener->get()));
    QVERIFY_OK(stream);
    QVERIFY_OK(poll->registry().add(*stream, Token(1), Interest::READABLE));
    Events events(128);

    std::size_t amt = 0;
    std::array<std::byte, 1024> buf{};
    for (Deadline d(30s); amt < N;) {
      QVERIFY2(!d.expired(), ("only " + std::to_string(amt) + " bytes arrived").c_str());
      QVERIFY_OK(poll->poll(events, 500ms));
      for (const Event& e : events) {
        QCOMPARE(e.token(), Token(1));
        if (peek_first) {
          auto peeked = stream->peek(buf);
          if (is_would_block(peeked)) continue;
          QVERIFY_OK(peeked);
        }
        while (amt < N) {
          auto n = stream->read(buf);
          if (is_would_block(n)) break;
          QVERIFY_OK(n);
          QVERIFY2(*n > 0, "end of stream before all the data arrived");
          amt += *n;
        }
      }
    }
    QCOMPARE(amt, N);
    QVERIFY_JOINED(server);
  }

  // write_then_drop / write_then_deregister.
  void write_then_close(bool deregister) {
    auto a = TcpListener::bind(any_local_address());
    QVERIFY_OK(a);
    auto s = TcpStream::connect(a->local_addr().value());
    QVERIFY_OK(s);
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    QVERIFY_OK(poll->registry().add(*a, Token(1), Interest::READABLE));
    QVERIFY_OK(poll->registry().add(*s, Token(3), Interest::READABLE));

    Events events(1024);
    QVERIFY(poll_until_some(*poll, events));
    QCOMPARE(events.size(), std::size_t{1});
    QCOMPARE(events[0].token(), Token(1));

    auto accepted = a->accept();
    QVERIFY_OK(accepted);
    std::optional<TcpStream> s2(std::move(accepted->stream));
    QVERIFY_OK(poll->registry().add(*s2, Token(2), Interest::WRITABLE));
    QVERIFY(poll_until_some(*poll, events));
    QCOMPARE(events.size(), std::size_t{1});
    QCOMPARE(events[0].token(), Token(2));

    QVERIFY_OK(write_all(*s2, bytes("\x01\x02\x03\x04")));
    if (deregister)
      QVERIFY_OK(poll->registry().remove(*s2));
    else
      s2.reset();

    QVERIFY_OK(poll->registry().modify(*s, Token(3), Interest::READABLE));
    QVERIFY(poll_until_some(*poll, events));
    QCOMPARE(events.size(), std::size_t{1});
    QCOMPARE(events[0].token(), Token(3));

    std::array<std::byte, 10> buf{};
    EXPECT_READ(s->read(buf), buf, "\x01\x02\x03\x04");
  }
};

QTEST_GUILESS_MAIN(TestTcp)
#include "tst_tcp.moc"
