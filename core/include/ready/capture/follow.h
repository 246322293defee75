// Follow stream: one relayed connection's conversation, built from its client leg's payload,
// and printed the way `socat -v` prints what it relays (docs/relay.md, "Follow stream").
//
// The client leg of a relay (cmd::Relay) keeps its payload: Direction::in is what the client
// sent (client -> server, shown as '>'), Direction::out what it received (server -> client,
// '<'). A Conversation takes that payload snapshot by snapshot (Engine::payload(token,
// conversation.next()), or a recording's payload lines) and turns each chunk into a
// FollowItem: its capture time, direction, length and running offset within its direction.
//
// A chunk is what one read() returned (or one write() took), NOT a message of the protocol:
// the kernel joins and splits writes as it likes, so one HTTP request may come as several
// chunks, or two requests as one. kChunkNote says so for the views.
//
// Bytes the payload bound evicted before they were seen (PayloadSnapshot::evicted; a
// recording cut by its payload bound the same way) become a gap item: "... N bytes not kept
// (payload bound) ...". Which direction they went is not known, so the per-direction offsets
// (from/to) and counts are those of the bytes seen; after a gap they are not stream
// positions any more.
//
// Qt-free; no I/O. The views (headless --follow, the window's Follow stream panel) print or
// draw what these functions return.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ready/capture/command.h"
#include "ready/capture/engine.h"
#include "ready/capture/record.h"

namespace ready::capture {

/// The note every follow view shows once.
inline constexpr std::string_view kChunkNote =
    "chunks are read() boundaries, not messages: the kernel may join or split what a program wrote";

/// One entry of a conversation: a chunk of bytes, or a gap of bytes not kept.
struct FollowItem {
  /// > 0: a gap item (these many bytes were evicted by the payload bound before they were
  /// seen; `bytes` is empty). 0: a chunk.
  std::uint64_t not_kept = 0;
  std::uint64_t t_ns = 0;                ///< capture time of the read/write (chunks)
  Direction direction = Direction::in;   ///< in: client -> server ('>'); out: server -> client ('<')
  std::uint64_t from = 0;                ///< offset of bytes[0] within its direction (bytes seen)
  std::uint64_t stream_offset = 0;       ///< PayloadChunk::offset (both directions)
  std::vector<std::byte> bytes;

  [[nodiscard]] bool is_gap() const noexcept { return not_kept != 0; }
  /// socat's inclusive `to`: the offset of the last byte (from + length - 1).
  [[nodiscard]] std::uint64_t to() const noexcept { return from + bytes.size() - 1; }
};

/// What follow_client_leg needs to know of a source (from its source_added record, or a
/// sources table's row).
struct FollowLeg {
  SourceKind kind{};
  Reaction reaction = Reaction::none;
  std::uint64_t related = 0;  ///< source_added's related(): the listener or the client leg
};

/// The client leg of the relayed connection that `token` is a leg of: `token` itself for a
/// client leg (a relay stream whose related source is a listener), its related source for an
/// upstream leg (a relay stream whose related source is a relay stream); 0 for anything else
/// (a relay's listener included: it has many connections). `leg` answers for a token, nullopt
/// when it does not know it.
[[nodiscard]] std::uint64_t follow_client_leg(std::uint64_t token,
                                              const std::function<std::optional<FollowLeg>(std::uint64_t)>& leg);

/// How bodies are printed.
enum class FollowFormat : std::uint8_t {
  text,  ///< socat -v: printable ASCII as is, \r \t \\ and others escaped, '\n' ends a line
  hex,   ///< hexdump -C: offset, 16 bytes in hex, the same bytes as ASCII
};

/// One relayed connection's conversation, fed incrementally. Keeps only counters: the items
/// are handed to the caller, which keeps what it needs (a view its lines, a printer nothing).
class Conversation {
 public:
  /// The items for the chunks of `snapshot` at stream offsets >= next() (older ones, already
  /// seen, are skipped), a gap item first for bytes missing before them. Then next() is
  /// snapshot.next (or stays, if that is behind).
  [[nodiscard]] std::vector<FollowItem> add(const PayloadSnapshot& snapshot);
  /// The same for one chunk (a recording's payload line): a gap item if chunk.offset is
  /// beyond next(); nothing for a chunk below next().
  [[nodiscard]] std::vector<FollowItem> add(const PayloadChunk& chunk);

  /// The stream offset to ask the payload from next (the `since` of Engine::payload).
  [[nodiscard]] std::uint64_t next() const noexcept { return next_; }
  /// Bytes seen that went `d`.
  [[nodiscard]] std::uint64_t bytes(Direction d) const noexcept { return d == Direction::in ? in_ : out_; }
  /// Chunks seen that went `d`.
  [[nodiscard]] std::uint64_t chunks(Direction d) const noexcept { return d == Direction::in ? in_chunks_ : out_chunks_; }
  /// Bytes never seen (gaps).
  [[nodiscard]] std::uint64_t not_kept() const noexcept { return not_kept_; }

 private:
  void take(const PayloadChunk& chunk, std::vector<FollowItem>& out);

  std::uint64_t next_ = 0;
  std::uint64_t in_ = 0;
  std::uint64_t out_ = 0;
  std::uint64_t in_chunks_ = 0;
  std::uint64_t out_chunks_ = 0;
  std::uint64_t not_kept_ = 0;
};

/// '>' for client -> server (Direction::in of the client leg), '<' for server -> client.
[[nodiscard]] constexpr char follow_mark(Direction d) noexcept { return d == Direction::in ? '>' : '<'; }

/// A capture time as seconds with microseconds: "1.234567 s".
[[nodiscard]] std::string follow_time(std::uint64_t t_ns);

/// socat -v's chunk header with our capture time: "> 1.234567 s  length=5 from=0 to=4"; with
/// a non-empty `connection`, "  connection=<it>" is appended (--follow all names each
/// chunk's connection). For a gap item: "... N bytes not kept (payload bound) ...".
[[nodiscard]] std::string follow_header(const FollowItem& item, std::string_view connection = {});

/// socat -v's text of some bytes: printable ASCII as is, '\n' as a line end, "\r" "\t" and
/// "\\" for CR, tab and backslash, every other byte as "\xHH". Ends with a newline (a chunk
/// that did not end in '\n' gets one, so the next header starts a line).
[[nodiscard]] std::string follow_text(std::span<const std::byte> bytes);

/// hexdump -C's lines: "00000010  48 6f 73 74 3a 20 6c 6f  63 61 6c 68 6f 73 74 3a  |Host: localhost:|",
/// the offset counting from `first_offset` (a chunk's `from`), '.' for non-printable bytes
/// in the ASCII column. Each line ends with '\n'.
[[nodiscard]] std::string follow_hex(std::span<const std::byte> bytes, std::uint64_t first_offset = 0);

/// The header line and the body of an item in `format`, ending with '\n' (a gap: its line).
[[nodiscard]] std::string follow_format(const FollowItem& item, FollowFormat format, std::string_view connection = {});

}  // namespace ready::capture
