// The wire names of ready::Interest's bits, as recordings and scenarios spell an interest
// list (["readable", "writable"]). ready::Interest itself (ready::io) prints "READABLE | ..."
// for people; the files keep the lower-case names of the readiness they ask for.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "ready/interest.h"

namespace ready::capture {

struct InterestName {
  Interest interest;
  std::string_view name;
};
inline constexpr std::array<InterestName, 3> kInterestNames{{
    {Interest::READABLE, "readable"},
    {Interest::WRITABLE, "writable"},
    {Interest::PRIORITY, "priority"},
}};

}  // namespace ready::capture
