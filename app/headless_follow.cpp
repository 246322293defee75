#include "headless_follow.h"

#include <charconv>

#include "ready/capture/recording.h"
#include <cinttypes>
#include <span>
#include <vector>

namespace readyscope {

using namespace ready::capture;

std::expected<FollowRequest, std::string> parse_follow(std::string_view follow, std::string_view format) {
  FollowRequest req;
  if (follow == "all") {
    req.all = true;
  } else {
    const char* end = follow.data() + follow.size();
    const auto [p, ec] = std::from_chars(follow.data(), end, req.token);
    if (follow.empty() || ec != std::errc() || p != end || req.token == 0)
      return std::unexpected("--follow: '" + std::string(follow) +
                             "' is neither 'all' nor a token (a number from 1 on, as the run prints them)");
  }
  if (format == "hex") {
    req.format = FollowFormat::hex;
  } else if (!format.empty() && format != "text") {
    return std::unexpected("--follow-format: '" + std::string(format) + "' is neither 'text' nor 'hex'");
  }
  return req;
}

FollowPrinter::FollowPrinter(FollowRequest request, std::FILE* out, Fetch fetch)
    : m_request(request), m_out(out), m_fetch(std::move(fetch)) {}

bool FollowPrinter::wanted(std::uint64_t leg) const {
  if (m_request.all || m_request.token == leg) return true;
  const auto it = m_legs.find(leg);
  return it != m_legs.end() && it->second.related == m_request.token;  // a connection of that relay
}

void FollowPrinter::startFollowing(std::uint64_t leg, bool named) {
  if (!m_noted) {
    std::fprintf(m_out, "# %.*s\n", static_cast<int>(kChunkNote.size()), kChunkNote.data());
    m_noted = true;
  }
  m_followed.try_emplace(leg).first->second.named = named;
  ++m_seen;
  const auto it = m_legs.find(leg);
  std::fprintf(m_out, "# connection %" PRIu64 " opened (client leg of relay %" PRIu64 ")\n", leg,
               it != m_legs.end() ? it->second.related : std::uint64_t{0});
  std::fflush(m_out);
}

void FollowPrinter::on_record(const Record& r) {
  switch (r.kind) {
    case RecordKind::source_added: {
      m_legs[r.token] = FollowLeg{r.source_kind(), SourceBits::unpack(r.bits).reaction, r.related()};
      const std::uint64_t leg = follow_client_leg(r.token, [this](std::uint64_t t) -> std::optional<FollowLeg> {
        const auto it = m_legs.find(t);
        if (it == m_legs.end()) return std::nullopt;
        return it->second;
      });
      if (leg == 0 || m_followed.contains(leg)) return;
      // A client leg asked for (or all, or its relay), or the upstream leg asked for.
      // One connection asked for by a leg's token needs no name on its headers; several do.
      if (leg == r.token && wanted(leg))
        startFollowing(leg, m_request.token != leg);
      else if (leg != r.token && m_request.token == r.token)
        startFollowing(leg, false);
      return;
    }
    case RecordKind::action: {
      const auto it = m_followed.find(r.token);
      if (it == m_followed.end()) return;
      const auto op = static_cast<Op>(r.op);
      if (op == Op::read || op == Op::write || op == Op::drain) {
        m_dirty.insert(r.token);
      }
      return;
    }
    case RecordKind::source_removed: {
      const auto it = m_followed.find(r.token);
      if (it == m_followed.end()) return;
      it->second.removed = true;
      m_dirty.insert(r.token);
      return;
    }
    default:
      return;
  }
}

void FollowPrinter::print(std::uint64_t leg, bool named, const std::vector<FollowItem>& items) {
  const std::string name = named ? std::to_string(leg) : std::string();
  for (const FollowItem& item : items) {
    const std::string s = follow_format(item, m_request.format, name);
    std::fwrite(s.data(), 1, s.size(), m_out);
  }
}

void FollowPrinter::printClosed(std::uint64_t leg, const Followed& f) {
  const Conversation& c = f.conversation;
  const auto chunks = [](std::uint64_t n) { return n == 1 ? "chunk" : "chunks"; };
  std::fprintf(m_out,
               "# connection %" PRIu64 " closed: > %" PRIu64 " bytes in %" PRIu64 " %s, < %" PRIu64
               " bytes in %" PRIu64 " %s",
               leg, c.bytes(Direction::in), c.chunks(Direction::in), chunks(c.chunks(Direction::in)),
               c.bytes(Direction::out), c.chunks(Direction::out), chunks(c.chunks(Direction::out)));
  if (c.not_kept() != 0) std::fprintf(m_out, ", %" PRIu64 " bytes not kept (payload bound)", c.not_kept());
  std::fputc('\n', m_out);
}

void FollowPrinter::print_new() {
  if (m_dirty.empty() || !m_fetch) return;
  for (const std::uint64_t leg : m_dirty) {
    const auto it = m_followed.find(leg);
    if (it == m_followed.end()) continue;
    Followed& f = it->second;
    // The payload is kept before the action that moved it is recorded, so one fetch after
    // the action sees its bytes. A large backlog comes in pieces of the fetch's bound.
    for (;;) {
      const auto snap = m_fetch(leg, f.conversation.next(), kFetchBytes);
      if (!snap) break;
      std::size_t got = 0;
      for (const PayloadChunk& c : snap->chunks) got += c.bytes.size();
      print(leg, f.named, f.conversation.add(*snap));
      if (got < kFetchBytes) break;  // all there was
    }
    if (f.removed) {
      printClosed(leg, f);
      m_followed.erase(it);
    }
  }
  m_dirty.clear();
  std::fflush(m_out);
}

void FollowPrinter::flushPending(std::uint64_t leg, Followed& f) {
  if (!f.pending) return;
  print(leg, f.named, f.conversation.add(*f.pending));
  f.pending.reset();
}

void FollowPrinter::on_payload(std::uint64_t token, const PayloadChunk& chunk) {
  const auto it = m_followed.find(token);
  if (it == m_followed.end()) return;
  Followed& f = it->second;
  // The recorder splits a long read into lines of at most kPayloadLineBytes: joined again,
  // the chunk is the one read() it was.
  if (f.pending && f.pending->direction == chunk.direction && f.pending->t_ns == chunk.t_ns &&
      f.pending->offset + f.pending->bytes.size() == chunk.offset) {
    f.pending->bytes.insert(f.pending->bytes.end(), chunk.bytes.begin(), chunk.bytes.end());
    return;
  }
  flushPending(token, f);
  f.pending = chunk;
}

void FollowPrinter::finish() {
  for (auto& [leg, f] : m_followed) {
    flushPending(leg, f);
    printClosed(leg, f);
  }
  m_followed.clear();
  std::fflush(m_out);
}

namespace {

/// Hands a recording's records and payload lines to a FollowPrinter, in file order.
class FollowSink final : public RecordingSink {
 public:
  explicit FollowSink(FollowPrinter& printer) : m_printer(printer) {}
  void on_records(std::span<const Record> batch) override {
    for (const Record& r : batch) m_printer.on_record(r);
  }
  void on_payload(std::uint64_t token, const PayloadChunk& chunk) override { m_printer.on_payload(token, chunk); }

 private:
  FollowPrinter& m_printer;
};

}  // namespace

std::expected<void, std::string> follow_recording(const FollowRequest& request, const std::string& path,
                                                  std::FILE* out) {
  FollowPrinter printer(request, out);
  FollowSink sink(printer);
  const auto info = read_recording(path, sink);
  if (!info) return std::unexpected(info.error().message());
  printer.finish();
  if (info->payload_lines == 0)
    std::fprintf(out, "readyscope: --follow: %s has no payload lines (record with --record-payload)\n", path.c_str());
  else if (printer.connections() == 0)
    std::fprintf(out, "readyscope: --follow: %s has no relayed connection that --follow names\n", path.c_str());
  std::fflush(out);
  return {};
}

}  // namespace readyscope
