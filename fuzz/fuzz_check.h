// What the fuzz targets share: a violated property aborts with its text (libFuzzer then
// keeps the input as a crash artifact).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace fuzz {

/// The target's name, in every message; each target defines it.
extern const char* const kTarget;

[[noreturn]] inline void fail(const char* property, const std::string& detail = {}) {
  std::fprintf(stderr, "%s: property violated: %s\n%s\n", kTarget, property, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace fuzz

#define CHECK(cond, ...)                                         \
  do {                                                           \
    if (!(cond)) ::fuzz::fail(#cond __VA_OPT__(, ) __VA_ARGS__); \
  } while (0)
