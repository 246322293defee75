// Bookmarks: named times of the capture the user put on the timeline (its context menu),
// listed in View > Bookmarks and jumped to from there.
#pragma once

#include <QObject>
#include <QString>
#include <cstdint>
#include <vector>

namespace ready::ui {

struct Bookmark {
  std::uint64_t t_ns = 0;  ///< since the capture started
  QString name;
  friend bool operator==(const Bookmark&, const Bookmark&) = default;
};

/// The capture's bookmarks in time order (equal times keep the order they were added in).
/// At most kMaxBookmarks; a name is trimmed and must not be empty.
class Bookmarks : public QObject {
  Q_OBJECT

 public:
  static constexpr std::size_t kMaxBookmarks = 1000;

  using QObject::QObject;

  /// Adds a bookmark; false (and nothing changes) for an empty name or when kMaxBookmarks
  /// are held.
  bool add(std::uint64_t t_ns, const QString& name);
  /// Removes the i-th bookmark (time order); false when there is none.
  bool remove(std::size_t i);
  void clear();
  [[nodiscard]] const std::vector<Bookmark>& all() const noexcept { return m_all; }

 signals:
  void changed();

 private:
  std::vector<Bookmark> m_all;
};

}  // namespace ready::ui
