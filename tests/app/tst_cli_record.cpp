// --record's file handling (issue 15) against the real binary: --record-payload with a real
// client, a ring of files (--max-file-size, --max-files), --stop-after-records, and the bad
// combinations, which exit 2 with one line. --max-file-size's parser in-process.
#include <signal.h>

#include <QDir>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "cli.h"
#include "headless_app.h"
#include "peer.h"
#include "ready/capture/recorder.h"
#include "ready/capture/recording.h"
#include "ready/capture/store.h"
#include "ready_test.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::test;
using namespace std::chrono_literals;

namespace {

/// "readyscope: closed FILE (N records)" lines: file -> N, in order.
std::vector<std::pair<QString, std::uint64_t>> closedFiles(const QStringList& lines) {
  static const QRegularExpression re(QStringLiteral(R"(^readyscope: closed (.+) \((\d+) records\)$)"));
  std::vector<std::pair<QString, std::uint64_t>> out;
  for (const QString& l : lines)
    if (const auto m = re.match(l); m.hasMatch())
      out.emplace_back(m.captured(1), m.captured(2).toULongLong());
  return out;
}

/// Sends `message` and reads its echo whole.
bool echoOnce(int fd, std::string_view message, std::string& got) {
  for (std::size_t done = 0; done < message.size();) {
    auto n = plain_send(fd, bytes(message.substr(done)));
    if (!n) return false;
    done += *n;
  }
  std::array<std::byte, 4096> buf{};
  for (std::size_t have = 0; have < message.size();) {
    auto n = plain_recv(fd, std::span<std::byte>(buf).first(std::min(buf.size(), message.size() - have)));
    if (!n || *n == 0) return false;
    for (std::size_t i = 0; i < *n; ++i) got += static_cast<char>(buf[i]);
    have += *n;
  }
  return true;
}

}  // namespace

class TestCliRecord : public CoreTest {
  Q_OBJECT

 private slots:
  // --record-payload: the bytes a real client sent and got back are in the recording, per
  // direction and in order, on the accepted stream's token.
  void payloadOfAnEchoCapture() {
    QTemporaryDir dir;
    const QString rec = dir.filePath(QStringLiteral("cap.jsonl"));
    App app({"--listen", "127.0.0.1:0", "--reaction", "echo", "--record", rec, "--record-payload"});
    const auto addr = app.listener();
    QVERIFY(addr);
    std::string sent, received;
    {
      auto client = plain_connect(*addr);
      QVERIFY_OK(client);
      for (int i = 0; i < 20; ++i) {
        const std::string msg =
            "hello " + std::to_string(i) + "\n" + std::string(static_cast<std::size_t>(i) * 50, 'x');
        sent += msg;
        QVERIFY(echoOnce(client->get(), msg, received));
      }
    }
    QCOMPARE(received, sent);
    // Every echo was answered, so its records are in the ring or drained: the stop drains the
    // rest and fetches their payload before the file is closed.
    const int code = app.stop();
    QVERIFY2(code == 0, qPrintable(app.err()));
    const auto closed = closedFiles(app.lines);
    QCOMPARE(closed.size(), std::size_t{1});
    QCOMPARE(closed[0].first, rec);

    RecordStore store;
    auto info = load_recording(rec.toStdString(), store);
    QVERIFY2(info, info ? "" : info.error().message().c_str());
    // Payload lines need version 2; queue sampling (on by default) makes it 3, which may hold both.
    QCOMPARE(info->version, kRecordingQueueVersion);
    QVERIFY(info->payload_lines > 0);
    QCOMPARE(info->records, closed[0].second);
    QVERIFY(info->ended_with_stats);
    std::uint64_t stream = 0;
    for (std::uint64_t i = store.begin_index(); i < store.end_index(); ++i) {
      const Record r = store.at(i);
      if (r.kind == RecordKind::source_added && r.source_kind() == SourceKind::tcp_stream) stream = r.token;
    }
    QVERIFY(stream != 0);
    std::string in, out;
    for (const PayloadChunk& c : info->payload.at(stream))
      for (const std::byte b : c.bytes) (c.direction == Direction::in ? in : out) += static_cast<char>(b);
    QCOMPARE(in, sent);
    QCOMPARE(out, received);
    QVERIFY2(app.lines.contains(
                 QStringLiteral("readyscope: payload: %1 bytes written, 0 cut").arg(2 * sent.size())),
             qPrintable(app.lines.join(u'\n')));
  }

