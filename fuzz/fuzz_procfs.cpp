// libFuzzer target for the /proc parsers of attaching (core/include/ready/attach/procfs.h):
// parse_fdinfo, parse_inet_table (IPv4 and IPv6), parse_unix_table and classify_link /
// mask_text. The first byte of the input chooses the parser (its low two bits), the rest is
// the file's text. Seeds (fuzz/corpus/procfs/): fdinfo of an epoll instance on this kernel and
// an older one's, net tables of each kind, each with its selector byte.
//
// Properties beyond "no crash": a parser is a function of its input (the same outcome twice);
// an error is one line naming the line ("line N: ..."); what fdinfo gave is printed back in the
// kernel's own form and parses to the same entries; a net table's rows all have an address
// and an inode the text holds; a link's class never throws; mask_text names every mask (never
// empty, one line).
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "ready/attach/procfs.h"

using namespace ready::attach;

const char* const fuzz::kTarget = "fuzz_procfs";

namespace {

void check_error(const std::string& e) {
  CHECK(e.starts_with("line "), e);
  CHECK(e.find('\n') == std::string::npos, e);
}

void fdinfo(std::string_view text) {
  auto a = parse_fdinfo(text);
  auto b = parse_fdinfo(text);
  CHECK(a.has_value() == b.has_value());
  if (!a) {
    CHECK(a.error() == b.error(), a.error());
    return check_error(a.error());
  }
  CHECK(a->entries == b->entries);
  // Printed back as ep_show_fdinfo prints it, the entries parse the same.
  std::string again;
  for (const EpollEntry& e : a->entries) {
    char line[160];
    std::snprintf(line, sizeof line, "tfd: %8d events: %8x data: %16llx ", e.tfd, e.events,
                  static_cast<unsigned long long>(e.data));
    again += line;
    if (e.pos) again += " pos:" + std::to_string(*e.pos);
    if (e.ino) {
      std::snprintf(line, sizeof line, " ino:%llx", static_cast<unsigned long long>(*e.ino));
      again += line;
    }
    if (e.sdev) {
      std::snprintf(line, sizeof line, " sdev:%x", *e.sdev);
      again += line;
    }
    again += '\n';
    const std::string m = mask_text(e.events);
    CHECK(!m.empty() && m.find('\n') == std::string::npos, m);
    (void)source_bits_of(e.events);
  }
  auto c = parse_fdinfo(again);
  CHECK(c.has_value(), again);
  CHECK(c->entries == a->entries, again);
}

void inet(std::string_view text, bool v6) {
  auto a = parse_inet_table(text, v6);
  auto b = parse_inet_table(text, v6);
  CHECK(a.has_value() == b.has_value());
  if (!a) return check_error(a.error());
  CHECK(a->size() == b->size());
  for (const InetSocket& s : *a) {
    CHECK(!s.local.empty());
    CHECK(s.local.back() != ':');
    CHECK(text.find(std::to_string(s.inode)) != std::string_view::npos);
  }
}

void unix_table(std::string_view text) {
  auto a = parse_unix_table(text);
  auto b = parse_unix_table(text);
  CHECK(a.has_value() == b.has_value());
  if (!a) return check_error(a.error());
  for (const UnixSocket& s : *a) {
    CHECK(text.find(std::to_string(s.inode)) != std::string_view::npos);
    CHECK(s.path.find('\n') == std::string::npos);
  }
  // And the link classifier on the same bytes.
  NetTables net;
  for (const UnixSocket& s : *a) net.unix_sockets.emplace(s.inode, s);
  const Resolved r = resolve(text, net, std::nullopt);
  (void)r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  switch (bytes[0] & 3) {
    case 0:
      fdinfo(text);
      break;
    case 1:
      inet(text, false);
      break;
    case 2:
      inet(text, true);
      break;
    default:
      unix_table(text);
      break;
  }
  (void)classify_link(text);
  return 0;
}
