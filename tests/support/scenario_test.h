// Helpers for the suites that run scenarios on a real Engine (tst_scenario, tst_scenario_batch).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "ready/capture/engine.h"
#include "ready/capture/record.h"
#include "ready/capture/scenario.h"
#include "ready_test.h"

namespace ready::test {

/// Drives `runner` the way the CLI does: drain the engine's ring, observe, advance, wait on
/// the notifier until the next step is due. Every record drained is also appended to `all`
/// when given. False if the scenario did not finish within `limit`.
bool drive_scenario(capture::Engine& eng, capture::ScenarioRunner& runner,
                    std::vector<capture::Record>* all = nullptr,
                    std::chrono::milliseconds limit = kWaitLimit);

/// All of a runner's outcomes, one per line, for failure messages.
std::string outcomes_report(const capture::ScenarioRunner& runner);

/// The path of a scenario shipped in resources/scenarios/ (found from this file's path).
std::string shipped_scenario(std::string_view name);

/// Parses `text` as the file "t.json": the one-line error message, or "" when it is valid.
std::string scenario_error(std::string_view text, capture::ScenarioOptions options = {});

}  // namespace ready::test
