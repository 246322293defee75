#include "window/main_window.h"

#include "window/file_actions.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QMimeData>
#include <QDockWidget>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QClipboard>
#include <QGuiApplication>
#include <QInputDialog>
#include <QKeySequence>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QPushButton>
#include <QMessageBox>
#include <QPainter>
#include <QScrollBar>
#include <QSettings>
#include <QSignalBlocker>
#include <QSplitter>
#include <QStatusBar>
#include <QStyle>
#include <QStyledItemDelegate>
#include <QTableView>
#include <QTabWidget>
#include <QTextBrowser>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>

#include <chrono>

#include "models/bookmarks.h"
#include "models/event_log_model.h"
#include "panels/attach_dialog.h"
#include "panels/choice_delegate.h"
#include "panels/follow_panel.h"
#include "panels/inspector.h"
#include "panels/lessons_panel.h"
#include "panels/log_table.h"
#include "panels/new_source_dialog.h"
#include "panels/rates_view.h"
#include "panels/replay_bar.h"
#include "panels/relay_faults.h"
#include "panels/source_actions.h"
#include "ready/capture/recording.h"
#include "models/record_format.h"
#include "models/scenario_view.h"
#include "models/source_table.h"
#include "models/sources_model.h"
#include "models/text_colours.h"
#include "models/time_text.h"
#include "panels/warnings_panel.h"
#include "timeline/laneindex.h"
#include "timeline/timelineview.h"
#include "window/lesson_layout.h"
#include "window/open_recording.h"

