// libFuzzer target for ready::capture::parse_scenario (core/include/ready/capture/scenario.h):
//   std::expected<Scenario, ScenarioError> parse_scenario(std::string_view json, std::string_view file,
//                                                         ScenarioOptions = {});
// fuzz/CMakeLists.txt builds it with the parser of ready::capture. Seeds: copies of
// the built-in scenarios (resources/scenarios/*.json).
//
// Properties beyond "no crash": parsing is a function of its input (twice the same input,
// the same outcome and message); an error's message() is one line (no '\n') that names the
// file.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "ready/capture/scenario.h"

using namespace ready::capture;

const char* const fuzz::kTarget = "fuzz_scenario";

namespace {

using fuzz::fail;

constexpr std::string_view kFile = "fuzz-input.json";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(bytes), size);
  auto first = parse_scenario(json, kFile);
  auto second = parse_scenario(json, kFile);
  CHECK(first.has_value() == second.has_value(), "parse_scenario gave two outcomes for one input");
  if (!first) {
    const std::string msg = first.error().message();
    CHECK(msg == second.error().message(), msg);
    CHECK(!msg.empty());
    CHECK(msg.find('\n') == std::string::npos, msg);
    CHECK(msg.find(kFile) != std::string::npos, msg);
  }
  return 0;
}
