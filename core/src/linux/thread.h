// The Linux layer's thread operations for the capture library (see os.h for the rule).
#pragma once

namespace ready::os {

/// Names the calling thread (at most 15 characters shown) for top, gdb and
/// /proc/<pid>/task/<tid>/comm; best effort.
void name_this_thread(const char* name) noexcept;

}  // namespace ready::os
