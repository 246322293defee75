// How a scenario shows in the timeline: the names its sources go by and its compare pairs.
// Shared by the Lessons panel, the window's --scenario play and the headless --png picture.
#pragma once

#include <QString>
#include <string>
#include <vector>

#include "ready/capture/scenario.h"

namespace ready::ui {

class LaneIndex;

/// Every id the scenario names a source by, in file order: each source's id (for a
/// socketpair or pipe its two ends instead of the pair's own id, which is no source), then
/// the `as` names of its accept steps.
std::vector<std::string> scenario_source_ids(const capture::Scenario& scenario);

/// Pins (LaneIndex::pin_adjacent) every compare pair of `scenario` whose two sources have a
/// token in `runner` by now and that is not pinned yet. `pinned` holds one flag per pair (it
/// is resized to the pair count); call again as sources appear — a pair is pinned once.
void pin_compare_pairs(const capture::Scenario& scenario, const capture::ScenarioRunner& runner, LaneIndex& lanes,
                       std::vector<bool>& pinned);

/// A lane label with the scenario's name for the source first: `“reader” #2 unix_stream`
/// (`label` unchanged when `name` is empty).
QString lane_label_with_name(const QString& label, const QString& name);

}  // namespace ready::ui
