#include "models/event_log_model.h"

#include <QElapsedTimer>
#include <algorithm>
#include <climits>
#include <vector>

#include "models/record_format.h"

namespace ready::ui {

using capture::Record;

namespace {

// A slice stops after this long even before scanSliceRecords(), so one stays well under
// a frame however slow the text filter's formatting is.
constexpr qint64 kSliceBudgetMs = 8;

int clamp_rows(std::uint64_t n) {
  return n > static_cast<std::uint64_t>(INT_MAX) ? INT_MAX : static_cast<int>(n);
}

}  // namespace

EventLogModel::EventLogModel(CaptureSession& session, QObject* parent)
    : QAbstractTableModel(parent), m_session(session), m_store(session.store()) {
  m_begin = m_store.begin_index();
  m_end = m_store.end_index();
  m_latest = m_end;
  if (m_end - m_begin > m_maxRows) m_begin = m_end - m_maxRows;
  m_scanPos = m_begin;
  m_scanTimer.setSingleShot(true);
  m_scanTimer.setInterval(0);
  connect(&m_scanTimer, &QTimer::timeout, this, &EventLogModel::scanSlice);
  m_session.add_consumer(CaptureSession::Stage::models, this);
}

EventLogModel::~EventLogModel() { m_session.remove_consumer(this); }

int EventLogModel::rowCount(const QModelIndex& parent) const {
  if (parent.isValid()) return 0;
  return m_filter.active() ? clamp_rows(m_matches.size()) : clamp_rows(rowsUnfiltered());
}

int EventLogModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

bool EventLogModel::isScanning() const noexcept { return m_filter.active() && m_scanPos < m_end; }

std::optional<std::uint64_t> EventLogModel::storeIndexAt(int row) const {
  if (row < 0 || row >= rowCount()) return std::nullopt;
  if (m_filter.active()) return m_matches[static_cast<std::size_t>(row)];
  return m_begin + static_cast<std::uint64_t>(row);
}

int EventLogModel::rowForStoreIndex(std::uint64_t index) const {
  if (m_filter.active()) {
    auto it = std::lower_bound(m_matches.begin(), m_matches.end(), index);
    if (it == m_matches.end() || *it != index) return -1;
    return static_cast<int>(it - m_matches.begin());
  }
  if (index < m_begin || index >= m_end || index - m_begin >= static_cast<std::uint64_t>(INT_MAX)) return -1;
  return static_cast<int>(index - m_begin);
}

int EventLogModel::rowForTime(std::uint64_t t_ns) const {
  const std::uint64_t first = std::max(m_store.lower_bound(t_ns), m_begin);
  if (m_filter.active()) {
    auto it = std::lower_bound(m_matches.begin(), m_matches.end(), first);
    return it == m_matches.end() ? -1 : static_cast<int>(it - m_matches.begin());
  }
  return first >= m_end ? -1 : rowForStoreIndex(first);
}

QString EventLogModel::rowText(const Record& r) const {
  QString s;
  for (int c = 0; c < ColumnCount; ++c) {
    if (c != 0) s += QLatin1Char('\t');
    s += cell(r, c).toString();
  }
  return s;
}

QVariant EventLogModel::cell(const Record& r, int column) const {
  switch (column) {
    case TimeColumn:
      return format_time_ns(r.t_ns);
    case TokenColumn:
      return record_token_text(r);
    case KindColumn:
      return record_kind_text(r.kind);
    case WhatColumn:
      return record_what(r);
    case ResultColumn:
      return record_result(r);
    case DetailColumn:
      return record_detail(r, [this](std::uint64_t id) { return m_session.note_text(id); });
    default:
      return {};
  }
}

QVariant EventLogModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() ||
      !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
    return {};
  const auto i = storeIndexAt(index.row());
  // Evicted by the store since the last frame: the row leaves with the next one.
  if (!i || *i < m_store.begin_index() || *i >= m_store.end_index()) return {};
  switch (role) {
    case Qt::DisplayRole:
      return cell(m_store.at(*i), index.column());
    case Qt::ToolTipRole: {
      const Record r = m_store.at(*i);
      return QStringLiteral("#%1 at %2\n%3 %4\n%5")
          .arg(*i)
          .arg(format_time_ns(r.t_ns), record_what(r), record_result(r), cell(r, DetailColumn).toString());
    }
    case Qt::TextAlignmentRole:
      if (index.column() == TimeColumn || index.column() == TokenColumn)
        return QVariant::fromValue(Qt::Alignment(Qt::AlignRight | Qt::AlignVCenter));
      return {};
    case StoreIndexRole:
      return QVariant::fromValue<quint64>(*i);
    case TimeRole:
      return QVariant::fromValue<quint64>(m_store.time_at(*i));
    case TokenRole:
      return QVariant::fromValue<quint64>(m_store.at(*i).token);
    default:
      return {};
  }
}

