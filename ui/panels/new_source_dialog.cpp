#include "panels/new_source_dialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QCompleter>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>
#include <limits>

#include "models/text_colours.h"
#include "panels/relay_faults.h"

namespace ready::ui {

namespace {

using capture::Reaction;
using C = SourceChoice;

const QString kRecentAddresses = QStringLiteral("newSource/recentAddresses");
const QString kRecentPaths = QStringLiteral("newSource/recentPaths");

bool all_digits(const QString& s) {
  return !s.isEmpty() && std::all_of(s.begin(), s.end(), [](QChar c) { return c >= u'0' && c <= u'9'; });
}

bool binds_address(C c) { return c == C::tcp_listen || c == C::udp; }
bool remote_choice(C c) { return binds_address(c) || c == C::relay; }
bool has_address(C c) { return binds_address(c) || c == C::tcp_connect; }
bool has_path(C c) { return c == C::unix_listen || c == C::unix_connect || c == C::unix_datagram; }

std::vector<Reaction> reactions_for(C c) {
  switch (c) {
    case C::tcp_listen:
    case C::unix_listen:
      return {Reaction::none, Reaction::read, Reaction::drain, Reaction::echo, Reaction::discard, Reaction::auto_accept};
    case C::tcp_connect:
    case C::unix_connect:
    case C::socketpair:
      return {Reaction::none, Reaction::read, Reaction::drain, Reaction::echo, Reaction::discard};
    case C::udp:
    case C::unix_datagram:
    case C::pipe:
      return {Reaction::none, Reaction::read, Reaction::drain, Reaction::discard};
    case C::eventfd:
    case C::timerfd:
      return {Reaction::none, Reaction::read, Reaction::drain};
    case C::relay:
      return {};  // Reaction::relay is set by cmd::Relay, never chosen
  }
  return {Reaction::none};
}

QString reaction_label(Reaction r) {
  switch (r) {
    case Reaction::none: return QObject::tr("none (act by hand)");
    case Reaction::read: return QObject::tr("read once per event");
    case Reaction::drain: return QObject::tr("drain to would-block");
    case Reaction::echo: return QObject::tr("echo");
    case Reaction::discard: return QObject::tr("discard");
    case Reaction::auto_accept: return QObject::tr("accept only");
    case Reaction::relay: return QObject::tr("relay");
  }
  return {};
}

QComboBox* recent_combo(QWidget* parent, const QString& placeholder) {
  auto* box = new QComboBox(parent);
  box->setEditable(true);
  box->setInsertPolicy(QComboBox::NoInsert);  // the list is the remembered one, not what is typed
  box->lineEdit()->setPlaceholderText(placeholder);
  box->completer()->setCaseSensitivity(Qt::CaseSensitive);
  box->completer()->setCompletionMode(QCompleter::PopupCompletion);
  return box;
}

void fill_recent(QComboBox* box, const QStringList& items, const QString& fallback) {
  box->addItems(items);
  box->setCurrentText(items.isEmpty() ? fallback : items.front());
}

}  // namespace

AddressCheck check_address(const QString& raw, bool port_zero_ok) {
  const QString text = raw.trimmed();
  if (text.isEmpty()) return {std::nullopt, QObject::tr("Enter an address and a port, e.g. 127.0.0.1:4000")};
  QString host;
  QString port;
  if (text.startsWith(QLatin1Char('['))) {
    const qsizetype close = text.indexOf(QLatin1Char(']'));
    if (close < 0) return {std::nullopt, QObject::tr("An IPv6 address needs its closing ']': [::1]:4000")};
    host = text.mid(1, close - 1);
    const QString rest = text.mid(close + 1);
    if (!rest.startsWith(QLatin1Char(':')) || rest.size() == 1)
      return {std::nullopt, QObject::tr("Add a port after the address: [%1]:4000").arg(host)};
    port = rest.mid(1);
  } else {
    const qsizetype colon = text.lastIndexOf(QLatin1Char(':'));
    if (colon < 0 || colon == text.size() - 1)
      return {std::nullopt, QObject::tr("Add a port after the address: %1:4000").arg(colon < 0 ? text : text.left(colon))};
    host = text.left(colon);
    port = text.mid(colon + 1);
    if (host.contains(QLatin1Char(':')))
      return {std::nullopt, QObject::tr("Write an IPv6 address in brackets: [%1]:%2").arg(host, port)};
  }
  if (!all_digits(port) || port.size() > 5 || port.toUInt() > 65535)
    return {std::nullopt, QObject::tr("'%1' is not a port: use a number from %2 to 65535").arg(port).arg(port_zero_ok ? 0 : 1)};
  const auto p = static_cast<std::uint16_t>(port.toUInt());
  if (p == 0 && !port_zero_ok) return {std::nullopt, QObject::tr("Port 0 cannot be connected to: use 1 to 65535")};
  if (host.compare(QLatin1String("localhost"), Qt::CaseInsensitive) == 0) return {net::SocketAddr::loopback_v4(p), {}};
  auto addr = net::SocketAddr::from_host_port(host.toStdString(), p);
  if (!addr)
    return {std::nullopt, QObject::tr("'%1' is not a numeric IPv4 or IPv6 address (names are not looked up)").arg(host)};
  return {addr, {}};
}

QString check_unix_path(const QString& text, bool empty_ok) {
  if (text.isEmpty()) return empty_ok ? QString() : QObject::tr("Enter a socket path, e.g. /tmp/readyscope.sock");
  const QByteArray utf8 = text.toUtf8();
  constexpr qsizetype kMax = sizeof(sockaddr_un::sun_path) - 1;
  if (utf8.size() > kMax)
    return QObject::tr("The path is %1 bytes; a Unix socket path holds at most %2").arg(utf8.size()).arg(kMax);
  if (!net::UnixAddr::from_path(std::string_view(utf8.constData(), static_cast<std::size_t>(utf8.size()))))
    return QObject::tr("Not a valid Unix socket path");
  return {};
}

QString check_counter(const QString& raw, std::uint64_t* value) {
  const QString text = raw.trimmed();
  bool ok = false;
  const qulonglong v = text.toULongLong(&ok, 10);
  // eventfd(2): the counter holds at most 2^64 - 2.
  if (!all_digits(text) || !ok || v > std::numeric_limits<std::uint64_t>::max() - 1)
    return QObject::tr("The initial counter is a number from 0 to 18446744073709551614");
  if (value) *value = v;
  return {};
}

NewSourceDialog::NewSourceDialog(QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("New source"));
  auto* top = new QVBoxLayout(this);
  m_form = new QFormLayout;
  top->addLayout(m_form);

