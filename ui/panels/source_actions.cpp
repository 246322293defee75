#include "panels/source_actions.h"

#include <QAction>

#include <algorithm>

namespace ready::ui {

namespace {

using A = InspectorAction;
using capture::SourceKind;

}  // namespace

QString action_label(InspectorAction a) {
  switch (a) {
    case A::read: return QStringLiteral("Read");
    case A::drain: return QStringLiteral("Drain");
    case A::write: return QStringLiteral("Write");
    case A::fill: return QStringLiteral("Fill");
    case A::shutdown_read: return QStringLiteral("Shutdown read");
    case A::shutdown_write: return QStringLiteral("Shutdown write");
    case A::accept: return QStringLiteral("Accept");
    case A::eventfd_write: return QStringLiteral("Write value");
    case A::eventfd_read: return QStringLiteral("Read counter");
    case A::timer_arm: return QStringLiteral("Arm");
    case A::timer_disarm: return QStringLiteral("Disarm");
    case A::rearm: return QStringLiteral("Rearm");
    case A::close: return QStringLiteral("Close");
  }
  return {};
}

const std::vector<InspectorAction>& SourceActions::all() {
  static const std::vector<InspectorAction> every = {A::read,          A::drain,          A::write,        A::fill,
                                                     A::shutdown_read, A::shutdown_write, A::accept,       A::eventfd_write,
                                                     A::eventfd_read,  A::timer_arm,      A::timer_disarm, A::rearm,
                                                     A::close};
  return every;
}

std::vector<InspectorAction> SourceActions::actionsFor(SourceKind kind) {
  switch (kind) {
    case SourceKind::tcp_stream:
    case SourceKind::unix_stream:
      return {A::read, A::drain, A::write, A::fill, A::shutdown_read, A::shutdown_write, A::rearm, A::close};
    case SourceKind::tcp_listener:
    case SourceKind::unix_listener:
      return {A::accept, A::rearm, A::close};
    case SourceKind::udp:
    case SourceKind::unix_datagram:
      return {A::read, A::drain, A::write, A::rearm, A::close};
    case SourceKind::pipe_sender:
      return {A::write, A::fill, A::rearm, A::close};
    case SourceKind::pipe_receiver:
      return {A::read, A::drain, A::rearm, A::close};
    case SourceKind::eventfd:
      return {A::eventfd_write, A::eventfd_read, A::rearm, A::close};
    case SourceKind::timerfd:
      return {A::timer_arm, A::timer_disarm, A::read, A::rearm, A::close};
    case SourceKind::signalfd:  // the kinds only an attached process's descriptors have:
    case SourceKind::epoll:     // nothing to do to them from here (docs/attach.md)
    case SourceKind::file:
    case SourceKind::socket:
    case SourceKind::other:
      return {};
  }
  return {A::rearm, A::close};
}

SourceActions::SourceActions(CaptureSession& session, QObject* parent) : QObject(parent), m_session(session) {
  for (const InspectorAction a : all()) {
    auto* act = new QAction(action_label(a), this);
    act->setObjectName(QStringLiteral("sourceAction_%1").arg(static_cast<int>(a)));
    act->setVisible(false);
    connect(act, &QAction::triggered, this, [this, a] { run(a); });
    m_actions.emplace(a, act);
  }
  m_actions[A::rearm]->setToolTip(tr("Registry::modify with the current interest: re-arms a oneshot source"));
  m_actions[A::fill]->setToolTip(tr("Write until the kernel buffer is full (would block)"));
  m_actions[A::drain]->setToolTip(tr("Read until would-block, end-of-file or an error"));
  m_actions[A::write]->setToolTip(tr("Write the inspector's send box"));
  m_actions[A::close]->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_W));
}

std::vector<QAction*> SourceActions::current() const {
  std::vector<QAction*> out;
  if (m_token == 0) return out;
  for (const InspectorAction a : actionsFor(m_kind)) out.push_back(m_actions.at(a));
  return out;
}

void SourceActions::setSource(std::uint64_t token, SourceKind kind) {
  m_token = token;
  m_kind = kind;
  const auto shown = token == 0 ? std::vector<InspectorAction>{} : actionsFor(kind);
  for (auto& [a, act] : m_actions) act->setVisible(std::ranges::find(shown, a) != shown.end());
  setClosed(false);
}

void SourceActions::setClosed(bool closed) {
  for (auto& [a, act] : m_actions) act->setEnabled(!closed);
}

void SourceActions::run(InspectorAction a) {
  if (m_token == 0) return;
  const Token t(m_token);
  const Params p = m_params ? m_params() : Params{};
  using namespace capture::cmd;
  switch (a) {
    case A::read: return submit(Read{t, p.read_bytes}, tr("read %1").arg(p.read_bytes));
    case A::drain: return submit(Drain{t}, tr("drain"));
    case A::write:
      if (m_writer) m_writer();
      return;
    case A::fill: return submit(Fill{t}, tr("fill"));
    case A::shutdown_read: return submit(ShutdownRead{t}, tr("shutdown read"));
    case A::shutdown_write: return submit(ShutdownWrite{t}, tr("shutdown write"));
    case A::accept: return submit(Accept{t}, tr("accept"));
    case A::eventfd_write: return submit(EventFdWrite{t, p.eventfd_value}, tr("eventfd write %1").arg(p.eventfd_value));
    case A::eventfd_read: return submit(EventFdRead{t}, tr("eventfd read"));
    case A::timer_arm: return submit(TimerArm{t, p.timer_initial, p.timer_interval}, tr("arm"));
    case A::timer_disarm: return submit(TimerDisarm{t}, tr("disarm"));
    case A::rearm: return submit(Rearm{t}, tr("rearm"));
    case A::close: return submit(Close{t}, tr("close"));
  }
}

void SourceActions::submit(capture::Command c, const QString& description) {
  const auto r = m_session.submit(std::move(c));
  if (!r) {
    emit refused(description, error_text(r.error()));
    return;
  }
  emit submitted(description);
}

}  // namespace ready::ui
