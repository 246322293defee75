#include "session/play_head.h"

#include <QThread>

#include <algorithm>
#include <cmath>
#include <limits>

namespace ready::ui {

using capture::RecordKind;

namespace {
constexpr std::uint64_t kNoTime = std::numeric_limits<std::uint64_t>::max();
}  // namespace

PlayHead::PlayHead(const capture::RecordStore& store, QObject* parent) : QObject(parent), m_store(store) {
  m_timer.setInterval(kTickMs);
  // Precise: a coarse timer's 5 % slack would make the head's steps uneven (the elapsed
  // wall time is measured at each tick, so the speed is right either way).
  m_timer.setTimerType(Qt::PreciseTimer);
  connect(&m_timer, &QTimer::timeout, this, &PlayHead::onTimer);
}

PlayHead::~PlayHead() = default;

std::optional<std::uint64_t> PlayHead::position() const {
  if (!m_pos || m_store.empty()) return std::nullopt;
  // Between an eviction and the next syncStore: already the oldest record kept.
  return std::max(*m_pos, m_store.begin_index());
}

std::uint64_t PlayHead::positionTime() const {
  const auto p = position();
  return p ? m_store.time_at(*p) : 0;
}

bool PlayHead::setSpeed(double speed) {
  if (std::find(kSpeeds.begin(), kSpeeds.end(), speed) == kSpeeds.end()) return false;
  m_speed = speed;
  return true;
}

void PlayHead::setEventToken(std::optional<std::uint64_t> token) { m_eventToken = token; }

bool PlayHead::clamp() {
  if (m_store.empty()) {
    m_pos.reset();
    return false;
  }
  if (!m_pos || *m_pos >= m_store.begin_index()) return false;
  ++m_clamped;
  m_pos = m_store.begin_index();
  const std::uint64_t t = m_store.time_at(*m_pos);
  if (m_playing && m_playT < t) m_playT = t;
  emit positionChanged(*m_pos, t);
  return true;
}

void PlayHead::syncStore() { clamp(); }

bool PlayHead::moveTo(std::uint64_t index, bool emit_signal) {
  Q_ASSERT(thread() == QThread::currentThread());  // the store's thread
  // Already there: nothing changes (play keeps its time, which may be past the record's).
  if (m_pos == index) return false;
  m_pos = index;
  const std::uint64_t t = m_store.time_at(index);
  if (m_playing) {
    // Play goes on from here.
    m_playT = t;
    m_playFrac = 0;
  }
  if (emit_signal) emit positionChanged(index, t);
  return true;
}

bool PlayHead::setPosition(std::uint64_t index) {
  clamp();
  if (index < m_store.begin_index() || index >= m_store.end_index()) return false;
  moveTo(index);
  return true;
}

bool PlayHead::placeQuietly(std::uint64_t index) {
  clamp();
  if (index < m_store.begin_index() || index >= m_store.end_index()) return false;
  moveTo(index, false);
  return true;
}

bool PlayHead::nextRecord() {
  pause();
  clamp();
  if (m_store.empty()) return false;
  if (!m_pos) return moveTo(m_store.begin_index());
  if (*m_pos + 1 >= m_store.end_index()) return false;
  return moveTo(*m_pos + 1);
}

bool PlayHead::previousRecord() {
  pause();
  clamp();
  if (m_store.empty()) return false;
  if (!m_pos) return moveTo(m_store.end_index() - 1);
  if (*m_pos <= m_store.begin_index()) return false;
  return moveTo(*m_pos - 1);
}

std::optional<std::uint64_t> PlayHead::findEvent(std::uint64_t from, bool forward) const {
  // `from` is the head (kNoTime: nowhere): the search starts beside it, or at the far end.
  const bool placed = from != kNoTime;
  const std::uint64_t begin = m_store.begin_index(), end = m_store.end_index();
  if (!m_eventToken) {
    if (forward) {
      for (std::uint64_t i = placed ? from + 1 : begin; i < end; ++i)
        if (m_store.kind_at(i) == RecordKind::readiness) return i;
    } else {
      for (std::uint64_t i = placed ? from : end; i-- > begin;)
        if (m_store.kind_at(i) == RecordKind::readiness) return i;
    }
    return std::nullopt;
  }
  // One source's: walk its index from the head's time (records of the same time as the
  // head's may sit on either side of it, so indices decide).
  const std::uint64_t t = placed ? m_store.time_at(from) : 0;
  if (forward) {
    const auto ids = m_store.token_range(*m_eventToken, t, kNoTime);
    for (const std::uint64_t i : ids)
      if ((!placed || i > from) && m_store.kind_at(i) == RecordKind::readiness) return i;
  } else {
    const auto ids = m_store.token_range(*m_eventToken, 0, placed ? t + 1 : kNoTime);
    for (std::size_t k = ids.size(); k-- > 0;) {
      const std::uint64_t i = ids[k];
      if ((!placed || i < from) && m_store.kind_at(i) == RecordKind::readiness) return i;
    }
  }
  return std::nullopt;
}

bool PlayHead::nextEvent() {
  pause();
  clamp();
  if (m_store.empty()) return false;
  const auto at = findEvent(m_pos.value_or(kNoTime), true);
  return at && moveTo(*at);
}

bool PlayHead::previousEvent() {
  pause();
  clamp();
  if (m_store.empty()) return false;
  const auto at = findEvent(m_pos.value_or(kNoTime), false);
  return at && moveTo(*at);
}

bool PlayHead::toStart() {
  clamp();
  if (m_store.empty()) return false;
  return moveTo(m_store.begin_index());
}

bool PlayHead::toEnd() {
  clamp();
  if (m_store.empty()) return false;
  return moveTo(m_store.end_index() - 1);
}

bool PlayHead::seekTime(std::uint64_t t_ns) {
  clamp();
  if (m_store.empty()) return false;
  // The first record after t_ns, then one back: the last at or before it.
  const std::uint64_t after = t_ns == kNoTime ? m_store.end_index() : m_store.lower_bound(t_ns + 1);
  return moveTo(after > m_store.begin_index() ? after - 1 : m_store.begin_index());
}

void PlayHead::setPlaying(bool on) {
  if (m_playing == on) return;
  m_playing = on;
  if (on) {
    m_wall.start();
    m_timer.start();
  } else {
    m_timer.stop();
  }
  emit playingChanged(on);
}

void PlayHead::play() {
  if (m_playing) return;
  clamp();
  if (m_store.empty()) return;
  const std::uint64_t last = m_store.end_index() - 1;
  // From nowhere or from the end: from the start, as a player does.
  if (!m_pos || *m_pos >= last) moveTo(m_store.begin_index());
  m_stopAt = last;
  m_playT = m_store.time_at(*m_pos);
  m_playFrac = 0;
  if (*m_pos >= m_stopAt) {  // a single record: nothing to play
    emit finished();
    return;
  }
  setPlaying(true);
}

void PlayHead::pause() { setPlaying(false); }

void PlayHead::togglePlay() {
  if (m_playing)
    pause();
  else
    play();
}

void PlayHead::onTimer() {
  const std::int64_t elapsed = m_wall.nsecsElapsed();
  m_wall.restart();
  tick(elapsed);
}

void PlayHead::tick(std::int64_t elapsed_ns) {
  Q_ASSERT(thread() == QThread::currentThread());  // the store's thread
  if (!m_playing || elapsed_ns <= 0) return;
  clamp();
  if (!m_pos) {
    setPlaying(false);
    return;
  }
  const double advance = static_cast<double>(elapsed_ns) * m_speed + m_playFrac;
  const double whole = std::floor(advance);
  m_playFrac = advance - whole;
  const auto step = whole >= static_cast<double>(kNoTime) ? kNoTime : static_cast<std::uint64_t>(whole);
  m_playT = step > kNoTime - m_playT ? kNoTime : m_playT + step;
  // The last record at or before the play time, but not past where play stops.
  const std::uint64_t after = m_playT == kNoTime ? m_store.end_index() : m_store.lower_bound(m_playT + 1);
  if (after > m_store.begin_index()) {
    const std::uint64_t reached = std::min(after - 1, m_stopAt);
    if (reached > *m_pos) {
      m_pos = reached;
      emit positionChanged(reached, m_store.time_at(reached));
    }
  }
  if (*m_pos >= m_stopAt) {
    setPlaying(false);
    emit finished();
  }
}

}  // namespace ready::ui
