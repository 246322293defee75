// The scenario runner: creates a scenario's sources, submits each step's commands, waits
// for the barrier and judges the checks against the records it observes. Passive: its owner
// drives it (the contract: scenario.h).

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>

#include "linux/os.h"
#include "ready/capture/scenario.h"
#include "ready/error.h"

namespace ready::capture {

namespace {

std::string generated_unix_path() {
  static std::atomic<std::uint64_t> seq{0};
  std::string dir = "/tmp";
  // A per-user 0700 directory when there is one (getenv: no other thread sets variables here).
  if (const char* x = std::getenv("XDG_RUNTIME_DIR"); x && x[0] == '/' && std::string_view(x).size() < 60)
    dir = x;
  return dir + "/readyscope-scn-" + std::to_string(os::process_id()) + "-" + std::to_string(seq.fetch_add(1)) +
         ".sock";
}

// A flag set as a scenario message names it ("readable|read_closed", or "(no flag)").
std::string flag_set_text(std::uint8_t f) {
  const std::string s = flags_text(f);
  return s.empty() ? std::string("(no flag)") : s;
}

std::string describe_action(const Record& r) {
  std::string s(name_of(r.action_op()));
  s += ' ';
  s += name_of(r.outcome);
  if (r.outcome == Outcome::error) s += " " + errno_name(r.err);
  if (r.outcome == Outcome::ok || r.n()) s += " n=" + std::to_string(r.n());
  return s;
}

std::string describe_expected(const ScenarioExpectation& x) {
  std::string s(name_of(x.op));
  s += ' ';
  s += name_of(x.result);
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
  for (const WarningKind w : all_values<WarningKind>())
    if ((s.warnings >> static_cast<unsigned>(w)) & 1) kinds += (kinds.empty() ? "" : ", ") + std::string(name_of(w));
  return std::to_string(s.warning_count) + ": " + kinds;
}

/// An interest as a check names it: "readable|writable", or "paused" for none.
std::string interest_text(std::uint8_t bits) {
  if (bits == 0) return "paused";
  std::string s;
  for (const auto& [flag, name] : {std::pair{Interest::READABLE.bits(), "readable"},
                                   std::pair{Interest::WRITABLE.bits(), "writable"},
                                   std::pair{Interest::PRIORITY.bits(), "priority"}})
    if (bits & flag) {
      // Appended piece by piece: GCC 12 at -O2 warns (-Wrestrict, falsely) on "x" + std::string.
      if (!s.empty()) s += '|';
      s += name;
    }
  return s.empty() ? std::to_string(bits) : s;
}

bool matches(const ScenarioExpectation& x, const Record& r) {
  if (r.outcome != x.result) return false;
  if (x.err && r.err != x.err) return false;
  if (x.n && r.n() != *x.n) return false;
  if (x.n_min && r.n() < *x.n_min) return false;
  if (x.n_max && r.n() > *x.n_max) return false;
  return true;
}

}  // namespace

/// The runner's state and its steps (the contract: scenario.h).
struct ScenarioRunner::Impl {
  using Clock = std::chrono::steady_clock;

  Impl(const Scenario& scenario, Engine& engine, std::function<void(const StepOutcome&)>* on_step_)
      : scenario_(scenario), engine_(engine), on_step(on_step_) {}
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void observe(std::span<const Record> records);
  std::optional<Clock::time_point> advance(Clock::time_point now);
  std::optional<Token> token_of(std::string_view source_id) const;

  enum class Phase : std::uint8_t { setup, setup_wait, step_start, step_wait, barrier, checks, done };

  // What the records since the window opened said about one token.
  struct Seen {
    std::uint64_t combos = 0;  // bit (1 << flags) for each distinct flag set seen
    std::uint64_t events = 0;
    std::uint32_t warnings = 0;  // bit (1 << WarningKind) for each kind recorded
    std::uint64_t warning_count = 0;
    bool removed = false;
    std::map<Op, Record> last_action;
    std::uint32_t interests = 0;  // bit (1 << interest bits) for each registration held; bit 0: paused
  };
  struct Pending {
    std::uint64_t id = 0;
    Token close_token{};  // a Close is also answered by source_removed of this token
  };

