// The event log: a virtual table over the record store, filtered by token, kind and text.
#pragma once

#include <QAbstractTableModel>
#include <QString>
#include <QTimer>
#include <cstdint>
#include <deque>
#include <optional>
#include <utility>

#include "session/capture_session.h"
#include "ready/capture/record.h"

namespace ready::ui {

/// The event log: one row per record of the capture session's RecordStore, oldest first.
///
/// No copies. Without a filter, row i is store index begin + i (begin: the oldest record
/// the model has announced); with a filter the model keeps only the list of matching store
/// indices (8 bytes each). Cell text is made on demand by record_format.h, so a view pays
/// only for the rows it paints.
///
/// Updates come with each frame (a Stage::models consumer of the session): appended records become
/// rows at the end (beginInsertRows); records the store evicted leave from the front
/// (beginRemoveRows). Between an eviction and its frame, rows of evicted records read as
/// empty.
///
/// Filters combine (all must match): a token (found through RecordStore::token_range, so
/// records about no source drop out), a set of record kinds, and a text that must occur in
/// the row's formatted text (case-insensitive). Setting a filter resets the model and then
/// scans the store in slices from a zero-interval timer, at most `scanSliceRecords()`
/// records and ~8 ms per slice, inserting the rows each slice found: over millions of
/// records the window stays responsive and rows appear as they are found. `isScanning()`
/// says whether a scan is under way; `scanFinished` is emitted when it completes. New
/// records during a filter are scanned the same way (the first slice at once, in onFrame).
///
/// Rows are bounded by `maxRows()` (default kDefaultMaxRows = 2^16), because a QTableView
/// pays O(rows) per layout change (its vertical QHeaderView keeps one item per row and
/// recomputes every row position after an insert), which at millions of rows costs a
/// frame many times over. The model shows a window of at most maxRows rows: while it
/// follows the newest records (the default) new rows enter at the end and the oldest
/// leave from the front; `showIndex` / `showTime` move the window to an older record
/// (a reset; following stops) and `followLatest` brings it back to the newest. A filter
/// keeps the newest maxRows matches.
class EventLogModel : public QAbstractTableModel, public FrameConsumer {
  Q_OBJECT

 public:
  enum Column { TimeColumn, TokenColumn, KindColumn, WhatColumn, ResultColumn, DetailColumn, ColumnCount };
  enum Role {
    StoreIndexRole = Qt::UserRole + 1,  ///< the row's global store index (quint64)
    TimeRole,                           ///< the record's t_ns (quint64)
    TokenRole,                          ///< the record's token (quint64; 0 for none)
  };

  /// One bit per capture::RecordKind (kindBit); kAllKinds lets every kind through.
  static constexpr std::uint32_t kindBit(capture::RecordKind k) noexcept {
    return std::uint32_t{1} << static_cast<unsigned>(k);
  }
  static constexpr std::uint32_t kAllKinds = (std::uint32_t{1} << ready::enum_count<capture::RecordKind>) - 1;

  struct Filter {
    std::optional<std::uint64_t> token;  ///< only this source's records
    std::uint32_t kinds = kAllKinds;     ///< only these record kinds
    QString text;                        ///< only rows whose text contains this (any case)
    /// Only records with t0 <= t_ns < t1 (a range picked on the timeline).
    std::optional<std::pair<std::uint64_t, std::uint64_t>> time;
    [[nodiscard]] bool active() const noexcept {
      return token || kinds != kAllKinds || !text.isEmpty() || time.has_value();
    }
    friend bool operator==(const Filter&, const Filter&) = default;
  };

  explicit EventLogModel(CaptureSession& session, QObject* parent = nullptr);
  ~EventLogModel() override;

  [[nodiscard]] int rowCount(const QModelIndex& parent = {}) const override;
  [[nodiscard]] int columnCount(const QModelIndex& parent = {}) const override;
  [[nodiscard]] QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  [[nodiscard]] QVariant headerData(int section, Qt::Orientation orientation,
                                    int role = Qt::DisplayRole) const override;