namespace ready::ui {

using capture::Record;
using capture::RecordKind;
using capture::SourceKind;

namespace {

// MainWindow::newSource's "open the dialog on Relay" (SourceKind values are >= 0).
constexpr int kNewRelay = -2;

QString count_text(std::uint64_t n) { return QLocale().toString(static_cast<qulonglong>(n)); }

QString rate_text(double per_s) {
  if (per_s >= 1e6) return QStringLiteral("%1 M rec/s").arg(per_s / 1e6, 0, 'f', 2);
  if (per_s >= 1e3) return QStringLiteral("%1 k rec/s").arg(per_s / 1e3, 0, 'f', 1);
  return QStringLiteral("%1 rec/s").arg(per_s, 0, 'f', 0);
}

// Fusion outlines a check box in a colour darker than the window, which vanishes on a dark
// base: an unticked interest box would be invisible in the dark theme. This delegate draws
// the box's outline again in the text colour, so it reads on any palette.
// A label's text colour, set only when it changes: setPalette repaints the label, and the
// status bar is refreshed four times a second while records arrive.
void setTextColour(QLabel* label, const QColor& colour) {
  if (label->palette().color(QPalette::WindowText) == colour) return;
  QPalette pal = label->palette();
  pal.setColor(QPalette::WindowText, colour);
  label->setPalette(pal);
}

class CheckOutlineDelegate : public QStyledItemDelegate {
 public:
  using QStyledItemDelegate::QStyledItemDelegate;
  void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override {
    QStyledItemDelegate::paint(painter, option, index);
    if (!index.data(Qt::CheckStateRole).isValid()) return;
    QStyleOptionViewItem opt = option;
    initStyleOption(&opt, index);
    const QWidget* w = option.widget;
    QStyle* style = w ? w->style() : QApplication::style();
    const QRect box = style->subElementRect(QStyle::SE_ItemViewItemCheckIndicator, &opt, w);
    QColor c = opt.palette.color(QPalette::Text);
    c.setAlpha(120);
    painter->save();
    painter->setPen(c);
    painter->setBrush(Qt::NoBrush);
    painter->drawRect(box.adjusted(1, 1, -2, -2));
    painter->restore();
  }
};

}  // namespace

MainWindow::MainWindow(std::unique_ptr<Bridge> bridge, QWidget* parent)
    : MainWindow(std::make_unique<CaptureSession>(std::move(bridge)), parent) {}

MainWindow::MainWindow(std::unique_ptr<CaptureSession> session, QWidget* parent)
    : QMainWindow(parent), session_(std::move(session)) {
  setWindowTitle(QStringLiteral("ReadyScope"));
  setObjectName(QStringLiteral("MainWindow"));
  actions_ = new SourceActions(*session_, this);

  buildCentre();
  buildDocks();
  buildActions();
  buildStatusBar();
  setAcceptDrops(true);

  session_->add_consumer(CaptureSession::Stage::views, this);
  connect(session_.get(), &CaptureSession::commandFailed, this, [this](const QString& m) { showMessage(m, true); });
  connectReplay();
  restoreSettings();
}

void MainWindow::showEvent(QShowEvent* event) {
  QMainWindow::showEvent(event);
  if (focus_given_) return;
  focus_given_ = true;
  // The timeline starts with the focus (after the window's activation, which would give it to
  // the first line edit): its keys work at once, and no blinking cursor repaints an idle
  // window twice a second.
  QTimer::singleShot(0, timeline_, [t = timeline_] { t->setFocus(Qt::ActiveWindowFocusReason); });
}

MainWindow::~MainWindow() {
  // The panels and models refer to the session (and unregister from it): they go before it.
  // QWidget's own destructor would delete them only after the members, session_ included.
  session_->remove_consumer(this);
  status_timer_->stop();
  // A recording in progress completes its file (its recorder observes the session).
  delete files_;
  files_ = nullptr;
  delete takeCentralWidget();
  qDeleteAll(findChildren<QDockWidget*>(Qt::FindDirectChildrenOnly));
  delete sources_model_;
  delete log_model_;
}

void MainWindow::buildCentre() {
  timeline_ = new TimelineView(this);
  timeline_->setObjectName(QStringLiteral("timeline"));
  timeline_->setData(&session_->store(), &session_->lanes());
  timeline_->setLabeler([this](std::uint64_t token) { return laneLabel(token); });
  timeline_->setFollowLive(true);
  timeline_->setEmptyHint(
      tr("No sources yet.\n\n"
         "File > New source… (Ctrl+N) opens a listener, a connection, a pipe, an eventfd or a timer;\n"
         "Help > Lessons (F2) plays the built-in lessons step by step;\n"
         "File > Open scenario… (Ctrl+Shift+O) plays a scenario file;\n"
         "File > Open recording… (Ctrl+O) or a file dropped here opens a recording.\n\n"
         "Or start with live sources:  readyscope --listen 127.0.0.1:7000 --reaction echo\n"
         "and talk to it with  nc 127.0.0.1 7000"));

  log_model_ = new EventLogModel(*session_, this);
  log_view_ = new QTableView;
  log_view_->setObjectName(QStringLiteral("eventLog"));
  log_view_->setModel(log_model_);
  set_up_log_table(*log_view_, {{EventLogModel::TimeColumn, "9999.999 999 s"},
                                {EventLogModel::TokenColumn, "Token"},
                                {EventLogModel::KindColumn, "source_changed"},
                                {EventLogModel::WhatColumn, "added unix_listener"},
                                {EventLogModel::ResultColumn, "readable edge echo"}});

  log_text_ = new QLineEdit;
  log_text_->setPlaceholderText(tr("Filter text (e.g. ECONNRESET, read_closed)"));
  log_text_->setClearButtonEnabled(true);
  log_token_ = new QComboBox;
  log_token_->setObjectName(QStringLiteral("logTokenFilter"));
  log_token_->addItem(tr("All tokens"), QVariant::fromValue<qulonglong>(0));
  log_kind_ = new QComboBox;
  log_kind_->addItem(tr("All kinds"), -1);
  for (RecordKind k : {RecordKind::readiness, RecordKind::action, RecordKind::source_added, RecordKind::source_changed,
                       RecordKind::source_removed, RecordKind::poll_return, RecordKind::note, RecordKind::warning,
                       RecordKind::stats, RecordKind::queue})
    log_kind_->addItem(QString::fromLatin1(to_string(k).data(), static_cast<int>(to_string(k).size())),
                       static_cast<int>(k));
  auto* jump = new QLineEdit;
  jump->setObjectName(QStringLiteral("jumpToTime"));
  jump->setPlaceholderText(tr("Jump to time (s)"));
  jump->setToolTip(tr("A time since the capture started, as the log shows it (\"1.234 567 s\") or with a unit "
                      "(\"1.25\", \"350 ms\", \"12 µs\")"));
  jump->setMaximumWidth(160);
  connect(jump, &QLineEdit::returnPressed, this, [this, jump] {
    const auto t = parse_time(jump->text());
    if (!t) {
      showMessage(tr("Jump to time: expected a time since the capture started, as the log shows it "
                     "(e.g. 1.250 000 s, 1.25, 350 ms)"),
                  true);
      return;
    }
    const int row = log_model_->showTime(*t);
    if (row >= 0) log_view_->scrollTo(log_model_->index(row, 0), QAbstractItemView::PositionAtTop);
  });
  // The log shows a bounded window of rows (EventLogModel::maxRows); after a jump moved it
  // to older records, scrolling to its bottom by hand brings the newest back.
  connect(log_view_->verticalScrollBar(), &QAbstractSlider::actionTriggered, this, [this] {
    const QScrollBar* sb = log_view_->verticalScrollBar();
    if (!log_model_->isFollowing() && sb->sliderPosition() >= sb->maximum()) {
      log_model_->followLatest();
      log_view_->scrollToBottom();
    }
  });
  connect(log_text_, &QLineEdit::textChanged, this, [this] { applyLogFilter(); });
  connect(log_token_, &QComboBox::currentIndexChanged, this, [this] { applyLogFilter(); });
  connect(log_kind_, &QComboBox::currentIndexChanged, this, [this] { applyLogFilter(); });
  connect(log_view_->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
          [this](const QModelIndex& cur) {
            if (!cur.isValid()) return;
            const auto at = log_model_->storeIndexAt(cur.row());
            if (!at) return;
            const std::uint64_t index = *at;
            const auto& store = session_->store();
            if (index < store.begin_index() || index >= store.end_index()) return;
            timeline_->selectRecord(index);
            const Record r = store.at(index);
            if (capture::RecordStore::is_indexed_by_token(r.kind) && r.token != selected_token_) selectSource(r.token);
          });

  auto* logPage = new QWidget;
  auto* logBar = new QHBoxLayout;
  logBar->addWidget(log_text_, 1);
  logBar->addWidget(log_token_);
  logBar->addWidget(log_kind_);
  logBar->addWidget(jump);
  // A time range picked on the timeline (its context menu): shown, and cleared, here.
  log_range_ = new QPushButton;
  log_range_->setObjectName(QStringLiteral("logRangeFilter"));
  log_range_->setToolTip(tr("The log shows only this time range (from the timeline's context menu); click to show all"));
  log_range_->hide();
  connect(log_range_, &QPushButton::clicked, this, [this] { setLogRange(std::nullopt); });
  logBar->addWidget(log_range_);
  auto* logLayout = new QVBoxLayout(logPage);
  logLayout->setContentsMargins(0, 0, 0, 0);
  logLayout->addLayout(logBar);
  logLayout->addWidget(log_view_);

  rates_ = new RatesView(*session_, this);
  rates_->setTokenTitles([this](std::uint64_t token) { return laneLabel(token); });

  bottom_tabs_ = new QTabWidget;
  bottom_tabs_->addTab(logPage, tr("Event log"));
  bottom_tabs_->addTab(rates_, tr("Rates"));

  auto* split = new QSplitter(Qt::Vertical);
  split->setObjectName(QStringLiteral("centreSplitter"));
  // Replay: the play head's bar right under the timeline it moves over.
  replay_ = new ReplayBar(session_->store(), this);
  auto* timelinePane = new QWidget;
  auto* timelineLayout = new QVBoxLayout(timelinePane);
  timelineLayout->setContentsMargins(0, 0, 0, 0);
  timelineLayout->setSpacing(0);
  lane_filter_edit_ = new QLineEdit;
  lane_filter_edit_->setObjectName(QStringLiteral("laneFilter"));
  lane_filter_edit_->setPlaceholderText(tr("Filter lanes: name, kind, address (words must all match)"));
  lane_filter_edit_->setClearButtonEnabled(true);
  lane_filter_edit_->setToolTip(tr("Shows only the lanes whose label, token or kind contains every word typed "
                                   "(e.g. \"upstream\", \"#4711\", \"client 127.0.0.1:51234\")"));
  connect(lane_filter_edit_, &QLineEdit::textChanged, timeline_, &TimelineView::setLaneFilter);
  timelineLayout->addWidget(lane_filter_edit_);
  timelineLayout->addWidget(timeline_, 1);
  timelineLayout->addWidget(replay_);
  lesson_layout_ = new LessonLayout(session_->store(), *timeline_, this);
  timelineLayout->addWidget(lesson_layout_->strip());
  split->addWidget(timelinePane);
  split->addWidget(bottom_tabs_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  setCentralWidget(split);

  connect(timeline_, &TimelineView::laneMenuRequested, this, &MainWindow::sourceMenu);
  bookmarks_ = new Bookmarks(this);
  timeline_->setBookmarks(bookmarks_);
  connect(bookmarks_, &Bookmarks::changed, timeline_, qOverload<>(&QWidget::update));
  connect(timeline_, &TimelineView::menuRequested, this, &MainWindow::timelineMenu);
  connect(timeline_, &TimelineView::recordClicked, this, [this](std::uint64_t index) {
    const auto& store = session_->store();
    if (index < store.begin_index() || index >= store.end_index()) return;
    const Record r = store.at(index);
    if (capture::RecordStore::is_indexed_by_token(r.kind)) selectSource(r.token);
    const int row = log_model_->showIndex(index);
    if (row >= 0) {
      log_view_->selectRow(row);
      log_view_->scrollTo(log_model_->index(row, 0), QAbstractItemView::PositionAtCenter);
    }
  });
  // While a frame is delivered the rates take the timeline's new view and redraw once, with
  // the frame; a view the user changed redraws them at once.
  connect(timeline_, &TimelineView::viewChanged, this, [this](std::uint64_t t0, std::uint64_t t1) {
    if (delivering_)
      rates_->followRange(t0, t1);
    else
      rates_->setRange(t0, t1);
  });
}

void MainWindow::focusRecord(std::uint64_t index) {
  const auto& store = session_->store();
  if (index < store.begin_index() || index >= store.end_index()) return;
  timeline_->selectRecord(index);
  const Record r = store.at(index);
  if (r.token != 0 && session_->sources().find(r.token)) selectSource(r.token);
  const int row = log_model_->showIndex(index);
  if (row >= 0) {
    log_view_->selectRow(row);
    log_view_->scrollTo(log_model_->index(row, 0), QAbstractItemView::PositionAtCenter);
  }
}

void MainWindow::connectReplay() {
  // The bar's keys work where the timeline or the log has the focus (and on the bar itself).
  for (QAction* a : replay_->actions()) {
    if (a->shortcut().isEmpty()) continue;
    timeline_->addAction(a);
    log_view_->addAction(a);
  }
  connect(replay_, &ReplayBar::navigated, this, [this] {
    // A live capture's past holds still while it is replayed.
    if (session_->is_live() && !act_pause_->isChecked()) act_pause_->setChecked(true);
  });
  connect(replay_, &ReplayBar::recordReached, this, [this](std::uint64_t index) {
    timeline_->setPlayHead(index);  // first: the view moves by pages, focusRecord then need not centre
    focusRecord(index);
  });
  connect(replay_, &ReplayBar::liveEndReached, this, [this] {
    if (!session_->is_live()) return;
    act_pause_->setChecked(false);
    act_follow_->setChecked(true);
    log_model_->followLatest();
  });
  connect(this, &MainWindow::sourceSelected, replay_, &ReplayBar::setSelectedToken);
  // A record selected by hand is where the next step starts (the head's line moves there
  // once the bar was used).
  const auto follow = [this](std::uint64_t index) {
    if (!replay_->playHead().placeQuietly(index)) return;
    if (timeline_->playHead()) timeline_->setPlayHead(index);
  };
  // The bar is the context: it goes first when the window tears its centre down.
  connect(timeline_, &TimelineView::recordClicked, replay_, follow);
  connect(log_view_->selectionModel(), &QItemSelectionModel::currentRowChanged, replay_,
          [this, follow](const QModelIndex& cur) {
            if (const auto at = cur.isValid() ? log_model_->storeIndexAt(cur.row()) : std::nullopt) follow(*at);
          });
}

void MainWindow::buildDocks() {
  sources_model_ = new SourcesModel(*session_, this);
  sources_view_ = new QTableView;
  sources_view_->setObjectName(QStringLiteral("sources"));
  sources_filter_ = new SourcesFilterModel(this);
  sources_filter_->setSourceModel(sources_model_);
  sources_view_->setModel(sources_filter_);
  sources_view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  sources_view_->setSelectionMode(QAbstractItemView::SingleSelection);
  sources_view_->verticalHeader()->hide();
  sources_view_->verticalHeader()->setDefaultSectionSize(sources_view_->fontMetrics().height() + 6);
  {
    // The columns a new user acts on come first: what the source is, its interest check
    // boxes and trigger mode, its state; then the addresses and counters. Only the visual
    // order changes (the model's columns stay as documented). Fixed starting widths from
    // typical texts: resizing to contents would re-measure every row on each change.
    QHeaderView* h = sources_view_->horizontalHeader();
    using C = SourcesModel::Column;
    const C order[] = {C::TokenColumn,    C::KindColumn,        C::ReadableColumn, C::WritableColumn,
                       C::PriorityColumn, C::ModeColumn,        C::StateColumn,    C::LocalColumn,
                       C::PeerColumn,     C::ReactionColumn,    C::EventsColumn,   C::BytesInColumn,
                       C::BytesOutColumn, C::WouldBlocksColumn, C::FdColumn};
    for (int visual = 0; visual < static_cast<int>(std::size(order)); ++visual)
      h->moveSection(h->visualIndex(order[visual]), visual);
    const QFontMetrics fm(sources_view_->font());
    const auto width = [&fm](const char* sample) { return fm.horizontalAdvance(QString::fromUtf8(sample)) + 18; };
    const int check = style()->pixelMetric(QStyle::PM_IndicatorWidth) + 14;
    h->setMinimumSectionSize(check);
    h->resizeSection(C::TokenColumn, width("Token"));
    h->resizeSection(C::KindColumn, width("unix_listener"));
    auto* outline = new CheckOutlineDelegate(sources_view_);
    for (C c : {C::ReadableColumn, C::WritableColumn, C::PriorityColumn}) {
      h->resizeSection(c, check);
      sources_view_->setItemDelegateForColumn(c, outline);
    }
    // Mode and reaction: drop-downs of the values they take, not free text.
    auto* choices = new ChoiceDelegate(SourcesModel::ChoicesRole, sources_view_);
    for (C c : {C::ModeColumn, C::ReactionColumn}) sources_view_->setItemDelegateForColumn(c, choices);
    h->resizeSection(C::ModeColumn, width("oneshot") + 16);
    h->resizeSection(C::StateColumn, width("closed (EPIPE)"));
    h->resizeSection(C::LocalColumn, width("127.0.0.1:65535"));
    h->resizeSection(C::PeerColumn, width("127.0.0.1:65535"));
    h->resizeSection(C::ReactionColumn, width("auto_accept"));
    for (C c : {C::EventsColumn, C::BytesInColumn, C::BytesOutColumn, C::WouldBlocksColumn, C::FdColumn})
      h->resizeSection(c, width("EAGAIN"));
  }
  sources_view_->setContextMenuPolicy(Qt::CustomContextMenu);
  sources_view_->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::SelectedClicked |
                                 QAbstractItemView::EditKeyPressed);
  connect(sources_view_, &QWidget::customContextMenuRequested, this, &MainWindow::sourcesContextMenu);
  connect(sources_view_->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
          [this](const QModelIndex& cur) {
            if (cur.isValid()) selectSource(sources_model_->tokenAt(sources_filter_->mapToSource(cur).row()));
          });

  sources_filter_edit_ = new QLineEdit;
  sources_filter_edit_->setObjectName(QStringLiteral("sourcesFilter"));
  sources_filter_edit_->setPlaceholderText(tr("Filter: name, kind, address, state (\"paused\", \"relay\")"));
  sources_filter_edit_->setClearButtonEnabled(true);
  // Re-filtering 20,000 rows takes a few hundred ms (Qt's proxy and view): once typing pauses.
  auto* sourcesFilterTimer = new QTimer(this);
  sourcesFilterTimer->setSingleShot(true);
  sourcesFilterTimer->setInterval(200);
  connect(sources_filter_edit_, &QLineEdit::textChanged, sourcesFilterTimer, qOverload<>(&QTimer::start));
  connect(sourcesFilterTimer, &QTimer::timeout, this,
          [this] { sources_filter_->setFilterText(sources_filter_edit_->text()); });
  auto* sourcesPane = new QWidget;
  auto* sourcesLayout = new QVBoxLayout(sourcesPane);
  sourcesLayout->setContentsMargins(0, 0, 0, 0);
  sourcesLayout->setSpacing(2);
  sourcesLayout->addWidget(sources_filter_edit_);
  sourcesLayout->addWidget(sources_view_, 1);
  auto* sourcesDock = new QDockWidget(tr("Sources"), this);
  sourcesDock->setObjectName(QStringLiteral("sourcesDock"));
  sourcesDock->setWidget(sourcesPane);
  // Under the timeline, tabbed with the warnings: the timeline gets the window's width.
  addDockWidget(Qt::BottomDockWidgetArea, sourcesDock);

  inspector_ = new Inspector(*session_, *actions_, this);
  auto* inspectorDock = new QDockWidget(tr("Inspector"), this);
  inspectorDock->setObjectName(QStringLiteral("inspectorDock"));
  inspectorDock->setWidget(inspector_);
  addDockWidget(Qt::RightDockWidgetArea, inspectorDock);

  lessons_ = new LessonsPanel(*session_, &session_->lanes(), this);
  lessons_->setObjectName(QStringLiteral("lessonsPanel"));
  auto* lessonsDock = new QDockWidget(tr("Lessons"), this);
  lessonsDock->setObjectName(QStringLiteral("lessonsDock"));
  lessonsDock->setWidget(lessons_);
  addDockWidget(Qt::RightDockWidgetArea, lessonsDock);
  tabifyDockWidget(inspectorDock, lessonsDock);
  // Follow stream: the selected relayed connection's conversation (hidden until asked for:
  // it fetches nothing while hidden).
  follow_ = new FollowPanel(*session_, this);
  follow_->setObjectName(QStringLiteral("followPanel"));
  auto* followDock = new QDockWidget(tr("Follow stream"), this);
  followDock->setObjectName(QStringLiteral("followDock"));
  followDock->setWidget(follow_);
  addDockWidget(Qt::RightDockWidgetArea, followDock);
  tabifyDockWidget(inspectorDock, followDock);
  inspectorDock->raise();
  connect(lessons_, &LessonsPanel::lessonFinished, this, [this](bool passed) {
    showMessage(passed ? tr("Lesson finished: every expectation held; its sources stay live.")
                       : tr("Lesson finished with a failed expectation (see the Lessons panel)."),
                !passed);
  });
  connect(lessons_, &LessonsPanel::stepStarted, this, [this](int i) {
    const auto* s = lessons_->scenario();
    if (!s) return;
    const QString narration = lessons_->stepNarration(i);
    const QString name = QString::fromStdString(s->name);
    showMessage(narration.startsWith(QStringLiteral("step "))
                    ? tr("Lesson %1: %2").arg(name, narration)
                    : tr("Lesson %1, step %2: %3").arg(name).arg(i + 1).arg(narration),
                false);
  });

  warnings_ = new WarningsPanel(*session_, [this](std::uint64_t token) { return laneLabel(token); }, this);
  warnings_->setObjectName(QStringLiteral("warningsPanel"));
  auto* warningsDock = new QDockWidget(tr("Warnings"), this);
  warningsDock->setObjectName(QStringLiteral("warningsDock"));
  warningsDock->setWidget(warnings_);
  addDockWidget(Qt::BottomDockWidgetArea, warningsDock);
  tabifyDockWidget(sourcesDock, warningsDock);
  sourcesDock->raise();
  lesson_layout_->setFoldable({sourcesDock, warningsDock, bottom_tabs_}, lessonsDock);
  connect(lessons_, &LessonsPanel::stepStarted, this, [this](int i) {
    if (i == 0) lesson_layout_->enter();  // a lesson (re)starts: the timeline takes the window
    lesson_layout_->stepStarted(i);
  });
  connect(lessons_, &LessonsPanel::stepMarked, lesson_layout_, [this] { lesson_layout_->stepMarked(); });
  // A finished lesson: all of it in view, from its first record to its last step's end.
  connect(lessons_, &LessonsPanel::lessonFinished, lesson_layout_, [this] { lesson_layout_->lessonFinished(); });
  connect(warnings_, &WarningsPanel::recordActivated, this, &MainWindow::focusRecord);
  connect(warnings_, &WarningsPanel::lessonRequested, this, [this](const QString& name) { showLesson(name); });

  // The inspector and the lessons share the right dock, narrow enough that an empty
  // inspector leaves the timeline most of the width.
  resizeDocks({inspectorDock}, {330}, Qt::Horizontal);
  resizeDocks({sourcesDock}, {210}, Qt::Vertical);
}

bool MainWindow::showLesson(const QString& name) {
  auto* dock = qobject_cast<QDockWidget*>(lessons_->parentWidget());
  if (dock) {
    dock->show();
    dock->raise();
  }
  if (name.isEmpty()) return true;
  return lessons_->openLesson(name);
}

void MainWindow::buildActions() {
  auto* file = menuBar()->addMenu(tr("&File"));
  auto* newMenu = file->addMenu(tr("&New source"));
  new_menu_ = newMenu;
  const std::pair<SourceKind, QString> kinds[] = {
      {SourceKind::tcp_listener, tr("TCP &listener…")}, {SourceKind::tcp_stream, tr("TCP &connect…")},
      {SourceKind::udp, tr("&UDP socket…")},             {SourceKind::unix_listener, tr("Unix listener…")},
      {SourceKind::unix_stream, tr("Unix connect…")},    {SourceKind::unix_datagram, tr("Unix datagram…")},
      {SourceKind::pipe_sender, tr("Socket pair / pipe…")}, {SourceKind::eventfd, tr("&eventfd…")},
      {SourceKind::timerfd, tr("&timerfd…")}};
  for (const auto& [kind, label] : kinds) {
    QAction* a = newMenu->addAction(label);
    connect(a, &QAction::triggered, this, [this, k = kind] { newSource(static_cast<int>(k)); });
  }
  QAction* relayAct = newMenu->addAction(tr("&Relay…"));
  relayAct->setObjectName(QStringLiteral("actionNewRelay"));
  connect(relayAct, &QAction::triggered, this, [this] { newSource(kNewRelay); });
  QAction* newAny = file->addAction(tr("New &source…"));
  newAny->setObjectName(QStringLiteral("actionNewSource"));
  newAny->setShortcut(QKeySequence::New);
  connect(newAny, &QAction::triggered, this, [this] { newSource(-1); });
  act_new_ = newAny;
  QAction* attachAct = file->addAction(tr("&Attach to process…"));
  attachAct->setObjectName(QStringLiteral("actionAttach"));
  attachAct->setToolTip(tr("Watch the epoll instances of a running program of yours (docs/attach.md)"));
  connect(attachAct, &QAction::triggered, this, &MainWindow::attachToProcess);
  act_attach_ = attachAct;
  // File > Open recording… (Ctrl+O) and Open recent (window/open_recording.cpp).
  add_recording_actions(*file, *this);
  QAction* openScenarioAct = file->addAction(tr("Open &scenario…"));
  openScenarioAct->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
  connect(openScenarioAct, &QAction::triggered, this, &MainWindow::openScenario);
  act_open_scenario_ = openScenarioAct;
  files_ = new FileActions(*this);
  file->addAction(files_->saveAction());
  file->addMenu(files_->exportMenu());
  file->addSeparator();
  QAction* quit = file->addAction(tr("&Quit"));
  quit->setShortcut(QKeySequence::Quit);
  connect(quit, &QAction::triggered, this, &QWidget::close);

  auto* capture = menuBar()->addMenu(tr("&Capture"));
  QAction* note = capture->addAction(tr("Add &note…"));
  note->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
  connect(note, &QAction::triggered, this, &MainWindow::addNote);
  act_note_ = note;
  capture->addAction(files_->recordAction());
  // The selected source's operations (the same actions as the inspector's buttons; only
  // those of its kind show; Close is Ctrl+W).
  capture->addSection(tr("Selected source"));
  for (const InspectorAction a : SourceActions::all()) capture->addAction(actions_->action(a));
  capture->addSeparator();
  act_relay_faults_ = capture->addAction(tr("Relay &faults…"));
  act_relay_faults_->setObjectName(QStringLiteral("actionRelayFaults"));
  connect(act_relay_faults_, &QAction::triggered, this, [this] { showRelayFaults(selected_token_); });
  updateRelayAction();

  auto* view = menuBar()->addMenu(tr("&View"));
  act_pause_ = view->addAction(tr("&Pause view (capture continues)"));
  act_pause_->setCheckable(true);
  act_pause_->setShortcut(QKeySequence(Qt::Key_Space));
  act_pause_->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  timeline_->addAction(act_pause_);
  connect(act_pause_, &QAction::toggled, this, [this](bool on) { timeline_->setPaused(on); });
  act_follow_ = view->addAction(tr("&Follow live"));
  act_follow_->setCheckable(true);
  act_follow_->setChecked(true);
  act_follow_->setShortcut(QKeySequence(Qt::Key_F));
  act_follow_->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  timeline_->addAction(act_follow_);
  connect(act_follow_, &QAction::toggled, this, [this](bool on) { timeline_->setFollowLive(on); });
  connect(timeline_, &TimelineView::followLiveChanged, act_follow_, &QAction::setChecked);
  QAction* back = view->addAction(tr("Zoom &back"));
  back->setShortcut(QKeySequence(Qt::Key_Backspace));
  back->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  timeline_->addAction(back);
  connect(back, &QAction::triggered, timeline_, &TimelineView::zoomBack);
  QAction* reset = view->addAction(tr("Zoom &reset (whole capture)"));
  reset->setShortcut(QKeySequence(Qt::Key_Home));
  reset->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  timeline_->addAction(reset);
  connect(reset, &QAction::triggered, timeline_, &TimelineView::zoomReset);
  bookmarks_menu_ = view->addMenu(tr("&Bookmarks"));
  bookmarks_menu_->setObjectName(QStringLiteral("bookmarksMenu"));
  connect(bookmarks_menu_, &QMenu::aboutToShow, this, &MainWindow::fillBookmarksMenu);
  view->addSeparator();
  act_lesson_layout_ = view->addAction(tr("&Lesson layout (fold the panels while a lesson plays)"));
  act_lesson_layout_->setCheckable(true);
  act_lesson_layout_->setToolTip(tr("The timeline takes the window; the sources, the log and the warnings fold "
                                    "into a strip under it (one click brings them back)"));
  connect(act_lesson_layout_, &QAction::triggered, this,
          [this](bool on) { on ? lesson_layout_->enter() : lesson_layout_->leave(); });
  connect(lesson_layout_, &LessonLayout::foldedChanged, act_lesson_layout_, &QAction::setChecked);
  auto* themeMenu = view->addMenu(tr("&Theme"));
  theme_group_ = new QActionGroup(this);
  for (auto [t, label] : {std::pair{Theme::system, tr("&System")}, std::pair{Theme::light, tr("&Light")},
                          std::pair{Theme::dark, tr("&Dark")}}) {
    QAction* a = themeMenu->addAction(label);
    a->setCheckable(true);
    a->setData(static_cast<int>(t));
    theme_group_->addAction(a);
    connect(a, &QAction::triggered, this, [this, theme = t] { setTheme(theme); });
  }
  view->addSeparator();
  // The queue band's records (cmd::SetQueueSampling): live captures only.
  QAction* queueAct = view->addAction(tr("&Queue sampling (bytes readable / unsent)"));
  queueAct->setObjectName(QStringLiteral("actionQueueSampling"));
  queueAct->setCheckable(true);
  {
    const capture::Engine* engine = session_->bridge().engine();
    queueAct->setEnabled(session_->is_live() && engine);
    queueAct->setChecked(engine && engine->config().queue_sampling);
  }
  connect(queueAct, &QAction::toggled, this, [this](bool on) { submit(capture::cmd::SetQueueSampling{on}); });
  view->addSeparator();
  // Shows and raises the Follow stream tab (its toggle below would hide a tab that is
  // merely behind another).
  QAction* followAct = view->addAction(tr("&Follow stream of the selected connection"));
  followAct->setObjectName(QStringLiteral("actionFollowStream"));
  followAct->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_F));
  connect(followAct, &QAction::triggered, this, [this] {
    if (auto* dock = qobject_cast<QDockWidget*>(follow_->parentWidget())) {
      dock->show();
      dock->raise();
    }
  });
  view->addSeparator();
  for (QDockWidget* d : findChildren<QDockWidget*>()) view->addAction(d->toggleViewAction());

  auto* help = menuBar()->addMenu(tr("&Help"));
  QAction* lessons = help->addAction(tr("&Lessons"));
  lessons->setObjectName(QStringLiteral("actionLessons"));
  lessons->setShortcut(QKeySequence(Qt::Key_F2));
  connect(lessons, &QAction::triggered, this, [this] { showLesson(); });
  QAction* keys = help->addAction(tr("&Keyboard shortcuts"));
  keys->setShortcut(QKeySequence::HelpContents);
  connect(keys, &QAction::triggered, this, &MainWindow::showShortcuts);
  connect(help->addAction(tr("&About ReadyScope")), &QAction::triggered, this, &MainWindow::showAbout);

  QToolBar* tb = addToolBar(tr("Main"));
  tb->setObjectName(QStringLiteral("mainToolBar"));
  tb->addAction(newAny);
  tb->addAction(note);
  tb->addSeparator();
  tb->addAction(act_pause_);
  tb->addAction(act_follow_);
  tb->addAction(back);
  tb->addAction(reset);
}