  m_kind = new QComboBox(this);
  m_kind->setObjectName(QStringLiteral("kind"));
  const std::pair<C, QString> kinds[] = {
      {C::tcp_listen, tr("TCP listener")},     {C::tcp_connect, tr("TCP connect")},
      {C::udp, tr("UDP socket")},              {C::unix_listen, tr("Unix listener")},
      {C::unix_connect, tr("Unix connect")},   {C::unix_datagram, tr("Unix datagram socket")},
      {C::socketpair, tr("Socket pair (Unix stream)")}, {C::pipe, tr("Pipe")},
      {C::eventfd, tr("eventfd")},             {C::timerfd, tr("timerfd")},
      {C::relay, tr("Relay (between two programs)")},
  };
  for (const auto& [c, label] : kinds) m_kind->addItem(label, static_cast<int>(c));
  m_form->addRow(tr("&Kind"), m_kind);

  m_address = recent_combo(this, QStringLiteral("127.0.0.1:4000"));
  m_address->setObjectName(QStringLiteral("address"));
  fill_recent(m_address, recentAddresses(), QStringLiteral("127.0.0.1:0"));
  m_form->addRow(tr("&Address"), m_address);
  m_allowRemote = new QCheckBox(tr("allow a non-loopback address"), this);
  m_allowRemote->setObjectName(QStringLiteral("allowRemote"));
  m_allowRemote->setToolTip(tr("Other hosts may then reach this socket"));
  m_form->addRow(QString(), m_allowRemote);
  m_connect = new QCheckBox(tr("connect to a peer"), this);
  m_connect->setObjectName(QStringLiteral("connect"));
  m_form->addRow(QString(), m_connect);
  m_peer = recent_combo(this, QStringLiteral("127.0.0.1:4001"));
  m_peer->setObjectName(QStringLiteral("peer"));
  m_peer->addItems(recentAddresses());
  m_peer->setCurrentText(QString());
  m_form->addRow(tr("&Peer"), m_peer);
  m_relayListen = recent_combo(this, QStringLiteral("127.0.0.1:8080 or /tmp/front.sock"));
  m_relayListen->setObjectName(QStringLiteral("relayListen"));
  m_relayListen->addItems(recentAddresses());
  m_relayListen->setCurrentText(QString());
  m_relayListen->setToolTip(tr("Where the relay listens: HOST:PORT or a Unix socket path (with a '/'). "
                               "Point your client here."));
  m_form->addRow(tr("&Listen on"), m_relayListen);
  m_relayUpstream = recent_combo(this, QStringLiteral("127.0.0.1:8000 or /tmp/app.sock"));
  m_relayUpstream->setObjectName(QStringLiteral("relayUpstream"));
  m_relayUpstream->addItems(recentAddresses());
  m_relayUpstream->setCurrentText(QString());
  m_relayUpstream->setToolTip(tr("Your server: each client accepted gets its own connection to it"));
  m_form->addRow(tr("&Upstream"), m_relayUpstream);
  m_path = recent_combo(this, QStringLiteral("/tmp/readyscope.sock"));
  m_path->setObjectName(QStringLiteral("path"));
  fill_recent(m_path, recentPaths(), QString());
  m_form->addRow(tr("&Path"), m_path);
  m_initial = new QLineEdit(QStringLiteral("0"), this);
  m_initial->setObjectName(QStringLiteral("initial"));
  m_form->addRow(tr("&Initial counter"), m_initial);
  m_semaphore = new QCheckBox(tr("semaphore (each read takes 1)"), this);
  m_semaphore->setObjectName(QStringLiteral("semaphore"));
  m_form->addRow(QString(), m_semaphore);

