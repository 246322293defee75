// Fault injection for tests (see sys.h, namespace fault).
#include <unistd.h>

#include <array>
#include <mutex>

#include "linux/sys.h"

namespace ready::sys::fault {

namespace {
struct Entry {
  Fn fn = nullptr;
  int err = 0;
  int count = 0;
  int hits = 0;
  pid_t tid = 0;
};
std::mutex g_mutex;
std::array<Entry, kMaxFaults> g_table;  // guarded by g_mutex

void update_armed() noexcept {
  int armed = 0;
  for (const Entry& e : g_table) armed += e.count > 0 ? 1 : 0;
  detail::g_armed.store(armed, std::memory_order_relaxed);
}
}  // namespace

std::atomic<int> detail::g_armed{0};

int detail::take(Fn fn) noexcept {
  std::lock_guard lock(g_mutex);
  for (Entry& e : g_table) {
    if (e.fn != fn || e.count <= 0) continue;
    if (e.tid != 0 && e.tid != ::gettid()) continue;
    --e.count;
    ++e.hits;
    const int err = e.err;
    if (e.count == 0) update_armed();
    return err;
  }
  return 0;
}

bool inject(Fn fn, int err, int count, pid_t tid) noexcept {
  if (fn == nullptr || err == 0 || count <= 0) return false;
  std::lock_guard lock(g_mutex);
  for (Entry& e : g_table) {
    // A spent entry of the same function keeps its hit count; reuse it.
    if (e.fn == nullptr || (e.fn == fn && e.count == 0)) {
      const int hits = e.fn == fn ? e.hits : 0;
      e = Entry{fn, err, count, hits, tid};
      update_armed();
      return true;
    }
  }
  return false;
}

int remaining(Fn fn) noexcept {
  std::lock_guard lock(g_mutex);
  int n = 0;
  for (const Entry& e : g_table)
    if (e.fn == fn) n += e.count;
  return n;
}

int injected(Fn fn) noexcept {
  std::lock_guard lock(g_mutex);
  int n = 0;
  for (const Entry& e : g_table)
    if (e.fn == fn) n += e.hits;
  return n;
}

void allocation() noexcept {}

void clear() noexcept {
  std::lock_guard lock(g_mutex);
  g_table = {};
  update_armed();
}

}  // namespace ready::sys::fault
