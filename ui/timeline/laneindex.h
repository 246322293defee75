// The timeline's index over the record store: lanes, interest bands and multi-resolution
// summaries, kept up to date record by record so that painting costs O(pixels).
#pragma once

#include <QString>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "session/bridge.h"
#include "ready/capture/record.h"
#include "ready/capture/store.h"
#include "timeline/timescale.h"

namespace ready::ui {

/// The glyph kinds of action ticks (bits, so a bucket can hold their union).
enum ActionGlyph : std::uint8_t {
  glyph_read = 1 << 0,         ///< read / drain / accept / eventfd_read that moved something
  glyph_write = 1 << 1,        ///< write / fill / eventfd_write that moved something
  glyph_would_block = 1 << 2,  ///< EAGAIN
  glyph_eof = 1 << 3,          ///< end of file
  glyph_error = 1 << 4,        ///< an error (errno in the record)
  glyph_other = 1 << 5,        ///< any other action (connect, shutdown, rearm, ...)
};
inline constexpr int kActionGlyphs = 6;
/// The glyph of an action record (exactly one bit).
std::uint8_t action_glyph(const capture::Record& r) noexcept;

/// One bucket of a summary level: records of one lane and kind whose time lies in
/// [bucket * width, (bucket + 1) * width): how many, and the union of their flags
/// (ReadinessFlag bits for readiness marks, ActionGlyph bits for action ticks).
/// 8 bytes: the bucket number in 40 bits (times beyond 2^(40 + shift) ns, some 200 days at
/// the finest level, share the last bucket), the flags in 8 and the count in 16. A bucket
/// holding more than 65535 records continues in a second entry with the same number, so
/// sums stay exact and a level still never holds more entries than records.
class MarkBucket {
 public:
  static constexpr std::uint64_t kMaxBucket = (std::uint64_t{1} << 40) - 1;
  static constexpr std::uint32_t kMaxCount = 0xffff;
  MarkBucket() = default;
  explicit MarkBucket(std::uint64_t bucket) noexcept : v_(std::min(bucket, kMaxBucket) << 24) {}
  [[nodiscard]] std::uint64_t bucket() const noexcept { return v_ >> 24; }
  [[nodiscard]] std::uint8_t flags() const noexcept { return static_cast<std::uint8_t>(v_ >> 16); }
  [[nodiscard]] std::uint32_t count() const noexcept { return static_cast<std::uint32_t>(v_ & 0xffff); }
  /// Whether `add` can take one more record.
  [[nodiscard]] bool full() const noexcept { return count() == kMaxCount; }
  void add(std::uint8_t flags) noexcept { v_ = (v_ | (std::uint64_t{flags} << 16)) + 1; }

 private:
  std::uint64_t v_ = 0;
};
static_assert(sizeof(MarkBucket) == 8);

/// One bucket of the poll lane's summary: epoll_wait returns in the bucket, the events they
/// carried, the most one carried, and the time they had blocked (all of a return's blocked
/// time is counted in the bucket of the return).
struct PollBucket {
  std::uint64_t bucket = 0;
  std::uint64_t blocked_ns = 0;
  std::uint32_t returns = 0;
  std::uint32_t events = 0;      ///< saturating
  std::uint32_t max_events = 0;
};

/// Sparse summary levels: level k has buckets of 2^(kBaseShift + k * kLevelShift) ns and
/// holds one entry per non-empty bucket, appended in time order (the store is time-ordered),
/// so a level is a sorted vector searched by binary search. Memory bound: a level never has
/// more entries than records were added, and level k + 1 never more than level k.
template <class Entry>
class SummaryLevels {
 public:
  static constexpr unsigned kBaseShift = 14;  ///< finest buckets: 16.4 us
  static constexpr unsigned kLevelShift = 2;  ///< each level 4x coarser
  static constexpr std::size_t kLevels = 17;  ///< coarsest: 2^46 ns, about 19.5 hours

