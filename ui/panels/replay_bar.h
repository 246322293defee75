// The replay bar: the controls of a PlayHead (step, play at a speed, where the head is).
#pragma once

#include <QToolBar>

#include <cstdint>
#include <optional>

#include "session/play_head.h"

class QAction;
class QComboBox;
class QLabel;

namespace ready::ui {

/// A tool bar over a PlayHead it owns: to the start, previous event, previous record,
/// play / pause, next record, next event, to the end, the speed (0.25× to 16×), whether
/// event steps keep to the selected source, whether to follow live once play reaches the
/// end, and where the head is ("record 1,234 of 56,789 · 1.234567 s": its global index + 1
/// of the records ever captured, and its capture time).
///
/// Keys (the actions' shortcuts; the window makes them work where the timeline or the
/// event log has the focus, see MainWindow): P play / pause, ',' / '.' previous / next
/// record, '[' / ']' previous / next event, Ctrl+Home / Ctrl+End to the start / end.
///
/// The bar only moves the head; whoever shows the records listens to `recordReached`.
/// `navigated` is emitted before every move the user asks for (the window pauses a live
/// view then, so the past holds still); `liveEndReached` when play stopped at its last
/// record with "then live" ticked (the window follows live again).
class ReplayBar : public QToolBar {
  Q_OBJECT

 public:
  enum class Control { start, previousEvent, previousRecord, play, nextRecord, nextEvent, end };

  explicit ReplayBar(const capture::RecordStore& store, QWidget* parent = nullptr);
  ~ReplayBar() override;

  [[nodiscard]] PlayHead& playHead() const noexcept { return *m_head; }
  [[nodiscard]] QAction* action(Control c) const;
  [[nodiscard]] QComboBox* speedBox() const noexcept { return m_speed; }
  /// "Source only": event steps visit only the selected source's readiness records.
  [[nodiscard]] QAction* sourceOnlyAction() const noexcept { return m_sourceOnly; }
  /// "Then live": when play reaches its end, liveEndReached is emitted.
  [[nodiscard]] QAction* thenLiveAction() const noexcept { return m_thenLive; }
  /// The position text.
  [[nodiscard]] QString positionText() const;

  /// The source selected in the window (0: none): event steps keep to it while
  /// "source only" is ticked.
  void setSelectedToken(std::uint64_t token);
  /// After a frame: the head leaves evicted records, the text counts the new ones.
  void onFrame();

 signals:
  /// The head moved to the record at `index` (PlayHead::positionChanged).
  void recordReached(std::uint64_t index);
  /// The user is about to move the head (a control of the bar or its key).
  void navigated();
  /// Play stopped at its end while "then live" is ticked.
  void liveEndReached();

 private:
  QAction* addControl(Control c, const QIcon& icon, const QString& text, const QKeySequence& key);
  void run(Control c);
  void updateText();
  void applyEventToken();

  PlayHead* m_head = nullptr;
  QAction* m_controls[7] = {};
  QComboBox* m_speed = nullptr;
  QAction* m_sourceOnly = nullptr;
  QAction* m_thenLive = nullptr;
  QLabel* m_text = nullptr;
  std::uint64_t m_selectedToken = 0;
  bool m_nothingThere = false;  // the last step found nowhere to go
};

}  // namespace ready::ui