void MainWindow::buildStatusBar() {
  st_rate_ = new QLabel;
  st_total_ = new QLabel;
  st_dropped_ = new QLabel;
  st_ring_ = new QLabel;
  st_poll_ = new QLabel;
  st_message_ = new QLabel;
  st_message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  st_rate_->setObjectName(QStringLiteral("statusRate"));
  st_total_->setObjectName(QStringLiteral("statusTotal"));
  st_dropped_->setObjectName(QStringLiteral("statusDropped"));
  st_ring_->setObjectName(QStringLiteral("statusRing"));
  st_poll_->setObjectName(QStringLiteral("statusPoll"));
  st_message_->setObjectName(QStringLiteral("statusMessage"));
  statusBar()->addWidget(st_message_, 1);
  statusBar()->addPermanentWidget(files_->statusWidget());
  for (QLabel* l : {st_rate_, st_total_, st_dropped_, st_ring_, st_poll_}) statusBar()->addPermanentWidget(l);
  status_timer_ = new QTimer(this);
  status_timer_->setInterval(250);
  connect(status_timer_, &QTimer::timeout, this, &MainWindow::updateStatus);
  // The figures change only while records arrive: the timer runs from a frame until the
  // bridge goes idle, then one last update (the rate at zero) and no more wake-ups.
  connect(&session_->bridge(), &Bridge::idle, this, [this] {
    status_timer_->stop();
    updateStatus();
  });
  updateStatus();
}

