// The table of scenario ops: per op, its fields, the sources it fits and the Command it
// becomes (see scenario_ops.h).
#include "capture/scenario_ops.h"

#include <array>
#include <chrono>

#include "capture/interest_names.h"

namespace ready::capture::scenario {

namespace {

using K = SourceKind;
using O = ScenarioOp;
using Keys = std::span<const std::string_view>;

constexpr std::string_view kInterestKeys[] = {"interest"};
constexpr std::string_view kModeKeys[] = {"mode"};  // the file's spelling of the trigger
constexpr std::string_view kReactionKeys[] = {"reaction", "read_n", "budget", "work_ns_per_kib", "also_close",
                                              "emfile_reserve"};
constexpr std::string_view kReadKeys[] = {"n"};
constexpr std::string_view kWriteKeys[] = {"data"};
constexpr std::string_view kAcceptKeys[] = {"as"};
constexpr std::string_view kEventFdWriteKeys[] = {"value"};
constexpr std::string_view kTimerArmKeys[] = {"initial_ms", "interval_ms"};
constexpr std::string_view kExhaustKeys[] = {"headroom"};

constexpr SourceKind kReadable[] = {K::tcp_stream,    K::udp,     K::unix_stream, K::unix_datagram,
                                    K::pipe_receiver, K::eventfd, K::timerfd};
// udp only when connected (checked with the source); unix datagram sockets cannot be
// connected by the engine, so a send there always fails.
constexpr SourceKind kWritable[] = {K::tcp_stream, K::unix_stream, K::pipe_sender, K::udp};
constexpr SourceKind kFillable[] = {K::tcp_stream, K::unix_stream, K::pipe_sender};
constexpr SourceKind kStreams[] = {K::tcp_stream, K::unix_stream};
constexpr SourceKind kListeners[] = {K::tcp_listener, K::unix_listener};
constexpr SourceKind kEventFds[] = {K::eventfd};
constexpr SourceKind kTimerFds[] = {K::timerfd};

constexpr auto kMaxMs = static_cast<std::uint64_t>(ScenarioLimits::max_ms);

template <class C>
Command plain(const Obj&, ScenarioStep&) {
  return C{};
}

// In ScenarioOp order (checked below). Columns: op, own fields, fits, fits a feed,
// source-less, the command.
constexpr std::array<OpSpec, enum_count<ScenarioOp>> kOps{{
    {O::none, {}, {}, false, false, nullptr},
    {O::create, {}, {}, false, false, nullptr},
    {O::set_interest, kInterestKeys, {}, true, false,
     [](const Obj& o, ScenarioStep&) -> Command {
       return cmd::SetInterest{Token{}, parse_interest(o.need("interest"), at(o.ptr(), "interest"))};
     }},
    {O::set_mode, kModeKeys, {}, true, false,
     [](const Obj& o, ScenarioStep&) -> Command { return cmd::SetTrigger{Token{}, o.value<Trigger>("mode", true)}; }},
    {O::set_reaction, kReactionKeys, {}, true, false,
     [](const Obj& o, ScenarioStep& s) -> Command {
       (void)o.need("reaction");
       return cmd::SetReaction{Token{}, parse_reaction(o, &s.also_close)};
     }},
    {O::rearm, {}, {}, true, false, plain<cmd::Rearm>},
    {O::read, kReadKeys, kReadable, true, false,
     [](const Obj& o, ScenarioStep&) -> Command {
       return cmd::Read{Token{}, static_cast<std::uint32_t>(o.num("n", 1, ScenarioLimits::max_read, 4096))};
     }},
    {O::drain, {}, kReadable, true, false, plain<cmd::Drain>},
    {O::write, kWriteKeys, kWritable, false, false,
     [](const Obj& o, ScenarioStep&) -> Command {
       return cmd::Write{Token{}, o.str("data", ScenarioLimits::max_write_bytes, true)};
     }},
    {O::fill, {}, kFillable, false, false, plain<cmd::Fill>},
    {O::shutdown_read, {}, kStreams, true, false, plain<cmd::ShutdownRead>},
    {O::shutdown_write, {}, kStreams, false, false, plain<cmd::ShutdownWrite>},
    {O::close, {}, {}, true, false, plain<cmd::Close>},
    {O::accept, kAcceptKeys, kListeners, false, false, plain<cmd::Accept>},
    {O::eventfd_write, kEventFdWriteKeys, kEventFds, false, false,
     [](const Obj& o, ScenarioStep&) -> Command {
       return cmd::EventFdWrite{Token{}, o.num("value", 0, 0xfffffffffffffffeULL, 1)};
     }},
    {O::eventfd_read, {}, kEventFds, false, false, plain<cmd::EventFdRead>},
    {O::timer_arm, kTimerArmKeys, kTimerFds, false, false,
     [](const Obj& o, ScenarioStep&) -> Command {
       return cmd::TimerArm{Token{}, std::chrono::milliseconds(o.num("initial_ms", 1, kMaxMs, 1)),
                            std::chrono::milliseconds(o.num("interval_ms", 0, kMaxMs, 0))};
     }},
    {O::timer_disarm, {}, kTimerFds, false, false, plain<cmd::TimerDisarm>},
    {O::dup, {}, {}, true, false, plain<cmd::Dup>},
    {O::close_fd, {}, {}, true, false, plain<cmd::CloseFd>},
    {O::exhaust_fds, kExhaustKeys, {}, false, true,
     [](const Obj& o, ScenarioStep&) -> Command {
       return cmd::ExhaustFds{static_cast<std::uint32_t>(o.num("headroom", 0, ScenarioLimits::max_headroom, 0))};
     }},
    {O::release_fds, {}, {}, false, true, plain<cmd::ReleaseFds>},
}};
static_assert(
    [] {
      for (std::size_t i = 0; i < kOps.size(); ++i)
        if (static_cast<std::size_t>(kOps[i].op) != i) return false;
      return true;
    }(),
    "one entry per ScenarioOp, in its order");

}  // namespace

const OpSpec& op_spec(ScenarioOp op) noexcept { return kOps[static_cast<std::size_t>(op)]; }

std::vector<std::string_view> step_keys(ScenarioOp op) {
  const OpSpec& spec = op_spec(op);
  std::vector<std::string_view> keys{"note"};
  if (op != O::none) keys.emplace_back("op");
  if (op != O::none && !spec.sourceless) keys.emplace_back("source");
  if (op != O::none && op != O::create && !spec.sourceless) keys.emplace_back("repeat");
  keys.insert(keys.end(), spec.own_keys.begin(), spec.own_keys.end());
  keys.emplace_back("wait_ms");
  keys.emplace_back("expect");
  return keys;
}

Interest parse_interest(const json& v, const std::string& ptr) {
  std::array<std::string_view, kInterestNames.size()> names{};
  for (std::size_t i = 0; i < names.size(); ++i) names[i] = kInterestNames[i].name;
  if (!v.is_array() || v.empty()) fail(ptr, "expected a non-empty list of " + join(names) + ", got " + got(v));
  std::optional<Interest> in;
  std::uint8_t seen = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::size_t k = Obj::name_in(v[i], at(ptr, i), names);
    if (seen & (1u << k)) fail(at(ptr, i), "\"" + std::string(names[k]) + "\" is listed twice");
    seen |= static_cast<std::uint8_t>(1u << k);
    in = in ? (*in | kInterestNames[k].interest) : kInterestNames[k].interest;
  }
  return *in;
}

