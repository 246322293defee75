#include "window/lesson_layout.h"

#include <QDockWidget>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>

#include "ready/capture/store.h"
#include "timeline/timelineview.h"

namespace ready::ui {

LessonLayout::LessonLayout(const capture::RecordStore& store, TimelineView& timeline, QObject* parent)
    : QObject(parent), m_store(store), m_timeline(timeline) {
  m_strip = new QWidget;
  m_strip->setObjectName(QStringLiteral("lessonStrip"));
  auto* row = new QHBoxLayout(m_strip);
  row->setContentsMargins(4, 2, 4, 2);
  m_stripText = new QLabel(tr("Lesson layout: the sources, the event log and the warnings are folded."));
  auto* show = new QPushButton(tr("Show sources and log"));
  show->setObjectName(QStringLiteral("lessonStripShow"));
  show->setToolTip(tr("Brings the sources table, the event log and the warnings back (View > Lesson layout)"));
  auto* whole = new QPushButton(tr("Whole lesson"));
  whole->setObjectName(QStringLiteral("lessonStripWhole"));
  whole->setToolTip(tr("Shows everything since the lesson's first step, and keeps following it"));
  row->addWidget(m_stripText, 1);
  row->addWidget(whole);
  row->addWidget(show);
  m_strip->hide();
  connect(show, &QPushButton::clicked, this, &LessonLayout::leave);
  connect(whole, &QPushButton::clicked, this, &LessonLayout::showWholeLesson);
}

void LessonLayout::setFoldable(std::vector<QWidget*> widgets, QWidget* raised) {
  m_foldable.assign(widgets.begin(), widgets.end());
  m_raised = raised;
}

void LessonLayout::enter() {
  if (m_folded) return;
  m_folded = true;
  m_hidden.clear();
  for (const QPointer<QWidget>& w : m_foldable) {
    if (!w || w->isHidden()) continue;
    m_hidden.push_back(w);
    w->hide();
  }
  if (m_raised) {
    m_raised->show();
    if (auto* dock = qobject_cast<QDockWidget*>(m_raised.data())) dock->raise();
  }
  m_strip->show();
  emit foldedChanged(true);
}

void LessonLayout::leave() {
  if (!m_folded) return;
  m_folded = false;
  for (const QPointer<QWidget>& w : m_hidden)
    if (w) w->show();
  m_hidden.clear();
  m_strip->hide();
  emit foldedChanged(false);
}

void LessonLayout::stepStarted(int step) {
  m_pendingIndex = m_store.end_index();
  m_pendingIsStart = step == 0;
  m_stepRunning = false;
  m_markedEarly = false;
  if (step == 0) {
    m_lessonT0.reset();
    m_lessonEnd = 0;
    m_following = true;
    m_anchored = false;
  }
}

void LessonLayout::onFrame() {
  if (m_pendingIndex) {
    const std::uint64_t first = std::max(*m_pendingIndex, m_store.begin_index());
    if (first >= m_store.end_index()) return;  // the step's records have not come yet
    m_stepT0 = m_store.time_at(first);
    if (m_pendingIsStart || !m_lessonT0) m_lessonT0 = m_stepT0;
    m_pendingIndex.reset();
    m_sinceStepT0.start();
    m_stepRunning = true;
  }
  if (m_stepRunning) showStep();
  if (m_markedEarly) {  // its outcome came before its records: its span ends here
    m_markedEarly = false;
    m_stepRunning = false;
  }
}

void LessonLayout::stepMarked() {
  if (m_pendingIndex) {
    m_markedEarly = true;
    return;
  }
  if (!m_stepRunning) return;
  showStep();
  m_stepRunning = false;
}

void LessonLayout::showStep() {
  if (!m_stepT0) return;
  const auto elapsed = static_cast<std::uint64_t>(std::max<qint64>(0, m_sinceStepT0.nsecsElapsed()));
  const std::uint64_t end = *m_stepT0 + std::max(elapsed, kMinStepSpan);
  m_lessonEnd = std::max(m_lessonEnd, end);
  // Only while the user has not taken the view over: a zoom or pan by hand ends the anchor,
  // and the steps after it leave the view alone (until "Whole lesson" or the next run).
  if (!m_following) return;
  if (m_anchored && !m_timeline.followedFrom()) {
    m_following = false;
    return;
  }
  m_timeline.followSpan(*m_stepT0, end);
  m_anchored = true;
}

void LessonLayout::lessonFinished() {
  onFrame();  // a last step whose records came with this frame
  m_stepRunning = false;
  m_pendingIndex.reset();
  for (std::uint64_t i = m_store.end_index(); i > m_store.begin_index(); --i) {
    const capture::RecordKind k = m_store.kind_at(i - 1);
    if (k == capture::RecordKind::poll_return || k == capture::RecordKind::stats) continue;
    m_lessonEnd = std::max(m_lessonEnd, m_store.time_at(i - 1) + 1);
    break;
  }
  showWholeLesson();
}

void LessonLayout::showWholeLesson() {
  if (!m_lessonT0) {
    m_timeline.zoomReset();
    return;
  }
  m_following = false;  // the steps no longer zoom: the whole lesson stays in view
  if (m_stepRunning)
    m_timeline.followFrom(*m_lessonT0);
  else
    m_timeline.followSpan(*m_lessonT0, std::max(m_lessonEnd, *m_lessonT0 + kMinStepSpan));
}

}  // namespace ready::ui