  /// Replaces the filter (a reset, then a sliced scan; see the class comment).
  void setFilter(Filter f);
  void setTokenFilter(std::optional<std::uint64_t> token);
  void setKindFilter(std::uint32_t kinds);
  void setTextFilter(const QString& text);
  /// Only records in [t0, t1) (nullopt: any time).
  void setTimeFilter(std::optional<std::pair<std::uint64_t, std::uint64_t>> range);
  [[nodiscard]] const Filter& filter() const noexcept { return m_filter; }
  [[nodiscard]] bool isScanning() const noexcept;
  /// The most records one scan slice examines (default 16384; at least 1).
  [[nodiscard]] std::size_t scanSliceRecords() const noexcept { return m_sliceRecords; }
  void setScanSliceRecords(std::size_t n) noexcept { m_sliceRecords = n == 0 ? 1 : n; }

  /// The store index shown in `row`, or nullopt when out of range.
  [[nodiscard]] std::optional<std::uint64_t> storeIndexAt(int row) const;
  /// The row showing store index `index`, or -1 (filtered out, evicted, not yet announced).
  [[nodiscard]] int rowForStoreIndex(std::uint64_t index) const;
  /// Jump to time: the first row whose record's time is >= t_ns, or -1 when none is.
  [[nodiscard]] int rowForTime(std::uint64_t t_ns) const;
  /// The row showing store index `index`, moving the window there first when `index` is a
  /// record the model knows of outside it (unfiltered only; a reset). -1 when none.
  int showIndex(std::uint64_t index);
  /// Jump to time: as rowForTime, but moves the window (unfiltered) as showIndex does.
  int showTime(std::uint64_t t_ns);
  /// Moves the window back to the newest records and follows them again (a reset when it
  /// was elsewhere).
  void followLatest();
  /// Whether the window ends at the newest record and moves with new ones.
  [[nodiscard]] bool isFollowing() const noexcept { return m_following; }
  /// The most rows the model shows at once (default kDefaultMaxRows; at least 1). Applies
  /// from the next change.
  static constexpr std::size_t kDefaultMaxRows = std::size_t{1} << 16;
  [[nodiscard]] std::size_t maxRows() const noexcept { return m_maxRows; }
  void setMaxRows(std::size_t n) noexcept { m_maxRows = n == 0 ? 1 : n; }
  /// The text a row's record is matched against: its columns joined by tabs.
  [[nodiscard]] QString rowText(const capture::Record& r) const;

 signals:
  /// A filter scan reached the newest record the model knew of.
  void scanFinished();

 public slots:
  /// A frame: records [begin, end) were appended; the store now starts at evicted_to.
  void onFrame(std::uint64_t begin, std::uint64_t end, std::uint64_t evicted_to);

 public:
  void take_frame(const Frame& f) override { onFrame(f.begin, f.end, f.evicted_to); }
  /// Whether the record at store index `index` passes the current filter (true for every
  /// held record without one). `index` must be held by the store. A text filter formats it.
  [[nodiscard]] bool matches(std::uint64_t index) const;

 private:
  [[nodiscard]] QVariant cell(const capture::Record& r, int column) const;
  void scanSlice();
  [[nodiscard]] std::uint64_t rowsUnfiltered() const noexcept { return m_end - m_begin; }
  void trimMatches();

  CaptureSession& m_session;
  const capture::RecordStore& m_store;
  Filter m_filter;
  std::uint64_t m_begin = 0;  // store indices the model has announced: [m_begin, m_end)
  std::uint64_t m_end = 0;
  std::uint64_t m_latest = 0;  // the newest store end a frame announced (m_end <= m_latest)
  bool m_following = true;     // unfiltered: the window ends at m_latest and moves with it
  std::size_t m_maxRows = kDefaultMaxRows;
  std::deque<std::uint64_t> m_matches;  // filtered: matching store indices, ascending
  std::uint64_t m_scanPos = 0;          // filtered: the next store index to examine
  std::size_t m_sliceRecords = 16384;
  QTimer m_scanTimer;
};

}  // namespace ready::ui
