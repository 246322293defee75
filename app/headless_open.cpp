#include "headless_open.h"

#include <QFileInfo>
#include <QSize>
#include <QString>
#include <algorithm>
#include <cinttypes>
#include <string>
#include <vector>

#include "export_files.h"
#include "models/source_table.h"
#include "session/background_writer.h"
#include "ready/capture/export.h"
#include "ready/capture/recording.h"
#include "ready/capture/store.h"
#include "timeline/laneindex.h"

namespace readyscope {

namespace {

using namespace ready::capture;

/// Hands each batch read from the file to the exporters (when the store could not hold it all).
class ExportSink final : public RecordingSink {
 public:
  explicit ExportSink(ExportFiles& files) : m_files(files) {}
  void on_records(std::span<const Record> batch) override {
    if (!m_error.empty()) return;
    if (auto r = m_files.write(batch); !r) m_error = r.error();
  }
  [[nodiscard]] const std::string& error() const { return m_error; }

 private:
  ExportFiles& m_files;
  std::string m_error;
};

/// The first read: the records into the store (the oldest evicted past its bound), and what
/// the summary says of the whole file.
class OpenSink final : public RecordingSink {
 public:
  explicit OpenSink(RecordStore& store) : m_store(store) {}
  void on_records(std::span<const Record> batch) override {
    for (const Record& r : batch) {
      m_store.append(r);
      m_sources += r.kind == RecordKind::source_added ? 1 : 0;
      if (!m_any) m_first = r.t_ns;
      m_any = true;
      m_last = std::max(m_last, r.t_ns);
    }
  }
  [[nodiscard]] std::uint64_t sources() const { return m_sources; }
  [[nodiscard]] std::uint64_t first_t() const { return m_first; }
  [[nodiscard]] std::uint64_t last_t() const { return m_last; }

 private:
  RecordStore& m_store;
  std::uint64_t m_sources = 0, m_first = 0, m_last = 0;
  bool m_any = false;
};

int fail(std::FILE* err, int code, const std::string& what) {
  std::fprintf(err, "readyscope: %s\n", what.c_str());
  return code;
}

}  // namespace

int runOpen(const HeadlessPlan& plan, std::FILE* out, std::FILE* err, const PngRenderer& renderPng,
            StoreLimits limits) {
  const std::string& path = *plan.open_path;
  RecordStore store(limits);
  // The whole file is validated before anything is written: a bad file leaves no output. The
  // summary is of the file, not of what the store kept.
  OpenSink sink(store);
  const auto info = read_recording(path, sink);
  if (!info) return fail(err, kExitUsage, info.error().message());
  const std::uint64_t sources = sink.sources(), t0 = sink.first_t(), t1 = sink.last_t();
  std::fprintf(
      out, "readyscope: %s: %" PRIu64 " records, %" PRIu64 " sources, %.6f s (%.6f .. %.6f s), started %s\n",
      path.c_str(), info->records, sources, static_cast<double>(t1 - t0) / 1e9, static_cast<double>(t0) / 1e9,
      static_cast<double>(t1) / 1e9, info->started.c_str());
  if (!info->ended_with_stats)
    std::fprintf(
        out,
        "readyscope: warning: %s does not end with a stats line: the recorder was stopped before it could "
        "finish; the %" PRIu64 " records read are all there is\n",
        path.c_str(), info->records);
  if (store.evicted() != 0)
    std::fprintf(out,
                 "readyscope: %s holds more than %" PRIu64 " records: the oldest %" PRIu64
                 " were evicted from the picture (the exports have every record)\n",
                 path.c_str(), limits.max_records, store.evicted());
  std::fflush(out);

  // The recording's own tables answer the lookups a live engine answers.
  ExportOptions lookups;
  lookups.capture_name = "readyscope " + QFileInfo(QString::fromStdString(path)).fileName().toStdString() +
                         (info->started.empty() ? std::string() : " (started " + info->started + ")");
  const ready::ui::BatchContext tables{info->notes, info->sources, info->peers};
  const ready::ui::BatchContext* const current = &tables;
  ready::ui::answer_from(lookups, &current);
  auto files = ExportFiles::create(plan, lookups);
  if (!files) return fail(err, kExitUsage, files.error());
  if (!files->empty()) {
    if (store.evicted() == 0) {
      // In slices, as the window's export worker takes them from its store.
      std::vector<Record> slice;
      slice.reserve(RecordingSink::kBatch);
      for (std::uint64_t i = store.begin_index(); i < store.end_index();) {
        slice.clear();
        for (; i < store.end_index() && slice.size() < RecordingSink::kBatch; ++i)
          slice.push_back(store.at(i));
        if (auto w = files->write(slice); !w) break;
      }
    } else {
      ExportSink toFiles(*files);
      if (auto again = read_recording(path, toFiles); !again)
        return fail(err, kExitRuntime, again.error().message());
    }
    if (auto c = files->close(); !c) return fail(err, kExitRuntime, c.error());
    files->print(out);
  }

  if (plan.png_path) {
    if (!renderPng) return fail(err, kExitRuntime, "--png: this program has no timeline renderer");
    ready::ui::LaneIndex lanes(store);
    ready::ui::SourceTable table([&info](std::uint64_t token) -> std::optional<SourceInfo> {
      const auto it = info->sources.find(token);
      if (it == info->sources.end()) return std::nullopt;
      SourceInfo s;
      s.local = it->second.local;
      s.peer = it->second.peer;
      return s;
    });
    lanes.set_note_text([&info](std::uint64_t id) {
      const auto it = info->notes.find(id);
      return it == info->notes.end() ? QString() : QString::fromStdString(it->second);
    });
    for (std::uint64_t i = store.begin_index(); i < store.end_index(); ++i) {
      const Record r = store.at(i);
      lanes.on_record(r, i);
      table.on_record(r, i);
    }
    auto png = renderPng(
        store, lanes,
        [&table](std::uint64_t token) {
          const ready::ui::SourceRow* row = table.find(token);
          return row ? QString::fromStdString(row->label()) : QStringLiteral("#%1").arg(token);
        },
        QSize(plan.png_width, plan.png_height), QString::fromStdString(*plan.png_path));
    if (!png) return fail(err, kExitRuntime, png.error().toStdString());
    std::fprintf(out, "readyscope: timeline rendered to %s (%dx%d)\n", plan.png_path->c_str(), plan.png_width,
                 plan.png_height);
  }
  if (plan.follow) {
    if (auto f = follow_recording(*plan.follow, path, out); !f) return fail(err, kExitRuntime, f.error());
  }
  return kExitOk;
}

}  // namespace readyscope
