// The command line's relays: --relay LISTEN=UPSTREAM and the fault options that apply to
// every relay of the run (docs/relay.md).
#include <QDir>
#include <QFileInfo>
#include <QRegularExpression>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "cli.h"

namespace readyscope {

using namespace ready::capture;

namespace {

QString quoted(const QString& s) { return QLatin1Char('\'') + s + QLatin1Char('\''); }

/// A whole number in [lo, hi] written with digits only.
std::optional<std::uint64_t> number(const QString& s, std::uint64_t lo, std::uint64_t hi) {
  static const QRegularExpression digits(QStringLiteral("^[0-9]{1,19}$"));
  if (!digits.match(s).hasMatch()) return std::nullopt;
  bool ok = false;
  const qulonglong v = s.toULongLong(&ok);
  if (!ok || v < lo || v > hi) return std::nullopt;
  return v;
}

constexpr std::uint64_t kMaxWaitMs = 60'000;

}  // namespace

std::optional<RelayFaultArg> parseRelayFaultArg(const QString& text) {
  RelayFaultArg a;
  a.value = text;
  if (text.startsWith(QLatin1String("up:"))) {
    a.to_client = false;
    a.value = text.mid(3);
  } else if (text.startsWith(QLatin1String("down:"))) {
    a.to_upstream = false;
    a.value = text.mid(5);
  }
  if (a.value.isEmpty()) return std::nullopt;
  return a;
}

std::vector<const QCommandLineOption*> CommandLine::relayOptions() const {
  return {&m_relay, &m_relayLatency, &m_relayBandwidth, &m_relaySlice, &m_relayResetAfter};
}

std::expected<void, QString> CommandLine::relays(HeadlessPlan& plan) const {
  const auto fail = [](const QString& s) { return std::unexpected(s); };
  for (const QCommandLineOption* o : relayOptions()) {
    for (const QString& v : m_parser.values(*o)) {
      if (v.startsWith(QLatin1String("--")))
        return fail(QStringLiteral("--%1: expected %2, got the option %3")
                        .arg(o->names().constFirst(), o->valueName(), quoted(v)));
    }
  }

  // The faults, applied to each direction a value names (a later value overrides an earlier one).
  RelayFaultSet faults;
  using Apply = std::function<bool(RelayFaults&, const QString&)>;
  const auto faultOption = [&](const QCommandLineOption& o, const QString& expected,
                               const Apply& apply) -> std::expected<void, QString> {
    for (const QString& v : m_parser.values(o)) {
      const auto a = parseRelayFaultArg(v);
      RelayFaults up = faults.to_upstream, down = faults.to_client;
      if (!a || (a->to_upstream && !apply(up, a->value)) || (a->to_client && !apply(down, a->value)))
        return fail(QStringLiteral("--%1 %2: expected %3").arg(o.names().constFirst(), quoted(v), expected));
      for (const RelayFaults* f : {&up, &down}) {
        if (const std::string why = f->invalid(); !why.empty())
          return fail(QStringLiteral("--%1 %2: %3").arg(o.names().constFirst(), quoted(v), QString::fromStdString(why)));
      }
      if (a->to_upstream) faults.to_upstream = up;
      if (a->to_client) faults.to_client = down;
    }
    return {};
  };
  using std::chrono::milliseconds;
  if (auto r = faultOption(m_relayLatency,
                           QStringLiteral("[up:|down:]MS[:JITTER] with MS in 0..60000 and JITTER at most MS"),
                           [](RelayFaults& f, const QString& v) {
                             const QStringList parts = v.split(QLatin1Char(':'));
                             if (parts.size() > 2) return false;
                             const auto ms = number(parts[0], 0, kMaxWaitMs);
                             const auto jitter = parts.size() == 2 ? number(parts[1], 0, kMaxWaitMs) : 0;
                             if (!ms || !jitter || *jitter > *ms) return false;
                             f.latency = milliseconds(*ms);
                             f.jitter = milliseconds(*jitter);
                             return true;
                           });
      !r)
    return r;
  if (auto r = faultOption(m_relayBandwidth, QStringLiteral("[up:|down:]KBPS, kilobytes per second from 1 to 1000000000"),
                           [](RelayFaults& f, const QString& v) {
                             const auto k = number(v, 1, 1'000'000'000);
                             if (!k) return false;
                             f.bandwidth_kbps = *k;
                             return true;
                           });
      !r)
    return r;
  if (auto r = faultOption(m_relaySlice,
                           QStringLiteral("[up:|down:]BYTES[:DELAY_MS] with BYTES in 1..1048576, DELAY_MS in 0..60000"),
                           [](RelayFaults& f, const QString& v) {
                             const QStringList parts = v.split(QLatin1Char(':'));
                             if (parts.size() > 2) return false;
                             const auto bytes = number(parts[0], 1, 1 << 20);
                             const auto delay = parts.size() == 2 ? number(parts[1], 0, kMaxWaitMs) : 1;
                             if (!bytes || !delay) return false;
                             f.slice_bytes = static_cast<std::uint32_t>(*bytes);
                             f.slice_delay = milliseconds(*delay);
                             return true;
                           });
      !r)
    return r;
  if (auto r = faultOption(m_relayResetAfter, QStringLiteral("[up:|down:]BYTES, a whole number of bytes >= 1"),
                           [](RelayFaults& f, const QString& v) {
                             const auto n = number(v, 1, UINT64_MAX / 2);
                             if (!n) return false;
                             f.reset_after = *n;
                             return true;
                           });
      !r)
    return r;

  const QStringList values = m_parser.values(m_relay);
  if (values.isEmpty()) {
    for (const QCommandLineOption* o : relayOptions()) {
      if (m_parser.isSet(*o))
        return fail(QStringLiteral("--%1 sets a relay's faults: add --relay LISTEN=UPSTREAM").arg(o->names().constFirst()));
    }
    return {};
  }
  if (plan.options.trigger == ready::Trigger::oneshot)
    return fail(QStringLiteral("--relay: its legs are edge- or level-triggered; --mode oneshot is not offered"));
  for (const QString& v : values) {
    const QString flag = QStringLiteral("--relay %1").arg(v);
    const qsizetype eq = v.indexOf(QLatin1Char('='));
    if (eq <= 0 || eq == v.size() - 1 || v.indexOf(QLatin1Char('='), eq + 1) >= 0)
      return fail(QStringLiteral("--relay %1: expected LISTEN=UPSTREAM (each HOST:PORT or a Unix socket path), e.g. "
                                 "127.0.0.1:8080=127.0.0.1:8000")
                      .arg(quoted(v)));
    SourceRequest req;
    req.kind = SourceRequest::Kind::relay;
    req.flag = flag;
    req.relay_faults = faults;
    for (const bool listen : {true, false}) {
      const QString side = listen ? v.left(eq) : v.mid(eq + 1);
      std::string why;
      auto e = RelayEndpoint::parse(side.toStdString(), &why);
      if (!e) return fail(QStringLiteral("--relay %1: %2").arg(quoted(v), QString::fromStdString(why)));
      if (e->tcp && !e->tcp->is_loopback() && !plan.allow_remote)
        return fail(QStringLiteral("--relay %1: %2 is not a loopback address; add --allow-remote to use it")
                        .arg(quoted(v), quoted(side)));
      if (listen && !e->tcp && (QFileInfo::exists(side) || QFileInfo(side).isSymLink()))
        return fail(QStringLiteral("--relay %1: the path %2 exists (remove it or choose another)").arg(quoted(v), quoted(side)));
      if (listen && !e->tcp && !QFileInfo(side).absoluteDir().exists())
        return fail(QStringLiteral("--relay %1: the directory of %2 does not exist").arg(quoted(v), quoted(side)));
      if (!listen && e->tcp && e->tcp->port() == 0)
        return fail(QStringLiteral("--relay %1: the upstream's port 0 cannot be connected to").arg(quoted(v)));
      (listen ? req.relay_listen : req.relay_upstream) = std::move(*e);
    }
    if (req.relay_listen.tcp && req.relay_upstream.tcp && req.relay_listen.tcp->port() != 0 &&
        req.relay_listen.tcp->to_string() == req.relay_upstream.tcp->to_string())
      return fail(QStringLiteral("--relay %1: the relay would connect to itself").arg(quoted(v)));
    plan.sources.push_back(std::move(req));
  }
  return {};
}

}  // namespace readyscope
