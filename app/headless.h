// `readyscope --headless`: the capture engine without a window.
#pragma once

#include <cstdio>

#include "cli.h"

namespace readyscope {

/// Runs a validated plan to its end and returns the exit code (see ExitCode).
///
/// Order: the scenario (if any) is loaded and validated and the recording file created
/// before the engine starts, so a bad input opens no socket. SIGINT and SIGTERM are
/// blocked and read from a signalfd (before the engine's thread starts, so it inherits the
/// mask); either one stops the run like the end of --duration: the engine is stopped (it
/// removes and closes every source and records a final stats record), every record still
/// queued is written and the recording is closed. Informational lines go to `out`, errors
/// (one line each) to `err`.
int runHeadless(const HeadlessPlan& plan, std::FILE* out = stdout, std::FILE* err = stderr);

}  // namespace readyscope
