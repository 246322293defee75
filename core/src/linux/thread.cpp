// The Linux layer's thread operations for the capture library (see thread.h).
#include "linux/thread.h"

#include "linux/sys.h"

namespace ready::os {

void name_this_thread(const char* name) noexcept { sys::name_this_thread(name); }

}  // namespace ready::os
