// The operations a source can do, as one set of QActions shared by every place that offers
// them: the inspector's buttons, the sources table's context menu and the Capture menu.
#pragma once

#include <QObject>
#include <QString>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "ready/capture/command.h"
#include "ready/capture/record.h"
#include "session/capture_session.h"

class QAction;

namespace ready::ui {

/// The operations a source can do, one QAction each.
enum class InspectorAction : std::uint8_t {
  read,            ///< cmd::Read with the "bytes" parameter (timerfd: one read of the expiry count)
  drain,           ///< cmd::Drain
  write,           ///< what the writer does (the inspector writes its send box: cmd::Write)
  fill,            ///< cmd::Fill
  shutdown_read,   ///< cmd::ShutdownRead
  shutdown_write,  ///< cmd::ShutdownWrite
  accept,          ///< cmd::Accept
  eventfd_write,   ///< cmd::EventFdWrite with the "value" parameter
  eventfd_read,    ///< cmd::EventFdRead
  timer_arm,       ///< cmd::TimerArm with the "initial" and "interval" parameters
  timer_disarm,    ///< cmd::TimerDisarm
  rearm,           ///< cmd::Rearm (re-arms a oneshot registration)
  close,           ///< cmd::Close
};

/// The label of an action ("Read", "Shutdown write", ...).
QString action_label(InspectorAction a);

/// One QAction per InspectorAction, created once, acting on one source at a time (the
/// selected one: `setSource`). Only the actions of that source's kind are visible, and none
/// is enabled while the source is closed. Triggering one submits its command through the
/// session, with the parameters the parameter source gives (the inspector's fields);
/// `submitted` or `refused` says how it went.
class SourceActions : public QObject {
  Q_OBJECT

 public:
  /// What the parameterised actions take.
  struct Params {
    std::uint32_t read_bytes = 4096;
    std::uint64_t eventfd_value = 1;
    std::chrono::nanoseconds timer_initial = std::chrono::milliseconds(100);
    std::chrono::nanoseconds timer_interval{0};
  };

  explicit SourceActions(CaptureSession& session, QObject* parent = nullptr);

  /// Every action, in button order.
  static const std::vector<InspectorAction>& all();
  /// The operations a source of `kind` can do, in button order.
  static std::vector<InspectorAction> actionsFor(capture::SourceKind kind);

  [[nodiscard]] QAction* action(InspectorAction a) const { return m_actions.at(a); }
  /// The actions shown for the current source, in button order (empty: none).
  [[nodiscard]] std::vector<QAction*> current() const;

  /// Acts on `token` (0: none) of `kind` from now on.
  void setSource(std::uint64_t token, capture::SourceKind kind);
  /// A closed source keeps its actions visible but disabled.
  void setClosed(bool closed);
  [[nodiscard]] std::uint64_t token() const noexcept { return m_token; }

  /// Where the parameters come from (without one: Params' defaults).
  void setParams(std::function<Params()> params) { m_params = std::move(params); }
  /// What the write action does (without one: nothing).
  void setWriter(std::function<void()> writer) { m_writer = std::move(writer); }

  /// Submits `c` for the current source; emits submitted or refused.
  void submit(capture::Command c, const QString& description);

 signals:
  /// A command was accepted ("write 5 bytes", "close").
  void submitted(const QString& description);
  /// A command was refused: what, and why.
  void refused(const QString& description, const QString& error);

 private:
  void run(InspectorAction a);

  CaptureSession& m_session;
  std::map<InspectorAction, QAction*> m_actions;
  std::uint64_t m_token = 0;
  capture::SourceKind m_kind{};
  std::function<Params()> m_params;
  std::function<void()> m_writer;
};

}  // namespace ready::ui
