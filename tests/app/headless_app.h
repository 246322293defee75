// A headless readyscope run by the app suites that talk to it while it runs (tst_cli_record,
// tst_cli_new_user, tst_cli_open_export): the real binary (READYSCOPE_BIN, set per test target), its stdout read
// line by line.
#pragma once

#include <signal.h>

#include <QProcess>
#include <QString>
#include <QStringList>
#include <chrono>
#include <functional>
#include <optional>

#include "ready/net/addr.h"

namespace ready::test {

inline const QString kApp = QStringLiteral(READYSCOPE_BIN);
inline constexpr int kProcessLimitMs = 30000;

/// A headless readyscope whose stdout is read line by line.
class App {
 public:
  explicit App(const QStringList& args) {
    m_p.setProcessChannelMode(QProcess::SeparateChannels);
    m_p.start(kApp, QStringList{QStringLiteral("--headless")} + args);
  }
  ~App() {
    if (m_p.state() != QProcess::NotRunning) {
      m_p.kill();
      m_p.waitForFinished();
    }
  }
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  /// Reads stdout until `pred(lines)` holds (true), the process ends or 20 s pass.
  bool waitFor(const std::function<bool(const QStringList&)>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      while (m_p.canReadLine()) lines << QString::fromLocal8Bit(m_p.readLine()).trimmed();
      if (pred(lines)) return true;
      if (std::chrono::steady_clock::now() > deadline || m_p.state() == QProcess::NotRunning) return false;
      (void)m_p.waitForReadyRead(500);
    }
  }
  /// The address printed for token 1 ("token 1: ... : ADDR"), or "".
  QString firstSource() {
    QString where;
    (void)waitFor([&](const QStringList& ls) {
      for (const QString& l : ls)
        if (l.startsWith(QLatin1String("token 1:"))) {
          where = l.section(QStringLiteral(": "), -1);
          return true;
        }
      return false;
    });
    return where;
  }
  /// The listener's address, as printed for token 1.
  std::optional<net::SocketAddr> listener() { return net::SocketAddr::parse(firstSource().toStdString()); }
  /// SIGINT (unless it ended already), then the exit code (-1 if it did not end normally
  /// within `limit_ms`); the rest of stdout goes into `lines`.
  int stop(int limit_ms = kProcessLimitMs) {
    // Not once it has ended: processId() is 0 then, and kill(0, …) would signal this test's
    // whole process group.
    if (m_p.state() != QProcess::NotRunning) ::kill(static_cast<pid_t>(m_p.processId()), SIGINT);
    if (!m_p.waitForFinished(limit_ms)) return -1;
    while (m_p.canReadLine()) lines << QString::fromLocal8Bit(m_p.readLine()).trimmed();
    return m_p.exitStatus() == QProcess::NormalExit ? m_p.exitCode() : -1;
  }
  QString err() { return QString::fromLocal8Bit(m_p.readAllStandardError()); }

  QStringList lines;

 private:
  QProcess m_p;
};

}  // namespace ready::test
