// The source table: rows and states decided from a real engine's records (TCP listen,
// connect, accept, write, shutdown, reset, refused connect; pipes, eventfd, UDP).
#include <QTest>
#include <cerrno>
#include <vector>

#include "session/bridge.h"
#include "models_test_util.h"
#include "peer.h"
#include "ready_test.h"
#include "models/source_table.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;
using ready::ui::Bridge;
using ready::ui::SourceRow;
using ready::ui::SourceState;
using ready::ui::SourceTable;

namespace {

/// Registered after the table: the state of each record's source right after the table saw it.
struct Probe final : ui::RecordObserver {
  explicit Probe(const SourceTable& t) : table(t) {}
  void on_record(const Record& r, std::uint64_t) override {
    const SourceRow* row = table.find(r.token);
    seen.push_back({r, row ? std::optional(row->state) : std::nullopt});
  }
  /// The state right after the first record matching `pred`.
  std::optional<SourceState> state_after(const std::function<bool(const Record&)>& pred) const {
    for (const auto& [r, s] : seen)
      if (pred(r)) return s;
    return std::nullopt;
  }
  const SourceTable& table;
  std::vector<std::pair<Record, std::optional<SourceState>>> seen;
};

SourceTable::Lookup lookup_of(Bridge& b) {
  return [&b](std::uint64_t t) { return b.engine()->source_info(Token(t)); };
}

std::optional<net::SocketAddr> address_of(const SourceTable& t, Token token) {
  const SourceRow* r = t.find(token.value);
  return r ? net::SocketAddr::parse(r->local) : std::nullopt;
}

}  // namespace

/// QCOMPARE-able text of a row's state.
#define QCOMPARE_STATE(table, token, text)                                      \
  do {                                                                          \
    const SourceRow* row_ = (table).find((token).value);                        \
    QVERIFY2(row_ != nullptr, "no row");                                        \
    QCOMPARE(QString::fromStdString(row_->state_text()), QStringLiteral(text)); \
  } while (false)

class TestSourceTable : public CoreTest {
  Q_OBJECT

 private slots:
  void labelNamesTokenKindAndAddresses() {
    SourceRow r;
    r.token = 3;
    r.kind = SourceKind::tcp_stream;
    QCOMPARE(r.label(), std::string("#3 tcp_stream"));
    r.local = "127.0.0.1:7000";
    r.peer = "127.0.0.1:51234";
    QCOMPARE(r.label(), std::string("#3 tcp_stream 127.0.0.1:7000 \u2192 127.0.0.1:51234"));
    r.kind = SourceKind::unix_stream;
    r.local = r.peer = "(unnamed)";  // a socket pair's ends
    QCOMPARE(r.label(), std::string("#3 unix_stream"));
  }