  m_interestRow = new QWidget(this);
  auto* interests = new QHBoxLayout(m_interestRow);
  interests->setContentsMargins(0, 0, 0, 0);
  m_readable = new QCheckBox(tr("readable"), m_interestRow);
  m_writable = new QCheckBox(tr("writable"), m_interestRow);
  m_priority = new QCheckBox(tr("priority"), m_interestRow);
  for (QCheckBox* b : {m_readable, m_writable, m_priority}) interests->addWidget(b);
  interests->addStretch();
  m_form->addRow(tr("Interest"), m_interestRow);

  m_trigger = new QComboBox(this);
  m_trigger->setObjectName(QStringLiteral("trigger"));
  m_trigger->addItem(tr("edge"), static_cast<int>(Trigger::edge));
  m_trigger->addItem(tr("level"), static_cast<int>(Trigger::level));
  m_trigger->addItem(tr("oneshot"), static_cast<int>(Trigger::oneshot));
  m_form->addRow(tr("&Trigger"), m_trigger);

  m_reaction = new QComboBox(this);
  m_reaction->setObjectName(QStringLiteral("reaction"));
  m_form->addRow(tr("&Reaction"), m_reaction);
  m_readSize = new QSpinBox(this);
  m_readSize->setObjectName(QStringLiteral("readSize"));
  m_readSize->setRange(1, 1 << 20);
  m_readSize->setValue(4096);
  m_readSize->setSuffix(tr(" bytes per read"));
  m_form->addRow(QString(), m_readSize);
  m_shortRead = new QCheckBox(tr("stop at a short read"), this);
  m_shortRead->setObjectName(QStringLiteral("shortRead"));
  m_shortRead->setToolTip(tr("Skip the read that would only return EAGAIN after a short read on a stream"));
  m_form->addRow(QString(), m_shortRead);

  m_relayFaultsBox = new QGroupBox(tr("Fault knobs"), this);
  m_relayFaultsBox->setObjectName(QStringLiteral("relayFaultsBox"));
  m_relayFaultsBox->setCheckable(true);
  m_relayFaultsBox->setChecked(false);
  m_relayFaultsBox->setToolTip(tr("Latency, bandwidth, slicing and resets per direction; change them later "
                                  "with Capture > Relay faults"));
  auto* faultsLayout = new QVBoxLayout(m_relayFaultsBox);
  m_relayFaults = new RelayFaultsEditor(m_relayFaultsBox);
  m_relayFaults->setVisible(false);
  faultsLayout->addWidget(m_relayFaults);
  m_form->addRow(m_relayFaultsBox);

  m_error = new QLabel(this);
  m_error->setObjectName(QStringLiteral("error"));
  m_error->setWordWrap(true);
  QPalette pal = m_error->palette();
  pal.setColor(QPalette::WindowText, text_colour(TextTone::failed));
  m_error->setPalette(pal);
  top->addWidget(m_error);

  m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  top->addWidget(m_buttons);
  connect(m_buttons, &QDialogButtonBox::accepted, this, &NewSourceDialog::accept);
  connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

