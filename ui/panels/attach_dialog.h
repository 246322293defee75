// File > Attach to process…: the user's processes that hold an epoll instance (pid, name,
// command line, epoll instances), filterable, and the sampling interval (docs/attach.md).
// The list is made off the GUI thread (reading /proc of every process) and can be refreshed.
#pragma once

#include <QDialog>
#include <QStandardItemModel>

#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "ready/attach/process.h"

class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QSpinBox;
class QTableView;
class QDialogButtonBox;

namespace ready::ui {

class AttachDialog : public QDialog {
  Q_OBJECT
 public:
  explicit AttachDialog(QWidget* parent = nullptr);
  ~AttachDialog() override;

  /// The process chosen (the selected row), or nullopt.
  [[nodiscard]] std::optional<int> pid() const;
  /// The sampling interval chosen (default 50 ms).
  [[nodiscard]] std::chrono::milliseconds interval() const;
  /// Rows listed now (after the filter).
  [[nodiscard]] int visibleRows() const;
  /// Selects the row of `pid`; false when it is not listed (or filtered out).
  bool selectPid(int pid);

  void accept() override;

 signals:
  /// The list was (re)made: `rows` processes.
  void listed(int rows);

 public slots:
  /// Lists the processes again (off the GUI thread); `listed` follows.
  void refresh();

 private:
  void show_list(std::vector<attach::ProcessEntry> list);

  QLineEdit* filter_ = nullptr;
  QTableView* view_ = nullptr;
  QStandardItemModel model_;
  QSortFilterProxyModel* proxy_ = nullptr;
  QSpinBox* interval_ = nullptr;
  QLabel* status_ = nullptr;
  QDialogButtonBox* buttons_ = nullptr;
  std::thread lister_;  // the running /proc scan, joined before the next and on destruction
};

}  // namespace ready::ui
