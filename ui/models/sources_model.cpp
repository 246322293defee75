#include "models/sources_model.h"

#include <QPalette>
#include <algorithm>
#include <array>

#include "models/record_format.h"

namespace ready::ui {

using capture::Reaction;

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

Interest bit_of(int column) {
  switch (column) {
    case SourcesModel::WritableColumn:
      return Interest::WRITABLE;
    case SourcesModel::PriorityColumn:
      return Interest::PRIORITY;
    default:
      return Interest::READABLE;
  }
}

bool is_interest_column(int column) {
  return column == SourcesModel::ReadableColumn || column == SourcesModel::WritableColumn ||
         column == SourcesModel::PriorityColumn;
}

bool has(Interest i, Interest bit) { return (i.bits() & bit.bits()) != 0; }

// What the Mode and Reaction cells take (their drop-downs and setData).
constexpr Trigger kTriggers[] = {Trigger::edge, Trigger::level, Trigger::oneshot};
constexpr Reaction kReactions[] = {Reaction::none,  Reaction::read,    Reaction::drain,
                                   Reaction::echo,  Reaction::discard, Reaction::auto_accept};

std::optional<Trigger> trigger_from(const QString& s) {
  for (Trigger t : kTriggers)
    if (s.compare(trigger_text(t), Qt::CaseInsensitive) == 0) return t;
  return std::nullopt;
}

std::optional<Reaction> reaction_from(const QString& s) {
  for (Reaction r : kReactions)
    if (s.compare(reaction_text(r), Qt::CaseInsensitive) == 0) return r;
  return std::nullopt;
}

}  // namespace

SourcesModel::SourcesModel(CaptureSession& session, QObject* parent)
    : QAbstractTableModel(parent), m_session(session), m_table(session.sources()) {
  m_session.add_consumer(CaptureSession::Stage::models, this);
  // Rows the table already holds are taken at the first frame.
}

SourcesModel::~SourcesModel() { m_session.remove_consumer(this); }

int SourcesModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(m_tokens.size()) + (m_summary ? 1 : 0);
}
int SourcesModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

std::uint64_t SourcesModel::tokenAt(int row) const {
  if (row < 0 || row >= sourceRowCount()) return 0;
  return m_tokens[static_cast<std::size_t>(row)];
}

int SourcesModel::rowOf(std::uint64_t token) const {
  // The table's row is the model's, but for rows the table evicted since the last frame.
  const int r = m_table.row_of(token);
  if (r >= 0 && r < sourceRowCount() && m_tokens[static_cast<std::size_t>(r)] == token) return r;
  if (r < 0) return -1;
  const auto it = std::find(m_tokens.begin(), m_tokens.end(), token);
  return it == m_tokens.end() ? -1 : static_cast<int>(it - m_tokens.begin());
}

bool SourcesModel::isEvictedRow(int row) const { return m_summary && row == sourceRowCount(); }

const SourceRow* SourcesModel::rowAt(int row) const {
  if (row < 0 || row >= sourceRowCount()) return nullptr;
  const std::uint64_t token = m_tokens[static_cast<std::size_t>(row)];
  const auto& rows = m_table.rows();
  if (static_cast<std::size_t>(row) < rows.size() && rows[static_cast<std::size_t>(row)].token == token)
    return &rows[static_cast<std::size_t>(row)];
  return m_table.find(token);  // nullptr: evicted from the table, removed at the next frame
}