  // --max-file-size 64k --max-files 3: more files are written and closed (each name printed),
  // three are left, the newest, each a complete recording within the size plus its last line.
  void rotationLeavesThreeCompleteFiles() {
    QTemporaryDir dir;
    const QString rec = dir.filePath(QStringLiteral("rot.jsonl"));
    App app({"--listen", "127.0.0.1:0", "--reaction", "echo", "--record", rec, "--max-file-size", "64k",
             "--max-files", "3"});
    const auto addr = app.listener();
    QVERIFY(addr);
    const std::uint64_t limit = 64 * 1024;
    {
      auto client = plain_connect(*addr);
      QVERIFY_OK(client);
      std::string got;
      // Each echo is a few records of about 100 bytes: enough for five files and more.
      for (int i = 0; i < 1500; ++i) QVERIFY(echoOnce(client->get(), "0123456789", got));
    }
    const int code = app.stop();
    QVERIFY2(code == 0, qPrintable(app.err()));
    const auto closed = closedFiles(app.lines);
    QVERIFY2(closed.size() >= 5, qPrintable(app.lines.join(u'\n')));
    const QStringList left = QDir(dir.path()).entryList(QDir::Files, QDir::Name);
    QCOMPARE(left.size(), 3);
    static const QRegularExpression name(QStringLiteral(R"(^rot_(\d{5})_\d{14}\.jsonl$)"));
    for (std::size_t i = 0; i < closed.size(); ++i) {
      const QString base = QFileInfo(closed[i].first).fileName();
      const auto m = name.match(base);
      QVERIFY2(m.hasMatch(), qPrintable(base));
      QCOMPARE(m.captured(1).toULongLong(), i + 1);
      QCOMPARE(left.contains(base), i + 3 >= closed.size());
    }
    for (std::size_t i = closed.size() - 3; i < closed.size(); ++i) {
      const std::string path = closed[i].first.toStdString();
      RecordStore store;
      auto info = load_recording(path, store);
      QVERIFY2(info, info ? "" : info.error().message().c_str());
      QCOMPARE(info->records, closed[i].second);
      QVERIFY(info->ended_with_stats);
      QFile f(closed[i].first);
      QVERIFY(f.open(QIODevice::ReadOnly));
      const QList<QByteArray> lines = f.readAll().split('\n');
      QVERIFY(lines.size() >= 3 && lines.back().isEmpty());
      const auto lastLine = static_cast<std::uint64_t>(lines[lines.size() - 2].size() + 1);
      QVERIFY2(static_cast<std::uint64_t>(f.size()) <= limit + lastLine, qPrintable(closed[i].first));
      // A file after the first opens with the sources still open (the listener), marked.
      QVERIFY(lines[1].contains(R"("type":"source")") && lines[1].contains(R"("recorder":true)"));
    }
  }

  // --stop-after-records N ends the run by itself, with N records and a closing stats line.
  void stopAfterRecords() {
    QTemporaryDir dir;
    const QString rec = dir.filePath(QStringLiteral("stop.jsonl"));
    App app({"--listen", "127.0.0.1:0", "--reaction", "echo", "--record", rec, "--stop-after-records", "40"});
    const auto addr = app.listener();
    QVERIFY(addr);
    {
      auto client = plain_connect(*addr);
      QVERIFY_OK(client);
      std::string got;
      // Until the run stops by itself: then the echo fails (reset or end of file).
      for (int i = 0; i < 1000 && echoOnce(client->get(), "ping", got); ++i) {
      }
    }
    QVERIFY(app.waitFor([](const QStringList& ls) {
      return std::any_of(ls.begin(), ls.end(),
                         [](const QString& l) { return l.contains("--stop-after-records 40 reached"); });
    }));
    QCOMPARE(app.stop(), 0);
    // The records drained after the stop (the final stats at least) are counted, not lost.
    static const QRegularExpression after(
        QStringLiteral(R"(^readyscope: (\d+) records after --stop-after-records not written$)"));
    QVERIFY2(std::any_of(app.lines.begin(), app.lines.end(),
                         [](const QString& l) {
                           return after.match(l).hasMatch() && after.match(l).captured(1).toULongLong() >= 1;
                         }),
             qPrintable(app.lines.join(u'\n')));
    RecordStore store;
    auto info = load_recording(rec.toStdString(), store);
    QVERIFY2(info, info ? "" : info.error().message().c_str());
    QCOMPARE(info->records, std::uint64_t{41});
    QCOMPARE(info->recorder_lines, std::uint64_t{1});
    QVERIFY(info->ended_with_stats);
  }

