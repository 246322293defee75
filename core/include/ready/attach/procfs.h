// Another process's epoll instances as /proc shows them (docs/attach.md): pure parsers of
// the text of /proc/PID/fdinfo/EPFD, /proc/PID/net/{tcp,tcp6,udp,udp6,unix} and of the
// targets of /proc/PID/fd/* links, and the decoding of an epoll interest mask. No system
// call here: core/src/attach/procfs_read.cpp reads the files (through core/src/linux/) and
// hands their text to these functions, which a test or a fuzzer can call on any text.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ready/capture/record.h"

namespace ready::attach {

// ---- the epoll_event.events bits (uapi/linux/eventpoll.h; spelled here so no header is needed) ----

inline constexpr std::uint32_t kEpollIn = 0x001;
inline constexpr std::uint32_t kEpollPri = 0x002;
inline constexpr std::uint32_t kEpollOut = 0x004;
inline constexpr std::uint32_t kEpollErr = 0x008;
inline constexpr std::uint32_t kEpollHup = 0x010;
inline constexpr std::uint32_t kEpollRdHup = 0x2000;
inline constexpr std::uint32_t kEpollExclusive = 1u << 28;
inline constexpr std::uint32_t kEpollWakeup = 1u << 29;
inline constexpr std::uint32_t kEpollOneshot = 1u << 30;
inline constexpr std::uint32_t kEpollEt = 1u << 31;
/// The bits epoll_ctl adds to every registration's mask (ADD and MOD), asked for or not.
inline constexpr std::uint32_t kEpollAlways = kEpollErr | kEpollHup;

/// An interest mask as text: the bits asked for, by name, in the order IN OUT PRI RDHUP ET
/// ONESHOT EXCLUSIVE WAKEUP, joined by '|', then any other bit as hex; then the bits of
/// kEpollAlways that are set, after " +" ("IN|RDHUP|ET +ERR|HUP": the kernel added ERR|HUP).
/// "none" for 0.
std::string mask_text(std::uint32_t events);

/// The engine's view of a mask: interest (IN -> readable, OUT -> writable, PRI -> priority;
/// none of them: `paused`) and trigger (ET: edge, ONESHOT: oneshot, else level), packed as a
/// source record's bits (capture::SourceBits, reaction none).
std::uint32_t source_bits_of(std::uint32_t events) noexcept;

// ---- /proc/PID/fdinfo/EPFD ----

/// One watched descriptor of an epoll instance (one `tfd:` line of fdinfo).
struct EpollEntry {
  int tfd = -1;                ///< the descriptor number in the process (may be stale: closed since, file kept open)
  std::uint32_t events = 0;    ///< the interest mask, as registered (plus kEpollAlways)
  std::uint64_t data = 0;      ///< epoll_event.data: the token the program chose
  std::optional<std::uint64_t> pos;  ///< the file's offset (Linux >= 4.13)
  std::optional<std::uint64_t> ino;  ///< the file's inode number (Linux >= 4.13)
  std::optional<std::uint32_t> sdev;  ///< the file's device (Linux >= 4.13)
  friend bool operator==(const EpollEntry&, const EpollEntry&) = default;
};

/// What a descriptor's fdinfo says (an epoll instance's: its entries too).
struct FdInfo {
  std::optional<std::uint64_t> pos;
  std::optional<std::uint32_t> flags;  ///< the open flags (octal in the file): O_ACCMODE tells a pipe's end
  std::vector<EpollEntry> entries;     ///< one per `tfd:` line, in file order
};

/// The most entries parse_fdinfo accepts (a larger file is refused).
inline constexpr std::size_t kMaxEpollEntries = 1u << 20;

/// Parses fdinfo text by key: `pos:`, `flags:` and each `tfd:` line (keys `tfd`, `events`
/// (hex), `data` (hex), and when present `pos` (decimal), `ino` (hex), `sdev` (hex)); a key
/// may be followed by its value after blanks (`tfd:        5`) or glued to it (`pos:0`).
/// Lines and keys it does not know are ignored (newer kernels add some). Errors (one line,
/// naming the line): a `tfd:` line without `events` or `data`, a number that does not parse
/// or overflows, more than kMaxEpollEntries entries.
std::expected<FdInfo, std::string> parse_fdinfo(std::string_view text);

// ---- /proc/PID/fd/N link targets ----

/// What a descriptor's link names.
enum class LinkKind : std::uint8_t {
  socket,    ///< socket:[INODE]
  pipe,      ///< pipe:[INODE]
  eventfd,   ///< anon_inode:[eventfd]
  timerfd,   ///< anon_inode:[timerfd]
  signalfd,  ///< anon_inode:[signalfd]
  epoll,     ///< anon_inode:[eventpoll]
  file,      ///< an absolute path (a file, a device, a FIFO by name)
  other,     ///< anything else (anon_inode:inotify, anon_inode:[pidfd], ...)
};
struct LinkTarget {
  LinkKind kind = LinkKind::other;
  std::uint64_t inode = 0;  ///< socket and pipe: the number in brackets
};
LinkTarget classify_link(std::string_view link) noexcept;

// ---- /proc/PID/net/{tcp,tcp6,udp,udp6,unix} ----

/// A TCP or UDP socket of a net table.
struct InetSocket {
  std::uint64_t inode = 0;
  std::string local;  ///< "127.0.0.1:8080", "[::1]:8080"
  std::string peer;   ///< "" when the peer is unspecified (a listener, an unconnected UDP socket)
  int state = 0;      ///< the kernel's TCP state (0x0A: listening); UDP: 7 unconnected, 1 connected
};
/// A Unix socket of /proc/net/unix.
struct UnixSocket {
  std::uint64_t inode = 0;
  int type = 0;            ///< 1 stream, 2 datagram, 5 seqpacket
  bool listening = false;  ///< __SO_ACCEPTCON in Flags
  std::string path;        ///< "" unnamed; an abstract name starts with '@'
};
/// The TCP listening state in a net table's `st` column.
inline constexpr int kTcpListen = 0x0A;

/// The most lines a net table may have (a larger text is refused).
inline constexpr std::size_t kMaxNetLines = 1u << 22;

/// Parses /proc/net/tcp or udp (`v6` false) or tcp6 / udp6 (`v6` true): the header line is
/// skipped, every other non-empty line must have the columns sl, local, remote, st, ..., inode
/// (error: one line naming the line). Addresses are the kernel's (network order words
/// printed in host order, as it prints them on this machine).
std::expected<std::vector<InetSocket>, std::string> parse_inet_table(std::string_view text, bool v6);
/// Parses /proc/net/unix (header skipped; Num RefCount Protocol Flags Type St Inode [Path]).
std::expected<std::vector<UnixSocket>, std::string> parse_unix_table(std::string_view text);

/// The net tables of a process, by socket inode.
struct NetTables {
  std::unordered_map<std::uint64_t, InetSocket> tcp, udp;
  std::unordered_map<std::uint64_t, UnixSocket> unix_sockets;
};

/// What a watched descriptor is, for a source record: its kind and addresses.
struct Resolved {
  capture::SourceKind kind = capture::SourceKind::other;
  std::string local;  ///< the address, Unix path, file path or link text
  std::string peer;
};
/// Resolves a descriptor from its link text, the process's net tables and (for a pipe) its
/// open flags: a TCP socket is a tcp_listener when listening, else a tcp_stream; a UDP socket
/// udp; a Unix socket unix_listener / unix_stream / unix_datagram; a socket in no table
/// (netlink, packet, another namespace's) `socket` with its link text; a pipe opened
/// write-only pipe_sender, else pipe_receiver (`local` "pipe:[INODE]"); eventfd, timerfd,
/// signalfd, epoll; a path `file` (local = the path); anything else `other` (local = the link).
Resolved resolve(std::string_view link, const NetTables& net, std::optional<std::uint32_t> open_flags);

}  // namespace ready::attach