ReactionSpec parse_reaction(const Obj& o, std::string* also_close) {
  ReactionSpec r;
  // Every reaction but relay, which only cmd::Relay gives (a "relay" source makes one).
  std::vector<std::string_view> names;
  for (const Reaction k : all_values<Reaction>())
    if (k != Reaction::relay) names.push_back(name_of(k));
  const std::string_view kind = names[o.name("reaction", names, false, 0)];
  for (const Reaction k : all_values<Reaction>())
    if (name_of(k) == kind) r.kind = k;
  if (o.has("read_n") && r.kind != Reaction::read)
    fail(at(o.ptr(), "read_n"), "read_n goes with \"reaction\": \"read\" only");
  r.n = static_cast<std::uint32_t>(o.num("read_n", 1, ScenarioLimits::max_read, 4096));
  if (o.has("budget") && r.kind != Reaction::drain && r.kind != Reaction::discard && r.kind != Reaction::echo)
    fail(at(o.ptr(), "budget"), "budget goes with \"reaction\": drain, discard or echo only");
  r.budget = o.num("budget", 0, ScenarioLimits::max_budget, 0);
  if (o.has("work_ns_per_kib") && r.kind != Reaction::read && r.kind != Reaction::drain &&
      r.kind != Reaction::discard)
    fail(at(o.ptr(), "work_ns_per_kib"), "work_ns_per_kib goes with \"reaction\": read, drain or discard only");
  r.work_ns_per_kib =
      static_cast<std::uint32_t>(o.num("work_ns_per_kib", 0, ReactionSpec::kMaxWorkNsPerKib, 0));
  if (o.has("also_close")) {
    if (r.kind != Reaction::read && r.kind != Reaction::drain && r.kind != Reaction::discard &&
        r.kind != Reaction::echo)
      fail(at(o.ptr(), "also_close"),
           "also_close goes with a reaction that can close the source: read, drain, echo or discard");
    *also_close = o.str("also_close", 200, true);
    if (!is_id(*also_close))
      fail(at(o.ptr(), "also_close"), "expected an id: " + id_rule() + " (got " + got(o.need("also_close")) + ")");
  }
  r.emfile_reserve = o.boolean("emfile_reserve", true);
  return r;
}

}  // namespace ready::capture::scenario