  void tcp_life() {
    START_BRIDGE(bridge, EngineConfig{}, Bridge::Options{});
    SourceTable table(lookup_of(*bridge));
    Probe probe(table);
    bridge->add_observer(&table);
    bridge->add_observer(&probe);

    // A listener.
    auto l = bridge->submit(cmd::TcpListen{net::SocketAddr::loopback_v4(0)});
    QVERIFY_OK(l);
    QTRY_VERIFY_WITH_TIMEOUT(table.find(l->token.value) != nullptr, kUiWaitMs);
    QCOMPARE(table.row_of(l->token.value), 0);
    QCOMPARE_STATE(table, l->token, "listening");
    const auto addr = address_of(table, l->token);
    QVERIFY2(addr.has_value(), table.find(l->token.value)->local.c_str());
    QCOMPARE(table.find(l->token.value)->kind, SourceKind::tcp_listener);
    QVERIFY(table.find(l->token.value)->fd >= 0);

    // A connect: connecting while in progress, connected once the outcome is in.
    auto c = bridge->submit(cmd::TcpConnect{*addr});
    QVERIFY_OK(c);
    QTRY_VERIFY_WITH_TIMEOUT(
        table.find(c->token.value) && table.find(c->token.value)->state == SourceState::connected, kUiWaitMs);
    QCOMPARE(probe.state_after(action_of(c->token, Op::connect, Outcome::in_progress)),
             std::optional(SourceState::connecting));
    QCOMPARE(table.find(c->token.value)->related, std::uint64_t{0});
    QCOMPARE(table.find(c->token.value)->peer, table.find(l->token.value)->local);
    QCOMPARE(table.find(c->token.value)->interest, Interest::READABLE | Interest::WRITABLE);

    // Accept: a new row whose parent is the listener, connected, with both addresses.
    auto a_cmd = bridge->submit(cmd::Accept{l->token});
    QVERIFY_OK(a_cmd);
    std::optional<std::uint64_t> accepted;
    WAIT_RECORD(*bridge, accepted, action_of(l->token, Op::accept, Outcome::ok));
    const Token a(bridge->store().at(*accepted).value);
    QTRY_VERIFY_WITH_TIMEOUT(table.find(a.value) != nullptr, kUiWaitMs);
    const SourceRow& ar = *table.find(a.value);
    QCOMPARE(ar.related, l->token.value);
    QCOMPARE(ar.kind, SourceKind::tcp_stream);
    QCOMPARE_STATE(table, a, "connected");
    QCOMPARE(ar.local, table.find(l->token.value)->local);
    QCOMPARE(ar.peer, table.find(c->token.value)->local);
    QCOMPARE(table.row_of(a.value), 2);  // creation order: listener, client, accepted

    // Write on the client, read on the accepted end: bytes and would-blocks counted.
    QVERIFY_OK(bridge->submit(cmd::Write{c->token, "hello"}));
    std::optional<std::uint64_t> readable;
    WAIT_RECORD(*bridge, readable, kind_of(RecordKind::readiness, a));
    QVERIFY_OK(bridge->submit(cmd::Read{a, 100}));
    QVERIFY_OK(bridge->submit(cmd::Read{a, 100}));
    QTRY_COMPARE_WITH_TIMEOUT(table.find(a.value)->would_blocks, std::uint64_t{1}, kUiWaitMs);
    QCOMPARE(table.find(a.value)->bytes_in, std::uint64_t{5});
    QCOMPARE(table.find(c->token.value)->bytes_out, std::uint64_t{5});
    QVERIFY(table.find(a.value)->events >= 1);
    QCOMPARE(table.find(a.value)->errors, std::uint64_t{0});

    // Shutdown(write) on the client: half-closed there; the accepted end reads EOF.
    QVERIFY_OK(bridge->submit(cmd::ShutdownWrite{c->token}));
    QTRY_COMPARE_WITH_TIMEOUT(table.find(c->token.value)->state, SourceState::half_closed, kUiWaitMs);
    QVERIFY_OK(bridge->submit(cmd::Read{a, 100}));
    QTRY_COMPARE_WITH_TIMEOUT(table.find(a.value)->state, SourceState::half_closed, kUiWaitMs);

    // Close: the row stays, closed, with the engine's final byte counts and a removal time.
    QVERIFY_OK(bridge->submit(cmd::Close{a}));
    QTRY_VERIFY_WITH_TIMEOUT(table.find(a.value)->is_closed(), kUiWaitMs);
    QCOMPARE_STATE(table, a, "closed");
    QVERIFY(*table.find(a.value)->t_removed >= table.find(a.value)->t_added);
    QCOMPARE(table.find(a.value)->bytes_in, std::uint64_t{5});
    QCOMPARE(table.size(), std::size_t{3});
    bridge->stop();
    for (const SourceRow& r : table.rows()) QCOMPARE(r.state, SourceState::closed);
    bridge->remove_observer(&probe);
    bridge->remove_observer(&table);
  }

