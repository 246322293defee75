// Scenario files: parsing and validation (nlohmann::json, with a callback that tracks the
// JSON pointer and rejects duplicate keys), and the passive runner.
#include "ready/capture/scenario.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>

#include "linux/os.h"
#include "ready/error.h"
#include "ready/event.h"
#include "ready/owned_fd.h"

namespace ready::capture {

using json = nlohmann::json;

namespace {

// ---------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------

constexpr std::array<std::string_view, 11> kKindNames{
    "tcp_listener",  "tcp_stream", "udp",  "unix_listener", "unix_stream",
    "unix_datagram", "socketpair", "pipe", "eventfd",       "timerfd", "feed"};
constexpr std::array<std::string_view, 22> kOpNames{
    "none",         "create",        "set_interest",  "set_mode",     "set_reaction",   "rearm",
    "read",         "drain",         "write",         "fill",         "shutdown_read",  "shutdown_write",
    "close",        "accept",        "eventfd_write", "eventfd_read", "timer_arm",      "timer_disarm",
    "dup",          "close_fd",      "exhaust_fds",   "release_fds"};
constexpr std::array<std::string_view, 6> kFlagNames{"readable",    "writable",     "error",
                                                     "read_closed", "write_closed", "priority"};
constexpr std::array<std::string_view, 3> kModeNames{"edge", "level", "oneshot"};
constexpr std::array<std::string_view, 6> kReactionNames{"none", "read",    "drain",
                                                         "echo", "discard", "auto_accept"};
constexpr std::array<std::string_view, 5> kResultNames{"ok", "would_block", "eof", "in_progress", "error"};
constexpr std::array<Op, 20> kExpectOps{
    Op::read,          Op::drain,          Op::write,    Op::fill,          Op::accept,       Op::connect,
    Op::shutdown_read, Op::shutdown_write, Op::close,    Op::eventfd_write, Op::eventfd_read, Op::timer_arm,
    Op::timer_disarm,  Op::rearm,          Op::create,   Op::modify,        Op::dup,          Op::close_fd,
    Op::exhaust_fds,   Op::release_fds};
constexpr std::array<WarningKind, 8> kWarningKinds{
    WarningKind::payload_truncated,        WarningKind::emfile,
    WarningKind::engine_error,             WarningKind::et_partial_read,
    WarningKind::oneshot_disarmed_pending, WarningKind::level_writable_spin,
    WarningKind::read_after_close,         WarningKind::event_after_close};

/// The WarningKind names (to_string(WarningKind)), with "any" after them when `any`.
std::vector<std::string_view> warning_names(bool any) {
  std::vector<std::string_view> v;
  for (const WarningKind w : kWarningKinds) v.push_back(to_string(w));
  if (any) v.emplace_back("any");
  return v;
}

/// An op that names no source (its action records carry token 0).
bool sourceless(ScenarioOp op) { return op == ScenarioOp::exhaust_fds || op == ScenarioOp::release_fds; }

/// The ops a feed's end fits (it only receives).
constexpr std::array<ScenarioOp, 10> kFeedOps{
    ScenarioOp::set_interest, ScenarioOp::set_mode, ScenarioOp::set_reaction, ScenarioOp::rearm,
    ScenarioOp::read,         ScenarioOp::drain,    ScenarioOp::shutdown_read, ScenarioOp::close,
    ScenarioOp::dup,          ScenarioOp::close_fd};

template <class Names>
std::string join(const Names& names) {
  std::string s;
  for (const auto& n : names) {
    if (!s.empty()) s += ", ";
    s += n;
  }
  return s;
}



// A flag set as a scenario message names it ("readable|read_closed", or "(no flag)").
std::string flag_set_text(std::uint8_t f) {
  const std::string s = flags_text(f);
  return s.empty() ? std::string("(no flag)") : s;
}

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

/// A validation failure; thrown inside the parser only and turned into a ScenarioError.
struct Invalid {
  std::string pointer;
  std::string what;
};

std::string escape_token(std::string_view key) {
  std::string s;
  for (char c : key) {
    if (c == '~')
      s += "~0";
    else if (c == '/')
      s += "~1";
    else
      s += c;
  }
  return s;
}

std::string at(const std::string& ptr, std::string_view key) { return ptr + "/" + escape_token(key); }
std::string at(const std::string& ptr, std::size_t index) { return ptr + "/" + std::to_string(index); }

/// A value as the message shows it: short JSON text for scalars, the type for containers.
std::string got(const json& j) {
  if (j.is_object()) return "an object";
  if (j.is_array()) return "an array";
  std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 48) s = s.substr(0, 45) + "...";
  return s;
}

[[noreturn]] void fail(std::string ptr, std::string what) { throw Invalid{std::move(ptr), std::move(what)}; }

/// One JSON object being validated: known keys, typed getters that fail with the pointer.
class Obj {
 public:
  Obj(const json& j, std::string ptr, std::string what)
      : j_(j), ptr_(std::move(ptr)), what_(std::move(what)) {
    if (!j.is_object()) fail(ptr_, "expected an object (" + what_ + "), got " + got(j));
  }
  [[nodiscard]] const std::string& ptr() const { return ptr_; }

  /// Rejects any key not in `keys` (a typo must not pass silently).
  void only(const std::vector<std::string_view>& keys) const {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (std::find(keys.begin(), keys.end(), it.key()) != keys.end()) continue;
      fail(at(ptr_, it.key()), "unknown field in " + what_ + " (expected one of " + join(keys) + ")");
    }
  }
  [[nodiscard]] const json* find(std::string_view key) const {
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  [[nodiscard]] bool has(std::string_view key) const { return find(key) != nullptr; }
  const json& need(std::string_view key) const {
    const json* v = find(key);
    if (!v) fail(ptr_, "missing field \"" + std::string(key) + "\" (" + what_ + ")");
    return *v;
  }

  std::string str(std::string_view key, std::size_t max_bytes, bool required, std::string def = {}) const {
    const json* v = required ? &need(key) : find(key);
    if (!v) return def;
    if (!v->is_string()) fail(at(ptr_, key), "expected a string, got " + got(*v));
    const auto& s = v->get_ref<const std::string&>();
    if (s.size() > max_bytes)
      fail(at(ptr_, key),
           "longer than " + std::to_string(max_bytes) + " bytes (" + std::to_string(s.size()) + ")");
    return s;
  }
  std::uint64_t num(std::string_view key, std::uint64_t min, std::uint64_t max, std::uint64_t def,
                    bool required = false) const {
    const json* v = required ? &need(key) : find(key);
    if (!v) return def;
    if (!v->is_number_integer())
      fail(at(ptr_, key),
           "expected an integer in " + std::to_string(min) + ".." + std::to_string(max) + ", got " + got(*v));
    const bool negative = !v->is_number_unsigned() && v->get<std::int64_t>() < 0;
    const std::uint64_t x = negative ? 0 : v->get<std::uint64_t>();
    if (negative || x < min || x > max)
      fail(at(ptr_, key),
           "expected an integer in " + std::to_string(min) + ".." + std::to_string(max) + ", got " + got(*v));
    return x;
  }
  bool boolean(std::string_view key, bool def) const {
    const json* v = find(key);
    if (!v) return def;
    if (!v->is_boolean()) fail(at(ptr_, key), "expected true or false, got " + got(*v));
    return v->get<bool>();
  }
  /// A string that must be one of `names`; returns its index.
  template <class Names>
  std::size_t name(std::string_view key, const Names& names, bool required, std::size_t def = 0) const {
    const json* v = required ? &need(key) : find(key);
    if (!v) return def;
    return name_of(*v, at(ptr_, key), names);
  }
  template <class Names>
  static std::size_t name_of(const json& v, const std::string& ptr, const Names& names) {
    if (v.is_string()) {
      const auto& s = v.get_ref<const std::string&>();
      for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i] == s) return i;
    }
    fail(ptr, "expected one of " + join(names) + " (got " + got(v) + ")");
  }

 private:
  const json& j_;
  std::string ptr_;
  std::string what_;
};

