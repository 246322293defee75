// The replay cursor: a play head over a capture's records, stepped or played in capture time.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

#include <array>
#include <cstdint>
#include <optional>

#include "ready/capture/store.h"

namespace ready::ui {

/// A cursor over a RecordStore's records (a live capture's or an opened recording's) that
/// can be stepped record by record or event by event, moved to the start, the end or a
/// time, or played in capture time (`Record::t_ns`) at a speed of 0.25× to 16×.
///
/// Position. The head is at one record, named by its global store index (RecordStore's
/// indices never change or get reused), or nowhere (`position()` is nullopt) until it is
/// first placed or while the store is empty. A capture that keeps appending leaves the
/// position as it is. When the store evicts the record under the head, the head moves to
/// the oldest record kept (`clampedByEviction()` counts it) and says so with
/// positionChanged: at the next `syncStore()` (the window calls it each frame) or the next
/// operation, whichever comes first.
///
/// Stepping. `nextRecord` / `previousRecord` move by one index. `nextEvent` /
/// `previousEvent` move to the next / previous readiness record, of any source or, with
/// `setEventToken`, only of that token's (found through the store's per-token index). From
/// nowhere, the next-steps start at the oldest record and the previous-steps at the newest.
/// Each returns false and changes nothing when there is nowhere to go. A step pauses play.
/// Costs: a record step O(1); an event step O(records between the two events) (of the
/// token's records only, when filtered: O(log n) to find them, then O(1) each); a seek by
/// time O(log n).
///
/// Play. `play()` plays from the head (from the oldest record when it is nowhere or at the
/// end) up to the newest record the store held when play started: on a live capture, the
/// records that arrive while playing are left for the next play (the window can follow
/// live once play finishes, see ReplayBar). Play time starts at the head's record time and
/// advances by the wall time elapsed × speed; every `tick` moves the head to the last
/// record whose time is <= play time (one positionChanged per tick however many records
/// that skips, found in O(log n)), never backwards and never past the play time. A QTimer
/// calls `tick` about every kTickMs with the wall time measured since the last call; tests
/// call `tick` themselves. Play stops at the last record (`finished`), on `pause()`, or on
/// any step. Moving the head while playing (to a time, the start, the end, a record)
/// keeps playing from there.
///
/// Single-threaded: the store's thread (the GUI thread) only.
class PlayHead : public QObject {
  Q_OBJECT

 public:
  /// The speeds play accepts (× capture time), slowest first.
  static constexpr std::array<double, 7> kSpeeds{0.25, 0.5, 1, 2, 4, 8, 16};
  /// The play timer's interval (about 60 ticks per second).
  static constexpr int kTickMs = 16;

  explicit PlayHead(const capture::RecordStore& store, QObject* parent = nullptr);
  ~PlayHead() override;

  [[nodiscard]] const capture::RecordStore& store() const noexcept { return m_store; }
  /// The record under the head (a global store index), or nullopt: nowhere.
  [[nodiscard]] std::optional<std::uint64_t> position() const;
  /// The time of the record under the head (0 when nowhere).
  [[nodiscard]] std::uint64_t positionTime() const;
  [[nodiscard]] bool isPlaying() const noexcept { return m_playing; }
  [[nodiscard]] double speed() const noexcept { return m_speed; }
  /// One of kSpeeds; any other value is refused (false) and changes nothing. Takes effect
  /// from the next tick.
  bool setSpeed(double speed);
  /// Event steps visit only this token's readiness records (nullopt: every source's).
  void setEventToken(std::optional<std::uint64_t> token);
  [[nodiscard]] std::optional<std::uint64_t> eventToken() const noexcept { return m_eventToken; }
  /// Times the record under the head was evicted and the head moved to the oldest kept.
  [[nodiscard]] std::uint64_t clampedByEviction() const noexcept { return m_clamped; }
  /// While playing: the capture time play has reached, in ns.
  [[nodiscard]] std::uint64_t playTime() const noexcept { return m_playT; }
  /// While playing: the record play stops at.
  [[nodiscard]] std::uint64_t playEnd() const noexcept { return m_stopAt; }

  bool nextRecord();
  bool previousRecord();
  bool nextEvent();
  bool previousEvent();
  /// The oldest / newest record held.
  bool toStart();
  bool toEnd();
  /// The last record whose time is <= t_ns (the oldest record if t_ns is before it).
  bool seekTime(std::uint64_t t_ns);
  /// The record at `index` (refused unless the store holds it).
  bool setPosition(std::uint64_t index);
  /// Puts the head at `index` without emitting positionChanged (the user selected the
  /// record elsewhere: the head follows the selection). Refused unless the store holds it.
  bool placeQuietly(std::uint64_t index);

  void play();
  void pause();
  void togglePlay();
  /// Advances play by `elapsed_ns` of wall time (nothing when not playing).
  void tick(std::int64_t elapsed_ns);
  /// After the store changed (a frame): moves the head off evicted records (emitting
  /// positionChanged), and to nowhere if the store is empty.
  void syncStore();

 signals:
  /// The head moved to the record at `index`, at capture time `t_ns`.
  void positionChanged(std::uint64_t index, std::uint64_t t_ns);
  void playingChanged(bool playing);
  /// Play reached its last record and stopped.
  void finished();

 private:
  /// Applies eviction to m_pos; true if it moved the head.
  bool clamp();
  bool moveTo(std::uint64_t index, bool emit_signal = true);
  void setPlaying(bool on);
  void onTimer();
  [[nodiscard]] std::optional<std::uint64_t> findEvent(std::uint64_t from, bool forward) const;

  const capture::RecordStore& m_store;
  std::optional<std::uint64_t> m_pos;
  std::optional<std::uint64_t> m_eventToken;
  double m_speed = 1;
  bool m_playing = false;
  std::uint64_t m_playT = 0;
  double m_playFrac = 0;  // sub-nanosecond remainder of elapsed × speed
  std::uint64_t m_stopAt = 0;
  std::uint64_t m_clamped = 0;
  QTimer m_timer;
  QElapsedTimer m_wall;
};

}  // namespace ready::ui
