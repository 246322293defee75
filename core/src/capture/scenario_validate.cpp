// Scenario validation: walks the parsed JSON document and builds a Scenario, or throws
// Invalid with the pointer of the first value at fault. Each step's op is read through its
// entry in the op table (scenario_ops.h), which also builds the command the step carries.
#include <sys/un.h>

#include <algorithm>
#include <limits>
#include <unordered_map>

#include "capture/scenario_internal.h"
#include "capture/scenario_json.h"
#include "capture/scenario_ops.h"
#include "ready/error.h"

namespace ready::capture::scenario {

namespace {

std::uint8_t parse_flags(const json& v, const std::string& ptr, bool allow_any, bool* any) {
  if (!v.is_array() || v.empty())
    fail(ptr, "expected a non-empty list of " + join(kReadinessFlagNames) + (allow_any ? ", or [\"any\"]" : "") +
                  ", got " + got(v));
  if (allow_any && v.size() == 1 && v[0].is_string() && v[0].get_ref<const std::string&>() == "any") {
    *any = true;
    return 0;
  }
  std::uint8_t f = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::size_t k = Obj::name_in(v[i], at(ptr, i), kReadinessFlagNames);
    if (f & (1u << k)) fail(at(ptr, i), "\"" + std::string(kReadinessFlagNames[k]) + "\" is listed twice");
    f |= static_cast<std::uint8_t>(1u << k);
  }
  return f;
}

/// The concrete kind of a nameable source (an end of a socketpair or pipe, an accepted stream).
std::optional<SourceKind> concrete(ScenarioSourceKind k) {
  switch (k) {
    case ScenarioSourceKind::tcp_listener:
      return SourceKind::tcp_listener;
    case ScenarioSourceKind::tcp_stream:
      return SourceKind::tcp_stream;
    case ScenarioSourceKind::udp:
      return SourceKind::udp;
    case ScenarioSourceKind::unix_listener:
      return SourceKind::unix_listener;
    case ScenarioSourceKind::unix_stream:
      return SourceKind::unix_stream;
    case ScenarioSourceKind::unix_datagram:
      return SourceKind::unix_datagram;
    case ScenarioSourceKind::eventfd:
      return SourceKind::eventfd;
    case ScenarioSourceKind::timerfd:
      return SourceKind::timerfd;
    case ScenarioSourceKind::feed:
      return SourceKind::unix_stream;  // the receiving end of the feed's socketpair
    case ScenarioSourceKind::relay:
      return SourceKind::tcp_listener;  // its listener (a tcp_stream may connect to it)
    case ScenarioSourceKind::socketpair:
    case ScenarioSourceKind::pipe:
      return std::nullopt;
  }
  return std::nullopt;
}

/// What the validator knows about a name while it walks the steps.
struct Name {
  std::optional<SourceKind> kind;  // nullopt: a socketpair / pipe as a whole
  std::size_t source = 0;          // index of the declaring source
  bool available = false;          // created (or accepted) by this point of the steps
  std::string ends_hint;           // for a group: its end names
  bool feed = false;               // a feed's receiving end: only ops whose entry fits a feed
  std::string fd_closed_at;        // the step whose close_fd closed it ("": open)
  bool relay = false;              // a relay's listener: only close fits it
  bool leg = false;                // a relay's leg ("<id>.client", "<id>.upstream"): checks only
};

/// A listener kind (emfile_reserve goes with those only).
bool listener(std::optional<SourceKind> k) {
  return k == SourceKind::tcp_listener || k == SourceKind::unix_listener;
}

class Validator {
 public:
  Validator(const json& doc, std::string file, ScenarioOptions options) : doc_(doc), options_(options) {
    out_.file = std::move(file);
  }

  Scenario run() {
    const Obj top(doc_, "", "the scenario");
    top.only({"name", "title", "description", "version", "sources", "steps", "compare"});
    out_.name = top.str("name", ScenarioLimits::max_name_bytes, true);
    if (out_.name.empty() || !std::all_of(out_.name.begin(), out_.name.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        }))
      fail("/name",
           "expected a name of lower-case letters, digits, '_' and '-' (got " + got(top.need("name")) + ")");
    out_.title = top.str("title", ScenarioLimits::max_title_bytes, false, out_.name);
    out_.description = top.str("description", ScenarioLimits::max_description_bytes, false);
    (void)top.num("version", 1, 1, 1);

