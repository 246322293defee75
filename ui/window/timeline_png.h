// Rendering the timeline of a finished capture to a PNG, without a window (--png).
#pragma once

#include <QSize>
#include <QString>

#include <cstdint>
#include <expected>
#include <functional>

#include "ready/capture/store.h"

namespace ready::ui {

class LaneIndex;

/// Renders the whole capture in `store` (every lane of `lanes`, the full time range, the
/// legend and the time axis) into a `size` image with the application's palette and saves
/// it as a PNG at `path` (replaced if it exists). Needs a QGuiApplication (any platform,
/// offscreen included). Returns one line saying what failed, otherwise nothing.
std::expected<void, QString> render_timeline_png(const capture::RecordStore& store, const LaneIndex& lanes,
                                                 std::function<QString(std::uint64_t)> labeler, QSize size,
                                                 const QString& path);

}  // namespace ready::ui
