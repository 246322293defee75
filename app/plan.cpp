#include "plan.h"

#include "models/lessons.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStringList>

namespace readyscope {

using namespace ready::capture;

Command createCommand(const SourceRequest& req, const SourceOptions& options, bool allowRemote) {
  // A listener from the command line always accepts: --reaction none then means the accepted
  // streams are left unread (what a learner watches), not a listener that accepts nobody.
  SourceOptions listener = options;
  if (listener.reaction.kind == Reaction::none) listener.reaction.kind = Reaction::auto_accept;
  switch (req.kind) {
    case SourceRequest::Kind::listen:
      return cmd::TcpListen{req.address, listener, allowRemote};
    case SourceRequest::Kind::connect:
      return cmd::TcpConnect{req.address, options};
    case SourceRequest::Kind::udp:
      return cmd::UdpBind{req.address, options, allowRemote};
    case SourceRequest::Kind::unix_listen:
      return cmd::UnixListen{req.path, listener};
    case SourceRequest::Kind::relay:
      return cmd::Relay{req.relay_listen, req.relay_upstream, req.relay_faults, options.trigger, allowRemote};
  }
  return cmd::Note{};
}

std::expected<Scenario, std::string> loadScenario(const std::string& nameOrPath, bool allowRemote) {
  ScenarioOptions options;
  options.allow_remote = allowRemote;
  const QString arg = QString::fromStdString(nameOrPath);
  const bool looksLikePath = arg.contains(QLatin1Char('/')) || arg.endsWith(QLatin1String(".json"));
  if (looksLikePath || QFileInfo::exists(arg)) {
    auto s = load_scenario(nameOrPath, options);
    if (!s) return std::unexpected(s.error().message());
    return std::move(*s);
  }
  const auto builtIn = builtinLessonText(arg);
  if (!builtIn) {
    return std::unexpected("--scenario " + nameOrPath + ": no such file, and no built-in scenario of that name (built in: " +
                           builtinLessonNames().join(QStringLiteral(", ")).toStdString() + ")");
  }
  const QByteArray& text = *builtIn;
  auto s = parse_scenario(std::string_view(text.constData(), static_cast<std::size_t>(text.size())), nameOrPath, options);
  if (!s) return std::unexpected(s.error().message());
  return std::move(*s);
}

}  // namespace readyscope
