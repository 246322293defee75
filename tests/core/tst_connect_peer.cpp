// A connect names its peer (issue 14, behaviour 4): the target while the connect is in
// progress or after it failed, the kernel's view (getpeername) once it is made; the recording
// writer asks again at each source line, the reader carries no field from one line to the
// next, and an action's datagram "peer" round-trips.
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "engine_util.h"
#include "ready/capture/recording.h"
#include "ready/capture/store.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;
using namespace std::chrono_literals;

namespace {

/// A loopback TCP listener with backlog 0 whose accept queue holds one connection that is
/// never accepted: the kernel drops every further SYN, so a connect to it stays in progress.
struct FullListener {
  OwnedFd listener;
  OwnedFd filler;
  net::SocketAddr addr;
};

io_result<FullListener> full_listener() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::unexpected(last_error());
  FullListener f{OwnedFd(fd), {}, {}};
  const net::SocketAddr any = any_local_address();
  if (::bind(fd, any.as_sockaddr(), any.len()) != 0 || ::listen(fd, 0) != 0) return std::unexpected(last_error());
  f.addr = local_address(fd);
  auto c = plain_connect(f.addr);  // completes into the accept queue, which is then full
  if (!c) return std::unexpected(c.error());
  f.filler = std::move(*c);
  return f;
}

std::vector<QJsonObject> lines_of(const QString& path) {
  QFile f(path);
  std::vector<QJsonObject> out;
  if (!f.open(QIODevice::ReadOnly)) return out;
  while (!f.atEnd()) out.push_back(QJsonDocument::fromJson(f.readLine()).object());
  return out;
}

Record source(RecordKind k, std::uint64_t token) {
  Record r;
  r.kind = k;
  r.token = token;
  r.fd = 7;
  r.op = static_cast<std::uint8_t>(SourceKind::tcp_stream);
  r.bits = SourceBits{Interest::READABLE, Trigger::edge, Reaction::none}.pack();
  return r;
}

}  // namespace

class TestConnectPeer : public CoreTest {
  Q_OBJECT

 private slots:
  // A connect that cannot complete (the listener's queue is full): its peer is the target.
  void connect_in_progress_names_its_target() {
    auto full = full_listener();
    QVERIFY_OK(full);
    START_ENGINE(eng, c);
    auto t = eng.submit(cmd::TcpConnect{full->addr, with(Reaction::none)});
    QVERIFY_OK(t);
    QVERIFY(c.wait_for(seen(is_action(t->token, Op::connect, Outcome::in_progress))));
    QVERIFY(!c.find(is_action(t->token, Op::connect, Outcome::ok)));
    const auto info = eng.source_info(t->token);
    QVERIFY(info);
    QCOMPARE(info->peer, full->addr.to_string());
    eng.stop();
  }

  // A refused connect keeps naming what it tried to reach (the kernel names no peer).
  void refused_connect_keeps_its_target() {
    const net::SocketAddr target = closed_port();
    START_ENGINE(eng, c);
    auto t = eng.submit(cmd::TcpConnect{target, with(Reaction::none)});
    QVERIFY_OK(t);
    QVERIFY(c.wait_for(seen(is_action(t->token, Op::connect, Outcome::error))));
    QCOMPARE(c.records[*c.find(is_action(t->token, Op::connect, Outcome::error))].err, ECONNREFUSED);
    const auto info = eng.source_info(t->token);
    QVERIFY(info);
    QCOMPARE(info->peer, target.to_string());
    eng.stop();
  }

  // A connect made: the kernel's view, which is the listener's address.
  void made_connect_names_the_kernels_peer() {
    auto l = plain_listener(any_local_address());
    QVERIFY_OK(l);
    const net::SocketAddr addr = local_address(l->get());
    START_ENGINE(eng, c);
    auto t = eng.submit(cmd::TcpConnect{addr, with(Reaction::none)});
    QVERIFY_OK(t);
    QVERIFY(c.wait_for(seen(is_action(t->token, Op::connect, Outcome::ok))));
    const auto info = eng.source_info(t->token);
    QVERIFY(info);
    QCOMPARE(info->peer, addr.to_string());
    QVERIFY(!info->local.empty());
    eng.stop();
  }

