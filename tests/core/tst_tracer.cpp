// The ptrace Tracer (ready/attach/tracer.h) on a real program: ready-epoll-target
// (tests/support/epoll_target.cpp), plain epoll, which logs what it registers and every event
// it receives. Differential: what the Tracer saw equals the program's own log, attached and
// launched. Also: the edge-triggered partial read seen through the io family, a thread created
// after attach, a nonexistent process, another user's process, and a tracer killed with
// SIGKILL mid-trace (an attached program serves on; a launched one dies with its tracer).
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <QFile>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <algorithm>
#include <array>
#include <chrono>
#include <span>
#include <map>
#include <optional>
#include <cstdlib>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "peer.h"
#include "ready/attach/tracer.h"

extern char** environ;

using ready::attach::TraceEvent;
using ready::attach::TraceOptions;
using ready::attach::Tracer;
using Kind = TraceEvent::Kind;
using namespace std::chrono_literals;

namespace {

const QString kTarget = QStringLiteral(READY_EPOLL_TARGET);
const QString kDump = QStringLiteral(READY_TRACE_DUMP);

/// Every event of a trace until its `detached` event (or the deadline).
std::vector<TraceEvent> collect(Tracer& t, std::chrono::milliseconds limit = 20s) {
  std::vector<TraceEvent> all;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{t.fd(), POLLIN, 0};
    ::poll(&p, 1, 100);
    const std::size_t before = all.size();
    t.drain(all);
    for (std::size_t i = before; i < all.size(); ++i)
      if (all[i].kind == Kind::detached) return all;
  }
  return all;
}

/// The key=value fields of one log line, with the line's first word under "".
std::map<QString, QString> fields(const QString& line) {
  std::map<QString, QString> f;
  const auto words = line.split(' ', Qt::SkipEmptyParts);
  if (!words.isEmpty()) f[QString()] = words.first();
  for (const auto& w : words) {
    const auto eq = w.indexOf('=');
    if (eq > 0) f[w.left(eq)] = w.mid(eq + 1);
  }
  return f;
}

std::uint64_t num(const QString& s) { return s.toULongLong(nullptr, 0); }
long long snum(const QString& s) { return s.toLongLong(nullptr, 0); }

/// The program's own account, and the same facts taken from a trace, in comparable form.
struct Account {
  // (epfd, data) -> the events epoll_wait handed over for that registration, in order.
  std::map<std::pair<int, std::uint64_t>, std::vector<std::uint32_t>> events;
  // epfd -> (op, fd, events, data) of every successful epoll_ctl, in order.
  std::map<int, std::vector<std::tuple<int, int, std::uint32_t, std::uint64_t>>> ctls;
};

Account account_from_log(const QStringList& lines, std::vector<pid_t>* threads = nullptr) {
  Account a;
  for (const auto& line : lines) {
    auto f = fields(line);
    if (f[""] == "event") {
      a.events[{int(snum(f["epfd"])), num(f["data"])}].push_back(std::uint32_t(num(f["events"])));
    } else if (f[""] == "ctl") {
      const int op = f["op"] == "ADD" ? EPOLL_CTL_ADD : f["op"] == "MOD" ? EPOLL_CTL_MOD : EPOLL_CTL_DEL;
      a.ctls[int(snum(f["epfd"]))].emplace_back(op, int(snum(f["fd"])), std::uint32_t(num(f["events"])),
                                                num(f["data"]));
    } else if (f[""] == "thread" && threads != nullptr) {
      threads->push_back(pid_t(snum(f["tid"])));
    }
  }
  return a;
}

Account account_from_trace(const std::vector<TraceEvent>& trace) {
  Account a;
  for (const auto& e : trace) {
    if (e.kind == Kind::wait_exit) {
      for (const auto& r : e.ready) a.events[{e.epfd, r.data.u64}].push_back(r.events);
    } else if (e.kind == Kind::ctl && e.result == 0) {
      a.ctls[e.epfd].emplace_back(e.op, e.fd, e.events, e.data);
    }
  }
  return a;
}

QString describe(const Account& a) {
  QString s;
  for (const auto& [k, v] : a.events) {
    s += QStringLiteral("epfd %1 data 0x%2:").arg(k.first).arg(k.second, 0, 16);
    for (auto b : v) s += QStringLiteral(" %1").arg(b, 0, 16);
    s += '\n';
  }
  for (const auto& [epfd, v] : a.ctls) s += QStringLiteral("epfd %1: %2 ctl\n").arg(epfd).arg(v.size());
  return s;
}

QStringList read_lines(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return {};
  return QString::fromUtf8(f.readAll()).split('\n', Qt::SkipEmptyParts);
}

