// Attaching to another process (docs/attach.md, level 1): the /proc parsers against this
// process's own epoll instance and sockets, and the engine's cmd::Attach against a real
// Python epoll program (tests/attach/epoll_target.py) whose registrations and changes the
// recorded sources must match.
#include <QtTest>

#include <fcntl.h>

#include <filesystem>
#include <array>
#include <fstream>
#include <span>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "attach_target.h"
#include "engine_util.h"
#include "poll_thread_util.h"
#include "ready/attach/process.h"
#include "ready/attach/procfs.h"
#include "ready/net/tcp.h"
#include "ready/net/udp.h"
#include "ready/poll.h"
#include "ready/unix/eventfd.h"

using namespace ready;
using namespace ready::test;
using namespace ready::capture;
using namespace std::chrono_literals;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string self_fd(int fd, const char* dir = "fdinfo") {
  return "/proc/self/" + std::string(dir) + "/" + std::to_string(fd);
}

std::uint64_t inode_of(int fd) {
  return attach::classify_link(std::filesystem::read_symlink(self_fd(fd, "fd")).string()).inode;
}

/// The attached sources' records of process `pid`.
std::vector<Record> attached(const std::vector<Record>& rs, int pid) {
  std::vector<Record> out;
  for (const Record& r : rs)
    if (r.attached_pid() == pid) out.push_back(r);
  return out;
}

/// The live (added, not removed) attached registration for descriptor `fd`, if any.
std::optional<Record> live(const std::vector<Record>& rs, int pid, int fd) {
  std::optional<Record> last;
  for (const Record& r : attached(rs, pid)) {
    if (r.fd != fd) continue;
    if (r.kind == RecordKind::source_removed)
      last.reset();
    else
      last = r;
  }
  return last;
}

}  // namespace

class TstAttach : public QObject {
  Q_OBJECT

 private slots:
  // ---- the parsers, on this process's own kernel objects ----

  void fdinfo_of_own_epoll() {
    auto poll = Poll::create();
    QVERIFY_OK(poll);
    auto l = net::TcpListener::bind(net::SocketAddr::loopback_v4());
    QVERIFY_OK(l);
    auto e = unix::EventFd::create(0, false);
    QVERIFY_OK(e);
    QVERIFY_OK(poll->registry().add(*l, Token(7), Interest::READABLE, Trigger::level));
    QVERIFY_OK(poll->registry().add(*e, Token(0x1234'5678'9abcULL), Interest::READABLE | Interest::WRITABLE,
                                    Trigger::oneshot));
    auto info = attach::parse_fdinfo(slurp(self_fd(poll->as_raw_fd())));
    QVERIFY2(info, info ? "" : info.error().c_str());
    QCOMPARE(info->entries.size(), 2u);
    const auto find = [&](int fd) -> const attach::EpollEntry* {
      for (const auto& x : info->entries)
        if (x.tfd == fd) return &x;
      return nullptr;
    };
    const attach::EpollEntry* le = find(l->as_raw_fd());
    const attach::EpollEntry* ee = find(e->as_raw_fd());
    QVERIFY(le && ee);
    QCOMPARE(le->data, 7u);
    // ready::Poll asks readable as IN|RDHUP (mio's rule), level: no ET.
    QCOMPARE(le->events & ~attach::kEpollAlways, attach::kEpollIn | attach::kEpollRdHup);
    QCOMPARE(ee->data, 0x1234'5678'9abcULL);
    QCOMPARE(ee->events & attach::kEpollOneshot, attach::kEpollOneshot);
    // Linux >= 4.13 names the file: the listener's inode is its socket's.
    QVERIFY(le->ino.has_value());
    QCOMPARE(*le->ino, inode_of(l->as_raw_fd()));
    // The kernel adds ERR|HUP to every mask; the text marks them.
    QCOMPARE(le->events & attach::kEpollAlways, attach::kEpollAlways);
    QVERIFY(attach::mask_text(le->events).ends_with("+ERR|HUP"));
    QCOMPARE(attach::mask_text(le->events), std::string("IN|RDHUP +ERR|HUP"));
    QVERIFY(attach::mask_text(ee->events).starts_with("IN|OUT|RDHUP|ONESHOT"));
  }

