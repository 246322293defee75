#include "inspector.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTextBlock>
#include <QTextCharFormat>
#include <QTextCursor>
#include <QVBoxLayout>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <span>

#include "hex.h"

namespace ready::ui {

namespace {

using capture::SourceKind;
using A = InspectorAction;

constexpr std::size_t kBytesPerLine = 16;

constexpr InspectorAction kAllActions[] = {A::read,          A::drain,         A::write,     A::fill,
                                           A::shutdown_read, A::shutdown_write, A::accept,   A::eventfd_write,
                                           A::eventfd_read,  A::timer_arm,      A::timer_disarm, A::rearm,
                                           A::close};

QString byte_size(std::uint64_t n) {
  if (n >= (std::uint64_t{1} << 20) && n % (std::uint64_t{1} << 20) == 0)
    return QStringLiteral("%1 MiB").arg(n >> 20);
  if (n >= 1024 && n % 1024 == 0) return QStringLiteral("%1 KiB").arg(n >> 10);
  return QStringLiteral("%1 bytes").arg(n);
}

QString seconds(std::uint64_t t_ns) { return QString::number(static_cast<double>(t_ns) / 1e9, 'f', 6); }

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

QString action_label(InspectorAction a) {
  switch (a) {
    case A::read: return QStringLiteral("Read");
    case A::drain: return QStringLiteral("Drain");
    case A::write: return QStringLiteral("Write");
    case A::fill: return QStringLiteral("Fill");
    case A::shutdown_read: return QStringLiteral("Shutdown read");
    case A::shutdown_write: return QStringLiteral("Shutdown write");
    case A::accept: return QStringLiteral("Accept");
    case A::eventfd_write: return QStringLiteral("Write value");
    case A::eventfd_read: return QStringLiteral("Read counter");
    case A::timer_arm: return QStringLiteral("Arm");
    case A::timer_disarm: return QStringLiteral("Disarm");
    case A::rearm: return QStringLiteral("Rearm");
    case A::close: return QStringLiteral("Close");
  }
  return {};
}

std::vector<InspectorAction> Inspector::actionsFor(SourceKind kind) {
  switch (kind) {
    case SourceKind::tcp_stream:
    case SourceKind::unix_stream:
      return {A::read, A::drain, A::write, A::fill, A::shutdown_read, A::shutdown_write, A::rearm, A::close};
    case SourceKind::tcp_listener:
    case SourceKind::unix_listener:
      return {A::accept, A::rearm, A::close};
    case SourceKind::udp:
    case SourceKind::unix_datagram:
      return {A::read, A::drain, A::write, A::rearm, A::close};
    case SourceKind::pipe_sender:
      return {A::write, A::fill, A::rearm, A::close};
    case SourceKind::pipe_receiver:
      return {A::read, A::drain, A::rearm, A::close};
    case SourceKind::eventfd:
      return {A::eventfd_write, A::eventfd_read, A::rearm, A::close};
    case SourceKind::timerfd:
      return {A::timer_arm, A::timer_disarm, A::read, A::rearm, A::close};
  }
  return {A::rearm, A::close};
}

Inspector::Inspector(Bridge& bridge, QWidget* parent) : QWidget(parent), m_bridge(bridge) {
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
  for (const InspectorAction a : kAllActions) {
    auto* b = new QPushButton(action_label(a), this);
    b->setObjectName(QStringLiteral("action_%1").arg(static_cast<int>(a)));
    b->setAutoDefault(false);
    b->hide();
    connect(b, &QPushButton::clicked, this, [this, a] { runAction(a); });
    buttons->addWidget(b);
    m_buttons.emplace(a, b);
  }
  buttons->addStretch();
  layout->addLayout(buttons);
  m_buttons[A::rearm]->setToolTip(tr("Registry::modify with the current interest: re-arms a oneshot source"));
  m_buttons[A::fill]->setToolTip(tr("Write until the kernel buffer is full (would block)"));
  m_buttons[A::drain]->setToolTip(tr("Read until would-block, end-of-file or an error"));

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
  for (const InspectorAction a : kAllActions)
    if (!m_buttons.at(a)->isHidden()) out.push_back(a);
  return out;
}

QPushButton* Inspector::button(InspectorAction a) const { return m_buttons.at(a); }

QString Inspector::payloadText() const { return m_view->toPlainText(); }

QString Inspector::sendError() const { return m_sendErrorLabel->isHidden() ? QString() : m_sendErrorLabel->text(); }

void Inspector::setHexMode(bool hex) { m_sendMode->setCurrentIndex(hex ? 1 : 0); }

void Inspector::onFrame(std::uint64_t, std::uint64_t, std::uint64_t) {
  if (m_token == 0 || m_closed || m_bridge.engine() == nullptr) return;
  const auto snap = m_bridge.engine()->payload(Token(m_token), m_next);
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
  const std::uint64_t bound = m_bridge.engine()->config().payload_bytes_per_source;
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
  QString header = QStringLiteral("%1 %2  %3 B  at %4 s")
                       .arg(chunk.direction == capture::Direction::in ? QStringLiteral("\u25c0") : QStringLiteral("\u25b6"),
                            direction_name(chunk.direction).leftJustified(3))
                       .arg(bytes.size())
                       .arg(seconds(chunk.t_ns));
  if (chunk.peer) header += QStringLiteral("  from %1").arg(QString::fromStdString(chunk.peer->to_string()));
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
  submit(capture::cmd::Write{Token(m_token), std::move(bytes)}, tr("write %1 bytes").arg(n));
  m_sendEdit->clear();
}

void Inspector::runAction(InspectorAction a) {
  const Token t(m_token);
  if (m_token == 0) return;
  using namespace capture::cmd;
  switch (a) {
    case A::read: {
      const auto n = static_cast<std::uint32_t>(m_readBytes->value());
      return submit(Read{t, n}, tr("read %1").arg(n));
    }
    case A::drain: return submit(Drain{t}, tr("drain"));
    case A::write: return sendInput();
    case A::fill: return submit(Fill{t}, tr("fill"));
    case A::shutdown_read: return submit(ShutdownRead{t}, tr("shutdown read"));
    case A::shutdown_write: return submit(ShutdownWrite{t}, tr("shutdown write"));
    case A::accept: return submit(Accept{t}, tr("accept"));
    case A::eventfd_write: {
      const auto v = static_cast<std::uint64_t>(m_eventValue->value());
      return submit(EventFdWrite{t, v}, tr("eventfd write %1").arg(v));
    }
    case A::eventfd_read: return submit(EventFdRead{t}, tr("eventfd read"));
    case A::timer_arm: {
      const auto ns = [](double ms) { return std::chrono::nanoseconds(std::llround(ms * 1e6)); };
      return submit(TimerArm{t, ns(m_timerInitial->value()), ns(m_timerInterval->value())}, tr("arm"));
    }
    case A::timer_disarm: return submit(TimerDisarm{t}, tr("disarm"));
    case A::rearm: return submit(Rearm{t}, tr("rearm"));
    case A::close: return submit(Close{t}, tr("close"));
  }
}

void Inspector::submit(capture::Command c, const QString& description) {
  const auto r = m_bridge.submit(std::move(c));
  if (!r) {
    m_status->setText(tr("%1 refused: %2").arg(description, error_text(r.error())));
    return;
  }
  m_status->setText(tr("Sent: %1").arg(description));
  emit submitted(description);
}

}  // namespace ready::ui
