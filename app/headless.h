// `readyscope --headless`: the capture engine without a window.
#pragma once

#include <QSize>
#include <QString>

#include <cstdint>
#include <cstdio>
#include <expected>
#include <functional>

#include "cli.h"
#include "ready/capture/store.h"

namespace ready::ui {
class LaneIndex;
}

namespace readyscope {

/// How --png draws the timeline of the finished capture (ready::ui::render_timeline_png's
/// signature). main() hands in the widgets layer's renderer, so that this library links Qt
/// Core and Gui only.
using PngRenderer = std::function<std::expected<void, QString>(
    const ready::capture::RecordStore& store, const ready::ui::LaneIndex& lanes,
    std::function<QString(std::uint64_t)> labeler, QSize size, const QString& path)>;

/// Runs a validated plan to its end and returns the exit code (see ExitCode). A plan with
/// `open_path` reads that recording instead of capturing (runOpen, headless_open.h).
///
/// Order: the scenario (if any) is loaded and validated and the recording file created
/// before the engine starts, so a bad input opens no socket. SIGINT and SIGTERM are
/// blocked and read from a signalfd (before the engine's thread starts, so it inherits the
/// mask); either one stops the run like the end of --duration: the engine is stopped (it
/// removes and closes every source and records a final stats record), every record still
/// queued is written and the recording is closed. When the engine's poll thread stops by
/// itself (Engine::failure: an epoll_wait error, an allocation that failed), the run ends the
/// same way at once and returns kExitRuntime with one line on `err` saying why. Informational
/// lines go to `out`, errors
/// (one line each) to `err`. A plan with --png needs `renderPng`.
int runHeadless(const HeadlessPlan& plan, std::FILE* out = stdout, std::FILE* err = stderr,
                const PngRenderer& renderPng = {});

}  // namespace readyscope
