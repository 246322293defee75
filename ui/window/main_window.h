// The main window: sources panel, timeline, event log, inspector and rates around one bridge.
#pragma once

#include <QLabel>
#include <QMainWindow>
#include <QTimer>
#include <QPointer>

#include <map>
#include <memory>

#include "session/capture_session.h"
#include "ready/capture/scenario.h"
#include "timeline/timescale.h"
#include "window/theme.h"

class QAction;
class QDragEnterEvent;
class QDropEvent;
class QMenu;
class QActionGroup;
class QLineEdit;
class QComboBox;
class QTableView;
class QTabWidget;
class QPushButton;

namespace ready::ui {

class EventLogModel;
class FileActions;
class FollowPanel;
class Bookmarks;
class Inspector;
struct TimelineMenuContext;
class LessonLayout;
class LaneIndex;
class LessonsPanel;
class RatesView;
class ReplayBar;
class SourceActions;
class SourceTable;
class RelayFaultsDialog;
class SourcesFilterModel;
class SourcesModel;
class TimelineView;
class WarningsPanel;

/// The main window. It owns the capture session (and so the bridge and the engine), the
/// source actions (one QAction per operation, shared by the inspector, the sources' context
/// menu and the Capture menu) and every panel:
///  - centre: the timeline (one lane per token, the poll-loop lane on top) above tabs with
///    the event log and the rates charts;
///  - left dock: the sources table (live interest checkboxes, mode, reaction, counters;
///    context menu with every action the kind offers);
///  - right dock: the inspector of the selected source (payload, send box, actions), and
///    tabbed with it the Lessons panel (built-in lessons played step by step; F2);
///  - bottom dock: the warnings list (every pitfall warning, each linking to its lesson).
/// Selection is shared: selecting a source in the table, clicking a mark on the timeline or
/// a row of the log selects the same source (and record) everywhere.
/// Under the timeline, the replay bar steps and plays the capture's records (ReplayBar):
/// each move of its head focuses the record (focusRecord) and draws the head on the
/// timeline; using it on a live capture pauses the view; a record selected by hand is where
/// the next step starts.
/// Window geometry, dock layout, theme and recent addresses persist in QSettings
/// ("ReadyScope", "readyscope").
///
/// The window is the session's one Stage::views frame consumer; it hands each frame to its
/// views in this order: the lessons panel (compare pins), the timeline, the inspector, the
/// rates (once, with the timeline's view as its range), then the status line and the log's
/// token filter.
class MainWindow : public QMainWindow, public FrameConsumer {
  Q_OBJECT

 public:
  /// The lesson layout (folds the panels while a lesson plays; see LessonLayout).
  [[nodiscard]] LessonLayout* lessonLayout() const noexcept { return lesson_layout_; }
  /// A source's lane label: its row's label, after the lesson's name for it if it has one.
  [[nodiscard]] QString laneLabel(std::uint64_t token) const;
  /// The timeline's bookmarks (its context menu adds them; View > Bookmarks lists them).
  [[nodiscard]] Bookmarks& bookmarks() const noexcept { return *bookmarks_; }
  /// Adds a bookmark; false with a status message when it cannot (no name, too many).
  bool addBookmark(std::uint64_t t_ns, const QString& name);
  /// Centres the timeline on t (same span) and scrolls the log to it (a bookmark's jump).
  void jumpToTime(std::uint64_t t_ns);
  /// The log shows only records in `range` (nullopt: all times); a button in the log's bar
  /// shows the range and clears it.
  void setLogRange(std::optional<TimeWindow> range);
  /// The log's token filter set to `token` (the timeline's "Filter the log to this lane").
  void filterLogToLane(std::uint64_t token);
  /// The timeline's context menu on the plot (TimelineView::menuRequested).
  void timelineMenu(const TimelineMenuContext& context, const QPoint& global);
  /// Over a capture session (normally CaptureSession::start's).
  explicit MainWindow(std::unique_ptr<CaptureSession> session, QWidget* parent = nullptr);
  /// Over a bridge (a benchmark's or a test's, over its own feed): a session around it.
  explicit MainWindow(std::unique_ptr<Bridge> bridge, QWidget* parent = nullptr);
  ~MainWindow() override;

