// `readyscope --headless --relay ... --follow TOKEN|all` (and `--open FILE --follow ...`):
// relayed connections' conversations printed to stdout as their chunks arrive, the way
// `socat -v` prints what it relays (ready/capture/follow.h; docs/relay.md, "Follow stream").
#pragma once

#include <cstdint>
#include <cstdio>
#include <expected>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ready/capture/engine.h"
#include "ready/capture/follow.h"
#include "ready/capture/record.h"

namespace readyscope {

/// The payload the engine keeps per source in a run with --follow (EngineConfig::
/// payload_bytes_per_source, when larger than that of the run otherwise): what a connection
/// moves between two prints (a few milliseconds apart) fits, while 10,000 connections cost
/// at most that much each only while they move bytes (buffers grow as they fill).
inline constexpr std::size_t kFollowPayloadBytes = std::size_t{1} << 20;

/// What --follow asks for.
struct FollowRequest {
  /// --follow all: every relayed connection of the run (each header names its connection).
  bool all = false;
  /// --follow TOKEN: the connection whose client leg or upstream leg has this token, or, for
  /// a relay's listener token, every connection of that relay (headers name the connection).
  std::uint64_t token = 0;
  /// --follow-format: text (socat -v) or hex (hexdump -C).
  ready::capture::FollowFormat format = ready::capture::FollowFormat::text;
};

/// Parses --follow's value ("all" or a token, 1 or more) and --follow-format's ("text",
/// "hex"; empty: text); the error names the option and the value.
std::expected<FollowRequest, std::string> parse_follow(std::string_view follow, std::string_view format);

/// Prints the conversations a FollowRequest names, fed the run's records in order.
///
/// Live (a capture): construct it with a `fetch` (Engine::payload); call on_record for every
/// record drained, then print_new() after each batch: it fetches, for each followed
/// connection whose client leg had an action since, only the payload that is new
/// (Conversation::next) and prints it. From a recording: construct it without `fetch`; call
/// on_record for the records and on_payload for the payload lines, in file order, and
/// finish() at the end.
///
/// Output: one note line first ("# chunks are read() boundaries ..."), "# connection N
/// opened" when a followed connection's client leg appears, each chunk as its header and body
/// (follow_format), gap lines for bytes the payload bound evicted before they were printed,
/// and "# connection N closed: ..." with the counts per direction. Lines starting with '#'
/// are the printer's own.
class FollowPrinter {
 public:
  /// Engine::payload(token, since, max_bytes).
  using Fetch = std::function<std::optional<ready::capture::PayloadSnapshot>(std::uint64_t token, std::uint64_t since,
                                                                             std::size_t max_bytes)>;
  /// The most one fetch copies (a larger backlog comes in several).
  static constexpr std::size_t kFetchBytes = std::size_t{1} << 20;

  FollowPrinter(FollowRequest request, std::FILE* out, Fetch fetch = {});

  void on_record(const ready::capture::Record& r);
  /// Live: prints what the followed connections' payload gained since the last call.
  void print_new();
  /// From a recording: a payload line of `token`.
  void on_payload(std::uint64_t token, const ready::capture::PayloadChunk& chunk);
  /// From a recording: prints what is pending and each connection's closing line.
  void finish();

  /// Connections followed so far.
  [[nodiscard]] std::size_t connections() const noexcept { return m_seen; }

 private:
  struct Followed {
    ready::capture::Conversation conversation;
    std::optional<ready::capture::PayloadChunk> pending;  // a recording's chunk split over lines
    bool named = false;  // headers name the connection (--follow all, or a relay's listener)
    bool removed = false;
  };
  void startFollowing(std::uint64_t leg, bool named);
  bool wanted(std::uint64_t leg) const;
  void print(std::uint64_t leg, bool named, const std::vector<ready::capture::FollowItem>& items);
  void flushPending(std::uint64_t leg, Followed& f);
  void printClosed(std::uint64_t leg, const Followed& f);

  FollowRequest m_request;
  std::FILE* m_out;
  Fetch m_fetch;
  std::unordered_map<std::uint64_t, ready::capture::FollowLeg> m_legs;  // from source_added
  std::map<std::uint64_t, Followed> m_followed;                        // client leg -> conversation
  std::set<std::uint64_t> m_dirty;
  std::size_t m_seen = 0;
  bool m_noted = false;
};

/// --open FILE --follow: reads the recording again and prints the conversations it names from
/// its payload lines; a file without payload lines gets one line saying so (on `out`). The
/// read's error message, if any.
std::expected<void, std::string> follow_recording(const FollowRequest& request, const std::string& path,
                                                  std::FILE* out);

}  // namespace readyscope