QVariant EventLogModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || section < 0 || section >= ColumnCount) return {};
  if (role == Qt::DisplayRole) {
    switch (section) {
      case TimeColumn:
        return QStringLiteral("Time");
      case TokenColumn:
        return QStringLiteral("Token");
      case KindColumn:
        return QStringLiteral("Kind");
      case WhatColumn:
        return QStringLiteral("What");
      case ResultColumn:
        return QStringLiteral("Result");
      case DetailColumn:
        return QStringLiteral("Detail");
      default:
        break;
    }
  }
  if (role == Qt::ToolTipRole) {
    switch (section) {
      case TimeColumn:
        return QStringLiteral("Time since the capture started (µs resolution)");
      case WhatColumn:
        return QStringLiteral("Readiness flags, the operation, or the source event");
      case ResultColumn:
        return QStringLiteral("The operation's outcome: bytes, would_block, eof or the errno");
      default:
        break;
    }
  }
  return {};
}

void EventLogModel::setFilter(Filter f) {
  if (f == m_filter) return;
  beginResetModel();
  m_filter = std::move(f);
  m_matches.clear();
  // Either way the model starts over from everything the store holds, newest in view.
  m_following = true;
  m_end = m_latest;
  m_begin = std::max(m_store.begin_index(), m_end - std::min<std::uint64_t>(m_end, m_maxRows));
  m_scanPos = m_store.begin_index();
  // A time range: nothing before it can match (the store is in time order).
  if (m_filter.time) m_scanPos = std::max(m_scanPos, m_store.lower_bound(m_filter.time->first));
  if (m_filter.active()) m_begin = m_scanPos;
  endResetModel();
  if (m_filter.active() && m_scanPos < m_end) {
    m_scanTimer.start();
  } else {
    m_scanTimer.stop();
    if (m_filter.active()) emit scanFinished();
  }
}

void EventLogModel::setTokenFilter(std::optional<std::uint64_t> token) {
  Filter f = m_filter;
  f.token = token;
  setFilter(std::move(f));
}

void EventLogModel::setKindFilter(std::uint32_t kinds) {
  Filter f = m_filter;
  f.kinds = kinds & kAllKinds;
  setFilter(std::move(f));
}

void EventLogModel::setTextFilter(const QString& text) {
  Filter f = m_filter;
  f.text = text;
  setFilter(std::move(f));
}

void EventLogModel::setTimeFilter(std::optional<std::pair<std::uint64_t, std::uint64_t>> range) {
  Filter f = m_filter;
  f.time = range;
  setFilter(std::move(f));
}

bool EventLogModel::matches(std::uint64_t index) const {
  if ((m_filter.kinds & kindBit(m_store.kind_at(index))) == 0) return false;
  if (m_filter.time) {
    const std::uint64_t t = m_store.time_at(index);
    if (t < m_filter.time->first || t >= m_filter.time->second) return false;
  }
  if (!m_filter.token && m_filter.text.isEmpty()) return true;
  const Record r = m_store.at(index);
  if (m_filter.token && (r.token != *m_filter.token || !capture::RecordStore::is_indexed_by_token(r.kind)))
    return false;
  return m_filter.text.isEmpty() || rowText(r).contains(m_filter.text, Qt::CaseInsensitive);
}

void EventLogModel::scanSlice() {
  if (!m_filter.active()) return;
  QElapsedTimer clock;
  clock.start();
  std::vector<std::uint64_t> found;
  std::size_t budget = m_sliceRecords;
  while (m_scanPos < m_end && budget > 0) {
    const std::uint64_t pos = std::max(m_scanPos, m_store.begin_index());
    if (pos >= m_end) {  // evicted meanwhile: nothing left to look at
      m_scanPos = m_end;
      break;
    }
    if (m_filter.token) {
      // The token's own index: O(log n) to find the range, then only its records. Times
      // may repeat, so the time range can reach past [pos, stop) on both sides.
      const std::uint64_t stop = std::min<std::uint64_t>(m_end, pos + budget);
      const auto ids =
          m_store.token_range(*m_filter.token, m_store.time_at(pos), m_store.time_at(stop - 1) + 1);
      for (const std::uint64_t i : ids) {
        if (i < pos || i >= stop) continue;
        if (matches(i)) found.push_back(i);
      }
      budget -= static_cast<std::size_t>(stop - pos);
      m_scanPos = stop;
    } else {
      const std::uint64_t stop = std::min<std::uint64_t>(m_end, pos + std::min<std::size_t>(budget, 256));
      for (std::uint64_t i = pos; i < stop; ++i)
        if (matches(i)) found.push_back(i);
      budget -= static_cast<std::size_t>(stop - pos);
      m_scanPos = stop;
    }
    if (clock.elapsed() >= kSliceBudgetMs) break;
  }
  if (!found.empty()) {
    if (found.size() > m_maxRows) found.erase(found.begin(), found.end() - static_cast<std::ptrdiff_t>(m_maxRows));
    const int first = rowCount();
    beginInsertRows({}, first, first + static_cast<int>(found.size()) - 1);
    m_matches.insert(m_matches.end(), found.begin(), found.end());
    endInsertRows();
    trimMatches();
  }
  if (m_scanPos < m_end)
    m_scanTimer.start();
  else
    emit scanFinished();
}