bool is_id(std::string_view s) {
  if (s.empty() || s.size() > ScenarioLimits::max_id_bytes) return false;
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s[0])) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9') || c == '-'; });
}

std::string id_rule() {
  return "a letter or '_', then letters, digits, '_' or '-', at most " +
         std::to_string(ScenarioLimits::max_id_bytes) + " bytes";
}

Interest parse_interest(const json& v, const std::string& ptr) {
  if (!v.is_array() || v.empty())
    fail(ptr, "expected a non-empty list of readable, writable, priority, got " + got(v));
  static constexpr std::array<std::string_view, 3> names{"readable", "writable", "priority"};
  static constexpr std::array<Interest, 3> values{Interest::READABLE, Interest::WRITABLE, Interest::PRIORITY};
  std::optional<Interest> in;
  std::uint8_t seen = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::size_t k = Obj::name_of(v[i], at(ptr, i), names);
    if (seen & (1u << k)) fail(at(ptr, i), "\"" + std::string(names[k]) + "\" is listed twice");
    seen |= static_cast<std::uint8_t>(1u << k);
    in = in ? (*in | values[k]) : values[k];
  }
  return *in;
}

std::uint8_t parse_flags(const json& v, const std::string& ptr, bool allow_any, bool* any) {
  if (!v.is_array() || v.empty())
    fail(ptr, "expected a non-empty list of " + join(kFlagNames) + (allow_any ? ", or [\"any\"]" : "") +
                  ", got " + got(v));
  if (allow_any && v.size() == 1 && v[0].is_string() && v[0].get_ref<const std::string&>() == "any") {
    *any = true;
    return 0;
  }
  std::uint8_t f = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::size_t k = Obj::name_of(v[i], at(ptr, i), kFlagNames);
    if (f & (1u << k)) fail(at(ptr, i), "\"" + std::string(kFlagNames[k]) + "\" is listed twice");
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
    case ScenarioSourceKind::socketpair:
    case ScenarioSourceKind::pipe:
      return std::nullopt;
  }
  return std::nullopt;
}

/// The kinds an operation fits; empty: any kind.
std::vector<SourceKind> fits(ScenarioOp op) {
  using K = SourceKind;
  switch (op) {
    case ScenarioOp::read:
    case ScenarioOp::drain:
      return {K::tcp_stream,    K::udp,     K::unix_stream, K::unix_datagram,
              K::pipe_receiver, K::eventfd, K::timerfd};
    case ScenarioOp::write:
      // udp only when connected (checked with the source); unix datagram sockets cannot be
      // connected by the engine, so a send there always fails.
      return {K::tcp_stream, K::unix_stream, K::pipe_sender, K::udp};
    case ScenarioOp::fill:
      return {K::tcp_stream, K::unix_stream, K::pipe_sender};
    case ScenarioOp::shutdown_read:
    case ScenarioOp::shutdown_write:
      return {K::tcp_stream, K::unix_stream};
    case ScenarioOp::accept:
      return {K::tcp_listener, K::unix_listener};
    case ScenarioOp::eventfd_write:
    case ScenarioOp::eventfd_read:
      return {K::eventfd};
    case ScenarioOp::timer_arm:
    case ScenarioOp::timer_disarm:
      return {K::timerfd};
    default:
      return {};
  }
}

