// The schema check of an exported Chrome Trace Event JSON file (what Perfetto's importer needs,
// docs/export.md), shared by the export suites. Header-only: QtTest and nlohmann::json.
#pragma once

#include <QTest>
#include <algorithm>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace ready::test {

/// Checks what every trace must hold to open in Perfetto; the events, parsed, in `events`.
inline void check_trace_schema(const std::string& text, nlohmann::json& events) {
  const auto unit = text.find("\"displayTimeUnit\"");
  const auto list = text.find("\"traceEvents\"");
  QVERIFY2(unit != std::string::npos && list != std::string::npos && unit < list,
           "displayTimeUnit is not written before traceEvents");
  using nlohmann::json;
  json doc = json::parse(text, nullptr, false);
  QVERIFY2(!doc.is_discarded(), "the trace is not well-formed JSON");
  QVERIFY(doc.is_object());
  QCOMPARE(doc.at("displayTimeUnit").get<std::string>(), std::string("ns"));
  events = doc.at("traceEvents");
  QVERIFY(events.is_array());
  const std::set<std::string> phases = {"X", "i", "C", "M"};  // the ones this writer may use
  std::set<std::pair<std::int64_t, std::int64_t>> named, used;
  std::map<std::pair<std::int64_t, std::int64_t>, std::vector<std::pair<double, double>>> spans;
  for (const json& e : events) {
    QVERIFY(e.is_object());
    const std::string ph = e.value("ph", "");
    QVERIFY2(phases.contains(ph), ("unexpected ph " + e.dump()).c_str());
    QVERIFY2(e.contains("pid") && e["pid"].is_number_integer() && e.contains("tid") &&
                 e["tid"].is_number_integer(),
             e.dump().c_str());
    const auto track = std::make_pair(e["pid"].get<std::int64_t>(), e["tid"].get<std::int64_t>());
    QVERIFY2(e.contains("name") && e["name"].is_string(), e.dump().c_str());
    if (ph == "M") {
      if (e["name"] == "thread_name") named.insert(track);
      QVERIFY2(e.contains("args") && e["args"].contains("name"), e.dump().c_str());
      continue;
    }
    QVERIFY2(e.contains("ts") && e["ts"].is_number(), ("no numeric ts: " + e.dump()).c_str());
    used.insert(track);
    if (ph == "i") QCOMPARE(e.value("s", ""), std::string("t"));  // thread-scoped: Perfetto shows its args
    if (ph == "X") {
      QVERIFY2(e.contains("dur") && e["dur"].is_number() && e["dur"].get<double>() >= 0, e.dump().c_str());
      spans[track].emplace_back(e["ts"].get<double>(), e["ts"].get<double>() + e["dur"].get<double>());
    }
  }
  for (const auto& t : used)
    QVERIFY2(named.contains(t), ("a track without thread_name: tid " + std::to_string(t.second)).c_str());
  for (auto& [track, v] : spans) {
    std::sort(v.begin(), v.end());
    for (std::size_t i = 1; i < v.size(); ++i)
      QVERIFY2(v[i].first >= v[i - 1].second - 1e-6, ("overlapping X on tid " + std::to_string(track.second) +
                                                      " at ts " + std::to_string(v[i].first))
                                                         .c_str());
  }
}

}  // namespace ready::test
