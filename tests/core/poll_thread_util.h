// Reaching the engine's poll thread from a test: its kernel thread id (to aim the syscall
// layer's fault injection, core/src/linux/sys.h, or a signal at it), and a guard that clears
// every injected fault when the test ends. For suites that get core/src on their include path.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "linux/sys.h"
#include "ready_test.h"

namespace ready::test {

/// The kernel thread id of this process's engine poll thread (named "ready-poll"), or 0.
inline pid_t poll_thread_tid() {
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name == "ready-poll") return static_cast<pid_t>(std::stol(entry.path().filename().string()));
  }
  return 0;
}

/// Waits until a started engine's poll thread is visible (it names itself first thing).
inline pid_t wait_poll_thread() {
  for (Deadline d; !d.expired(); std::this_thread::sleep_for(std::chrono::milliseconds(1)))
    if (const pid_t t = poll_thread_tid()) return t;
  return 0;
}

/// Clears every injected fault when the test ends, failed or not.
struct FaultGuard {
  FaultGuard() { ready::sys::fault::clear(); }
  ~FaultGuard() { ready::sys::fault::clear(); }
  FaultGuard(const FaultGuard&) = delete;
  FaultGuard& operator=(const FaultGuard&) = delete;
};

}  // namespace ready::test
