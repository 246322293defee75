#include "panels/inspector.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QToolButton>
#include <QSpinBox>
#include <QTextBlock>
#include <QTextCharFormat>
#include <QTextCursor>
#include <QVBoxLayout>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <span>

#include "models/hex.h"
#include "models/time_text.h"

namespace ready::ui {

namespace {

using capture::SourceKind;
using A = InspectorAction;

constexpr std::size_t kBytesPerLine = 16;

QString byte_size(std::uint64_t n) {
  if (n >= (std::uint64_t{1} << 20) && n % (std::uint64_t{1} << 20) == 0)
    return QStringLiteral("%1 MiB").arg(n >> 20);
  if (n >= 1024 && n % 1024 == 0) return QStringLiteral("%1 KiB").arg(n >> 10);
  return QStringLiteral("%1 bytes").arg(n);
}


bool can_write(SourceKind k) {
  switch (k) {
    case SourceKind::tcp_stream:
    case SourceKind::unix_stream:
    case SourceKind::udp:
    case SourceKind::unix_datagram:
    case SourceKind::pipe_sender:
      return true;
    default:
      return false;
  }
}

}  // namespace

Inspector::Inspector(CaptureSession& session, QWidget* parent)
    : Inspector(session, *new SourceActions(session), parent) {
  m_actions.setParent(this);
}

Inspector::Inspector(CaptureSession& session, SourceActions& actions, QWidget* parent)
    : QWidget(parent), m_session(session), m_actions(actions) {
  auto* layout = new QVBoxLayout(this);

  m_title = new QLabel(tr("No source selected"), this);
  QFont bold = m_title->font();
  bold.setBold(true);
  m_title->setFont(bold);
  layout->addWidget(m_title);

  m_evicted = new QLabel(this);
  m_evicted->setWordWrap(true);
  m_evicted->hide();
  layout->addWidget(m_evicted);

  m_view = new QPlainTextEdit(this);
  m_view->setObjectName(QStringLiteral("payloadView"));
  m_view->setReadOnly(true);
  m_view->setLineWrapMode(QPlainTextEdit::NoWrap);
  m_view->setMaximumBlockCount(kMaxViewLines);
  m_view->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  m_view->setPlaceholderText(tr("Bytes read from and written to the source appear here."));
  layout->addWidget(m_view, 1);

  // The send box: text or hex, Enter sends.
  m_sendRow = new QWidget(this);
  auto* send = new QHBoxLayout(m_sendRow);
  send->setContentsMargins(0, 0, 0, 0);
  m_sendMode = new QComboBox(m_sendRow);
  m_sendMode->setObjectName(QStringLiteral("sendMode"));
  m_sendMode->addItem(tr("Text"));
  m_sendMode->addItem(tr("Hex"));
  m_sendMode->setToolTip(tr("Text is sent as UTF-8; hex is pairs of digits (\"68 69\")"));
  m_sendEdit = new QLineEdit(m_sendRow);
  m_sendEdit->setObjectName(QStringLiteral("sendEdit"));
  m_sendEdit->setPlaceholderText(tr("Bytes to write; Enter sends"));
  send->addWidget(m_sendMode);
  send->addWidget(m_sendEdit, 1);
  layout->addWidget(m_sendRow);
  m_sendErrorLabel = new QLabel(this);
  m_sendErrorLabel->setObjectName(QStringLiteral("sendError"));
  QPalette errorPalette = m_sendErrorLabel->palette();
  errorPalette.setColor(QPalette::WindowText, direction_colour(capture::Direction::out));  // reads on light and dark
  m_sendErrorLabel->setPalette(errorPalette);
  m_sendErrorLabel->hide();
  layout->addWidget(m_sendErrorLabel);
  connect(m_sendEdit, &QLineEdit::returnPressed, this, &Inspector::sendInput);
  connect(m_sendEdit, &QLineEdit::textChanged, this, [this] { validateInput(); });
  connect(m_sendMode, &QComboBox::currentIndexChanged, this, [this] { validateInput(); });

  // Parameters of the actions that take one.
  auto param_row = [this, layout](QWidget*& row) {
    row = new QWidget(this);
    auto* h = new QHBoxLayout(row);
    h->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(row);
    return h;
  };
  {
    auto* h = param_row(m_readParams);
    m_readBytes = new QSpinBox(m_readParams);
    m_readBytes->setObjectName(QStringLiteral("readBytes"));
    m_readBytes->setRange(1, 1 << 20);
    m_readBytes->setValue(4096);
    m_readBytes->setSuffix(tr(" bytes"));
    h->addWidget(new QLabel(tr("Read at most"), m_readParams));
    h->addWidget(m_readBytes);
    h->addStretch();
  }
  {
    auto* h = param_row(m_eventParams);
    m_eventValue = new QSpinBox(m_eventParams);
    m_eventValue->setObjectName(QStringLiteral("eventValue"));
    m_eventValue->setRange(1, std::numeric_limits<int>::max());
    m_eventValue->setValue(1);
    h->addWidget(new QLabel(tr("Value to add"), m_eventParams));
    h->addWidget(m_eventValue);
    h->addStretch();
  }
  {
    auto* h = param_row(m_timerParams);
    m_timerInitial = new QDoubleSpinBox(m_timerParams);
    m_timerInitial->setObjectName(QStringLiteral("timerInitial"));
    m_timerInitial->setDecimals(3);
    m_timerInitial->setRange(0.001, 3600.0 * 1000);
    m_timerInitial->setValue(100);
    m_timerInitial->setSuffix(tr(" ms"));
    m_timerInterval = new QDoubleSpinBox(m_timerParams);
    m_timerInterval->setObjectName(QStringLiteral("timerInterval"));
    m_timerInterval->setDecimals(3);
    m_timerInterval->setRange(0, 3600.0 * 1000);
    m_timerInterval->setValue(0);
    m_timerInterval->setSuffix(tr(" ms"));
    m_timerInterval->setSpecialValueText(tr("once"));
    h->addWidget(new QLabel(tr("First expiry after"), m_timerParams));
    h->addWidget(m_timerInitial);
    h->addWidget(new QLabel(tr("then every"), m_timerParams));
    h->addWidget(m_timerInterval);
    h->addStretch();
  }

  auto* buttons = new QHBoxLayout;
  for (const InspectorAction a : SourceActions::all()) {
    auto* b = new QToolButton(this);
    b->setObjectName(QStringLiteral("action_%1").arg(static_cast<int>(a)));
    b->setDefaultAction(m_actions.action(a));
    b->hide();
    buttons->addWidget(b);
    m_buttons.emplace(a, b);
  }
  buttons->addStretch();
  layout->addLayout(buttons);
  m_actions.setParams([this] {
    SourceActions::Params p;
    p.read_bytes = static_cast<std::uint32_t>(m_readBytes->value());
    p.eventfd_value = static_cast<std::uint64_t>(m_eventValue->value());
    const auto ns = [](double ms) { return std::chrono::nanoseconds(std::llround(ms * 1e6)); };
    p.timer_initial = ns(m_timerInitial->value());
    p.timer_interval = ns(m_timerInterval->value());
    return p;
  });
  m_actions.setWriter([this] { writeFromSendBox(); });
  connect(&m_actions, &SourceActions::submitted, this, [this](const QString& description) {
    m_status->setText(tr("Sent: %1").arg(description));
    emit submitted(description);
  });
  connect(&m_actions, &SourceActions::refused, this, [this](const QString& description, const QString& error) {
    m_status->setText(tr("%1 refused: %2").arg(description, error));
  });

  m_status = new QLabel(this);
  m_status->setObjectName(QStringLiteral("status"));
  m_status->setWordWrap(true);
  layout->addWidget(m_status);

  setSource(0, SourceKind::tcp_stream, {});
}

void Inspector::setSource(std::uint64_t token, SourceKind kind, const QString& title) {
  m_token = token;
  m_kind = kind;
  m_next = 0;
  m_closed = false;
  m_totals = {};
  m_view->clear();
  m_evicted->hide();
  m_status->clear();
  m_title->setText(token == 0 ? tr("No source selected") : title);
  // With nothing selected the empty payload view says how to select something.
  m_view->setPlaceholderText(token == 0 ? tr("Select a source in the Sources table or a mark on the timeline: "
                                             "its bytes read and written, a send box and its actions appear here.")
                                        : tr("Bytes read from and written to the source appear here."));

  m_actions.setSource(token, kind);
  const auto shown = token == 0 ? std::vector<InspectorAction>{} : actionsFor(kind);
  for (auto& [a, b] : m_buttons) b->setVisible(std::ranges::find(shown, a) != shown.end());
  const auto has = [&](InspectorAction a) { return std::ranges::find(shown, a) != shown.end(); };
  m_sendRow->setVisible(token != 0 && can_write(kind));
  m_readParams->setVisible(has(A::read) && kind != SourceKind::timerfd);
  m_eventParams->setVisible(has(A::eventfd_write));
  m_timerParams->setVisible(has(A::timer_arm));
  validateInput();
  if (token != 0) onFrame(0, 0, 0);  // what the engine kept before the inspector was opened
}

std::vector<InspectorAction> Inspector::visibleActions() const {
  std::vector<InspectorAction> out;
  for (const InspectorAction a : SourceActions::all())
    if (!m_buttons.at(a)->isHidden()) out.push_back(a);
  return out;
}

QAbstractButton* Inspector::button(InspectorAction a) const { return m_buttons.at(a); }

QString Inspector::payloadText() const { return m_view->toPlainText(); }

QString Inspector::sendError() const { return m_sendErrorLabel->isHidden() ? QString() : m_sendErrorLabel->text(); }

void Inspector::setHexMode(bool hex) { m_sendMode->setCurrentIndex(hex ? 1 : 0); }

void Inspector::onFrame(std::uint64_t, std::uint64_t, std::uint64_t) {
  if (m_token == 0 || m_closed) return;
  // At most what the view can show per frame (the engine copies under the source's lock);
  // the rest, if any, comes with the next frames.
  const auto snap = m_session.payload(m_token, m_next, std::size_t{kMaxViewLines} * kBytesPerLine);
  if (!snap) return;
  updateEvicted(snap->evicted);
  for (const auto& chunk : snap->chunks) appendChunk(chunk);
  m_next = std::max(m_next, snap->next);
  if (snap->closed) {
    m_closed = true;
    m_status->setText(tr("The source is closed; its payload stays readable here."));
  }
}

void Inspector::updateEvicted(std::uint64_t evicted) {
  if (evicted == 0 || evicted == m_totals.evicted) return;
  m_totals.evicted = evicted;
  const std::uint64_t bound = m_session.payload_bound();
  m_evicted->setText(tr("%1 earlier bytes evicted: %2 bound").arg(evicted).arg(byte_size(bound)));
  m_evicted->show();
}

void Inspector::appendChunk(const capture::PayloadChunk& chunk) {
  const std::span<const std::byte> bytes(chunk.bytes);
  (chunk.direction == capture::Direction::in ? m_totals.bytes_in : m_totals.bytes_out) += bytes.size();
  ++m_totals.chunks;

  QTextCursor cursor(m_view->document());
  cursor.movePosition(QTextCursor::End);
  const bool first = m_view->document()->isEmpty();
  QTextCharFormat head;
  head.setForeground(direction_colour(chunk.direction));
  head.setFontWeight(QFont::Bold);
  QString header = QStringLiteral("%1 %2  %3 B  at %4")
                       .arg(chunk.direction == capture::Direction::in ? QStringLiteral("\u25c0") : QStringLiteral("\u25b6"),
                            direction_name(chunk.direction).leftJustified(3))
                       .arg(bytes.size())
                       .arg(time_text(chunk.t_ns));
  // A datagram's sender (in) or an echo's destination (out): UDP or a named Unix socket.
  const std::string peer = chunk.peer        ? chunk.peer->to_string()
                           : chunk.unix_peer ? chunk.unix_peer->to_string()
                                             : std::string();
  if (!peer.empty())
    header += (chunk.direction == capture::Direction::in ? QStringLiteral("  from %1") : QStringLiteral("  to %1"))
                  .arg(QString::fromStdString(peer));
  if (!first) cursor.insertBlock();
  cursor.insertText(header, head);

  QTextCharFormat body;
  for (std::size_t i = 0; i < bytes.size(); i += kBytesPerLine) {
    const auto line = bytes.subspan(i, std::min(kBytesPerLine, bytes.size() - i));
    cursor.insertBlock();
    cursor.insertText(QStringLiteral("%1  %2  %3")
                          .arg(chunk.offset + i, 8, 16, QLatin1Char('0'))
                          .arg(hex_text(line).leftJustified(static_cast<int>(kBytesPerLine * 3 - 1)))
                          .arg(printable_text(line)),
                      body);
  }
  m_view->ensureCursorVisible();
}

void Inspector::validateInput() {
  const QString text = m_sendEdit->text();
  QString error;
  if (m_sendMode->currentIndex() == 1 && !text.trimmed().isEmpty()) error = parse_hex(text).error;
  m_sendErrorLabel->setText(error);
  m_sendErrorLabel->setVisible(!error.isEmpty());
}

void Inspector::sendInput() {
  if (m_token == 0 || !can_write(m_kind)) return;
  const QString text = m_sendEdit->text();
  std::string bytes;
  if (m_sendMode->currentIndex() == 1) {
    const HexParse parsed = parse_hex(text);
    if (!parsed.bytes) {
      m_sendErrorLabel->setText(parsed.error);
      m_sendErrorLabel->show();
      return;
    }
    bytes = parsed.bytes->toStdString();
  } else {
    if (text.isEmpty()) {
      m_sendErrorLabel->setText(tr("Type the bytes to write first"));
      m_sendErrorLabel->show();
      return;
    }
    bytes = text.toStdString();
  }
  const auto n = bytes.size();
  m_actions.submit(capture::cmd::Write{Token(m_token), std::move(bytes)}, tr("write %1 bytes").arg(n));
  m_sendEdit->clear();
}

void Inspector::writeFromSendBox() {
  // From a menu the send box may be empty: point at it rather than refuse.
  if (m_sendEdit->text().isEmpty()) m_sendEdit->setFocus();
  sendInput();
}

}  // namespace ready::ui
