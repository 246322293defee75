// The "New source" dialog: builds the create command for any source kind the engine knows.
#pragma once

#include <QDialog>
#include <QString>
#include <QStringList>

#include <cstdint>
#include <optional>

#include "ready/capture/command.h"
#include "ready/capture/record.h"
#include "ready/net/addr.h"

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QGroupBox;
class QSpinBox;

namespace ready::ui {

class RelayFaultsEditor;

/// What the dialog can create: one entry per create command (SocketPair and Pipe make two
/// sources each; UDP covers bound and connected sockets).
enum class SourceChoice : std::uint8_t {
  tcp_listen,
  tcp_connect,
  udp,
  unix_listen,
  unix_connect,
  unix_datagram,
  socketpair,
  pipe,
  eventfd,
  timerfd,
  relay,  ///< cmd::Relay: a listener whose clients each get a connection to an upstream
};

/// The result of checking a typed socket address: the address, or a one-line reason.
struct AddressCheck {
  std::optional<net::SocketAddr> addr;
  QString error;  ///< empty when `addr` is set
};

/// Checks "host:port" as typed in the dialog, with SocketAddr's numeric parsing (no DNS, so
/// the GUI thread never blocks): "127.0.0.1:4000", "[::1]:80", and "localhost:PORT" (taken as
/// 127.0.0.1, as the command line does). The port is decimal; 0 (an ephemeral port) only when
/// `port_zero_ok` (a bind, not a connect). Each kind of mistake gets its own message.
AddressCheck check_address(const QString& text, bool port_zero_ok);

/// Checks a Unix socket path (UnixAddr::from_path: not empty, at most 107 bytes of UTF-8,
/// no NUL). Empty is accepted when `empty_ok` (an unbound datagram socket). "" when valid.
QString check_unix_path(const QString& text, bool empty_ok);

/// Checks an eventfd's initial counter: decimal, 0 to 2^64 - 2 (eventfd(2)). Sets `value`.
QString check_counter(const QString& text, std::uint64_t* value);

/// The dialog that creates a source. It only builds a capture::Command (`command()`); the
/// caller submits it through the Bridge, so the dialog never opens a descriptor itself.
///
/// Every field is checked as it is typed: the first problem shows in an inline error label
/// and OK stays disabled while there is one (`command()` is nullopt then). Listeners and UDP
/// sockets bind loopback unless "allow a non-loopback address" is ticked (it sets
/// `allow_remote`), and the same holds for a UDP socket's connect peer. Interest (at least
/// one), trigger mode and reaction apply to the new source (a pipe's receiver; a listener's
/// reaction is also its accepted streams'); only the reactions the kind can use are offered.
///
/// Relay: a listen endpoint and an upstream endpoint, each "HOST:PORT" or a Unix socket path
/// (RelayEndpoint::parse), both loopback unless "allow a non-loopback address" is ticked, a
/// trigger for both legs (edge or level: the engine refuses oneshot for a relay) and the
/// fault knobs (RelayFaultsEditor, folded away under a checkable "Fault knobs" box; unticked
/// means no faults). The reaction (relay) is not chosen: cmd::Relay sets it, and no reaction
/// list in the window offers it.
///
/// Recent addresses and Unix paths (the last `kRecentCount` each, newest first) are kept in
/// QSettings under "newSource/" when the dialog is accepted, and offered by the editable
/// combo boxes (with completion).
class NewSourceDialog : public QDialog {
  Q_OBJECT

 public:
  static constexpr int kRecentCount = 10;

  explicit NewSourceDialog(QWidget* parent = nullptr);

  void setChoice(SourceChoice c);
  [[nodiscard]] SourceChoice choice() const;
  /// Selects what makes a source of `kind` (tcp_stream: TCP connect, unix_stream: Unix
  /// connect, either pipe end: pipe).
  void setKind(capture::SourceKind kind);

  /// The create command for the fields as they are, or nullopt while any is invalid.
  [[nodiscard]] std::optional<capture::Command> command() const;
  /// The first problem with the fields ("" when command() has a value).
  [[nodiscard]] QString errorText() const;