    const json& sources = top.need("sources");
    if (!sources.is_array()) fail("/sources", "expected a list of sources, got " + got(sources));
    if (sources.size() > ScenarioLimits::max_sources)
      fail("/sources", "more than " + std::to_string(ScenarioLimits::max_sources) + " sources");
    for (std::size_t i = 0; i < sources.size(); ++i) source(sources[i], at("/sources", i), i);

    const json& steps = top.need("steps");
    if (!steps.is_array()) fail("/steps", "expected a list of steps, got " + got(steps));
    if (steps.size() > ScenarioLimits::max_steps)
      fail("/steps", "more than " + std::to_string(ScenarioLimits::max_steps) + " steps");
    for (std::size_t i = 0; i < steps.size(); ++i) step(steps[i], at("/steps", i));
    if (const json* c = top.find("compare")) compare(*c);
    return std::move(out_);
  }

 private:
  void declare(const std::string& id, const std::string& ptr, Name n) {
    if (!names_.emplace(id, std::move(n)).second) fail(ptr, "duplicate id \"" + id + "\"");
  }

  /// The "connect" of a source: the id of a `want` source declared before it (kept in
  /// s.target; false), or a literal address, allowed only with allow_remote (true: the
  /// caller reads it), so a downloaded scenario cannot reach the machine's own services.
  bool connect_target(const Obj& o, const std::string& ptr, SourceKind want, ScenarioSource& s) {
    const std::string target = o.str("connect", 200, true);
    const std::string kind(name_of(want));
    if (auto it = names_.find(target); it != names_.end()) {
      if (it->second.kind != want) fail(at(ptr, "connect"), "\"" + target + "\" is not a " + kind + " source");
      s.target = target;
      return false;
    }
    if (is_id(target))
      fail(at(ptr, "connect"), "no " + kind + " source \"" + target + "\" declared before this one");
    if (!options_.allow_remote)
      fail(at(ptr, "connect"), "a literal connect target needs allow_remote; name a " + kind +
                                   " source of the scenario instead (got " + got(o.need("connect")) + ")");
    return true;
  }

  /// The fields of a source of any kind, after its kind's own.
  static std::vector<std::string_view> with_common(std::vector<std::string_view> own) {
    for (std::string_view k : {"interest", "mode", "reaction", "read_n", "budget", "work_ns_per_kib",
                               "also_close", "emfile_reserve", "deferred"})
      own.push_back(k);
    return own;
  }

