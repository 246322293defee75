#include "panels/lessons_panel.h"

#include <QBrush>
#include <QComboBox>
#include <QFont>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSplitter>
#include <QTextBrowser>
#include <QVBoxLayout>

#include <algorithm>

#include "models/lessons.h"
#include "models/scenario_view.h"
#include "models/text_colours.h"
#include "session/scenario_player.h"
#include "timeline/laneindex.h"

namespace ready::ui {

using capture::Scenario;
using capture::ScenarioOp;
using capture::ScenarioSourceKind;
using capture::StepOutcome;

namespace {

constexpr int kNarrationRole = Qt::UserRole;
constexpr int kNameRole = Qt::UserRole;
constexpr double kSpeeds[] = {0.25, 0.5, 1.0, 2.0, 4.0};

QString narration_of(const capture::ScenarioStep& s, std::size_t i) {
  if (!s.note.empty()) return QString::fromStdString(s.note);
  if (s.op == ScenarioOp::none) return QStringLiteral("step %1: wait and check").arg(i + 1);
  return QStringLiteral("step %1: %2 %3")
      .arg(i + 1)
      .arg(QString::fromUtf8(to_string(s.op)), QString::fromStdString(s.source))
      .trimmed();
}

QString mark_prefix(LessonsPanel::Mark m) {
  switch (m) {
    case LessonsPanel::Mark::running:
      return QStringLiteral("▶ ");
    case LessonsPanel::Mark::ran:
      return QStringLiteral("• ");
    case LessonsPanel::Mark::passed:
      return QStringLiteral("✓ ");
    case LessonsPanel::Mark::failed:
      return QStringLiteral("✗ ");
    case LessonsPanel::Mark::none:
      break;
  }
  return QStringLiteral("   ");
}

}  // namespace

LessonsPanel::LessonsPanel(CaptureSession& session, LaneIndex* lanes, QWidget* parent)
    : QWidget(parent), session_(session), lanes_(lanes) {
  lessons_ = new QListWidget;
  lessons_->setObjectName(QStringLiteral("lessonList"));
  lessons_->setWordWrap(true);  // titles are a line each: wrap them rather than scroll sideways
  lessons_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  for (const readyscope::LessonInfo& l : readyscope::builtinLessons()) {
    auto* item = new QListWidgetItem(l.title, lessons_);
    item->setData(kNameRole, l.name);
    item->setToolTip(l.name);
  }
  description_ = new QTextBrowser;
  description_->setObjectName(QStringLiteral("lessonDescription"));
  description_->setOpenExternalLinks(false);
  header_ = new QLabel(tr("Choose a lesson."));
  header_->setObjectName(QStringLiteral("lessonHeader"));
  header_->setWordWrap(true);
  header_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  steps_ = new QListWidget;
  steps_->setObjectName(QStringLiteral("lessonSteps"));
  steps_->setWordWrap(true);
  steps_->setSelectionMode(QAbstractItemView::NoSelection);
  steps_->setFocusPolicy(Qt::NoFocus);
  steps_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);

  play_ = new QPushButton(tr("Play"));
  step_ = new QPushButton(tr("Step"));
  reset_ = new QPushButton(tr("Reset"));
  play_->setToolTip(tr("Run the remaining steps, pausing after each so the narration can be read"));
  step_->setToolTip(tr("Run the next step only"));
  reset_->setToolTip(tr("Close the lesson's sources and load it again from step 0"));
  speed_ = new QComboBox;
  speed_->setObjectName(QStringLiteral("lessonSpeed"));
  speed_->setToolTip(tr("How long Play pauses after each step (1x: %1 s)").arg(kDwellAt1x.count() / 1000.0));
  for (double f : kSpeeds) speed_->addItem(QStringLiteral("%1x").arg(f), f);
  speed_->setCurrentIndex(2);

  auto* buttons = new QHBoxLayout;
  buttons->addWidget(play_);
  buttons->addWidget(step_);
  buttons->addWidget(reset_);
  buttons->addStretch(1);
  buttons->addWidget(new QLabel(tr("Speed")));
  buttons->addWidget(speed_);

  auto* lower = new QWidget;
  auto* lowerLayout = new QVBoxLayout(lower);
  lowerLayout->setContentsMargins(0, 0, 0, 0);
  lowerLayout->addWidget(header_);
  lowerLayout->addLayout(buttons);
  lowerLayout->addWidget(steps_, 1);

