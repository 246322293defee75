// The capture session: what a real engine's records become, and the order in which each
// frame reaches its consumers (models before views, whatever order they were added in).
#include <QtTest>

#include <memory>
#include <vector>

#include "models/event_log_model.h"
#include "models/source_table.h"
#include "models/sources_model.h"
#include "models/warnings_model.h"
#include "models_test_util.h"
#include "ready_test.h"
#include "session/bridge.h"
#include "session/capture_session.h"
#include "timeline/laneindex.h"

using namespace ready;
using namespace ready::capture;
using namespace ready::ui;
using namespace ready::test;

namespace {

/// A view-stage consumer that writes down, at each frame, what the models show then.
struct Probe : FrameConsumer {
  struct Seen {
    Frame frame;
    int source_rows = 0;      ///< SourcesModel rows
    std::size_t table_rows = 0;  ///< SourceTable rows
    int log_rows = 0;         ///< EventLogModel rows
    std::uint64_t stored = 0;  ///< store end - begin
  };
  Probe(CaptureSession& s, const SourcesModel*& sources, const EventLogModel*& log)
      : session(s), sources_model(sources), log_model(log) {}
  void take_frame(const Frame& f) override {
    Seen seen;
    seen.frame = f;
    seen.source_rows = sources_model ? sources_model->rowCount() : -1;
    seen.table_rows = session.sources().rows().size();
    seen.log_rows = log_model ? log_model->rowCount() : -1;
    seen.stored = session.store().end_index() - session.store().begin_index();
    frames.push_back(seen);
  }
  CaptureSession& session;
  const SourcesModel*& sources_model;
  const EventLogModel*& log_model;
  std::vector<Seen> frames;
};

}  // namespace

class TestCaptureSession : public CoreTest {
  Q_OBJECT

 private slots:
  // The view is added before the models exist; it still sees every frame after them, with
  // every source and every record of the frame in them.
  void framesReachModelsBeforeViews() {
    START_BRIDGE(bridge, EngineConfig{}, Bridge::Options{});
    CaptureSession session(*bridge);
    const SourcesModel* sources_ptr = nullptr;
    const EventLogModel* log_ptr = nullptr;
    Probe probe(session, sources_ptr, log_ptr);
    session.add_consumer(CaptureSession::Stage::views, &probe);
    SourcesModel sources(session);
    EventLogModel log(session);
    sources_ptr = &sources;
    log_ptr = &log;
    QSignalSpy delivered(&session, &CaptureSession::frameDelivered);

    QVERIFY_OK(session.submit(cmd::Pipe{}));
    QVERIFY_OK(session.submit(cmd::EventFdCreate{}));
    QVERIFY_OK(session.submit(cmd::Note{"done"}));
    std::optional<std::uint64_t> note;
    WAIT_RECORD(*bridge, note, [](const Record& r) { return r.kind == RecordKind::note; });
    bridge->stop();  // drains and flushes the last frame

    QVERIFY(!probe.frames.empty());
    QCOMPARE(static_cast<std::size_t>(delivered.count()), probe.frames.size());
    for (const Probe::Seen& s : probe.frames) {
      QCOMPARE(static_cast<std::size_t>(s.source_rows), s.table_rows);
      QCOMPARE(static_cast<std::uint64_t>(s.log_rows), s.stored);
    }
    QCOMPARE(probe.frames.back().table_rows, std::size_t{3});  // a pipe's two ends and the eventfd
    QCOMPARE(session.note_text(session.store().at(*note).value), QStringLiteral("done"));
    session.remove_consumer(&probe);
  }

  // What views need beyond records comes through the session, never from the engine.
  void addressesPayloadAndStateThroughTheSession() {
    START_BRIDGE(bridge, EngineConfig{}, Bridge::Options{});
    CaptureSession session(*bridge);
    QVERIFY(session.is_live());
    const auto t = session.submit(cmd::SocketPair{});
    QVERIFY(t);
    QTRY_VERIFY_WITH_TIMEOUT(session.sources().find(t->token.value) != nullptr, kUiWaitMs);
    QVERIFY(session.is_open(t->token.value));
    QVERIFY(session.source_addresses(t->token.value).has_value());
    QVERIFY_OK(session.submit(cmd::Write{t->token, "hi"}));
    QTRY_VERIFY_WITH_TIMEOUT(session.payload(t->token.value, 0) && !session.payload(t->token.value, 0)->chunks.empty(),
                             kUiWaitMs);
    QCOMPARE(session.payload(t->token.value, 0)->chunks.front().bytes.size(), std::size_t{2});
    QVERIFY(session.payload_bound() > 0);
    bridge->stop();
    QVERIFY(!session.is_open(t->token.value));
  }
};

QTEST_MAIN(TestCaptureSession)
#include "tst_capture_session.moc"