  connect(m_kind, &QComboBox::currentIndexChanged, this, [this] { updateFields(); });
  connect(m_reaction, &QComboBox::currentIndexChanged, this, [this] {
    const auto r = static_cast<Reaction>(m_reaction->currentData().toInt());
    m_form->setRowVisible(m_readSize, r == Reaction::read);
    m_form->setRowVisible(m_shortRead, r == Reaction::drain || r == Reaction::discard);
    validate();
  });
  for (QComboBox* box : {m_address, m_peer, m_path, m_relayListen, m_relayUpstream})
    connect(box, &QComboBox::currentTextChanged, this, [this] { validate(); });
  connect(m_relayFaultsBox, &QGroupBox::toggled, this, [this](bool on) {
    m_relayFaults->setVisible(on);  // folded away while off
    adjustSize();
    validate();
  });
  connect(m_relayFaults, &RelayFaultsEditor::changed, this, [this] { validate(); });
  connect(m_initial, &QLineEdit::textChanged, this, [this] { validate(); });
  for (QCheckBox* b : {m_allowRemote, m_connect, m_semaphore, m_readable, m_writable, m_priority, m_shortRead})
    connect(b, &QCheckBox::toggled, this, [this] { updateFields(); });
  connect(m_trigger, &QComboBox::currentIndexChanged, this, [this] { validate(); });
  connect(m_readSize, &QSpinBox::valueChanged, this, [this] { validate(); });

  m_kind->setCurrentIndex(0);
  setChoice(C::tcp_listen);
  updateFields();
  m_valid = !build().command.has_value();  // so the first validate() emits
  validate();
}

void NewSourceDialog::setChoice(SourceChoice c) {
  const int i = m_kind->findData(static_cast<int>(c));
  const bool same = i == m_kind->currentIndex();
  m_kind->setCurrentIndex(i);
  if (same) updateFields();
  // The defaults of the command structs: a connect watches for its completion (writable).
  m_readable->setChecked(true);
  m_writable->setChecked(c == C::tcp_connect);
  m_priority->setChecked(false);
}

SourceChoice NewSourceDialog::choice() const { return static_cast<C>(m_kind->currentData().toInt()); }

void NewSourceDialog::setKind(capture::SourceKind kind) {
  using K = capture::SourceKind;
  switch (kind) {
    case K::tcp_listener: return setChoice(C::tcp_listen);
    case K::tcp_stream: return setChoice(C::tcp_connect);
    case K::udp: return setChoice(C::udp);
    case K::unix_listener: return setChoice(C::unix_listen);
    case K::unix_stream: return setChoice(C::unix_connect);
    case K::unix_datagram: return setChoice(C::unix_datagram);
    case K::pipe_sender:
    case K::pipe_receiver: return setChoice(C::pipe);
    case K::eventfd: return setChoice(C::eventfd);
    case K::timerfd: return setChoice(C::timerfd);
    case K::signalfd:  // only an attached process has these: nothing to create, the choice stays
    case K::epoll:
    case K::file:
    case K::socket:
    case K::other: return;
  }
}

bool NewSourceDialog::setReaction(capture::Reaction r) {
  const int i = m_reaction->findData(static_cast<int>(r));
  if (i < 0) return false;
  m_reaction->setCurrentIndex(i);
  return true;
}

void NewSourceDialog::updateFields() {
  const C c = choice();
  m_form->setRowVisible(m_address, has_address(c));
  m_form->setRowVisible(m_allowRemote, remote_choice(c));
  m_form->setRowVisible(m_relayListen, c == C::relay);
  m_form->setRowVisible(m_relayUpstream, c == C::relay);
  m_form->setRowVisible(m_relayFaultsBox, c == C::relay);
  m_form->setRowVisible(m_interestRow, c != C::relay);
  m_form->setRowVisible(m_reaction, c != C::relay);
  m_form->setRowVisible(m_connect, c == C::udp);
  m_form->setRowVisible(m_peer, c == C::udp && m_connect->isChecked());
  m_form->setRowVisible(m_path, has_path(c));
  m_form->setRowVisible(m_initial, c == C::eventfd);
  m_form->setRowVisible(m_semaphore, c == C::eventfd);
  m_interestRow->setToolTip(c == C::pipe ? tr("The receiving end's interest (the sender watches writable)") : QString());
  m_path->lineEdit()->setPlaceholderText(c == C::unix_datagram ? tr("empty: unbound")
                                                              : QStringLiteral("/tmp/readyscope.sock"));

  // Offer only the reactions this kind can use; keep the choice when it still applies.
  const auto wanted = static_cast<Reaction>(m_reaction->currentData().toInt());
  const auto offered = reactions_for(c);
  bool differs = m_reaction->count() != static_cast<int>(offered.size());
  for (int i = 0; !differs && i < m_reaction->count(); ++i)
    differs = m_reaction->itemData(i).toInt() != static_cast<int>(offered[static_cast<std::size_t>(i)]);
  if (differs) {
    const QSignalBlocker block(m_reaction);
    m_reaction->clear();
    for (const Reaction r : offered) m_reaction->addItem(reaction_label(r), static_cast<int>(r));
    const int keep = m_reaction->findData(static_cast<int>(wanted));
    m_reaction->setCurrentIndex(keep < 0 ? 0 : keep);
  }
  const auto r = static_cast<Reaction>(m_reaction->currentData().toInt());
  m_form->setRowVisible(m_readSize, c != C::relay && r == Reaction::read);
  m_form->setRowVisible(m_shortRead, c != C::relay && (r == Reaction::drain || r == Reaction::discard));
  validate();
}

