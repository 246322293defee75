// Hit testing: which record or warning mark lies under a point of the plot, and the text
// the tooltip shows for it.
#pragma once

#include <QString>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>

#include "ready/capture/store.h"
#include "timeline/laneindex.h"
#include "timeline/timescale.h"

namespace ready::ui {

/// The record of `lane` drawn nearest to widget x (within kHitRadius px), if any; records of
/// the preferred row (action ticks when `prefer_actions`, else readiness and source records)
/// win over the other row's unless those are 3 px closer. A poll lane considers poll
/// returns only. Walks at most 4096 records.
std::optional<std::uint64_t> nearest_record(const capture::RecordStore& store, const TimelineLane& lane,
                                            const TimeScale& s, int x, bool prefer_actions);

/// The first warning of lane `lane` drawn within kHitRadius px of widget x, if any.
const TimelineMarker* warning_near(std::span<const TimelineMarker> markers, std::uint32_t lane,
                                   const TimeScale& s, int x);

/// The tooltip of the record at `index`, in the event log's words (record_format): its time
/// and index, its lane, what happened and its result, the log's detail; for a readiness
/// record also the interest in force and the action that followed it on its source. Empty
/// for an index outside the store.
QString describe_record(const capture::RecordStore& store, const LaneIndex& index, std::uint64_t record,
                        const std::function<QString(std::uint64_t)>& labeler);

/// The tooltip of lane `lane`'s queue band at time t: the bytes readable and unsent in force
/// then (LaneIndex::queue_at), in bytes; "" for the poll lane, a lane without queue records,
/// or a time outside the source's life.
QString describe_queue(const LaneIndex& index, std::uint32_t lane, std::uint64_t t,
                       const std::function<QString(std::uint64_t)>& labeler);

/// The tooltip of a warning mark: its time, the warning in a sentence and where it is
/// explained.
QString describe_warning(const capture::RecordStore* store, const TimelineMarker& w);

}  // namespace ready::ui
