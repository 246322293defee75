// The attach tests' target: tests/attach/epoll_target.py run by python3 under QProcess, its
// lines read as it says them (what it registered, modified, accepted).
#pragma once

#include <QProcess>
#include <QStandardPaths>
#include <QString>
#include <QStringList>

#include <chrono>

#include "ready_test.h"

namespace ready::test {

class AttachTarget {
 public:
  /// Starts the target (extra arguments after the script); false when python3 is missing or
  /// it said no port within the wait limit.
  bool start(const QStringList& args = {}) {
    const QString python = QStandardPaths::findExecutable(QStringLiteral("python3"));
    if (python.isEmpty()) return false;
    proc.setProcessChannelMode(QProcess::SeparateChannels);
    proc.start(python, QStringList{QStringLiteral(READY_ATTACH_TARGET)} + args);
    if (!proc.waitForStarted()) return false;
    const QString p = expect(QStringLiteral("port "));
    if (p.isEmpty()) return false;
    port = p.section(QLatin1Char(' '), 1, 1).toUShort();
    return port != 0;
  }
  ~AttachTarget() {
    if (proc.state() != QProcess::NotRunning) {
      proc.kill();
      proc.waitForFinished();
    }
  }
  [[nodiscard]] int pid() const { return static_cast<int>(proc.processId()); }
  /// Sends one command line ("mod", "unreg", "exit").
  bool send(const QByteArray& line) {
    proc.write(line + '\n');
    return proc.waitForBytesWritten();
  }
  /// The next line the target says that starts with `prefix` (earlier ones are kept in
  /// `lines`); "" when none came within the wait limit.
  QString expect(const QString& prefix) {
    for (Deadline d(kWaitLimit); !d.expired();) {
      while (proc.canReadLine()) {
        const QString l = QString::fromUtf8(proc.readLine()).trimmed();
        lines << l;
        if (l.startsWith(prefix)) return l;
      }
      if (proc.state() == QProcess::NotRunning) return {};
      proc.waitForReadyRead(100);
    }
    return {};
  }

  QProcess proc;
  quint16 port = 0;
  QStringList lines;
};

}  // namespace ready::test