/// Starts `args` with posix_spawn, stdin from /dev/null, stdout and stderr to the files named
/// (or inherited when empty). Not QProcess: under TSan, a thread started after QProcess's
/// vfork-style spawn kills the test ("starting new threads after multi-threaded fork").
pid_t spawn(const QStringList& args, const QString& out = {}, const QString& err = {}) {
  std::vector<std::string> strs;
  for (const auto& a : args) strs.push_back(a.toStdString());
  std::vector<char*> argv;
  for (auto& a : strs) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  const std::string o = out.toStdString(), e = err.toStdString();
  if (!o.empty()) posix_spawn_file_actions_addopen(&fa, 1, o.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!e.empty()) posix_spawn_file_actions_addopen(&fa, 2, e.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : 0;
}

/// The exit code of child `pid` (waited for), or -1 when it did not exit normally.
int wait_exit_code(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// Starts `args` in a grandchild (through sh, which exits at once), so that the test process is
/// not its parent: an attached process here is someone else's, as it is for ReadyScope (and the
/// tracer thread's wait never competes with the test for a child). Returns its pid.
pid_t start_detached(const QStringList& args, const QString& pid_file) {
  QStringList quoted;
  for (const auto& a : args) quoted << "'" + a + "'";
  const pid_t sh = spawn({"/bin/sh", "-c", quoted.join(' ') + " </dev/null >/dev/null 2>&1 & echo $! > '" + pid_file + "'"});
  if (sh <= 0 || wait_exit_code(sh) != 0) return 0;
  QFile f(pid_file);
  if (!f.open(QIODevice::ReadOnly)) return 0;
  return pid_t(f.readAll().trimmed().toInt());
}

/// Waits until the log at `path` has a line starting with `prefix`; returns that line.
std::optional<QString> wait_for_line(const QString& path, const QString& prefix, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    for (const auto& l : read_lines(path))
      if (l.startsWith(prefix)) return l;
    std::this_thread::sleep_for(10ms);
  }
  return std::nullopt;
}

bool process_gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  QFile st(QStringLiteral("/proc/%1/stat").arg(pid));
  if (!st.open(QIODevice::ReadOnly)) return true;
  const auto s = QString::fromUtf8(st.readAll());
  return s.mid(s.lastIndexOf(')') + 2, 1) == "Z";
}

bool wait_gone(pid_t pid, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (process_gone(pid)) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

QString tracer_pid_of(pid_t pid) {
  for (const auto& l : read_lines(QStringLiteral("/proc/%1/status").arg(pid)))
    if (l.startsWith("TracerPid:")) return l.mid(10).trimmed();
  return {};
}

/// True when `pid` is traced by a thread of process `tracer` (TracerPid names the thread).
bool traced_by(pid_t pid, qint64 tracer) {
  const QString tid = tracer_pid_of(pid);
  return tid != "0" && !tid.isEmpty() && QFile::exists(QStringLiteral("/proc/%1/task/%2").arg(tracer).arg(tid));
}

/// One round trip through the echo target on `port`: true when "ping" comes back.
bool echoes(std::uint16_t port) {
  auto c = ready::test::plain_connect(ready::net::SocketAddr::loopback_v4(port));
  if (!c) return false;
  const auto ping = std::as_bytes(std::span("ping", 4));
  if (!ready::test::plain_send(c->get(), ping)) return false;
  std::array<std::byte, 4> got{};
  std::size_t have = 0;
  while (have < got.size()) {
    if (!ready::test::wait_readable(c->get(), 5000ms)) return false;
    auto n = ready::test::plain_recv(c->get(), std::span(got).subspan(have));
    if (!n || *n == 0) return false;
    have += *n;
  }
  return std::equal(got.begin(), got.end(), ping.begin());
}

}  // namespace