  [[nodiscard]] static constexpr unsigned shift(std::size_t level) noexcept {
    return kBaseShift + static_cast<unsigned>(level) * kLevelShift;
  }
  [[nodiscard]] static constexpr std::uint64_t width(std::size_t level) noexcept {
    return std::uint64_t{1} << shift(level);
  }
  /// The entries of a level, oldest first.
  [[nodiscard]] std::span<const Entry> level(std::size_t k) const noexcept {
    const Level& l = levels_[k];
    return {l.entries.data() + l.front, l.entries.size() - l.front};
  }
  /// Calls merge(entry) on the bucket of `t` at every level, appending a new bucket
  /// (made by make(bucket_number)) where `t` starts one.
  template <class Make, class Merge>
  void add(std::uint64_t t, Make&& make, Merge&& merge) {
    for (std::size_t k = 0; k < kLevels; ++k) {
      Level& l = levels_[k];
      const std::uint64_t b = t >> shift(k);
      if (l.entries.size() == l.front || bucket_of(l.entries.back()) != b || is_full(l.entries.back())) {
        // Grow by a quarter, not double: these vectors hold most of the index's memory.
        if (l.entries.size() == l.entries.capacity()) l.entries.reserve(l.entries.size() + l.entries.size() / 4 + 16);
        l.entries.push_back(make(b));
      }
      merge(l.entries.back());
    }
  }
  /// Drops the buckets that end at or before `t` (amortised O(1) per bucket dropped).
  void drop_before(std::uint64_t t);
  void clear() noexcept { levels_ = {}; }
  [[nodiscard]] std::size_t memory_bytes() const noexcept {
    std::size_t n = 0;
    for (const Level& l : levels_) n += l.entries.capacity() * sizeof(Entry);
    return n;
  }
  [[nodiscard]] std::size_t entries() const noexcept {
    std::size_t n = 0;
    for (std::size_t k = 0; k < kLevels; ++k) n += level(k).size();
    return n;
  }
  /// The first entry of `level` whose bucket is >= `bucket`.
  [[nodiscard]] std::size_t lower_bound(std::size_t k, std::uint64_t bucket) const noexcept;

  static bool is_full(const Entry& e) noexcept {
    if constexpr (requires { e.full(); }) {
      return e.full();
    } else {
      return false;
    }
  }
  static std::uint64_t bucket_of(const Entry& e) noexcept {
    if constexpr (requires { e.bucket(); }) {
      return e.bucket();
    } else {
      return e.bucket;
    }
  }

