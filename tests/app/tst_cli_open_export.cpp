// `readyscope --headless --open FILE` and the exports (issue 15), against the real binary: a
// live headless capture of a loopback echo, recorded and exported as it runs; the recording
// opened again and exported to a trace, a CSV and a PNG; bad files and bad combinations
// refused with one line, exit 2 and no file written.
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "headless_app.h"
#include "headless_open.h"
#include "peer.h"
#include "ready/capture/export.h"
#include "ready/capture/recording.h"
#include "ready/net/addr.h"
#include "ready_test.h"
#include "rfc4180.h"
#include "trace_schema.h"

using namespace ready;
using namespace readyscope;
using namespace ready::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr int kRunLimitMs = 60000;

struct Result {
  int code = -1;
  QString out;
  QString err;
};

/// Runs readyscope to its end.
Result run(const QStringList& args) {
  QProcess p;
  p.start(kApp, args);
  Result r;
  if (!p.waitForFinished(kRunLimitMs)) {
    p.kill();
    p.waitForFinished();
    r.err = QStringLiteral("did not finish");
    return r;
  }
  r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  r.out = QString::fromLocal8Bit(p.readAllStandardOutput());
  r.err = QString::fromLocal8Bit(p.readAllStandardError());
  return r;
}

std::string readAll(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return {};
  return f.readAll().toStdString();
}

/// The record lines of a recording by "type" (the header not counted).
std::map<std::string, std::size_t> linesByType(const QString& path) {
  std::map<std::string, std::size_t> out;
  const std::string text = readAll(path);
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
    at = end == std::string::npos ? text.size() : end + 1;
    if (line.empty()) continue;
    const json j = json::parse(line);
    if (j["type"] != "header") ++out[j["type"].get<std::string>()];
  }
  return out;
}

std::size_t total(const std::map<std::string, std::size_t>& m) {
  std::size_t n = 0;
  for (const auto& [k, v] : m) n += v;
  return n;
}

std::size_t readinessInstants(const json& events) {
  return static_cast<std::size_t>(std::count_if(events.begin(), events.end(), [](const json& e) {
    return e.value("ph", "") == "i" && e.value("cat", "") == "readiness";
  }));
}

}  // namespace

class TestCliOpenExport : public CoreTest {
  Q_OBJECT

 private slots:
  // A live capture records and exports as it runs; the recording opened again gives the
  // same CSV and a trace with the same events, and a PNG.
  void liveCaptureThenOpen() {
    QTemporaryDir dir;
    const QString rec = dir.filePath(QStringLiteral("cap.jsonl"));
    const QString liveTrace = dir.filePath(QStringLiteral("live.json"));
    const QString liveCsv = dir.filePath(QStringLiteral("live.csv"));
    App app({"--listen", "127.0.0.1:0", "--reaction", "echo", "--record", rec, "--export-trace", liveTrace,
             "--export-csv", liveCsv});
    // "token 1: --listen 127.0.0.1:0 (tcp_listener) fd N: 127.0.0.1:PORT"
    const auto addr = app.listener();
    QVERIFY2(addr, qPrintable("no listener address printed: " + app.err()));
    {
      auto client = plain_connect(*addr);
      QVERIFY_OK(client);
      for (const char* msg : {"one..", "two..", "three"}) {
        CHECKED_WRITE(plain_send(client->get(), bytes(msg)), 5);
        std::array<std::byte, 16> buf{};
        EXPECT_READ(plain_recv(client->get(), buf), buf, msg);
      }
    }  // closed: the echo reads end-of-file
    QCOMPARE(app.stop(kRunLimitMs), 0);
    const QString liveOut = app.lines.join(u'\n');
    QVERIFY2(liveOut.contains(QStringLiteral("trace written to ") + liveTrace), qPrintable(liveOut));

    const auto types = linesByType(rec);
    // The listener's and the stream's (the echo may read every message in one drain).
    QVERIFY(types.at("readiness") >= 2);
    json liveEvents;
    CHECKED_CALL(check_trace_schema(readAll(liveTrace), liveEvents));
    QCOMPARE(readinessInstants(liveEvents), types.at("readiness"));

    const QString trace = dir.filePath(QStringLiteral("t.json"));
    const QString csv = dir.filePath(QStringLiteral("c.csv"));
    const QString png = dir.filePath(QStringLiteral("p.png"));
    const Result r =
        run({"--headless", "--open", rec, "--export-trace", trace, "--export-csv", csv, "--png", png});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    // The summary: records, sources, time span; no warning (the recorder finished).
    QVERIFY2(r.out.contains(QStringLiteral("%1 records, 2 sources").arg(total(types))), qPrintable(r.out));
    QVERIFY2(!r.out.contains(QStringLiteral("warning")), qPrintable(r.out));

    json events;
    CHECKED_CALL(check_trace_schema(readAll(trace), events));
    QCOMPARE(readinessInstants(events), types.at("readiness"));
    QCOMPARE(events.size(), liveEvents.size());  // the same events, whether live or from the file

    std::vector<std::vector<std::string>> rows;
    QVERIFY2(parse_rfc4180(readAll(csv), rows), "the CSV is not RFC 4180");
    QCOMPARE(rows.size(), total(types) + 1);
    // What the live capture exported is what the recording gives back.
    QCOMPARE(readAll(csv), readAll(liveCsv));

    QFile image(png);
    QVERIFY(image.open(QIODevice::ReadOnly));
    QVERIFY(image.size() > 1000);
    QCOMPARE(image.read(8), QByteArray("\x89PNG\r\n\x1a\n", 8));

    // A recording whose recorder was stopped before its final stats line opens, with a warning.
    const QString cut = dir.filePath(QStringLiteral("cut.jsonl"));
    {
      std::string text = readAll(rec);
      text.erase(text.rfind('\n', text.size() - 2) + 1);  // the stats line
      QFile f(cut);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write(text.data(), static_cast<qint64>(text.size()));
    }
    const Result c = run({"--headless", "--open", cut});
    QVERIFY2(c.code == 0, qPrintable(c.err));
    QVERIFY2(
        c.out.contains(QStringLiteral("warning: ") + cut + QStringLiteral(" does not end with a stats line")),
        qPrintable(c.out));
  }