  auto* split = new QSplitter(Qt::Vertical);
  split->setObjectName(QStringLiteral("lessonsSplitter"));
  split->addWidget(lessons_);
  split->addWidget(description_);
  split->addWidget(lower);
  split->setStretchFactor(0, 2);
  split->setStretchFactor(1, 2);
  split->setStretchFactor(2, 5);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(2, 2, 2, 2);
  layout->addWidget(split);

  dwell_timer_.setSingleShot(true);
  connect(&dwell_timer_, &QTimer::timeout, this, [this] {
    if (playing_) releaseNext();
  });
  connect(lessons_, &QListWidget::currentItemChanged, this,
          [this](QListWidgetItem* cur) { onLessonSelected(cur); });
  connect(play_, &QPushButton::clicked, this, &LessonsPanel::play);
  connect(step_, &QPushButton::clicked, this, &LessonsPanel::step);
  connect(reset_, &QPushButton::clicked, this, &LessonsPanel::reset);
  // Compare pins wait for both tokens; they exist once the setup submitted the creations.
  updateButtons();
}

LessonsPanel::~LessonsPanel() = default;

void LessonsPanel::onLessonSelected(QListWidgetItem* item) {
  if (!item) return;
  const QString name = item->data(kNameRole).toString();
  if (scenario_ && QString::fromStdString(scenario_->name) == name) return;
  const auto text = readyscope::builtinLessonText(name);
  if (!text) {
    setHeader(tr("The lesson “%1” is not built in.").arg(name), true);
    return;
  }
  loadScenarioText(*text, name + QStringLiteral(".json"));
}

bool LessonsPanel::openLesson(const QString& name) {
  for (int i = 0; i < lessons_->count(); ++i) {
    if (lessons_->item(i)->data(kNameRole).toString() != name) continue;
    const auto text = readyscope::builtinLessonText(name);
    if (!text) return false;
    // Parse first: a lesson that does not parse leaves the current one as it is.
    auto s = capture::parse_scenario(std::string_view(text->constData(), static_cast<std::size_t>(text->size())),
                                     (name + QStringLiteral(".json")).toStdString(), {});
    if (!s) {
      setHeader(QString::fromStdString(s.error().message()), true);
      return false;
    }
    const QSignalBlocker block(lessons_);
    lessons_->setCurrentRow(i);
    if (!scenario_ || scenario_->name != s->name) loadScenario(std::move(*s));
    return true;
  }
  return false;
}

bool LessonsPanel::loadScenarioText(const QByteArray& json, const QString& file) {
  auto s = capture::parse_scenario(std::string_view(json.constData(), static_cast<std::size_t>(json.size())),
                                   file.toStdString(), {});
  if (!s) {
    setHeader(QString::fromStdString(s.error().message()), true);
    return false;
  }
  loadScenario(std::move(*s));
  return true;
}

void LessonsPanel::loadScenario(Scenario scenario) {
  dwell_timer_.stop();
  playing_ = false;
  player_.reset();  // the previous run's sources stay live
  if (lanes_) lanes_->clear_pins();
  scenario_ = std::move(scenario);
  {
    // The list shows which lesson this is (none for a scenario that is not built in, such
    // as one opened from a file), without reloading it.
    const QSignalBlocker block(lessons_);
    lessons_->setCurrentRow(-1);
    for (int i = 0; i < lessons_->count(); ++i)
      if (lessons_->item(i)->data(kNameRole).toString() == QString::fromStdString(scenario_->name))
        lessons_->setCurrentRow(i);
  }
  const std::size_t n = scenario_->steps.size();
  marks_.assign(n, Mark::none);
  details_.assign(n, QString());
  pinned_.assign(scenario_->compare.size(), false);
  highlighted_ = -1;
  next_ = 0;
  awaiting_ = -1;
  finished_ = false;
  failed_ = false;
  first_failure_.clear();
  description_->setPlainText(QString::fromStdString(scenario_->title) + QStringLiteral("\n\n") +
                             QString::fromStdString(scenario_->description));
  steps_->clear();
  for (std::size_t i = 0; i < n; ++i) {
    const QString text = narration_of(scenario_->steps[i], i);
    auto* item = new QListWidgetItem(mark_prefix(Mark::none) + text, steps_);
    item->setData(kNarrationRole, text);
  }
  setHeader(session_.is_live() ? tr("%1 steps. Press Play, or Step to go one step at a time.").arg(n)
                             : tr("No live engine: lessons need one."),
            !session_.is_live());
  updateButtons();
  emit lessonLoaded(QString::fromStdString(scenario_->name));
}