  [[nodiscard]] CaptureSession& session() const noexcept { return *session_; }
  [[nodiscard]] Bridge& bridge() const noexcept { return session_->bridge(); }
  [[nodiscard]] TimelineView* timeline() const noexcept { return timeline_; }
  /// The replay bar under the timeline (its PlayHead steps and plays the capture's records).
  [[nodiscard]] ReplayBar* replayBar() const noexcept { return replay_; }
  [[nodiscard]] SourcesModel* sourcesModel() const noexcept { return sources_model_; }
  /// The sources table (its model is sourcesFilter(), over sourcesModel()).
  [[nodiscard]] QTableView* sourcesView() const noexcept { return sources_view_; }
  [[nodiscard]] SourcesFilterModel* sourcesFilter() const noexcept { return sources_filter_; }
  /// The filter line edits above the sources table and above the timeline's lanes.
  [[nodiscard]] QLineEdit* sourcesFilterEdit() const noexcept { return sources_filter_edit_; }
  [[nodiscard]] QLineEdit* laneFilterEdit() const noexcept { return lane_filter_edit_; }
  /// Opens (or raises) the non-modal fault knobs dialog of the relay `token` belongs to (its
  /// listener or one of its legs); nullptr when `token` is no relay's.
  RelayFaultsDialog* showRelayFaults(std::uint64_t token);
  [[nodiscard]] EventLogModel* eventLogModel() const noexcept { return log_model_; }
  [[nodiscard]] QTableView* eventLogView() const noexcept { return log_view_; }
  [[nodiscard]] Inspector* inspector() const noexcept { return inspector_; }
  /// The Follow stream panel (View > Follow stream, Ctrl+Shift+F).
  [[nodiscard]] FollowPanel* followPanel() const noexcept { return follow_; }
  [[nodiscard]] RatesView* rates() const noexcept { return rates_; }
  [[nodiscard]] const SourceTable& sourceTable() const noexcept { return session_->sources(); }
  [[nodiscard]] const LaneIndex& laneIndex() const noexcept { return session_->lanes(); }
  [[nodiscard]] SourceActions* sourceActions() const noexcept { return actions_; }
  [[nodiscard]] LessonsPanel* lessonsPanel() const noexcept { return lessons_; }
  [[nodiscard]] WarningsPanel* warningsPanel() const noexcept { return warnings_; }
  [[nodiscard]] FileActions* fileActions() const noexcept { return files_; }
  /// Shows and raises the Lessons panel and opens the built-in lesson `name` there (empty:
  /// just shows the panel). False when there is no such lesson.
  bool showLesson(const QString& name = {});
  /// Selects the record at global store index `index` on the timeline, in the log and (for
  /// a record about a source) in the sources table and inspector.
  void focusRecord(std::uint64_t index);
  /// The text shown in the status bar's message area (the last error or note).
  [[nodiscard]] QString statusMessage() const;

  /// Submits a command; a refusal appears in the status bar and the log.
  void submit(capture::Command command);
  /// Loads a (validated) scenario into the Lessons panel and plays it there, at the panel's
  /// reading pace (narration, step marks, source names, compare lanes); a scenario already
  /// playing is dropped (its sources stay).
  void playScenario(capture::Scenario scenario);
  /// Selects the source with this token in every panel (0: none).
  void selectSource(std::uint64_t token);
  /// Applies a colour scheme to the whole application (and remembers it).
  void setTheme(Theme theme);

  // ---- recordings (window/open_recording.h) ----
  /// Makes the window read-only (it shows a recording): New source, Add note, Open
  /// scenario, every source action, the interest boxes and the send box are disabled, with
  /// `why` as their tooltip; lessons cannot play (the session is not live). Once.
  void setReadOnly(const QString& why);
  [[nodiscard]] bool isReadOnly() const noexcept { return read_only_; }
  /// The status-bar text area (RecordingView shows the file, the progress and the result there).
  void showStatusMessage(const QString& text, bool error) { showMessage(text, error); }

 signals:
  void sourceSelected(std::uint64_t token);

