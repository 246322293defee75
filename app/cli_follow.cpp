// The command line's --follow and --follow-format (issue 16; docs/relay.md, "Follow stream").
#include <algorithm>

#include "cli.h"

namespace readyscope {

QCommandLineOption followOption() {
  return QCommandLineOption(
      QStringLiteral("follow"),
      QStringLiteral(
          "Headless, with --relay or --open: print relayed connections' conversations to stdout as their "
          "chunks arrive, as socat -v does: per chunk a header \"> 1.234567 s  length=78 from=0 to=77\" ('>' "
          "client -> server, '<' server -> client, capture time, bytes, first and last offset within that "
          "direction) and the bytes. Chunks are read() boundaries, not messages. TOKEN: the connection whose "
          "client leg or upstream leg has that token; a relay's listener token: every connection of that relay; "
          "'all': every relayed connection (you do not need to know a token in advance: each header then ends "
          "with \"connection=N\", N the client leg's token). Lines starting with '#' open and close each "
          "connection (with its byte counts). With --relay the engine keeps up to %1 KiB of payload per "
          "source (bytes evicted before they were printed show as \"... N bytes not kept (payload bound) "
          "...\"); --open needs a recording made with --record-payload.")
          .arg(kFollowPayloadBytes / 1024),
      QStringLiteral("TOKEN|all"));
}

QCommandLineOption followFormatOption() {
  return QCommandLineOption(QStringLiteral("follow-format"),
                            QStringLiteral("With --follow: 'text' (the default: socat -v's text, printable ASCII as "
                                           "is, \\r \\t \\\\ and \\xHH for the rest) or 'hex' (hexdump -C lines: "
                                           "offset within the direction, 16 bytes, the same as ASCII)."),
                            QStringLiteral("text|hex"));
}

std::expected<void, QString> CommandLine::followOptions(Invocation& inv) const {
  const auto fail = [](const QString& s) { return std::unexpected(s); };
  HeadlessPlan& plan = inv.plan;
  if (m_parser.isSet(m_followFormat) && !m_parser.isSet(m_follow))
    return fail(QStringLiteral("--follow-format needs --follow TOKEN|all"));
  if (!m_parser.isSet(m_follow)) return {};
  if (!m_parser.isSet(m_headless))
    return fail(QStringLiteral("--follow prints to stdout: add --headless (in the window, select a relay leg and "
                               "use View > Follow stream)"));
  auto req = parse_follow(m_parser.value(m_follow).toStdString(), m_parser.value(m_followFormat).toStdString());
  if (!req) return fail(QString::fromStdString(req.error()));
  const bool relays = std::any_of(plan.sources.begin(), plan.sources.end(),
                                  [](const SourceRequest& s) { return s.kind == SourceRequest::Kind::relay; });
  if (!relays && !plan.open_path)
    return fail(QStringLiteral("--follow needs --relay LISTEN=UPSTREAM (or --open FILE, a recording made with "
                               "--record-payload)"));
  plan.follow = *req;
  return {};
}

}  // namespace readyscope
