#include "panels/follow_panel.h"

#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QFileDialog>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSaveFile>
#include <QTextCharFormat>
#include <QTextCursor>
#include <QTextDocument>
#include <QVBoxLayout>

#include <algorithm>
#include <optional>

#include "models/hex.h"
#include "models/source_table.h"

namespace ready::ui {

using capture::Direction;
using capture::FollowItem;

namespace {

/// What one frame asks the capture for at most (the engine copies under the source's lock).
constexpr std::size_t kFetchBytes = std::size_t{1} << 20;

QString plural_chunks(std::uint64_t n) {
  return n == 1 ? FollowPanel::tr("1 chunk") : FollowPanel::tr("%1 chunks").arg(n);
}

}  // namespace

FollowPanel::FollowPanel(CaptureSession& session, QWidget* parent) : QWidget(parent), m_session(session) {
  auto* layout = new QVBoxLayout(this);

  m_title = new QLabel(this);
  m_title->setObjectName(QStringLiteral("followTitle"));
  m_title->setWordWrap(true);
  QFont bold = m_title->font();
  bold.setBold(true);
  m_title->setFont(bold);
  layout->addWidget(m_title);

  auto* note = new QLabel(QString::fromUtf8(capture::kChunkNote.data(), static_cast<int>(capture::kChunkNote.size())) +
                              QLatin1Char('.'),
                          this);
  note->setObjectName(QStringLiteral("chunkNote"));
  note->setWordWrap(true);
  layout->addWidget(note);

  m_counts = new QLabel(this);
  m_counts->setObjectName(QStringLiteral("followCounts"));
  m_counts->setWordWrap(true);
  layout->addWidget(m_counts);

  // Text / Hex and the search box.
  auto* tools = new QHBoxLayout;
  m_mode = new QComboBox(this);
  m_mode->setObjectName(QStringLiteral("followMode"));
  m_mode->addItem(tr("Text"));
  m_mode->addItem(tr("Hex"));
  m_mode->setToolTip(tr("Text: as socat -v prints it (\\r, \\t, \\xHH for bytes that are not printable); "
                        "Hex: offset, 16 bytes, the same as ASCII"));
  connect(m_mode, &QComboBox::currentIndexChanged, this, [this](int i) { setHex(i == 1); });
  tools->addWidget(m_mode);
  m_search = new QLineEdit(this);
  m_search->setObjectName(QStringLiteral("followSearch"));
  m_search->setPlaceholderText(tr("Find in the conversation; Enter: next"));
  m_search->setClearButtonEnabled(true);
  connect(m_search, &QLineEdit::returnPressed, this, [this] { findNext(m_search->text()); });
  tools->addWidget(m_search, 1);
  m_searchStatus = new QLabel(this);
  m_searchStatus->setObjectName(QStringLiteral("followSearchStatus"));
  tools->addWidget(m_searchStatus);
  layout->addLayout(tools);

  m_view = new QPlainTextEdit(this);
  m_view->setObjectName(QStringLiteral("followView"));
  m_view->setReadOnly(true);
  m_view->setLineWrapMode(QPlainTextEdit::NoWrap);
  m_view->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  layout->addWidget(m_view, 1);

  // One direction's bytes: copy or save.
  auto* bytesRow = new QHBoxLayout;
  m_direction = new QComboBox(this);
  m_direction->setObjectName(QStringLiteral("followDirection"));
  m_direction->addItem(tr("> client → server"));
  m_direction->addItem(tr("< server → client"));
  bytesRow->addWidget(m_direction, 1);
  m_copy = new QPushButton(tr("Copy"), this);
  m_copy->setObjectName(QStringLiteral("followCopy"));
  m_copy->setToolTip(tr("Copies this direction's bytes (as kept) to the clipboard"));
  connect(m_copy, &QPushButton::clicked, this, &FollowPanel::copyDirection);
  bytesRow->addWidget(m_copy);
  m_save = new QPushButton(tr("Save…"), this);
  m_save->setObjectName(QStringLiteral("followSave"));
  m_save->setToolTip(tr("Writes this direction's raw bytes (as kept) to a file"));
  connect(m_save, &QPushButton::clicked, this, &FollowPanel::saveDirectionAs);
  bytesRow->addWidget(m_save);
  layout->addLayout(bytesRow);

  setSource(0);
}

void FollowPanel::setSource(std::uint64_t token) {
  const SourceTable& table = m_session.sources();
  const std::uint64_t leg = capture::follow_client_leg(token, [&](std::uint64_t t) -> std::optional<capture::FollowLeg> {
    const SourceRow* r = table.find(t);
    if (!r) return std::nullopt;
    return capture::FollowLeg{r->kind, r->reaction, r->related};
  });
  if (leg != 0 && leg == m_leg) return;
  m_leg = leg;
  m_conversation = {};
  m_items.clear();
  m_keptBytes = 0;
  m_droppedBytes = 0;
  m_closed = false;
  m_titleDone = false;
  clearView();
  if (leg == 0) {
    m_title->setText(tr("No relayed connection selected"));
    m_view->setPlaceholderText(tr("Select a relay's client or upstream leg (Sources table or timeline): its "
                                  "conversation appears here. Start a relay with --relay LISTEN=UPSTREAM or "
                                  "New source > Relay."));
  } else {
    updateTitle();
    m_view->setPlaceholderText(tr("Nothing relayed yet on this connection."));
  }
  m_copy->setEnabled(leg != 0);
  m_save->setEnabled(leg != 0);
  updateCounts();
  if (leg != 0) onFrame();
}

void FollowPanel::updateTitle() {
  // "client A → relay B → upstream C": the client leg's peer and local address, the upstream
  // leg's peer (a closed source keeps what its row learnt). The upstream leg may appear a
  // frame later: then the title is completed by onFrame.
  const SourceTable& table = m_session.sources();
  const SourceRow* r = table.find(m_leg);
  const SourceRow* up = nullptr;
  for (const SourceRow& row : table.rows())
    if (row.related == m_leg && row.reaction == capture::Reaction::relay) up = &row;
  m_titleDone = r && up && !r->peer.empty() && !r->local.empty() && !up->peer.empty();
  const auto addr = [](const SourceRow* row, bool peer) {
    const std::string a = row ? (peer ? row->peer : row->local) : std::string();
    return a.empty() ? QStringLiteral("?") : QString::fromStdString(a);
  };
  m_title->setText(tr("Connection #%1: client %2 → relay %3 → upstream %4")
                       .arg(m_leg)
                       .arg(addr(r, true), addr(r, false), addr(up, true)));
}

void FollowPanel::setHex(bool hex) {
  const auto f = hex ? capture::FollowFormat::hex : capture::FollowFormat::text;
  if (m_mode->currentIndex() != (hex ? 1 : 0)) m_mode->setCurrentIndex(hex ? 1 : 0);  // re-enters once
  if (f == m_format) return;
  m_format = f;
  render();
}

QString FollowPanel::text() const { return m_view->toPlainText(); }

QString FollowPanel::countsText() const { return m_counts->text(); }

QByteArray FollowPanel::directionBytes(Direction d) const {
  QByteArray out;
  for (const FollowItem& it : m_items)
    if (!it.is_gap() && it.direction == d)
      out.append(reinterpret_cast<const char*>(it.bytes.data()), static_cast<qsizetype>(it.bytes.size()));
  return out;
}

bool FollowPanel::saveDirection(Direction d, const QString& path, QString* error) const {
  QSaveFile file(path);
  const QByteArray bytes = directionBytes(d);
  if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit()) {
    if (error) *error = file.errorString();
    return false;
  }
  return true;
}

