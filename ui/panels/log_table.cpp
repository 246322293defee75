#include "panels/log_table.h"

#include <QFontMetrics>
#include <QHeaderView>
#include <QString>
#include <QTableView>

namespace ready::ui {

void set_up_log_table(QTableView& view, std::initializer_list<std::pair<int, const char*>> samples) {
  view.setSelectionBehavior(QAbstractItemView::SelectRows);
  view.setSelectionMode(QAbstractItemView::SingleSelection);
  view.setEditTriggers(QAbstractItemView::NoEditTriggers);
  view.verticalHeader()->hide();
  view.verticalHeader()->setDefaultSectionSize(view.fontMetrics().height() + 4);
  view.setAlternatingRowColors(true);
  QHeaderView* h = view.horizontalHeader();
  h->setStretchLastSection(true);
  const QFontMetrics fm(view.font());
  for (const auto& [column, sample] : samples)
    h->resizeSection(column, fm.horizontalAdvance(QString::fromUtf8(sample)) + 18);
}

}  // namespace ready::ui
