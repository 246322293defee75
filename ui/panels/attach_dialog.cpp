#include "panels/attach_dialog.h"

#include <QCoreApplication>
#include <QDialogButtonBox>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QTableView>
#include <QVBoxLayout>

#include "ready/capture/command.h"

namespace ready::ui {

namespace {
enum Column { kPid, kName, kEpolls, kCommand, kColumns };
}

AttachDialog::AttachDialog(QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("Attach to process"));
  setObjectName(QStringLiteral("attachDialog"));
  auto* layout = new QVBoxLayout(this);
  auto* intro = new QLabel(
      tr("Your processes that hold an epoll instance. Each registration of the one you choose becomes a lane, "
         "read from /proc at the interval below (docs/attach.md)."),
      this);
  intro->setWordWrap(true);
  layout->addWidget(intro);

  filter_ = new QLineEdit(this);
  filter_->setObjectName(QStringLiteral("attachFilter"));
  filter_->setPlaceholderText(tr("Filter by pid, name or command line"));
  filter_->setClearButtonEnabled(true);
  layout->addWidget(filter_);

  model_.setColumnCount(kColumns);
  model_.setHorizontalHeaderLabels({tr("PID"), tr("Name"), tr("epoll instances"), tr("Command line")});
  proxy_ = new QSortFilterProxyModel(this);
  proxy_->setSourceModel(&model_);
  proxy_->setFilterKeyColumn(-1);  // every column
  proxy_->setFilterCaseSensitivity(Qt::CaseInsensitive);
  proxy_->setSortRole(Qt::UserRole);
  view_ = new QTableView(this);
  view_->setObjectName(QStringLiteral("attachProcesses"));
  view_->setModel(proxy_);
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setSelectionMode(QAbstractItemView::SingleSelection);
  view_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  view_->setSortingEnabled(true);
  view_->sortByColumn(kPid, Qt::AscendingOrder);
  view_->verticalHeader()->hide();
  view_->horizontalHeader()->setStretchLastSection(true);
  layout->addWidget(view_, 1);
  connect(filter_, &QLineEdit::textChanged, proxy_, &QSortFilterProxyModel::setFilterFixedString);
  connect(view_, &QTableView::doubleClicked, this, &AttachDialog::accept);

  auto* row = new QHBoxLayout;
  row->addWidget(new QLabel(tr("Sample every"), this));
  interval_ = new QSpinBox(this);
  interval_->setObjectName(QStringLiteral("attachInterval"));
  interval_->setRange(static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(capture::cmd::kMinAttachInterval).count()),
                      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(capture::cmd::kMaxAttachInterval).count()));
  interval_->setValue(50);
  interval_->setSuffix(tr(" ms"));
  row->addWidget(interval_);
  row->addStretch(1);
  auto* refreshButton = new QPushButton(tr("&Refresh"), this);
  refreshButton->setObjectName(QStringLiteral("attachRefresh"));
  connect(refreshButton, &QPushButton::clicked, this, &AttachDialog::refresh);
  row->addWidget(refreshButton);
  layout->addLayout(row);

  status_ = new QLabel(this);
  status_->setObjectName(QStringLiteral("attachStatus"));
  status_->setWordWrap(true);
  layout->addWidget(status_);

  buttons_ = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  buttons_->button(QDialogButtonBox::Ok)->setText(tr("&Attach"));
  connect(buttons_, &QDialogButtonBox::accepted, this, &AttachDialog::accept);
  connect(buttons_, &QDialogButtonBox::rejected, this, &QDialog::reject);
  layout->addWidget(buttons_);
  resize(760, 420);
  refresh();
}

AttachDialog::~AttachDialog() {
  if (lister_.joinable()) lister_.join();
}

void AttachDialog::refresh() {
  if (lister_.joinable()) lister_.join();
  status_->setText(tr("Reading /proc…"));
  QPointer<AttachDialog> self(this);
  lister_ = std::thread([self] {
    auto list = attach::epoll_processes();
    // Delivered on the GUI thread; `self` is checked there (the dialog joins this thread
    // before it is destroyed, so the queued call finds it or nothing).
    QMetaObject::invokeMethod(
        qApp, [self, l = std::move(list)]() mutable {
          if (self) self->show_list(std::move(l));
        },
        Qt::QueuedConnection);
  });
}

void AttachDialog::show_list(std::vector<attach::ProcessEntry> list) {
  const std::optional<int> keep = pid();
  model_.removeRows(0, model_.rowCount());
  for (const attach::ProcessEntry& p : list) {
    QList<QStandardItem*> items;
    auto* pidItem = new QStandardItem(QString::number(p.pid));
    pidItem->setData(p.pid, Qt::UserRole);
    auto* nameItem = new QStandardItem(QString::fromStdString(p.name));
    nameItem->setData(QString::fromStdString(p.name), Qt::UserRole);
    auto* epollItem = new QStandardItem(QString::number(p.epoll_instances));
    epollItem->setData(p.epoll_instances, Qt::UserRole);
    auto* cmdItem = new QStandardItem(QString::fromStdString(p.cmdline));
    cmdItem->setData(QString::fromStdString(p.cmdline), Qt::UserRole);
    cmdItem->setToolTip(QString::fromStdString(p.cmdline));
    items << pidItem << nameItem << epollItem << cmdItem;
    model_.appendRow(items);
  }
  view_->resizeColumnToContents(kPid);
  view_->resizeColumnToContents(kName);
  status_->setText(list.empty() ? tr("None of your processes holds an epoll instance.")
                                : tr("%n process(es) with an epoll instance.", nullptr, static_cast<int>(list.size())));
  if (keep) selectPid(*keep);
  emit listed(static_cast<int>(list.size()));
}

std::optional<int> AttachDialog::pid() const {
  const QModelIndexList rows = view_->selectionModel()->selectedRows(kPid);
  if (rows.isEmpty()) return std::nullopt;
  return rows.first().data(Qt::UserRole).toInt();
}

std::chrono::milliseconds AttachDialog::interval() const { return std::chrono::milliseconds(interval_->value()); }

int AttachDialog::visibleRows() const { return proxy_->rowCount(); }

bool AttachDialog::selectPid(int p) {
  for (int r = 0; r < proxy_->rowCount(); ++r) {
    const QModelIndex i = proxy_->index(r, kPid);
    if (i.data(Qt::UserRole).toInt() == p) {
      view_->selectRow(r);
      return true;
    }
  }
  return false;
}

void AttachDialog::accept() {
  const auto p = pid();
  if (!p) {
    status_->setText(tr("Choose a process first."));
    return;
  }
  // Checked again now: it may have ended, or changed its user, since the list was made.
  if (auto ok = attach::inspect_process(*p); !ok) {
    status_->setText(QString::fromStdString(ok.error().message));
    return;
  }
  QDialog::accept();
}

}  // namespace ready::ui
