#include "panels/warnings_panel.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

#include "panels/log_table.h"

namespace ready::ui {

WarningsPanel::WarningsPanel(CaptureSession& session, WarningsModel::Labeler labeler, QWidget* parent)
    : QWidget(parent), model_(&session.warnings()) {
  if (labeler) model_->setLabeler(std::move(labeler));
  view_ = new QTableView;
  view_->setObjectName(QStringLiteral("warningsView"));
  view_->setModel(model_);
  set_up_log_table(*view_, {{WarningsModel::TimeColumn, "9999.999 999 s"},
                            {WarningsModel::SourceColumn, "#12 unix_stream reader"},
                            {WarningsModel::WarningColumn, "edge-triggered partial read"},
                            {WarningsModel::DetailColumn, "edge-triggered read stopped with 6 bytes left and no new"}});
  counts_ = new QLabel;
  counts_->setObjectName(QStringLiteral("warningsCount"));
  lesson_button_ = new QPushButton(tr("Open lesson"));
  lesson_button_->setEnabled(false);

  auto* bar = new QHBoxLayout;
  bar->addWidget(counts_, 1);
  bar->addWidget(lesson_button_);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(2, 2, 2, 2);
  layout->addLayout(bar);
  layout->addWidget(view_);

  connect(model_, &WarningsModel::countsChanged, this, &WarningsPanel::updateCounts);
  connect(view_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this](const QModelIndex& cur) {
    lesson_button_->setEnabled(cur.isValid() && !model_->lessonAt(cur.row()).isEmpty());
    if (cur.isValid()) emit recordActivated(model_->rowAt(cur.row()).index);
  });
  connect(view_, &QAbstractItemView::clicked, this, [this](const QModelIndex& i) {
    if (i.column() == WarningsModel::LessonColumn) openLessonOf(i.row());
  });
  connect(view_, &QAbstractItemView::doubleClicked, this, [this](const QModelIndex& i) { openLessonOf(i.row()); });
  connect(lesson_button_, &QPushButton::clicked, this, [this] { openLessonOf(view_->currentIndex().row()); });
  updateCounts();
}

bool WarningsPanel::openLessonOf(int row) {
  const QString lesson = model_->lessonAt(row);
  if (lesson.isEmpty()) return false;
  emit lessonRequested(lesson);
  return true;
}

QString WarningsPanel::countText() const { return counts_->text(); }

void WarningsPanel::updateCounts() {
  const int n = model_->rowCount();
  QString text = n == 0 ? tr("No warnings: no pitfall seen so far.")
                        : n == 1 ? tr("1 warning") : tr("%1 warnings").arg(n);
  if (model_->dropped() > 0)
    text += tr(" (+ %1 older dropped beyond the %2-row bound)").arg(model_->dropped()).arg(WarningsModel::kMaxRows);
  counts_->setText(text);
}

}  // namespace ready::ui
