// What the command line's plan turns into: engine commands and loaded scenarios. Shared by
// the headless runner and the window.
#pragma once

#include <expected>
#include <string>

#include "cli.h"
#include "ready/capture/command.h"
#include "ready/capture/scenario.h"

namespace readyscope {

/// The engine command that creates the source `req` asks for. A listener always accepts:
/// reaction none becomes auto_accept (its streams get none: accepted and left unread).
ready::capture::Command createCommand(const SourceRequest& req, const ready::capture::SourceOptions& options,
                                      bool allowRemote);

/// A scenario file, or a built-in scenario by name (compiled in from resources/scenarios),
/// parsed and validated completely; or one line saying why not.
std::expected<ready::capture::Scenario, std::string> loadScenario(const std::string& nameOrPath, bool allowRemote);

}  // namespace readyscope
