// The inspector: one source's payload and the operations its kind can do.
#pragma once

#include <QString>
#include <QWidget>

#include <cstdint>
#include <map>
#include <vector>

#include "panels/source_actions.h"
#include "session/capture_session.h"
#include "ready/capture/command.h"
#include "ready/capture/record.h"

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QAbstractButton;
class QToolButton;
class QSpinBox;

namespace ready::ui {

/// The inspector of one source (a dock panel): what was read from it and written to it, and
/// a button for every operation its kind can do.
///
/// Payload. The capture keeps each source's bytes (CaptureSession::payload). The inspector asks only
/// for what is new on each `onFrame` (since the previous snapshot's `next`), so a frame costs
/// the bytes that arrived in it, never the whole buffer. Each chunk is shown as a header line
/// ("◀ in  5 B  at 1.234 567 s") in its direction's colour (direction_colour) followed by a
/// hex dump, 16 bytes a line, hex and text side by side. The view keeps at most
/// `kMaxViewLines` lines (the oldest scroll away). Bytes the engine evicted (its bound per
/// source) are announced above the view, with the bound.
///
/// Actions. A button per InspectorAction shows the shared SourceActions' action (the same
/// QAction the context menu and the Capture menu use); only those of `actionsFor(kind)` are
/// shown. The inspector's fields are the actions' parameters and its send box is what the
/// write action writes. Each submits its command through the session (`submitted` then
/// fires); a refused submit shows the error below the buttons. The send box writes text (UTF-8) or
/// hex (validated: bad input shows an inline error and sends nothing); Enter sends.
/// The inspector never touches a descriptor itself.
class Inspector : public QWidget {
  Q_OBJECT

 public:
  static constexpr int kMaxViewLines = 8192;

  /// What was shown so far for the current source (reset by setSource).
  struct Totals {
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    std::uint64_t chunks = 0;
    std::uint64_t evicted = 0;  ///< bytes the engine evicted before the inspector saw them
  };

  /// With its own set of actions (a panel on its own, tests).
  explicit Inspector(CaptureSession& session, QWidget* parent = nullptr);
  /// With the window's shared actions (not owned; they must outlive the inspector).
  Inspector(CaptureSession& session, SourceActions& actions, QWidget* parent = nullptr);

  /// Inspects `token` (0: nothing). `title` heads the panel ("tcp_stream 127.0.0.1:4000").
  void setSource(std::uint64_t token, capture::SourceKind kind, const QString& title);
  [[nodiscard]] std::uint64_t token() const noexcept { return m_token; }

  /// The operations a source of `kind` can do, in button order.
  static std::vector<InspectorAction> actionsFor(capture::SourceKind kind) { return SourceActions::actionsFor(kind); }
  /// The actions whose buttons are shown now (empty when no source is set).
  [[nodiscard]] std::vector<InspectorAction> visibleActions() const;
  /// The button of `a` (shown or not), for tests and shortcuts.
  [[nodiscard]] QAbstractButton* button(InspectorAction a) const;
  /// The actions the buttons show.
  [[nodiscard]] SourceActions& actions() const noexcept { return m_actions; }

  [[nodiscard]] Totals totals() const noexcept { return m_totals; }
  /// The payload view's text (tests, copy).
  [[nodiscard]] QString payloadText() const;
  /// The send box's inline error ("" when the input is valid or empty).
  [[nodiscard]] QString sendError() const;

  /// The send box (tests type into it).
  [[nodiscard]] QLineEdit* sendEdit() const noexcept { return m_sendEdit; }
  /// Send as hex (true) or as text (false).
  void setHexMode(bool hex);

 public slots:
  /// Fetches the payload that arrived since the last call and appends it to the view.
  void onFrame(std::uint64_t begin, std::uint64_t end, std::uint64_t evicted_to);
  /// Sends the send box's bytes (cmd::Write); nothing when they do not parse.
  void sendInput();

 signals:
  /// A command was accepted by the bridge (`description`: "write 5 bytes", "close").
  void submitted(const QString& description);

 private:
  void writeFromSendBox();
  void validateInput();
  void appendChunk(const capture::PayloadChunk& chunk);
  void updateEvicted(std::uint64_t evicted);

  CaptureSession& m_session;
  SourceActions& m_actions;
  std::uint64_t m_token = 0;
  capture::SourceKind m_kind{};
  std::uint64_t m_next = 0;
  bool m_closed = false;
  Totals m_totals;

  QLabel* m_title = nullptr;
  QLabel* m_evicted = nullptr;
  QPlainTextEdit* m_view = nullptr;
  QWidget* m_sendRow = nullptr;
  QLineEdit* m_sendEdit = nullptr;
  QComboBox* m_sendMode = nullptr;
  QLabel* m_sendErrorLabel = nullptr;
  QSpinBox* m_readBytes = nullptr;
  QSpinBox* m_eventValue = nullptr;
  QDoubleSpinBox* m_timerInitial = nullptr;
  QDoubleSpinBox* m_timerInterval = nullptr;
  QWidget* m_readParams = nullptr;
  QWidget* m_eventParams = nullptr;
  QWidget* m_timerParams = nullptr;
  QLabel* m_status = nullptr;
  std::map<InspectorAction, QToolButton*> m_buttons;
};

}  // namespace ready::ui
