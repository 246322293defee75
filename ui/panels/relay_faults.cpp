#include "panels/relay_faults.h"

#include <QDialogButtonBox>
#include <QGridLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>
#include <chrono>
#include <limits>

#include "models/text_colours.h"
#include "session/capture_session.h"

namespace ready::ui {

namespace {

using namespace std::chrono;

constexpr int kMaxMs = 60'000;
constexpr int kMaxInt = std::numeric_limits<int>::max();

int ms_of(nanoseconds ns) {
  const auto ms = duration_cast<milliseconds>(ns + microseconds(500)).count();
  return static_cast<int>(std::clamp<long long>(ms, 0, kMaxMs));
}
int clamp_int(std::uint64_t v) { return static_cast<int>(std::min<std::uint64_t>(v, kMaxInt)); }

QString direction_text(const capture::RelayFaults& f) { return QString::fromStdString(f.to_string()); }

}  // namespace

RelayFaultsEditor::RelayFaultsEditor(QWidget* parent) : QWidget(parent) {
  auto* grid = new QGridLayout(this);
  grid->setContentsMargins(0, 0, 0, 0);
  grid->addWidget(new QLabel(tr("to upstream"), this), 0, 1);
  grid->addWidget(new QLabel(tr("to client"), this), 0, 2);
  struct Knob {
    QString label, suffix, tip;
    int max;
  };
  const std::array<Knob, kKnobs> knobs{{
      {tr("Latency"), tr(" ms"), tr("Each chunk read is held this long before it is forwarded (order kept)"), kMaxMs},
      {tr("Jitter"), tr(" ms"), tr("A uniformly random +- added to the latency (at most the latency)"), kMaxMs},
      {tr("Bandwidth"), tr(" KB/s"), tr("Forward at most this many kilobytes (1000 bytes) per second; 0: no limit"),
       1'000'000'000},
      {tr("Slice"), tr(" B"), tr("Forward in writes of at most this many bytes (1: the peer reads one byte at a time); 0: off"),
       kMaxInt},
      {tr("Slice delay"), tr(" ms"), tr("Wait between two slices, so they arrive separately"), kMaxMs},
      {tr("Reset after"), tr(" B"), tr("After this many bytes went this way, reset both legs (RST to both programs); 0: never"),
       kMaxInt},
  }};
  for (int k = 0; k < kKnobs; ++k) {
    auto* label = new QLabel(knobs[static_cast<std::size_t>(k)].label, this);
    label->setToolTip(knobs[static_cast<std::size_t>(k)].tip);
    grid->addWidget(label, k + 1, 0);
    for (int d = 0; d < 2; ++d) {
      auto* box = new QSpinBox(this);
      box->setObjectName(QStringLiteral("%1_%2").arg(d == 0 ? QStringLiteral("up") : QStringLiteral("down")).arg(k));
      box->setRange(0, knobs[static_cast<std::size_t>(k)].max);
      box->setSuffix(knobs[static_cast<std::size_t>(k)].suffix);
      box->setToolTip(knobs[static_cast<std::size_t>(k)].tip);
      box->setAccelerated(true);
      grid->addWidget(box, k + 1, d + 1);
      m_boxes[static_cast<std::size_t>(d)][static_cast<std::size_t>(k)] = box;
      connect(box, &QSpinBox::valueChanged, this, &RelayFaultsEditor::changed);
    }
  }
}

capture::RelayFaultSet RelayFaultsEditor::faults() const {
  capture::RelayFaultSet set;
  for (int d = 0; d < 2; ++d) {
    const auto& b = m_boxes[static_cast<std::size_t>(d)];
    capture::RelayFaults& f = d == 0 ? set.to_upstream : set.to_client;
    f.latency = milliseconds(b[0]->value());
    f.jitter = milliseconds(b[1]->value());
    f.bandwidth_kbps = static_cast<std::uint64_t>(b[2]->value());
    f.slice_bytes = static_cast<std::uint32_t>(b[3]->value());
    f.slice_delay = milliseconds(b[4]->value());
    f.reset_after = static_cast<std::uint64_t>(b[5]->value());
  }
  return set;
}

void RelayFaultsEditor::setFaults(const capture::RelayFaultSet& set) {
  for (int d = 0; d < 2; ++d) {
    const auto& b = m_boxes[static_cast<std::size_t>(d)];
    const capture::RelayFaults& f = d == 0 ? set.to_upstream : set.to_client;
    b[0]->setValue(ms_of(f.latency));
    b[1]->setValue(ms_of(f.jitter));
    b[2]->setValue(clamp_int(f.bandwidth_kbps));
    b[3]->setValue(clamp_int(f.slice_bytes));
    b[4]->setValue(ms_of(f.slice_delay));
    b[5]->setValue(clamp_int(f.reset_after));
  }
}

QString RelayFaultsEditor::errorText() const {
  const capture::RelayFaultSet f = faults();
  if (const std::string e = f.to_upstream.invalid(); !e.empty())
    return tr("To upstream: %1").arg(QString::fromStdString(e));
  if (const std::string e = f.to_client.invalid(); !e.empty())
    return tr("To client: %1").arg(QString::fromStdString(e));
  return {};
}

RelayFaultsDialog::RelayFaultsDialog(CaptureSession& session, std::uint64_t listener, const QString& relay_label,
                                     QWidget* parent)
    : QDialog(parent), m_session(session), m_listener(listener) {
  setWindowTitle(tr("Relay faults: %1").arg(relay_label));
  setModal(false);
  auto* top = new QVBoxLayout(this);
  auto* title = new QLabel(relay_label, this);
  QFont bold = title->font();
  bold.setBold(true);
  title->setFont(bold);
  top->addWidget(title);
  m_inForce = new QLabel(this);
  m_inForce->setObjectName(QStringLiteral("inForce"));
  m_inForce->setWordWrap(true);
  m_inForce->setTextInteractionFlags(Qt::TextSelectableByMouse);
  top->addWidget(m_inForce);
  m_editor = new RelayFaultsEditor(this);
  top->addWidget(m_editor);
  auto* note = new QLabel(tr("Apply changes the relay's live connections at once and later ones; the engine "
                             "records each change as a note on the timeline."),
                          this);
  note->setWordWrap(true);
  top->addWidget(note);
  m_error = new QLabel(this);
  m_error->setObjectName(QStringLiteral("error"));
  m_error->setWordWrap(true);
  QPalette pal = m_error->palette();
  pal.setColor(QPalette::WindowText, text_colour(TextTone::failed));
  m_error->setPalette(pal);
  top->addWidget(m_error);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Apply | QDialogButtonBox::Close, this);
  m_apply = buttons->button(QDialogButtonBox::Apply);
  top->addWidget(buttons);
  connect(m_apply, &QPushButton::clicked, this, [this] { apply(); });
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  connect(m_editor, &RelayFaultsEditor::changed, this, [this] { refresh(); });
  if (const auto f = m_session.relay_faults(m_listener)) m_editor->setFaults(*f);
  refresh();
}

QString RelayFaultsDialog::inForceText() const {
  const auto f = m_session.relay_faults(m_listener);
  if (!f) return tr("In force: not known (this relay was not made through this window)");
  return tr("In force: to upstream: %1; to client: %2").arg(direction_text(f->to_upstream), direction_text(f->to_client));
}

void RelayFaultsDialog::refresh() {
  m_inForce->setText(inForceText());
  QString error = m_editor->errorText();
  if (error.isEmpty() && !m_session.is_live()) error = tr("The capture is not live: faults cannot change.");
  m_error->setText(error);
  m_error->setVisible(!error.isEmpty());
  m_apply->setEnabled(error.isEmpty());
}

bool RelayFaultsDialog::apply() {
  refresh();
  if (!m_apply->isEnabled()) return false;
  const bool ok =
      m_session.submit(capture::cmd::SetRelayFaults{Token(m_listener), m_editor->faults()}).has_value();
  refresh();
  return ok;
}

}  // namespace ready::ui