void LessonsPanel::ensurePlayer() {
  if (player_ || !scenario_ || !session_.is_live()) return;
  player_ = std::make_unique<ScenarioPlayer>(session_, *scenario_);
  connect(player_.get(), &ScenarioPlayer::stepDecided, this, &LessonsPanel::onOutcome);
  connect(player_.get(), &ScenarioPlayer::finishedPlaying, this, &LessonsPanel::onFinished);
}

void LessonsPanel::play() {
  if (!scenario_ || finished_ || !session_.is_live()) return;
  ensurePlayer();
  playing_ = true;
  if (awaiting_ < 0 && !dwell_timer_.isActive()) releaseNext();
  updateButtons();
}

void LessonsPanel::step() {
  if (!scenario_ || finished_ || !session_.is_live()) return;
  ensurePlayer();
  playing_ = false;
  dwell_timer_.stop();
  if (awaiting_ < 0) releaseNext();  // else: the running step ends first, then we hold
  updateButtons();
}

void LessonsPanel::releaseNext() {
  if (!player_ || finished_ || awaiting_ >= 0) return;
  if (next_ >= static_cast<int>(scenario_->steps.size())) return;
  const int i = next_++;
  awaiting_ = i;
  highlighted_ = i;
  setMark(i, Mark::running, QString());
  steps_->setCurrentRow(i);
  steps_->scrollToItem(steps_->item(i));
  setHeader(tr("Step %1 of %2 running…").arg(i + 1).arg(scenario_->steps.size()), failed_);
  player_->step();
  emit stepStarted(i);
}

void LessonsPanel::onOutcome(const StepOutcome& o) {
  const QString detail = QString::fromStdString(o.detail);
  if (o.index == StepOutcome::kSetup) {
    failed_ = true;
    awaiting_ = -1;
    first_failure_ = tr("✗ The lesson could not start: %1").arg(detail);
    setHeader(first_failure_, true);
    return;
  }
  const int i = static_cast<int>(o.index);
  if (i < 0 || i >= static_cast<int>(marks_.size())) return;
  const Mark m = o.status == StepOutcome::Status::failed   ? Mark::failed
                 : o.status == StepOutcome::Status::passed ? Mark::passed
                                                           : Mark::ran;
  setMark(i, m, detail);
  if (awaiting_ == i) awaiting_ = -1;
  const int n = static_cast<int>(scenario_->steps.size());
  if (m == Mark::failed && !failed_) {
    failed_ = true;
    first_failure_ = tr("✗ Step %1 of %2 failed: %3").arg(i + 1).arg(n).arg(detail);
    setHeader(first_failure_, true);
  } else if (failed_) {
    // The first failure stays in view; later steps only say how far the run is.
    setHeader(tr("%1 (step %2 of %3 done)").arg(first_failure_).arg(i + 1).arg(n), true);
  } else {
    setHeader(tr("Step %1 of %2 %3.").arg(i + 1).arg(n).arg(m == Mark::passed ? tr("passed") : tr("ran")), false);
  }
  emit stepMarked(i);
  applyPins();
  if (playing_ && next_ < n) dwell_timer_.start(dwell());
  updateButtons();
}

void LessonsPanel::onFinished(bool passed) {
  finished_ = true;
  playing_ = false;
  dwell_timer_.stop();
  awaiting_ = -1;
  const bool ok = passed && !failed_;
  const QString live = tr("Its sources stay live: keep acting on them, or Reset.");
  if (ok)
    setHeader(tr("✓ Lesson passed: every expectation held. %1").arg(live), false);
  else
    setHeader(first_failure_.isEmpty() ? tr("✗ Lesson finished with a failed expectation. %1").arg(live)
                                       : tr("%1. %2").arg(first_failure_, live),
              true);
  updateButtons();
  emit lessonFinished(ok);
}

void LessonsPanel::reset() {
  if (!scenario_) return;
  dwell_timer_.stop();
  playing_ = false;
  if (player_) {
    // Close what the lesson created and still lives (a source the lesson closed itself, or
    // one the user closed, is not closed twice).
    for (std::uint64_t t : lessonTokens())
      if (session_.is_open(t)) (void)session_.submit(capture::cmd::Close{Token(static_cast<std::size_t>(t))});
  }
  Scenario again = *scenario_;
  loadScenario(std::move(again));
  setHeader(tr("Reset: the lesson's sources were closed. Press Play or Step to run it again."), false);
}

std::vector<std::string> LessonsPanel::lessonIds() const {
  return scenario_ ? scenario_source_ids(*scenario_) : std::vector<std::string>{};
}

