// The README's library example ("Using the library"), built with the tree so it cannot rot.
// It links ready::io alone: no capture engine, no JSON, no Qt.
#include <ready/ready.h>

#include <cstdio>
#include <vector>

int main() {
  using namespace ready;
  constexpr Token kServer{0};

  Poll poll = Poll::create().value();  // value() throws if the call failed
  Events events(128);

  net::TcpListener listener = net::TcpListener::bind(net::SocketAddr::loopback_v4(0)).value();
  poll.registry().add(listener, kServer, Interest::READABLE).value();  // edge-triggered by default
  std::printf("listening on %s\n", listener.local_addr().value().to_string().c_str());

  std::vector<net::TcpStream> connections;
  for (;;) {
    if (auto n = poll.poll(events, std::nullopt); !n) {
      if (n.error() == std::errc::interrupted) continue;  // a signal arrived; poll again
      std::fprintf(stderr, "poll: %s\n", n.error().message().c_str());
      return 1;
    }
    for (const Event& event : events) {
      if (event.token() != kServer) continue;
      // Edge-triggered: accept until would-block, or the connections still pending
      // would never produce another event.
      for (;;) {
        auto accepted = listener.accept();
        if (is_would_block(accepted)) break;
        if (!accepted) {
          std::fprintf(stderr, "accept: %s\n", accepted.error().message().c_str());
          break;
        }
        std::printf("connection from %s\n", accepted->peer.to_string().c_str());
        connections.push_back(std::move(accepted->stream));
      }
    }
  }
}
