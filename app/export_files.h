// --export-trace and --export-csv: the exporters a headless run writes (a live capture as
// it drains, or an opened recording), created together, fed together, closed together.
#pragma once

#include <cstdio>
#include <expected>
#include <optional>
#include <span>
#include <string>

#include "cli.h"
#include "ready/capture/export.h"

namespace readyscope {

class ExportFiles {
 public:
  /// Creates the files `plan` names (none: a set that does nothing), each with `options`'
  /// lookups (and plan.overwrite). On failure: one line naming the flag and the file; a file
  /// this call created before the failure is removed again.
  static std::expected<ExportFiles, std::string> create(const HeadlessPlan& plan,
                                                        const ready::capture::ExportOptions& options);

  [[nodiscard]] bool empty() const { return !m_trace && !m_csv; }
  /// Writes the records to every file. The first failure is returned as one line naming the
  /// flag, and every later call returns it without writing.
  std::expected<void, std::string> write(std::span<const ready::capture::Record> records);
  /// Closes every file (the trace gets its last counters and its end). The first failure, as
  /// one line.
  std::expected<void, std::string> close();
  /// Prints one line per file written (`readyscope: trace written to ...`).
  void print(std::FILE* out) const;

 private:
  const HeadlessPlan* m_plan = nullptr;
  std::optional<ready::capture::TraceWriter> m_trace;
  std::optional<ready::capture::CsvWriter> m_csv;
  std::string m_error;
};

}  // namespace readyscope