  void source(const json& j, const std::string& ptr, std::size_t index) {
    const Obj o(j, ptr, "a source");
    ScenarioSource s;
    s.id = o.str("id", 1024, true);
    if (!is_id(s.id))
      fail(at(ptr, "id"), "expected an id: " + id_rule() + " (got " + got(o.need("id")) + ")");
    s.kind = o.value<ScenarioSourceKind>("kind", true);
    using K = ScenarioSourceKind;
    switch (s.kind) {
      case K::tcp_listener:
      case K::udp:
        if (s.kind == K::udp)
          o.only(with_common({"id", "kind", "bind", "connect"}));
        else
          o.only(with_common({"id", "kind", "bind"}));
        s.addr = address(o, "bind", true);
        if (!s.addr->is_loopback()) {
          if (!options_.allow_remote)
            fail(at(ptr, "bind"),
                 "a non-loopback address needs allow_remote (got " + got(o.need("bind")) + ")");
          s.allow_remote = true;
        }
        if (s.kind == K::udp && o.has("connect")) {
          // A connected UDP socket: its peer is another udp source of the scenario (its real,
          // maybe ephemeral, address at run time), or a literal address with allow_remote.
          if (connect_target(o, ptr, SourceKind::udp, s)) s.peer = address(o, "connect", true);
        }
        break;
      case K::tcp_stream:
      case K::unix_stream: {
        o.only(with_common({"id", "kind", "connect"}));
        const SourceKind want =
            s.kind == K::tcp_stream ? SourceKind::tcp_listener : SourceKind::unix_listener;
        if (connect_target(o, ptr, want, s)) {  // a literal target
          if (s.kind == K::tcp_stream)
            s.addr = address(o, "connect", true);
          else
            s.path = unix_path(o, "connect", true);
        }
        break;
      }
      case K::unix_listener:
      case K::unix_datagram:
        o.only(with_common({"id", "kind", "path"}));
        s.path = unix_path(o, "path", false);
        break;
      case K::socketpair:
      case K::pipe:
        o.only(with_common({"id", "kind", "ends"}));
        if (o.has("also_close"))
          fail(at(ptr, "also_close"), std::string("the two ends of a ") + std::string(name_of(s.kind)) +
                                          " share one reaction: set also_close on one end with a set_reaction step");
        if (s.kind == K::socketpair)
          s.ends = {s.id + ".0", s.id + ".1"};
        else
          s.ends = {s.id + ".w", s.id + ".r"};
        if (const json* e = o.find("ends")) {
          const std::string ep = at(ptr, "ends");
          if (!e->is_array() || e->size() != 2) fail(ep, "expected a list of two ids, got " + got(*e));
          for (std::size_t i = 0; i < 2; ++i) {
            if (!(*e)[i].is_string() || !is_id((*e)[i].get_ref<const std::string&>()))
              fail(at(ep, i), "expected an id: " + id_rule() + " (got " + got((*e)[i]) + ")");
            s.ends[i] = (*e)[i].get<std::string>();
          }
        }
        break;
      case K::eventfd:
        o.only(with_common({"id", "kind", "initial", "semaphore"}));
        s.initial = o.num("initial", 0, 0xfffffffffffffffeULL, 0);
        s.semaphore = o.boolean("semaphore", false);
        break;
      case K::timerfd:
        o.only(with_common({"id", "kind"}));
        break;
      case K::relay: {
        // Only what cmd::Relay takes: the engine gives both legs Reaction::relay and their
        // interest, so no interest or reaction here.
        o.only({"id", "kind", "bind", "upstream", "mode", "deferred"});
        s.addr = address(o, "bind", true);
        if (!s.addr->is_loopback()) {
          if (!options_.allow_remote)
            fail(at(ptr, "bind"), "a non-loopback address needs allow_remote (got " + got(o.need("bind")) + ")");
          s.allow_remote = true;
        }
        const std::string up = o.str("upstream", 200, true);
        const auto it = names_.find(up);
        if (it == names_.end() || it->second.leg ||
            (it->second.kind != SourceKind::tcp_listener && it->second.kind != SourceKind::unix_listener))
          fail(at(ptr, "upstream"), "expected the id of a tcp_listener or unix_listener declared before this relay (got " +
                                        got(o.need("upstream")) + ")");
        s.target = up;
        if (o.value<Trigger>("mode", false) == Trigger::oneshot)
          fail(at(ptr, "mode"), "a relay is edge or level (its legs are re-armed by the engine, not by steps)");
        break;
      }
      case K::feed:
        o.only(with_common({"id", "kind", "chunk", "interval_us"}));
        s.chunk = static_cast<std::uint32_t>(o.num("chunk", 1, ScenarioLimits::max_chunk, ScenarioLimits::max_chunk));
        s.feed_interval = std::chrono::microseconds(o.num("interval_us", 0, ScenarioLimits::max_interval_us, 0));
        break;
    }
    s.options.interest =
        s.kind == K::tcp_stream ? (Interest::READABLE | Interest::WRITABLE) : Interest::READABLE;
    if (const json* v = o.find("interest")) s.options.interest = parse_interest(*v, at(ptr, "interest"));
    s.options.trigger = o.value<Trigger>("mode", false);  // "mode": the file's spelling of the trigger
    s.options.reaction = parse_reaction(o, &s.also_close);
    if (o.has("emfile_reserve") && !listener(concrete(s.kind))) fail(at(ptr, "emfile_reserve"), emfile_rule());
    s.deferred = o.boolean("deferred", false);
    if (!s.target.empty() && !s.deferred && out_.sources[names_.at(s.target).source].deferred)
      fail(at(ptr, s.kind == K::relay ? "upstream" : "connect"),
           "\"" + s.target + "\" is deferred: this source must be deferred too and created after it");
    if (!s.also_close.empty()) {
      // Resolved to a token when this source is created: it must exist by then.
      const std::string ap = at(ptr, "also_close");
      if (s.also_close == s.id) fail(ap, "a source cannot also_close itself");
      auto it = names_.find(s.also_close);
      if (it == names_.end())
        fail(ap, "no source " + got(json(s.also_close)) + " declared before this one");
      if (!it->second.kind)
        fail(ap, "\"" + s.also_close + "\" is a " +
                     std::string(name_of(out_.sources[it->second.source].kind)) +
                     ": name one of its ends, " + it->second.ends_hint);
      if (!s.deferred && !it->second.available)
        fail(ap, "\"" + s.also_close + "\" is deferred: this source must be deferred too and created after it");
    }

    const bool avail = !s.deferred;
    if (s.kind == K::relay) {
      Name n{SourceKind::tcp_listener, index, avail, {}, false, {}};
      n.relay = true;
      declare(s.id, at(ptr, "id"), n);
      // The legs of its first relayed connection: named now, given tokens when the engine
      // makes them (a check on one waits for it within its within_ms).
      const SourceKind up = names_.at(s.target).kind == SourceKind::unix_listener ? SourceKind::unix_stream
                                                                                     : SourceKind::tcp_stream;
      for (const auto& [leg, kind] : {std::pair{std::string(".client"), SourceKind::tcp_stream},
                                      std::pair{std::string(".upstream"), up}}) {
        Name l{kind, index, avail, {}, false, {}};
        l.leg = true;
        declare(s.id + leg, at(ptr, "id"), l);
      }
    } else if (auto k = concrete(s.kind)) {
      declare(s.id, at(ptr, "id"), Name{k, index, avail, {}, s.kind == K::feed, {}});
    } else {
      const std::string hint = "\"" + s.ends[0] + "\" or \"" + s.ends[1] + "\"";
      declare(s.id, at(ptr, "id"), Name{std::nullopt, index, avail, hint, false, {}});
      const bool pipe = s.kind == K::pipe;
      if (s.ends[0] == s.ends[1]) fail(at(ptr, "ends"), "the two ends need different ids");
      declare(s.ends[0], at(ptr, o.has("ends") ? "ends" : "id"),
              Name{pipe ? SourceKind::pipe_sender : SourceKind::unix_stream, index, avail, {}, false, {}});
      declare(s.ends[1], at(ptr, o.has("ends") ? "ends" : "id"),
              Name{pipe ? SourceKind::pipe_receiver : SourceKind::unix_stream, index, avail, {}, false, {}});
    }
    out_.sources.push_back(std::move(s));
  }

