#include "models/bookmarks.h"

#include <algorithm>

namespace ready::ui {

bool Bookmarks::add(std::uint64_t t_ns, const QString& name) {
  const QString n = name.trimmed();
  if (n.isEmpty() || m_all.size() >= kMaxBookmarks) return false;
  const auto at = std::upper_bound(m_all.begin(), m_all.end(), t_ns,
                                   [](std::uint64_t t, const Bookmark& b) { return t < b.t_ns; });
  m_all.insert(at, Bookmark{t_ns, n});
  emit changed();
  return true;
}

bool Bookmarks::remove(std::size_t i) {
  if (i >= m_all.size()) return false;
  m_all.erase(m_all.begin() + static_cast<std::ptrdiff_t>(i));
  emit changed();
  return true;
}

void Bookmarks::clear() {
  if (m_all.empty()) return;
  m_all.clear();
  emit changed();
}

}  // namespace ready::ui
