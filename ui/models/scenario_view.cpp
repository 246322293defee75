#include "models/scenario_view.h"

#include "timeline/laneindex.h"

namespace ready::ui {

using capture::ScenarioOp;
using capture::ScenarioSourceKind;

std::vector<std::string> scenario_source_ids(const capture::Scenario& scenario) {
  std::vector<std::string> ids;
  for (const capture::ScenarioSource& s : scenario.sources) {
    if (s.kind == ScenarioSourceKind::socketpair || s.kind == ScenarioSourceKind::pipe) {
      ids.push_back(s.ends[0]);
      ids.push_back(s.ends[1]);
    } else {
      ids.push_back(s.id);
    }
  }
  for (const capture::ScenarioStep& st : scenario.steps)
    if (st.op == ScenarioOp::accept && !st.as.empty()) ids.push_back(st.as);
  return ids;
}

void pin_compare_pairs(const capture::Scenario& scenario, const capture::ScenarioRunner& runner, LaneIndex& lanes,
                       std::vector<bool>& pinned) {
  pinned.resize(scenario.compare.size(), false);
  for (std::size_t i = 0; i < scenario.compare.size(); ++i) {
    if (pinned[i]) continue;
    const capture::ScenarioCompare& c = scenario.compare[i];
    const auto l = runner.token_of(c.left);
    const auto r = runner.token_of(c.right);
    if (!l || !r) continue;
    lanes.pin_adjacent(l->value, r->value, QString::fromStdString(c.label));
    pinned[i] = true;
  }
}

QString lane_label_with_name(const QString& label, const QString& name) {
  // The name first: a label too long for the column is shortened in the middle, and the
  // lesson's name for the source is what a learner reads the lane by.
  return name.isEmpty() ? label : QStringLiteral("“%1” %2").arg(name, label);
}

}  // namespace ready::ui