  net::SocketAddr address(const Obj& o, std::string_view key, bool required) {
    const std::string text = o.str(key, 100, required);
    auto a = net::SocketAddr::parse(text);
    if (!a)
      fail(at(o.ptr(), key),
           "expected a numeric address with a port 0..65535, like \"127.0.0.1:0\" or \"[::1]:0\" (got " +
               got(o.need(key)) + ")");
    return *a;
  }

  std::string unix_path(const Obj& o, std::string_view key, bool required) {
    const std::string p = o.str(key, 200, required);
    if (!o.has(key)) return p;
    if (p.empty() || p.front() != '/' || p.size() >= sizeof(sockaddr_un::sun_path) ||
        p.find('\0') != std::string::npos)
      fail(at(o.ptr(), key), "expected an absolute path shorter than " +
                                 std::to_string(sizeof(sockaddr_un::sun_path)) + " bytes (got " +
                                 got(o.need(key)) + ")");
    return p;
  }

  static std::string leg_rule(const std::string& id) {
    return "\"" + id + "\" is a relay's leg: the engine moves its bytes, so only checks (and compare) may name it";
  }

  static std::string emfile_rule() { return "emfile_reserve goes with listeners only (tcp_listener, unix_listener)"; }

  /// The name a step or check acts on: declared, available by now, not a whole pair.
  Name& use(const Obj& o, std::string_view key, ScenarioOp op) {
    const std::string id = o.str(key, 200, true);
    return use_id(id, at(o.ptr(), key), op);
  }
  Name& use_id(const std::string& id, const std::string& ptr, ScenarioOp op) {
    auto it = names_.find(id);
    if (it == names_.end())
      fail(ptr, "no source " + got(json(id)) + " (declare it in /sources, or name an accept's \"as\")");
    Name& n = it->second;
    if (op == ScenarioOp::create) return n;
    if (!n.kind)
      fail(ptr, "\"" + id + "\" is a " +
                    std::string(name_of(out_.sources[n.source].kind)) +
                    ": name one of its ends, " + n.ends_hint);
    if (!n.available)
      fail(ptr, "\"" + id + "\" does not exist yet at this step (deferred, or accepted later)");
    if (op == ScenarioOp::none) return n;  // a check (or an also_close target)
    if (n.leg) fail(ptr, leg_rule(id));
    if (n.relay && op != ScenarioOp::close)
      fail(ptr, "\"" + std::string(name_of(op)) + "\" does not fit \"" + id +
                    "\", a relay (its listener accepts and relays by itself: only close fits it)");
    if (!n.fd_closed_at.empty() && op != ScenarioOp::close)
      fail(ptr, "\"" + id + "\" was closed by close_fd at " + n.fd_closed_at +
                    ": only \"close\" may follow (it closes the dup'd copy)");
    const OpSpec& spec = op_spec(op);
    if (n.feed && !spec.feed) {
      std::string ops;
      for (const ScenarioOp f : all_values<ScenarioOp>())
        if (op_spec(f).feed) ops += (ops.empty() ? "" : ", ") + std::string(name_of(f));
      fail(ptr, "\"" + std::string(name_of(op)) + "\" does not fit \"" + id +
                    "\", a feed (its end only receives: it fits " + ops + ")");
    }
    if (!spec.fits.empty() && std::find(spec.fits.begin(), spec.fits.end(), *n.kind) == spec.fits.end()) {
      std::string kinds;
      for (auto k : spec.fits) kinds += (kinds.empty() ? "" : ", ") + std::string(name_of(k));
      fail(ptr, "\"" + std::string(name_of(op)) + "\" does not fit \"" + id + "\", a " +
                    std::string(name_of(*n.kind)) + " (it fits " + kinds + ")");
    }
    if (op == ScenarioOp::write && *n.kind == SourceKind::udp) {
      const ScenarioSource& src = out_.sources[n.source];
      if (src.target.empty() && !src.peer)
        fail(ptr, "\"write\" needs a connected udp source: give \"" + id + "\" a \"connect\"");
    }
    return n;
  }