  void fdinfo_tolerates_old_and_new_kernels_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("entries");
    QTest::addColumn<bool>("has_ino");
    QTest::newRow("3.8 (no pos, ino, sdev)") << "pos:\t0\nflags:\t02\nmnt_id:\t9\ntfd:        5 events:       19 data:                5\n" << 1 << false;
    QTest::newRow("4.13+") << "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\ntfd:        5 events:       19 data:                5  pos:0 ino:1d5f sdev:8\n" << 1 << true;
    QTest::newRow("an unknown key and line") << "tfd: 5 events: 19 data: 5 pos:0 ino:1d5f sdev:8 future:7\nnewline:\tx\n" << 1 << true;
    QTest::newRow("empty instance") << "pos:\t0\nflags:\t02\n" << 0 << false;
  }
  void fdinfo_tolerates_old_and_new_kernels() {
    QFETCH(QString, text);
    QFETCH(int, entries);
    QFETCH(bool, has_ino);
    auto info = attach::parse_fdinfo(text.toStdString());
    QVERIFY2(info, info ? "" : info.error().c_str());
    QCOMPARE(static_cast<int>(info->entries.size()), entries);
    if (entries > 0) {
      QCOMPARE(info->entries[0].tfd, 5);
      QCOMPARE(info->entries[0].events, 0x19u);
      QCOMPARE(info->entries[0].ino.has_value(), has_ino);
    }
  }

  void fdinfo_bad_lines_are_errors() {
    for (const char* bad : {"tfd: 5 events: 19\n", "tfd: x events: 19 data: 5\n", "tfd: 5 events: 1ffffffff data: 5\n",
                            "pos:\tnope\n", "tfd: 5 events: 19 data: 5 ino:zz\n"}) {
      auto info = attach::parse_fdinfo(bad);
      QVERIFY2(!info, bad);
      QVERIFY2(info.error().starts_with("line 1: "), info.error().c_str());
    }
  }

  void net_tables_name_own_sockets() {
    auto l4 = net::TcpListener::bind(net::SocketAddr::loopback_v4());
    auto l6 = net::TcpListener::bind(net::SocketAddr::loopback_v6());
    auto u = net::UdpSocket::bind(net::SocketAddr::loopback_v4());
    QVERIFY_OK(l4);
    QVERIFY_OK(u);
    attach::NetTables net;
    bool read = false;
    const attach::Resolved r4 = attach::describe_fd(os_pid(), l4->as_raw_fd(), net, read);
    QVERIFY(read);
    QCOMPARE(r4.kind, SourceKind::tcp_listener);
    QCOMPARE(r4.local, l4->local_addr()->to_string());
    QCOMPARE(r4.peer, std::string());
    if (l6) {  // a machine without IPv6 loopback has no tcp6 listener to find
      const attach::Resolved r6 = attach::describe_fd(os_pid(), l6->as_raw_fd(), net, read);
      QCOMPARE(r6.kind, SourceKind::tcp_listener);
      QCOMPARE(r6.local, l6->local_addr()->to_string());
    }
    const attach::Resolved ru = attach::describe_fd(os_pid(), u->as_raw_fd(), net, read);
    QCOMPARE(ru.kind, SourceKind::udp);
    QCOMPARE(ru.local, u->local_addr()->to_string());
    // A connected stream: both ends named.
    auto c = net::TcpStream::connect(*l4->local_addr());
    QVERIFY_OK(c);
    QVERIFY(wait_writable(c->as_raw_fd()));
    attach::NetTables fresh;
    bool fresh_read = false;
    const attach::Resolved rc = attach::describe_fd(os_pid(), c->as_raw_fd(), fresh, fresh_read);
    QCOMPARE(rc.kind, SourceKind::tcp_stream);
    QCOMPARE(rc.local, c->local_addr()->to_string());
    QCOMPARE(rc.peer, l4->local_addr()->to_string());
    // A pipe's ends are told by their open flags; an eventfd by its link.
    auto e = unix::EventFd::create(0, false);
    QVERIFY_OK(e);
    QCOMPARE(attach::describe_fd(os_pid(), e->as_raw_fd(), net, read).kind, SourceKind::eventfd);
  }

  void net_table_bad_lines_are_errors() {
    const std::string header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
    QVERIFY(attach::parse_inet_table(header, false));
    QVERIFY(!attach::parse_inet_table(header + "   0: 0100007F:ZZZZ 00000000:0000 0A 0:0 0:0 0 0 0 1\n", false));
    QVERIFY(!attach::parse_inet_table(header + "garbage\n", false));
    QVERIFY(!attach::parse_unix_table("Num RefCount\nnope\n"));
  }

  // ---- the engine, attached to a real Python epoll program ----

  void attach_follows_registrations() {
    AttachTarget t;
    QVERIFY2(t.start(), "python3 epoll_target.py did not start");
    START_ENGINE(eng, c);
    QVERIFY_OK(eng.submit(cmd::Attach{t.pid(), 5ms}));
    const int pid = t.pid();
    QVERIFY(c.wait_for(seen(is_action(Token(0), Op::attach, Outcome::ok))));
    // The three registrations it said it made, with their masks and its data (= the fd).
    QStringList regs = t.lines.filter(QStringLiteral("registered "));
    QCOMPARE(regs.size(), 3);
    for (const QString& line : regs) {
      const int fd = line.section(' ', 1, 1).toInt();
      const std::uint32_t ev = line.section(' ', 2, 2).toUInt(nullptr, 16);
      QVERIFY2(c.wait_for([&](const auto& rs) { return live(rs, pid, fd).has_value(); }), qPrintable(line));
      const Record r = *live(c.records, pid, fd);
      QCOMPARE(r.attached_events() & ~attach::kEpollAlways, ev);
      QCOMPARE(r.attached_data() & 0xffff'ffffu, static_cast<std::uint64_t>(fd));
    }
    // The listener is named by its address.
    bool listener = false;
    for (const Record& r : attached(c.records, pid)) {
      if (r.kind != RecordKind::source_added || r.source_kind() != SourceKind::tcp_listener) continue;
      auto info = eng.source_info(Token(static_cast<std::size_t>(r.token)));
      QVERIFY(info);
      QCOMPARE(info->local, "127.0.0.1:" + std::to_string(t.port));
      listener = true;
    }
    QVERIFY(listener);

    // A connection it accepts: a tcp_stream registered IN|RDHUP|ET, its peer our address.
    auto client = plain_connect(*net::SocketAddr::parse("127.0.0.1:" + std::to_string(t.port)));
    QVERIFY_OK(client);
    const QString acc = t.expect(QStringLiteral("registered "));
    QVERIFY(!acc.isEmpty());
    const int cfd = acc.section(' ', 1, 1).toInt();
    QVERIFY(c.wait_for([&](const auto& rs) { return live(rs, pid, cfd).has_value(); }));
    const Record conn = *live(c.records, pid, cfd);
    QCOMPARE(conn.source_kind(), SourceKind::tcp_stream);
    QCOMPARE(SourceBits::unpack(conn.bits).trigger, Trigger::edge);
    QVERIFY(conn.attached_events() & attach::kEpollRdHup);
    auto cinfo = eng.source_info(Token(static_cast<std::size_t>(conn.token)));
    QVERIFY(cinfo);
    QCOMPARE(cinfo->peer, local_address(client->get()).to_string());

    // A modification: the same token, source_changed with the new mask.
    QVERIFY(t.send("mod"));
    const QString mod = t.expect(QStringLiteral("modified "));
    const int efd = mod.section(' ', 1, 1).toInt();
    const std::uint32_t mod_ev = mod.section(' ', 2, 2).toUInt(nullptr, 16);
    QVERIFY(c.wait_for(seen([&](const Record& r) {
      return r.kind == RecordKind::source_changed && r.attached_pid() == pid && r.fd == efd &&
             (r.attached_events() & ~attach::kEpollAlways) == mod_ev;
    })));
    QVERIFY(SourceBits::unpack(live(c.records, pid, efd)->bits).interest.is_writable());

    // Unregistered: source_removed.
    QVERIFY(t.send("unreg"));
    QVERIFY(!t.expect(QStringLiteral("unregistered ")).isEmpty());
    QVERIFY(c.wait_for([&](const auto& rs) { return !live(rs, pid, efd).has_value(); }));
    // The client hangs up: the program closes its end: removed too.
    client->reset();
    QVERIFY(!t.expect(QStringLiteral("closed ")).isEmpty());
    QVERIFY(c.wait_for([&](const auto& rs) { return !live(rs, pid, cfd).has_value(); }));

    // Every token named one registration: added once, removed at most once.
    std::map<std::uint64_t, int> added, removed;
    for (const Record& r : attached(c.records, pid)) {
      if (r.kind == RecordKind::source_added) ++added[r.token];
      if (r.kind == RecordKind::source_removed) ++removed[r.token];
    }
    for (const auto& [tok, n] : added) QCOMPARE(n, 1);
    for (const auto& [tok, n] : removed) QCOMPARE(n, 1);

    // Detach: every live one removed, then the detach action.
    QVERIFY_OK(eng.submit(cmd::Detach{pid}));
    QVERIFY(c.wait_for(seen(is_action(Token(0), Op::detach, Outcome::ok))));
    for (const QString& line : t.lines.filter(QStringLiteral("registered "))) {
      const int fd = line.section(' ', 1, 1).toInt();
      QVERIFY(!live(c.records, pid, fd).has_value());
    }
    QVERIFY(t.proc.state() == QProcess::Running);  // unharmed
  }

  void two_epoll_instances() {
    AttachTarget t;
    QVERIFY(t.start({QStringLiteral("--second-epoll")}));
    const QString second = t.lines.filter(QStringLiteral("second ")).value(0);
    QVERIFY(!second.isEmpty());
    const int epfd2 = second.section(' ', 1, 1).toInt();
    const int rfd = second.section(' ', 2, 2).toInt();
    START_ENGINE(eng, c);
    QVERIFY_OK(eng.submit(cmd::Attach{t.pid(), 5ms}));
    QVERIFY(c.wait_for([&](const auto& rs) { return live(rs, t.pid(), rfd).has_value(); }));
    const Record r = *live(c.records, t.pid(), rfd);
    QCOMPARE(r.attached_epoll_fd(), epfd2);
    QCOMPARE(r.source_kind(), SourceKind::pipe_receiver);
    QCOMPARE(SourceBits::unpack(r.bits).trigger, Trigger::oneshot);
    // The first instance's registrations name another epoll fd.
    const QString listener = t.lines.filter(QStringLiteral("registered ")).value(0);
    const int lfd = listener.section(' ', 1, 1).toInt();
    QVERIFY(c.wait_for([&](const auto& rs) { return live(rs, t.pid(), lfd).has_value(); }));
    QVERIFY(live(c.records, t.pid(), lfd)->attached_epoll_fd() != epfd2);
  }

  void process_exits_mid_capture() {
    AttachTarget t;
    QVERIFY(t.start());
    const int pid = t.pid();
    START_ENGINE(eng, c);
    QVERIFY_OK(eng.submit(cmd::Attach{pid, 5ms}));
    QVERIFY(c.wait_for([&](const auto& rs) { return attached(rs, pid).size() >= 3; }));
    QVERIFY(t.send("exit"));
    QVERIFY(c.wait_for(seen(is_action(Token(0), Op::detach, Outcome::eof))));
    // Before the detach: a note, and every registration removed.
    const std::size_t at = *c.find(is_action(Token(0), Op::detach, Outcome::eof));
    std::set<std::uint64_t> open_tokens;
    for (std::size_t i = 0; i < at; ++i) {
      const Record& r = c.records[i];
      if (r.attached_pid() != pid) continue;
      if (r.kind == RecordKind::source_added) open_tokens.insert(r.token);
      if (r.kind == RecordKind::source_removed) open_tokens.erase(r.token);
    }
    QVERIFY(open_tokens.empty());
    QCOMPARE(c.records[at].value, static_cast<std::uint64_t>(pid));
    bool noted = false;
    for (std::size_t i = 0; i < at; ++i)
      if (c.records[i].kind == RecordKind::note) {
        const auto text = eng.note_text(c.records[i].note_id());
        noted = noted || (text && text->find("exited") != std::string::npos);
      }
    QVERIFY(noted);
    // Nothing more about it.
    QVERIFY(await_witness(eng, c));
    QCOMPARE(std::count_if(c.records.begin() + static_cast<std::ptrdiff_t>(at), c.records.end(),
                           [&](const Record& r) { return r.attached_pid() == pid; }),
             0);
  }

  void refusals() {
    START_ENGINE(eng, c);
    // No such process (a pid above pid_max).
    QVERIFY_OK(eng.submit(cmd::Attach{0x7fff'fff0, 50ms}));
    QVERIFY(c.wait_for(seen(is_action(Token(0), Op::attach, Outcome::error))));
    QCOMPARE(c.records[*c.find(is_action(Token(0), Op::attach, Outcome::error))].err, ESRCH);
    const auto message = attach::inspect_process(0x7fff'fff0);
    QVERIFY(!message);
    QCOMPARE(message.error().message, "no process with id " + std::to_string(0x7fff'fff0));
    // A bad interval, a second attach to the same process, a detach of none.
    AttachTarget t;
    QVERIFY(t.start());
    c.records.clear();
    QVERIFY_OK(eng.submit(cmd::Attach{t.pid(), 0ms}));
    QVERIFY_OK(eng.submit(cmd::Attach{t.pid(), 50ms}));
    QVERIFY_OK(eng.submit(cmd::Attach{t.pid(), 50ms}));
    QVERIFY_OK(eng.submit(cmd::Detach{os_pid()}));
    QVERIFY(c.wait_for(seen(is_action(Token(0), Op::detach, Outcome::error))));
    std::vector<int> errs;
    for (const Record& r : c.records)
      if (r.kind == RecordKind::action && r.token == 0) errs.push_back(r.outcome == Outcome::ok ? 0 : r.err);
    QCOMPARE(errs, (std::vector<int>{EINVAL, 0, EBUSY, EBADF}));
  }

  // Level 2: what the program's epoll_wait returned, as readiness on the registrations' lanes.
  void trace_records_the_readiness_it_returned() {
    AttachTarget t;
    QVERIFY(t.start());
    const int pid = t.pid();
    START_ENGINE(eng, c);
    cmd::Attach a{pid, 50ms, true, true, {}};
    QVERIFY_OK(eng.submit(a));
    QVERIFY(c.wait_for(seen(is_action(Token(0), Op::attach))));
    const Record res = c.records[*c.find(is_action(Token(0), Op::attach))];
    if (res.outcome != Outcome::ok) QSKIP(qPrintable(QStringLiteral("ptrace refused here: errno %1").arg(res.err)));
    const QString lfd = t.lines.filter(QStringLiteral("registered ")).value(0).section(' ', 1, 1);
    QVERIFY(c.wait_for([&](const auto& rs) { return live(rs, pid, lfd.toInt()).has_value(); }));
    const std::uint64_t listener = live(c.records, pid, lfd.toInt())->token;
    // One accept and five echoes: each is an event the program's epoll_wait returned.
    auto client = plain_connect(*net::SocketAddr::parse("127.0.0.1:" + std::to_string(t.port)));
    QVERIFY_OK(client);
    const int cfd = t.expect(QStringLiteral("registered ")).section(' ', 1, 1).toInt();
    std::array<std::byte, 16> buf{};
    for (int i = 0; i < 5; ++i) {
      const std::string msg = "ping " + std::to_string(i);
      QVERIFY_OK(plain_send(client->get(), std::as_bytes(std::span(msg))));
      auto n = plain_recv(client->get(), buf);
      QVERIFY_OK(n);
      QCOMPARE(*n, msg.size());
    }
    // The program's edge-triggered loop reads each event's data until EAGAIN, so (once it is
    // idle) each readiness it got on the connection is followed by exactly one would-block
    // read: a traced program may take several messages in one wake-up, never one in two.
    const std::uint64_t conn = [&] {
      std::optional<Record> r;
      (void)c.wait_for([&](const auto& rs) { return (r = live(rs, pid, cfd)).has_value(); });
      return r ? r->token : 0;
    }();
    QVERIFY(conn != 0);
    const auto count = [&](auto pred) { return std::count_if(c.records.begin(), c.records.end(), pred); };
    const auto events = [&] {
      return count([&](const Record& r) { return r.kind == RecordKind::readiness && r.token == conn; });
    };
    const auto would_blocks = [&] {
      return count([&](const Record& r) {
        return r.kind == RecordKind::action && r.token == conn && r.action_op() == Op::read &&
               r.outcome == Outcome::would_block;
      });
    };
    QVERIFY(c.wait_for([&](const auto&) { return events() >= 1 && events() == would_blocks(); }));
    QVERIFY(seen([&](const Record& r) { return r.kind == RecordKind::readiness && r.token == listener; })(c.records));
    // --trace-io: its recv and send on the connection, as actions on that lane.
    QVERIFY(c.wait_for(seen([&](const Record& r) {
      return r.kind == RecordKind::action && r.token == conn && r.action_op() == Op::write && r.value == 6;
    })));
    // Detached: it runs on and still echoes.
    QVERIFY_OK(eng.submit(cmd::Detach{pid}));
    QVERIFY(c.wait_for(seen(is_action(Token(0), Op::detach, Outcome::ok))));
    const std::string after = "after";
    QVERIFY_OK(plain_send(client->get(), std::as_bytes(std::span(after))));
    auto n = plain_recv(client->get(), buf);
    QVERIFY_OK(n);
    QCOMPARE(*n, after.size());
    QVERIFY(t.proc.state() == QProcess::Running);
  }

  void permission_denied_by_injection() {
    // A real other-user process is tried by tst_cli_attach (setpriv); here the poll thread's
    // open of /proc/PID/fd fails with EACCES through the syscall layer's test hook.
    AttachTarget t;
    QVERIFY(t.start());
    FaultGuard guard;
    START_ENGINE(eng, c);
    const pid_t tid = wait_poll_thread();
    QVERIFY(tid != 0);
    // open(2) is variadic: named by its address, as the syscall layer names it.
    QVERIFY(sys::fault::inject(reinterpret_cast<sys::fault::Fn>(&::open), EACCES, 1, tid));
    QVERIFY_OK(eng.submit(cmd::Attach{t.pid(), 50ms}));
    QVERIFY(c.wait_for(seen(is_action(Token(0), Op::attach))));
    const Record r = c.records[*c.find(is_action(Token(0), Op::attach))];
    QCOMPARE(r.outcome, Outcome::error);
    QCOMPARE(r.err, EACCES);
    QCOMPARE(attached(c.records, t.pid()).size(), 0u);
  }

 private:
  static int os_pid() { return static_cast<int>(QCoreApplication::applicationPid()); }
};

QTEST_GUILESS_MAIN(TstAttach)
#include "tst_attach.moc"
