#include "panels/replay_bar.h"

#include <QAction>
#include <QComboBox>
#include <QLabel>
#include <QLocale>
#include <QStyle>

#include "models/time_text.h"

namespace ready::ui {

namespace {

QString speed_text(double s) { return QStringLiteral("%1×").arg(QLocale().toString(s)); }

}  // namespace

ReplayBar::ReplayBar(const capture::RecordStore& store, QWidget* parent)
    : QToolBar(tr("Replay"), parent), m_head(new PlayHead(store, this)) {
  setObjectName(QStringLiteral("replayBar"));
  setIconSize(QSize(16, 16));
  setToolButtonStyle(Qt::ToolButtonIconOnly);
  QStyle* st = style();
  addControl(Control::start, st->standardIcon(QStyle::SP_MediaSkipBackward), tr("Replay: to the first record"),
             QKeySequence(Qt::CTRL | Qt::Key_Home));
  addControl(Control::previousEvent, st->standardIcon(QStyle::SP_MediaSeekBackward), tr("Replay: previous event"),
             QKeySequence(Qt::Key_BracketLeft));
  addControl(Control::previousRecord, st->standardIcon(QStyle::SP_ArrowLeft), tr("Replay: previous record"),
             QKeySequence(Qt::Key_Comma));
  QAction* play = addControl(Control::play, st->standardIcon(QStyle::SP_MediaPlay), tr("Replay: play / pause"),
                             QKeySequence(Qt::Key_P));
  play->setCheckable(true);
  addControl(Control::nextRecord, st->standardIcon(QStyle::SP_ArrowRight), tr("Replay: next record"),
             QKeySequence(Qt::Key_Period));
  addControl(Control::nextEvent, st->standardIcon(QStyle::SP_MediaSeekForward), tr("Replay: next event"),
             QKeySequence(Qt::Key_BracketRight));
  addControl(Control::end, st->standardIcon(QStyle::SP_MediaSkipForward), tr("Replay: to the last record"),
             QKeySequence(Qt::CTRL | Qt::Key_End));

  m_speed = new QComboBox;
  m_speed->setObjectName(QStringLiteral("replaySpeed"));
  m_speed->setToolTip(tr("Play speed, × capture time"));
  for (const double s : PlayHead::kSpeeds) m_speed->addItem(speed_text(s), s);
  m_speed->setCurrentIndex(m_speed->findData(m_head->speed()));
  connect(m_speed, &QComboBox::currentIndexChanged, this,
          [this](int i) { m_head->setSpeed(m_speed->itemData(i).toDouble()); });
  addWidget(m_speed);

  m_sourceOnly = addAction(tr("Source only"));
  m_sourceOnly->setObjectName(QStringLiteral("replaySourceOnly"));
  m_sourceOnly->setCheckable(true);
  m_sourceOnly->setToolTip(tr("Event steps visit only the selected source's readiness events"));
  connect(m_sourceOnly, &QAction::toggled, this, [this] { applyEventToken(); });
  m_thenLive = addAction(tr("Then live"));
  m_thenLive->setObjectName(QStringLiteral("replayThenLive"));
  m_thenLive->setCheckable(true);
  m_thenLive->setToolTip(tr("On a live capture: when play reaches the newest record, follow live again"));
  // Without an icon a tool button shows its text, whatever the bar's button style.

  m_text = new QLabel;
  m_text->setObjectName(QStringLiteral("replayPosition"));
  m_text->setContentsMargins(8, 0, 0, 0);
  addWidget(m_text);

  connect(m_head, &PlayHead::positionChanged, this, [this](std::uint64_t index, std::uint64_t) {
    m_nothingThere = false;
    updateText();
    emit recordReached(index);
  });
  connect(m_head, &PlayHead::playingChanged, this, [this](bool on) {
    QAction* p = action(Control::play);
    p->setChecked(on);
    p->setIcon(style()->standardIcon(on ? QStyle::SP_MediaPause : QStyle::SP_MediaPlay));
  });
  connect(m_head, &PlayHead::finished, this, [this] {
    if (m_thenLive->isChecked()) emit liveEndReached();
  });
  updateText();
}

ReplayBar::~ReplayBar() = default;

QAction* ReplayBar::addControl(Control c, const QIcon& icon, const QString& text, const QKeySequence& key) {
  QAction* a = addAction(icon, text);
  a->setShortcut(key);
  a->setToolTip(QStringLiteral("%1 (%2)").arg(text, key.toString(QKeySequence::NativeText)));
  // Live where the bar, or a widget the window adds the action to, has the focus.
  a->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  m_controls[static_cast<int>(c)] = a;
  // The play action is checkable: its check state follows the head, not the click.
  connect(a, &QAction::triggered, this, [this, c] { run(c); });
  return a;
}

QAction* ReplayBar::action(Control c) const { return m_controls[static_cast<int>(c)]; }

void ReplayBar::run(Control c) {
  emit navigated();
  bool moved = true;
  switch (c) {
    case Control::start:
      moved = m_head->toStart();
      break;
    case Control::previousEvent:
      moved = m_head->previousEvent();
      break;
    case Control::previousRecord:
      moved = m_head->previousRecord();
      break;
    case Control::play:
      m_head->togglePlay();
      // A refused play (nothing to play) leaves the button as it was.
      action(Control::play)->setChecked(m_head->isPlaying());
      break;
    case Control::nextRecord:
      moved = m_head->nextRecord();
      break;
    case Control::nextEvent:
      moved = m_head->nextEvent();
      break;
    case Control::end:
      moved = m_head->toEnd();
      break;
  }
  if (!moved && m_head->position()) {
    m_nothingThere = true;
    updateText();
  }
}

void ReplayBar::setSelectedToken(std::uint64_t token) {
  m_selectedToken = token;
  applyEventToken();
}

void ReplayBar::applyEventToken() {
  m_head->setEventToken(m_sourceOnly->isChecked() && m_selectedToken != 0 ? std::optional(m_selectedToken)
                                                                            : std::nullopt);
}

void ReplayBar::onFrame() {
  m_head->syncStore();
  updateText();
}

QString ReplayBar::positionText() const { return m_text->text(); }

void ReplayBar::updateText() {
  const QLocale loc;
  const auto& store = m_head->store();
  const auto pos = m_head->position();
  const QString total = loc.toString(static_cast<qulonglong>(store.end_index()));
  if (!pos) {
    m_text->setText(store.empty() ? tr("no records") : tr("%1 records · press %2 to step").arg(
                                                           total, action(Control::nextRecord)->shortcut().toString(
                                                                      QKeySequence::NativeText)));
    return;
  }
  QString text = tr("record %1 of %2 · %3")
                     .arg(loc.toString(static_cast<qulonglong>(*pos + 1)), total, time_text(m_head->positionTime()));
  if (m_nothingThere) text += tr(" · nothing further");
  m_text->setText(text);
  m_text->setToolTip(store.evicted() ? tr("Records 1 to %1 were evicted by the store's bound")
                                           .arg(loc.toString(static_cast<qulonglong>(store.evicted())))
                                     : QString());
}

}  // namespace ready::ui