class TracerTest : public QObject {
  Q_OBJECT

private:
  /// The differential checks on a complete script run: `trace` against the log at `log_path`.
  void check_script(const std::vector<TraceEvent>& trace, const QString& log_path, pid_t pid) {
    const QStringList log = read_lines(log_path);
    QVERIFY2(log.contains("done"), qPrintable("the script did not finish: " + log.join('\n').right(400)));
    std::vector<pid_t> late_threads;
    const Account mine = account_from_log(log, &late_threads);
    const Account seen = account_from_trace(trace);
    QVERIFY2(mine.events.size() >= 6, qPrintable(describe(mine)));  // 5 tokens + the thread's
    QVERIFY2(seen.events == mine.events,
             qPrintable("readiness per token differs\nlog:\n" + describe(mine) + "trace:\n" + describe(seen)));
    QVERIFY2(seen.ctls == mine.ctls, qPrintable("epoll_ctl differs\nlog:\n" + describe(mine) + "trace:\n" + describe(seen)));

    // The thread started after the go signal is traced: its start, its wait on its own
    // epoll instance, its exit.
    QCOMPARE(late_threads.size(), std::size_t{1});
    const pid_t late = late_threads.front();
    QVERIFY(late != pid);
    bool started = false, waited = false, exited = false;
    for (const auto& e : trace) {
      started = started || (e.kind == Kind::thread_started && e.tid == late && e.related == pid);
      waited = waited || (e.kind == Kind::wait_exit && e.tid == late && !e.ready.empty() && e.ready[0].data.u64 == 0x77);
      exited = exited || (e.kind == Kind::thread_exited && e.tid == late);
    }
    QVERIFY(started);
    QVERIFY(waited);
    QVERIFY(exited);

    // Every wait_exit pairs with a wait_enter of the same thread before it; times never go back.
    std::map<pid_t, bool> in_wait;
    std::uint64_t last_t = 0;
    for (const auto& e : trace) {
      QVERIFY(e.t_ns >= last_t);
      last_t = e.t_ns;
      if (e.kind == Kind::wait_enter) in_wait[e.tid] = true;
      if (e.kind == Kind::wait_exit) {
        QVERIFY2(in_wait[e.tid], "a wait_exit without its wait_enter");
        in_wait[e.tid] = false;
        QCOMPARE(static_cast<std::size_t>(e.result), e.ready.size());
      }
    }
    QCOMPARE(trace.back().kind, Kind::detached);
    const auto exit = std::find_if(trace.begin(), trace.end(), [](const TraceEvent& e) { return e.kind == Kind::process_exited; });
    QVERIFY(exit != trace.end());
    QCOMPARE(exit->result, std::int64_t{0});
  }

private slots:
  // The programs this suite traces inherit its environment. Under the ASan build
  // (ASAN_OPTIONS=detect_leaks=1 from the test preset) an ASan-built target's exit-time leak
  // check would ptrace its own threads, which a traced process cannot allow: it ends with
  // "LeakSanitizer has encountered a fatal error" and exit status 1. The children's leak
  // check is turned off (a later option wins); this process read its options at start and
  // keeps its own.
  void initTestCase() {
    if (const char* asan = std::getenv("ASAN_OPTIONS"))
      ::setenv("ASAN_OPTIONS", (std::string(asan) + ":detect_leaks=0").c_str(), 1);
  }

  void launched_script_matches_its_log() {
    QTemporaryDir dir;
    const QString log = dir.filePath("log");
    auto t = Tracer::launch({kTarget.toStdString(), "--log", log.toStdString(), "script"});
    QVERIFY2(t.has_value(), t ? "" : Tracer::error_text(0, t.error()).c_str());
    const pid_t pid = (*t)->pid();
    const auto trace = collect(**t);
    check_script(trace, log, pid);
    QVERIFY((*t)->finished());
    QCOMPARE((*t)->dropped(), std::uint64_t{0});
  }

  // A launched program's child processes inherit its seccomp filter, so they are traced too
  // (untraced, their epoll_wait would fail with ENOSYS): here the script runs as a child of sh.
  void launched_program_children_are_traced() {
    QTemporaryDir dir;
    const QString log = dir.filePath("log");
    auto t = Tracer::launch({"/bin/sh", "-c", "'" + kTarget.toStdString() + "' --log '" + log.toStdString() + "' script; true"});
    QVERIFY(t.has_value());
    const pid_t sh = (*t)->pid();
    const auto trace = collect(**t);
    const auto ready = wait_for_line(log, "ready pid=", 1s);
    QVERIFY(ready);
    const pid_t script = pid_t(ready->mid(10).toInt());
    QVERIFY(script != sh);
    check_script(trace, log, script);
    QVERIFY(std::any_of(trace.begin(), trace.end(), [&](const TraceEvent& e) {
      return e.kind == Kind::thread_started && e.tid == script && e.pid == script;
    }));
    for (const auto& e : trace)
      if (e.kind == Kind::wait_exit || e.kind == Kind::ctl) QCOMPARE(e.pid, script);
  }