/// What the validator knows about a name while it walks the steps.
struct Name {
  std::optional<SourceKind> kind;  // nullopt: a socketpair / pipe as a whole
  std::size_t source = 0;          // index of the declaring source
  bool available = false;          // created (or accepted) by this point of the steps
  std::string ends_hint;           // for a group: its end names
  bool feed = false;               // a feed's receiving end: only kFeedOps fit
  std::string fd_closed_at;        // the step whose close_fd closed it ("": open)
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
    const std::string kind(to_string(want));
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
    s.kind = static_cast<ScenarioSourceKind>(o.name("kind", kKindNames, true));
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
          fail(at(ptr, "also_close"), std::string("the two ends of a ") + std::string(kKindNames[static_cast<std::size_t>(s.kind)]) +
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
      case K::feed:
        o.only(with_common({"id", "kind", "chunk", "interval_us"}));
        s.chunk = static_cast<std::uint32_t>(o.num("chunk", 1, ScenarioLimits::max_chunk, ScenarioLimits::max_chunk));
        s.feed_interval = std::chrono::microseconds(o.num("interval_us", 0, ScenarioLimits::max_interval_us, 0));
        break;
    }
    s.options.interest =
        s.kind == K::tcp_stream ? (Interest::READABLE | Interest::WRITABLE) : Interest::READABLE;
    if (const json* v = o.find("interest")) s.options.interest = parse_interest(*v, at(ptr, "interest"));
    s.options.trigger = static_cast<Trigger>(o.name("mode", kModeNames, false, 0));
    s.options.reaction = reaction(o, &s.also_close);
    if (o.has("emfile_reserve") && !listener(concrete(s.kind))) fail(at(ptr, "emfile_reserve"), emfile_rule());
    s.deferred = o.boolean("deferred", false);
    if (!s.target.empty() && !s.deferred && out_.sources[names_.at(s.target).source].deferred)
      fail(at(ptr, "connect"),
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
                     std::string(kKindNames[static_cast<std::size_t>(out_.sources[it->second.source].kind)]) +
                     ": name one of its ends, " + it->second.ends_hint);
      if (!s.deferred && !it->second.available)
        fail(ap, "\"" + s.also_close + "\" is deferred: this source must be deferred too and created after it");
    }

    const bool avail = !s.deferred;
    if (auto k = concrete(s.kind)) {
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

  static std::string emfile_rule() { return "emfile_reserve goes with listeners only (tcp_listener, unix_listener)"; }

  /// The reaction fields of a source or a set_reaction step; `also_close` gets the id
  /// (checked against the names by the caller), emfile_reserve's kind by the caller too.
  ReactionSpec reaction(const Obj& o, std::string* also_close) {
    ReactionSpec r;
    r.kind = static_cast<Reaction>(o.name("reaction", kReactionNames, false, 0));
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
                    std::string(kKindNames[static_cast<std::size_t>(out_.sources[n.source].kind)]) +
                    ": name one of its ends, " + n.ends_hint);
    if (!n.available)
      fail(ptr, "\"" + id + "\" does not exist yet at this step (deferred, or accepted later)");
    if (op == ScenarioOp::none) return n;  // a check (or an also_close target)
    if (!n.fd_closed_at.empty() && op != ScenarioOp::close)
      fail(ptr, "\"" + id + "\" was closed by close_fd at " + n.fd_closed_at +
                    ": only \"close\" may follow (it closes the dup'd copy)");
    if (n.feed && std::find(kFeedOps.begin(), kFeedOps.end(), op) == kFeedOps.end()) {
      std::string ops;
      for (auto f : kFeedOps) ops += (ops.empty() ? "" : ", ") + std::string(kOpNames[static_cast<std::size_t>(f)]);
      fail(ptr, "\"" + std::string(kOpNames[static_cast<std::size_t>(op)]) + "\" does not fit \"" + id +
                    "\", a feed (its end only receives: it fits " + ops + ")");
    }
    const auto ok = fits(op);
    if (!ok.empty() && std::find(ok.begin(), ok.end(), *n.kind) == ok.end()) {
      std::string kinds;
      for (auto k : ok) kinds += (kinds.empty() ? "" : ", ") + std::string(to_string(k));
      fail(ptr, "\"" + std::string(kOpNames[static_cast<std::size_t>(op)]) + "\" does not fit \"" + id +
                    "\", a " + std::string(to_string(*n.kind)) + " (it fits " + kinds + ")");
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
    s.op = static_cast<ScenarioOp>(o.name("op", kOpNames, false, 0));
    using O = ScenarioOp;
    switch (s.op) {
      case O::none:
        o.only({"note", "wait_ms", "expect"});
        break;
      case O::create:
        o.only({"note", "op", "source", "wait_ms", "expect"});
        break;
      case O::set_interest:
        o.only({"note", "op", "source", "repeat", "interest", "wait_ms", "expect"});
        break;
      case O::set_mode:
        o.only({"note", "op", "source", "repeat", "mode", "wait_ms", "expect"});
        break;
      case O::set_reaction:
        o.only({"note", "op", "source", "repeat", "reaction", "read_n", "budget", "work_ns_per_kib", "also_close",
                "emfile_reserve", "wait_ms", "expect"});
        break;
      case O::read:
        o.only({"note", "op", "source", "repeat", "n", "wait_ms", "expect"});
        break;
      case O::write:
        o.only({"note", "op", "source", "repeat", "data", "wait_ms", "expect"});
        break;
      case O::accept:
        o.only({"note", "op", "source", "repeat", "as", "wait_ms", "expect"});
        break;
      case O::eventfd_write:
        o.only({"note", "op", "source", "repeat", "value", "wait_ms", "expect"});
        break;
      case O::timer_arm:
        o.only({"note", "op", "source", "repeat", "initial_ms", "interval_ms", "wait_ms", "expect"});
        break;
      case O::exhaust_fds:
        o.only({"note", "op", "headroom", "wait_ms", "expect"});
        break;
      case O::release_fds:
        o.only({"note", "op", "wait_ms", "expect"});
        break;
      default:
        o.only({"note", "op", "source", "repeat", "wait_ms", "expect"});
        break;
    }
    s.note = o.str("note", ScenarioLimits::max_note_bytes, false);
    s.wait = std::chrono::milliseconds(o.num("wait_ms", 0, ScenarioLimits::max_ms, 0));
    const auto max_ms = static_cast<std::uint64_t>(ScenarioLimits::max_ms);
    if (s.op != O::none && !sourceless(s.op)) {
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
          break;
        }
        case O::set_interest:
          s.interest = parse_interest(o.need("interest"), at(ptr, "interest"));
          break;
        case O::set_mode:
          s.mode = static_cast<Trigger>(o.name("mode", kModeNames, true));
          break;
        case O::set_reaction:
          (void)o.need("reaction");
          s.reaction = reaction(o, &s.also_close);
          if (o.has("emfile_reserve"))
            for (const Name* m : named)
              if (!listener(m->kind)) fail(at(ptr, "emfile_reserve"), emfile_rule());
          if (!s.also_close.empty()) {
            const std::string ap = at(ptr, "also_close");
            if (std::find(s.sources.begin(), s.sources.end(), s.also_close) != s.sources.end())
              fail(ap, "a source cannot also_close itself");
            (void)use_id(s.also_close, ap, O::none);  // exists at this step
          }
          break;
        case O::read:
          s.n = static_cast<std::uint32_t>(o.num("n", 1, ScenarioLimits::max_read, 4096));
          break;
        case O::write:
          s.data = o.str("data", ScenarioLimits::max_write_bytes, true);
          break;
        case O::eventfd_write:
          s.value = o.num("value", 0, 0xfffffffffffffffeULL, 1);
          break;
        case O::timer_arm:
          s.initial = std::chrono::milliseconds(o.num("initial_ms", 1, max_ms, 1));
          s.interval = std::chrono::milliseconds(o.num("interval_ms", 0, max_ms, 0));
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
    } else if (s.op == O::exhaust_fds) {
      s.headroom = static_cast<std::uint32_t>(o.num("headroom", 0, ScenarioLimits::max_headroom, 0));
    }
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
    if (int{action} + int{readiness} + int{removed} + int{warning} + int{no_warning} != 1)
      fail(ptr,
           "a check needs exactly one of: \"seen\"/\"not_seen\" (readiness), \"action\", \"removed\", "
           "\"warning\", \"no_warning\"");
    bool needs_source = true;
    if (action) {
      x.type = T::action;
      std::array<std::string_view, kExpectOps.size()> names{};
      for (std::size_t i = 0; i < kExpectOps.size(); ++i) names[i] = to_string(kExpectOps[i]);
      x.op = kExpectOps[o.name("action", names, true)];
      // exhaust_fds / release_fds act on the process, not a source: their checks name none.
      needs_source = x.op != Op::exhaust_fds && x.op != Op::release_fds;
      if (needs_source)
        o.only({"source", "action", "result", "errno", "n", "n_min", "n_max", "within_ms"});
      else
        o.only({"action", "result", "errno", "n", "n_min", "n_max", "within_ms"});
      x.result = static_cast<Outcome>(o.name("result", kResultNames, true));
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
      x.warning = kWarningKinds[o.name("warning", warning_names(false), true)];
    } else if (no_warning) {
      x.type = T::no_warning;
      o.only({"source", "no_warning", "within_ms"});
      const std::size_t k = o.name("no_warning", warning_names(true), true);
      x.warning_any = k == kWarningKinds.size();
      if (!x.warning_any) x.warning = kWarningKinds[k];
      if (o.has("within_ms"))
        fail(at(ptr, "within_ms"), "within_ms goes with \"warning\" (no_warning is judged at the barrier)");
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
                                 std::string(kKindNames[static_cast<std::size_t>(out_.sources[it->second.source].kind)]) +
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

/// Tracks where the parser is (as a JSON pointer), rejects duplicate keys, bounds the depth.
class Tracker {
 public:
  bool operator()(int /*depth*/, json::parse_event_t ev, json& parsed) {
    using E = json::parse_event_t;
    switch (ev) {
      case E::object_start:
      case E::array_start:
        frames_.push_back(Frame{ev == E::array_start, 0, {}, false, {}});
        // Kept, not discarded: nlohmann skips the callbacks inside a discarded container,
        // which would leave the pointer out of step. The text is at most max_file_bytes, and
        // nlohmann neither parses nor destroys recursively.
        if (frames_.size() > ScenarioLimits::max_depth && !problem_)
          problem_ = Invalid{pointer(),
                             "nested deeper than " + std::to_string(ScenarioLimits::max_depth) + " levels"};
        return true;
      case E::key: {
        Frame& f = frames_.back();
        f.key = parsed.get<std::string>();
        f.has_key = true;
        if (!f.keys.insert(f.key).second && !problem_)
          problem_ = Invalid{pointer(), "duplicate field " + got(json(f.key))};
        return true;
      }
      case E::value:
        done_one();
        return true;
      case E::object_end:
      case E::array_end:
        if (!frames_.empty()) frames_.pop_back();
        done_one();
        return true;
    }
    return true;
  }

  /// Where the parser is: the open containers, and the key (or index) being read.
  [[nodiscard]] std::string pointer() const {
    std::string p;
    for (std::size_t i = 0; i < frames_.size(); ++i) {
      const Frame& f = frames_[i];
      if (!f.array && f.has_key)
        p = at(p, f.key);
      else if (f.array && i + 1 < frames_.size())
        p = at(p, f.index);
    }
    return p;
  }
  std::optional<Invalid> problem_;

 private:
  struct Frame {
    bool array = false;
    std::size_t index = 0;
    std::string key;
    bool has_key = false;
    std::set<std::string> keys;
  };
  void done_one() {
    if (frames_.empty()) return;
    Frame& f = frames_.back();
    if (f.array)
      ++f.index;
    else
      f.has_key = false;
  }
  std::vector<Frame> frames_;
};

std::string where(std::string_view text, std::size_t byte) {
  // nlohmann's `byte` is the 1-based position of the last character it read.
  const std::size_t pos = std::min(byte == 0 ? 0 : byte - 1, text.size());
  std::size_t line = 1, col_start = 0;
  for (std::size_t i = 0; i < pos; ++i)
    if (text[i] == '\n') ++line, col_start = i + 1;
  return "line " + std::to_string(line) + ", column " + std::to_string(pos - col_start + 1);
}

/// nlohmann's message without its "[json.exception...] parse error at line L, column C: " prefix.
std::string parser_reason(const std::string& what) {
  std::string s = what;
  if (auto p = s.find("] "); p != std::string::npos && s.front() == '[') s = s.substr(p + 2);
  if (auto c = s.find("column "); c != std::string::npos) {
    if (auto colon = s.find(": ", c); colon != std::string::npos) s = s.substr(colon + 2);
  }
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

ScenarioError error(std::string_view file, std::string pointer, std::string what) {
  return ScenarioError{std::string(file), std::move(pointer), std::move(what)};
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Public parsing API
// ---------------------------------------------------------------------------------------

std::string ScenarioError::message() const {
  // A pointer built from a hostile file's keys can be long, and a key can hold control
  // characters (JSON escapes such as "\n" in a key): those are shown escaped as in JSON so
  // the message stays one line a terminal does not interpret, and it is cut at 200 bytes.
  std::string p;
  for (const char ch : pointer.empty() ? std::string_view("/") : std::string_view(pointer)) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      p += "\\n";
    } else if (c == '\r') {
      p += "\\r";
    } else if (c == '\t') {
      p += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      p += "\\u00";
      p += kHex[c >> 4];
      p += kHex[c & 0xf];
    } else {
      p += ch;
    }
  }
  if (p.size() > 200) p = p.substr(0, 197) + "...";
  return file + ": " + p + ": " + what;
}

std::string_view to_string(ScenarioSourceKind k) noexcept {
  const auto i = static_cast<std::size_t>(k);
  return i < kKindNames.size() ? kKindNames[i] : std::string_view("unknown");
}
std::string_view to_string(ScenarioOp o) noexcept {
  const auto i = static_cast<std::size_t>(o);
  return i < kOpNames.size() ? kOpNames[i] : std::string_view("unknown");
}

std::expected<Scenario, ScenarioError> parse_scenario(std::string_view text, std::string_view file,
                                                      ScenarioOptions options) {
  if (text.size() > options.max_file_bytes)
    return std::unexpected(
        error(file, "", "larger than the limit of " + std::to_string(options.max_file_bytes) + " bytes"));
  Tracker tracker;
  json doc;
  try {
    doc = json::parse(text.begin(), text.end(), std::ref(tracker));
  } catch (const json::parse_error& e) {
    // A duplicate key or the depth bound came earlier in the text than the syntax error.
    if (tracker.problem_)
      return std::unexpected(error(file, tracker.problem_->pointer, tracker.problem_->what));
    return std::unexpected(
        error(file, tracker.pointer(),
              "not valid JSON at " + where(text, e.byte) + ": " + parser_reason(e.what())));
  } catch (const json::exception& e) {
    return std::unexpected(error(file, tracker.pointer(), "not valid JSON: " + parser_reason(e.what())));
  }
  if (tracker.problem_)
    return std::unexpected(error(file, tracker.problem_->pointer, tracker.problem_->what));
  try {
    Validator v(doc, std::string(file), options);
    return v.run();
  } catch (const Invalid& bad) {
    return std::unexpected(error(file, bad.pointer, bad.what));
  } catch (const json::exception& e) {  // not expected: every access is type-checked first
    return std::unexpected(error(file, "", std::string("internal validation error: ") + e.what()));
  }
}

std::expected<Scenario, ScenarioError> load_scenario(const std::string& path, ScenarioOptions options) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below anyway).
  auto opened = os::open_read(path, /*nonblock=*/true);
  if (!opened) return std::unexpected(error(path, "", "cannot open: " + errno_name(opened.error().value())));
  const OwnedFd fd = std::move(*opened);
  auto file_size = os::regular_file_size(fd.get());
  if (!file_size && file_size.error() == os_error(EINVAL))
    return std::unexpected(error(path, "", "not a regular file"));
  if (!file_size) return std::unexpected(error(path, "", "cannot stat: " + errno_name(file_size.error().value())));
  const std::uint64_t size = *file_size;
  if (size > options.max_file_bytes)
    return std::unexpected(error(path, "",
                                 "file is " + std::to_string(size) + " bytes, more than the limit of " +
                                     std::to_string(options.max_file_bytes)));
  std::string text(static_cast<std::size_t>(size), '\0');
  // A file that shrank while reading: parse what is there (the parser says if it is cut).
  auto got = os::read_full(fd.get(), std::span<char>(text.data(), text.size()));
  if (!got) return std::unexpected(error(path, "", "read failed: " + errno_name(got.error().value())));
  const std::size_t got_bytes = *got;
  text.resize(got_bytes);
  return parse_scenario(text, path, options);
}

