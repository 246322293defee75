// Scenario files: reading the text (bounded), parsing it as JSON with a callback that tracks
// the JSON pointer, rejects duplicate keys and bounds the depth, then validation
// (scenario_validate.cpp).
#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <utility>

#include "capture/scenario_internal.h"
#include "linux/os.h"
#include "ready/capture/scenario.h"
#include "ready/error.h"
#include "ready/owned_fd.h"

namespace ready::capture {

namespace {

using scenario::at;
using scenario::got;
using scenario::Invalid;
using scenario::json;

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

std::string_view to_string(ScenarioSourceKind k) noexcept { return name_of(k); }
std::string_view to_string(ScenarioOp o) noexcept { return name_of(o); }

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
    return scenario::validate(doc, std::string(file), options);
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

}  // namespace ready::capture