  /// Submits a command whose answer the barrier waits for; its id, or 0 if refused.
  std::uint64_t submit(Command c, Token close_token = Token{});
  /// Submits commands with one Engine::submit_batch; `close_tokens[i]` as for submit. The
  /// ids, empty if refused.
  std::vector<std::uint64_t> submit_all(std::vector<Command> cs, const std::vector<Token>& close_tokens);
  /// The ReactionSpec with `also_close_id` resolved to its token (nullopt: it has none).
  std::optional<ReactionSpec> resolve_reaction(ReactionSpec r, const std::string& also_close_id) const;
  bool submit_create(const ScenarioSource& s);
  /// The real address of the source s connects to by id (into `addr`); false, with
  /// create_error_ set, when that source has none. True without change for a literal.
  bool resolve_target(const ScenarioSource& s, std::optional<net::SocketAddr>& addr);
  void start_step();
  void begin_checks(Clock::time_point now);
  void finish_step(StepOutcome::Status status, std::string detail);
  void abort_run(std::size_t index, std::string detail, bool setup);
  std::optional<std::string> address_of(const std::string& id) const;
  /// A relay leg's name ("<relay id>.client" / ".upstream"): it has a token only once the
  /// relay's first connection came.
  [[nodiscard]] bool is_leg(const std::string& id) const {
    for (const ScenarioSource& s : scenario_.sources)
      if (s.kind == ScenarioSourceKind::relay && (id == s.id + ".client" || id == s.id + ".upstream")) return true;
    return false;
  }
  /// The token a check looks at: its source's, or 0 for a source-less action check
  /// (exhaust_fds / release_fds: the runner keeps only its own commands' answers there).
  [[nodiscard]] std::optional<Token> check_token(const ScenarioExpectation& x) const {
    return x.source.empty() ? std::optional<Token>(Token{0}) : token_of(x.source);
  }

  Scenario scenario_;
  Engine& engine_;
  Phase phase_ = Phase::setup;
  std::size_t source_ = 0;  // setup: the source being created
  std::size_t step_ = 0;
  std::size_t step_limit_ = static_cast<std::size_t>(-1);
  bool failed_to_start_ = false;
  bool any_failed_ = false;
  std::vector<StepOutcome> outcomes_;

  std::unordered_map<std::string, Token> tokens_;                 // source id / end name -> token
  std::unordered_map<std::uint64_t, std::string> locals_;         // token -> local address at creation
  std::vector<std::string> owned_paths_;                          // generated unix paths to unlink
  std::unordered_map<std::uint64_t, std::string> unbound_paths_;  // token -> generated path, bind pending
  std::unordered_map<std::string, std::string> paths_;            // unix_listener id -> its path
  std::unordered_map<std::uint64_t, std::string> relays_;         // relay listener token -> relay id
  std::unordered_map<std::uint64_t, std::string> client_legs_;    // its first client leg's token -> relay id
  std::unordered_map<std::uint64_t, std::uint8_t> interest_now_;  // live token -> interest bits (0: paused)

  std::vector<Pending> pending_;  // commands not answered yet
  std::uint64_t create_id_ = 0;   // setup / create step: the create command
  std::vector<Token> create_tokens_;
  std::size_t create_answers_ = 0;
  std::optional<std::string> create_error_;
  std::uint64_t accept_id_ = 0;  // an accept with `as`
  std::string accept_as_;
  int polls_after_ = 0;      // poll_return records since every command was answered
  int syncs_sent_for_ = -1;  // the polls_after_ value a Sync was sent for
  bool submit_failed_ = false;
  std::vector<std::uint64_t> sourceless_ids_;  // exhaust_fds / release_fds of the running step
  std::string step_error_;                     // an error answer to one of them

  Clock::time_point now_{};  // the `now` of the advance() running
  Clock::time_point wait_until_{};
  Clock::time_point barrier_deadline_{};
  Clock::time_point checks_start_{};
  std::vector<int> check_state_;  // per expectation of the step: 0 pending, 1 passed, -1 failed
  std::vector<std::string> check_detail_;