// ---------------------------------------------------------------------------------------
// The runner
// ---------------------------------------------------------------------------------------

namespace {

std::string generated_unix_path() {
  static std::atomic<std::uint64_t> seq{0};
  std::string dir = "/tmp";
  // A per-user 0700 directory when there is one (getenv: no other thread sets variables here).
  if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && x[0] == '/' && std::string_view(x).size() < 60)
    dir = x;
  return dir + "/readyscope-scn-" + std::to_string(::getpid()) + "-" + std::to_string(seq.fetch_add(1)) +
         ".sock";
}

std::string describe_action(const Record& r) {
  std::string s(to_string(static_cast<Op>(r.op)));
  s += ' ';
  s += to_string(r.outcome);
  if (r.outcome == Outcome::error) s += " " + errno_name(r.err);
  if (r.outcome == Outcome::ok || r.value) s += " n=" + std::to_string(r.value);
  return s;
}

std::string describe_expected(const ScenarioExpectation& x) {
  std::string s(to_string(x.op));
  s += ' ';
  s += to_string(x.result);
  if (x.err) s += " " + errno_name(x.err);
  if (x.n) s += " n=" + std::to_string(*x.n);
  if (x.n_min) s += " n>=" + std::to_string(*x.n_min);
  if (x.n_max) s += " n<=" + std::to_string(*x.n_max);
  return s;
}

