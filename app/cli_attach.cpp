// The command line's --attach and --attach-interval (issue 17; docs/attach.md): the process
// is looked at once here, so a wrong pid or a process this user may not read is one line and
// exit 2 before anything is opened.
#include <QRegularExpression>

#include "cli.h"
#include "ready/attach/process.h"

namespace readyscope {

namespace {
constexpr std::uint64_t kMinIntervalMs = 1;
constexpr std::uint64_t kMaxIntervalMs = 60'000;
}  // namespace

QCommandLineOption attachOption() {
  return QCommandLineOption(
      QStringLiteral("attach"),
      QStringLiteral("Watch the running process PID (docs/attach.md): each registration of its epoll instances "
                     "becomes a source (a lane named by what it watches: a socket's addresses, a Unix path, a pipe, "
                     "an eventfd, a timerfd...) with its interest mask and the data the program registered it "
                     "with; registrations that appear, change or go are recorded as they are seen. Needs only "
                     "/proc: a process of your own user (root: any). A process that holds no epoll instance yet is "
                     "watched until it makes one. When it exits, the capture says so and a headless run stops "
                     "(exit 0). Not with --scenario or --open."),
      QStringLiteral("PID"));
}

QCommandLineOption attachIntervalOption() {
  return QCommandLineOption(
      QStringLiteral("attach-interval"),
      QStringLiteral("With --attach: read the process's epoll instances every MS milliseconds (%1 to %2; default "
                     "50, i.e. 20 Hz). A registration that comes and goes between two reads is not seen.")
          .arg(kMinIntervalMs)
          .arg(kMaxIntervalMs),
      QStringLiteral("MS"));
}

QCommandLineOption traceOption() {
  return QCommandLineOption(
      QStringLiteral("trace"),
      QStringLiteral("With --attach: also trace the process with ptrace (level 2, docs/attach.md): every event its "
                     "epoll_wait / epoll_pwait / epoll_pwait2 returns becomes a readiness mark on the lane of the "
                     "registration it names, and every epoll_ctl is recorded as it is made. The process stops at "
                     "each of its syscalls while traced (slower; see docs/attach.md). Needs ptrace permission "
                     "(Yama kernel.yama.ptrace_scope 0 for your own processes, or CAP_SYS_PTRACE / root). "
                     "'readyscope --trace -- PROGRAM ARGS...' starts PROGRAM under the trace instead (a seccomp "
                     "filter stops it only on the traced syscalls; it is killed when the capture stops)."));
}

QCommandLineOption traceIoOption() {
  return QCommandLineOption(QStringLiteral("trace-io"),
                            QStringLiteral("With --trace: also record the traced program's read / write / recv / "
                                           "send calls on its watched descriptors as actions (bytes, would-block, "
                                           "end-of-file, errors)."));
}

std::expected<void, QString> CommandLine::attachOptions(HeadlessPlan& plan) const {
  const auto fail = [](const QString& s) { return std::unexpected(s); };
  static const QRegularExpression digits(QStringLiteral("^[0-9]{1,10}$"));
  if (m_parser.isSet(m_traceIo) && !m_parser.isSet(m_trace)) return fail(QStringLiteral("--trace-io needs --trace"));
  if (m_parser.isSet(m_trace) && !m_parser.isSet(m_attach)) {
    // readyscope --trace -- PROGRAM ARGS...
    const QStringList program = m_parser.positionalArguments();
    if (program.isEmpty() || program.constFirst().isEmpty())
      return fail(QStringLiteral("--trace needs --attach PID, or a program to start: --trace -- PROGRAM ARGS..."));
    if (m_parser.isSet(m_attachInterval)) return fail(QStringLiteral("--attach-interval needs --attach PID"));
    if (plan.scenario) return fail(QStringLiteral("--trace cannot be combined with --scenario"));
    AttachRequest req;
    req.trace = true;
    req.trace_io = m_parser.isSet(m_traceIo);
    for (const QString& a : program) req.launch.push_back(a.toStdString());
    plan.attach = std::move(req);
    return {};
  }
  if (m_parser.isSet(m_attachInterval) && !m_parser.isSet(m_attach))
    return fail(QStringLiteral("--attach-interval needs --attach PID"));
  if (!m_parser.isSet(m_attach)) return {};
  if (m_parser.isSet(m_trace) && !m_parser.positionalArguments().isEmpty())
    return fail(QStringLiteral("--trace: either --attach PID or -- PROGRAM ARGS..., not both"));
  if (m_parser.values(m_attach).size() > 1) return fail(QStringLiteral("--attach: one process per run"));
  if (plan.scenario) return fail(QStringLiteral("--attach cannot be combined with --scenario"));
  const QString v = m_parser.value(m_attach);
  bool ok = false;
  const qlonglong pid = v.toLongLong(&ok);
  if (!digits.match(v).hasMatch() || !ok || pid < 1 || pid > 0x7fff'ffff)
    return fail(QStringLiteral("--attach '%1': expected a process id (a whole number from 1)").arg(v));
  AttachRequest req;
  req.pid = static_cast<int>(pid);
  if (m_parser.isSet(m_attachInterval)) {
    const QString iv = m_parser.value(m_attachInterval);
    const qulonglong ms = iv.toULongLong(&ok);
    if (!digits.match(iv).hasMatch() || !ok || ms < kMinIntervalMs || ms > kMaxIntervalMs)
      return fail(QStringLiteral("--attach-interval '%1': expected whole milliseconds from %2 to %3")
                      .arg(iv)
                      .arg(kMinIntervalMs)
                      .arg(kMaxIntervalMs));
    req.interval = std::chrono::milliseconds(ms);
  }
  auto p = ready::attach::inspect_process(req.pid);
  if (!p) return fail(QStringLiteral("--attach %1: %2").arg(v, QString::fromStdString(p.error().message)));
  req.name = p->name;
  req.epoll_instances = p->epoll_instances;
  req.trace = m_parser.isSet(m_trace);
  req.trace_io = m_parser.isSet(m_traceIo);
  plan.attach = std::move(req);
  return {};
}

}  // namespace readyscope