void MainWindow::updateStatus() {
  const Bridge::Status s = session_->bridge().status();
  st_rate_->setText(rate_text(s.records_per_s));
  st_total_->setText(tr("%1 records").arg(count_text(s.received)));
  st_total_->setToolTip(tr("%1 held in the store, %2 evicted by its bound of %3 records")
                            .arg(count_text(s.stored), count_text(s.evicted),
                                 count_text(session_->store().limits().max_records)));
  st_dropped_->setText(tr("dropped %1").arg(count_text(s.dropped)));
  st_dropped_->setToolTip(tr("Records the engine's ring had no room for (produced %1). Exact.")
                              .arg(count_text(s.produced)));
  setTextColour(st_dropped_, s.dropped ? text_colour(TextTone::failed) : palette().color(QPalette::WindowText));
  const double fill = s.ring_capacity ? 100.0 * static_cast<double>(s.ring_fill) / static_cast<double>(s.ring_capacity) : 0;
  st_ring_->setText(tr("ring %1%").arg(fill, 0, 'f', 0));
  st_ring_->setToolTip(tr("%1 of %2 ring slots in use").arg(count_text(s.ring_fill), count_text(s.ring_capacity)));
  if (s.poll_thread_failure.isEmpty()) {
    st_poll_->setText(s.poll_thread_running ? tr("poll thread running") : tr("poll thread stopped"));
    st_poll_->setToolTip({});
    setTextColour(st_poll_, palette().color(QPalette::WindowText));
  } else if (!st_poll_->text().endsWith(s.poll_thread_failure)) {
    // The engine stopped by itself: say why, in the warning colour; commands are refused now.
    st_poll_->setText(tr("poll thread stopped: %1").arg(s.poll_thread_failure));
    st_poll_->setToolTip(tr("The capture engine's poll thread stopped on an error it cannot recover from. "
                            "The records so far are kept (File > Save recording); new commands are refused."));
    QPalette warn = st_poll_->palette();
    warn.setColor(QPalette::WindowText, text_colour(TextTone::failed));
    st_poll_->setPalette(warn);
    showMessage(tr("The poll thread stopped: %1").arg(s.poll_thread_failure), true);
  }
}