void SourcesModel::onFrame(std::uint64_t begin, std::uint64_t end, std::uint64_t evicted_to) {
  (void)begin;
  (void)end;
  (void)evicted_to;
  const SourceTable::Dirty d = m_table.take_dirty();
  // Evicted closed rows first, in runs (positions come highest first within a run).
  for (std::size_t i = 0; i < d.removed.size();) {
    std::size_t j = i;
    while (j + 1 < d.removed.size() && d.removed[j + 1] + 1 == d.removed[j]) ++j;
    const auto lo = static_cast<int>(d.removed[j]), hi = static_cast<int>(d.removed[i]);
    beginRemoveRows({}, lo, hi);
    m_tokens.erase(m_tokens.begin() + lo, m_tokens.begin() + hi + 1);
    endRemoveRows();
    i = j + 1;
  }
  // Changed rows (all below the new ones), in runs of consecutive rows.
  for (std::size_t i = 0; i < d.changed.size();) {
    std::size_t j = i;
    while (j + 1 < d.changed.size() && d.changed[j + 1] == d.changed[j] + 1) ++j;
    emit dataChanged(index(static_cast<int>(d.changed[i]), 0),
                     index(static_cast<int>(d.changed[j]), ColumnCount - 1));
    i = j + 1;
  }
  if (d.end > m_tokens.size()) {
    beginInsertRows({}, sourceRowCount(), static_cast<int>(d.end) - 1);
    for (std::size_t r = m_tokens.size(); r < d.end; ++r) m_tokens.push_back(m_table.rows()[r].token);
    endInsertRows();
  }
  // The folded row of evicted closed sources, last.
  const std::uint64_t evicted = m_table.evicted_closed();
  if (evicted != 0 && !m_summary) {
    beginInsertRows({}, sourceRowCount(), sourceRowCount());
    m_summary = true;
    m_evicted = evicted;
    endInsertRows();
  } else if (evicted != m_evicted) {
    m_evicted = evicted;
    emit dataChanged(index(sourceRowCount(), 0), index(sourceRowCount(), ColumnCount - 1));
  }
}

QVariant SourcesModel::evictedRowData(int column, int role) const {
  switch (role) {
    case Qt::DisplayRole:
      if (column == KindColumn) return tr("%1 closed sources evicted").arg(m_evicted);
      return {};
    case Qt::ToolTipRole:
      return tr("The table keeps the last %1 closed sources; %2 earlier closed sources were folded into this row. "
                "Their records stay in the log and the timeline while the store holds them.")
          .arg(SourceTable::kMaxClosedRows)
          .arg(m_evicted);
    case Qt::ForegroundRole:
      return QPalette().brush(QPalette::Disabled, QPalette::Text);
    case TokenRole:
      return QVariant::fromValue<quint64>(0);
    case ClosedRole:
      return true;
    default:
      return {};
  }
}

QVariant SourcesModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() ||
      !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
    return {};
  if (isEvictedRow(index.row())) return evictedRowData(index.column(), role);
  const SourceRow* row = rowAt(index.row());
  if (!row) return {};
  const SourceRow& s = *row;
  const int col = index.column();
  switch (role) {
    case Qt::DisplayRole:
      return display(s, col);
    case ChoicesRole:
      if (!(flags(index) & Qt::ItemIsEditable)) return {};
      if (col == ModeColumn) {
        QStringList all;
        for (Trigger t : kTriggers) all << trigger_text(t);
        return all;
      }
      if (col == ReactionColumn) {
        QStringList all;
        for (Reaction r : kReactions) all << reaction_text(r);
        return all;
      }
      return {};
    case Qt::EditRole:
      if (col == ModeColumn) return trigger_text(s.trigger);
      if (col == ReactionColumn) return reaction_text(s.reaction);
      return display(s, col);
    case Qt::CheckStateRole:
      if (!is_interest_column(col)) return {};
      // A paused relay leg is registered for nothing: no tick, and "paused" in the R column.
      return !s.paused && has(s.interest, bit_of(col)) ? Qt::Checked : Qt::Unchecked;
    case Qt::ToolTipRole:
      return tooltip(s, col);
    case Qt::ForegroundRole:
      if (s.is_closed()) return QPalette().brush(QPalette::Disabled, QPalette::Text);
      return {};
    case Qt::TextAlignmentRole:
      if (col == TokenColumn || col == FdColumn || col >= EventsColumn)
        return QVariant::fromValue(Qt::Alignment(Qt::AlignRight | Qt::AlignVCenter));
      return {};
    case TokenRole:
      return QVariant::fromValue<quint64>(s.token);
    case ClosedRole:
      return s.is_closed();
    case SearchRole:
      return searchText(s);
    default:
      return {};
  }
}

QString SourcesModel::searchText(const SourceRow& s) {
  return QStringLiteral("%1 %2 %3 %4 %5 %6 %7")
      .arg(qs(s.label()), kind_text(s.kind), qs(s.local), qs(s.peer), qs(s.state_text()), qs(s.interest_text()),
           reaction_text(s.reaction));
}

void SourcesFilterModel::setFilterText(const QString& text) {
  const QStringList words = text.split(QLatin1Char(' '), Qt::SkipEmptyParts);
  if (words == m_words) return;
#if QT_VERSION >= QT_VERSION_CHECK(6, 9, 0)
  beginFilterChange();
  m_words = words;
  endFilterChange(QSortFilterProxyModel::Direction::Rows);
#else
  m_words = words;
  invalidateFilter();
#endif
}

