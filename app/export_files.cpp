#include "export_files.h"

#include <QFile>
#include <QString>
#include <cinttypes>
#include <utility>

namespace readyscope {

using ready::capture::CsvWriter;
using ready::capture::ExportOptions;
using ready::capture::TraceWriter;

std::expected<ExportFiles, std::string> ExportFiles::create(const HeadlessPlan& plan,
                                                            const ExportOptions& options) {
  ExportFiles f;
  f.m_plan = &plan;
  ExportOptions o = options;
  o.overwrite = plan.overwrite;
  if (plan.export_trace_path) {
    auto w = TraceWriter::create(*plan.export_trace_path, o);
    if (!w) return std::unexpected("--export-trace " + *plan.export_trace_path + ": " + w.error().message());
    f.m_trace.emplace(std::move(*w));
  }
  if (plan.export_csv_path) {
    auto w = CsvWriter::create(*plan.export_csv_path, o);
    if (!w) {
      if (f.m_trace) {
        (void)f.m_trace->close();
        f.m_trace.reset();
        QFile::remove(QString::fromStdString(*plan.export_trace_path));
      }
      return std::unexpected("--export-csv " + *plan.export_csv_path + ": " + w.error().message());
    }
    f.m_csv.emplace(std::move(*w));
  }
  return f;
}

std::expected<void, std::string> ExportFiles::write(std::span<const ready::capture::Record> records) {
  if (!m_error.empty()) return std::unexpected(m_error);
  if (m_trace) {
    if (auto r = m_trace->write(records); !r)
      m_error = "--export-trace " + *m_plan->export_trace_path + ": " + r.error().message();
  }
  if (m_csv && m_error.empty()) {
    if (auto r = m_csv->write(records); !r)
      m_error = "--export-csv " + *m_plan->export_csv_path + ": " + r.error().message();
  }
  if (!m_error.empty()) return std::unexpected(m_error);
  return {};
}

std::expected<void, std::string> ExportFiles::close() {
  if (m_trace) {
    if (auto r = m_trace->close(); !r && m_error.empty())
      m_error = "--export-trace " + *m_plan->export_trace_path + ": " + r.error().message();
  }
  if (m_csv) {
    if (auto r = m_csv->close(); !r && m_error.empty())
      m_error = "--export-csv " + *m_plan->export_csv_path + ": " + r.error().message();
  }
  if (!m_error.empty()) return std::unexpected(m_error);
  return {};
}

void ExportFiles::print(std::FILE* out) const {
  if (m_trace)
    std::fprintf(out, "readyscope: trace written to %s (%" PRIu64 " events for %" PRIu64 " records)\n",
                 m_plan->export_trace_path->c_str(), m_trace->events(), m_trace->records());
  if (m_trace && m_trace->spans_clamped() != 0)
    std::fprintf(out,
                 "readyscope: %" PRIu64 " epoll_wait spans shortened so as not to overlap the one before\n",
                 m_trace->spans_clamped());
  if (m_csv)
    std::fprintf(out, "readyscope: csv written to %s (%" PRIu64 " rows)\n", m_plan->export_csv_path->c_str(),
                 m_csv->records());
}

}  // namespace readyscope