/// The warnings a window saw, for a failed check: "no warning", "2: payload_truncated".
template <class Seen>
std::string warnings_text(const Seen& s) {
  if (s.warning_count == 0) return "no warning";
  std::string kinds;
  for (const WarningKind w : kWarningKinds)
    if ((s.warnings >> static_cast<unsigned>(w)) & 1) kinds += (kinds.empty() ? "" : ", ") + std::string(to_string(w));
  return std::to_string(s.warning_count) + ": " + kinds;
}

bool matches(const ScenarioExpectation& x, const Record& r) {
  if (r.outcome != x.result) return false;
  if (x.err && r.err != x.err) return false;
  if (x.n && r.value != *x.n) return false;
  if (x.n_min && r.value < *x.n_min) return false;
  if (x.n_max && r.value > *x.n_max) return false;
  return true;
}

}  // namespace

ScenarioRunner::ScenarioRunner(const Scenario& scenario, Engine& engine)
    : scenario_(scenario), engine_(engine) {}

ScenarioRunner::~ScenarioRunner() {
  for (const auto& p : owned_paths_) (void)os::remove_file(p);
}

std::optional<Token> ScenarioRunner::token_of(std::string_view source_id) const {
  auto it = tokens_.find(std::string(source_id));
  if (it == tokens_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> ScenarioRunner::address_of(const std::string& id) const {
  auto t = token_of(id);
  if (!t) return std::nullopt;
  auto it = locals_.find(t->value);
  if (it == locals_.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

std::uint64_t ScenarioRunner::submit(Command c, Token close_token) {
  if (submit_failed_) return 0;
  auto t = engine_.submit(std::move(c));
  if (!t) {
    submit_failed_ = true;
    return 0;
  }
  pending_.push_back(Pending{t->id, close_token});
  polls_after_ = 0;
  syncs_sent_for_ = -1;
  return t->id;
}

std::vector<std::uint64_t> ScenarioRunner::submit_all(std::vector<Command> cs,
                                                      const std::vector<Token>& close_tokens) {
  if (submit_failed_) return {};
  auto t = engine_.submit_batch(std::move(cs));
  if (!t) {
    submit_failed_ = true;
    return {};
  }
  std::vector<std::uint64_t> ids;
  for (std::size_t i = 0; i < t->size(); ++i) {
    pending_.push_back(Pending{(*t)[i].id, i < close_tokens.size() ? close_tokens[i] : Token{}});
    ids.push_back((*t)[i].id);
  }
  polls_after_ = 0;
  syncs_sent_for_ = -1;
  return ids;
}

std::optional<ReactionSpec> ScenarioRunner::resolve_reaction(ReactionSpec r, const std::string& also_close_id) const {
  if (also_close_id.empty()) return r;
  auto t = token_of(also_close_id);
  if (!t) return std::nullopt;
  r.also_close = *t;
  return r;
}

bool ScenarioRunner::resolve_target(const ScenarioSource& s, std::optional<net::SocketAddr>& addr) {
  if (s.target.empty()) return true;  // a literal address, or none
  auto text = address_of(s.target);
  addr = text ? net::SocketAddr::parse(*text) : std::nullopt;
  if (addr) return true;
  create_error_ = "\"" + s.id + "\": \"" + s.target + "\" has no address to connect to";
  return false;
}

bool ScenarioRunner::submit_create(const ScenarioSource& s) {
  using K = ScenarioSourceKind;
  SourceOptions options = s.options;
  if (auto r = resolve_reaction(options.reaction, s.also_close)) {
    options.reaction = *r;
  } else {
    create_error_ = "\"" + s.id + "\": its also_close \"" + s.also_close + "\" has no source";
    return false;
  }
  Command c;
  switch (s.kind) {
    case K::tcp_listener:
      c = cmd::TcpListen{*s.addr, options, s.allow_remote};
      break;
    case K::udp: {
      std::optional<net::SocketAddr> peer = s.peer;
      if (!resolve_target(s, peer)) return false;
      c = cmd::UdpBind{*s.addr, options, s.allow_remote || s.peer.has_value(), peer};
      break;
    }
    case K::tcp_stream: {
      std::optional<net::SocketAddr> a = s.addr;
      if (!resolve_target(s, a)) return false;
      c = cmd::TcpConnect{*a, options};
      break;
    }
    case K::unix_listener: {
      std::string path = s.path;
      if (path.empty()) path = generated_unix_path();
      paths_[s.id] = path;
      c = cmd::UnixListen{path, options};
      break;
    }
    case K::unix_stream: {
      std::string path = s.path;
      if (!s.target.empty()) path = paths_[s.target];
      c = cmd::UnixConnect{path, options};
      break;
    }
    case K::unix_datagram:
      c = cmd::UnixDatagramBind{s.path, options};
      break;
    case K::socketpair:
      c = cmd::SocketPair{options};
      break;
    case K::pipe:
      c = cmd::Pipe{options};
      break;
    case K::eventfd:
      c = cmd::EventFdCreate{s.initial, s.semaphore, options};
      break;
    case K::timerfd:
      c = cmd::TimerFdCreate{options};
      break;
    case K::feed:
      c = cmd::Feed{s.chunk, std::chrono::duration_cast<std::chrono::nanoseconds>(s.feed_interval), options};
      break;
  }
  if (submit_failed_) return false;
  auto t = engine_.submit(std::move(c));
  if (!t) {
    submit_failed_ = true;
    create_error_ =
        "\"" + s.id + "\": the engine refused the command (" + errno_name(t.error().value()) + ")";
    return false;
  }
  pending_.push_back(Pending{t->id, Token{}});
  polls_after_ = 0;
  syncs_sent_for_ = -1;
  create_id_ = t->id;
  create_answers_ = 0;
  create_tokens_.clear();
  create_tokens_.push_back(t->token);
  // A generated path becomes ours to unlink only once the bind succeeded: a failed bind
  // (the name exists) must not remove somebody else's socket.
  if (s.kind == K::unix_listener && s.path.empty()) unbound_paths_[t->token.value] = paths_[s.id];
  if (s.kind == K::socketpair || s.kind == K::pipe) {
    create_tokens_.push_back(t->token2);
    tokens_[s.ends[0]] = t->token;
    tokens_[s.ends[1]] = t->token2;
  } else {
    tokens_[s.id] = t->token;
  }
  return true;
}

void ScenarioRunner::observe(std::span<const Record> records) {
  for (const Record& r : records) {
    // Answers to commands.
    const bool answers = r.kind == RecordKind::action || r.kind == RecordKind::source_added ||
                         r.kind == RecordKind::source_changed || r.kind == RecordKind::note;
    if (answers && r.value2 != 0) {
      std::erase_if(pending_, [&](const Pending& p) { return p.id == r.value2; });
      if (r.value2 == create_id_) {
        if (r.kind == RecordKind::source_added) {
          ++create_answers_;
        } else if (r.kind == RecordKind::action && r.outcome == Outcome::error && !create_error_) {
          std::string id;
          for (const auto& [name, tok] : tokens_)
            if (tok.value == r.token) id = name;
          create_error_ = "\"" + id +
                          "\" could not be created: " + std::string(to_string(static_cast<Op>(r.op))) +
                          " failed with " + errno_name(r.err);
        }
      }
      if (r.kind == RecordKind::action && r.outcome == Outcome::error && step_error_.empty() &&
          std::find(sourceless_ids_.begin(), sourceless_ids_.end(), r.value2) != sourceless_ids_.end())
        step_error_ = std::string(to_string(static_cast<Op>(r.op))) + " failed with " + errno_name(r.err);
      if (r.value2 == accept_id_ && r.kind == RecordKind::action &&
          r.op == static_cast<std::uint8_t>(Op::accept) && r.outcome == Outcome::ok)
        tokens_[accept_as_] = Token(static_cast<std::size_t>(r.value));
    }
    if (r.kind == RecordKind::source_removed)
      std::erase_if(pending_, [&](const Pending& p) {
        return p.close_token.value != 0 && p.close_token.value == r.token;
      });
    if (r.kind == RecordKind::source_added) {
      if (auto info = engine_.source_info(Token(static_cast<std::size_t>(r.token))))
        locals_[r.token] = info->local;
      if (auto p = unbound_paths_.find(r.token); p != unbound_paths_.end()) {
        owned_paths_.push_back(std::move(p->second));
        unbound_paths_.erase(p);
      }
    }
    if (r.kind == RecordKind::poll_return && pending_.empty()) ++polls_after_;

    // What the checks look at.
    switch (r.kind) {
      case RecordKind::readiness: {
        Seen& s = window_[r.token];
        s.combos |= std::uint64_t{1} << readiness_flags(r.bits);
        ++s.events;
        break;
      }
      case RecordKind::warning: {
        Seen& s = window_[r.token];
        if (r.op < 32) s.warnings |= std::uint32_t{1} << r.op;
        ++s.warning_count;
        break;
      }
      case RecordKind::action: {
        // Token 0: only the answers to this runner's own source-less commands.
        if (r.token == 0 &&
            std::find(sourceless_ids_.begin(), sourceless_ids_.end(), r.value2) == sourceless_ids_.end())
          break;
        window_[r.token].last_action[r.op] = r;
        if (phase_ == Phase::checks) {
          // "Passes as soon as it holds": a later action must not hide this one.
          const auto& exp = scenario_.steps[step_].expect;
          for (std::size_t i = 0; i < exp.size(); ++i) {
            const auto& x = exp[i];
            if (check_state_[i] != 0 || x.type != ScenarioExpectation::Type::action) continue;
            auto t = check_token(x);
            if (t && t->value == r.token && r.op == static_cast<std::uint8_t>(x.op) && matches(x, r))
              check_state_[i] = 1;
          }
        }
        break;
      }
      case RecordKind::source_removed:
        window_[r.token].removed = true;
        break;
      default:
        break;
    }
  }
}

void ScenarioRunner::abort_run(std::size_t index, std::string detail, bool setup) {
  StepOutcome o{index, StepOutcome::Status::failed, std::move(detail)};
  any_failed_ = true;
  if (setup) failed_to_start_ = true;
  phase_ = Phase::done;
  outcomes_.push_back(o);
  if (on_step) on_step(outcomes_.back());
}

void ScenarioRunner::finish_step(StepOutcome::Status status, std::string detail) {
  if (status == StepOutcome::Status::failed) any_failed_ = true;
  outcomes_.push_back(StepOutcome{step_, status, std::move(detail)});
  window_.clear();  // the next step's checks look at what happens from now on
  ++step_;
  phase_ = Phase::step_start;
  if (on_step) on_step(outcomes_.back());
}

namespace {

/// The engine command for one source of a step's op (`r`: the step's reaction with its
/// also_close resolved).
Command command_for(const ScenarioStep& st, Token t, const ReactionSpec& r) {
  using O = ScenarioOp;
  switch (st.op) {
    case O::set_interest:
      return cmd::SetInterest{t, st.interest};
    case O::set_mode:
      return cmd::SetTrigger{t, st.mode};
    case O::set_reaction:
      return cmd::SetReaction{t, r};
    case O::rearm:
      return cmd::Rearm{t};
    case O::read:
      return cmd::Read{t, st.n};
    case O::drain:
      return cmd::Drain{t};
    case O::write:
      return cmd::Write{t, st.data};
    case O::fill:
      return cmd::Fill{t};
    case O::shutdown_read:
      return cmd::ShutdownRead{t};
    case O::shutdown_write:
      return cmd::ShutdownWrite{t};
    case O::close:
      return cmd::Close{t};
    case O::accept:
      return cmd::Accept{t};
    case O::eventfd_write:
      return cmd::EventFdWrite{t, st.value};
    case O::eventfd_read:
      return cmd::EventFdRead{t};
    case O::timer_arm:
      return cmd::TimerArm{t, st.initial, st.interval};
    case O::timer_disarm:
      return cmd::TimerDisarm{t};
    case O::dup:
      return cmd::Dup{t};
    case O::close_fd:
      return cmd::CloseFd{t};
    case O::exhaust_fds:
      return cmd::ExhaustFds{st.headroom};
    case O::release_fds:
      return cmd::ReleaseFds{};
    case O::none:
    case O::create:
      break;
  }
  return cmd::Sync{};  // not reached: start_step handles none and create itself
}

/// How a step's outcome names what it did: "write a,b x3", "exhaust_fds", "step".
std::string step_what(const ScenarioStep& st) {
  if (st.op == ScenarioOp::none) return "step";
  std::string s(to_string(st.op));
  for (std::size_t i = 0; i < st.sources.size(); ++i) s += (i ? "," : " ") + st.sources[i];
  if (st.repeat > 1) s += " x" + std::to_string(st.repeat);
  return s;
}

}  // namespace

void ScenarioRunner::start_step() {
  const ScenarioStep& st = scenario_.steps[step_];
  step_error_.clear();
  // Every step submits at least one command: its answer anchors the barrier in the record
  // stream. A step with neither note nor op gets a marker naming it.
  if (!st.note.empty())
    submit(cmd::Note{st.note});
  else if (st.op == ScenarioOp::none)
    submit(cmd::Note{"step " + std::to_string(step_)});
  if (st.op == ScenarioOp::exhaust_fds || st.op == ScenarioOp::release_fds) {
    // No source: the answer carries token 0 and is known by its command id.
    for (const std::uint64_t id : submit_all({command_for(st, Token{0}, st.reaction)}, {}))
      sourceless_ids_.push_back(id);
  } else if (st.op != ScenarioOp::none && st.op != ScenarioOp::create) {
    std::vector<Token> tokens;
    for (const auto& id : st.sources) {
      auto tok = token_of(id);
      if (!tok) {
        abort_run(step_, "\"" + id + "\" has no source: the accept that was to name it did not succeed", false);
        return;
      }
      tokens.push_back(*tok);
    }
    const auto r = resolve_reaction(st.reaction, st.also_close);
    if (!r) {
      abort_run(step_, "also_close \"" + st.also_close + "\" has no source: the accept that was to name it did not succeed",
                false);
      return;
    }
    // Every source, `repeat` times each, in one batch: the poll thread runs them back to back.
    std::vector<Command> cs;
    std::vector<Token> closes;
    for (const Token t : tokens)
      for (std::uint32_t k = 0; k < st.repeat; ++k) {
        cs.push_back(command_for(st, t, *r));
        // A Close or CloseFd may also be answered by the source_removed of its token.
        closes.push_back(st.op == ScenarioOp::close || st.op == ScenarioOp::close_fd ? t : Token{});
      }
    const auto ids = submit_all(std::move(cs), closes);
    if (st.op == ScenarioOp::accept && !st.as.empty() && !ids.empty()) {
      accept_id_ = ids.front();
      accept_as_ = st.as;
    }
  } else if (st.op == ScenarioOp::create) {
    const auto it = std::find_if(scenario_.sources.begin(), scenario_.sources.end(),
                                 [&](const ScenarioSource& s) { return s.id == st.source; });
    create_error_.reset();
    if (!submit_create(*it)) {
      abort_run(step_, create_error_.value_or("could not create \"" + st.source + "\""), true);
      return;
    }
  }
  barrier_deadline_ = now_ + ScenarioLimits::barrier_limit;
  phase_ = Phase::barrier;
}

void ScenarioRunner::begin_checks(Clock::time_point now) {
  const auto& exp = scenario_.steps[step_].expect;
  checks_start_ = now;
  check_state_.assign(exp.size(), 0);
  check_detail_.assign(exp.size(), {});
  for (std::size_t i = 0; i < exp.size(); ++i) {
    const auto& x = exp[i];
    const bool no_warning = x.type == ScenarioExpectation::Type::no_warning;
    if (!no_warning &&
        (x.type != ScenarioExpectation::Type::readiness || (!x.not_seen && !x.not_seen_any)))
      continue;
    // not_seen and no_warning are judged here, once: the barrier proved the engine polled
    // after the commands.
    auto t = token_of(x.source);
    if (!t) continue;  // evaluate() reports it
    const auto it = window_.find(t->value);
    const Seen none{};
    const Seen& s = it == window_.end() ? none : it->second;
    if (no_warning) {
      const bool bad = x.warning_any ? s.warning_count != 0
                                     : ((s.warnings >> static_cast<unsigned>(x.warning)) & 1) != 0;
      if (bad) {
        check_state_[i] = -1;
        check_detail_[i] = x.source + ": expected no " +
                           (x.warning_any ? std::string("warning") : std::string(to_string(x.warning)) + " warning") +
                           ", got " + warnings_text(s);
      } else {
        check_state_[i] = 1;
      }
      continue;
    }
    std::uint8_t bad = 0;
    for (unsigned c = 0; c < 64; ++c)
      if ((s.combos >> c) & 1) bad |= static_cast<std::uint8_t>(c & x.not_seen);
    if (x.not_seen_any && s.events) {
      check_state_[i] = -1;
      check_detail_[i] = x.source + ": expected no readiness, got " + std::to_string(s.events) + " event(s)";
    } else if (bad) {
      check_state_[i] = -1;
      check_detail_[i] =
          x.source + ": expected " + flag_set_text(x.not_seen) + " not seen, got " + flag_set_text(bad);
    } else if (!x.seen) {
      check_state_[i] = 1;
    }
  }
}

std::optional<std::chrono::steady_clock::time_point> ScenarioRunner::advance(Clock::time_point now) {
  for (;;) {
    switch (phase_) {
      case Phase::done:
        return std::nullopt;

      case Phase::setup: {
        while (source_ < scenario_.sources.size() && scenario_.sources[source_].deferred) ++source_;
        if (source_ == scenario_.sources.size()) {
          phase_ = Phase::step_start;
          continue;
        }
        create_error_.reset();
        if (!submit_create(scenario_.sources[source_])) {
          abort_run(StepOutcome::kSetup, create_error_.value_or("could not create a source"), true);
          return std::nullopt;
        }
        barrier_deadline_ = now + ScenarioLimits::barrier_limit;
        phase_ = Phase::setup_wait;
        continue;
      }

      case Phase::setup_wait:
        if (create_error_) {
          abort_run(StepOutcome::kSetup, *create_error_, true);
          return std::nullopt;
        }
        if (create_answers_ >= create_tokens_.size()) {
          ++source_;
          phase_ = Phase::setup;
          continue;
        }
        if (now >= barrier_deadline_) {
          abort_run(StepOutcome::kSetup,
                    "\"" + scenario_.sources[source_].id +
                        "\": the engine did not answer the create within " +
                        std::to_string(ScenarioLimits::barrier_limit.count()) + " ms",
                    true);
          return std::nullopt;
        }
        return barrier_deadline_;

      case Phase::step_start:
        if (step_ >= scenario_.steps.size()) {
          phase_ = Phase::done;
          return std::nullopt;
        }
        if (step_ >= step_limit_) return std::nullopt;  // held: see set_step_limit
        wait_until_ = now + scenario_.steps[step_].wait;
        phase_ = Phase::step_wait;
        continue;

      case Phase::step_wait:
        if (now < wait_until_) return wait_until_;
        now_ = now;
        start_step();
        continue;

      case Phase::barrier:
        if (create_error_) {
          abort_run(step_, *create_error_, true);
          return std::nullopt;
        }
        if (submit_failed_) {
          abort_run(step_, "the engine refused a command (it is stopping)", false);
          return std::nullopt;
        }
        if (pending_.empty()) {
          if (polls_after_ >= 2) {
            begin_checks(now);
            phase_ = Phase::checks;
            continue;
          }
          if (syncs_sent_for_ != polls_after_) {
            syncs_sent_for_ = polls_after_;
            if (!engine_.submit(cmd::Sync{})) submit_failed_ = true;
          }
        }
        if (now >= barrier_deadline_) {
          abort_run(step_,
                    "the engine did not answer within " +
                        std::to_string(ScenarioLimits::barrier_limit.count()) +
                        " ms (records dropped? see the stats records)",
                    false);
          return std::nullopt;
        }
        return barrier_deadline_;

      case Phase::checks: {
        const auto& exp = scenario_.steps[step_].expect;
        std::optional<Clock::time_point> next;
        for (std::size_t i = 0; i < exp.size(); ++i) {
          if (check_state_[i] != 0) continue;
          const auto& x = exp[i];
          const bool last_chance = now >= checks_start_ + x.within;
          auto t = check_token(x);
          if (!t) {
            check_state_[i] = -1;
            check_detail_[i] = x.source + ": no such source at run time (its accept did not succeed)";
            continue;
          }
          const auto it = window_.find(t->value);
          const Seen none{};
          const Seen& s = it == window_.end() ? none : it->second;
          using T = ScenarioExpectation::Type;
          bool ok = false;
          std::string miss;
          if (x.type == T::readiness) {
            for (unsigned c = 0; c < 64 && !ok; ++c) ok = ((s.combos >> c) & 1) && (c & x.seen) == x.seen;
            if (!ok) {
              std::string got_flags;
              for (unsigned c = 0; c < 64; ++c)
                if ((s.combos >> c) & 1)
                  got_flags += (got_flags.empty() ? "" : ", ") + flag_set_text(static_cast<std::uint8_t>(c));
              miss =
                  x.source + ": expected an event with " + flag_set_text(x.seen) + " within " +
                  std::to_string(x.within.count()) + " ms, got " +
                  (s.events ? std::to_string(s.events) + " event(s): " + got_flags : std::string("no event"));
            }
          } else if (x.type == T::action) {
            const auto a = s.last_action.find(static_cast<std::uint8_t>(x.op));
            ok = a != s.last_action.end() && matches(x, a->second);
            if (!ok)
              miss = (x.source.empty() ? std::string(to_string(x.op)) : x.source) + ": expected " +
                     describe_expected(x) + ", got " +
                     (a == s.last_action.end()
                          ? "no " + std::string(to_string(x.op)) + " since the previous step"
                          : describe_action(a->second));
          } else if (x.type == T::warning) {
            ok = ((s.warnings >> static_cast<unsigned>(x.warning)) & 1) != 0;
            if (!ok)
              miss = x.source + ": expected a " + std::string(to_string(x.warning)) + " warning within " +
                     std::to_string(x.within.count()) + " ms, got " + warnings_text(s);
          } else {
            ok = s.removed;
            if (!ok)
              miss = x.source + ": expected it removed within " + std::to_string(x.within.count()) + " ms";
          }
          if (ok) {
            check_state_[i] = 1;
          } else if (last_chance) {
            check_state_[i] = -1;
            check_detail_[i] = miss;
          } else {
            const auto due = checks_start_ + x.within;
            next = next ? std::min(*next, due) : due;
          }
        }
        if (next) return next;
        const auto& st = scenario_.steps[step_];
        std::string detail = step_error_;  // a source-less op's error answer fails the step
        bool failed = !step_error_.empty();
        for (std::size_t i = 0; i < exp.size(); ++i) {
          if (check_state_[i] >= 0) continue;
          failed = true;
          detail += (detail.empty() ? "" : "; ") + check_detail_[i];
        }
        const std::string what = step_what(st);
        if (exp.empty() && !failed)
          finish_step(StepOutcome::Status::ran, what + ": done");
        else if (failed)
          finish_step(StepOutcome::Status::failed, what + ": " + detail);
        else
          finish_step(StepOutcome::Status::passed,
                      what + ": " + std::to_string(exp.size()) + " check(s) held");
        continue;
      }
    }
  }
}

}  // namespace ready::capture