QString MainWindow::statusMessage() const { return st_message_->text(); }

void MainWindow::showMessage(const QString& text, bool error) {
  st_message_->setText(text);
  QPalette pal = st_message_->palette();
  pal.setColor(QPalette::WindowText, error ? text_colour(TextTone::failed) : palette().color(QPalette::WindowText));
  st_message_->setPalette(pal);
}

void MainWindow::throttleTables(std::uint64_t frame_records) {
  // Under a flood the two tables would repaint every frame (the log's text ~2 ms, the
  // sources' counters ~1.6 ms at 1M records/s), time the GUI thread needs for draining. While
  // frames carry more than kBusyFrameRecords, their viewports repaint at most every
  // kBusyTablePaintMs; the models still update every frame, and the timeline stays at the
  // frame rate. Interactive use (a few records a frame) is never throttled.
  if (frame_records <= kBusyFrameRecords || tables_throttled_) return;
  tables_throttled_ = true;
  for (QAbstractItemView* v : {static_cast<QAbstractItemView*>(log_view_), static_cast<QAbstractItemView*>(sources_view_)})
    v->viewport()->setUpdatesEnabled(false);
  QTimer::singleShot(kBusyTablePaintMs, this, [this] {
    tables_throttled_ = false;
    // Enabling updates repaints each viewport once, with everything since.
    for (QAbstractItemView* v : {static_cast<QAbstractItemView*>(log_view_), static_cast<QAbstractItemView*>(sources_view_)})
      v->viewport()->setUpdatesEnabled(true);
  });
}

