// The warnings of a capture as a table model: every warning record (pitfalls and bounds
// hit), in words, each with the built-in lesson that explains it.
#pragma once

#include <QAbstractTableModel>

#include <cstdint>
#include <deque>
#include <functional>

#include "ready/capture/record.h"
#include "session/bridge.h"

namespace ready::ui {

/// The warning records of a capture as a table: time, source, warning (in words), detail
/// (its `value` worked into a sentence, see warning_text) and the lesson that explains it
/// (lessonForWarning; empty for bounds such as payload_truncated).
///
/// Fed record by record as a RecordObserver of the capture session's bridge (O(1) per record: warnings are
/// queued; everything else is ignored) and shown once per frame (CaptureSession delivers it first), so a burst of
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

  /// The capture session owns one, observes it and flushes it first in every frame.
  explicit WarningsModel(Labeler labeler = {}, QObject* parent = nullptr);
  /// Names the sources of rows added from now on.
  void setLabeler(Labeler labeler) { labeler_ = std::move(labeler); }

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
  /// Moves the queued warnings into the table (the session does it each frame; tests may call it).
  void flush();

 signals:
  /// Rows were added or dropped.
  void countsChanged();

 private:
  Labeler labeler_;
  std::deque<Row> rows_;
  std::deque<Row> pending_;  // since the last frame; bounded by kMaxRows as well
  std::uint64_t dropped_ = 0;
};

}  // namespace ready::ui