 private:
  struct Level {
    std::vector<Entry> entries;
    std::size_t front = 0;  // entries before it were dropped; compacted when over half
  };
  std::array<Level, kLevels> levels_{};
};

/// One bucket of a lane's queue summary (queue records, EngineConfig::queue_sampling): the
/// most readable / unsent bytes a record in the bucket stated, and the values its last record
/// left in force (bytes, saturated at 2^32 - 1).
struct QueueBucket {
  std::uint64_t bucket = 0;
  std::uint32_t max_readable = 0;
  std::uint32_t max_unsent = 0;
  std::uint32_t last_readable = 0;
  std::uint32_t last_unsent = 0;
};
/// Per pixel column: the most readable / unsent bytes in force at any time in the column.
struct QueueColumn {
  std::uint32_t readable = 0;
  std::uint32_t unsent = 0;
  friend bool operator==(const QueueColumn&, const QueueColumn&) = default;
};

/// A source's interest, trigger and reaction (SourceBits packed) in force over [t0, t1).
/// For a oneshot registration `armed` says whether the kernel would deliver an event:
/// a delivered event disarms it until the next source_changed or successful rearm action.
struct InterestSpan {
  static constexpr std::uint64_t kOpen = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t t0 = 0;
  std::uint64_t t1 = kOpen;  ///< kOpen while in force
  std::uint32_t bits = 0;    ///< SourceBits::pack()
  bool armed = true;
};

/// A note or a warning to draw as a marker: on one lane (a warning about a known source) or
/// across all of them (a note, or a warning about no known source).
struct TimelineMarker {
  std::uint64_t t_ns = 0;
  std::uint64_t index = 0;  ///< the record's global store index
  std::int32_t lane = -1;   ///< the lane of a warning; -1: all lanes
  QString text;             ///< the note's text, or the warning's kind
};

/// Compare mode: two sources shown in adjacent lanes under one label ("edge vs level"), a
/// display hint only (LaneIndex::pin_adjacent).
struct LanePin {
  std::uint64_t left = 0;   ///< token of the upper lane
  std::uint64_t right = 0;  ///< token of the lane drawn right below it
  QString label;            ///< what differs; may be empty
};

/// One lane of the timeline: the poll loop, or one source (token).
struct TimelineLane {
  static constexpr std::uint64_t kAlive = std::numeric_limits<std::uint64_t>::max();
  bool is_poll = false;
  std::uint64_t token = 0;
  std::optional<capture::SourceKind> kind;  ///< unknown for a token seen without source_added
  std::int32_t fd = -1;
  std::uint64_t added_ns = 0;  ///< source_added's time (or the first record's)
  std::uint64_t removed_ns = kAlive;
  std::uint64_t partner = 0;   ///< source_added's value: pair/pipe partner or listener token
  std::uint32_t group = 0;     ///< lanes of one group are drawn together
  std::uint8_t depth = 0;      ///< 1 for an accepted stream under its listener, 2 for a relay's upstream leg
  bool relay = false;          ///< a relay's listener or leg (reaction relay at source_added)
  bool gone = false;           ///< removed and all its records evicted: not drawn
  std::vector<InterestSpan> interest;
  SummaryLevels<MarkBucket> readiness;
  SummaryLevels<MarkBucket> actions;
  /// Queue records: the values in force by bucket, and the most either value ever was (the
  /// lane's own scale for the band; 0: no queue record, no band).
  SummaryLevels<QueueBucket> queue;
  std::uint32_t queue_peak = 0;
};

/// Per pixel column: how many marks fell in it and the union of their flags.
struct MarkColumn {
  std::uint32_t count = 0;
  std::uint8_t flags = 0;
};
/// Per pixel column of the poll lane.
struct PollColumn {
  std::uint32_t returns = 0;
  std::uint32_t events = 0;
  std::uint32_t max_events = 0;
  std::uint64_t blocked_ns = 0;
};

/// The timeline's index, fed by the Bridge record by record (a RecordObserver).
///
/// Lanes. Lane 0 is the poll loop (poll_return records: events returned, time blocked).
/// Every token gets a lane at its first record (its source_added, normally). Display
/// order (`order()`): the poll lane, then groups in creation order; a group is a source
/// with the sources tied to it: an accepted stream joins its listener's group (after the
/// listener's earlier streams, depth 1) and the second end of a socketpair / pipe joins the
/// first's (adjacent, same depth). A relay (cmd::Relay) is one group: its listener, then per
/// connection the client leg (depth 1, related = the listener) directly followed by its
/// upstream leg (depth 2, related = the client leg), whatever order the legs were added in.
/// An attached process's registrations (cmd::Attach) are grouped by epoll instance.
/// A lane that was removed and whose records were all evicted is `gone` and leaves the order.
///
/// Compare pins (`pin_adjacent`) then move a lane right below another one: the right lane
/// of a pin leaves its place and is drawn immediately after the left lane (with its depth
/// kept), so two sources a lesson compares sit side by side whatever their groups. A pin
/// names tokens, so it may be set before their lanes exist and takes effect when both do;
/// while either lane is missing or gone the pin changes nothing. Pins are applied in the
/// order they were set; a lane is the right side of at most one pin. At most kMaxPins.
///
/// Summaries. Per lane, readiness marks (ReadinessFlag union) and action ticks (ActionGlyph
/// union) in SummaryLevels, the poll lane's returns likewise: O(kLevels) per record.
/// `readiness_columns` & co. fill one entry per pixel column from the coarsest level whose
/// buckets are no wider than a pixel (so at most 4 buckets per column: O(pixels)), or, when
/// a pixel is narrower than the finest bucket, from the store's exact records
/// (token_range). Counts are exact: a level's buckets in a range aligned to its width sum
/// to the store's count of that range; a bucket is drawn in the column of its start time.
///
/// Memory: per lane and summary, at most kLevels entries per record (8 bytes each for
/// marks, 32 for poll returns) and in practice far fewer (coarse levels merge records);
/// `memory_bytes()` counts it. Eviction (`on_evicted`) drops the buckets that end before the
/// store's oldest record (the one bucket per level that straddles it may still count evicted
/// records), interest spans that ended before it, markers of evicted records, and the lanes
/// that are gone. Single-threaded, like the store: the GUI thread.
class LaneIndex final : public RecordObserver {
 public:
  using NoteText = std::function<QString(std::uint64_t id)>;

  explicit LaneIndex(const capture::RecordStore& store);

  /// How a note's text is found (Bridge::note_text); without it notes read "note <id>".
  void set_note_text(NoteText f) { note_text_ = std::move(f); }
  /// Forgets everything and indexes every record the store holds now (pins stay).
  void rebuild();

  /// Bound on compare pins held at once; pin_adjacent refuses (and counts) beyond it.
  static constexpr std::size_t kMaxPins = 64;
  /// Shows the lane of `right` right below the lane of `left` (compare mode), under `label`.
  /// False, nothing changed, when left == right, either is 0, `right` is already the right
  /// side of a pin, or kMaxPins are held (that last case counts in pins_refused()).
  bool pin_adjacent(std::uint64_t left, std::uint64_t right, QString label);
  /// Forgets every pin (the lanes go back to their group order).
  void clear_pins();
  [[nodiscard]] const std::vector<LanePin>& pins() const noexcept { return pins_; }
  /// pin_adjacent calls refused because kMaxPins were held.
  [[nodiscard]] std::uint64_t pins_refused() const noexcept { return pins_refused_; }
  /// The pin whose left lane is `lane` and whose right lane follows it in order() now, if any
  /// (what the view draws the compare label across).
  [[nodiscard]] const LanePin* pin_starting_at(std::uint32_t lane) const;