NewSourceDialog::Built NewSourceDialog::buildRelay() const {
  const auto fail = [](QString e) { return Built{std::nullopt, std::move(e)}; };
  const bool remote = m_allowRemote->isChecked();
  capture::cmd::Relay relay;
  const std::pair<QComboBox*, QString> sides[] = {{m_relayListen, tr("Listen")}, {m_relayUpstream, tr("Upstream")}};
  for (const auto& [box, name] : sides) {
    const QString text = box->currentText().trimmed();
    if (text.isEmpty())
      return fail(tr("%1: enter HOST:PORT (e.g. 127.0.0.1:8080) or a Unix socket path (e.g. /tmp/app.sock)").arg(name));
    std::string error;
    auto ep = capture::RelayEndpoint::parse(text.toStdString(), &error);
    if (!ep) return fail(tr("%1: %2").arg(name, QString::fromStdString(error)));
    if (!ep->tcp) {
      if (QString e = check_unix_path(QString::fromStdString(ep->path), false); !e.isEmpty())
        return fail(tr("%1: %2").arg(name, e));
    } else if (!ep->tcp->is_loopback() && !remote) {
      return fail(tr("%1: %2 is not a loopback address. Tick \"allow a non-loopback address\" to use it.")
                      .arg(name, QString::fromStdString(ep->tcp->to_string())));
    }
    (box == m_relayListen ? relay.listen : relay.upstream) = std::move(*ep);
  }
  relay.trigger = static_cast<Trigger>(m_trigger->currentData().toInt());
  if (relay.trigger == Trigger::oneshot)
    return fail(tr("A relay's legs are edge- or level-triggered: a oneshot registration would stop the copying "
                   "after one event"));
  if (m_relayFaultsBox->isChecked()) {
    if (QString e = m_relayFaults->errorText(); !e.isEmpty()) return fail(e);
    relay.faults = m_relayFaults->faults();
  }
  relay.allow_remote = remote;
  return {capture::Command{std::move(relay)}, {}};
}

std::optional<capture::SourceOptions> NewSourceDialog::options(QString* error) const {
  std::uint8_t bits = 0;
  if (m_readable->isChecked()) bits |= Interest::READABLE.bits();
  if (m_writable->isChecked()) bits |= Interest::WRITABLE.bits();
  if (m_priority->isChecked()) bits |= Interest::PRIORITY.bits();
  const auto interest = Interest::from_bits(bits);
  if (!interest) {
    *error = tr("Choose at least one interest (epoll has no \"nothing\": remove the source instead)");
    return std::nullopt;
  }
  capture::SourceOptions o;
  o.interest = *interest;
  o.trigger = static_cast<Trigger>(m_trigger->currentData().toInt());
  o.reaction.kind = static_cast<Reaction>(m_reaction->currentData().toInt());
  o.reaction.n = static_cast<std::uint32_t>(m_readSize->value());
  o.reaction.stop_at_short_read =
      m_shortRead->isChecked() && (o.reaction.kind == Reaction::drain || o.reaction.kind == Reaction::discard);
  return o;
}