  void step(const json& j, const std::string& ptr) {
    const Obj o(j, ptr, "a step");
    ScenarioStep s;
    s.op = o.value<ScenarioOp>("op", false);
    const OpSpec& spec = op_spec(s.op);
    o.only(step_keys(s.op));
    using O = ScenarioOp;
    s.note = o.str("note", ScenarioLimits::max_note_bytes, false);
    s.wait = std::chrono::milliseconds(o.num("wait_ms", 0, ScenarioLimits::max_ms, 0));
    if (s.op != O::none && !spec.sourceless) {
      // `source`: one id, or (not for create) a list of 1..16 distinct ids.
      const std::string sp = at(ptr, "source");
      const json& v = o.need("source");
      std::vector<Name*> named;
      if (v.is_array() && s.op != O::create) {
        if (v.empty() || v.size() > ScenarioLimits::max_step_sources)
          fail(sp, "expected a list of 1.." + std::to_string(ScenarioLimits::max_step_sources) + " ids, got " +
                       std::to_string(v.size()));
        for (std::size_t i = 0; i < v.size(); ++i) {
          if (!v[i].is_string()) fail(at(sp, i), "expected a source id, got " + got(v[i]));
          const std::string id = v[i].get<std::string>();
          if (std::find(s.sources.begin(), s.sources.end(), id) != s.sources.end())
            fail(at(sp, i), "\"" + id + "\" is listed twice");
          named.push_back(&use_id(id, at(sp, i), s.op));
          s.sources.push_back(id);
        }
      } else if (v.is_string()) {
        named.push_back(&use(o, "source", s.op));
        s.sources.push_back(v.get<std::string>());
      } else {
        fail(sp, std::string(s.op == O::create ? "expected a source id" : "expected a source id or a list of ids") +
                     ", got " + got(v));
      }
      s.source = s.sources.front();
      s.repeat = static_cast<std::uint32_t>(o.num("repeat", 1, ScenarioLimits::max_repeat, 1));
      if (spec.command) s.command = spec.command(o, s);
      Name& n = *named.front();
      switch (s.op) {
        case O::create: {
          const ScenarioSource& src = out_.sources[n.source];
          if (!src.deferred || src.id != s.source)
            fail(at(ptr, "source"), "\"" + s.source + "\" is not a deferred source (\"deferred\": true)");
          if (n.available) fail(at(ptr, "source"), "\"" + s.source + "\" is created twice");
          if (!src.target.empty() && !names_.at(src.target).available)
            fail(at(ptr, "source"),
                 "\"" + s.source + "\" connects to \"" + src.target + "\", which does not exist yet");
          if (!src.also_close.empty() && !names_.at(src.also_close).available)
            fail(at(ptr, "source"),
                 "\"" + s.source + "\" has also_close \"" + src.also_close + "\", which does not exist yet");
          n.available = true;
          for (const auto& e : src.ends)
            if (!e.empty()) names_.at(e).available = true;
          if (src.kind == ScenarioSourceKind::relay)
            for (const char* leg : {".client", ".upstream"}) names_.at(src.id + leg).available = true;
          break;
        }
        case O::set_reaction:
          if (o.has("emfile_reserve"))
            for (const Name* m : named)
              if (!listener(m->kind)) fail(at(ptr, "emfile_reserve"), emfile_rule());
          if (!s.also_close.empty()) {
            const std::string ap = at(ptr, "also_close");
            if (std::find(s.sources.begin(), s.sources.end(), s.also_close) != s.sources.end())
              fail(ap, "a source cannot also_close itself");
            (void)use_id(s.also_close, ap, O::none);  // exists at this step (a leg's name is no id)
          }
          break;
        case O::accept:
          if (o.has("as")) {
            s.as = o.str("as", 200, true);
            if (!is_id(s.as))
              fail(at(ptr, "as"), "expected an id: " + id_rule() + " (got " + got(o.need("as")) + ")");
            if (s.sources.size() != 1 || s.repeat != 1)
              fail(at(ptr, "as"), "\"as\" names one accepted stream: give one source and no repeat");
            const SourceKind k =
                *n.kind == SourceKind::tcp_listener ? SourceKind::tcp_stream : SourceKind::unix_stream;
            declare(s.as, at(ptr, "as"), Name{k, n.source, true, {}, false, {}});
          }
          break;
        case O::close_fd:
          if (s.repeat != 1) fail(at(ptr, "repeat"), "close_fd closes a descriptor once (repeat must be 1)");
          for (Name* m : named) m->fd_closed_at = ptr;
          break;
        default:
          break;
      }
    }
    if (spec.sourceless) s.command = spec.command(o, s);
    if (const json* e = o.find("expect")) {
      const std::string ep = at(ptr, "expect");
      if (!e->is_array()) fail(ep, "expected a list of checks, got " + got(*e));
      if (e->size() > ScenarioLimits::max_expectations)
        fail(ep, "more than " + std::to_string(ScenarioLimits::max_expectations) + " checks");
      for (std::size_t i = 0; i < e->size(); ++i) s.expect.push_back(expectation((*e)[i], at(ep, i)));
    }
    if (s.op == O::none && s.note.empty() && s.expect.empty() && !o.has("wait_ms"))
      fail(ptr, "an empty step: give at least one of note, op, wait_ms, expect");
    out_.steps.push_back(std::move(s));
  }

