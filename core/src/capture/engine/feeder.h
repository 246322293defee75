// cmd::Feed's writer thread (the capture engine's only thread besides the poll thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>

#include "ready/error.h"
#include "ready/net/unix.h"
#include "ready/unix/eventfd.h"

namespace ready::capture::detail {

/// The writer of a cmd::Feed: the far end of the feed's socketpair and the thread that writes
/// into it. Not a source: nothing is recorded for it. The thread stops when a write fails
/// (EPIPE once the source's end is closed, or any other error) or when the owner signals
/// `stop_` (an eventfd the thread polls beside its socket, so a write blocked on a full
/// buffer never delays the join). Owned by the poll thread; the destructor stops and joins.
class Feeder {
 public:
  /// Writes `chunk` bytes of a repeating 'a'..'z' pattern, then waits `interval` (0: writes
  /// as fast as the reader takes them), until stopped.
  static io_result<std::unique_ptr<Feeder>> start(net::UnixStream end, std::uint32_t chunk,
                                                  std::chrono::nanoseconds interval);
  Feeder(const Feeder&) = delete;
  Feeder& operator=(const Feeder&) = delete;
  ~Feeder();

 private:
  Feeder(net::UnixStream end, unix::EventFd stop) : end_(std::move(end)), stop_(std::move(stop)) {}
  void run(std::uint32_t chunk, std::chrono::nanoseconds interval) noexcept;

  net::UnixStream end_;
  unix::EventFd stop_;
  std::thread thread_;
};

}  // namespace ready::capture::detail
