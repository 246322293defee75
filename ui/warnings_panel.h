// The warnings list: every warning record of the capture (pitfalls and bounds hit), in words,
// each with the built-in lesson that explains it.
#pragma once

#include <QAbstractTableModel>
#include <QWidget>

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <vector>

#include "bridge.h"
#include "ready/capture/record.h"

class QLabel;
class QPushButton;
class QTableView;

namespace ready::ui {

/// The warning records of a capture as a table: time, source, warning (in words), detail
/// (its `value` worked into a sentence, see warning_text) and the lesson that explains it
/// (lessonForWarning; empty for bounds such as payload_truncated).
///
/// Fed record by record as a RecordObserver of the bridge (O(1) per record: warnings are
/// queued; everything else is ignored) and shown once per Bridge::frame, so a burst of
/// warnings costs one model reset-free insertion per frame. Rows keep their own copy of what
/// they show (and the source's label as it was then), so store eviction does not empty them.
///
/// Bound: at most kMaxRows rows. Past it the oldest rows leave (the newest warnings stay
/// visible); `dropped()` counts every row that left that way, and the panel says so.
class WarningsModel : public QAbstractTableModel, public RecordObserver {
  Q_OBJECT

 public:
  static constexpr int kMaxRows = 10000;
  enum Column { TimeColumn, SourceColumn, WarningColumn, DetailColumn, LessonColumn, ColumnCount };
  /// The name of a source, for the Source column (MainWindow's lane label); null: "#token".
  using Labeler = std::function<QString(std::uint64_t token)>;

  /// Observes `bridge` (added here, removed by the destructor) and takes its frames.
  explicit WarningsModel(Bridge& bridge, Labeler labeler = {}, QObject* parent = nullptr);
  ~WarningsModel() override;

  struct Row {
    std::uint64_t index = 0;  ///< the record's global store index
    capture::Record record{};
    QString source;   ///< the source's label when the warning arrived
    QString lesson;   ///< lessonForWarning, may be empty
  };

  [[nodiscard]] int rowCount(const QModelIndex& parent = {}) const override;
  [[nodiscard]] int columnCount(const QModelIndex& parent = {}) const override;
  [[nodiscard]] QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  [[nodiscard]] QVariant headerData(int section, Qt::Orientation o, int role = Qt::DisplayRole) const override;

  [[nodiscard]] const Row& rowAt(int row) const { return rows_.at(static_cast<std::size_t>(row)); }
  /// The lesson explaining row `row`'s warning (empty: none, or no such row).
  [[nodiscard]] QString lessonAt(int row) const;
  /// Rows that left because of kMaxRows.
  [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_; }
  /// Every warning seen (shown + dropped + still queued for the next frame).
  [[nodiscard]] std::uint64_t total() const noexcept { return dropped_ + rows_.size() + pending_.size(); }

  void on_record(const capture::Record& r, std::uint64_t index) override;
  /// Moves the queued warnings into the table (Bridge::frame does it; tests may call it).
  void flush();

 signals:
  /// Rows were added or dropped.
  void countsChanged();

 private:
  Bridge& bridge_;
  Labeler labeler_;
  std::deque<Row> rows_;
  std::deque<Row> pending_;  // since the last frame; bounded by kMaxRows as well
  std::uint64_t dropped_ = 0;
};

/// The Warnings dock: the table, a count line ("3 warnings", "+ 120 dropped beyond the
/// 10000-row bound") and "Open lesson" for the selected row. A click on a row emits
/// recordActivated (the window selects that time on the timeline and in the log); a click
/// on the Lesson column, a double click or the button emits lessonRequested with its lesson.
class WarningsPanel : public QWidget {
  Q_OBJECT

 public:
  explicit WarningsPanel(Bridge& bridge, WarningsModel::Labeler labeler = {}, QWidget* parent = nullptr);

  [[nodiscard]] WarningsModel* model() const noexcept { return model_; }
  [[nodiscard]] QTableView* view() const noexcept { return view_; }
  [[nodiscard]] QPushButton* lessonButton() const noexcept { return lesson_button_; }
  [[nodiscard]] QString countText() const;
  /// Emits lessonRequested for row `row`, if its warning has a lesson; false otherwise.
  bool openLessonOf(int row);

 signals:
  void recordActivated(std::uint64_t index);
  void lessonRequested(const QString& lesson);

 private:
  void updateCounts();

  WarningsModel* model_ = nullptr;
  QTableView* view_ = nullptr;
  QLabel* counts_ = nullptr;
  QPushButton* lesson_button_ = nullptr;
};

}  // namespace ready::ui