  void attached_script_matches_its_log() {
    QTemporaryDir dir;
    const QString log = dir.filePath("log");
    const pid_t pid = start_detached({kTarget, "--wait-go", "--log", log, "script"}, dir.filePath("pid"));
    QVERIFY(pid > 0);
    QVERIFY(wait_for_line(log, "ready"));
    auto t = Tracer::attach(pid);
    QVERIFY2(t.has_value(), t ? "" : Tracer::error_text(pid, t.error()).c_str());
    QCOMPARE((*t)->pid(), pid);
    QVERIFY(traced_by(pid, ::getpid()));
    ::kill(pid, SIGUSR1);  // go
    const auto trace = collect(**t);
    check_script(trace, log, pid);
    for (const auto& e : trace) QCOMPARE(e.pid, pid);
  }

  // --trace-io's reason to exist: the deliberate edge-triggered partial read shows as a read
  // that returned data and was not followed by another read of that descriptor before the
  // thread waited again (a complete reader goes on to EAGAIN).
  void io_shows_the_edge_triggered_partial_read() {
    QTemporaryDir dir;
    const QString log = dir.filePath("log");
    TraceOptions o;
    o.io = true;
    auto t = Tracer::launch({kTarget.toStdString(), "--log", log.toStdString(), "script"}, o);
    QVERIFY(t.has_value());
    const auto trace = collect(**t);
    const QStringList lines = read_lines(log);
    QVERIFY(lines.contains("done"));
    // The accepted stream's descriptor: the ADD with data 5 (kConn) in the log.
    int conn = -1;
    for (const auto& l : lines) {
      auto f = fields(l);
      if (f[""] == "ctl" && f["op"] == "ADD" && num(f["data"]) == 5) conn = int(snum(f["fd"]));
    }
    QVERIFY(conn >= 0);
    // The log's reads of conn equal the trace's reads of conn (requested and result).
    std::vector<std::pair<std::uint64_t, long long>> logged, traced;
    for (const auto& l : lines) {
      auto f = fields(l);
      if (f[""] == "read" && snum(f["fd"]) == conn) logged.emplace_back(num(f["requested"]), snum(f["result"]));
    }
    for (const auto& e : trace)
      if (e.kind == Kind::io && e.is_input() && e.fd == conn) traced.emplace_back(e.requested, e.result);
    QCOMPARE(traced, logged);
    // Per edge on conn: did the reads before the next wait end at EAGAIN?
    std::vector<bool> drained;  // one entry per edge of conn
    std::ptrdiff_t open_edge = -1;  // the edge whose reads are being followed (an optional here
                                    // trips GCC 12's -O2 -Wmaybe-uninitialized)
    long long last = 0;
    for (const auto& e : trace) {
      if (e.kind == Kind::wait_exit) {
        for (const auto& r : e.ready)
          if (r.data.u64 == 5) {
            drained.push_back(false);
            open_edge = static_cast<std::ptrdiff_t>(drained.size()) - 1;
          }
      } else if (e.kind == Kind::io && e.is_input() && e.fd == conn && open_edge >= 0) {
        last = e.result;
      } else if (e.kind == Kind::wait_enter && open_edge >= 0) {
        drained[static_cast<std::size_t>(open_edge)] = last == -EAGAIN || last == 0;
        open_edge = -1;
      }
    }
    QVERIFY2(drained.size() >= 2, "expected two edges on the accepted stream");
    QVERIFY2(!drained[0], "the first edge's partial read was not seen as partial");
    QVERIFY2(drained[1], "the second edge was read to EAGAIN");
    QVERIFY(std::any_of(trace.begin(), trace.end(),
                        [&](const TraceEvent& e) { return e.kind == Kind::io && e.fd == conn && e.requested == 10 && e.result == 10; }));
  }

  void errors_are_values_with_a_fix() {
    // A pid that was just used and reaped: no such process.
    const pid_t gone = ::fork();
    if (gone == 0) ::_exit(0);
    ::waitpid(gone, nullptr, 0);
    auto t = Tracer::attach(gone);
    QVERIFY(!t.has_value());
    QCOMPARE(t.error(), std::error_code(ESRCH, std::system_category()));
    const std::string text = Tracer::error_text(gone, t.error());
    QVERIFY2(text.find("no process " + std::to_string(gone)) != std::string::npos, text.c_str());
    QVERIFY(text.find('\n') == std::string::npos);

    QCOMPARE(Tracer::attach(::getpid()).error(), std::error_code(EINVAL, std::system_category()));
    QCOMPARE(Tracer::attach(0).error(), std::error_code(EINVAL, std::system_category()));
    TraceOptions huge;
    huge.queue_capacity = 0;
    QCOMPARE(Tracer::attach(1, huge).error(), std::error_code(EINVAL, std::system_category()));

    auto l = Tracer::launch({"/nonexistent/ready-no-such-program"});
    QVERIFY(!l.has_value());
    QCOMPARE(l.error(), std::error_code(ENOENT, std::system_category()));
    QVERIFY(Tracer::error_text(0, l.error()).find("cannot start the program") != std::string::npos);
    QCOMPARE(Tracer::launch({}).error(), std::error_code(EINVAL, std::system_category()));
  }