  // A peer that closes with unread data resets the connection: the other end's next read
  // fails with ECONNRESET and the row says so.
  void reset_is_an_error() {
    START_BRIDGE(bridge, EngineConfig{}, Bridge::Options{});
    SourceTable table(lookup_of(*bridge));
    bridge->add_observer(&table);
    auto l = bridge->submit(cmd::TcpListen{net::SocketAddr::loopback_v4(0)});
    QVERIFY_OK(l);
    QTRY_VERIFY_WITH_TIMEOUT(table.find(l->token.value) != nullptr, kUiWaitMs);
    auto c = bridge->submit(cmd::TcpConnect{*address_of(table, l->token)});
    QVERIFY_OK(c);
    QVERIFY_OK(bridge->submit(cmd::Accept{l->token}));
    std::optional<std::uint64_t> accepted;
    WAIT_RECORD(*bridge, accepted, action_of(l->token, Op::accept, Outcome::ok));
    const Token a(bridge->store().at(*accepted).value);
    QTRY_COMPARE_WITH_TIMEOUT(table.find(c->token.value)->state, SourceState::connected, kUiWaitMs);

    // Data the client never reads, then the client closes: the kernel sends RST.
    QVERIFY_OK(bridge->submit(cmd::Write{a, "unread"}));
    std::optional<std::uint64_t> arrived;
    WAIT_RECORD(*bridge, arrived, [&](const Record& r) {
      return r.kind == RecordKind::readiness && r.token == c->token.value &&
             (readiness_flags(r.bits) & flag_readable);
    });
    QVERIFY_OK(bridge->submit(cmd::Close{c->token}));
    std::optional<std::uint64_t> hup;
    WAIT_RECORD(*bridge, hup, [&](const Record& r) {
      return r.kind == RecordKind::readiness && r.token == a.value && (readiness_flags(r.bits) & flag_error);
    });
    QVERIFY_OK(bridge->submit(cmd::Read{a, 100}));
    QTRY_COMPARE_WITH_TIMEOUT(table.find(a.value)->state, SourceState::error, kUiWaitMs);
    QCOMPARE(table.find(a.value)->err, ECONNRESET);
    QCOMPARE_STATE(table, a, "error ECONNRESET");
    QCOMPARE(table.find(a.value)->errors, std::uint64_t{1});
    QCOMPARE_STATE(table, c->token, "closed");
    // A closed errored source keeps its errno in the text.
    QVERIFY_OK(bridge->submit(cmd::Close{a}));
    QTRY_VERIFY_WITH_TIMEOUT(table.find(a.value)->is_closed(), kUiWaitMs);
    QCOMPARE_STATE(table, a, "closed (ECONNRESET)");
    bridge->remove_observer(&table);
  }

  // A connect to a port nothing listens on: connecting, then error ECONNREFUSED; a misused
  // command (a read of size 0: EINVAL) counts as an error but is not the connection's.
  void refused_connect() {
    START_BRIDGE(bridge, EngineConfig{}, Bridge::Options{});
    SourceTable table(lookup_of(*bridge));
    bridge->add_observer(&table);
    QVERIFY_OK(bridge->submit(cmd::Pipe{}));
    auto c = bridge->submit(cmd::TcpConnect{closed_port()});
    QVERIFY_OK(c);
    QTRY_VERIFY_WITH_TIMEOUT(
        table.find(c->token.value) && table.find(c->token.value)->state == SourceState::error, kUiWaitMs);
    QCOMPARE(table.find(c->token.value)->err, ECONNREFUSED);
    QCOMPARE_STATE(table, c->token, "error ECONNREFUSED");
    bridge->remove_observer(&table);
  }