  ScenarioExpectation expectation(const json& j, const std::string& ptr) {
    const Obj o(j, ptr, "a check");
    ScenarioExpectation x;
    using T = ScenarioExpectation::Type;
    const bool action = o.has("action");
    const bool readiness = o.has("seen") || o.has("not_seen");
    const bool removed = o.has("removed");
    const bool warning = o.has("warning");
    const bool no_warning = o.has("no_warning");
    const bool interest = o.has("interest");
    const bool queue = o.has("queue");
    if (int{action} + int{readiness} + int{removed} + int{warning} + int{no_warning} + int{interest} +
            int{queue} !=
        1)
      fail(ptr,
           "a check needs exactly one of: \"seen\"/\"not_seen\" (readiness), \"action\", \"removed\", "
           "\"warning\", \"no_warning\", \"interest\", \"queue\"");
    bool needs_source = true;
    if (action) {
      x.type = T::action;
      std::vector<Op> ops;
      std::vector<std::string_view> names;
      for (const Op op : all_values<Op>())
        if (checkable(op)) ops.push_back(op), names.push_back(name_of(op));
      x.op = ops[o.name("action", names, true)];
      // exhaust_fds / release_fds act on the process, not a source: their checks name none.
      needs_source = x.op != Op::exhaust_fds && x.op != Op::release_fds;
      if (needs_source)
        o.only({"source", "action", "result", "errno", "n", "n_min", "n_max", "within_ms"});
      else
        o.only({"action", "result", "errno", "n", "n_min", "n_max", "within_ms"});
      x.result = o.value<Outcome>("result", true);
      if (o.has("errno")) {
        if (x.result != Outcome::error)
          fail(at(ptr, "errno"), "\"errno\" goes with \"result\": \"error\" only");
        const std::string e = o.str("errno", 40, true);
        auto v = errno_from_name(e);
        if (!v)
          fail(at(ptr, "errno"),
               "expected an errno name like \"ECONNRESET\" (got " + got(o.need("errno")) + ")");
        x.err = *v;
      }
      constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
      if (o.has("n")) x.n = o.num("n", 0, kMax, 0);
      if (o.has("n_min")) x.n_min = o.num("n_min", 0, kMax, 0);
      if (o.has("n_max")) x.n_max = o.num("n_max", 0, kMax, 0);
      if (x.n && (x.n_min || x.n_max)) fail(at(ptr, "n"), "give \"n\" or \"n_min\"/\"n_max\", not both");
      if (x.n_min && x.n_max && *x.n_min > *x.n_max) fail(at(ptr, "n_min"), "n_min is larger than n_max");
    } else if (readiness) {
      x.type = T::readiness;
      o.only({"source", "seen", "not_seen", "within_ms"});
      if (const json* v = o.find("seen")) x.seen = parse_flags(*v, at(ptr, "seen"), false, nullptr);
      if (const json* v = o.find("not_seen"))
        x.not_seen = parse_flags(*v, at(ptr, "not_seen"), true, &x.not_seen_any);
      if (x.seen & x.not_seen) fail(at(ptr, "not_seen"), "a flag is both seen and not seen");
      if (o.has("within_ms") && !x.seen)
        fail(at(ptr, "within_ms"), "within_ms goes with \"seen\" (not_seen is judged at the barrier)");
    } else if (warning) {
      x.type = T::warning;
      o.only({"source", "warning", "within_ms"});
      x.warning = o.value<WarningKind>("warning", true);
    } else if (no_warning) {
      x.type = T::no_warning;
      o.only({"source", "no_warning", "within_ms"});
      constexpr auto kinds = all_names<WarningKind>();
      std::vector<std::string_view> names(kinds.begin(), kinds.end());
      names.emplace_back("any");
      const std::size_t k = o.name("no_warning", names, true);
      x.warning_any = k == enum_count<WarningKind>;
      if (!x.warning_any) x.warning = static_cast<WarningKind>(k);
      if (o.has("within_ms"))
        fail(at(ptr, "within_ms"), "within_ms goes with \"warning\" (no_warning is judged at the barrier)");
    } else if (interest) {
      x.type = T::interest;
      o.only({"source", "interest", "within_ms"});
      const json& v = o.need("interest");
      if (v.is_string() && v.get_ref<const std::string&>() == "paused")
        x.paused = true;
      else if (v.is_array())
        x.interest = parse_interest(v, at(ptr, "interest"));
      else
        fail(at(ptr, "interest"), "expected a non-empty list of readable, writable, priority, or \"paused\" (got " +
                                      got(v) + ")");
    } else if (queue) {
      x.type = T::queue;
      o.only({"source", "queue", "within_ms"});
      const Obj q(o.need("queue"), at(ptr, "queue"), "a queue check: {\"readable\": N, \"unsent_min\": M, ...}");
      q.only({"readable", "readable_min", "unsent", "unsent_min"});
      constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
      if (q.has("readable")) x.readable = q.num("readable", 0, kMax, 0);
      if (q.has("readable_min")) x.readable_min = q.num("readable_min", 0, kMax, 0);
      if (q.has("unsent")) x.unsent = q.num("unsent", 0, kMax, 0);
      if (q.has("unsent_min")) x.unsent_min = q.num("unsent_min", 0, kMax, 0);
      if (!x.readable && !x.readable_min && !x.unsent && !x.unsent_min)
        fail(at(ptr, "queue"), "give at least one of readable, readable_min, unsent, unsent_min");
      if (x.readable && x.readable_min) fail(at(ptr, "queue"), "give \"readable\" or \"readable_min\", not both");
      if (x.unsent && x.unsent_min) fail(at(ptr, "queue"), "give \"unsent\" or \"unsent_min\", not both");
    } else {
      x.type = T::removed;
      o.only({"source", "removed", "within_ms"});
      if (!o.boolean("removed", true))
        fail(at(ptr, "removed"), "expected true (a source that stays is not checked)");
    }
    x.within =
        std::chrono::milliseconds(o.num("within_ms", 1, static_cast<std::uint64_t>(ScenarioLimits::max_ms),
                                        static_cast<std::uint64_t>(ScenarioLimits::default_within.count())));
    if (needs_source) {
      (void)use(o, "source", ScenarioOp::none);
      x.source = o.str("source", 200, true);
    }
    return x;
  }

