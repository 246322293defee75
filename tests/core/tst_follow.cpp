// Follow stream (ready/capture/follow.h) on a real relay: a plain client and a plain server
// on loopback talk through cmd::Relay; the conversation is built from the client leg's
// payload and checked against what the two ends sent: order, directions, per-direction
// offsets and counts, the header lines, the text and hex bodies (read back byte for byte),
// and a gap when the payload bound evicted bytes.
#include <QRegularExpression>
#include <QtTest>

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "engine_util.h"
#include "ready/capture/follow.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;
using namespace std::chrono_literals;

namespace {

std::vector<std::byte> bytes_of(std::string_view s) {
  std::vector<std::byte> out(s.size());
  std::transform(s.begin(), s.end(), out.begin(), [](char c) { return static_cast<std::byte>(c); });
  return out;
}

/// A relay from an ephemeral loopback port to a plain listener, one client connected through
/// it and the server's end of its upstream connection.
struct RelayedPair {
  OwnedFd upstream_listener;
  Token listener{0};
  Token client_leg{0};
  OwnedFd client;
  OwnedFd server;
};

/// Reads exactly `n` bytes from a blocking socket (its receive timeout bounds each wait).
std::vector<std::byte> read_exactly(int fd, std::size_t n) {
  std::vector<std::byte> out(n);
  std::size_t got = 0;
  while (got < n) {
    auto r = plain_recv(fd, std::span(out).subspan(got));
    if (!r || *r == 0) break;
    got += *r;
  }
  out.resize(got);
  return out;
}

bool send_all(int fd, std::span<const std::byte> data) {
  for (std::size_t at = 0; at < data.size();) {
    auto r = plain_send(fd, data.subspan(at));
    if (!r) return false;
    at += *r;
  }
  return true;
}

/// Waits until the client leg's payload holds `in` + `out` bytes (the relay wrote them on).
std::optional<PayloadSnapshot> wait_payload(Engine& eng, Token leg, std::uint64_t total) {
  for (Deadline d; !d.expired();) {
    auto s = eng.payload(leg);
    if (s && s->next >= total) return s;
    std::this_thread::sleep_for(5ms);
  }
  return std::nullopt;
}

/// The inverse of follow_text: "\r" "\t" "\\" "\xHH" back to bytes; `added_newline` says the
/// formatter appended a final '\n' that was not in the bytes.
std::vector<std::byte> unescape_text(const std::string& text, bool added_newline) {
  std::string s = added_newline ? text.substr(0, text.size() - 1) : text;
  std::vector<std::byte> out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out.push_back(static_cast<std::byte>(s[i]));
      continue;
    }
    const char e = s.at(++i);
    if (e == 'r') out.push_back(std::byte{'\r'});
    else if (e == 't') out.push_back(std::byte{'\t'});
    else if (e == '\\') out.push_back(std::byte{'\\'});
    else if (e == 'x') {
      out.push_back(static_cast<std::byte>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    }
  }
  return out;
}

/// Reads hexdump -C lines back: checks each line's offset (from `first`, +16 a line) and its
/// ASCII column; the bytes of the hex columns, or a failure message in `error`.
std::vector<std::byte> read_hex(const std::string& dump, std::uint64_t first, std::string& error) {
  static const QRegularExpression line_re(QStringLiteral("^([0-9a-f]{8})  ((?:[0-9a-f]{2} |   ){8}) ((?:[0-9a-f]{2} |   ){8}) \\|(.*)\\|$"));
  std::vector<std::byte> out;
  std::uint64_t expect = first;
  for (const QString& line : QString::fromStdString(dump).split('\n', Qt::SkipEmptyParts)) {
    const auto m = line_re.match(line);
    if (!m.hasMatch()) {
      error = "not a hexdump line: " + line.toStdString();
      return {};
    }
    if (m.captured(1).toULongLong(nullptr, 16) != expect) error = "offset " + m.captured(1).toStdString();
    std::vector<std::byte> row;
    for (const QString& h : (m.captured(2) + m.captured(3)).split(' ', Qt::SkipEmptyParts))
      row.push_back(static_cast<std::byte>(h.toUInt(nullptr, 16)));
    QString ascii;
    for (std::byte b : row) {
      const auto c = static_cast<unsigned char>(b);
      ascii += (c >= 0x20 && c < 0x7f) ? QChar(c) : QChar('.');
    }
    if (ascii != m.captured(4)) error = "ascii column " + m.captured(4).toStdString();
    out.insert(out.end(), row.begin(), row.end());
    expect += 16;
  }
  return out;
}

}  // namespace

