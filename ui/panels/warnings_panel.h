// The Warnings dock: the capture's warnings, each linking to the lesson that explains it.
#pragma once

#include <QWidget>

#include <cstdint>
#include <functional>

#include "models/warnings_model.h"
#include "session/capture_session.h"

class QLabel;
class QPushButton;
class QTableView;

namespace ready::ui {

/// The Warnings dock: the table, a count line ("3 warnings", "+ 120 dropped beyond the
/// 10000-row bound") and "Open lesson" for the selected row. A click on a row emits
/// recordActivated (the window selects that time on the timeline and in the log); a click
/// on the Lesson column, a double click or the button emits lessonRequested with its lesson.
class WarningsPanel : public QWidget {
  Q_OBJECT

 public:
  /// Shows the session's warnings model; `labeler` names the sources of new rows.
  explicit WarningsPanel(CaptureSession& session, WarningsModel::Labeler labeler = {}, QWidget* parent = nullptr);

  [[nodiscard]] WarningsModel* model() const noexcept { return model_; }
  [[nodiscard]] QTableView* view() const noexcept { return view_; }
  [[nodiscard]] QPushButton* lessonButton() const noexcept { return lesson_button_; }
  [[nodiscard]] QString countText() const;
  /// Emits lessonRequested for row `row`, if its warning has a lesson; false otherwise.
  bool openLessonOf(int row);

 signals:
  void recordActivated(std::uint64_t index);
  void lessonRequested(const QString& lesson);

 private:
  void updateCounts();

  WarningsModel* model_ = nullptr;
  QTableView* view_ = nullptr;
  QLabel* counts_ = nullptr;
  QPushButton* lesson_button_ = nullptr;
};

}  // namespace ready::ui
