#include "models/lessons.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>

namespace readyscope {

namespace {

QStringList orderedNames() {
  QStringList order;
  QFile index(QStringLiteral(":/lessons.txt"));
  if (index.open(QIODevice::ReadOnly)) {
    for (const QByteArray& line : index.readAll().split('\n')) {
      const QString name = QString::fromUtf8(line).trimmed();
      if (!name.isEmpty() && !name.startsWith(QLatin1Char('#'))) order << name;
    }
  }
  QStringList rest;
  for (const QString& f : QDir(QStringLiteral(":/scenarios")).entryList({QStringLiteral("*.json")}, QDir::Files,
                                                                          QDir::Name)) {
    const QString name = f.chopped(5);
    if (!order.contains(name)) rest << name;
  }
  QStringList names;
  for (const QString& n : order)
    if (QFile::exists(QStringLiteral(":/scenarios/%1.json").arg(n))) names << n;
  return names + rest;
}

}  // namespace

std::optional<QByteArray> builtinLessonText(const QString& name) {
  QFile f(QStringLiteral(":/scenarios/%1.json").arg(name));
  if (name.contains(QLatin1Char('/')) || !f.open(QIODevice::ReadOnly)) return std::nullopt;
  return f.readAll();
}

QStringList builtinLessonNames() { return orderedNames(); }

QList<LessonInfo> builtinLessons() {
  QList<LessonInfo> out;
  for (const QString& name : orderedNames()) {
    const auto text = builtinLessonText(name);
    if (!text) continue;
    const QJsonObject o = QJsonDocument::fromJson(*text).object();
    if (!o.value(QStringLiteral("name")).isString()) continue;
    LessonInfo l;
    l.name = o.value(QStringLiteral("name")).toString();
    l.title = o.value(QStringLiteral("title")).toString(l.name);
    l.description = o.value(QStringLiteral("description")).toString();
    out << l;
  }
  return out;
}

QString lessonForWarning(ready::capture::WarningKind kind) {
  using ready::capture::WarningKind;
  switch (kind) {
    case WarningKind::et_partial_read:
      return QStringLiteral("et-partial-read");
    case WarningKind::oneshot_disarmed_pending:
      return QStringLiteral("oneshot-rearm");
    case WarningKind::level_writable_spin:
      return QStringLiteral("writable-interest");
    case WarningKind::read_after_close:
      return QStringLiteral("half-close");
    case WarningKind::event_after_close:
      return QStringLiteral("stale-event");
    case WarningKind::emfile:
      return QStringLiteral("emfile-listener");
    case WarningKind::payload_truncated:
    case WarningKind::engine_error:
      break;
  }
  return {};
}

}  // namespace readyscope