  void badCombinationsExitTwo_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    const QStringList listen{"--headless", "--listen", "127.0.0.1:0"};
    QTest::newRow("max-files without record")
        << listen + QStringList{"--max-files", "3"} << "--max-files needs --record FILE";
    QTest::newRow("payload without record")
        << listen + QStringList{"--record-payload"} << "--record-payload needs --record FILE";
    QTest::newRow("stop without record")
        << listen + QStringList{"--stop-after-records", "5"} << "--stop-after-records needs --record FILE";
    QTest::newRow("max-files without size")
        << listen + QStringList{"--record", "@DIR@/a.jsonl", "--max-files", "3"}
        << "--max-files needs --max-file-size";
    QTest::newRow("size too small") << listen +
                                           QStringList{"--record", "@DIR@/a.jsonl", "--max-file-size", "1k"}
                                    << "--max-file-size '1k': expected a size of at least 64k";
    QTest::newRow("size not a size") << listen +
                                            QStringList{"--record", "@DIR@/a.jsonl", "--max-file-size", "10x"}
                                     << "--max-file-size '10x': expected";
    QTest::newRow("zero files") << listen + QStringList{"--record", "@DIR@/a.jsonl", "--max-file-size",
                                                        "1M",       "--max-files",   "0"}
                                << "--max-files '0': expected a number of files from 1";
    QTest::newRow("zero records") << listen +
                                         QStringList{"--record", "@DIR@/a.jsonl", "--stop-after-records", "0"}
                                  << "--stop-after-records '0': expected a number of records";
    QTest::newRow("option as value") << listen + QStringList{"--record", "@DIR@/a.jsonl", "--max-file-size",
                                                             "--max-files"}
                                     << "--max-file-size: expected SIZE, got the option";
  }
  void badCombinationsExitTwo() {
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    QTemporaryDir dir;
    args.replaceInStrings(QStringLiteral("@DIR@"), dir.path());
    QProcess p;
    p.start(kApp, args);
    QVERIFY(p.waitForFinished(kProcessLimitMs));
    QCOMPARE(p.exitCode(), 2);
    const QString err = QString::fromLocal8Bit(p.readAllStandardError());
    QVERIFY2(err.startsWith(QStringLiteral("readyscope: ") + message), qPrintable(err));
    QCOMPARE(err.count(u'\n'), 1);
    QVERIFY(QDir(dir.path()).entryList(QDir::Files).isEmpty());  // nothing was opened
  }

  // A ring never writes FILE itself (its files have FILE's name with a number): an existing
  // FILE does not stop --max-file-size, while it still stops a single-file --record. The
  // plan carries every value of the recording flags.
  void ringIgnoresAnExistingBaseFile() {
    QTemporaryDir dir;
    const QString base = dir.filePath(QStringLiteral("old.jsonl"));
    QFile f(base);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("old\n");
    f.close();
    const auto plan = [&](const QStringList& extra) {
      readyscope::CommandLine cl;
      const QStringList args = QStringList{"readyscope", "--headless", "--listen", "127.0.0.1:0", "--record", base} + extra;
      return cl.parse(args).has_value() ? cl.invocation() : std::unexpected(QStringLiteral("parse failed"));
    };
    const auto single = plan({});
    QVERIFY(!single);
    QVERIFY2(single.error().contains(QLatin1String("the file exists")), qPrintable(single.error()));
    const auto ring = plan({"--max-file-size", "1M", "--max-files", "2", "--record-payload", "--stop-after-records", "7"});
    QVERIFY2(ring, ring ? "" : qPrintable(ring.error()));
    QCOMPARE(ring->plan.max_file_bytes, std::uint64_t{1} << 20);
    QCOMPARE(ring->plan.max_files, std::size_t{2});
    QVERIFY(ring->plan.record_payload);
    QCOMPARE(ring->plan.stop_after_records, std::uint64_t{7});
  }

  void parseSize_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<qulonglong>("bytes");  // 0: refused
    QTest::newRow("bytes") << "65536" << 65536ULL;
    QTest::newRow("k") << "100k" << 102400ULL;
    QTest::newRow("K") << "100K" << 102400ULL;
    QTest::newRow("M") << "3M" << 3ULL * 1024 * 1024;
    QTest::newRow("G") << "2G" << 2ULL * 1024 * 1024 * 1024;
    QTest::newRow("empty") << "" << 0ULL;
    QTest::newRow("suffix only") << "k" << 0ULL;
    QTest::newRow("zero") << "0k" << 0ULL;
    QTest::newRow("sign") << "+5k" << 0ULL;
    QTest::newRow("space") << " 5k" << 0ULL;
    QTest::newRow("fraction") << "1.5M" << 0ULL;
    QTest::newRow("lower m") << "5m" << 0ULL;
    QTest::newRow("two suffixes") << "5kk" << 0ULL;
    QTest::newRow("overflow") << "99999999999999999G" << 0ULL;
  }
  void parseSize() {
    QFETCH(QString, text);
    QFETCH(qulonglong, bytes);
    const auto got = readyscope::parseSize(text);
    QCOMPARE(got.value_or(0), std::uint64_t{bytes});
  }
};

QTEST_GUILESS_MAIN(TestCliRecord)
#include "tst_cli_record.moc"