bool FollowPanel::findNext(const QString& needle) {
  if (needle.isEmpty()) {
    m_searchStatus->clear();
    return false;
  }
  QTextDocument* doc = m_view->document();
  QTextCursor found = doc->find(needle, m_view->textCursor());
  if (found.isNull()) found = doc->find(needle, 0);  // wrap around
  if (found.isNull()) {
    m_searchStatus->setText(tr("not found"));
    return false;
  }
  m_searchStatus->clear();
  m_view->setTextCursor(found);  // the selection is the highlight
  m_view->ensureCursorVisible();
  return true;
}

QString FollowPanel::selectedText() const { return m_view->textCursor().selectedText(); }

void FollowPanel::showEvent(QShowEvent* event) {
  QWidget::showEvent(event);
  onFrame();  // catch up with what arrived while hidden
}

void FollowPanel::onFrame() {
  // Hidden: nothing to draw, so nothing fetched (showEvent catches up).
  if (m_leg == 0 || m_closed || !isVisible()) return;
  if (!m_titleDone) updateTitle();
  const auto snap = m_session.payload(m_leg, m_conversation.next(), kFetchBytes);
  if (!snap) return;
  auto items = m_conversation.add(*snap);
  if (snap->closed && snap->next <= m_conversation.next()) m_closed = true;
  if (items.empty()) {
    if (m_closed) updateCounts();
    return;
  }
  for (FollowItem& it : items) {
    m_keptBytes += it.bytes.size();
    m_items.push_back(std::move(it));
  }
  if (m_keptBytes > kMaxKeptBytes) {
    // Keep the newest half of the bound, then draw again.
    std::size_t drop = 0;
    while (drop < m_items.size() && m_keptBytes > kMaxKeptBytes / 2) {
      m_keptBytes -= m_items[drop].bytes.size();
      m_droppedBytes += m_items[drop].bytes.size();
      ++drop;
    }
    m_items.erase(m_items.begin(), m_items.begin() + static_cast<std::ptrdiff_t>(drop));
    render();
  } else {
    for (std::size_t i = m_items.size() - items.size(); i < m_items.size(); ++i) append(m_items[i]);
  }
  updateCounts();
}

