// The readyscope command line: the option parsers, the validation that runs before anything
// is opened, and headless runs of the real binary talking to real loopback clients.
#include <QImage>
#include <QProcess>
#include <QSet>
#include <QRegularExpression>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "cli.h"
#include "headless_app.h"
#include "peer.h"
#include "ready/capture/recording.h"
#include "ready/capture/store.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;
using namespace std::chrono_literals;

namespace {

struct Finished {
  int code = -1;
  QProcess::ExitStatus status = QProcess::CrashExit;
  QString out;
  QString err;
};

Finished runToEnd(QProcess& p) {
  Finished f;
  if (!p.waitForFinished(kProcessLimitMs)) {
    p.kill();
    p.waitForFinished();
  }
  f.code = p.exitCode();
  f.status = p.exitStatus();
  f.out = QString::fromLocal8Bit(p.readAllStandardOutput());
  f.err = QString::fromLocal8Bit(p.readAllStandardError());
  return f;
}

/// Starts readyscope and waits for the stdout line announcing token 1; returns the address
/// it printed (the part after the last ": "), or "" if it never came.
QString startAndWaitForSource(QProcess& p, const QStringList& args) {
  p.start(kApp, args);
  if (!p.waitForStarted(kProcessLimitMs)) return {};
  QByteArray seen;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!p.canReadLine() && !p.waitForReadyRead(500)) {
      if (p.state() == QProcess::NotRunning) return {};
      continue;
    }
    while (p.canReadLine()) {
      const QString line = QString::fromLocal8Bit(p.readLine()).trimmed();
      if (line.startsWith(QLatin1String("token 1:"))) return line.section(QStringLiteral(": "), -1);
    }
  }
  return {};
}

/// Every record of a recording, read back with the real reader.
std::vector<Record> loadAll(const QString& path, RecordingInfo* info = nullptr) {
  RecordStore store;
  auto loaded = load_recording(path.toStdString(), store);
  if (!loaded) {
    qWarning("%s", loaded.error().message().c_str());
    return {};
  }
  if (info) *info = *loaded;
  std::vector<Record> all;
  for (std::uint64_t i = store.begin_index(); i < store.end_index(); ++i) all.push_back(store.at(i));
  return all;
}

std::uint64_t sumBytes(const std::vector<Record>& rs, Op op) {
  std::uint64_t n = 0;
  for (const Record& r : rs)
    if (r.kind == RecordKind::action && static_cast<Op>(r.op) == op && r.outcome == Outcome::ok) n += r.value;
  return n;
}

}  // namespace

class TestCli : public CoreTest {
  Q_OBJECT

  QTemporaryDir m_files;  // scenario files for the data functions