void MainWindow::take_frame(const Frame& frame) {
  // The models (sources, log, warnings) took this frame already (CaptureSession::deliver).
  const auto [begin, end, evicted_to] = frame;
  throttleTables(end - begin);
  if (!status_timer_->isActive()) status_timer_->start();
  lessons_->onFrame();
  lesson_layout_->onFrame();
  delivering_ = true;
  timeline_->onFrame(begin, end, evicted_to);
  delivering_ = false;
  inspector_->onFrame(begin, end, evicted_to);
  follow_->onFrame();
  rates_->onFrame(begin, end, evicted_to);
  replay_->onFrame();
  if (const SourceRow* src = selected_token_ ? session_->sources().find(selected_token_) : nullptr)
    actions_->setClosed(read_only_ || src->is_closed());
  // Engine errors from the new records (a refused connect, a reset, EMFILE...) reach the
  // status bar; the log shows them too.
  const auto& store = session_->store();
  for (std::uint64_t i = std::max(begin, store.begin_index()); i < end; ++i) {
    const RecordKind k = store.kind_at(i);
    if (k != RecordKind::action && k != RecordKind::warning) continue;
    const Record r = store.at(i);
    if (k == RecordKind::action && r.outcome != capture::Outcome::error) continue;
    if (k == RecordKind::warning) {
      showMessage(r.token ? tr("%1: %2 (see Warnings)").arg(laneLabel(r.token), warning_text(r))
                          : tr("%1 (see Warnings)").arg(warning_text(r)),
                  true);
      continue;
    }
    showMessage(tr("#%1 %2: %3").arg(r.token).arg(record_what(r), record_result(r)), true);
  }
  syncLogTokens();
}

void MainWindow::syncLogTokens() {
  // The log's token filter lists the sources the sources table lists, in its order: new
  // rows are appended; rows the table evicted (closed sources beyond its bound) leave the
  // list, but for the token the log is filtered by now.
  const int n = sources_model_->sourceRowCount();
  const QSignalBlocker block(log_token_);  // the chosen item stays: no filter re-scan
  if (n < log_tokens_listed_ && sources_model_->evictedSources() == log_tokens_evicted_) {
    while (log_token_->count() > 1) log_token_->removeItem(log_token_->count() - 1);  // a new capture
    log_tokens_listed_ = 0;
  }
  if (sources_model_->evictedSources() != log_tokens_evicted_) {
    log_tokens_evicted_ = sources_model_->evictedSources();
    const std::uint64_t chosen = log_token_->currentData().toULongLong();
    int row = 0;
    for (int item = 1; item < log_token_->count();) {
      const std::uint64_t t = log_token_->itemData(item).toULongLong();
      if (row < n && sources_model_->tokenAt(row) == t) {
        ++row;
        ++item;
      } else if (t == chosen) {
        ++item;
      } else {
        log_token_->removeItem(item);
      }
    }
    log_tokens_listed_ = row;
  }
  for (; log_tokens_listed_ < n; ++log_tokens_listed_) {
    const std::uint64_t t = sources_model_->tokenAt(log_tokens_listed_);
    log_token_->addItem(QStringLiteral("#%1").arg(t), QVariant::fromValue<qulonglong>(t));
  }
}

void MainWindow::submit(capture::Command command) { (void)session_->submit(std::move(command)); }

void MainWindow::playScenario(capture::Scenario scenario) {
  if (!session_->is_live()) return;
  // Any scenario plays in the Lessons panel: its narration, marks, names and compare lanes.
  showLesson(QString());
  lessons_->loadScenario(std::move(scenario));
  lessons_->play();
}