void FollowPanel::clearView() {
  m_view->clear();
  m_searchStatus->clear();
}

void FollowPanel::render() {
  clearView();
  for (const FollowItem& it : m_items) append(it);
}

void FollowPanel::append(const FollowItem& item) {
  const QString body = QString::fromStdString(capture::follow_format(item, m_format));
  QTextCursor cursor(m_view->document());
  cursor.movePosition(QTextCursor::End);
  QTextCharFormat head;
  QTextCharFormat bytes;
  if (item.is_gap()) {
    head.setForeground(palette().color(QPalette::PlaceholderText));
    head.setFontItalic(true);
  } else {
    head.setForeground(direction_colour(item.direction));
    head.setFontWeight(QFont::Bold);
    bytes.setForeground(direction_colour(item.direction));
  }
  // follow_format ends with '\n'; QPlainTextEdit blocks are lines, so the last one is left off.
  const qsizetype nl = body.indexOf(QLatin1Char('\n'));
  if (!m_view->document()->isEmpty()) cursor.insertBlock();
  cursor.insertText(body.left(nl), head);
  QString rest = body.mid(nl + 1);
  if (rest.endsWith(QLatin1Char('\n'))) rest.chop(1);
  if (!rest.isEmpty()) {
    cursor.insertBlock();
    cursor.insertText(rest, bytes);
  }
  if (!m_view->textCursor().hasSelection()) m_view->ensureCursorVisible();
}

void FollowPanel::updateCounts() {
  if (m_leg == 0) {
    m_counts->clear();
    return;
  }
  QString s = tr("> client → server %1 B in %2 · < server → client %3 B in %4")
                  .arg(m_conversation.bytes(Direction::in))
                  .arg(plural_chunks(m_conversation.chunks(Direction::in)))
                  .arg(m_conversation.bytes(Direction::out))
                  .arg(plural_chunks(m_conversation.chunks(Direction::out)));
  if (m_conversation.not_kept() != 0)
    s += tr(" · %1 B not kept (payload bound %2 B)").arg(m_conversation.not_kept()).arg(m_session.payload_bound());
  if (m_droppedBytes != 0) s += tr(" · %1 B dropped from the view").arg(m_droppedBytes);
  if (m_closed) s += tr(" · closed");
  m_counts->setText(s);
}

Direction FollowPanel::chosenDirection() const {
  return m_direction->currentIndex() == 0 ? Direction::in : Direction::out;
}

void FollowPanel::copyDirection() {
  const QByteArray bytes = directionBytes(chosenDirection());
  auto* mime = new QMimeData;
  mime->setData(QStringLiteral("application/octet-stream"), bytes);
  mime->setText(QString::fromUtf8(bytes));
  QApplication::clipboard()->setMimeData(mime);
}

void FollowPanel::saveDirectionAs() {
  const Direction d = chosenDirection();
  const QString suggested = QStringLiteral("connection-%1-%2.bin")
                                .arg(m_leg)
                                .arg(d == Direction::in ? QStringLiteral("client-to-server")
                                                        : QStringLiteral("server-to-client"));
  const QString path = QFileDialog::getSaveFileName(this, tr("Save one direction's bytes"), suggested);
  if (path.isEmpty()) return;
  QString error;
  if (!saveDirection(d, path, &error)) m_searchStatus->setText(tr("Save failed: %1").arg(error));
}

}  // namespace ready::ui
