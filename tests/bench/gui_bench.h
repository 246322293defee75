// The GUI workloads of readyscope-bench (issue "Desktop app"): each prints one
// `workload=<name> impl=readyscope ...` line and returns a process exit code.
#pragma once

/// `-o paint`: timeline paint of 10M stored records across 32 lanes at 1920 px, full range
/// and a 1 % zoom; `ms_per_frame=` (median of 50 frames) per view (gui_paint.cpp).
int gui_paint_main();
/// `-o ingest`: `rate` readiness records/s for `seconds` through a RecordRing + Notifier and
/// the bridge into the store with the main window open: records_per_s, max_frame_gap_ms,
/// dropped, rss_mb.
int gui_ingest_main(double seconds = 10.0, double rate = 1e6);
/// `-o startup`: process start of `readyscope` (beside this binary) to its first painted
/// frame, median of `runs`: `ms=`.
int gui_startup_main(int runs = 5);
/// `-o open`: writes a recording of `records` records (an echo server's mix; not timed), then
/// opens it as the window does (RecordingFeed, Bridge, the session's models, a MainWindow
/// offscreen) until the last record is in the store: records_per_s, reader_s (when the
/// reader thread had read the whole file), max_frame_gap_ms (and the GUI thread's CPU time in
/// the longest gap), the CPU seconds of the GUI thread and of the reader (gui_open.cpp).
int gui_open_main(long records);
/// `-o lanes`: the window with 20,000 lanes (10,000 relayed connections, made-up records
/// through a RingFeed): ingest, timeline scroll (Page Down + render at 1920x1080, p50 / p99 /
/// max ms per frame), a lane filter's first frame, sources table scroll and filter
/// (gui_lanes.cpp).
int gui_lanes_main();
