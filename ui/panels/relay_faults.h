// The relay fault knobs (toxiproxy's toxics, RelayFaults): an editor for both directions, used
// by New source > Relay, and the live "Relay faults" dialog that changes a running relay's.
#pragma once

#include <QDialog>
#include <QString>
#include <QWidget>

#include <array>
#include <cstdint>

#include "ready/capture/command.h"

class QLabel;
class QPushButton;
class QSpinBox;

namespace ready::ui {

class CaptureSession;

/// Spin boxes for one RelayFaultSet: per direction (to upstream, to client) latency and
/// jitter (ms), bandwidth (KB/s, 1 KB = 1000 bytes; 0 = off), slice bytes and the delay
/// between slices (ms), and reset after N bytes (0 = never). Bounds: times 0..60000 ms (the
/// engine's 60 s), bandwidth 0..10^9 KB/s, slice 0..2^31-1 bytes, reset 0..2^31-1 bytes
/// (a QSpinBox holds an int: the engine takes up to 2^64-1, the command line too).
/// Millisecond knobs only: the engine takes nanoseconds.
class RelayFaultsEditor : public QWidget {
  Q_OBJECT

 public:
  explicit RelayFaultsEditor(QWidget* parent = nullptr);

  [[nodiscard]] capture::RelayFaultSet faults() const;
  /// Shows `f` (sub-millisecond times are rounded to the nearest ms; values past a box's
  /// bound show as its maximum).
  void setFaults(const capture::RelayFaultSet& f);
  /// The first out-of-range knob ("To upstream: jitter ... "), or "" when both directions
  /// pass RelayFaults::invalid().
  [[nodiscard]] QString errorText() const;

  /// Direction 0: to upstream, 1: to client. Knob 0 latency, 1 jitter, 2 bandwidth, 3 slice
  /// bytes, 4 slice delay, 5 reset after.
  static constexpr int kKnobs = 6;
  [[nodiscard]] QSpinBox* knob(int direction, int knob) const { return m_boxes[direction][knob]; }

 signals:
  void changed();

 private:
  std::array<std::array<QSpinBox*, kKnobs>, 2> m_boxes{};
};

/// The live fault knobs of one relay (its listener's token): a non-modal dialog showing the
/// faults in force (CaptureSession::relay_faults: what New source > Relay or the command line
/// submitted, then every Apply), an editor, and Apply, which submits
/// cmd::SetRelayFaults{listener, faults} (the engine records the change as a note). Invalid
/// values show their error and Apply stays disabled: nothing is submitted.
class RelayFaultsDialog : public QDialog {
  Q_OBJECT

 public:
  RelayFaultsDialog(CaptureSession& session, std::uint64_t listener, const QString& relay_label,
                    QWidget* parent = nullptr);

  [[nodiscard]] std::uint64_t listener() const noexcept { return m_listener; }
  [[nodiscard]] RelayFaultsEditor* editor() const noexcept { return m_editor; }
  [[nodiscard]] QPushButton* applyButton() const noexcept { return m_apply; }
  /// The "in force" text ("to upstream: none; to client: latency 50 ms").
  [[nodiscard]] QString inForceText() const;

 public slots:
  /// Submits the edited faults (when valid and the session is live); true if submitted.
  bool apply();

 private:
  void refresh();

  CaptureSession& m_session;
  std::uint64_t m_listener;
  RelayFaultsEditor* m_editor = nullptr;
  QLabel* m_inForce = nullptr;
  QLabel* m_error = nullptr;
  QPushButton* m_apply = nullptr;
};

}  // namespace ready::ui
