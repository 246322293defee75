// The capture session: the one object the views read.
#pragma once

#include <QObject>
#include <QString>

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "ready/capture/engine.h"
#include "ready/capture/recording.h"
#include "ready/capture/scenario.h"
#include "ready/capture/store.h"
#include "session/bridge.h"

namespace ready::ui {

class LaneIndex;
class RatesModel;
class SourceTable;
class WarningsModel;

/// One frame: records [begin, end) (global store indices) were appended since the previous
/// frame, and the store now begins at `evicted_to`.
struct Frame {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  std::uint64_t evicted_to = 0;
};

/// Something the session hands each frame to (a model or a view), see CaptureSession.
class FrameConsumer {
 public:
  virtual ~FrameConsumer() = default;
  virtual void take_frame(const Frame& frame) = 0;
};

/// The capture as the views see it: it owns the bridge (and so the engine, or whatever feed
/// the bridge drains), the store, and what is derived from the records as they arrive: the
/// source table, the timeline's lane index, the rates and the warnings. Views read only the
/// session; payload bytes, source addresses and note texts come through it too (from the
/// bridge's RecordFeed), so a capture served from a file (RecordingFeed) fills the same
/// views. Only the session touches the Engine, for commands and scenario runners.
///
/// Records, one by one (inside the bridge's drain, right after each append), go to the
/// observers in this order: source table, lane index, rates, warnings, then those added with
/// add_observer (scenario runners) in the order added.
///
/// Frames (at most one per Bridge frame interval) are delivered by explicit calls, in this
/// order, so that whatever a consumer reads is already up to date:
///   1. the warnings model takes the warnings queued since the last frame;
///   2. Stage::models consumers (sources model, event log), in the order added: rows;
///   3. Stage::views consumers (the window: timeline, inspector, rates, status), in the
///      order added; they may read every model;
///   4. the `frameDelivered` signal (tests, anything that only needs to know).
/// Consumers of one stage must not depend on each other.
class CaptureSession : public QObject {
  Q_OBJECT

 public:
  enum class Stage : std::uint8_t { models, views };

  /// Starts an engine with `config` and a session over it.
  static io_result<std::unique_ptr<CaptureSession>> start(capture::EngineConfig config, Bridge::Options options = {},
                                                          QObject* parent = nullptr);
  /// A session over a bridge (normally over an engine; a benchmark's bridge drains its own feed).
  explicit CaptureSession(std::unique_ptr<Bridge> bridge, QObject* parent = nullptr);
  /// A session over a bridge it does not own (tests); the bridge must outlive it.
  explicit CaptureSession(Bridge& bridge, QObject* parent = nullptr);
  ~CaptureSession() override;

  [[nodiscard]] Bridge& bridge() const noexcept { return *bridge_; }
  [[nodiscard]] const capture::RecordStore& store() const noexcept { return bridge_->store(); }
  [[nodiscard]] SourceTable& sources() const noexcept { return *sources_; }
  [[nodiscard]] LaneIndex& lanes() const noexcept { return *lanes_; }
  [[nodiscard]] RatesModel& rates() const noexcept { return *rates_; }
  [[nodiscard]] WarningsModel& warnings() const noexcept { return *warnings_; }

  /// True while commands can be submitted (a live engine, not a finished feed, nor one whose
  /// poll thread stopped by itself: Bridge::Status::poll_thread_failure).
  [[nodiscard]] bool is_live() const noexcept;
  /// Queues a command; a refusal also emits commandFailed. A cmd::Relay or cmd::SetRelayFaults
  /// accepted here also sets the relay's faults in relay_faults().
  io_result<capture::Ticket> submit(capture::Command command);
  /// The faults last submitted through submit() for the relay whose listener is `listener`
  /// (cmd::Relay's, then each SetRelayFaults'; the New source dialog, the command line in the
  /// window and the faults dialog all submit here); nullopt for a relay not made through this
  /// session (a recording's: its notes say what was set). A Relay's faults are kept by its
  /// command id and found through the listener's source_added (SourceRow::command), so they
  /// do not depend on the ticket naming the listener's token. One entry per relay command
  /// and per relay changed (kept after the relay closes: a few dozen bytes each).
  [[nodiscard]] std::optional<capture::RelayFaultSet> relay_faults(std::uint64_t listener) const;
  /// The bytes a source's payload buffer holds from position `since` on, at most
  /// `max_bytes` of them, oldest first (nullopt: unknown; Engine::payload). This and the
  /// lookups below ask the bridge's feed (RecordFeed), live engine or recording alike.
  [[nodiscard]] std::optional<capture::PayloadSnapshot> payload(std::uint64_t token, std::uint64_t since,
                                                                std::size_t max_bytes = capture::kAllPayload) const;
  /// The bound of each source's payload buffer, in bytes.
  [[nodiscard]] std::uint64_t payload_bound() const;
  /// A source's local and peer addresses (nullopt: unknown; an engine forgets a closed
  /// source's, a recording keeps what its source lines named).
  [[nodiscard]] std::optional<capture::SourceAddresses> source_addresses(std::uint64_t token) const;
  /// Whether the source is still open in the capture.
  [[nodiscard]] bool is_open(std::uint64_t token) const;
  /// The text of a note record, or an empty string.
  [[nodiscard]] QString note_text(std::uint64_t id) const;
  /// The address of a datagram action's peer (Record::peer_id), or an empty string.
  [[nodiscard]] QString peer_text(std::uint64_t id) const;
  /// A runner for `scenario` over this capture's engine (null when the session is not live).
  [[nodiscard]] std::unique_ptr<capture::ScenarioRunner> make_runner(const capture::Scenario& scenario);

  /// Record observers after the session's own (not owned; removed before they go).
  void add_observer(RecordObserver* o);
  void remove_observer(RecordObserver* o);
  /// Frame consumers (not owned; removed before they go), see the class comment.
  void add_consumer(Stage stage, FrameConsumer* c);
  void remove_consumer(FrameConsumer* c);

  /// Stops the engine after draining; the records stay.
  void stop() { bridge_->stop(); }

 signals:
  /// After every consumer took the frame.
  void frameDelivered(std::uint64_t begin, std::uint64_t end, std::uint64_t evicted_to);
  /// Bridge::commandFailed.
  void commandFailed(const QString& message);

 private:
  void deliver(const Frame& frame);

  std::unique_ptr<Bridge> owned_bridge_;
  Bridge* bridge_ = nullptr;
  std::unique_ptr<SourceTable> sources_;
  std::unique_ptr<LaneIndex> lanes_;
  std::unique_ptr<RatesModel> rates_;
  std::unique_ptr<WarningsModel> warnings_;
  std::vector<FrameConsumer*> models_;
  std::vector<FrameConsumer*> views_;
  std::unordered_map<std::uint64_t, capture::RelayFaultSet> relay_faults_;       // by listener token
  std::unordered_map<std::uint64_t, capture::RelayFaultSet> relay_made_faults_;  // by Relay command id
};

}  // namespace ready::ui