bool SourcesFilterModel::filterAcceptsRow(int source_row, const QModelIndex& source_parent) const {
  if (m_words.isEmpty() || source_parent.isValid()) return true;
  const auto* model = static_cast<const SourcesModel*>(sourceModel());  // setSourceModel's contract
  const SourceRow* row = model->isEvictedRow(source_row) ? nullptr : model->rowAt(source_row);
  if (!row) return true;  // the evicted sources' row
  const QString text = model->searchText(*row);
  return std::all_of(m_words.begin(), m_words.end(),
                     [&text](const QString& w) { return text.contains(w, Qt::CaseInsensitive); });
}

QVariant SourcesModel::display(const SourceRow& s, int column) const {
  switch (column) {
    case TokenColumn:
      return QVariant::fromValue<quint64>(s.token);
    case KindColumn:
      return kind_text(s.kind);
    case FdColumn:
      return s.fd;
    case LocalColumn:
      return qs(s.local);
    case PeerColumn:
      return qs(s.peer);
    case StateColumn:
      // Paused also here: the R column is only a check box wide.
      if (s.paused && !s.is_closed()) return qs(s.state_text() + ", paused");
      return qs(s.state_text());
    case ModeColumn:
      if (s.trigger == Trigger::oneshot && !s.armed && !s.is_closed())
        return QStringLiteral("oneshot (disarmed)");
      return trigger_text(s.trigger);
    case ReactionColumn:
      return reaction_text(s.reaction);
    case EventsColumn:
      return QVariant::fromValue<quint64>(s.events);
    case BytesInColumn:
      return QVariant::fromValue<quint64>(s.bytes_in);
    case BytesOutColumn:
      return QVariant::fromValue<quint64>(s.bytes_out);
    case WouldBlocksColumn:
      return QVariant::fromValue<quint64>(s.would_blocks);
    case ReadableColumn:
      if (s.paused && !s.is_closed()) return QStringLiteral("paused");
      return {};
    default:
      return {};  // the interest columns show a check box only
  }
}

QString SourcesModel::tooltip(const SourceRow& s, int column) const {
  QString head = QStringLiteral("%1 %2, fd %3").arg(kind_text(s.kind)).arg(s.token).arg(s.fd);
  if (s.related != 0) head += QStringLiteral(", related to %1").arg(s.related);
  if (s.relay != RelayRole::none) head += QStringLiteral("\n%1").arg(qs(s.label()));
  head += QStringLiteral("\nadded at %1").arg(format_time_ns(s.t_added));
  if (s.t_removed) head += QStringLiteral(", closed at %1").arg(format_time_ns(*s.t_removed));
  QString what;
  switch (column) {
    case StateColumn:
      what = QStringLiteral("State from its records: connect, EOF, shutdown, errors, close.");
      break;
    case ReadableColumn:
    case WritableColumn:
    case PriorityColumn:
      what = QStringLiteral(
                 "Interest in %1: ticked means epoll reports it. Clicking submits a set-interest "
                 "command; the tick follows once the engine has changed the registration.")
                 .arg(interest_text(bit_of(column)));
      if (s.paused)
        what += QStringLiteral(
            "\nPaused: registered for no event (interest 0), a relay leg held back because the "
            "other leg's buffer is full (back-pressure); only errors and hang-ups can come.");
      break;
    case ModeColumn:
      what = QStringLiteral(
          "Trigger mode: edge (EPOLLET), level, or oneshot (EPOLLONESHOT, disarmed after "
          "one event until rearmed).");
      break;
    case ReactionColumn:
      what = QStringLiteral(
          "What the poll thread does by itself on an event: none, read, drain, echo, "
          "discard, auto_accept, or relay (a relay's listener and legs; set only by New "
          "source > Relay).");
      break;
    case EventsColumn:
      what = QStringLiteral("Readiness events reported by epoll_wait.");
      break;
    case BytesInColumn:
    case BytesOutColumn:
      what = QStringLiteral("Bytes read / written: %1 in, %2 out.")
                 .arg(format_bytes(s.bytes_in), format_bytes(s.bytes_out));
      break;
    case WouldBlocksColumn:
      what = QStringLiteral("Operations that ended in EAGAIN (would block); %1 ended in an error.")
                 .arg(s.errors);
      break;
    default:
      break;
  }
  return what.isEmpty() ? head : head + QLatin1Char('\n') + what;
}

