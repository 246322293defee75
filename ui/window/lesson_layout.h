// The window's layout while a lesson plays: the timeline takes the window, the panels a
// lesson does not need fold into a one-line strip, and the view follows the lesson's steps.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QPointer>
#include <cstdint>
#include <optional>
#include <vector>

class QLabel;
class QPushButton;
class QWidget;

namespace ready::capture {
class RecordStore;
}

namespace ready::ui {

class TimelineView;

/// Folds and unfolds the window around a playing lesson.
///
/// `enter()` hides the foldable widgets (the sources and warnings docks, the event log's
/// tabs) that are visible and shows the strip under the timeline instead: one line saying
/// what is folded, a button that brings them back (`leave()`), and "Whole lesson", which
/// shows everything since the lesson's first step (and keeps following it). The lessons dock,
/// with the narration, stays beside the timeline and is raised.
///
/// The view follows the lesson: `stepStarted(index)` remembers where the store ends; from
/// the first frame that brings the step's records, the timeline shows the step's span
/// (TimelineView::followSpan): from its first record to now, now being that record's time
/// plus the wall time since it was seen (the poll thread's idle returns do not widen it), at
/// least kMinStepSpan. `stepMarked` freezes it: a step that waits shows its wait. So each
/// step fills the width when it runs, whatever the idle time between steps. Any zoom or pan
/// by hand stops the following (the strip's "Whole lesson" comes back to it).
class LessonLayout : public QObject {
  Q_OBJECT

 public:
  LessonLayout(const capture::RecordStore& store, TimelineView& timeline, QObject* parent = nullptr);

  /// The strip shown under the timeline while folded (hidden otherwise; the window places it).
  [[nodiscard]] QWidget* strip() const noexcept { return m_strip; }
  /// What `enter()` hides; `raised` is raised (the lessons dock).
  void setFoldable(std::vector<QWidget*> widgets, QWidget* raised);

  void enter();
  void leave();
  [[nodiscard]] bool isFolded() const noexcept { return m_folded; }

  /// A lesson's step `step` starts now; `step == 0` is the lesson's start.
  void stepStarted(int step);
  /// Call on every frame: anchors the view on a started step's first record.
  void onFrame();
  /// The step's outcome arrived: its span ends now.
  void stepMarked();
  /// The narrowest step span shown (a step of one note is not zoomed to nanoseconds).
  static constexpr std::uint64_t kMinStepSpan = 20'000'000;
  /// The view since the lesson's first step (the strip's "Whole lesson"; also where a
  /// finished lesson leaves the view).
  void showWholeLesson();
  /// The lesson ended: the whole lesson in view, up to its newest record that is not the poll
  /// thread's own (poll returns and stats), and no more following.
  void lessonFinished();
  /// The first record time of the lesson (nullopt before its first record).
  [[nodiscard]] std::optional<std::uint64_t> lessonStart() const noexcept { return m_lessonT0; }

 signals:
  void foldedChanged(bool folded);

 private:
  const capture::RecordStore& m_store;
  TimelineView& m_timeline;
  QWidget* m_strip = nullptr;
  QLabel* m_stripText = nullptr;
  std::vector<QPointer<QWidget>> m_foldable;
  QPointer<QWidget> m_raised;
  std::vector<QPointer<QWidget>> m_hidden;  // what enter() hid, to show again
  bool m_folded = false;
  std::optional<std::uint64_t> m_pendingIndex;  // a step started: its records begin here
  bool m_pendingIsStart = false;
  std::optional<std::uint64_t> m_lessonT0;
  std::optional<std::uint64_t> m_stepT0;  // the running step's first record time
  QElapsedTimer m_sinceStepT0;            // wall time since that record was seen
  bool m_stepRunning = false;
  bool m_markedEarly = false;  // the step's outcome came before its first record
  bool m_following = true;  // steps set the view (until a zoom by hand or "Whole lesson")
  bool m_anchored = false;  // a step set the view in this run
  std::uint64_t m_lessonEnd = 0;  // the last step's end, for "Whole lesson"
  void showStep();
};

}  // namespace ready::ui
