#include "window/timeline_png.h"

#include <QImage>
#include <QPainter>

#include "timeline/laneindex.h"
#include "timeline/timelineview.h"

namespace ready::ui {

std::expected<void, QString> render_timeline_png(const capture::RecordStore& store, const LaneIndex& lanes,
                                                 std::function<QString(std::uint64_t)> labeler, QSize size,
                                                 const QString& path) {
  TimelineView view;
  view.setData(&store, &lanes);
  if (labeler) view.setLabeler(std::move(labeler));
  view.resize(size);
  view.setFollowLive(false);
  view.zoomReset();
  QImage image(size, QImage::Format_RGB32);
  image.fill(view.palette().color(QPalette::Window));
  {
    QPainter p(&image);
    view.render(p, QRect(QPoint(0, 0), size));
  }
  if (!image.save(path, "PNG")) return std::unexpected(QStringLiteral("--png %1: cannot write the file").arg(path));
  return {};
}

}  // namespace ready::ui