QVariant SourcesModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || section < 0 || section >= ColumnCount) return {};
  static const std::array<const char*, ColumnCount> names = {"Token",    "Kind",   "fd", "Local", "Peer",
                                                             "State",    "R",      "W",  "P",     "Mode",
                                                             "Reaction", "Events", "In", "Out",   "EAGAIN"};
  static const std::array<const char*, ColumnCount> tips = {
      "The engine's token (never reused)",
      "Source kind",
      "File descriptor (may be reused by another source later)",
      "Local address",
      "Peer address",
      "Connection state",
      "Interest: readable (EPOLLIN). Tick to have epoll report it, untick to stop; the registration "
      "changes live",
      "Interest: writable (EPOLLOUT). Tick to have epoll report it, untick to stop; the registration "
      "changes live",
      "Interest: priority (EPOLLPRI). Tick to have epoll report it, untick to stop; the registration "
      "changes live",
      "Trigger mode: edge, level or oneshot (double-click to change)",
      "Reaction: what the poll thread does on an event (double-click to change)",
      "Readiness events",
      "Bytes read",
      "Bytes written",
      "Operations that would block"};
  if (role == Qt::DisplayRole) return QString::fromLatin1(names[static_cast<std::size_t>(section)]);
  if (role == Qt::ToolTipRole) return QString::fromLatin1(tips[static_cast<std::size_t>(section)]);
  return {};
}

Qt::ItemFlags SourcesModel::flags(const QModelIndex& index) const {
  if (!index.isValid() ||
      !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
    return Qt::NoItemFlags;
  if (isEvictedRow(index.row())) return Qt::ItemIsEnabled | Qt::ItemNeverHasChildren;
  Qt::ItemFlags f = Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemNeverHasChildren;
  const SourceRow* row = rowAt(index.row());
  if (!row || row->is_closed()) return f;
  if (is_interest_column(index.column())) f |= Qt::ItemIsUserCheckable;
  // A relay's reaction is set by cmd::Relay only (the engine refuses SetReaction with it).
  if (index.column() == ReactionColumn && row->relay == RelayRole::none) f |= Qt::ItemIsEditable;
  if (index.column() == ModeColumn) f |= Qt::ItemIsEditable;
  return f;
}

bool SourcesModel::submitInterest(const SourceRow& s, int column, bool on) {
  const Interest bit = bit_of(column);
  if (has(s.interest, bit) == on) return false;  // already so
  std::optional<Interest> next = on ? std::optional(s.interest | bit) : s.interest.remove(bit);
  if (!next) {
    emit m_session.commandFailed(
        QStringLiteral("source %1: an interest needs at least one of readable, writable, "
                       "priority (to stop all events, close the source)")
            .arg(s.token));
    return false;
  }
  return m_session.submit(capture::cmd::SetInterest{Token(s.token), *next}).has_value();
}

bool SourcesModel::setData(const QModelIndex& index, const QVariant& value, int role) {
  if (!index.isValid() ||
      !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
    return false;
  const SourceRow* row = rowAt(index.row());
  if (!row) return false;
  const SourceRow& s = *row;
  const int col = index.column();
  if (s.is_closed()) {
    emit m_session.commandFailed(QStringLiteral("source %1 is closed").arg(s.token));
    return false;
  }
  if (role == Qt::CheckStateRole && is_interest_column(col))
    return submitInterest(s, col, value.toInt() == Qt::Checked);
  if (role != Qt::EditRole) return false;
  if (col == ModeColumn) {
    const auto t = trigger_from(value.toString());
    if (!t) {
      emit m_session.commandFailed(
          QStringLiteral("unknown trigger mode \"%1\" (expected edge, level or oneshot)")
              .arg(value.toString()));
      return false;
    }
    return m_session.submit(capture::cmd::SetTrigger{Token(s.token), *t}).has_value();
  }
  if (col == ReactionColumn) {
    const auto r = reaction_from(value.toString());
    if (!r) {
      emit m_session.commandFailed(QStringLiteral("unknown reaction \"%1\" (expected none, read, drain, echo, "
                                                 "discard or auto_accept)")
                                      .arg(value.toString()));
      return false;
    }
    return m_session.submit(capture::cmd::SetReaction{Token(s.token), capture::ReactionSpec{*r}}).has_value();
  }
  return false;
}

}  // namespace ready::ui
