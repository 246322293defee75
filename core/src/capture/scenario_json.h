// What the scenario parser's files share (private): the validation failure, JSON pointer
// building, and Obj, one JSON object being validated with typed getters that fail with the
// pointer of the offending value. Used by scenario_parse.cpp, scenario_validate.cpp and
// scenario_ops.cpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "capture/name_list.h"
#include "ready/capture/scenario.h"
#include "ready/enum_names.h"

namespace ready::capture::scenario {

using json = nlohmann::json;

using capture::join;

/// A validation failure; thrown inside the parser only and turned into a ScenarioError.
struct Invalid {
  std::string pointer;
  std::string what;
};

inline std::string escape_token(std::string_view key) {
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

inline std::string at(const std::string& ptr, std::string_view key) { return ptr + "/" + escape_token(key); }
inline std::string at(const std::string& ptr, std::size_t index) { return ptr + "/" + std::to_string(index); }

/// A value as the message shows it: short JSON text for scalars, the type for containers.
inline std::string got(const json& j) {
  if (j.is_object()) return "an object";
  if (j.is_array()) return "an array";
  std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 48) s = s.substr(0, 45) + "...";
  return s;
}

[[noreturn]] inline void fail(std::string ptr, std::string what) { throw Invalid{std::move(ptr), std::move(what)}; }

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
  /// A string that must be the wire name of a value of E (ready::parse_name).
  template <class E>
  E value(std::string_view key, bool required, E def = E{}) const {
    return static_cast<E>(name(key, all_names<E>(), required, static_cast<std::size_t>(def)));
  }
  /// A string that must be one of `names`; returns its index.
  template <class Names>
  std::size_t name(std::string_view key, const Names& names, bool required, std::size_t def = 0) const {
    const json* v = required ? &need(key) : find(key);
    if (!v) return def;
    return name_in(*v, at(ptr_, key), names);
  }
  template <class Names>
  static std::size_t name_in(const json& v, const std::string& ptr, const Names& names) {
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

inline bool is_id(std::string_view s) {
  if (s.empty() || s.size() > ScenarioLimits::max_id_bytes) return false;
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s[0])) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return alpha(c) || (c >= '0' && c <= '9') || c == '-'; });
}

inline std::string id_rule() {
  return "a letter or '_', then letters, digits, '_' or '-', at most " +
         std::to_string(ScenarioLimits::max_id_bytes) + " bytes";
}

}  // namespace ready::capture::scenario