  void on_record(const capture::Record& r, std::uint64_t index) override;
  void on_evicted(std::uint64_t new_begin) override;

  [[nodiscard]] const capture::RecordStore& store() const noexcept { return store_; }
  /// Every lane by id (lane 0: the poll loop), gone ones included.
  [[nodiscard]] const std::vector<TimelineLane>& lanes() const noexcept { return lanes_; }
  [[nodiscard]] const TimelineLane& lane(std::size_t id) const { return lanes_.at(id); }
  /// Lane ids in display order (see the class comment). Recomputed after lanes change.
  [[nodiscard]] const std::vector<std::uint32_t>& order() const;
  /// The lane of a token, if it has one.
  [[nodiscard]] std::optional<std::uint32_t> lane_of(std::uint64_t token) const;
  /// Notes and warnings, oldest first.
  [[nodiscard]] const std::vector<TimelineMarker>& markers() const noexcept { return markers_; }
  /// Poll returns summary (lane 0).
  [[nodiscard]] const SummaryLevels<PollBucket>& poll_summary() const noexcept { return poll_; }

  /// The interest span of `lane` in force at time t, if any.
  [[nodiscard]] const InterestSpan* interest_at(std::size_t lane, std::uint64_t t) const;
  /// The span [first record time, last record time + 1) of the store (empty window if empty).
  [[nodiscard]] TimeWindow data_window() const noexcept;

  /// One entry per pixel column of `scale` (out.size() columns from scale.x0()), zeroed
  /// first: the readiness marks / action ticks of `lane`, or the poll lane's returns.
  void readiness_columns(std::size_t lane, const TimeScale& scale, std::span<MarkColumn> out) const;
  void action_columns(std::size_t lane, const TimeScale& scale, std::span<MarkColumn> out) const;
  void poll_columns(const TimeScale& scale, std::span<PollColumn> out) const;
  /// One entry per pixel column (as readiness_columns): the queue values of `lane` in force
  /// in each column, the most of each over the column (a step function decimated by its
  /// peaks). From the summary level readiness_columns uses, or exact records below it. All
  /// zero for a lane without queue records.
  void queue_columns(std::size_t lane, const TimeScale& scale, std::span<QueueColumn> out) const;
  /// The queue values of `lane` in force at time t (those of its last queue record at or
  /// before t; zero before the first, or when it was evicted with its bucket).
  [[nodiscard]] QueueColumn queue_at(std::size_t lane, std::uint64_t t) const;
  /// The summary level used for `scale`, or nullopt when exact records are read instead.
  [[nodiscard]] static std::optional<std::size_t> level_for(const TimeScale& scale) noexcept;

  /// Heap bytes of the summaries, interest spans, markers and lane table.
  [[nodiscard]] std::size_t memory_bytes() const noexcept;
  /// Summary entries held, all levels and lanes.
  [[nodiscard]] std::size_t summary_entries() const noexcept;

 private:
  std::uint32_t lane_for(const capture::Record& r);
  void add_source(const capture::Record& r);
  void marks_columns(const SummaryLevels<MarkBucket>& levels, std::uint64_t token, capture::RecordKind kind,
                     const TimeScale& scale, std::span<MarkColumn> out) const;
  static void open_span(TimelineLane& l, std::uint64_t t, std::uint32_t bits, bool armed);
  static void close_span(TimelineLane& l, std::uint64_t t);

  const capture::RecordStore& store_;
  NoteText note_text_;
  std::vector<TimelineLane> lanes_;
  std::vector<std::vector<std::uint32_t>> groups_;
  /// An attached process's epoll instance (pid << 32 | its fd) -> its group: one group each.
  std::unordered_map<std::uint64_t, std::uint32_t> attach_groups_;
  std::unordered_map<std::uint64_t, std::uint32_t> by_token_;
  std::uint64_t cached_token_ = 0;
  std::uint32_t cached_lane_ = 0;  // 0: no cache (lane 0 has no token)
  SummaryLevels<PollBucket> poll_;
  std::vector<TimelineMarker> markers_;
  std::vector<LanePin> pins_;
  std::uint64_t pins_refused_ = 0;
  mutable std::vector<std::uint32_t> order_;
  mutable bool order_dirty_ = true;
};

}  // namespace ready::ui