void MainWindow::selectSource(std::uint64_t token) {
  if (token == selected_token_) return;
  selected_token_ = token;
  const int source_row = token ? sources_model_->rowOf(token) : -1;
  const int row = source_row < 0 ? -1 : sources_filter_->mapFromSource(sources_model_->index(source_row, 0)).row();
  if (row >= 0 && sources_view_->currentIndex().row() != row) sources_view_->selectRow(row);
  const SourceRow* src = token ? session_->sources().find(token) : nullptr;
  if (src)
    inspector_->setSource(token, src->kind, laneLabel(token));
  else
    inspector_->setSource(0, SourceKind::tcp_stream, QString());
  follow_->setSource(token);
  actions_->setClosed(read_only_ || (src && src->is_closed()));
  updateRelayAction();
  emit sourceSelected(token);
}

QString MainWindow::laneLabel(std::uint64_t token) const {
  const SourceRow* r = session_->sources().find(token);
  QString label = r ? QString::fromStdString(r->label()) : QStringLiteral("#%1").arg(token);
  // A lesson's sources carry the lesson's name for them ("reader"): compare lanes read at once.
  if (lessons_) {
    label = lane_label_with_name(label, lessons_->sourceName(token));
  }
  return label;
}

void MainWindow::attachToProcess() {
  AttachDialog dlg(this);
  if (dlg.exec() != QDialog::Accepted) return;
  if (const auto pid = dlg.pid()) submit(capture::cmd::Attach{*pid, dlg.interval()});
}

void MainWindow::newSource(int kind) {
  NewSourceDialog dlg(this);
  if (kind == kNewRelay)
    dlg.setChoice(SourceChoice::relay);
  else if (kind >= 0)
    dlg.setKind(static_cast<SourceKind>(kind));
  if (dlg.exec() != QDialog::Accepted) return;
  if (auto c = dlg.command()) submit(std::move(*c));
}

void MainWindow::sourcesContextMenu(const QPoint& pos) {
  const QModelIndex idx = sources_view_->indexAt(pos);
  if (!idx.isValid()) return;
  sourceMenu(sources_model_->tokenAt(sources_filter_->mapToSource(idx).row()),
             sources_view_->viewport()->mapToGlobal(pos));
}

void MainWindow::sourceMenu(std::uint64_t token, const QPoint& global) {
  const SourceRow* r = session_->sources().find(token);
  if (!r) return;
  QMenu menu(this);
  menu.setTitle(laneLabel(token));
  // The shared source actions: selecting the source points them (and the inspector, whose
  // fields hold their parameters) at it.
  selectSource(token);
  for (QAction* a : actions_->current()) menu.addAction(a);
  if (r->relay != RelayRole::none) {
    menu.addSeparator();
    menu.addAction(act_relay_faults_);
  }
  if (const auto group = timeline_->groupOf(token)) {
    // Its lane's group on the timeline (double-clicking the label does the same).
    menu.addSeparator();
    const bool collapsed = timeline_->isGroupCollapsed(*group);
    menu.addAction(collapsed ? tr("Expand its lane group") : tr("Collapse its lane group"), this,
                   [this, g = *group, collapsed] { timeline_->setGroupCollapsed(g, !collapsed); });
  }
  menu.exec(global);
}

void MainWindow::updateRelayAction() {
  if (!act_relay_faults_) return;
  const SourceRow* src = selected_token_ ? session_->sources().find(selected_token_) : nullptr;
  const bool relay = src && src->relay != RelayRole::none;
  act_relay_faults_->setEnabled(relay && !read_only_ && session_->is_live());
  act_relay_faults_->setToolTip(relay ? tr("Fault knobs of %1").arg(laneLabel(src->relay_listener))
                                      : tr("Select a relay's listener or one of its legs first"));
}

RelayFaultsDialog* MainWindow::showRelayFaults(std::uint64_t token) {
  const SourceRow* src = session_->sources().find(token);
  if (!src || src->relay == RelayRole::none) return nullptr;
  const std::uint64_t listener = src->relay_listener;
  QPointer<RelayFaultsDialog>& dlg = relay_dialogs_[listener];
  if (!dlg) {
    dlg = new RelayFaultsDialog(*session_, listener, laneLabel(listener), this);
    dlg->setAttribute(Qt::WA_DeleteOnClose);
  }
  dlg->show();
  dlg->raise();
  dlg->activateWindow();
  return dlg;
}

void MainWindow::applyLogFilter() {
  EventLogModel::Filter f;
  if (const std::uint64_t t = log_token_->currentData().toULongLong(); t != 0) f.token = t;
  const int kind = log_kind_->currentData().toInt();
  if (kind >= 0) f.kinds = EventLogModel::kindBit(static_cast<RecordKind>(kind));
  f.text = log_text_->text();
  f.time = log_model_->filter().time;  // set from the timeline, cleared by its button
  log_model_->setFilter(f);
}

void MainWindow::setLogRange(std::optional<TimeWindow> range) {
  if (range) {
    log_model_->setTimeFilter(std::pair{range->t0, range->t1});
    log_range_->setText(tr("%1 – %2 ✕").arg(time_text(range->t0), time_text(range->t1)));
  } else {
    log_model_->setTimeFilter(std::nullopt);
  }
  log_range_->setVisible(range.has_value());
}

void MainWindow::filterLogToLane(std::uint64_t token) {
  const int item = log_token_->findData(QVariant::fromValue<qulonglong>(token));
  if (item >= 0) log_token_->setCurrentIndex(item);
  bottom_tabs_->setCurrentIndex(0);
}

void MainWindow::jumpToTime(std::uint64_t t_ns) {
  const TimeWindow v = timeline_->view();
  const std::uint64_t half = v.span() / 2;
  timeline_->setView(t_ns > half ? t_ns - half : 0, (t_ns > half ? t_ns - half : 0) + v.span());
  const int row = log_model_->showTime(t_ns);
  if (row >= 0) log_view_->scrollTo(log_model_->index(row, 0), QAbstractItemView::PositionAtTop);
}

bool MainWindow::addBookmark(std::uint64_t t_ns, const QString& name) {
  if (bookmarks_->add(t_ns, name)) return true;
  showMessage(bookmarks_->all().size() >= Bookmarks::kMaxBookmarks
                  ? tr("Bookmarks: at most %1; remove some first").arg(Bookmarks::kMaxBookmarks)
                  : tr("Bookmarks: a bookmark needs a name"),
              true);
  return false;
}

