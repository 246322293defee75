// RecordRing construction; push and pop are inline in the header (the hot path).
#include "ready/capture/ring.h"

#include <bit>
#include <limits>
#include <stdexcept>

namespace ready::capture {

namespace {
std::uint64_t checked_mask(std::size_t capacity) {
  if (capacity < 2 || !std::has_single_bit(capacity))
    throw std::invalid_argument("ready::capture::RecordRing: capacity must be a power of two, at least 2");
  if (capacity > std::numeric_limits<std::size_t>::max() / sizeof(Record))
    throw std::invalid_argument("ready::capture::RecordRing: capacity too large");
  return capacity - 1;
}
}  // namespace

RecordRing::RecordRing(std::size_t capacity)
    : mask_(checked_mask(capacity)), slots_(std::make_unique<Record[]>(capacity)) {}

RecordRing::~RecordRing() = default;

}  // namespace ready::capture