  // Pipes, eventfd, UDP: their states, partners, and a oneshot's armed flag.
  void other_kinds_and_oneshot() {
    START_BRIDGE(bridge, EngineConfig{}, Bridge::Options{});
    SourceTable table(lookup_of(*bridge));
    bridge->add_observer(&table);
    auto p = bridge->submit(cmd::Pipe{});
    QVERIFY_OK(p);
    auto u = bridge->submit(cmd::UdpBind{net::SocketAddr::loopback_v4(0)});
    QVERIFY_OK(u);
    auto e =
        bridge->submit(cmd::EventFdCreate{0, false, SourceOptions{Interest::READABLE, Trigger::oneshot, {}}});
    QVERIFY_OK(e);
    QTRY_VERIFY_WITH_TIMEOUT(table.find(e->token.value) != nullptr, kUiWaitMs);
    QCOMPARE_STATE(table, p->token, "open");
    QCOMPARE_STATE(table, p->token2, "open");
    QCOMPARE(table.find(p->token.value)->kind, SourceKind::pipe_sender);
    QCOMPARE(table.find(p->token2.value)->kind, SourceKind::pipe_receiver);
    QVERIFY(table.find(p->token.value)->related == p->token2.value ||
            table.find(p->token2.value)->related == p->token.value);
    QCOMPARE_STATE(table, u->token, "bound");
    QVERIFY(!table.find(u->token.value)->local.empty());
    QCOMPARE_STATE(table, e->token, "open");
    QCOMPARE(table.find(e->token.value)->trigger, Trigger::oneshot);
    QVERIFY(table.find(e->token.value)->armed);

    // One event disarms a oneshot; a rearm arms it again (and, still readable, fires).
    (void)table.take_dirty();
    QVERIFY_OK(bridge->submit(cmd::EventFdWrite{e->token, 1}));
    QTRY_COMPARE_WITH_TIMEOUT(table.find(e->token.value)->events, std::uint64_t{1}, kUiWaitMs);
    QVERIFY(!table.find(e->token.value)->armed);
    auto d = table.take_dirty();
    QCOMPARE(d.changed, std::vector<std::size_t>{static_cast<std::size_t>(table.row_of(e->token.value))});
    QCOMPARE(d.first_new, table.size());
    QVERIFY(!d.empty());
    QVERIFY_OK(bridge->submit(cmd::Rearm{e->token}));
    std::optional<std::uint64_t> rearmed;
    WAIT_RECORD(*bridge, rearmed, action_of(e->token, Op::rearm, Outcome::ok));
    QTRY_COMPARE_WITH_TIMEOUT(table.find(e->token.value)->events, std::uint64_t{2}, kUiWaitMs);
    QVERIFY(!table.find(e->token.value)->armed);
    // An interest change re-registers (arms); a reaction change alone does not.
    QVERIFY_OK(bridge->submit(cmd::SetReaction{e->token, ReactionSpec{Reaction::drain}}));
    std::optional<std::uint64_t> changed;
    WAIT_RECORD(*bridge, changed, kind_of(RecordKind::source_changed, e->token));
    QCOMPARE(table.find(e->token.value)->reaction, Reaction::drain);
    QVERIFY(!table.find(e->token.value)->armed);
    bridge->remove_observer(&table);
  }

  // take_dirty: new rows are reported once as new, changed old rows once each, in order.
  void take_dirty_reports_each_change_once() {
    START_BRIDGE(bridge, EngineConfig{}, Bridge::Options{});
    SourceTable table(lookup_of(*bridge));
    bridge->add_observer(&table);
    auto p1 = bridge->submit(cmd::Pipe{});
    QVERIFY_OK(p1);
    QTRY_COMPARE_WITH_TIMEOUT(table.size(), std::size_t{2}, kUiWaitMs);
    auto d = table.take_dirty();
    QCOMPARE(d.first_new, std::size_t{0});
    QCOMPARE(d.end, std::size_t{2});
    QVERIFY(d.changed.empty());  // new rows are not "changed" too
    QVERIFY(table.take_dirty().empty());

    // Two writes to the sender (row 0), one new pipe: row 0 once, rows 2-3 new.
    QVERIFY_OK(bridge->submit(cmd::Write{p1->token, "ab"}));
    QVERIFY_OK(bridge->submit(cmd::Write{p1->token, "cd"}));
    auto p2 = bridge->submit(cmd::Pipe{});
    QVERIFY_OK(p2);
    QTRY_VERIFY_WITH_TIMEOUT(table.size() == 4 && table.find(p1->token.value)->bytes_out == 4, kUiWaitMs);
    d = table.take_dirty();
    QCOMPARE(d.first_new, std::size_t{2});
    QCOMPARE(d.end, std::size_t{4});
    QVERIFY(std::find(d.changed.begin(), d.changed.end(), std::size_t{0}) != d.changed.end());
    QVERIFY(std::is_sorted(d.changed.begin(), d.changed.end()));
    QVERIFY(std::adjacent_find(d.changed.begin(), d.changed.end()) == d.changed.end());
    QCOMPARE(table.row_of(p2->token2.value), 3);
    QCOMPARE(table.row_of(999999), -1);
    bridge->remove_observer(&table);
  }
};

QTEST_MAIN(TestSourceTable)
#include "tst_source_table.moc"
