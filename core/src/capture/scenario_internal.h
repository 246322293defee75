// Between the scenario parser's files (private): scenario_parse.cpp turns text into a JSON
// document, scenario_validate.cpp turns the document into a Scenario.
#pragma once

#include <string>

#include "capture/scenario_json.h"
#include "ready/capture/scenario.h"

namespace ready::capture::scenario {

/// The Scenario `doc` describes; throws Invalid at the first value at fault.
Scenario validate(const json& doc, std::string file, ScenarioOptions options);

}  // namespace ready::capture::scenario
