#include "window/file_actions.h"

#include <QAction>
#include <QCheckBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QFormLayout>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QMenu>
#include <QProgressBar>
#include <QTimer>
#include <QToolButton>

#include "models/event_log_model.h"
#include "models/text_colours.h"
#include "ready/capture/engine.h"
#include "ready/capture/export.h"
#include "ready/capture/recording.h"
#include "session/capture_session.h"
#include "session/file_jobs.h"
#include "timeline/timelineview.h"
#include "window/main_window.h"

namespace ready::ui {

namespace {

/// The most payload one fetch copies (Engine::payload allocates what it may copy); the
/// recorder asks again until it has everything new.
constexpr std::size_t kPayloadFetchBytes = 256 * 1024;

QString count_text(std::uint64_t n) { return QLocale().toString(static_cast<qulonglong>(n)); }

}  // namespace

FileActions::FileActions(MainWindow& window) : QObject(&window), window_(window) {
  save_ = new QAction(tr("Save &recording as…"), this);
  save_->setShortcut(QKeySequence::Save);
  save_->setToolTip(tr("Write the records held now to a recording file (in the background)"));
  connect(save_, &QAction::triggered, this, [this] { chooseAndSave(Format::recording); });

  export_menu_ = new QMenu(tr("&Export"), &window);
  connect(export_menu_->addAction(tr("&Trace (Perfetto, chrome://tracing)…")), &QAction::triggered, this,
          [this] { chooseAndSave(Format::trace); });
  connect(export_menu_->addAction(tr("&CSV, every record…")), &QAction::triggered, this,
          [this] { chooseAndSave(Format::csv_all); });
  connect(export_menu_->addAction(tr("CSV, the log as &filtered…")), &QAction::triggered, this,
          [this] { chooseAndSave(Format::csv_filtered); });
  connect(export_menu_->addAction(tr("&Image of the timeline…")), &QAction::triggered, this, &FileActions::chooseImage);

  record_ = new QAction(tr("&Record to…"), this);
  record_->setCheckable(true);
  record_->setToolTip(tr("Write every record from now on to a file while you watch"));
  connect(record_, &QAction::triggered, this, [this](bool on) {
    if (on)
      chooseAndRecord();
    else
      stopRecording();
  });

  status_ = new QWidget(&window);
  auto* lay = new QHBoxLayout(status_);
  lay->setContentsMargins(0, 0, 0, 0);
  rec_label_ = new QLabel(status_);
  rec_label_->setObjectName(QStringLiteral("recordingIndicator"));
  rec_label_->hide();
  progress_ = new QProgressBar(status_);
  progress_->setObjectName(QStringLiteral("fileJobProgress"));
  progress_->setMaximumWidth(220);
  progress_->setTextVisible(true);
  progress_->hide();
  cancel_ = new QToolButton(status_);
  cancel_->setText(tr("Cancel"));
  cancel_->setToolTip(tr("Stop writing; the unfinished file is removed"));
  cancel_->hide();
  connect(cancel_, &QToolButton::clicked, this, [this] {
    if (job_) job_->cancel();
  });
  lay->addWidget(rec_label_);
  lay->addWidget(progress_);
  lay->addWidget(cancel_);
  status_timer_ = new QTimer(this);
  status_timer_->setInterval(250);
  connect(status_timer_, &QTimer::timeout, this, &FileActions::updateStatus);
}

FileActions::~FileActions() {
  // A recording in progress is completed (the writer's destructor writes what is queued).
  if (recorder_) recorder_->stop();
}

std::expected<std::unique_ptr<WriteTarget>, std::string> FileActions::makeTarget(const QString& path, Format format) {
  const std::string file = path.toStdString();
  const auto made = [&file](auto target) -> std::expected<std::unique_ptr<WriteTarget>, std::string> {
    if (!target) return std::unexpected(file + ": " + target.error().message());
    return std::move(*target);
  };
  // The dialogs asked before replacing a file.
  if (format == Format::recording) {
    capture::RecordingWriterOptions o;
    o.overwrite = true;
    o.queue = true;  // the capture's queue records, if it has any (a version-3 file)
    return made(LookupTarget<capture::RecordingWriter, capture::RecordingWriterOptions>::create(file, std::move(o)));
  }
  capture::ExportOptions o;
  o.overwrite = true;
  o.capture_name = window_.windowTitle().toStdString();
  if (format == Format::trace)
    return made(LookupTarget<capture::TraceWriter, capture::ExportOptions>::create(file, std::move(o)));
  return made(LookupTarget<capture::CsvWriter, capture::ExportOptions>::create(file, std::move(o)));
}

bool FileActions::saveTo(const QString& path, Format format) {
  if (job_) {
    window_.showMessage(tr("A file is being written already (%1); wait for it or cancel it").arg(job_->path()), true);
    return false;
  }
  auto target = makeTarget(path, format);
  if (!target) {
    window_.showMessage(QString::fromStdString(target.error()), true);
    return false;
  }
  std::function<bool(std::uint64_t)> filter;
  if (format == Format::csv_filtered && window_.eventLogModel()->filter().active()) {
    EventLogModel* log = window_.eventLogModel();
    filter = [log](std::uint64_t index) { return log->matches(index); };
  }
  auto* job = new StoreWriteJob(window_.session(), std::move(*target), path, std::move(filter), this);
  job_ = job;
  connect(job, &StoreWriteJob::progress, this, [this](std::uint64_t done, std::uint64_t total) {
    progress_->setMaximum(1000);
    progress_->setValue(total == 0 ? 1000 : static_cast<int>(done * 1000 / total));
    progress_->setFormat(tr("%1 of %2 records").arg(count_text(done), count_text(total)));
  });
  connect(job, &StoreWriteJob::finished, this, [this, job](const QString& error) {
    const QString name = QFileInfo(job->path()).fileName();
    if (error.isEmpty()) {
      QString text = tr("Wrote %1 records to %2").arg(count_text(job->written()), job->path());
      if (job->evictedBeforeCopy() != 0)
        text += tr(" (%1 older records were evicted by the store's bound before they could be copied)")
                    .arg(count_text(job->evictedBeforeCopy()));
      window_.showMessage(text, job->evictedBeforeCopy() != 0);
    } else if (error == QLatin1String("cancelled")) {
      window_.showMessage(tr("Writing %1 cancelled; the file was removed").arg(name), false);
    } else {
      window_.showMessage(tr("Writing %1 failed: %2").arg(job->path(), error), true);
    }
    progress_->hide();
    cancel_->hide();
    job_ = nullptr;  // a new job may start from a jobFinished handler
    job->deleteLater();
    emit jobFinished(job->path(), error);
  });
  progress_->setValue(0);
  progress_->show();
  cancel_->show();
  job->start();
  return true;
}

bool FileActions::exportImage(const QString& path) {
  if (!window_.timeline()->grab().save(path, "PNG")) {
    window_.showMessage(tr("Cannot write the image %1").arg(path), true);
    return false;
  }
  window_.showMessage(tr("Wrote the timeline as shown to %1").arg(path), false);
  return true;
}

bool FileActions::startRecording(const RecordSettings& settings) {
  if (recorder_) {
    window_.showMessage(tr("Already recording to %1").arg(recorder_->path()), true);
    return false;
  }
  capture::Engine* engine = window_.session().bridge().engine();
  if (!window_.session().is_live() || !engine) {
    window_.showMessage(tr("Record to… needs a live capture"), true);
    record_->setChecked(false);
    return false;
  }
  capture::RecorderOptions o;
  o.path = settings.path.toStdString();
  o.overwrite = settings.overwrite;
  o.payload = settings.payload;
  o.queue = true;  // View > Queue sampling may switch it on at any time
  o.max_file_bytes = settings.max_file_bytes;
  o.max_files = settings.max_files;
  // These run on the writer's thread: the engine's payload copies and counters are safe there.
  o.payload_fetch = [engine](std::uint64_t token, std::uint64_t since) {
    return engine->payload(Token(token), since, kPayloadFetchBytes);
  };
  o.counts = [engine] { return std::pair{engine->produced(), engine->dropped()}; };
  o.on_file_closed = [this](const std::string& path, std::uint64_t records) {
    QMetaObject::invokeMethod(
        this,
        [this, p = QString::fromStdString(path), records] {
          window_.showMessage(tr("Closed %1 (%2 records)").arg(p, count_text(records)), false);
        },
        Qt::QueuedConnection);
  };
  auto target = RecorderTarget::create(std::move(o));
  if (!target) {
    window_.showMessage(tr("Record to: %1").arg(QString::fromStdString(target.error())), true);
    record_->setChecked(false);
    return false;
  }
  const QString path = settings.path;
  auto* rec = new LiveRecorder(window_.session(), std::move(*target), path, this);
  recorder_ = rec;
  connect(rec, &LiveRecorder::finished, this, [this, rec](const QString& error) {
    if (error.isEmpty())
      window_.showMessage(tr("Recording %1 complete: %2 records").arg(rec->path(), count_text(rec->written())),
                          rec->notWritten() != 0);
    else
      window_.showMessage(tr("Recording to %1 failed: %2").arg(rec->path(), error), true);
    recorder_ = nullptr;  // a new recording may start from a recordingFinished handler
    rec->deleteLater();
    rec_label_->hide();
    status_timer_->stop();
    emit recordingFinished(rec->path(), error);
  });
  record_->setChecked(true);
  record_->setText(tr("Stop &recording"));
  rec_label_->show();
  status_timer_->start();
  updateStatus();
  window_.showMessage(tr("Recording to %1%2").arg(path, settings.payload ? tr(" (with payload)") : QString()), false);
  return true;
}

void FileActions::stopRecording() {
  record_->setChecked(false);
  record_->setText(tr("&Record to…"));
  if (recorder_) recorder_->stop();
}

void FileActions::updateStatus() {
  if (!recorder_) return;
  QString text = tr("● REC %1: %2 written").arg(QFileInfo(recorder_->path()).fileName(), count_text(recorder_->written()));
  if (recorder_->notWritten() != 0)
    text += tr(", %1 not written (the disk is slower than the capture)").arg(count_text(recorder_->notWritten()));
  rec_label_->setText(text);
  rec_label_->setToolTip(recorder_->path());
  const QString red = text_colour(TextTone::alarm).name();
  rec_label_->setStyleSheet(recorder_->notWritten() != 0 ? QStringLiteral("color: %1; font-weight: bold").arg(red)
                                                         : QStringLiteral("color: %1").arg(red));
}

void FileActions::chooseAndSave(Format format) {
  QString title, name, filter;
  switch (format) {
    case Format::recording:
      title = tr("Save recording");
      name = QStringLiteral("capture.jsonl");
      filter = tr("ReadyScope recordings (*.jsonl)");
      break;
    case Format::trace:
      title = tr("Export trace");
      name = QStringLiteral("capture.trace.json");
      filter = tr("Chrome trace (*.json)");
      break;
    case Format::csv_all:
    case Format::csv_filtered:
      title = format == Format::csv_all ? tr("Export CSV (every record)") : tr("Export CSV (the log as filtered)");
      name = QStringLiteral("capture.csv");
      filter = tr("CSV (*.csv)");
      break;
  }
  const QString path = QFileDialog::getSaveFileName(&window_, title, name, filter);
  if (!path.isEmpty()) saveTo(path, format);
}

void FileActions::chooseAndRecord() {
  // One dialog: the file, payload, and a ring of files (as --record, --record-payload,
  // --max-file-size and --max-files).
  QDialog d(&window_);
  d.setWindowTitle(tr("Record to"));
  auto* form = new QFormLayout(&d);
  auto* pathRow = new QHBoxLayout;
  auto* path = new QLineEdit(QDir::current().filePath(QStringLiteral("capture.jsonl")), &d);
  path->setObjectName(QStringLiteral("recordPath"));
  auto* browse = new QPushButton(tr("Browse…"), &d);
  pathRow->addWidget(path);
  pathRow->addWidget(browse);
  connect(browse, &QPushButton::clicked, &d, [&d, path, this] {
    const QString p = QFileDialog::getSaveFileName(&d, tr("Record to"), path->text(), tr("ReadyScope recordings (*.jsonl)"));
    if (!p.isEmpty()) path->setText(p);
  });
  form->addRow(tr("File:"), pathRow);
  auto* payload = new QCheckBox(tr("Include payload bytes (the inspector shows them when the file is opened)"), &d);
  form->addRow(QString(), payload);
  auto* split = new QCheckBox(tr("Split into files of at most"), &d);
  auto* size = new QSpinBox(&d);
  size->setRange(1, 1024 * 1024);
  size->setValue(100);
  size->setSuffix(tr(" MiB"));
  auto* keep = new QSpinBox(&d);
  keep->setRange(0, 100000);
  keep->setValue(10);
  keep->setSpecialValueText(tr("all"));
  keep->setPrefix(tr("keep "));
  keep->setSuffix(tr(" files"));
  auto* splitRow = new QHBoxLayout;
  splitRow->addWidget(split);
  splitRow->addWidget(size);
  splitRow->addWidget(keep);
  size->setEnabled(false);
  keep->setEnabled(false);
  connect(split, &QCheckBox::toggled, size, &QWidget::setEnabled);
  connect(split, &QCheckBox::toggled, keep, &QWidget::setEnabled);
  form->addRow(QString(), splitRow);
  form->addRow(QString(), new QLabel(tr("Files of a ring are named NAME_00001_YYYYMMDDhhmmss.jsonl; the oldest is "
                                        "deleted beyond the count kept."),
                                     &d));
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &d);
  connect(buttons, &QDialogButtonBox::accepted, &d, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, &d, &QDialog::reject);
  form->addRow(buttons);
  if (d.exec() != QDialog::Accepted || path->text().trimmed().isEmpty()) {
    record_->setChecked(false);
    return;
  }
  RecordSettings settings;
  settings.path = path->text().trimmed();
  settings.payload = payload->isChecked();
  if (split->isChecked()) {
    settings.max_file_bytes = static_cast<std::uint64_t>(size->value()) << 20;
    settings.max_files = static_cast<std::size_t>(keep->value());
  }
  if (!split->isChecked() && QFileInfo::exists(settings.path) &&
      QMessageBox::question(&window_, tr("Record to"), tr("%1 exists. Replace it?").arg(settings.path)) !=
          QMessageBox::Yes) {
    record_->setChecked(false);
    return;
  }
  settings.overwrite = true;  // asked just now
  startRecording(settings);
}

void FileActions::chooseImage() {
  const QString path = QFileDialog::getSaveFileName(&window_, tr("Export image"), QStringLiteral("timeline.png"),
                                                    tr("PNG images (*.png)"));
  if (!path.isEmpty()) exportImage(path);
}

}  // namespace ready::ui
