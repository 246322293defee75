#include "scenario_test.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <span>

#include "peer.h"

namespace ready::test {

using namespace std::chrono_literals;
using capture::Record;
using capture::StepOutcome;

bool drive_scenario(capture::Engine& eng, capture::ScenarioRunner& runner, std::vector<Record>* all,
                    std::chrono::milliseconds limit) {
  std::array<Record, 512> buf{};
  for (Deadline d(limit); !d.expired();) {
    (void)eng.notifier().begin_drain();
    while (const std::size_t n = eng.drain(buf)) {
      runner.observe(std::span<const Record>(buf.data(), n));
      if (all) all->insert(all->end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    }
    const auto now = std::chrono::steady_clock::now();
    const auto next = runner.advance(now);
    if (!next) return true;
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*next - now) + 1ms;
    (void)wait_readable(eng.notifier().as_raw_fd(), std::clamp(wait, 0ms, 100ms));
  }
  return false;
}

std::string outcomes_report(const capture::ScenarioRunner& runner) {
  std::string s;
  for (const auto& o : runner.outcomes())
    s += "\n  step " + (o.index == StepOutcome::kSetup ? std::string("setup") : std::to_string(o.index)) +
         ": " +
         (o.status == StepOutcome::Status::failed   ? "FAILED "
          : o.status == StepOutcome::Status::passed ? "passed "
                                                    : "ran ") +
         o.detail;
  return s;
}

std::string shipped_scenario(std::string_view name) {
  const std::filesystem::path here(__FILE__);
  return (here.parent_path().parent_path().parent_path() / "resources" / "scenarios" / name).string();
}

std::string scenario_error(std::string_view text, capture::ScenarioOptions options) {
  auto s = capture::parse_scenario(text, "t.json", options);
  return s ? std::string() : s.error().message();
}

}  // namespace ready::test