class TestFollow : public CoreTest {
  Q_OBJECT

  /// Starts a relay in `eng` to a plain listener and connects a client through it.
  void relay_pair(Engine& eng, Collector& c, RelayedPair& p) {
    auto up = plain_listener(any_local_address());
    QVERIFY_OK(up);
    p.upstream_listener = std::move(*up);
    auto upstream = RelayEndpoint::parse(local_address(p.upstream_listener.get()).to_string());
    QVERIFY(upstream);
    // An ephemeral port (parse wants a port a user would type: 1-65535).
    auto t = eng.submit(cmd::Relay{RelayEndpoint{any_local_address(), {}}, *upstream});
    QVERIFY_OK(t);
    p.listener = t->token;
    QVERIFY(c.wait_for(seen(is_kind(RecordKind::source_added, p.listener))));
    const auto info = eng.source_info(p.listener);
    QVERIFY(info);
    auto addr = net::SocketAddr::parse(info->local);
    QVERIFY(addr);
    auto client = plain_connect(*addr);
    QVERIFY_OK(client);
    p.client = std::move(*client);
    auto server = plain_accept(p.upstream_listener.get());
    QVERIFY_OK(server);
    p.server = std::move(*server);
    const auto is_client_leg = [&](const Record& r) {
      return r.kind == RecordKind::source_added && r.related() == p.listener.value;
    };
    QVERIFY(c.wait_for(seen(is_client_leg)));
    p.client_leg = Token(c.records[*c.find(is_client_leg)].token);
  }

