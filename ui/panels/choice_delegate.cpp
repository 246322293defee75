#include "panels/choice_delegate.h"

#include <QComboBox>

namespace ready::ui {

ChoiceDelegate::ChoiceDelegate(int choicesRole, QObject* parent) : QStyledItemDelegate(parent), m_role(choicesRole) {}

QWidget* ChoiceDelegate::createEditor(QWidget* parent, const QStyleOptionViewItem& option,
                                      const QModelIndex& index) const {
  const QStringList choices = index.data(m_role).toStringList();
  if (choices.isEmpty()) return QStyledItemDelegate::createEditor(parent, option, index);
  auto* box = new QComboBox(parent);
  box->setObjectName(QStringLiteral("choiceEditor"));
  box->addItems(choices);
  // A pick is the edit: commit and close at once (no Enter, no click elsewhere).
  connect(box, &QComboBox::activated, this, [this, box] {
    auto* self = const_cast<ChoiceDelegate*>(this);
    emit self->commitData(box);
    emit self->closeEditor(box);
  });
  return box;
}

void ChoiceDelegate::setEditorData(QWidget* editor, const QModelIndex& index) const {
  auto* box = qobject_cast<QComboBox*>(editor);
  if (!box) return QStyledItemDelegate::setEditorData(editor, index);
  const int at = box->findText(index.data(Qt::EditRole).toString(), Qt::MatchFixedString);
  if (at >= 0) box->setCurrentIndex(at);
}

void ChoiceDelegate::setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const {
  auto* box = qobject_cast<QComboBox*>(editor);
  if (!box) return QStyledItemDelegate::setModelData(editor, model, index);
  // Unchanged: no command (the model would submit the same mode again).
  if (box->currentText() == index.data(Qt::EditRole).toString()) return;
  model->setData(index, box->currentText(), Qt::EditRole);
}

}  // namespace ready::ui
