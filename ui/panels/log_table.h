// The look shared by the window's tables of records (the event log, the warnings).
#pragma once

#include <initializer_list>
#include <utility>

class QTableView;

namespace ready::ui {

/// Whole-row single selection, read-only, no row numbers, rows one text line high,
/// alternating colours, the last column stretched. Each other column listed in `samples`
/// starts as wide as its sample text (the longest usual value, so nothing common is elided;
/// the user can still drag them).
void set_up_log_table(QTableView& view, std::initializer_list<std::pair<int, const char*>> samples);

}  // namespace ready::ui