  void badFileRefused_data() {
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("where");  // what the error line names after the file
    const QByteArray header =
        "{\"type\":\"header\",\"format\":\"readyscope-recording\",\"version\":1,\"started\":\"x\"}"
        "\n";
    QTest::newRow("truncated line") << header + "{\"type\":\"readiness\",\"t_ns\":5,\"tok"
                                    << QStringLiteral(":2: ");
    QTest::newRow("another format")
        << QByteArray(
               "{\"type\":\"header\",\"format\":\"pcapng\",\"version\":1,\"started\":\"x\"}"
               "\n")
        << QStringLiteral(":1: ");
    QTest::newRow("version 99")
        << QByteArray(
               "{\"type\":\"header\",\"format\":\"readyscope-recording\",\"version\":99,\"started\":\"x\"}"
               "\n")
        << QStringLiteral(":1: ");
    QTest::newRow("not JSON lines") << QByteArray("\x89PNG\r\n\x1a\n") << QStringLiteral(":1: ");
    QTest::newRow("missing") << QByteArray() << QStringLiteral(": ");
  }
  // One line on stderr naming the file (and the line), exit 2, and no output file written.
  void badFileRefused() {
    QFETCH(QByteArray, content);
    QFETCH(QString, where);
    QTemporaryDir dir;
    const QString bad = dir.filePath(QStringLiteral("bad.jsonl"));
    if (!content.isEmpty()) {
      QFile f(bad);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write(content);
    }
    const QString trace = dir.filePath(QStringLiteral("t.json"));
    const QString csv = dir.filePath(QStringLiteral("c.csv"));
    const QString png = dir.filePath(QStringLiteral("p.png"));
    const Result r =
        run({"--headless", "--open", bad, "--export-trace", trace, "--export-csv", csv, "--png", png});
    QCOMPARE(r.code, 2);
    const QStringList lines = r.err.trimmed().split(u'\n');
    QCOMPARE(lines.size(), 1);
    QVERIFY2(lines[0].startsWith(QStringLiteral("readyscope: ") + bad + where), qPrintable(lines[0]));
    for (const QString& out : {trace, csv, png}) QVERIFY2(!QFileInfo::exists(out), qPrintable(out));
  }

