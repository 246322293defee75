#include "window/open_recording.h"

#include <QAction>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QLocale>
#include <QMenu>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QStatusBar>
#include <QStyledItemDelegate>
#include <QUrl>

#include "models/text_colours.h"
#include "session/recording_feed.h"
#include "timeline/timelineview.h"
#include "window/main_window.h"

namespace ready::ui {

namespace {

const QString kRecentKey = QStringLiteral("recent/recordings");

QString count_text(std::uint64_t n) { return QLocale().toString(static_cast<qulonglong>(n)); }

QString mb_text(std::uint64_t bytes) { return QString::number(static_cast<double>(bytes) / 1e6, 'f', 1); }

class ReadOnlyDelegate final : public QStyledItemDelegate {
 public:
  using QStyledItemDelegate::QStyledItemDelegate;
  QWidget* createEditor(QWidget*, const QStyleOptionViewItem&, const QModelIndex&) const override { return nullptr; }
  bool editorEvent(QEvent*, QAbstractItemModel*, const QStyleOptionViewItem&, const QModelIndex&) override {
    return false;  // no check box toggles
  }
};

}  // namespace

QAbstractItemDelegate* read_only_delegate(QObject* parent) { return new ReadOnlyDelegate(parent); }

RecordingView::RecordingView(MainWindow& window, RecordingFeed& feed, const QString& path)
    : QObject(&window), window_(window), feed_(feed), path_(path) {
  setObjectName(QStringLiteral("recordingView"));
  const QFileInfo fi(path);
  window_.setReadOnly(tr("A recording is read-only: it shows what was captured."));
  window_.setWindowTitle(tr("%1 — ReadyScope (recording)").arg(fi.fileName()));

  badge_ = new QLabel(tr("%1 — loading…").arg(fi.fileName()));
  badge_->setObjectName(QStringLiteral("recordingBadge"));
  badge_->setToolTip(fi.absoluteFilePath());
  badge_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  progress_ = new QProgressBar;
  progress_->setObjectName(QStringLiteral("recordingProgress"));
  progress_->setRange(0, 1000);
  // Fixed: its text changes ten times a second, and a widget whose size can change makes
  // the window relayout on every change.
  progress_->setFixedSize(progress_->fontMetrics().horizontalAdvance(
                              tr("%1 records, %2 of %3 MB (100%)").arg(count_text(99'999'999), mb_text(999'999'999'999),
                                                                       mb_text(999'999'999'999))) +
                              24,
                          progress_->sizeHint().height());
  cancel_ = new QPushButton(tr("Cancel"));
  cancel_->setObjectName(QStringLiteral("recordingCancel"));
  cancel_->setToolTip(tr("Stop loading: the records read so far stay shown."));
  connect(cancel_, &QPushButton::clicked, this, [this] { feed_.cancel(); });
  QStatusBar* bar = window_.statusBar();
  bar->insertWidget(0, badge_);
  bar->addPermanentWidget(progress_);
  bar->addPermanentWidget(cancel_);

  progress_timer_.setInterval(100);
  connect(&progress_timer_, &QTimer::timeout, this, &RecordingView::updateProgress);
  progress_timer_.start();
  updateProgress();
  connect(&feed_, &RecordingFeed::finished, this, &RecordingView::onFinished);
}

QMessageBox* RecordingView::errorBox() const noexcept { return error_box_.data(); }

void RecordingView::updateProgress() {
  const auto& p = feed_.progress();
  const std::uint64_t total = p.bytes_total.load(std::memory_order_relaxed);
  const std::uint64_t read = p.bytes_read.load(std::memory_order_relaxed);
  const std::uint64_t records = p.records.load(std::memory_order_relaxed);
  progress_->setValue(total ? static_cast<int>(std::min<std::uint64_t>(1000, read * 1000 / total)) : 0);
  progress_->setFormat(tr("%1 records, %2 of %3 MB (%p%)").arg(count_text(records), mb_text(read), mb_text(total)));
}

void RecordingView::onFinished() {
  loading_ = false;
  progress_timer_.stop();
  progress_->hide();
  cancel_->hide();
  // The last records reach the views now rather than at the next frame tick; then the
  // timeline shows the whole file (nothing more comes to follow).
  window_.bridge().flush_frame();
  window_.timeline()->setFollowLive(false);
  window_.timeline()->zoomReset();

  const QString name = QFileInfo(path_).fileName();
  const auto& outcome = *feed_.outcome();
  const auto& store = window_.session().store();
  // What reached the store (a cancelled reader parses on to the end of its window, handing
  // over nothing more: its own count would say more than the window shows).
  const std::uint64_t read = window_.bridge().status().received;
  QString text;
  bool warn = false;
  if (outcome) {
    double span = 0;
    if (store.size() > 0)
      span = static_cast<double>(store.at(store.end_index() - 1).t_ns - store.at(store.begin_index()).t_ns) / 1e9;
    text = tr("%1 — %2 records, %3 s").arg(name, count_text(outcome->records)).arg(span, 0, 'f', 3);
    if (!outcome->ended_with_stats) {
      text += tr(" — the recorder was stopped before it finished (no final stats line)");
      warn = true;
    }
  } else if (outcome.error().cancelled) {
    text = tr("%1 — cancelled at %2 records").arg(name, count_text(read));
    warn = true;
  } else {
    const capture::RecordingError& e = outcome.error();
    text = e.line ? tr("%1 — incomplete: stopped at line %2").arg(name).arg(e.line)
                  : tr("%1 — not read: %2").arg(name, QString::fromStdString(e.what));
    warn = true;
    const QString message = QString::fromStdString(e.message());
    window_.showStatusMessage(message, true);
    auto* box = new QMessageBox(QMessageBox::Warning, tr("Open recording"), message, QMessageBox::Ok, &window_);
    box->setObjectName(QStringLiteral("recordingError"));
    box->setInformativeText(e.line ? tr("The %1 records before line %2 are shown.").arg(count_text(read)).arg(e.line)
                                   : QString());
    box->setAttribute(Qt::WA_DeleteOnClose);
    // Not modal: the records before the bad line can be looked at with the message up.
    box->setWindowModality(Qt::NonModal);
    error_box_ = box;
    box->show();
  }
  if (store.evicted() > 0) {
    text += tr("; %1 oldest records not kept (store bound)").arg(count_text(store.evicted()));
    warn = true;
  }
  badge_->setText(text);
  if (warn) {
    QPalette pal = badge_->palette();
    pal.setColor(QPalette::WindowText, text_colour(TextTone::failed));
    badge_->setPalette(pal);
  }
  emit loaded();
}

io_result<std::unique_ptr<MainWindow>> make_recording_window(const QString& path, Bridge::Options options,
                                                            RecordingFeed::Limits limits) {
  auto feed = RecordingFeed::open(path.toStdString(), limits);
  if (!feed) return std::unexpected(feed.error());
  RecordingFeed& f = **feed;
  auto window = std::make_unique<MainWindow>(std::make_unique<Bridge>(std::move(*feed), options));
  new RecordingView(*window, f, path);
  return window;
}

RecordingView* recording_view(const MainWindow& window) {
  return window.findChild<RecordingView*>(QString(), Qt::FindDirectChildrenOnly);
}

QString unreadable_reason(const QString& path) {
  const QFileInfo fi(path);
  if (!fi.exists()) return QStringLiteral("%1: no such file").arg(path);
  if (fi.isDir()) return QStringLiteral("%1: is a directory, not a recording").arg(path);
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return QStringLiteral("%1: cannot be read: %2").arg(path, f.errorString());
  return {};
}

MainWindow* open_recording_in_new_window(const QString& path, QWidget* from) {
  if (const QString why = unreadable_reason(path); !why.isEmpty()) {
    forget_recording(path);
    QMessageBox::warning(from, QObject::tr("Open recording"), why);
    return nullptr;
  }
  auto window = make_recording_window(path);
  if (!window) {
    QMessageBox::warning(from, QObject::tr("Open recording"),
                         QObject::tr("%1: cannot start reading: %2").arg(path, QString::fromStdString(window.error().message())));
    return nullptr;
  }
  remember_recording(path);
  MainWindow* w = window->release();
  w->setAttribute(Qt::WA_DeleteOnClose);
  w->show();
  return w;
}

void add_recording_actions(QMenu& file, MainWindow& window) {
  QAction* open = file.addAction(QObject::tr("Open &recording…"));
  open->setObjectName(QStringLiteral("actionOpenRecording"));
  open->setShortcut(QKeySequence::Open);
  open->setToolTip(QObject::tr("Open a recording (.jsonl) in a new window"));
  QObject::connect(open, &QAction::triggered, &window, [&window] {
    const QString path = QFileDialog::getOpenFileName(&window, QObject::tr("Open recording"), QString(),
                                                      QObject::tr("ReadyScope recordings (*.jsonl);;All files (*)"));
    if (!path.isEmpty()) open_recording_in_new_window(path, &window);
  });
  QMenu* recent = file.addMenu(QObject::tr("Open r&ecent"));
  recent->setObjectName(QStringLiteral("menuRecentRecordings"));
  QObject::connect(recent, &QMenu::aboutToShow, &window, [recent, &window] {
    recent->clear();
    const QStringList paths = recent_recordings();
    for (int i = 0; i < paths.size(); ++i) {
      QAction* a = recent->addAction(QStringLiteral("&%1 %2").arg(i + 1).arg(QFileInfo(paths[i]).fileName()));
      a->setToolTip(paths[i]);
      a->setData(paths[i]);
      QObject::connect(a, &QAction::triggered, &window, [&window, p = paths[i]] { open_recording_in_new_window(p, &window); });
    }
    if (paths.isEmpty()) recent->addAction(QObject::tr("(none yet)"))->setEnabled(false);
  });
}

QStringList recent_recordings() { return QSettings().value(kRecentKey).toStringList(); }

void remember_recording(const QString& path) {
  const QString abs = QFileInfo(path).absoluteFilePath();
  QStringList list = recent_recordings();
  list.removeAll(abs);
  list.prepend(abs);
  while (list.size() > kMaxRecent) list.removeLast();
  QSettings().setValue(kRecentKey, list);
}

void forget_recording(const QString& path) {
  QStringList list = recent_recordings();
  if (list.removeAll(QFileInfo(path).absoluteFilePath()) + list.removeAll(path) > 0) QSettings().setValue(kRecentKey, list);
}

std::optional<QString> recording_drop_path(const QMimeData* mime) {
  if (!mime || !mime->hasUrls()) return std::nullopt;
  const QList<QUrl> urls = mime->urls();
  if (urls.size() != 1 || !urls.front().isLocalFile()) return std::nullopt;
  const QString path = urls.front().toLocalFile();
  if (QFileInfo(path).isDir()) return std::nullopt;
  return path;
}

}  // namespace ready::ui