void MainWindow::timelineMenu(const TimelineMenuContext& c, const QPoint& global) {
  QMenu menu(this);
  if (c.token && session_->sources().find(*c.token)) {
    // The lane's source: its actions, as its label's menu has them.
    menu.addSection(laneLabel(*c.token));
    selectSource(*c.token);
    for (QAction* a : actions_->current()) menu.addAction(a);
    menu.addSeparator();
    menu.addAction(tr("Filter the log to this lane"), this, [this, token = *c.token] { filterLogToLane(token); });
  }
  if (c.range)
    menu.addAction(tr("Filter the log to this range (%1)").arg(duration_text(double(c.range->span()))), this,
                   [this, r = *c.range] { setLogRange(r); });
  if (c.record)
    menu.addAction(tr("Copy record"), this, [this, i = *c.record] {
      QGuiApplication::clipboard()->setText(timeline_->describeRecord(i));
    });
  menu.addAction(tr("Show the log from %1").arg(time_text(c.t_ns)), this, [this, t = c.t_ns] { jumpToTime(t); });
  menu.addAction(tr("Bookmark %1…").arg(time_text(c.t_ns)), this, [this, t = c.t_ns] {
    bool ok = false;
    const QString name = QInputDialog::getText(this, tr("Bookmark"), tr("Name of the bookmark at %1:").arg(time_text(t)),
                                               QLineEdit::Normal, tr("bookmark %1").arg(bookmarks_->all().size() + 1), &ok);
    if (ok) addBookmark(t, name);
  });
  menu.exec(global);
}

void MainWindow::fillBookmarksMenu() {
  bookmarks_menu_->clear();
  const auto& all = bookmarks_->all();
  if (all.empty()) bookmarks_menu_->addAction(tr("(none: right-click the timeline to add one)"))->setEnabled(false);
  for (const Bookmark& b : all)
    bookmarks_menu_->addAction(tr("%1 — %2").arg(b.name, time_text(b.t_ns)), this, [this, t = b.t_ns] { jumpToTime(t); });
  if (all.empty()) return;
  bookmarks_menu_->addSeparator();
  bookmarks_menu_->addAction(tr("Clear bookmarks"), bookmarks_, &Bookmarks::clear);
}

void MainWindow::addNote() {
  bool ok = false;
  const QString text = QInputDialog::getText(this, tr("Note"), tr("A marker on the timeline:"), QLineEdit::Normal,
                                             QString(), &ok);
  if (ok && !text.trimmed().isEmpty()) submit(capture::cmd::Note{text.trimmed().toStdString()});
}

void MainWindow::openScenario() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open scenario"), QString(), tr("Scenarios (*.json)"));
  if (path.isEmpty()) return;
  auto s = capture::load_scenario(path.toStdString(), {});
  if (!s) {
    showMessage(QString::fromStdString(s.error().message()), true);
    return;
  }
  playScenario(std::move(*s));
}

void MainWindow::showShortcuts() {
  QString html = QStringLiteral("<table cellspacing=6>");
  const auto row = [&html](const QString& keys, const QString& what) {
    html += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>").arg(keys.toHtmlEscaped(), what.toHtmlEscaped());
  };
  for (QAction* a : findChildren<QAction*>()) {
    if (a->shortcut().isEmpty()) continue;
    QString text = a->text();
    text.remove(QLatin1Char('&'));
    row(a->shortcut().toString(QKeySequence::NativeText), text);
  }
  row(tr("Wheel"), tr("Timeline: zoom at the cursor"));
  row(tr("W / S"), tr("Timeline: zoom in / out"));
  row(tr("A / D"), tr("Timeline: pan left / right"));
  row(tr("Drag"), tr("Timeline: zoom to the selected range"));
  row(tr("Shift+drag"), tr("Timeline: measure Δt, count and rate"));
  row(tr("Click"), tr("Timeline: select the record (log and inspector follow)"));
  html += QStringLiteral("</table>");
  QDialog dlg(this);
  dlg.setWindowTitle(tr("Keyboard shortcuts"));
  auto* text = new QTextBrowser;
  text->setHtml(html);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
  connect(buttons, &QDialogButtonBox::rejected, &dlg, &QDialog::reject);
  auto* layout = new QVBoxLayout(&dlg);
  layout->addWidget(text);
  layout->addWidget(buttons);
  dlg.resize(520, 480);
  dlg.exec();
}

void MainWindow::showAbout() {
  QMessageBox::about(this, tr("About ReadyScope"),
                     tr("<b>ReadyScope %1</b><p>Makes Linux readiness notification (epoll) visible: one "
                        "timeline lane per token, live interest and trigger mode, every action and its "
                        "result.</p>")
                         .arg(QApplication::applicationVersion()));
}

void MainWindow::setTheme(Theme theme) {
  theme_ = theme;
  apply_theme(theme);
  for (QAction* a : theme_group_->actions()) a->setChecked(a->data().toInt() == static_cast<int>(theme));
  QSettings().setValue(QStringLiteral("view/theme"), theme_name(theme));
}

void MainWindow::restoreSettings() {
  QSettings s;
  if (!restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray())) resize(1500, 900);
  restoreState(s.value(QStringLiteral("window/state")).toByteArray());
  const auto theme = theme_from_string(s.value(QStringLiteral("view/theme"), QStringLiteral("system")).toString());
  theme_ = theme.value_or(Theme::system);
  for (QAction* a : theme_group_->actions()) a->setChecked(a->data().toInt() == static_cast<int>(theme_));
  if (theme_ != Theme::system) setTheme(theme_);
}

void MainWindow::saveSettings() {
  QSettings s;
  s.setValue(QStringLiteral("window/geometry"), saveGeometry());
  s.setValue(QStringLiteral("window/state"), saveState());
}

void MainWindow::closeEvent(QCloseEvent* event) {
  saveSettings();
  event->accept();
}

// ---- recordings ----

void MainWindow::setReadOnly(const QString& why) {
  if (read_only_) return;
  read_only_ = true;
  QList<QAction*> off = {act_new_, act_attach_, act_note_, act_open_scenario_, files_->recordAction()};
  off += new_menu_->actions();
  for (const InspectorAction a : SourceActions::all()) off.push_back(actions_->action(a));
  for (QAction* a : off) {
    a->setEnabled(false);
    a->setToolTip(why);
  }
  new_menu_->setToolTip(why);
  actions_->setClosed(true);
  updateRelayAction();
  inspector_->sendEdit()->setEnabled(false);
  inspector_->sendEdit()->setToolTip(why);
  // Interest boxes, mode and reaction: nothing to submit them to.
  sources_view_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  sources_view_->setItemDelegate(read_only_delegate(sources_view_));
  for (int c = 0; c < sources_model_->columnCount(); ++c) sources_view_->setItemDelegateForColumn(c, nullptr);
  lessons_->setToolTip(tr("%1 Lessons play on a live capture.").arg(why));
  act_pause_->setText(tr("&Pause view"));  // no capture goes on behind a file's view
  // The engine's figures mean nothing for a file.
  for (QLabel* l : {st_rate_, st_dropped_, st_ring_, st_poll_}) l->hide();
  // The records count changes at every status update while a file loads: at a fixed size
  // its new text does not make the whole window lay itself out again (a QLabel's setText
  // invalidates its parent layouts unless its size is fixed).
  const QFontMetrics fm(st_total_->font());
  st_total_->setFixedSize(fm.horizontalAdvance(tr("%1 records").arg(QLocale().toString(99'999'999))) + 8,
                          st_total_->sizeHint().height());
  timeline_->setEmptyHint(tr("No sources in this recording (yet)."));
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  if (recording_drop_path(event->mimeData())) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
  const auto path = recording_drop_path(event->mimeData());
  if (!path) return;
  event->acceptProposedAction();
  // After the drop returns: the drag source is not kept waiting by the new window's load.
  QTimer::singleShot(0, this, [this, p = *path] { open_recording_in_new_window(p, this); });
}

}  // namespace ready::ui