std::vector<std::uint64_t> LessonsPanel::lessonTokens() const {
  std::vector<std::uint64_t> out;
  if (!player_) return out;
  for (const std::string& id : lessonIds()) {
    if (const auto t = player_->runner().token_of(id)) {
      const std::uint64_t v = t->value;
      if (v != 0 && std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
    }
  }
  return out;
}

QString LessonsPanel::sourceName(std::uint64_t token) const {
  const auto it = names_.find(token);
  return it == names_.end() ? QString() : it->second;
}

void LessonsPanel::applyPins() {
  if (!player_ || !scenario_) return;
  if (names_.size() < kMaxNames) {
    for (const std::string& id : lessonIds())
      if (const auto t = player_->runner().token_of(id); t && t->value != 0 && names_.size() < kMaxNames)
        names_.try_emplace(t->value, QString::fromStdString(id));
  }
  if (lanes_) pin_compare_pairs(*scenario_, player_->runner(), *lanes_, pinned_);
}

LessonsPanel::Mark LessonsPanel::stepMark(int step) const {
  return step >= 0 && step < static_cast<int>(marks_.size()) ? marks_[static_cast<std::size_t>(step)] : Mark::none;
}

QString LessonsPanel::stepNarration(int step) const {
  if (step < 0 || step >= steps_->count()) return {};
  return steps_->item(step)->data(kNarrationRole).toString();
}

QString LessonsPanel::stepDetail(int step) const {
  return step >= 0 && step < static_cast<int>(details_.size()) ? details_[static_cast<std::size_t>(step)] : QString();
}

QString LessonsPanel::headerText() const { return header_->text(); }

double LessonsPanel::speed() const { return speed_->currentData().toDouble(); }

void LessonsPanel::setSpeed(double factor) {
  int best = 0;
  for (int i = 0; i < speed_->count(); ++i)
    if (std::abs(speed_->itemData(i).toDouble() - factor) < std::abs(speed_->itemData(best).toDouble() - factor))
      best = i;
  speed_->setCurrentIndex(best);
}

std::chrono::milliseconds LessonsPanel::dwell() const {
  const double f = std::max(0.01, speed());
  return std::chrono::milliseconds(static_cast<long long>(static_cast<double>(kDwellAt1x.count()) / f));
}

void LessonsPanel::setMark(int step, Mark mark, const QString& detail) {
  if (step < 0 || step >= static_cast<int>(marks_.size())) return;
  marks_[static_cast<std::size_t>(step)] = mark;
  details_[static_cast<std::size_t>(step)] = detail;
  // The previous highlight goes back to normal weight.
  const QColor band = current_row_band(palette());
  for (int i = 0; i < steps_->count(); ++i) {
    QFont f = steps_->font();
    f.setBold(i == highlighted_);
    steps_->item(i)->setFont(f);
    steps_->item(i)->setBackground(i == highlighted_ ? QBrush(band) : QBrush());
  }
  QListWidgetItem* item = steps_->item(step);
  item->setText(mark_prefix(mark) + item->data(kNarrationRole).toString());
  switch (mark) {
    case Mark::passed:
      item->setForeground(text_colour(TextTone::passed, palette()));
      item->setToolTip(tr("Passed: %1").arg(detail));
      break;
    case Mark::failed:
      item->setForeground(text_colour(TextTone::failed, palette()));
      item->setToolTip(tr("FAILED: %1").arg(detail));
      break;
    case Mark::ran:
      item->setData(Qt::ForegroundRole, QVariant());
      item->setToolTip(detail.isEmpty() ? tr("Ran (no checks)") : tr("Ran: %1").arg(detail));
      break;
    case Mark::running:
      item->setData(Qt::ForegroundRole, QVariant());
      item->setToolTip(tr("Running…"));
      break;
    case Mark::none:
      item->setData(Qt::ForegroundRole, QVariant());
      item->setToolTip(QString());
      break;
  }
}

void LessonsPanel::setHeader(const QString& text, bool error) {
  header_->setText(text);
  QPalette pal = header_->palette();
  pal.setColor(QPalette::WindowText, error ? text_colour(TextTone::failed, palette()) : palette().color(QPalette::WindowText));
  header_->setPalette(pal);
}

void LessonsPanel::updateButtons() {
  const bool can_run = scenario_ && session_.is_live() && !finished_ && next_ < static_cast<int>(scenario_->steps.size());
  play_->setEnabled(can_run && !playing_);
  step_->setEnabled(can_run);
  reset_->setEnabled(scenario_.has_value() && session_.is_live());
  speed_->setEnabled(true);
}

}  // namespace ready::ui