void EventLogModel::trimMatches() {
  if (m_matches.size() <= m_maxRows) return;
  const auto gone = static_cast<int>(m_matches.size() - m_maxRows);
  beginRemoveRows({}, 0, gone - 1);
  m_matches.erase(m_matches.begin(), m_matches.begin() + gone);
  endRemoveRows();
}

int EventLogModel::showIndex(std::uint64_t index) {
  if (m_filter.active() || (index >= m_begin && index < m_end)) return rowForStoreIndex(index);
  if (index < m_store.begin_index() || index >= m_latest) return -1;
  // Centre the window on the record, within what the store holds.
  const std::uint64_t half = m_maxRows / 2;
  std::uint64_t begin = std::max(m_store.begin_index(), index - std::min(index, half));
  const std::uint64_t end = std::min(m_latest, begin + m_maxRows);
  begin = std::max(m_store.begin_index(), end - std::min<std::uint64_t>(end, m_maxRows));
  beginResetModel();
  m_begin = begin;
  m_end = end;
  m_following = end == m_latest;
  endResetModel();
  return rowForStoreIndex(index);
}

int EventLogModel::showTime(std::uint64_t t_ns) {
  if (m_filter.active()) return rowForTime(t_ns);
  const std::uint64_t first = std::max(m_store.lower_bound(t_ns), m_store.begin_index());
  return first >= m_latest ? -1 : showIndex(first);
}

void EventLogModel::followLatest() {
  if (m_following) return;
  beginResetModel();
  m_following = true;
  m_end = m_latest;
  m_begin = std::max(m_store.begin_index(), m_end - std::min<std::uint64_t>(m_end, m_maxRows));
  endResetModel();
}

void EventLogModel::onFrame(std::uint64_t begin, std::uint64_t end, std::uint64_t evicted_to) {
  (void)begin;  // the model's own m_end says where the new records start
  if (evicted_to > m_begin) {
    if (m_filter.active()) {
      const auto cut = std::lower_bound(m_matches.begin(), m_matches.end(), evicted_to);
      const auto gone = static_cast<int>(cut - m_matches.begin());
      if (gone > 0) {
        beginRemoveRows({}, 0, gone - 1);
        m_matches.erase(m_matches.begin(), cut);
        endRemoveRows();
      }
      m_begin = evicted_to;
      m_end = std::max(m_end, evicted_to);
      m_scanPos = std::max(m_scanPos, evicted_to);
    } else {
      const std::uint64_t gone = std::min(evicted_to, m_end) - m_begin;
      if (gone > 0) {
        beginRemoveRows({}, 0, clamp_rows(gone) - 1);
        m_begin = evicted_to;
        m_end = std::max(m_end, evicted_to);
        endRemoveRows();
      } else {
        m_begin = evicted_to;
        m_end = std::max(m_end, evicted_to);
      }
    }
  }
  m_latest = std::max(m_latest, end);
  if (end <= m_end) return;
  if (m_filter.active()) {
    m_end = end;
    if (!m_scanTimer.isActive()) scanSlice();
    return;
  }
  if (!m_following) return;  // the window stays where showIndex put it
  // The bound: the oldest rows leave before the new ones enter.
  const std::uint64_t keepFrom = end - std::min<std::uint64_t>(end, m_maxRows);
  if (keepFrom > m_begin) {
    const std::uint64_t gone = std::min(keepFrom, m_end) - m_begin;
    if (gone > 0) {
      beginRemoveRows({}, 0, clamp_rows(gone) - 1);
      m_begin = keepFrom;
      m_end = std::max(m_end, keepFrom);
      endRemoveRows();
    } else {
      m_begin = keepFrom;
      m_end = std::max(m_end, keepFrom);
    }
  }
  const int first = rowCount();
  const int last = clamp_rows(end - m_begin) - 1;
  if (last < first) {  // beyond INT_MAX rows: nothing more can be shown
    m_end = end;
    return;
  }
  beginInsertRows({}, first, last);
  m_end = end;
  endInsertRows();
}

}  // namespace ready::ui
