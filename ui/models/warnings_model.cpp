#include "models/warnings_model.h"

#include <QBrush>
#include <QColor>
#include <QFont>

#include "models/lessons.h"
#include "models/record_format.h"
#include "models/text_colours.h"

namespace ready::ui {

using capture::Record;
using capture::RecordKind;
using capture::WarningKind;

WarningsModel::WarningsModel(Labeler labeler, QObject* parent)
    : QAbstractTableModel(parent), labeler_(std::move(labeler)) {}

void WarningsModel::on_record(const Record& r, std::uint64_t index) {
  if (r.kind != RecordKind::warning) return;
  // The queue holds at most a table's worth: older queued rows would leave at flush anyway.
  if (pending_.size() >= static_cast<std::size_t>(kMaxRows)) {
    pending_.erase(pending_.begin());
    ++dropped_;
  }
  Row row;
  row.index = index;
  row.record = r;
  pending_.push_back(std::move(row));
}

void WarningsModel::flush() {
  if (pending_.empty()) return;
  for (Row& row : pending_) {
    // Labels now (not at paint): the source may be gone by the time the row is looked at.
    row.source = labeler_ ? labeler_(row.record.token) : QString();
    if (row.source.isEmpty()) row.source = row.record.token ? QStringLiteral("#%1").arg(row.record.token) : QString();
    row.lesson = readyscope::lessonForWarning(static_cast<WarningKind>(row.record.op));
  }
  const std::size_t total = rows_.size() + pending_.size();
  if (total > static_cast<std::size_t>(kMaxRows)) {
    const std::size_t excess = total - static_cast<std::size_t>(kMaxRows);
    const std::size_t from_rows = std::min(excess, rows_.size());
    if (from_rows > 0) {
      beginRemoveRows({}, 0, static_cast<int>(from_rows) - 1);
      rows_.erase(rows_.begin(), rows_.begin() + static_cast<std::ptrdiff_t>(from_rows));
      endRemoveRows();
    }
    // More new rows than the bound: only the newest kMaxRows of them stay.
    const std::size_t from_pending = excess - from_rows;
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(from_pending));
    dropped_ += excess;
  }
  const int first = static_cast<int>(rows_.size());
  beginInsertRows({}, first, first + static_cast<int>(pending_.size()) - 1);
  for (Row& row : pending_) rows_.push_back(std::move(row));
  endInsertRows();
  pending_.clear();
  emit countsChanged();
}

int WarningsModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int WarningsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QString WarningsModel::lessonAt(int row) const {
  if (row < 0 || row >= rowCount()) return {};
  return rows_[static_cast<std::size_t>(row)].lesson;
}

QVariant WarningsModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount()) return {};
  const Row& row = rows_[static_cast<std::size_t>(index.row())];
  const auto kind = static_cast<WarningKind>(row.record.op);
  if (role == Qt::DisplayRole) {
    switch (index.column()) {
      case TimeColumn:
        return format_time_ns(row.record.t_ns);
      case SourceColumn:
        return row.source;
      case WarningColumn:
        return warning_title(kind);
      case DetailColumn:
        return warning_text(row.record);
      case LessonColumn:
        return row.lesson.isEmpty() ? QString() : QStringLiteral("▶ %1").arg(row.lesson);
      default:
        return {};
    }
  }
  if (role == Qt::ToolTipRole) {
    if (index.column() == LessonColumn)
      return row.lesson.isEmpty() ? tr("A bound of the capture, not a pitfall: no lesson")
                                  : tr("Click to open the lesson “%1” in the Lessons panel").arg(row.lesson);
    return QStringLiteral("%1 (%2)\n%3")
        .arg(warning_title(kind), QString::fromUtf8(to_string(kind)), warning_text(row.record));
  }
  if (role == Qt::ForegroundRole && index.column() == LessonColumn) return QBrush(text_colour(TextTone::link));
  if (role == Qt::FontRole && index.column() == LessonColumn) {
    QFont f;
    f.setUnderline(true);
    return f;
  }
  return {};
}

QVariant WarningsModel::headerData(int section, Qt::Orientation o, int role) const {
  if (o != Qt::Horizontal || role != Qt::DisplayRole) return {};
  switch (section) {
    case TimeColumn:
      return tr("Time");
    case SourceColumn:
      return tr("Source");
    case WarningColumn:
      return tr("Warning");
    case DetailColumn:
      return tr("Detail");
    case LessonColumn:
      return tr("Lesson");
    default:
      return {};
  }
}

}  // namespace ready::ui
