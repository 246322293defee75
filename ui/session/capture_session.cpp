#include "session/capture_session.h"

#include <algorithm>
#include <utility>
#include <variant>

#include "models/rates_model.h"
#include "models/source_table.h"
#include "models/warnings_model.h"
#include "timeline/laneindex.h"

namespace ready::ui {

io_result<std::unique_ptr<CaptureSession>> CaptureSession::start(capture::EngineConfig config, Bridge::Options options,
                                                                 QObject* parent) {
  auto bridge = Bridge::start(config, options);
  if (!bridge) return std::unexpected(bridge.error());
  return std::make_unique<CaptureSession>(std::move(*bridge), parent);
}

CaptureSession::CaptureSession(std::unique_ptr<Bridge> bridge, QObject* parent) : CaptureSession(*bridge, parent) {
  owned_bridge_ = std::move(bridge);
}

CaptureSession::CaptureSession(Bridge& bridge, QObject* parent) : QObject(parent), bridge_(&bridge) {
  // The table takes only the addresses of what it is given; the kind and fd come from records.
  sources_ = std::make_unique<SourceTable>([this](std::uint64_t token) -> std::optional<capture::SourceInfo> {
    auto a = bridge_->feed().source_addresses(token);
    if (!a) return std::nullopt;
    capture::SourceInfo info;
    info.local = std::move(a->local);
    info.peer = std::move(a->peer);
    return info;
  });
  lanes_ = std::make_unique<LaneIndex>(bridge_->store());
  lanes_->set_note_text([this](std::uint64_t id) { return note_text(id); });
  rates_ = std::make_unique<RatesModel>();
  warnings_ = std::make_unique<WarningsModel>();
  // The order the class comment promises: the table first, so a source's row exists before
  // anything derived from the same record asks for it.
  bridge_->add_observer(sources_.get());
  bridge_->add_observer(lanes_.get());
  bridge_->add_observer(rates_.get());
  bridge_->add_observer(warnings_.get());
  // The only connection to Bridge::frame: everything else takes frames from deliver().
  connect(bridge_, &Bridge::frame, this, [this](std::uint64_t begin, std::uint64_t end, std::uint64_t evicted_to) {
    deliver(Frame{begin, end, evicted_to});
  });
  connect(bridge_, &Bridge::commandFailed, this, &CaptureSession::commandFailed);
}

CaptureSession::~CaptureSession() {
  bridge_->remove_observer(warnings_.get());
  bridge_->remove_observer(rates_.get());
  bridge_->remove_observer(lanes_.get());
  bridge_->remove_observer(sources_.get());
  // An owned bridge (and its engine) goes first: nothing it calls may outlive it.
  owned_bridge_.reset();
}

void CaptureSession::deliver(const Frame& frame) {
  warnings_->flush();
  for (FrameConsumer* c : models_) c->take_frame(frame);
  for (FrameConsumer* c : views_) c->take_frame(frame);
  emit frameDelivered(frame.begin, frame.end, frame.evicted_to);
}

bool CaptureSession::is_live() const noexcept {
  return bridge_->engine() != nullptr && !bridge_->engine()->failure();
}

io_result<capture::Ticket> CaptureSession::submit(capture::Command command) {
  // What a relay's faults will be once the engine runs the command (it refuses only a
  // relay that fails to open, or a SetRelayFaults for a token that is no relay: harmless here).
  std::optional<capture::RelayFaultSet> made, changed;
  std::uint64_t changed_token = 0;
  if (const auto* r = std::get_if<capture::cmd::Relay>(&command)) made = r->faults;
  if (const auto* r = std::get_if<capture::cmd::SetRelayFaults>(&command)) {
    changed = r->faults;
    changed_token = r->token.value;
  }
  auto ticket = bridge_->submit(std::move(command));
  if (ticket && made) relay_made_faults_[ticket->id] = *made;
  if (ticket && changed) relay_faults_[changed_token] = *changed;
  return ticket;
}

std::optional<capture::RelayFaultSet> CaptureSession::relay_faults(std::uint64_t listener) const {
  if (const auto it = relay_faults_.find(listener); it != relay_faults_.end()) return it->second;
  if (const SourceRow* row = sources_->find(listener); row && row->command != 0)
    if (const auto it = relay_made_faults_.find(row->command); it != relay_made_faults_.end()) return it->second;
  return std::nullopt;
}

std::optional<capture::PayloadSnapshot> CaptureSession::payload(std::uint64_t token, std::uint64_t since,
                                                                std::size_t max_bytes) const {
  return bridge_->feed().payload(token, since, max_bytes);
}

std::uint64_t CaptureSession::payload_bound() const { return bridge_->feed().payload_bound(); }

std::optional<capture::SourceAddresses> CaptureSession::source_addresses(std::uint64_t token) const {
  return bridge_->feed().source_addresses(token);
}

bool CaptureSession::is_open(std::uint64_t token) const { return bridge_->feed().is_open(token); }

QString CaptureSession::note_text(std::uint64_t id) const { return bridge_->note_text(id); }
QString CaptureSession::peer_text(std::uint64_t id) const { return bridge_->peer_text(id); }

std::unique_ptr<capture::ScenarioRunner> CaptureSession::make_runner(const capture::Scenario& scenario) {
  if (!bridge_->engine()) return nullptr;
  return std::make_unique<capture::ScenarioRunner>(scenario, *bridge_->engine());
}

void CaptureSession::add_observer(RecordObserver* o) { bridge_->add_observer(o); }

void CaptureSession::remove_observer(RecordObserver* o) { bridge_->remove_observer(o); }

void CaptureSession::add_consumer(Stage stage, FrameConsumer* c) {
  auto& list = stage == Stage::models ? models_ : views_;
  if (std::find(list.begin(), list.end(), c) == list.end()) list.push_back(c);
}

void CaptureSession::remove_consumer(FrameConsumer* c) {
  std::erase(models_, c);
  std::erase(views_, c);
}

}  // namespace ready::ui