  /// The remembered addresses / Unix paths, newest first.
  [[nodiscard]] static QStringList recentAddresses();
  [[nodiscard]] static QStringList recentPaths();

  // The fields, for tests and for callers that prefill them.
  [[nodiscard]] QComboBox* addressEdit() const noexcept { return m_address; }
  [[nodiscard]] QCheckBox* connectBox() const noexcept { return m_connect; }
  [[nodiscard]] QComboBox* peerEdit() const noexcept { return m_peer; }
  [[nodiscard]] QCheckBox* allowRemoteBox() const noexcept { return m_allowRemote; }
  [[nodiscard]] QComboBox* pathEdit() const noexcept { return m_path; }
  [[nodiscard]] QLineEdit* initialEdit() const noexcept { return m_initial; }
  [[nodiscard]] QCheckBox* semaphoreBox() const noexcept { return m_semaphore; }
  [[nodiscard]] QCheckBox* readableBox() const noexcept { return m_readable; }
  [[nodiscard]] QCheckBox* writableBox() const noexcept { return m_writable; }
  [[nodiscard]] QCheckBox* priorityBox() const noexcept { return m_priority; }
  [[nodiscard]] QComboBox* triggerBox() const noexcept { return m_trigger; }
  [[nodiscard]] QComboBox* reactionBox() const noexcept { return m_reaction; }
  [[nodiscard]] QSpinBox* readSizeBox() const noexcept { return m_readSize; }
  [[nodiscard]] QCheckBox* shortReadBox() const noexcept { return m_shortRead; }
  [[nodiscard]] QComboBox* relayListenEdit() const noexcept { return m_relayListen; }
  [[nodiscard]] QComboBox* relayUpstreamEdit() const noexcept { return m_relayUpstream; }
  [[nodiscard]] QGroupBox* relayFaultsBox() const noexcept { return m_relayFaultsBox; }
  [[nodiscard]] RelayFaultsEditor* relayFaultsEditor() const noexcept { return m_relayFaults; }
  /// Selects `r` in the reaction box; false if the current kind does not offer it.
  bool setReaction(capture::Reaction r);
  [[nodiscard]] bool okEnabled() const;

 public slots:
  /// Remembers the address / path used, then closes (only while valid).
  void accept() override;

 signals:
  /// The fields became valid (true) or invalid (false).
  void validityChanged(bool valid);

 private:
  struct Built {
    std::optional<capture::Command> command;
    QString error;
  };
  [[nodiscard]] Built build() const;
  [[nodiscard]] std::optional<capture::SourceOptions> options(QString* error) const;
  [[nodiscard]] Built buildRelay() const;
  void updateFields();
  void validate();
  static void remember(const QString& key, const QString& value);

  QComboBox* m_kind = nullptr;
  QFormLayout* m_form = nullptr;
  QComboBox* m_address = nullptr;
  QCheckBox* m_allowRemote = nullptr;
  QCheckBox* m_connect = nullptr;
  QComboBox* m_peer = nullptr;
  QComboBox* m_path = nullptr;
  QLineEdit* m_initial = nullptr;
  QCheckBox* m_semaphore = nullptr;
  QCheckBox* m_readable = nullptr;
  QCheckBox* m_writable = nullptr;
  QCheckBox* m_priority = nullptr;
  QWidget* m_interestRow = nullptr;
  QComboBox* m_trigger = nullptr;
  QComboBox* m_reaction = nullptr;
  QSpinBox* m_readSize = nullptr;
  QCheckBox* m_shortRead = nullptr;
  QComboBox* m_relayListen = nullptr;
  QComboBox* m_relayUpstream = nullptr;
  QGroupBox* m_relayFaultsBox = nullptr;
  RelayFaultsEditor* m_relayFaults = nullptr;
  QLabel* m_error = nullptr;
  QDialogButtonBox* m_buttons = nullptr;
  bool m_valid = false;
};

}  // namespace ready::ui