 private slots:
  // A request, its answer and a second request: the conversation has them in time order,
  // each direction's offsets run on from 0 without a hole, the counts are what was sent.
  void conversation_of_a_relayed_exchange() {
    START_ENGINE(eng, c);
    RelayedPair p;
    CHECKED_CALL(relay_pair(eng, c, p));
    const auto request = bytes_of("GET / HTTP/1.1\r\nHost: relay\r\n\r\n");
    const auto response = bytes_of("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhe\x01\xffo");
    const auto second = bytes_of("tab\there, back\\slash\n");

    QVERIFY(send_all(p.client.get(), request));
    QCOMPARE(read_exactly(p.server.get(), request.size()), request);
    QVERIFY(send_all(p.server.get(), response));
    QCOMPARE(read_exactly(p.client.get(), response.size()), response);
    auto first_snap = wait_payload(eng, p.client_leg, request.size() + response.size());
    QVERIFY(first_snap);

    Conversation conv;
    std::vector<FollowItem> items = conv.add(*first_snap);
    QCOMPARE(conv.next(), first_snap->next);
    QVERIFY(conv.add(*first_snap).empty());  // nothing twice

    QVERIFY(send_all(p.client.get(), second));
    QCOMPARE(read_exactly(p.server.get(), second.size()), second);
    auto more = eng.payload(p.client_leg, conv.next());
    for (Deadline d; more && more->next < request.size() + response.size() + second.size() && !d.expired();) {
      std::this_thread::sleep_for(5ms);
      more = eng.payload(p.client_leg, conv.next());
    }
    QVERIFY(more);
    for (auto& it : conv.add(*more)) items.push_back(std::move(it));

    // Each direction's bytes, in order, are what that side sent.
    std::vector<std::byte> client_sent = request;
    client_sent.insert(client_sent.end(), second.begin(), second.end());
    std::vector<std::byte> in, out;
    std::uint64_t last_t = 0;
    std::size_t phase = 0;  // 0: request, 1: response, 2: second request
    for (const FollowItem& it : items) {
      QVERIFY(!it.is_gap());
      QVERIFY(!it.bytes.empty());
      QVERIFY(it.t_ns >= last_t);
      last_t = it.t_ns;
      auto& got = it.direction == Direction::in ? in : out;
      QCOMPARE(it.from, std::uint64_t(got.size()));  // offsets run on within the direction
      QCOMPARE(it.to(), it.from + it.bytes.size() - 1);
      got.insert(got.end(), it.bytes.begin(), it.bytes.end());
      // Causality: the answer came after the whole request, the second request after it.
      if (phase == 0 && it.direction == Direction::out) phase = 1;
      if (phase == 1 && it.direction == Direction::in) phase = 2;
      if (phase == 0) QVERIFY(in.size() <= request.size());
      if (phase == 1) QCOMPARE(in.size(), request.size());
      if (phase == 2) QCOMPARE(out.size(), response.size());
    }
    QCOMPARE(phase, std::size_t{2});
    QCOMPARE(in, client_sent);
    QCOMPARE(out, response);
    QCOMPARE(conv.bytes(Direction::in), std::uint64_t(client_sent.size()));
    QCOMPARE(conv.bytes(Direction::out), std::uint64_t(response.size()));
    QVERIFY(conv.chunks(Direction::in) >= 2);
    QVERIFY(conv.chunks(Direction::out) >= 1);
    QCOMPARE(conv.not_kept(), std::uint64_t{0});

    // Header lines: socat -v's fields, read back and compared with each chunk.
    static const QRegularExpression header_re(
        QStringLiteral("^([<>]) (\\d+)\\.(\\d{6}) s  length=(\\d+) from=(\\d+) to=(\\d+)(?:  connection=(\\S+))?$"));
    for (const FollowItem& it : items) {
      const std::string conn = std::to_string(p.client_leg.value);
      const auto m = header_re.match(QString::fromStdString(follow_header(it, conn)));
      QVERIFY2(m.hasMatch(), follow_header(it, conn).c_str());
      QCOMPARE(m.captured(1), QString(it.direction == Direction::in ? ">" : "<"));
      QCOMPARE(m.captured(2).toULongLong() * 1'000'000 + m.captured(3).toULongLong(), it.t_ns / 1000);
      QCOMPARE(m.captured(4).toULongLong(), std::uint64_t(it.bytes.size()));
      QCOMPARE(m.captured(5).toULongLong(), it.from);
      QCOMPARE(m.captured(6).toULongLong(), it.to());
      QCOMPARE(m.captured(7), QString::fromStdString(conn));
      QVERIFY(!header_re.match(QString::fromStdString(follow_header(it))).hasCaptured(7));

      // Text body: one header line, then the bytes, escaped, readable back exactly.
      const std::string text = follow_format(it, FollowFormat::text);
      const std::size_t nl = text.find('\n');
      QCOMPARE(text.substr(0, nl), follow_header(it));
      const std::string body = text.substr(nl + 1);
      QVERIFY(body.ends_with('\n'));
      const bool added = it.bytes.back() != std::byte{'\n'};
      QCOMPARE(unescape_text(body, added), it.bytes);
      QVERIFY(std::all_of(body.begin(), body.end(),
                          [](char ch) { return ch == '\n' || (ch >= 0x20 && ch < 0x7f); }));
      // Hex body: offsets from the chunk's `from`, the bytes and the ASCII column.
      const std::string hex = follow_format(it, FollowFormat::hex);
      std::string error;
      QCOMPARE(read_hex(hex.substr(hex.find('\n') + 1), it.from, error), it.bytes);
      QVERIFY2(error.empty(), error.c_str());
    }

    // Either leg names the connection by its client leg; the listener names none.
    const auto leg = [&](std::uint64_t t) -> std::optional<FollowLeg> {
      const auto i = c.find(is_kind(RecordKind::source_added, Token(t)));
      if (!i) return std::nullopt;
      const Record& r = c.records[*i];
      return FollowLeg{r.source_kind(), SourceBits::unpack(r.bits).reaction, r.related()};
    };
    const auto is_upstream_added = [&](const Record& r) {
      return r.kind == RecordKind::source_added && r.related() == p.client_leg.value;
    };
    QVERIFY(c.wait_for(seen(is_upstream_added)));  // it may still be in the ring
    const auto upstream_added = c.find(is_upstream_added);
    QVERIFY(upstream_added);
    QCOMPARE(follow_client_leg(c.records[*upstream_added].token, leg), p.client_leg.value);
    QCOMPARE(follow_client_leg(p.client_leg.value, leg), p.client_leg.value);
    QCOMPARE(follow_client_leg(p.listener.value, leg), std::uint64_t{0});
    p.client.reset();
    p.server.reset();
    eng.stop();
  }

