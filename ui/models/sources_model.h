// The sources model: one row per source, live counters, and interest / mode / reaction editing.
#pragma once

#include <QAbstractTableModel>
#include <QSortFilterProxyModel>
#include <QStringList>
#include <QString>
#include <cstdint>
#include <vector>

#include "models/source_table.h"
#include "session/capture_session.h"

namespace ready::ui {

/// A table model over the capture session's SourceTable, for the sources panel.
///
/// Rows are the table's rows in creation order; closed sources stay (their text is greyed
/// with the palette's disabled text colour), the last SourceTable::kMaxClosedRows of them:
/// the table evicts the earliest created ones beyond that, and the model removes their rows
/// and shows one more row, last, "N closed sources evicted" (not selectable, token 0). The model announces rows only in `onFrame`
/// (a Stage::models consumer of the session), so a view sees each new source and
/// each change once per frame: rows the table appended become beginInsertRows, rows it
/// changed become dataChanged for those rows only (SourceTable::take_dirty). Cells read the
/// table, which is current to the last drained record, so a cell may be newer than the
/// last dataChanged for it by up to one frame.
///
/// Editing goes through the engine, never into the model: the Readable / Writable /
/// Priority check boxes submit cmd::SetInterest with the source's interest with that bit
/// flipped, Mode submits cmd::SetTrigger ("edge", "level", "oneshot"), Reaction submits
/// cmd::SetReaction ("none", "read", "drain", "echo", "discard", "auto_accept"). What the
/// cells show stays the engine's value until the source_changed record arrives (a refused
/// modify leaves it as it was). Unticking the last interest bit would leave an empty
/// interest, which epoll cannot express: it is refused with a message through
/// CaptureSession::commandFailed and nothing is submitted. Closed sources are not editable.
///
/// The session must outlive the model.
class SourcesModel : public QAbstractTableModel, public FrameConsumer {
  Q_OBJECT

 public:
  enum Column {
    TokenColumn,
    KindColumn,
    FdColumn,
    LocalColumn,
    PeerColumn,
    StateColumn,
    ReadableColumn,
    WritableColumn,
    PriorityColumn,
    ModeColumn,
    ReactionColumn,
    EventsColumn,
    BytesInColumn,
    BytesOutColumn,
    WouldBlocksColumn,
    ColumnCount
  };
  enum Role {
    TokenRole = Qt::UserRole + 1,  ///< the row's token (quint64), any column
    ClosedRole,                    ///< bool: the source is closed
    /// QString, any column: what the filter matches (label, kind, addresses, state,
    /// interest, reaction).
    SearchRole,
    /// QStringList, Mode and Reaction columns of an editable row: the values the cell takes
    /// (its drop-down, ChoiceDelegate).
    ChoicesRole,
  };

  explicit SourcesModel(CaptureSession& session, QObject* parent = nullptr);
  ~SourcesModel() override;

  [[nodiscard]] int rowCount(const QModelIndex& parent = {}) const override;
  [[nodiscard]] int columnCount(const QModelIndex& parent = {}) const override;
  [[nodiscard]] QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  [[nodiscard]] QVariant headerData(int section, Qt::Orientation orientation,
                                    int role = Qt::DisplayRole) const override;
  [[nodiscard]] Qt::ItemFlags flags(const QModelIndex& index) const override;
  /// Submits a command (see the class comment); true when it was submitted. The cell
  /// changes only when the engine's source_changed record arrives.
  bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;

  /// The token of `row`, or 0 when out of range (or the evicted sources' row).
  [[nodiscard]] std::uint64_t tokenAt(int row) const;
  /// Rows that are sources: all but the evicted sources' row, if there is one.
  [[nodiscard]] int sourceRowCount() const noexcept { return static_cast<int>(m_tokens.size()); }
  /// Closed sources folded into the evicted sources' row (as of the last frame).
  [[nodiscard]] std::uint64_t evictedSources() const noexcept { return m_evicted; }
  /// The row of `token`, or -1 (also for a source not announced yet by onFrame).
  [[nodiscard]] int rowOf(std::uint64_t token) const;

 public slots:
  /// Takes the table's changes since the last frame: inserts new rows, dataChanged for
  /// changed rows. The arguments are the frame's (unused: the table knows what changed).
  void onFrame(std::uint64_t begin, std::uint64_t end, std::uint64_t evicted_to);

 public:
  void take_frame(const Frame& f) override { onFrame(f.begin, f.end, f.evicted_to); }

 private:
  [[nodiscard]] QVariant display(const SourceRow& s, int column) const;
  [[nodiscard]] QString tooltip(const SourceRow& s, int column) const;
  bool submitInterest(const SourceRow& s, int column, bool on);
  [[nodiscard]] bool isEvictedRow(int row) const;
  [[nodiscard]] QVariant evictedRowData(int column, int role) const;
  /// The table's row for model row `row` (nullptr if evicted since the last frame).
  [[nodiscard]] const SourceRow* rowAt(int row) const;
  /// What SearchRole returns for a row.
  [[nodiscard]] static QString searchText(const SourceRow& s);
  friend class SourcesFilterModel;  // matches rows without a QModelIndex and QVariant per row

  CaptureSession& m_session;
  SourceTable& m_table;
  std::vector<std::uint64_t> m_tokens;  // the token of each source row, in the model's numbering
  bool m_summary = false;               // the evicted sources' row is shown (last)
  std::uint64_t m_evicted = 0;          // what it says
};

/// The sources table's filter (the line edit above it): keeps the rows whose SearchRole
/// text contains every word of the filter, case-insensitively ("relay paused", "8000",
/// "unix_stream closed"); empty keeps all. The evicted sources' row stays. O(rows) per new
/// filter; rows that change are re-checked by QSortFilterProxyModel as they change. Its
/// source model must be a SourcesModel.
class SourcesFilterModel : public QSortFilterProxyModel {
  Q_OBJECT

 public:
  explicit SourcesFilterModel(QObject* parent = nullptr) : QSortFilterProxyModel(parent) {}
  void setFilterText(const QString& text);
  [[nodiscard]] QString filterText() const { return m_words.join(QLatin1Char(' ')); }

 protected:
  [[nodiscard]] bool filterAcceptsRow(int source_row, const QModelIndex& source_parent) const override;

 private:
  QStringList m_words;
};

}  // namespace ready::ui
