// Opening a recording in the window: a window of its own over a RecordingFeed, its loading
// progress, badge and outcome, File > Open recording… / Open recent, drag and drop.
#pragma once

#include <QObject>
#include <QPointer>
#include <QString>
#include <QStringList>
#include <QTimer>

#include <memory>
#include <optional>

#include "ready/error.h"
#include "session/bridge.h"
#include "session/recording_feed.h"

class QAbstractItemDelegate;
class QLabel;
class QMenu;
class QMessageBox;
class QMimeData;
class QProgressBar;
class QPushButton;
class QWidget;

namespace ready::ui {

class MainWindow;

/// The part of a MainWindow that shows a recording: it makes the window read-only
/// (MainWindow::setReadOnly), titles it `NAME.jsonl — ReadyScope (recording)`, and puts a
/// badge in the status bar naming the file (its full path in the tooltip).
///
/// While the feed loads, a progress bar (records, MB of MB, %) and a Cancel button sit in
/// the status bar; the window stays usable (the bridge drains in slices of at most 4 ms).
/// When the feed finishes, the badge says:
///  - read to the end: the records and the time span; "N oldest records not kept (store
///    bound)" when the store evicted; a warning when the file has no final stats line (the
///    recorder was stopped before it finished);
///  - a bad line: "incomplete: stopped at line N", and a message box with the one-line
///    error (file, line, what was expected); the records before it stay shown;
///  - cancelled: "cancelled at N records".
/// Owned by the window (a child QObject); the feed is the window's bridge's.
class RecordingView : public QObject {
  Q_OBJECT

 public:
  RecordingView(MainWindow& window, RecordingFeed& feed, const QString& path);

  [[nodiscard]] RecordingFeed& feed() const noexcept { return feed_; }
  [[nodiscard]] const QString& path() const noexcept { return path_; }
  [[nodiscard]] bool isLoading() const noexcept { return loading_; }
  [[nodiscard]] QLabel* badge() const noexcept { return badge_; }
  [[nodiscard]] QProgressBar* progressBar() const noexcept { return progress_; }
  [[nodiscard]] QPushButton* cancelButton() const noexcept { return cancel_; }
  /// The message box of a bad file (not modal: the window stays usable), or null.
  [[nodiscard]] QMessageBox* errorBox() const noexcept;

 signals:
  /// The load ended (to the end, at a bad line, or cancelled) and the badge says how.
  void loaded();

 private:
  void updateProgress();
  void onFinished();

  MainWindow& window_;
  RecordingFeed& feed_;
  QString path_;
  bool loading_ = true;
  QLabel* badge_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QPushButton* cancel_ = nullptr;
  QTimer progress_timer_;
  QPointer<QMessageBox> error_box_;
};

/// A window over the recording at `path` (not shown): a RecordingFeed with `limits`, a
/// Bridge with `options` and a RecordingView. Errors: the feed could not start (no eventfd or thread).
/// A file that cannot be read opens too, and says why when its load ends.
io_result<std::unique_ptr<MainWindow>> make_recording_window(const QString& path, Bridge::Options options = {},
                                                            RecordingFeed::Limits limits = {});
/// The RecordingView of a window over a recording, or null.
RecordingView* recording_view(const MainWindow& window);

/// Opens `path` in a new window (deleted when closed) and remembers it in the recent list;
/// a file that does not exist or cannot be read is said so in a message box over `from`
/// and dropped from the recent list. Returns the new window, or null.
MainWindow* open_recording_in_new_window(const QString& path, QWidget* from);

/// Adds File > Open recording… (Ctrl+O) and File > Open recent to `file`, for `window`.
void add_recording_actions(QMenu& file, MainWindow& window);

/// The recent recordings, newest first (QSettings "recent/recordings", at most kMaxRecent).
inline constexpr int kMaxRecent = 10;
QStringList recent_recordings();
void remember_recording(const QString& path);
void forget_recording(const QString& path);

/// The local file a drag carries when it is one file (a recording to open), else nullopt.
std::optional<QString> recording_drop_path(const QMimeData* mime);

/// Why `path` cannot be opened as a file ("no such file", "is a directory", "not
/// readable"), or an empty string when it can be tried. One line, for stderr or a dialog.
QString unreadable_reason(const QString& path);

/// A delegate (owned by `parent`) that draws like the default one and never edits or
/// toggles a check box: a read-only window's sources table.
QAbstractItemDelegate* read_only_delegate(QObject* parent);

}  // namespace ready::ui
