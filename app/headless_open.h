// `readyscope --headless --open FILE`: a recording read instead of a capture.
#pragma once

#include <cstdio>

#include "cli.h"
#include "headless.h"
#include "ready/capture/store.h"

namespace readyscope {

/// The records a recording opened headless is loaded into at most (the oldest beyond it are
/// evicted, and the count printed): 2^26, more than the 4 GiB the reader accepts holds at
/// 64 bytes a line.
inline constexpr std::uint64_t kOpenStoreRecords = std::uint64_t{1} << 26;

/// Reads plan.open_path with read_recording into a store of `limits` (by default
/// kOpenStoreRecords records; a test passes a small bound), prints one summary line (records,
/// sources, time span), a warning line when the file does not end with a stats line, and the
/// evicted count when the file held more than the store's bound; then writes --export-trace,
/// --export-csv (every record of the file: read again from the file when some were evicted)
/// and --png. A bad file: its one-line error on `err`, kExitUsage, and no file written.
int runOpen(const HeadlessPlan& plan, std::FILE* out, std::FILE* err, const PngRenderer& renderPng,
            ready::capture::StoreLimits limits = {.max_records = kOpenStoreRecords});

}  // namespace readyscope
