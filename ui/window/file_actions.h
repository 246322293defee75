// The window's file actions that write: Save recording, Export (trace, CSV, image) and
// Capture > Record to…, each running off the GUI thread with progress in the status bar.
#pragma once

#include <QObject>
#include <QPointer>
#include <QString>

#include <cstdint>
#include <expected>
#include <memory>
#include <string>

#include "session/file_jobs.h"

class QAction;
class QLabel;
class QMenu;
class QProgressBar;
class QTimer;
class QToolButton;
class QWidget;

namespace ready::ui {

class MainWindow;

/// Owns the actions and the one file job at a time (a save or an export: its progress bar
/// and Cancel button sit in the status bar), and the live recorder (a "REC" label in the
/// status bar with what was written and what could not be). Messages go to the window's
/// status line. A child of the window.
class FileActions : public QObject {
  Q_OBJECT

 public:
  explicit FileActions(MainWindow& window);
  ~FileActions() override;

  /// File > Save recording as… (Ctrl+S): the store as a recording.
  [[nodiscard]] QAction* saveAction() const noexcept { return save_; }
  /// File > Export: Trace (Perfetto)…, CSV (everything)…, CSV (the log as filtered)…, Image…
  [[nodiscard]] QMenu* exportMenu() const noexcept { return export_menu_; }
  /// Capture > Record to… / Stop recording (a toggle; disabled for a capture that is not live).
  [[nodiscard]] QAction* recordAction() const noexcept { return record_; }
  /// The status bar's part: job progress and Cancel, and the recording indicator.
  [[nodiscard]] QWidget* statusWidget() const noexcept { return status_; }

  enum class Format { recording, trace, csv_all, csv_filtered };
  /// Writes the store to `path` in `format` (what the menu items do after their dialog).
  /// False (and a message) when a job is already running or the file cannot be created.
  bool saveTo(const QString& path, Format format);
  /// The timeline as shown, as a PNG.
  bool exportImage(const QString& path);
  /// How Record to… writes (the dialog's choices; `--record` and its companions).
  struct RecordSettings {
    QString path;
    bool overwrite = false;
    bool payload = false;                ///< the bytes each read and write moved (version 2)
    std::uint64_t max_file_bytes = 0;    ///< a ring of files of at most this size (0: one file)
    std::size_t max_files = 0;           ///< with max_file_bytes: files kept (0: all)
  };
  /// Starts recording every record from now on (what Record to… and `--record` with the
  /// window do), through capture::Recorder on a worker thread. False (and a message) when
  /// the capture is not live or the file cannot be created.
  bool startRecording(const RecordSettings& settings);
  void stopRecording();

  [[nodiscard]] StoreWriteJob* job() const noexcept { return job_; }
  [[nodiscard]] LiveRecorder* recorder() const noexcept { return recorder_; }

 signals:
  /// A save/export finished (error "" on success, "cancelled", or why it failed).
  void jobFinished(const QString& path, const QString& error);
  /// The live recording's file is complete (error "" on success).
  void recordingFinished(const QString& path, const QString& error);

 private:
  void chooseAndSave(Format format);
  void chooseAndRecord();
  void chooseImage();
  void updateStatus();
  std::expected<std::unique_ptr<WriteTarget>, std::string> makeTarget(const QString& path, Format format);

  MainWindow& window_;
  QAction* save_ = nullptr;
  QMenu* export_menu_ = nullptr;
  QAction* record_ = nullptr;
  QWidget* status_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QToolButton* cancel_ = nullptr;
  QLabel* rec_label_ = nullptr;
  QTimer* status_timer_ = nullptr;
  QPointer<StoreWriteJob> job_;
  QPointer<LiveRecorder> recorder_;
};

}  // namespace ready::ui
