// libFuzzer target for ready::capture::parse_scenario (core/include/ready/capture/scenario.h).
// fuzz/CMakeLists.txt builds it only once core/src/capture/scenario.cpp exists.
//
// Written against the announced API
//   std::expected<Scenario, ScenarioError> parse_scenario(std::string_view json, std::string_view file,
//                                                         ScenarioOptions = {});
// The error's shape is read with `requires`, so the target compiles whether ScenarioError
// has a `message()` (like RecordingError), a `what` string, or both; adjust once it is known.
//
// Properties beyond "no crash": parsing is a function of its input (twice the same input,
// the same outcome and message); an error is one line (no '\n') that names the file.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ready/capture/scenario.h"

using namespace ready::capture;

namespace {

[[noreturn]] void fail(const char* property, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz_scenario: property violated: %s\n%s\n", property, detail.c_str());
  std::fflush(stderr);
  std::abort();
}
#define CHECK(cond, ...) \
  do {                   \
    if (!(cond)) fail(#cond __VA_OPT__(, ) __VA_ARGS__); \
  } while (0)

// The text a user sees for an error.
template <class E>
std::string error_text(const E& e) {
  if constexpr (requires { { e.message() } -> std::convertible_to<std::string>; }) {
    return e.message();
  } else if constexpr (requires { { e.what } -> std::convertible_to<std::string>; }) {
    return std::string(e.what);
  } else {
    static_assert(sizeof(E) == 0, "fuzz_scenario.cpp: teach error_text() the shape of ScenarioError");
  }
}

constexpr std::string_view kFile = "fuzz-input.json";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(bytes), size);
  auto first = parse_scenario(json, kFile);
  auto second = parse_scenario(json, kFile);
  CHECK(first.has_value() == second.has_value(), "parse_scenario gave two outcomes for one input");
  if (!first) {
    const std::string msg = error_text(first.error());
    CHECK(msg == error_text(second.error()), msg);
    CHECK(!msg.empty());
    CHECK(msg.find('\n') == std::string::npos, msg);
    CHECK(msg.find(kFile) != std::string::npos, msg);
  }
  return 0;
}