  // Every byte value survives the text escape, CR and tab are spelled as socat -v does, and
  // a newline ends a line.
  void text_escapes_every_byte_reversibly() {
    std::vector<std::byte> all(256);
    for (int i = 0; i < 256; ++i) all[static_cast<std::size_t>(i)] = static_cast<std::byte>(i);
    const std::string text = follow_text(all);
    QCOMPARE(unescape_text(text, true), all);
    QVERIFY(text.find("\\r") != std::string::npos);
    QVERIFY(text.find("\\t") != std::string::npos);
    QCOMPARE(std::count(text.begin(), text.end(), '\n'), std::ptrdiff_t{2});  // the 0x0a and the final one
    std::string error;
    QCOMPARE(read_hex(follow_hex(all, 32), 32, error), all);
    QVERIFY2(error.empty(), error.c_str());
    const std::string hex = follow_hex(all);
    QCOMPARE(std::count(hex.begin(), hex.end(), '\n'), std::ptrdiff_t{16});
  }

  // With a small payload bound, what was evicted before the conversation looked becomes one
  // gap line naming the number of bytes; the bytes kept still add up.
  void evicted_bytes_are_a_gap() {
    EngineConfig config;
    config.payload_bytes_per_source = 4096;
    START_ENGINE(eng, c, config);
    RelayedPair p;
    CHECKED_CALL(relay_pair(eng, c, p));
    std::vector<std::byte> big(20000);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::byte>('a' + i % 26);
    QVERIFY(send_all(p.client.get(), big));
    QCOMPARE(read_exactly(p.server.get(), big.size()), big);
    auto snap = wait_payload(eng, p.client_leg, big.size());
    QVERIFY(snap);
    QVERIFY(snap->evicted > 0);

    Conversation conv;
    const auto items = conv.add(*snap);
    QVERIFY(!items.empty());
    QVERIFY(items.front().is_gap());
    QCOMPARE(conv.not_kept(), snap->evicted);
    QCOMPARE(items.front().not_kept, snap->evicted);
    QCOMPARE(follow_header(items.front()),
             "... " + std::to_string(snap->evicted) + " bytes not kept (payload bound) ...");
    QCOMPARE(conv.bytes(Direction::in), std::uint64_t(big.size()) - snap->evicted);
    std::vector<std::byte> kept;
    for (std::size_t i = 1; i < items.size(); ++i) {
      QVERIFY(!items[i].is_gap());
      kept.insert(kept.end(), items[i].bytes.begin(), items[i].bytes.end());
    }
    QVERIFY(std::equal(kept.begin(), kept.end(), big.end() - static_cast<std::ptrdiff_t>(kept.size())));
    p.client.reset();
    p.server.reset();
    eng.stop();
  }
};

QTEST_GUILESS_MAIN(TestFollow)
#include "tst_follow.moc"