  std::unordered_map<std::uint64_t, Seen> window_;  // by token
  std::function<void(const StepOutcome&)>* on_step;  // the runner's (it does not move)

  // Queue checks: each token's last queue record (readable, unsent), and per expectation of
  // the step whose window is open whether its values held at some moment in it.
  struct Queues {
    std::uint64_t readable = 0, unsent = 0;
  };
  std::unordered_map<std::uint64_t, Queues> queue_now_;
  std::vector<char> queue_hit_;
  std::size_t queue_hit_step_ = static_cast<std::size_t>(-1);
  /// queue_hit_ for step_ (reset, and judged against queue_now_, when the window moved on).
  std::vector<char>& queue_hits();
  /// Marks the open step's queue checks on token `t` that its values `q` satisfy.
  void queue_judge(std::uint64_t t, const Queues& q);
};

namespace {

bool queue_holds(const ScenarioExpectation& x, std::uint64_t readable, std::uint64_t unsent) {
  return (!x.readable || readable == *x.readable) && (!x.readable_min || readable >= *x.readable_min) &&
         (!x.unsent || unsent == *x.unsent) && (!x.unsent_min || unsent >= *x.unsent_min);
}

std::string queue_expected_text(const ScenarioExpectation& x) {
  std::string s;
  const auto add = [&](const char* name, const std::optional<std::uint64_t>& v, const char* op) {
    if (!v) return;
    if (!s.empty()) s += ", ";
    s += name;
    s += op;
    s += std::to_string(*v);
  };
  add("readable", x.readable, " ");
  add("readable", x.readable_min, " >= ");
  add("unsent", x.unsent, " ");
  add("unsent", x.unsent_min, " >= ");
  return s;
}

}  // namespace

std::vector<char>& ScenarioRunner::Impl::queue_hits() {
  if (queue_hit_step_ == step_) return queue_hit_;
  queue_hit_step_ = step_;
  queue_hit_.assign(step_ < scenario_.steps.size() ? scenario_.steps[step_].expect.size() : 0, 0);
  for (const auto& [token, q] : queue_now_) queue_judge(token, q);
  // A token with no queue record yet has 0 and 0.
  if (step_ < scenario_.steps.size()) {
    const auto& exp = scenario_.steps[step_].expect;
    for (std::size_t i = 0; i < exp.size(); ++i) {
      if (exp[i].type != ScenarioExpectation::Type::queue) continue;
      const auto t = check_token(exp[i]);
      if (t && !queue_now_.contains(t->value) && queue_holds(exp[i], 0, 0)) queue_hit_[i] = 1;
    }
  }
  return queue_hit_;
}

void ScenarioRunner::Impl::queue_judge(std::uint64_t t, const Queues& q) {
  if (step_ >= scenario_.steps.size()) return;
  const auto& exp = scenario_.steps[step_].expect;
  for (std::size_t i = 0; i < exp.size() && i < queue_hit_.size(); ++i) {
    const auto& x = exp[i];
    if (x.type != ScenarioExpectation::Type::queue || queue_hit_[i]) continue;
    const auto tok = check_token(x);
    if (tok && tok->value == t && queue_holds(x, q.readable, q.unsent)) queue_hit_[i] = 1;
  }
}

// ---- the public contract, forwarded ----

ScenarioRunner::ScenarioRunner(const Scenario& scenario, Engine& engine)
    : impl_(std::make_unique<Impl>(scenario, engine, &on_step)) {}
ScenarioRunner::~ScenarioRunner() = default;

void ScenarioRunner::observe(std::span<const Record> records) { impl_->observe(records); }
std::optional<std::chrono::steady_clock::time_point> ScenarioRunner::advance(
    std::chrono::steady_clock::time_point now) {
  return impl_->advance(now);
}
bool ScenarioRunner::finished() const noexcept { return impl_->phase_ == Impl::Phase::done; }
bool ScenarioRunner::passed() const noexcept { return finished() && !impl_->failed_to_start_ && !impl_->any_failed_; }
bool ScenarioRunner::failed_to_start() const noexcept { return impl_->failed_to_start_; }
const std::vector<StepOutcome>& ScenarioRunner::outcomes() const noexcept { return impl_->outcomes_; }
std::optional<Token> ScenarioRunner::token_of(std::string_view source_id) const { return impl_->token_of(source_id); }
const Scenario& ScenarioRunner::scenario() const noexcept { return impl_->scenario_; }
std::size_t ScenarioRunner::current_step() const noexcept { return impl_->step_; }
void ScenarioRunner::set_step_limit(std::size_t limit) noexcept { impl_->step_limit_ = limit; }
bool ScenarioRunner::held() const noexcept {
  const Impl& s = *impl_;
  return s.phase_ == Impl::Phase::step_start && s.step_ < s.scenario_.steps.size() && s.step_ >= s.step_limit_;
}

ScenarioRunner::Impl::~Impl() {
  for (const auto& p : owned_paths_) (void)os::remove_file(p);
}

std::optional<Token> ScenarioRunner::Impl::token_of(std::string_view source_id) const {
  auto it = tokens_.find(std::string(source_id));
  if (it == tokens_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> ScenarioRunner::Impl::address_of(const std::string& id) const {
  auto t = token_of(id);
  if (!t) return std::nullopt;
  auto it = locals_.find(t->value);
  if (it == locals_.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

std::uint64_t ScenarioRunner::Impl::submit(Command c, Token close_token) {
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

std::vector<std::uint64_t> ScenarioRunner::Impl::submit_all(std::vector<Command> cs,
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

std::optional<ReactionSpec> ScenarioRunner::Impl::resolve_reaction(ReactionSpec r, const std::string& also_close_id) const {
  if (also_close_id.empty()) return r;
  auto t = token_of(also_close_id);
  if (!t) return std::nullopt;
  r.also_close = *t;
  return r;
}

bool ScenarioRunner::Impl::resolve_target(const ScenarioSource& s, std::optional<net::SocketAddr>& addr) {
  if (s.target.empty()) return true;  // a literal address, or none
  auto text = address_of(s.target);
  addr = text ? net::SocketAddr::parse(*text) : std::nullopt;
  if (addr) return true;
  create_error_ = "\"" + s.id + "\": \"" + s.target + "\" has no address to connect to";
  return false;
}

bool ScenarioRunner::Impl::submit_create(const ScenarioSource& s) {
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
    case K::relay: {
      cmd::Relay relay;
      relay.listen.tcp = *s.addr;
      relay.trigger = options.trigger;
      relay.allow_remote = s.allow_remote;
      if (const auto p = paths_.find(s.target); p != paths_.end()) {
        relay.upstream.path = p->second;  // a unix_listener of the scenario
      } else {
        std::optional<net::SocketAddr> up;
        if (!resolve_target(s, up)) return false;
        relay.upstream.tcp = up;
      }
      c = std::move(relay);
      break;
    }
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
  if (s.kind == K::relay) relays_[t->token.value] = s.id;
  return true;
}

void ScenarioRunner::Impl::observe(std::span<const Record> records) {
  for (const Record& r : records) {
    // Answers to commands.
    const bool answers = r.kind == RecordKind::action || r.kind == RecordKind::source_added ||
                         r.kind == RecordKind::source_changed || r.kind == RecordKind::note;
    if (answers && r.command() != 0) {
      std::erase_if(pending_, [&](const Pending& p) { return p.id == r.command(); });
      if (r.command() == create_id_) {
        if (r.kind == RecordKind::source_added) {
          ++create_answers_;
        } else if (r.kind == RecordKind::action && r.outcome == Outcome::error && !create_error_) {
          std::string id;
          for (const auto& [name, tok] : tokens_)
            if (tok.value == r.token) id = name;
          create_error_ = "\"" + id +
                          "\" could not be created: " + std::string(name_of(r.action_op())) +
                          " failed with " + errno_name(r.err);
        }
      }
      if (r.kind == RecordKind::action && r.outcome == Outcome::error && step_error_.empty() &&
          std::find(sourceless_ids_.begin(), sourceless_ids_.end(), r.command()) != sourceless_ids_.end())
        step_error_ = std::string(name_of(r.action_op())) + " failed with " + errno_name(r.err);
      // An accept's n is the accepted stream's token.
      if (r.command() == accept_id_ && r.kind == RecordKind::action && r.action_op() == Op::accept &&
          r.outcome == Outcome::ok)
        tokens_[accept_as_] = Token(static_cast<std::size_t>(r.n()));
    }
    if (r.kind == RecordKind::source_removed)
      std::erase_if(pending_, [&](const Pending& p) {
        return p.close_token.value != 0 && p.close_token.value == r.token;
      });
    if (r.kind == RecordKind::source_added) {
      // A relay's first connection names its legs: the client leg's parent is the relay's
      // listener, the upstream leg's is the client leg.
      if (const auto rl = relays_.find(r.related()); rl != relays_.end()) {
        if (tokens_.emplace(rl->second + ".client", Token(static_cast<std::size_t>(r.token))).second)
          client_legs_[r.token] = rl->second;
      } else if (const auto cl = client_legs_.find(r.related()); cl != client_legs_.end()) {
        tokens_.emplace(cl->second + ".upstream", Token(static_cast<std::size_t>(r.token)));
      }
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
      case RecordKind::queue: {
        (void)queue_hits();  // the window's opening values first
        Queues& q = queue_now_[r.token];
        q = Queues{r.readable(), r.unsent()};
        queue_judge(r.token, q);
        break;
      }
      case RecordKind::readiness: {
        Seen& s = window_[r.token];
        s.combos |= std::uint64_t{1} << readiness_flags(r.bits);
        ++s.events;
        break;
      }
      case RecordKind::warning: {
        Seen& s = window_[r.token];
        if (r.op < 32) s.warnings |= std::uint32_t{1} << r.op;  // r.warning_kind(), as a bit
        ++s.warning_count;
        break;
      }
      case RecordKind::action: {
        // Token 0: only the answers to this runner's own source-less commands.
        if (r.token == 0 &&
            std::find(sourceless_ids_.begin(), sourceless_ids_.end(), r.command()) == sourceless_ids_.end())
          break;
        window_[r.token].last_action[r.action_op()] = r;
        if (phase_ == Phase::checks) {
          // "Passes as soon as it holds": a later action must not hide this one.
          const auto& exp = scenario_.steps[step_].expect;
          for (std::size_t i = 0; i < exp.size(); ++i) {
            const auto& x = exp[i];
            if (check_state_[i] != 0 || x.type != ScenarioExpectation::Type::action) continue;
            auto t = check_token(x);
            if (t && t->value == r.token && r.action_op() == x.op && matches(x, r))
              check_state_[i] = 1;
          }
        }
        break;
      }
      case RecordKind::source_removed:
        window_[r.token].removed = true;
        interest_now_.erase(r.token);
        break;
      case RecordKind::source_added:
      case RecordKind::source_changed: {
        const SourceBits b = SourceBits::unpack(r.bits);
        const std::uint8_t in = b.paused ? 0 : b.interest.bits();
        interest_now_[r.token] = in;
        window_[r.token].interests |= std::uint32_t{1} << (in & 31u);
        break;
      }
      default:
        break;
    }
  }
}

void ScenarioRunner::Impl::abort_run(std::size_t index, std::string detail, bool setup) {
  StepOutcome o{index, StepOutcome::Status::failed, std::move(detail)};
  any_failed_ = true;
  if (setup) failed_to_start_ = true;
  phase_ = Phase::done;
  outcomes_.push_back(o);
  if (*on_step) (*on_step)(outcomes_.back());
}

void ScenarioRunner::Impl::finish_step(StepOutcome::Status status, std::string detail) {
  if (status == StepOutcome::Status::failed) any_failed_ = true;
  outcomes_.push_back(StepOutcome{step_, status, std::move(detail)});
  window_.clear();  // the next step's checks look at what happens from now on
  // ... and at each registration as it stands now (an interest check holds for it, too)
  for (const auto& [token, in] : interest_now_) window_[token].interests |= std::uint32_t{1} << (in & 31u);
  ++step_;
  phase_ = Phase::step_start;
  if (*on_step) (*on_step)(outcomes_.back());
}

namespace {

/// The step's command for the source `t` (token 0: a source-less op), with the reaction's
/// also_close resolved (`r`).
Command command_for(const ScenarioStep& st, Token t, const std::optional<ReactionSpec>& r) {
  Command c = st.command;
  std::visit(
      [&](auto& x) {
        if constexpr (requires { x.token; }) x.token = t;
        if constexpr (requires { x.reaction; })
          if (r) x.reaction = *r;
      },
      c);
  return c;
}

/// How a step's outcome names what it did: "write a,b x3", "exhaust_fds", "step".
std::string step_what(const ScenarioStep& st) {
  if (st.op == ScenarioOp::none) return "step";
  std::string s(name_of(st.op));
  for (std::size_t i = 0; i < st.sources.size(); ++i) s += (i ? "," : " ") + st.sources[i];
  if (st.repeat > 1) s += " x" + std::to_string(st.repeat);
  return s;
}

}  // namespace

void ScenarioRunner::Impl::start_step() {
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
    for (const std::uint64_t id : submit_all({command_for(st, Token{0}, std::nullopt)}, {}))
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
    std::optional<ReactionSpec> r;
    if (const auto* set = std::get_if<cmd::SetReaction>(&st.command)) r = resolve_reaction(set->reaction, st.also_close);
    if (!r && !st.also_close.empty()) {
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

void ScenarioRunner::Impl::begin_checks(Clock::time_point now) {
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
                           (x.warning_any ? std::string("warning") : std::string(name_of(x.warning)) + " warning") +
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

std::optional<ScenarioRunner::Impl::Clock::time_point> ScenarioRunner::Impl::advance(Clock::time_point now) {
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
          if (!t && is_leg(x.source) && !last_chance) {  // no connection relayed yet: wait for one
            const auto due = checks_start_ + x.within;
            next = next ? std::min(*next, due) : due;
            continue;
          }
          if (!t) {
            check_state_[i] = -1;
            check_detail_[i] = x.source + (is_leg(x.source) ? ": no connection relayed within " +
                                                                  std::to_string(x.within.count()) + " ms"
                                                            : ": no such source at run time (its accept did not succeed)");
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
            const auto a = s.last_action.find(x.op);
            ok = a != s.last_action.end() && matches(x, a->second);
            if (!ok)
              miss = (x.source.empty() ? std::string(name_of(x.op)) : x.source) + ": expected " +
                     describe_expected(x) + ", got " +
                     (a == s.last_action.end()
                          ? "no " + std::string(name_of(x.op)) + " since the previous step"
                          : describe_action(a->second));
          } else if (x.type == T::interest) {
            const std::uint8_t want = x.paused ? 0 : x.interest.bits();
            ok = ((s.interests >> (want & 31u)) & 1) != 0;
            if (!ok) {
              std::string held;
              for (unsigned b = 0; b < 32; ++b)
                if ((s.interests >> b) & 1)
                  held += (held.empty() ? "" : ", ") + interest_text(static_cast<std::uint8_t>(b));
              miss = x.source + ": expected interest " + interest_text(want) + " within " +
                     std::to_string(x.within.count()) + " ms, got " + (held.empty() ? std::string("none recorded") : held);
            }
          } else if (x.type == T::queue) {
            ok = queue_hits()[i] != 0;
            if (!ok) {
              const auto q = queue_now_.find(t->value);
              miss = x.source + ": expected queue " + queue_expected_text(x) + " within " +
                     std::to_string(x.within.count()) + " ms, got " +
                     (q == queue_now_.end() ? std::string("no queue record (sampling off?)")
                                            : "readable " + std::to_string(q->second.readable) + ", unsent " +
                                                  std::to_string(q->second.unsent));
            }
          } else if (x.type == T::warning) {
            ok = ((s.warnings >> static_cast<unsigned>(x.warning)) & 1) != 0;
            if (!ok)
              miss = x.source + ": expected a " + std::string(name_of(x.warning)) + " warning within " +
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