NewSourceDialog::Built NewSourceDialog::build() const {
  namespace cmd = capture::cmd;
  const C c = choice();
  const auto fail = [](QString e) { return Built{std::nullopt, std::move(e)}; };
  if (c == C::relay) return buildRelay();

  // Field errors first (they are what the user is typing), then the options.
  std::optional<net::SocketAddr> addr;
  if (has_address(c)) {
    const auto checked = check_address(m_address->currentText(), c != C::tcp_connect);
    if (!checked.addr) return fail(checked.error);
    addr = checked.addr;
    if (binds_address(c) && !addr->is_loopback() && !m_allowRemote->isChecked())
      return fail(tr("%1 is not a loopback address: other hosts could reach it. Tick \"allow a non-loopback "
                     "address\" to bind it.")
                      .arg(QString::fromStdString(addr->to_string())));
  }
  std::optional<net::SocketAddr> peer;
  if (c == C::udp && m_connect->isChecked()) {
    const auto checked = check_address(m_peer->currentText(), false);
    if (!checked.addr) return fail(tr("Peer: %1").arg(checked.error));
    peer = checked.addr;
    if (!peer->is_loopback() && !m_allowRemote->isChecked())
      return fail(tr("The peer %1 is not a loopback address. Tick \"allow a non-loopback address\" to use it.")
                      .arg(QString::fromStdString(peer->to_string())));
  }
  const QString path = m_path->currentText();
  if (has_path(c)) {
    if (QString e = check_unix_path(path, c == C::unix_datagram); !e.isEmpty()) return fail(e);
  }
  std::uint64_t initial = 0;
  if (c == C::eventfd) {
    if (QString e = check_counter(m_initial->text(), &initial); !e.isEmpty()) return fail(e);
  }
  QString error;
  const auto o = options(&error);
  if (!o) return fail(error);

  const bool remote = m_allowRemote->isChecked();
  switch (c) {
    case C::tcp_listen: return {cmd::TcpListen{*addr, *o, remote}, {}};
    case C::tcp_connect: return {cmd::TcpConnect{*addr, *o}, {}};
    case C::udp: return {cmd::UdpBind{*addr, *o, remote, peer}, {}};
    case C::unix_listen: return {cmd::UnixListen{path.toStdString(), *o}, {}};
    case C::unix_connect: return {cmd::UnixConnect{path.toStdString(), *o}, {}};
    case C::unix_datagram: return {cmd::UnixDatagramBind{path.toStdString(), *o}, {}};
    case C::socketpair: return {cmd::SocketPair{*o}, {}};
    case C::pipe: return {cmd::Pipe{*o}, {}};
    case C::eventfd: return {cmd::EventFdCreate{initial, m_semaphore->isChecked(), *o}, {}};
    case C::timerfd: return {cmd::TimerFdCreate{*o}, {}};
    case C::relay: break;  // buildRelay
  }
  return fail(tr("Unknown kind"));
}

std::optional<capture::Command> NewSourceDialog::command() const { return build().command; }

QString NewSourceDialog::errorText() const { return build().error; }

bool NewSourceDialog::okEnabled() const { return m_buttons->button(QDialogButtonBox::Ok)->isEnabled(); }

void NewSourceDialog::validate() {
  if (m_buttons == nullptr) return;  // still being built
  const Built b = build();
  const bool valid = b.command.has_value();
  m_error->setText(b.error);
  m_error->setVisible(!valid);
  m_buttons->button(QDialogButtonBox::Ok)->setEnabled(valid);
  if (valid != m_valid) {
    m_valid = valid;
    emit validityChanged(valid);
  }
}

QStringList NewSourceDialog::recentAddresses() { return QSettings().value(kRecentAddresses).toStringList(); }

QStringList NewSourceDialog::recentPaths() { return QSettings().value(kRecentPaths).toStringList(); }

void NewSourceDialog::remember(const QString& key, const QString& value) {
  QSettings settings;
  QStringList list = settings.value(key).toStringList();
  list.removeAll(value);
  list.prepend(value);
  while (list.size() > kRecentCount) list.removeLast();
  settings.setValue(key, list);
}

void NewSourceDialog::accept() {
  if (!command()) return;
  const C c = choice();
  if (has_address(c)) remember(kRecentAddresses, m_address->currentText().trimmed());
  if (c == C::udp && m_connect->isChecked()) remember(kRecentAddresses, m_peer->currentText().trimmed());
  if (has_path(c) && !m_path->currentText().isEmpty()) remember(kRecentPaths, m_path->currentText());
  if (c == C::relay) {
    for (QComboBox* box : {m_relayListen, m_relayUpstream}) {
      const QString text = box->currentText().trimmed();
      remember(text.contains(QLatin1Char('/')) ? kRecentPaths : kRecentAddresses, text);
    }
  }
  QDialog::accept();
}

}  // namespace ready::ui
