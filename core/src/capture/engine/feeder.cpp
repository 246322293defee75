// cmd::Feed's writer thread (see feeder.h).
#include "capture/engine/feeder.h"

#include <cstddef>
#include <span>
#include <system_error>
#include <vector>

#include "linux/fds.h"
#include "linux/thread.h"

namespace ready::capture::detail {

io_result<std::unique_ptr<Feeder>> Feeder::start(net::UnixStream end, std::uint32_t chunk,
                                                 std::chrono::nanoseconds interval) {
  auto stop = unix::EventFd::create();
  if (!stop) return std::unexpected(stop.error());
  std::unique_ptr<Feeder> f(new Feeder(std::move(end), std::move(*stop)));
  try {
    f->thread_ = std::thread([p = f.get(), chunk, interval] { p->run(chunk, interval); });
  } catch (const std::system_error& ex) {
    return std::unexpected(ex.code());
  }
  return f;
}

Feeder::~Feeder() {
  (void)stop_.write(1);  // cannot fail short of a counter overflow: one write per feeder
  if (thread_.joinable()) thread_.join();
}

void Feeder::run(std::uint32_t chunk, std::chrono::nanoseconds interval) noexcept {
  using Clock = std::chrono::steady_clock;
  os::name_this_thread("ready-feed");
  std::vector<std::byte> pattern(chunk);
  for (std::size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<std::byte>('a' + i % 26);
  Clock::time_point next = Clock::now();
  std::size_t off = 0;  // bytes of the current chunk written
  for (;;) {
    if (off == pattern.size()) {
      off = 0;
      if (interval.count() > 0) {
        next += interval;
        if (os::sleep_until_or_stop(stop_.as_raw_fd(), next)) return;
      }
    }
    auto w = end_.write(std::span(pattern).subspan(off));
    if (w) {
      off += *w;
      continue;
    }
    if (!is_would_block(w.error())) return;  // EPIPE: the source's end is closed
    if (os::wait_writable_or_stop(end_.as_raw_fd(), stop_.as_raw_fd())) return;
  }
}

}  // namespace ready::capture::detail