  // The writer asks for a source's addresses at each of its lines (a connect's peer changes
  // from its target to the kernel's view) and keeps the last answer once the source is gone.
  void writer_asks_addresses_at_each_source_line() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("a.jsonl"));
    int asked = 0;
    RecordingWriterOptions o;
    o.addresses = [&](std::uint64_t) -> std::optional<SourceAddresses> {
      ++asked;
      if (asked == 1) return SourceAddresses{"127.0.0.1:1", "127.0.0.1:9"};
      if (asked == 2) return SourceAddresses{"127.0.0.1:1", "127.0.0.1:7"};
      return std::nullopt;  // closed
    };
    auto w = RecordingWriter::create(path.toStdString(), std::move(o));
    QVERIFY_OK(w);
    QVERIFY_OK(w->write(source(RecordKind::source_added, 3)));
    QVERIFY_OK(w->write(source(RecordKind::source_changed, 3)));
    QVERIFY_OK(w->write(source(RecordKind::source_removed, 3)));
    QVERIFY_OK(w->close());
    const auto lines = lines_of(path);
    QCOMPARE(lines.size(), std::size_t{4});
    QCOMPARE(lines[1].value(QStringLiteral("peer")).toString(), QStringLiteral("127.0.0.1:9"));
    QCOMPARE(lines[2].value(QStringLiteral("peer")).toString(), QStringLiteral("127.0.0.1:7"));
    QCOMPARE(lines[3].value(QStringLiteral("peer")).toString(), QStringLiteral("127.0.0.1:7"));
    QCOMPARE(lines[3].value(QStringLiteral("local")).toString(), QStringLiteral("127.0.0.1:1"));
  }

  // A source line with only "local" has no peer: nothing carries over from the line before.
  void reader_carries_no_field_to_the_next_line() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("r.jsonl"));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(R"({"type":"header","format":"readyscope-recording","version":1,"started":"2026-01-01T00:00:00Z"}
{"type":"source","t_ns":1,"event":"added","token":1,"fd":5,"kind":"tcp_stream","local":"127.0.0.1:1","peer":"127.0.0.1:2","interest":["readable"],"mode":"edge","reaction":"none"}
{"type":"source","t_ns":2,"event":"added","token":2,"fd":6,"kind":"tcp_listener","local":"127.0.0.1:3","interest":["readable"],"mode":"edge","reaction":"none"}
{"type":"source","t_ns":3,"event":"added","token":3,"fd":7,"kind":"tcp_stream","peer":"127.0.0.1:4","interest":["readable"],"mode":"edge","reaction":"none"}
)");
    f.close();
    RecordStore store;
    auto info = load_recording(path.toStdString(), store);
    QVERIFY2(info, info ? "" : info.error().message().c_str());
    QCOMPARE(info->sources.at(1).peer, std::string("127.0.0.1:2"));
    QCOMPARE(info->sources.at(2).local, std::string("127.0.0.1:3"));
    QCOMPARE(info->sources.at(2).peer, std::string());
    QCOMPARE(info->sources.at(3).local, std::string());
    QCOMPARE(info->sources.at(3).peer, std::string("127.0.0.1:4"));
  }

  // Datagram actions' peers: written as "peer" through the writer's lookup, read back into
  // RecordingInfo::peers with the action's Record::peer_id naming them.
  void action_peer_round_trips() {
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("p.jsonl"));
    RecordingWriterOptions o;
    o.peer_text = [](std::uint64_t id) -> std::optional<std::string> {
      if (id == 1) return "127.0.0.1:4000";
      if (id == 2) return "/tmp/dg \"client\"";
      return std::nullopt;
    };
    std::vector<Record> rs;
    for (const std::uint32_t peer : {1u, 2u, 1u, 0u}) {
      Record r;
      r.kind = RecordKind::action;
      r.token = 4;
      r.fd = 9;
      r.op = static_cast<std::uint8_t>(Op::read);
      r.value = 10 + peer;
      r.bits = peer;
      rs.push_back(r);
    }
    {
      auto w = RecordingWriter::create(path.toStdString(), std::move(o));
      QVERIFY_OK(w);
      QVERIFY_OK(w->write(std::span<const Record>(rs)));
      QVERIFY_OK(w->close());
    }
    const auto lines = lines_of(path);
    QCOMPARE(lines[1].value(QStringLiteral("peer")).toString(), QStringLiteral("127.0.0.1:4000"));
    QVERIFY(!lines[4].contains(QStringLiteral("peer")));
    RecordStore store;
    auto info = load_recording(path.toStdString(), store);
    QVERIFY2(info, info ? "" : info.error().message().c_str());
    QCOMPARE(store.size(), std::size_t{4});
    for (std::size_t i = 0; i < 4; ++i) {
      const Record back = store.at(store.begin_index() + i);
      QCOMPARE(back, rs[i]);  // ids given in first-appearance order, as the engine gives them
    }
    QCOMPARE(info->peers.at(1), std::string("127.0.0.1:4000"));
    QCOMPARE(info->peers.at(2), std::string("/tmp/dg \"client\""));
  }
};

QTEST_GUILESS_MAIN(TestConnectPeer)
#include "tst_connect_peer.moc"
