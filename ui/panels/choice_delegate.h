// A drop-down editor for table cells that take one of a few values (the sources table's
// trigger mode and reaction): never free text.
#pragma once

#include <QStyledItemDelegate>

namespace ready::ui {

/// Edits a cell with a QComboBox of the values the model offers for it: the QStringList in
/// `choicesRole` (a cell with no list gets the default editor). The combo box starts on the
/// cell's Qt::EditRole text; choosing a value writes it back at once (Qt::EditRole) and
/// closes the editor, so one click and one pick change the value.
class ChoiceDelegate : public QStyledItemDelegate {
  Q_OBJECT

 public:
  ChoiceDelegate(int choicesRole, QObject* parent = nullptr);

  QWidget* createEditor(QWidget* parent, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
  void setEditorData(QWidget* editor, const QModelIndex& index) const override;
  void setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const override;

 private:
  int m_role;
};

}  // namespace ready::ui
