// The built-in lessons: scenario files compiled into the app (resources/scenarios/*.json) in
// the teaching order of resources/lessons.txt, and the lesson that explains each pitfall
// warning. Shared by `--list-lessons`, `--scenario NAME` and the window's Lessons panel.
#pragma once

#include <QByteArray>
#include <QList>
#include <QString>
#include <optional>

#include "ready/capture/record.h"

namespace readyscope {

/// One built-in lesson, as its scenario file names it.
struct LessonInfo {
  QString name;         ///< the scenario's `name` (= its file name without .json)
  QString title;        ///< one line
  QString description;  ///< what the lesson shows
};

/// Every built-in scenario: first the lessons in the order of resources/lessons.txt, then any
/// other built-in scenario by name. A file that does not parse as a JSON object with a string
/// `name` is left out (the lessons test rejects that at build time).
QList<LessonInfo> builtinLessons();

/// The text of the built-in scenario `name`, or nullopt.
std::optional<QByteArray> builtinLessonText(const QString& name);

/// The names of every built-in scenario, in builtinLessons() order.
QStringList builtinLessonNames();

/// The lesson that explains a pitfall warning; empty for warnings that are bounds, not
/// pitfalls (payload_truncated, engine_error).
QString lessonForWarning(ready::capture::WarningKind kind);

}  // namespace readyscope
