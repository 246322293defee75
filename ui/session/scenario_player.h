// Plays a scenario in the window: a ScenarioRunner driven by the Qt event loop.
#pragma once

#include <QObject>
#include <QString>
#include <QTimer>

#include <memory>

#include "session/capture_session.h"
#include "ready/capture/scenario.h"

namespace ready::ui {

/// Plays one scenario against the bridge's engine. It observes every record the bridge
/// appends (it is a RecordObserver the bridge calls) and runs the runner's steps from a
/// single-shot timer set to the runner's next due time, so nothing blocks the GUI thread.
///
/// `play()` runs every step; `step()` runs exactly one more step and holds before the next
/// (ScenarioRunner::set_step_limit). The scenario's sources stay live after it finishes, so
/// the user can keep acting on them. Destroying the player stops driving the runner; the
/// sources it created remain the engine's.
class ScenarioPlayer : public QObject, public RecordObserver {
  Q_OBJECT

 public:
  /// The bridge must have an engine and must outlive the player.
  ScenarioPlayer(CaptureSession& session, capture::Scenario scenario, QObject* parent = nullptr);
  ~ScenarioPlayer() override;

  [[nodiscard]] const capture::Scenario& scenario() const noexcept { return runner_->scenario(); }
  [[nodiscard]] const capture::ScenarioRunner& runner() const noexcept { return *runner_; }
  [[nodiscard]] bool finished() const noexcept { return runner_->finished(); }

  void on_record(const capture::Record& r, std::uint64_t index) override;

 public slots:
  /// Runs every remaining step.
  void play();
  /// Runs the next step only.
  void step();

 signals:
  /// A step (or the setup, index StepOutcome::kSetup) was decided.
  void stepDecided(const capture::StepOutcome& outcome);
  /// The scenario ended: every step ran, or the setup failed.
  void finishedPlaying(bool passed);

 private:
  void tick();
  void schedule_tick(std::chrono::steady_clock::time_point when);

  CaptureSession& session_;
  std::unique_ptr<capture::ScenarioRunner> runner_;
  QTimer timer_;
  bool reported_finish_ = false;
};

}  // namespace ready::ui
