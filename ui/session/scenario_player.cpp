#include "session/scenario_player.h"

#include <algorithm>
#include <chrono>

namespace ready::ui {

using Clock = std::chrono::steady_clock;

ScenarioPlayer::ScenarioPlayer(CaptureSession& session, capture::Scenario scenario, QObject* parent)
    : QObject(parent), session_(session) {
  // The runner keeps a reference to its scenario's copy: it owns one (see scenario.h).
  runner_ = session.make_runner(scenario);
  runner_->set_step_limit(0);  // held until play() or step()
  runner_->on_step = [this](const capture::StepOutcome& o) { emit stepDecided(o); };
  timer_.setSingleShot(true);
  timer_.setTimerType(Qt::PreciseTimer);
  connect(&timer_, &QTimer::timeout, this, [this] { tick(); });
  session_.add_observer(this);
  // The setup (creating the sources) runs at once; steps wait for play() or step().
  schedule_tick(Clock::now());
}

ScenarioPlayer::~ScenarioPlayer() { session_.remove_observer(this); }

void ScenarioPlayer::on_record(const capture::Record& r, std::uint64_t) {
  if (runner_->finished()) return;
  runner_->observe(std::span<const capture::Record>(&r, 1));
  // A record may be what the runner waits for (a barrier, an expectation): look again soon,
  // from the event loop, not from inside the bridge's drain.
  if (!timer_.isActive() || timer_.remainingTime() > 0) timer_.start(0);
}

void ScenarioPlayer::play() {
  runner_->set_step_limit(static_cast<std::size_t>(-1));
  schedule_tick(Clock::now());
}

void ScenarioPlayer::step() {
  runner_->set_step_limit(runner_->current_step() + 1);
  schedule_tick(Clock::now());
}

void ScenarioPlayer::tick() {
  const auto next = runner_->advance(Clock::now());
  if (runner_->finished()) {
    if (!reported_finish_) {
      reported_finish_ = true;
      emit finishedPlaying(runner_->passed());
    }
    return;
  }
  if (next) schedule_tick(*next);
}

void ScenarioPlayer::schedule_tick(Clock::time_point when) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(when - Clock::now()).count();
  const int delay = static_cast<int>(std::clamp<long long>(ms, 0, 60'000));
  if (timer_.isActive() && timer_.remainingTime() <= delay) return;
  timer_.start(delay);
}

}  // namespace ready::ui
