// The Lessons panel: the built-in lessons, played step by step against the window's engine.
#pragma once

#include <QTimer>
#include <QWidget>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "session/capture_session.h"
#include "ready/capture/scenario.h"

class QComboBox;
class QLabel;
class QListWidget;
class QListWidgetItem;
class QPushButton;
class QTextBrowser;

namespace ready::ui {

class LaneIndex;
class ScenarioPlayer;

/// The Lessons dock: the list of built-in lessons (readyscope::builtinLessons(): title, the
/// name as tooltip), the selected lesson's description, its steps (each step's narration, or
/// "step N: op source" when it has none) and Play / Step / Reset with a speed control.
///
/// Selecting a lesson only shows it; its sources are created by the first Play or Step (a
/// ScenarioPlayer over the capture session). Step releases exactly one step
/// (ScenarioRunner::set_step_limit) and highlights it; Play releases one step after the
/// other, dwelling `dwell()` between a step's outcome and the next step (1.5 s at 1x, scaled
/// by the speed: 0.25x .. 4x) so a person can read the narration; the run stays correct at
/// any speed because the runner is held between steps. Each step shows its mark as its
/// outcome arrives: ✓ passed, ✗ failed, • ran (no checks), with StepOutcome::detail as the
/// tooltip; a failure also shows in the header. Nothing is modal.
///
/// The narration of a step appears on the timeline as a note at the moment the step ran
/// (the runner submits it as cmd::Note). A lesson's `compare` pairs pin the two lanes next to
/// each other under the pair's label (LaneIndex::pin_adjacent) as soon as both tokens exist.
///
/// After a lesson ends its sources stay live (the user keeps acting on them). Reset stops the
/// run, closes every source the lesson named (its sources, their ends, accepted streams named
/// with `as`; streams a reaction accepted on its own stay), forgets the marks and loads the
/// lesson again, ready to play from step 0. Selecting another lesson drops the current run and
/// leaves its sources live.
class LessonsPanel : public QWidget {
  Q_OBJECT

 public:
  /// What a step shows.
  enum class Mark { none, running, ran, passed, failed };
  /// How long Play dwells after a step at 1x.
  static constexpr std::chrono::milliseconds kDwellAt1x{1500};

  /// Over a capture session (not live: the buttons stay disabled). `lanes` (may be null) gets
  /// the compare pins. Both must outlive the panel.
  LessonsPanel(CaptureSession& session, LaneIndex* lanes, QWidget* parent = nullptr);
  ~LessonsPanel() override;

  /// Selects the built-in lesson `name` in the list and loads it. False (nothing changed)
  /// when there is no such lesson or it does not parse (the header says why).
  bool openLesson(const QString& name);
  /// Loads a scenario given as JSON text (`file` names it in errors), as if it were a
  /// lesson. False, with the parse error in the header, when it is not a valid scenario.
  bool loadScenarioText(const QByteArray& json, const QString& file);
  /// Loads a validated scenario (the current run, if any, is dropped; its sources stay).
  void loadScenario(capture::Scenario scenario);

  [[nodiscard]] const capture::Scenario* scenario() const noexcept { return scenario_ ? &*scenario_ : nullptr; }
  /// The player of the current run; null before the first Play / Step and after Reset.
  [[nodiscard]] ScenarioPlayer* player() const noexcept { return player_.get(); }
  /// The step highlighted (the one running or last run); -1 before the first step.
  [[nodiscard]] int highlightedStep() const noexcept { return highlighted_; }
  /// The step the next Step would run (0 after load or Reset).
  [[nodiscard]] int nextStep() const noexcept { return next_; }
  [[nodiscard]] Mark stepMark(int step) const;
  /// The narration a step shows (its note, or "step N: op source").
  [[nodiscard]] QString stepNarration(int step) const;
  /// The detail of a step's outcome (its tooltip); empty before it.
  [[nodiscard]] QString stepDetail(int step) const;
  /// The header line (lesson state: ready, step k of n, passed, failed and where).
  [[nodiscard]] QString headerText() const;
  [[nodiscard]] bool isPlaying() const noexcept { return playing_; }
  /// The id a lesson gave the source with this token ("reader", an accept's `as`), for lane
  /// labels; empty when no lesson run named it. Remembered after the run (its lanes stay on
  /// the timeline), for at most kMaxNames tokens.
  [[nodiscard]] QString sourceName(std::uint64_t token) const;
  static constexpr std::size_t kMaxNames = 4096;
  /// The speed factor (0.25 .. 4) and the dwell it gives.
  [[nodiscard]] double speed() const;
  void setSpeed(double factor);
  [[nodiscard]] std::chrono::milliseconds dwell() const;

  [[nodiscard]] QListWidget* lessonList() const noexcept { return lessons_; }
  [[nodiscard]] QListWidget* stepList() const noexcept { return steps_; }
  [[nodiscard]] QPushButton* playButton() const noexcept { return play_; }
  [[nodiscard]] QPushButton* stepButton() const noexcept { return step_; }
  [[nodiscard]] QPushButton* resetButton() const noexcept { return reset_; }
  [[nodiscard]] QComboBox* speedBox() const noexcept { return speed_; }

 public slots:
  /// Plays the remaining steps (dwelling between them).
  void play();
  /// Runs the next step only (stops a Play).
  void step();
  /// Closes the lesson's sources and loads it again (see the class comment).
  void reset();
  /// A frame was delivered: pins the compare lanes whose tokens exist now (the window calls
  /// it before the timeline takes the frame).
  void onFrame() { applyPins(); }

 signals:
  /// A lesson (or scenario text) was loaded; `name` is the scenario's name.
  void lessonLoaded(const QString& name);
  /// Step `index` was released (its note goes to the timeline now).
  void stepStarted(int index);
  /// A step's outcome arrived and its mark changed.
  void stepMarked(int index);
  /// Every step ran (or the run stopped early): `passed` when every check held.
  void lessonFinished(bool passed);

 private:
  void onLessonSelected(QListWidgetItem* item);
  void ensurePlayer();
  void releaseNext();
  void onOutcome(const capture::StepOutcome& o);
  void onFinished(bool passed);
  void applyPins();
  void setMark(int step, Mark mark, const QString& detail);
  void setHeader(const QString& text, bool error);
  void updateButtons();
  std::vector<std::uint64_t> lessonTokens() const;
  std::vector<std::string> lessonIds() const;

  CaptureSession& session_;
  LaneIndex* lanes_ = nullptr;
  std::optional<capture::Scenario> scenario_;
  std::unique_ptr<ScenarioPlayer> player_;
  std::unordered_map<std::uint64_t, QString> names_;
  std::vector<bool> pinned_;  // per compare pair of the run: applied to the lane index
  std::vector<Mark> marks_;
  std::vector<QString> details_;
  int highlighted_ = -1;
  int next_ = 0;
  int awaiting_ = -1;  // a released step whose outcome has not come yet
  bool playing_ = false;
  bool finished_ = false;
  bool failed_ = false;
  QString first_failure_;  // the header of the first failed step, kept while the run goes on
  QTimer dwell_timer_;

  QListWidget* lessons_ = nullptr;
  QTextBrowser* description_ = nullptr;
  QLabel* header_ = nullptr;
  QListWidget* steps_ = nullptr;
  QPushButton* play_ = nullptr;
  QPushButton* step_ = nullptr;
  QPushButton* reset_ = nullptr;
  QComboBox* speed_ = nullptr;
};

}  // namespace ready::ui
