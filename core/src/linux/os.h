// The Linux layer's named operations for the capture library (ready::capture).
//
// ready::capture makes no system call itself and never includes linux/sys.h: what it needs
// from the kernel beyond ready::'s public types is a named function here, implemented in
// core/src/linux/ with the same conventions (errors as values, EINTR retried where a retry
// is correct, every descriptor close-on-exec in the creating call).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "ready/error.h"
#include "ready/owned_fd.h"

namespace ready::os {

// ---- memory ----

/// Maps in the whole pages inside [p, p + bytes) with one madvise(MADV_POPULATE_WRITE)
/// instead of one page fault per page as first use touches them: same memory, same contents
/// (fresh anonymous pages are zero either way), far fewer traps (a fault costs 15-20 us a
/// page on the project's VMs, populating about 1 us). Best effort: a kernel without it
/// (before 5.14: EINVAL) faults the pages in on first use, as before.
void populate(void* p, std::size_t bytes) noexcept;

// ---- regular files ----

/// Opens `path` for reading (O_RDONLY | O_CLOEXEC, plus O_NONBLOCK when `nonblock`, so a
/// FIFO named by mistake cannot hang the caller before it is found not to be a file).
io_result<OwnedFd> open_read(const std::string& path, bool nonblock = false) noexcept;
/// Creates `path` for writing (mode 0644, O_NOFOLLOW): truncates an existing file when
/// `overwrite`, fails with EEXIST otherwise.
io_result<OwnedFd> create_write(const std::string& path, bool overwrite) noexcept;
/// The size of the regular file open as `fd`; EINVAL when it is not a regular file.
io_result<std::uint64_t> regular_file_size(int fd) noexcept;
/// One read(2) into `buf` (EINTR retried); 0 at end of file.
io_result<std::size_t> read_some(int fd, std::span<char> buf) noexcept;
/// Reads until `buf` is full or end of file (EINTR retried); returns the bytes read.
io_result<std::size_t> read_full(int fd, std::span<char> buf) noexcept;
/// Moves the file offset back to the start.
io_result<void> rewind(int fd) noexcept;
/// Writes all of `data` (EINTR and short writes retried).
io_result<void> write_all(int fd, std::span<const char> data) noexcept;

// ---- fault injection ----

/// True when a test injected a failure at the capture engine's allocation fault point
/// (sys::fault::inject(sys::fault::allocation, ENOMEM, count, tid)); the engine then throws
/// std::bad_alloc as a failed allocation would. Checked before each command and each
/// periodic stats record (cold paths: never per event). One relaxed load when nothing is
/// injected.
bool allocation_fault() noexcept;

/// This process's id (getpid(2)), e.g. to make a name no other process uses.
int process_id() noexcept;
/// Removes the name `path` (unlink(2)); a socket file a scenario bound, for example.
io_result<void> remove_file(const std::string& path) noexcept;

}  // namespace ready::os
