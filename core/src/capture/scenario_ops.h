// The scenario ops (private): one table entry per ScenarioOp says which fields a step with it
// takes, which sources it fits and how it becomes the Command the step carries. Adding an op:
// its name in READY_SCENARIO_OP_LIST (scenario.h), its entry in scenario_ops.cpp, its test.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "capture/scenario_json.h"
#include "ready/capture/command.h"
#include "ready/capture/record.h"
#include "ready/capture/scenario.h"

namespace ready::capture::scenario {

struct OpSpec {
  ScenarioOp op;
  /// The step fields of this op besides the common ones (see step_keys).
  std::span<const std::string_view> own_keys;
  /// The source kinds it fits; empty: any kind.
  std::span<const SourceKind> fits;
  /// It fits a feed's receiving end (which only receives).
  bool feed = false;
  /// It names no source: its action records carry token 0.
  bool sourceless = false;
  /// Reads the op's own fields of a step into the command it submits, with token 0 (the
  /// runner puts in each source's token). Null for none and create, which submit no op command.
  Command (*command)(const Obj& step, ScenarioStep& s) = nullptr;
};

/// The entry of `op`.
const OpSpec& op_spec(ScenarioOp op) noexcept;

/// Every field a step with `op` may have, in the order an error message lists them.
std::vector<std::string_view> step_keys(ScenarioOp op);

/// The record Ops an action check may name: every Op but take_error (an error event's own
/// SO_ERROR read, never the answer to a step's command).
constexpr bool checkable(Op op) noexcept { return op != Op::take_error; }

/// The reaction fields of a source or a set_reaction step; `also_close` gets the id (checked
/// against the names by the caller), emfile_reserve's kind by the caller too.
ReactionSpec parse_reaction(const Obj& o, std::string* also_close);

/// An interest list (["readable", "writable"]).
Interest parse_interest(const json& v, const std::string& ptr);

}  // namespace ready::capture::scenario