  void badCombinationRefused_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("says");
    QTest::newRow("with a source") << QStringList{"--headless", "--open", "x.jsonl", "--listen",
                                                  "127.0.0.1:0"}
                                   << QStringLiteral("--open cannot be combined with --listen");
    QTest::newRow("with a scenario") << QStringList{"--headless", "--open", "x.jsonl", "--scenario",
                                                    "half-close"}
                                     << QStringLiteral("--open cannot be combined with --scenario");
    QTest::newRow("with --record") << QStringList{"--headless", "--open", "x.jsonl", "--record", "y.jsonl"}
                                   << QStringLiteral("--open cannot be combined with --record");
    QTest::newRow("with --duration") << QStringList{"--headless", "--open", "x.jsonl", "--duration", "1"}
                                     << QStringLiteral("--open cannot be combined with --duration");
    QTest::newRow("export without --headless")
        << QStringList{"--listen", "127.0.0.1:0", "--export-csv", "y.csv"}
        << QStringLiteral("--export-csv is for headless runs");
  }
  // One line saying what cannot go together, exit 2, nothing opened or written.
  void badCombinationRefused() {
    QFETCH(QStringList, args);
    QFETCH(QString, says);
    QTemporaryDir dir;
    QProcess p;
    p.setWorkingDirectory(dir.path());
    p.start(kApp, args);
    QVERIFY(p.waitForFinished(kRunLimitMs));
    QCOMPARE(p.exitCode(), 2);
    const QStringList lines = QString::fromLocal8Bit(p.readAllStandardError()).trimmed().split(u'\n');
    QCOMPARE(lines.size(), 1);
    QVERIFY2(lines[0].contains(says), qPrintable(lines[0]));
    QVERIFY(QDir(dir.path()).entryList(QDir::NoDotAndDotDot | QDir::AllEntries).isEmpty());
  }

  // A recording larger than the store's bound: the oldest records are evicted from the
  // picture and the count printed, and the exports (read from the file again) have them all.
  // In-process, to pass runOpen a store of 2048 records instead of 2^26.
  void evictedRecordsStillExported() {
    QTemporaryDir dir;
    const std::string rec = dir.filePath(QStringLiteral("big.jsonl")).toStdString();
    constexpr std::uint64_t kReadiness = 5000;
    {
      auto w = ready::capture::RecordingWriter::create(rec);
      QVERIFY_OK(w);
      std::vector<ready::capture::Record> rs;
      ready::capture::Record added;
      added.kind = ready::capture::RecordKind::source_added;
      added.op = static_cast<std::uint8_t>(ready::capture::SourceKind::eventfd);
      added.token = 1;
      added.fd = 7;
      added.t_ns = 10;
      rs.push_back(added);
      for (std::uint64_t i = 0; i < kReadiness; ++i) {
        ready::capture::Record r;
        r.kind = ready::capture::RecordKind::readiness;
        r.token = 1;
        r.fd = 7;
        r.bits = 0x1;
        r.t_ns = 1000 + i * 1000;
        rs.push_back(r);
      }
      QVERIFY_OK(w->write(rs));
      QVERIFY_OK(w->close());
    }
    HeadlessPlan plan;
    plan.open_path = rec;
    plan.export_trace_path = dir.filePath(QStringLiteral("t.json")).toStdString();
    plan.export_csv_path = dir.filePath(QStringLiteral("c.csv")).toStdString();
    char* text = nullptr;
    std::size_t size = 0;
    std::FILE* out = open_memstream(&text, &size);
    QVERIFY(out);
    const int code = runOpen(plan, out, stderr, {},
                             ready::capture::StoreLimits{.chunk_records = 1024, .max_records = 2048});
    std::fclose(out);
    const QString printed = QString::fromUtf8(text, static_cast<qsizetype>(size));
    std::free(text);
    QVERIFY2(code == 0, qPrintable(printed));
    QVERIFY2(printed.contains(QStringLiteral("holds more than 2048 records: the oldest ")),
             qPrintable(printed));
    QVERIFY2(printed.contains(QStringLiteral("%1 records, 1 sources").arg(kReadiness + 1)),
             qPrintable(printed));
    QVERIFY2(printed.contains(QStringLiteral("warning")), qPrintable(printed));  // hand-made: no stats line
    json events;
    CHECKED_CALL(check_trace_schema(readAll(QString::fromStdString(*plan.export_trace_path)), events));
    QCOMPARE(readinessInstants(events), std::size_t{kReadiness});
    std::vector<std::vector<std::string>> rows;
    QVERIFY(parse_rfc4180(readAll(QString::fromStdString(*plan.export_csv_path)), rows));
    QCOMPARE(rows.size(), std::size_t{kReadiness + 2});  // the header and the source line too
  }

  // An export never replaces a file without --overwrite, and never the recording it reads.
  void existingOutputRefused() {
    QTemporaryDir dir;
    const QString rec = dir.filePath(QStringLiteral("r.jsonl"));
    const QString out = dir.filePath(QStringLiteral("out.csv"));
    {
      QFile f(out);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write("keep");
      QFile g(rec);
      QVERIFY(g.open(QIODevice::WriteOnly));
      g.write(
          "{\"type\":\"header\",\"format\":\"readyscope-recording\",\"version\":1,\"started\":\"x\"}"
          "\n");
    }
    Result r = run({"--headless", "--open", rec, "--export-csv", out});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains(QStringLiteral("the file exists")), qPrintable(r.err));
    QCOMPARE(readAll(out), std::string("keep"));
    r = run({"--headless", "--open", rec, "--export-trace", rec, "--overwrite"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains(QStringLiteral("is the recording --open reads")), qPrintable(r.err));
    r = run({"--headless", "--open", rec, "--export-csv", out, "--overwrite"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QCOMPARE(readAll(out), ready::capture::CsvWriter::header() + "\r\n");
    QVERIFY2(r.out.contains(QStringLiteral("0 records, 0 sources")), qPrintable(r.out));
    QVERIFY2(r.out.contains(QStringLiteral("warning")), qPrintable(r.out));  // no stats line at its end
  }
};

QTEST_GUILESS_MAIN(TestCliOpenExport)
#include "tst_cli_open_export.moc"
