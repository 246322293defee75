// "a, b, c": the names an error message lists (the recording reader's and the scenario
// parser's "expected one of ..."). Built for messages only, never on the way through valid input.
#pragma once

#include <string>

namespace ready::capture {

template <class Names>
std::string join(const Names& names) {
  std::string s;
  for (const auto& n : names) {
    if (!s.empty()) s += ", ";
    s += n;
  }
  return s;
}

}  // namespace ready::capture
