// A real capture written to a recording, for the suites that check what such a file holds
// (tst_recording, tst_export): an engine, a listener echoing to one loopback client, a note.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "peer.h"
#include "ready/capture/engine.h"
#include "ready/capture/recording.h"
#include "ready_test.h"

namespace ready::test {

/// Starts an engine with a TCP listener (echo) and the note `note`; a client connects, sends
/// each of `messages` (5 bytes each) and reads its echo, then closes. Once its close has
/// reached the capture (the echo's read of the stream ends in end-of-file or an error) the
/// engine stops. Every record goes to a recording at `path` (with the engine's notes and
/// addresses) and into `records`. Checks at the end that every record the engine produced
/// was delivered or counted as dropped. Fails the current test (QTest::currentTestFailed())
/// when a step does; the caller returns then.
inline void record_echo_capture(const std::string& path, const std::string& note,
                                std::initializer_list<std::string_view> messages,
                                std::vector<capture::Record>& records) {
  using namespace ready::capture;
  using namespace std::chrono_literals;
  auto started = Engine::start();
  QVERIFY_OK(started);
  Engine& eng = **started;
  RecordingWriterOptions o;
  o.note_text = [&](std::uint64_t id) { return eng.note_text(id); };
  o.addresses = [&](std::uint64_t token) -> std::optional<SourceAddresses> {
    auto i = eng.source_info(Token(static_cast<std::size_t>(token)));
    if (!i) return std::nullopt;
    return SourceAddresses{i->local, i->peer};
  };
  auto w = RecordingWriter::create(path, std::move(o));
  QVERIFY_OK(w);
  // Takes the ring's records into `records` and the file; the first failed write, if any
  // (checked by the caller: a QVERIFY in here would only leave the lambda).
  auto pump = [&]() -> io_result<void> {
    (void)eng.notifier().begin_drain();
    std::array<Record, 256> buf{};
    while (const std::size_t n = eng.drain(buf)) {
      records.insert(records.end(), buf.begin(), buf.begin() + n);
      if (auto written = w->write(std::span<const Record>(buf.data(), n)); !written) return written;
    }
    return {};
  };
  auto lt = eng.submit(cmd::TcpListen{any_local_address(), SourceOptions{.reaction = {Reaction::echo}}});
  QVERIFY_OK(lt);
  QVERIFY_OK(eng.submit(cmd::Note{note}));
  std::optional<SourceInfo> info;
  for (Deadline d(kWaitLimit); !(info = eng.source_info(lt->token)) && !d.expired();)
    std::this_thread::sleep_for(1ms);
  QVERIFY(info);
  const auto addr = net::SocketAddr::parse(info->local);
  QVERIFY(addr);
  auto client = plain_connect(*addr);
  QVERIFY_OK(client);
  for (const std::string_view msg : messages) {
    CHECKED_WRITE(plain_send(client->get(), bytes(msg)), 5);
    std::array<std::byte, 16> buf{};
    EXPECT_READ(plain_recv(client->get(), buf), buf, msg);
  }
  QVERIFY_OK(pump());
  client->reset();
  // The client's close reaches the capture before the stop: the echo's read of the
  // accepted stream ends in end-of-file (or a reset), whether in the drain that echoed the
  // last message or on the read_closed event that follows.
  const auto close_seen = [&] {
    return std::any_of(records.begin(), records.end(), [](const Record& r) {
      return r.kind == RecordKind::action && (r.outcome == Outcome::eof || r.outcome == Outcome::error);
    });
  };
  for (Deadline d; !close_seen() && !d.expired();) {
    (void)wait_readable(eng.notifier().as_raw_fd(), 100ms);
    QVERIFY_OK(pump());
  }
  QVERIFY2(close_seen(), "the client's close never reached the capture");
  eng.stop();
  QVERIFY_OK(pump());
  QVERIFY_OK(w->close());
  QCOMPARE(eng.produced(), eng.delivered() + eng.dropped());
}

}  // namespace ready::test
