// The timeline at 200 % (QT_SCALE_FACTOR=2, set by CTest and by main() below when unset):
// the lane raster and the glyphs are drawn at the device pixel ratio, so they are as sharp
// as the screen: twice the pixels of the plot in each direction.
#include <QPainter>
#include <QTemporaryDir>
#include <QtTest>
#include <memory>

#include "ready/capture/store.h"
#include "ready_test.h"
#include "timeline/lane_painter.h"
#include "timeline/timelineview.h"
#include "window_test_util.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::ui;
using namespace ready::test;

class TestHiDpi : public QObject {
  Q_OBJECT

  QTemporaryDir m_settingsDir;

 private slots:
  void initTestCase() { QVERIFY(prepare_window_suite(QStringLiteral("tst_hidpi"), m_settingsDir.path())); }

  void laneRasterHasTheDevicePixels() {
    auto window = open_live_window({1200, 800});
    QVERIFY(window);
    MainWindow& w = *window;
    TimelineView* view = w.timeline();
    QCOMPARE(view->devicePixelRatio(), 2.0);

    // A real eventfd, written twice: readable marks and actions on its lane.
    const auto t = w.bridge().submit(cmd::EventFdCreate{});
    QVERIFY(t);
    QVERIFY(w.bridge().submit(cmd::EventFdWrite{t->token, 1}));
    QVERIFY(w.bridge().submit(cmd::EventFdWrite{t->token, 2}));
    QTRY_VERIFY_WITH_TIMEOUT(w.laneIndex().lane_of(t->token.value).has_value(), 10000);
    QTRY_VERIFY_WITH_TIMEOUT(w.bridge().store().size() >= 5, 10000);
    w.bridge().flush_frame();
    view->repaint();

    const QRect plot = view->plotRect();
    const QImage& raster = view->laneRaster();
    QCOMPARE(raster.devicePixelRatio(), 2.0);
    QCOMPARE(raster.width(), 2 * plot.width());
    QCOMPARE(raster.height(), 2 * plot.height());
    // The glyphs are drawn at the same resolution.
    QCOMPARE(view->glyphs().readiness(0).devicePixelRatio(), 2.0);
    QCOMPARE(view->glyphs().readiness(0).width(), 2 * kGlyph);

    // The same view painted into a plain image (--png, the export) stays at one pixel per pixel.
    QImage flat(view->size(), QImage::Format_RGB32);
    QPainter p(&flat);
    view->render(p, flat.rect());
    p.end();
    QCOMPARE(view->laneRaster().width(), view->plotRect().width());
  }
};

int main(int argc, char** argv) {
  // CTest sets it; run by hand the suite still tests 200 %.
  if (qEnvironmentVariableIsEmpty("QT_SCALE_FACTOR")) qputenv("QT_SCALE_FACTOR", "2");
  QApplication app(argc, argv);
  TestHiDpi t;
  return QTest::qExec(&t, argc, argv);
}
#include "tst_hidpi.moc"