  // Another user's process: the tracer runs as nobody (setpriv) against this test process.
  void another_users_process_is_refused_with_the_reason() {
    if (::geteuid() != 0) QSKIP("needs root to run the tracer as another user (setpriv)");
    if (QStandardPaths::findExecutable("setpriv").isEmpty()) QSKIP("setpriv (util-linux) is not installed");
    QTemporaryDir dir;
    const pid_t p = spawn({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", kDump, QString::number(::getpid())},
                          dir.filePath("out"), dir.filePath("err"));
    QVERIFY(p > 0);
    QCOMPARE(wait_exit_code(p), 1);
    const QString err = read_lines(dir.filePath("err")).join('\n');
    QVERIFY2(err.contains(QStringLiteral("belongs to root")), qPrintable(err));
  }

  // ReadyScope killed with SIGKILL mid-trace: the kernel detaches, the program serves on.
  void attached_program_survives_its_tracer_killed() {
    QTemporaryDir dir;
    const QString log = dir.filePath("log");
    const pid_t pid = start_detached({kTarget, "--log", log, "echo"}, dir.filePath("pid"));
    QVERIFY(pid > 0);
    const auto port_line = wait_for_line(log, "port=");
    QVERIFY(port_line);
    const auto port = static_cast<std::uint16_t>(port_line->mid(5).toUInt());
    QVERIFY(echoes(port));

    const QString out = dir.filePath("dump");
    const pid_t dump = spawn({kDump, QString::number(pid)}, out);
    QVERIFY(dump > 0);
    QVERIFY(wait_for_line(out, "tracing"));
    QVERIFY(echoes(port));  // traced now: its epoll_wait returns reach the dump
    QVERIFY(wait_for_line(out, "wait_exit"));
    QVERIFY(traced_by(pid, dump));
    ::kill(dump, SIGKILL);
    QCOMPARE(wait_exit_code(dump), -1);
    QVERIFY(QTest::qWaitFor([&] { return tracer_pid_of(pid) == "0"; }, 5000));
    for (int i = 0; i < 20; ++i) QVERIFY2(echoes(port), "the program stopped serving after its tracer died");
    QVERIFY(!process_gone(pid));
    ::kill(pid, SIGTERM);
    QVERIFY(wait_gone(pid));
  }

  // A launched program stops at its traced syscalls for a tracer: it dies with it (EXITKILL),
  // rather than run on with those syscalls failing ENOSYS.
  void launched_program_dies_with_its_tracer() {
    QTemporaryDir dir;
    const QString out = dir.filePath("dump");
    const pid_t dump = spawn({kDump, "--", kTarget, "echo"}, out);
    QVERIFY(dump > 0);
    const auto first = wait_for_line(out, "tracing pid=");  // the program shares this stdout
    QVERIFY(first);
    const pid_t pid = pid_t(first->mid(12).toInt());
    QVERIFY(pid > 0 && !process_gone(pid));
    ::kill(dump, SIGKILL);
    QCOMPARE(wait_exit_code(dump), -1);
    QVERIFY(wait_gone(pid));
  }

  // stop() detaches cleanly: the program runs on untraced; stop() twice is harmless.
  void stop_detaches_and_the_program_runs_on() {
    QTemporaryDir dir;
    const QString log = dir.filePath("log");
    const pid_t pid = start_detached({kTarget, "--log", log, "echo"}, dir.filePath("pid"));
    const auto port_line = wait_for_line(log, "port=");
    QVERIFY(port_line);
    const auto port = static_cast<std::uint16_t>(port_line->mid(5).toUInt());
    auto t = Tracer::attach(pid);
    QVERIFY(t.has_value());
    QVERIFY(echoes(port));
    (*t)->stop();
    (*t)->stop();
    QVERIFY((*t)->finished());
    std::vector<TraceEvent> events;
    (*t)->drain(events);
    QVERIFY(!events.empty());
    QCOMPARE(events.back().kind, Kind::detached);
    QVERIFY(std::any_of(events.begin(), events.end(), [](const TraceEvent& e) { return e.kind == Kind::wait_exit; }));
    QCOMPARE(tracer_pid_of(pid), QStringLiteral("0"));
    QVERIFY(echoes(port));
    ::kill(pid, SIGTERM);
    QVERIFY(wait_gone(pid));
  }
};

QTEST_GUILESS_MAIN(TracerTest)
#include "tst_tracer.moc"
