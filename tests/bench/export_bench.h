// `readyscope-bench -o export` (issue 15): records exported to a trace and to CSV.
#pragma once

/// N records of a capture's mix (1000 TCP streams added, then per epoll_wait: a poll_return
/// and, for 4 of the streams, a readiness record, a read and the read that would block, with
/// a write for one of them, and a note every 10000 records) built in memory, then written by
/// TraceWriter and by CsvWriter into a temp directory in slices of 4096, each timed to its
/// close(). Prints one `workload=export_trace ...` and one `workload=export_csv ...` line
/// (records/s as ops_per_s, file_bytes, cpu_s, cpu_ops_per_s); returns the exit code.
int export_bench_main(long records);
