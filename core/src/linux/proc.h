// The Linux layer's /proc operations for attaching to another process (docs/attach.md):
// named functions with the conventions of os.h (errors as values, EINTR retried where a
// retry is correct, descriptors close-on-exec), so ready::capture makes no system call itself
// and a test can inject a failure (sys::fault) into the calls they make.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "ready/error.h"
#include "ready/owned_fd.h"

namespace ready::os {

/// The whole text of a /proc file (their size is not known in advance: read until end of
/// file), at most `max_bytes` (EFBIG beyond). open(2) + read(2).
io_result<std::string> read_proc_text(const std::string& path, std::size_t max_bytes) noexcept;
/// The target of a symbolic link (readlink(2)), at most 4095 bytes.
io_result<std::string> read_link(const std::string& path) noexcept;
/// The names in a directory, "." and ".." left out (open(2) O_DIRECTORY + getdents).
io_result<std::vector<std::string>> list_dir(const std::string& path) noexcept;
/// The owner of a file (stat(2)).
io_result<unsigned> owner_uid(const std::string& path) noexcept;
/// This process's effective user id.
unsigned effective_uid() noexcept;
/// A pidfd for `pid` (pidfd_open(2), Linux 5.3; close-on-exec by definition): readable once
/// the process has ended. ESRCH: no such process.
io_result<OwnedFd> pidfd_open(int pid) noexcept;

}  // namespace ready::os