 private slots:
  void reactionParsing_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("valid");
    QTest::addColumn<int>("kind");
    QTest::addColumn<uint>("n");
    QTest::newRow("none") << "none" << true << int(Reaction::none) << 4096u;
    QTest::newRow("drain") << "drain" << true << int(Reaction::drain) << 4096u;
    QTest::newRow("echo") << "echo" << true << int(Reaction::echo) << 4096u;
    QTest::newRow("discard") << "discard" << true << int(Reaction::discard) << 4096u;
    QTest::newRow("read:1") << "read:1" << true << int(Reaction::read) << 1u;
    QTest::newRow("read:max") << "read:1048576" << true << int(Reaction::read) << 1048576u;
    QTest::newRow("read:0") << "read:0" << false << 0 << 0u;
    QTest::newRow("read:too big") << "read:1048577" << false << 0 << 0u;
    QTest::newRow("read:") << "read:" << false << 0 << 0u;
    QTest::newRow("read:+5") << "read:+5" << false << 0 << 0u;
    QTest::newRow("read: 5") << "read: 5" << false << 0 << 0u;
    QTest::newRow("read") << "read" << false << 0 << 0u;
    QTest::newRow("Echo") << "Echo" << false << 0 << 0u;
    QTest::newRow("empty") << "" << false << 0 << 0u;
  }
  void reactionParsing() {
    QFETCH(QString, text);
    QFETCH(bool, valid);
    const auto r = readyscope::parseReaction(text);
    QCOMPARE(r.has_value(), valid);
    if (!valid) return;
    QFETCH(int, kind);
    QFETCH(uint, n);
    QCOMPARE(int(r->kind), kind);
    QCOMPARE(r->n, n);
  }

  void modeInterestAndDurationParsing() {
    QCOMPARE(readyscope::parseMode(QStringLiteral("edge")), std::optional(Trigger::edge));
    QCOMPARE(readyscope::parseMode(QStringLiteral("level")), std::optional(Trigger::level));
    QCOMPARE(readyscope::parseMode(QStringLiteral("oneshot")), std::optional(Trigger::oneshot));
    QVERIFY(!readyscope::parseMode(QStringLiteral("sideways")));
    QVERIFY(!readyscope::parseMode(QStringLiteral("")));

    QCOMPARE(readyscope::parseInterest(QStringLiteral("r")), std::optional(Interest::READABLE));
    QCOMPARE(readyscope::parseInterest(QStringLiteral("w")), std::optional(Interest::WRITABLE));
    QCOMPARE(readyscope::parseInterest(QStringLiteral("rw")), std::optional(Interest::READABLE | Interest::WRITABLE));
    QCOMPARE(readyscope::parseInterest(QStringLiteral("wr")), std::optional(Interest::READABLE | Interest::WRITABLE));
    QCOMPARE(readyscope::parseInterest(QStringLiteral("rp")), std::optional(Interest::READABLE | Interest::PRIORITY));
    for (const char* bad : {"", "rr", "x", "rwx", "rwpr", "R"}) QVERIFY2(!readyscope::parseInterest(QString::fromLatin1(bad)), bad);

    QCOMPARE(readyscope::parseDuration(QStringLiteral("10")), std::optional(std::chrono::nanoseconds(10s)));
    QCOMPARE(readyscope::parseDuration(QStringLiteral("0.25")), std::optional(std::chrono::nanoseconds(250ms)));
    for (const char* bad : {"0", "-1", "nan", "inf", "abc", "", "1e30"})
      QVERIFY2(!readyscope::parseDuration(QString::fromLatin1(bad)), bad);
  }

  void invalidInvocations_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    const auto row = [](const char* name, QStringList args, const char* msg) {
      QTest::newRow(name) << args << QString::fromLatin1(msg);
    };
    row("port too big", {"--headless", "--listen", "127.0.0.1:65536"}, "--listen '127.0.0.1:65536': expected HOST:PORT");
    row("negative port", {"--headless", "--listen", "127.0.0.1:-1"}, "expected HOST:PORT");
    row("name host", {"--headless", "--listen", "not_a_host:80"}, "numeric host");
    row("remote listen", {"--headless", "--listen", "0.0.0.0:7000"}, "add --allow-remote");
    row("remote udp", {"--headless", "--udp", "10.1.2.3:7000"}, "--udp '10.1.2.3:7000': not a loopback");
    row("reaction", {"--headless", "--listen", "127.0.0.1:0", "--reaction", "teleport"}, "--reaction 'teleport'");
    row("mode", {"--headless", "--listen", "127.0.0.1:0", "--mode", "sideways"}, "--mode 'sideways'");
    row("interest", {"--headless", "--listen", "127.0.0.1:0", "--interest", "x"}, "--interest 'x'");
    row("capacity", {"--headless", "--listen", "127.0.0.1:0", "--queue-capacity", "1000"}, "power of two");
    row("duration", {"--headless", "--listen", "127.0.0.1:0", "--duration", "0"}, "--duration '0'");
    row("value missing", {"--headless", "--connect", "--duration", "1"}, "--connect: expected HOST:PORT, got the option");
    row("connect port 0", {"--headless", "--connect", "127.0.0.1:0"}, "port 0 cannot be connected to");
    row("nothing", {"--headless"}, "nothing to capture");
    row("stop needs headless", {"--listen", "127.0.0.1:0", "--record", "x.jsonl", "--stop-after-records", "9"},
        "--stop-after-records is for headless runs");
    row("a recording does not record", {"cap.jsonl", "--record", "x.jsonl"}, "a recording opens read-only");
    row("png needs headless", {"--png", "x.png"}, "--png is for headless runs");
    row("png width", {"--headless", "--listen", "127.0.0.1:0", "--png", "x.png", "--width", "10"}, "--width '10'");
    row("png height", {"--headless", "--listen", "127.0.0.1:0", "--png", "x.png", "--height", "9k"}, "--height '9k'");
    row("png dir", {"--headless", "--listen", "127.0.0.1:0", "--png", "/nonexistent-dir/x.png"}, "does not exist");
    row("positional", {"--headless", "stray"}, "unexpected argument 'stray'");
    row("two recordings", {"a.jsonl", "b.jsonl"}, "unexpected argument 'b.jsonl' (one recording file at most");
    row("recording plus a source", {"a.jsonl", "--listen", "127.0.0.1:0"}, "'a.jsonl': a recording opens read-only; it cannot be combined with --listen");
    row("scenario plus flags", {"--headless", "--scenario", "x.json", "--listen", "127.0.0.1:0"},
        "cannot be combined with --listen");
    row("long unix path", {"--headless", "--unix-listen", QString(200, QLatin1Char('a'))}, "1 to 107 bytes");
  }
  void invalidInvocations() {
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    readyscope::CommandLine cli;
    QVERIFY(cli.parse(QStringList{QStringLiteral("readyscope")} + args));
    const auto inv = cli.invocation();
    QVERIFY(!inv);
    QVERIFY2(inv.error().contains(message), qPrintable(inv.error()));
    QVERIFY(!inv.error().contains(QLatin1Char('\n')));
  }

  void validInvocationOrdersListenersFirst() {
    readyscope::CommandLine cli;
    QVERIFY(cli.parse({"readyscope", "--headless", "--connect", "127.0.0.1:7000", "--listen", "127.0.0.1:7000",
                       "--unix-listen", QString::fromStdString(temp_path("cli.sock")), "--udp", "[::1]:0",
                       "--reaction", "read:64", "--mode", "level", "--interest", "rw", "--duration", "1.5"}));
    const auto inv = cli.invocation();
    QVERIFY2(inv, inv ? "" : qPrintable(inv.error()));
    QCOMPARE(int(inv->mode), int(readyscope::Invocation::Mode::headless));
    const auto& plan = inv->plan;
    QCOMPARE(plan.sources.size(), std::size_t{4});
    using K = readyscope::SourceRequest::Kind;
    QCOMPARE(int(plan.sources[0].kind), int(K::listen));
    QCOMPARE(int(plan.sources[1].kind), int(K::unix_listen));
    QCOMPARE(int(plan.sources[2].kind), int(K::udp));
    QCOMPARE(int(plan.sources[3].kind), int(K::connect));
    QCOMPARE(int(plan.options.reaction.kind), int(Reaction::read));
    QCOMPARE(plan.options.reaction.n, 64u);
    QCOMPARE(plan.options.trigger, Trigger::level);
    QCOMPARE(plan.options.interest, Interest::READABLE | Interest::WRITABLE);
    QCOMPARE(plan.duration, std::optional(std::chrono::nanoseconds(1500ms)));
  }

  void withoutHeadlessTheWindowGetsThePlan() {
    readyscope::CommandLine cli;
    QVERIFY(cli.parse({"readyscope", "--listen", "127.0.0.1:0", "--connect", "127.0.0.1:7000", "--mode", "level"}));
    const auto inv = cli.invocation();
    QVERIFY2(inv, inv ? "" : qPrintable(inv.error()));
    QCOMPARE(int(inv->mode), int(readyscope::Invocation::Mode::window));
    QCOMPARE(inv->plan.sources.size(), std::size_t{2});
    QCOMPARE(inv->plan.options.trigger, Trigger::level);
    readyscope::CommandLine bare;
    QVERIFY(bare.parse({"readyscope"}));
    const auto empty = bare.invocation();
    QVERIFY(empty);
    QCOMPARE(int(empty->mode), int(readyscope::Invocation::Mode::window));
    QVERIFY(empty->plan.sources.empty());
    // The window records as it watches: --record and its companions reach its plan.
    readyscope::CommandLine rec;
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("w.jsonl"));
    QVERIFY(rec.parse({"readyscope", "--listen", "127.0.0.1:0", "--record", file, "--record-payload", "--max-file-size",
                       "1M", "--max-files", "4"}));
    const auto recInv = rec.invocation();
    QVERIFY2(recInv, recInv ? "" : qPrintable(recInv.error()));
    QCOMPARE(int(recInv->mode), int(readyscope::Invocation::Mode::window));
    QCOMPARE(recInv->plan.record_path, std::optional<std::string>(file.toStdString()));
    QVERIFY(recInv->plan.record_payload);
    QCOMPARE(recInv->plan.max_file_bytes, std::uint64_t{1} << 20);
    QCOMPARE(recInv->plan.max_files, std::size_t{4});
  }

  // `readyscope FILE`: the window opens the recording; a file that is not there is one line
  // and exit 2, before any window.
  void aFileArgumentOpensARecording() {
    readyscope::CommandLine cli;
    QVERIFY(cli.parse({"readyscope", "cap.jsonl"}));
    const auto inv = cli.invocation();
    QVERIFY2(inv, inv ? "" : qPrintable(inv.error()));
    QCOMPARE(int(inv->mode), int(readyscope::Invocation::Mode::window));
    QCOMPARE(inv->plan.open_path, std::optional<std::string>("cap.jsonl"));
    QTemporaryDir dir;
    const QString missing = dir.filePath(QStringLiteral("missing.jsonl"));
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    env.insert(QStringLiteral("XDG_CONFIG_HOME"), dir.path());
    p.setProcessEnvironment(env);
    p.start(kApp, {missing});
    const Finished f = runToEnd(p);
    QCOMPARE(f.status, QProcess::NormalExit);
    QCOMPARE(f.code, int(readyscope::kExitUsage));
    QCOMPARE(f.err, QStringLiteral("readyscope: %1: no such file\n").arg(missing));
  }

  // Without a display the window cannot open: one clear line and exit 1, not Qt's abort.
  void windowWithoutADisplayFailsCleanly() {
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const char* v : {"QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"}) env.remove(QString::fromLatin1(v));
    p.setProcessEnvironment(env);
    p.start(kApp, {});
    const Finished f = runToEnd(p);
    QCOMPARE(f.status, QProcess::NormalExit);
    QCOMPARE(f.code, int(readyscope::kExitRuntime));
    QVERIFY2(f.err.startsWith(QLatin1String("readyscope: no display")), qPrintable(f.err));
    QCOMPARE(f.err.count(QLatin1Char('\n')), 1);
  }

  // --png renders the timeline at the end of a headless run, at the size asked for, even
  // with no display in the environment.
  void headlessPngRendersTheTimeline() {
    QTemporaryDir dir;
    const QString png = dir.filePath(QStringLiteral("t.png"));
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const char* v : {"QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"}) env.remove(QString::fromLatin1(v));
    p.setProcessEnvironment(env);
    const QString where = startAndWaitForSource(
        p, {"--headless", "--listen", "127.0.0.1:0", "--reaction", "echo", "--png", png, "--width", "900", "--height", "400"});
    const auto addr = net::SocketAddr::parse(where.toStdString());
    QVERIFY2(addr && addr->port() != 0, qPrintable(where));
    {
      auto client = plain_connect(*addr);
      QVERIFY_OK(client);
      QVERIFY_OK(plain_send(client->get(), bytes("ping")));
      std::array<std::byte, 16> buf{};
      QVERIFY(wait_readable(client->get()));
      QVERIFY_OK(plain_recv(client->get(), buf));
    }
    ::kill(static_cast<pid_t>(p.processId()), SIGTERM);
    const Finished f = runToEnd(p);
    QCOMPARE(f.status, QProcess::NormalExit);
    QVERIFY2(f.code == 0, qPrintable(f.err));
    QVERIFY2(f.out.contains(QLatin1String("timeline rendered to")), qPrintable(f.out));
    QImage image;
    QVERIFY(image.load(png, "PNG"));
    QCOMPARE(image.size(), QSize(900, 400));
    // Not a blank picture: the lanes and the legend put many colours in it.
    QSet<QRgb> colours;
    for (int y = 0; y < image.height(); y += 2)
      for (int x = 0; x < image.width(); x += 2) colours.insert(image.pixel(x, y));
    QVERIFY2(colours.size() > 20, qPrintable(QString::number(colours.size())));
  }

  // The binary itself: a bad input exits 2 with one line on stderr and opens no inet
  // socket (traced with strace, as the project's acceptance check does).
  void badInputOpensNothing_data() {
    QTest::addColumn<QStringList>("args");
    QTest::newRow("port") << QStringList{"--listen", "127.0.0.1:65536"};
    QTest::newRow("host") << QStringList{"--listen", "not_a_host:80"};
    QTest::newRow("remote") << QStringList{"--listen", "0.0.0.0:7000"};
    QTest::newRow("reaction") << QStringList{"--listen", "127.0.0.1:0", "--reaction", "teleport"};
    QTest::newRow("mode") << QStringList{"--listen", "127.0.0.1:0", "--mode", "sideways"};
    QTest::newRow("missing value") << QStringList{"--connect"};
    QTest::newRow("unknown option") << QStringList{"--listne", "127.0.0.1:0"};
    QTest::newRow("no scenario file") << QStringList{"--scenario", "/nonexistent/readyscope.json"};
    // Invalid scenarios: validated completely before anything is opened.
    QVERIFY(m_files.isValid());
    const auto file = [&](const char* name, const char* text) {
      QFile f(m_files.filePath(QString::fromLatin1(name)));
      if (!f.open(QIODevice::WriteOnly) || f.write(text) < 0) qFatal("cannot write %s", name);
      return f.fileName();
    };
    QTest::newRow("truncated scenario")
        << QStringList{"--scenario", file("trunc.json", R"({"name": "x", "sources": [{"id": 1, "kind": "tcp_listener", "bind": "127.0.0.1:99999"})")};
    QTest::newRow("unknown kind") << QStringList{
        "--scenario", file("kind.json", R"({"name":"x","sources":[{"id":"a","kind":"warp_drive"}],"steps":[]})")};
    // Valid up to its last step: the listener it declares first must not be opened either.
    QTest::newRow("bad last step") << QStringList{
        "--scenario",
        file("late.json", R"({"name":"late","title":"t","description":"d",
          "sources":[{"id":"l","kind":"tcp_listener","bind":"127.0.0.1:0"}],
          "steps":[{"op":"accept","source":"l"},{"op":"teleport","source":"l"}]})")};
  }
  void badInputOpensNothing() {
    QFETCH(QStringList, args);
    const QString strace = QStandardPaths::findExecutable(QStringLiteral("strace"));
    if (strace.isEmpty()) QFAIL("strace is needed to see which sockets the process opens (scripts/deps.sh installs it)");
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString trace = dir.filePath(QStringLiteral("trace"));
    QProcess p;
    // LeakSanitizer cannot run under ptrace (it aborts with "LeakSanitizer has encountered a
    // fatal error"); the leak check of the binary is done by the tests that run it untraced.
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    const QString asan = env.value(QStringLiteral("ASAN_OPTIONS"));
    env.insert(QStringLiteral("ASAN_OPTIONS"),
               (asan.isEmpty() ? QString() : asan + QLatin1Char(':')) + QStringLiteral("detect_leaks=0"));
    p.setProcessEnvironment(env);
    p.start(strace, QStringList{"-f", "-qq", "-e", "trace=socket", "-o", trace, kApp, "--headless"} + args +
                        QStringList{"--duration", "1"});
    const Finished f = runToEnd(p);
    QCOMPARE(f.status, QProcess::NormalExit);
    QVERIFY2(f.code == readyscope::kExitUsage, qPrintable(QStringLiteral("exit %1, stderr: %2").arg(f.code).arg(f.err)));
    const QStringList lines = f.err.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 1);
    QVERIFY(lines.first().startsWith(QLatin1String("readyscope: ")));
    QFile t(trace);
    QVERIFY(t.open(QIODevice::ReadOnly));
    const QByteArray traced = t.readAll();
    QVERIFY2(!traced.contains("AF_INET"), traced.constData());
  }

  void echoIsRecordedEndToEnd() {
    QTemporaryDir dir;
    const QString rec = dir.filePath(QStringLiteral("echo.jsonl"));
    QProcess p;
    const QString where = startAndWaitForSource(
        p, {"--headless", "--listen", "127.0.0.1:0", "--reaction", "echo", "--record", rec});
    const auto addr = net::SocketAddr::parse(where.toStdString());
    QVERIFY2(addr && addr->port() != 0, qPrintable(where));
    {
      auto client = plain_connect(*addr);
      QVERIFY_OK(client);
      QVERIFY_OK(plain_send(client->get(), bytes("hello readyscope")));
      std::string got;
      std::array<std::byte, 64> buf{};
      while (got.size() < 16) {
        QVERIFY(wait_readable(client->get()));
        auto n = plain_recv(client->get(), buf);
        QVERIFY_OK(n);
        if (*n == 0) break;
        got += str(std::span(buf).first(*n));
      }
      QCOMPARE(got, std::string("hello readyscope"));
    }
    ::kill(static_cast<pid_t>(p.processId()), SIGTERM);
    const Finished f = runToEnd(p);
    QCOMPARE(f.status, QProcess::NormalExit);
    QVERIFY2(f.code == 0, qPrintable(f.err));
    QVERIFY2(f.out.contains(QLatin1String("SIGTERM received")), qPrintable(f.out));

    RecordingInfo info;
    const auto rs = loadAll(rec, &info);
    QVERIFY(!rs.empty());
    const auto count = [&](auto pred) { return std::count_if(rs.begin(), rs.end(), pred); };
    QVERIFY(count([](const Record& r) { return r.kind == RecordKind::source_added; }) >= 2);
    QVERIFY(count([](const Record& r) { return r.kind == RecordKind::readiness && (r.bits & EPOLLIN); }) >= 2);
    QCOMPARE(sumBytes(rs, Op::read), std::uint64_t{16});
    QCOMPARE(sumBytes(rs, Op::write), std::uint64_t{16});
    // The accepted stream read end-of-file, so the echo reaction closed it.
    QVERIFY(count([](const Record& r) { return r.kind == RecordKind::action && r.outcome == Outcome::eof; }) >= 1);
    const Record& last = rs.back();
    QCOMPARE(last.kind, RecordKind::stats);
    QCOMPARE(last.value2, std::uint64_t{0});  // nothing dropped
    QCOMPARE(info.records, rs.size());
  }

  void sigintStopsCleanlyWithACompleteRecording() {
    QTemporaryDir dir;
    const QString rec = dir.filePath(QStringLiteral("int.jsonl"));
    QProcess p;
    QVERIFY(!startAndWaitForSource(p, {"--headless", "--udp", "127.0.0.1:0", "--record", rec}).isEmpty());
    ::kill(static_cast<pid_t>(p.processId()), SIGINT);
    const Finished f = runToEnd(p);
    QCOMPARE(f.status, QProcess::NormalExit);
    QCOMPARE(f.code, 0);
    QVERIFY2(f.out.contains(QLatin1String("SIGINT received")), qPrintable(f.out));
    const auto rs = loadAll(rec);
    QVERIFY(!rs.empty());
    QCOMPARE(rs.back().kind, RecordKind::stats);
    QVERIFY(std::any_of(rs.begin(), rs.end(), [](const Record& r) { return r.kind == RecordKind::source_removed; }));
  }

  void portInUseIsARuntimeFailureWithACompleteRecording() {
    auto taken = plain_listener(net::SocketAddr::loopback_v4(0));
    QVERIFY_OK(taken);
    const QString addr = QString::fromStdString(local_address(taken->get()).to_string());
    QTemporaryDir dir;
    const QString rec = dir.filePath(QStringLiteral("inuse.jsonl"));
    QProcess p;
    p.start(kApp, {"--headless", "--listen", addr, "--record", rec, "--duration", "20"});
    const Finished f = runToEnd(p);
    QCOMPARE(f.status, QProcess::NormalExit);
    QCOMPARE(f.code, int(readyscope::kExitRuntime));
    QVERIFY2(f.err.contains(QStringLiteral("--listen %1: Address already in use").arg(addr)), qPrintable(f.err));
    QCOMPARE(f.err.count(QLatin1Char('\n')), 1);
    const auto rs = loadAll(rec);
    QVERIFY(std::any_of(rs.begin(), rs.end(), [](const Record& r) {
      return r.kind == RecordKind::action && static_cast<Op>(r.op) == Op::create && r.err == EADDRINUSE;
    }));
    QCOMPARE(rs.back().kind, RecordKind::stats);
  }

  void refusedConnectIsARecordedResult() {
    // A port nobody listens on: bind one, note it, close it.
    net::SocketAddr closed;
    {
      auto l = plain_listener(net::SocketAddr::loopback_v4(0));
      QVERIFY_OK(l);
      closed = local_address(l->get());
    }
    QTemporaryDir dir;
    const QString rec = dir.filePath(QStringLiteral("refused.jsonl"));
    QProcess p;
    p.start(kApp, {"--headless", "--connect", QString::fromStdString(closed.to_string()), "--record", rec,
                   "--duration", "0.5"});
    const Finished f = runToEnd(p);
    QCOMPARE(f.code, 0);
    QVERIFY2(f.out.contains(QLatin1String("connect failed")), qPrintable(f.out));
    const auto rs = loadAll(rec);
    const auto connect = [&](Outcome o, int err) {
      return std::any_of(rs.begin(), rs.end(), [&](const Record& r) {
        return r.kind == RecordKind::action && static_cast<Op>(r.op) == Op::connect && r.outcome == o && r.err == err;
      });
    };
    QVERIFY(connect(Outcome::in_progress, 0));
    QVERIFY(connect(Outcome::error, ECONNREFUSED));
  }

  void verbosePrintsEveryRecord() {
    net::SocketAddr closed;
    {
      auto l = plain_listener(net::SocketAddr::loopback_v4(0));
      QVERIFY_OK(l);
      closed = local_address(l->get());
    }
    QProcess p;
    p.start(kApp, {"--headless", "--verbose", "--connect", QString::fromStdString(closed.to_string()), "--duration", "0.3"});
    const Finished f = runToEnd(p);
    QCOMPARE(f.code, 0);
    const QStringList lines = f.out.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    const auto has = [&](const QString& re) {
      return std::any_of(lines.begin(), lines.end(), [&](const QString& l) { return QRegularExpression(re).match(l).hasMatch(); });
    };
    QVERIFY2(has(QStringLiteral(R"(action\s+token=1\s+fd=\d+\s+connect in_progress)")), qPrintable(f.out));
    QVERIFY2(has(QStringLiteral(R"(readiness\s+token=1 .*\(EPOLL)")), qPrintable(f.out));
    QVERIFY2(has(QStringLiteral(R"(connect error Connection refused)")), qPrintable(f.out));
    QVERIFY2(has(QStringLiteral(R"(stats\s+token=0\s+fd=-1\s+produced=\d+ dropped=0)")), qPrintable(f.out));
  }

  void unixListenerPathIsRemovedAtExit() {
    const std::string path = temp_path("cli-listen.sock");
    QProcess p;
    QVERIFY(!startAndWaitForSource(p, {"--headless", "--unix-listen", QString::fromStdString(path)}).isEmpty());
    QVERIFY(QFileInfo::exists(QString::fromStdString(path)));
    ::kill(static_cast<pid_t>(p.processId()), SIGTERM);
    const Finished f = runToEnd(p);
    QCOMPARE(f.code, 0);
    QVERIFY(!QFileInfo::exists(QString::fromStdString(path)));
  }

  void existingRecordingIsNotReplaced() {
    QTemporaryDir dir;
    const QString rec = dir.filePath(QStringLiteral("keep.jsonl"));
    {
      QFile f(rec);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write("precious\n");
    }
    QProcess p;
    p.start(kApp, {"--headless", "--listen", "127.0.0.1:0", "--record", rec, "--duration", "0.2"});
    const Finished f = runToEnd(p);
    QCOMPARE(f.code, int(readyscope::kExitUsage));
    QVERIFY2(f.err.contains(QLatin1String("--overwrite")), qPrintable(f.err));
    QFile kept(rec);
    QVERIFY(kept.open(QIODevice::ReadOnly));
    QCOMPARE(kept.readAll(), QByteArray("precious\n"));
  }
  void builtInScenarioPassesHeadless() {
    QTemporaryDir dir;
    const QString rec = dir.filePath(QStringLiteral("scenario.jsonl"));
    QProcess p;
    p.start(kApp, {"--headless", "--scenario", "et-partial-read", "--record", rec});
    const Finished f = runToEnd(p);
    QCOMPARE(f.status, QProcess::NormalExit);
    QVERIFY2(f.code == 0, qPrintable(f.out + f.err));
    QVERIFY2(f.out.contains(QLatin1String("every expectation held")), qPrintable(f.out));
    const auto rs = loadAll(rec);
    // Each narrated step shows on the timeline as a note.
    QVERIFY(std::count_if(rs.begin(), rs.end(), [](const Record& r) { return r.kind == RecordKind::note; }) >= 5);
    QCOMPARE(rs.back().kind, RecordKind::stats);
  }

  void failedExpectationExitsThree() {
    // The kernel gives no second edge for data left unread; this scenario claims one.
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("wrong.json"));
    QFile f(file);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(R"({"name": "wrong", "title": "A false claim", "description": "",
      "sources": [{"id": "pair", "kind": "socketpair", "ends": ["w", "r"], "mode": "edge", "interest": ["readable"]}],
      "steps": [
        {"op": "write", "source": "w", "data": "0123456789", "expect": [{"source": "r", "seen": ["readable"]}]},
        {"op": "read", "source": "r", "n": 4},
        {"note": "claims a new edge for the 6 bytes left", "wait_ms": 20,
         "expect": [{"source": "r", "seen": ["readable"], "within_ms": 100}]}
      ]})");
    f.close();
    QProcess p;
    p.start(kApp, {"--headless", "--scenario", file});
    const Finished done = runToEnd(p);
    QCOMPARE(done.status, QProcess::NormalExit);
    QVERIFY2(done.code == int(readyscope::kExitExpectation), qPrintable(done.out + done.err));
    QVERIFY2(done.err.contains(QLatin1String("scenario wrong: 1 step(s) failed; first, step 3")), qPrintable(done.err));
    QCOMPARE(done.err.count(QLatin1Char('\n')), 1);
  }

  void invalidScenariosAreRejectedBeforeAnythingRuns_data() {
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<QString>("message");
    QTest::newRow("truncated") << QByteArray(R"({"name": "x", "sources": [{"id": 1, "kind": "tcp_listener", "bind": "127.0.0.1:99999"})")
                               << "not valid JSON";
    QTest::newRow("kind") << QByteArray(R"({"name":"x","sources":[{"id":"a","kind":"warp_drive"}],"steps":[]})")
                          << "/sources/0/kind: expected one of";
  }
  void invalidScenariosAreRejectedBeforeAnythingRuns() {
    QFETCH(QByteArray, json);
    QFETCH(QString, message);
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("bad.json"));
    QFile f(file);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(json);
    f.close();
    QProcess p;
    p.start(kApp, {"--headless", "--scenario", file});
    const Finished done = runToEnd(p);
    QCOMPARE(done.code, int(readyscope::kExitUsage));
    QVERIFY2(done.err.contains(message), qPrintable(done.err));
    QVERIFY2(done.err.contains(file), qPrintable(done.err));
    QCOMPARE(done.err.count(QLatin1Char('\n')), 1);
    QVERIFY(done.out.isEmpty());
  }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