  /// Top-level "compare": pairs of names shown side by side (after the steps: an accept's
  /// `as` name may be one).
  void compare(const json& c) {
    if (!c.is_array()) fail("/compare", "expected a list of {\"left\", \"right\", \"label\"} pairs, got " + got(c));
    if (c.size() > ScenarioLimits::max_compare)
      fail("/compare", "more than " + std::to_string(ScenarioLimits::max_compare) + " pairs");
    for (std::size_t i = 0; i < c.size(); ++i) {
      const std::string ptr = at("/compare", i);
      const Obj o(c[i], ptr, "a compare pair");
      o.only({"left", "right", "label"});
      ScenarioCompare p;
      p.left = o.str("left", 200, true);
      p.right = o.str("right", 200, true);
      for (const auto& [key, id] : {std::pair<std::string_view, const std::string&>{"left", p.left},
                                    std::pair<std::string_view, const std::string&>{"right", p.right}}) {
        auto it = names_.find(id);
        if (it == names_.end())
          fail(at(ptr, key), "no source " + got(json(id)) + " (declare it in /sources, or name an accept's \"as\")");
        if (!it->second.kind)
          fail(at(ptr, key), "\"" + id + "\" is a " +
                                 std::string(name_of(out_.sources[it->second.source].kind)) +
                                 ": name one of its ends, " + it->second.ends_hint);
      }
      if (p.left == p.right) fail(at(ptr, "right"), "the same source as \"left\" (compare two different ones)");
      p.label = o.str("label", ScenarioLimits::max_label_bytes, false);
      out_.compare.push_back(std::move(p));
    }
  }

  const json& doc_;
  ScenarioOptions options_;
  Scenario out_;
  std::unordered_map<std::string, Name> names_;
};

}  // namespace

Scenario validate(const json& doc, std::string file, ScenarioOptions options) {
  return Validator(doc, std::move(file), options).run();
}

}  // namespace ready::capture::scenario
