// The one time format (time_text, duration_text) and its parser (parse_time): what the axis,
// the log, the tooltips and Δt show is what Jump to time accepts.
#include <QtTest>

#include "models/time_text.h"

using namespace ready::ui;

class TestTimeText : public QObject {
  Q_OBJECT

 private slots:
  void format_data() {
    QTest::addColumn<quint64>("ns");
    QTest::addColumn<quint64>("resolution");
    QTest::addColumn<QString>("text");
    QTest::newRow("the log's µs") << quint64{1'234'567'890} << quint64{1000} << "1.234 567 s";
    QTest::newRow("truncated, not rounded") << quint64{1'999'999'999} << quint64{1000} << "1.999 999 s";
    QTest::newRow("ms zoom") << quint64{1'234'567'890} << quint64{1'000'000} << "1.234 s";
    QTest::newRow("between: 50 µs needs 5 decimals") << quint64{1'234'567'890} << quint64{50'000} << "1.234 56 s";
    QTest::newRow("ns zoom") << quint64{1'234'567'890} << quint64{1} << "1.234 567 890 s";
    QTest::newRow("seconds") << quint64{61'500'000'000} << quint64{1'000'000'000} << "61 s";
    QTest::newRow("zero") << quint64{0} << quint64{1000} << "0.000 000 s";
    QTest::newRow("largest") << quint64{UINT64_MAX} << quint64{1} << "18446744073.709 551 615 s";
  }
  void format() {
    QFETCH(quint64, ns);
    QFETCH(quint64, resolution);
    QFETCH(QString, text);
    QCOMPARE(time_text(ns, resolution), text);
  }

  void durations_data() {
    QTest::addColumn<double>("ns");
    QTest::addColumn<QString>("text");
    QTest::newRow("ns") << 250.0 << "250 ns";
    QTest::newRow("µs") << 350'000.0 << "350 µs";
    QTest::newRow("ms") << 12'250'000.0 << "12.25 ms";
    QTest::newRow("s") << 3e9 << "3 s";
    QTest::newRow("negative") << -1500.0 << "-1.5 µs";
  }
  void durations() {
    QFETCH(double, ns);
    QFETCH(QString, text);
    QCOMPARE(duration_text(ns), text);
  }

  void parse_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<quint64>("ns");
    QTest::newRow("the log's text") << "1.234 567 s" << quint64{1'234'567'000};
    QTest::newRow("plain seconds") << "1.25" << quint64{1'250'000'000};
    QTest::newRow("whole seconds") << "3" << quint64{3'000'000'000};
    QTest::newRow("ms") << "350 ms" << quint64{350'000'000};
    QTest::newRow("ms, no space") << "12ms" << quint64{12'000'000};
    QTest::newRow("µs") << "350 µs" << quint64{350'000};
    QTest::newRow("us") << "2.5us" << quint64{2'500};
    QTest::newRow("ns") << "5 ns" << quint64{5};
    QTest::newRow("below a ns truncates") << "1.9 ns" << quint64{1};
    QTest::newRow("surrounding spaces") << "  0.5 s " << quint64{500'000'000};
    QTest::newRow("leading zeros") << "0007.000 001" << quint64{7'000'001'000};
  }
  void parse() {
    QFETCH(QString, text);
    QFETCH(quint64, ns);
    const auto t = parse_time(text);
    QVERIFY2(t.has_value(), qPrintable(text));
    QCOMPARE(*t, ns);
  }

  void refuses_data() {
    QTest::addColumn<QString>("text");
    for (const char* bad : {"", "s", "-1", "1.2.3", "abc", "1 h", "1e3", "12 m", "18446744074 s", ". s"})
      QTest::newRow(bad) << QString::fromUtf8(bad);
  }
  void refuses() {
    QFETCH(QString, text);
    QVERIFY2(!parse_time(text).has_value(), qPrintable(text));
  }

  // What any zoom shows parses back to the time truncated to what it shows.
  void roundTrip() {
    const quint64 times[] = {0, 1, 999, 1'000, 123'456'789, 1'234'567'890, 86'400'123'456'789, UINT64_MAX};
    const quint64 resolutions[] = {1, 10, 100, 1'000, 50'000, 1'000'000, 1'000'000'000};
    for (quint64 t : times)
      for (quint64 r : resolutions) {
        const QString text = time_text(t, r);
        const auto back = parse_time(text);
        QVERIFY2(back.has_value(), qPrintable(text));
        QVERIFY2(*back <= t, qPrintable(text));
        // Truncation loses less than one shown digit (the shown digit's ns <= the resolution).
        QVERIFY2(t - *back < r, qPrintable(QStringLiteral("%1 at %2 ns: %3").arg(t).arg(r).arg(text)));
      }
  }
};

QTEST_GUILESS_MAIN(TestTimeText)
#include "tst_time_text.moc"