 protected:
  void closeEvent(QCloseEvent* event) override;
  void showEvent(QShowEvent* event) override;
  /// A recording dropped on the window opens in a new window (window/open_recording.h).
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  void buildCentre();
  void buildDocks();
  void buildActions();
  void buildStatusBar();
  void restoreSettings();
  void saveSettings();
  void take_frame(const Frame& frame) override;
  void updateStatus();
  void showMessage(const QString& text, bool error);
  void newSource(int kind);  // a capture::SourceKind, -1 to let the dialog choose, -2 for a relay
  /// File > Attach to process…: the AttachDialog, then cmd::Attach.
  void attachToProcess();
  void sourcesContextMenu(const QPoint& pos);
  /// The source actions (and Relay faults… for a relay's part) of `token` at `global`.
  void sourceMenu(std::uint64_t token, const QPoint& global);
  /// The Capture > Relay faults action follows the selected source (a relay's part or not).
  void updateRelayAction();
  void applyLogFilter();
  /// The log's token filter list follows the sources table (new rows, evicted closed rows).
  void syncLogTokens();
  void addNote();
  void openScenario();
  void showShortcuts();
  void showAbout();
  /// Replay: the bar's keys, its moves to focusRecord and the play head line, pausing a
  /// live view while the user replays its past.
  void connectReplay();

  std::unique_ptr<CaptureSession> session_;
  SourceActions* actions_ = nullptr;
  FileActions* files_ = nullptr;  ///< Save, Export, Record to… (off the GUI thread)
  friend class FileActions;       // its messages go to the status line
  bool delivering_ = false;  ///< inside take_frame: the rates follow the timeline's view without redrawing

  TimelineView* timeline_ = nullptr;
  SourcesModel* sources_model_ = nullptr;
  SourcesFilterModel* sources_filter_ = nullptr;
  QLineEdit* sources_filter_edit_ = nullptr;
  QLineEdit* lane_filter_edit_ = nullptr;
  QTableView* sources_view_ = nullptr;
  QAction* act_relay_faults_ = nullptr;
  QAction* act_attach_ = nullptr;
  std::map<std::uint64_t, QPointer<RelayFaultsDialog>> relay_dialogs_;  // by relay listener
  EventLogModel* log_model_ = nullptr;
  QTableView* log_view_ = nullptr;
  QLineEdit* log_text_ = nullptr;
  QComboBox* log_token_ = nullptr;
  int log_tokens_listed_ = 0;              // sources rows listed in log_token_ (after "All tokens")
  std::uint64_t log_tokens_evicted_ = 0;  // SourcesModel::evictedSources() when last synced
  QComboBox* log_kind_ = nullptr;
  Inspector* inspector_ = nullptr;
  FollowPanel* follow_ = nullptr;
  RatesView* rates_ = nullptr;
  QTabWidget* bottom_tabs_ = nullptr;
  LessonsPanel* lessons_ = nullptr;
  WarningsPanel* warnings_ = nullptr;
  ReplayBar* replay_ = nullptr;

  QLabel* st_rate_ = nullptr;
  QLabel* st_total_ = nullptr;
  QLabel* st_dropped_ = nullptr;
  QLabel* st_ring_ = nullptr;
  QLabel* st_poll_ = nullptr;
  QLabel* st_message_ = nullptr;
  QTimer* status_timer_ = nullptr;

  QAction* act_pause_ = nullptr;
  QAction* act_follow_ = nullptr;
  QActionGroup* theme_group_ = nullptr;
  std::uint64_t selected_token_ = 0;
  /// Frames with more records than this (about 120k records/s) make the tables repaint at
  /// most every kBusyTablePaintMs (see throttleTables).
  static constexpr std::uint64_t kBusyFrameRecords = 2000;
  static constexpr int kBusyTablePaintMs = 100;
  bool tables_throttled_ = false;
  void throttleTables(std::uint64_t frame_records);
  Theme theme_ = Theme::system;

  // Recordings: the actions a read-only window disables.
  bool read_only_ = false;
  QMenu* new_menu_ = nullptr;
  QAction* act_new_ = nullptr;
  QAction* act_note_ = nullptr;
  QAction* act_open_scenario_ = nullptr;
  LessonLayout* lesson_layout_ = nullptr;
  Bookmarks* bookmarks_ = nullptr;
  QMenu* bookmarks_menu_ = nullptr;
  QPushButton* log_range_ = nullptr;
  bool focus_given_ = false;
  void fillBookmarksMenu();
  QAction* act_lesson_layout_ = nullptr;
};

}  // namespace ready::ui
