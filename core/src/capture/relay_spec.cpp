// The relay's plain values: endpoints (parse, text) and fault knobs (range checks, text).
// The relay itself runs on the poll thread: engine/relay.cpp.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ready/capture/command.h"

namespace ready::capture {

namespace {

constexpr std::chrono::nanoseconds kMaxFaultWait = std::chrono::seconds(60);
constexpr std::uint64_t kMaxBandwidthKbps = 1'000'000'000;

std::string ms_text(std::chrono::nanoseconds d) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  if (us % 1000 == 0) return std::to_string(us / 1000) + " ms";
  return std::to_string(us / 1000) + "." + std::to_string(us % 1000 / 100) + " ms";
}

}  // namespace

std::string RelayEndpoint::to_string() const { return tcp ? tcp->to_string() : path; }

std::optional<RelayEndpoint> RelayEndpoint::parse(std::string_view text, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<RelayEndpoint> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  if (text.empty()) return fail("an empty endpoint (expected HOST:PORT or a Unix socket path)");
  RelayEndpoint e;
  if (text.find('/') != std::string_view::npos) {
    if (text.size() >= 108) return fail("the Unix socket path is longer than 107 bytes");
    e.path = std::string(text);
    return e;
  }
  std::string t(text);
  if (t.starts_with("localhost:")) t = "127.0.0.1:" + t.substr(10);
  e.tcp = net::SocketAddr::parse(t);
  if (!e.tcp)
    return fail("\"" + std::string(text) +
                "\" is neither HOST:PORT (a numeric address, or localhost, and a port) nor a path with a '/'");
  return e;
}

std::string RelayFaults::to_string() const {
  std::string s;
  auto add = [&](const std::string& part) {
    if (!s.empty()) s += ", ";
    s += part;
  };
  if (latency.count() != 0 || jitter.count() != 0)
    add("latency " + ms_text(latency) + (jitter.count() != 0 ? " +-" + ms_text(jitter) : std::string()));
  if (bandwidth_kbps != 0) add("bandwidth " + std::to_string(bandwidth_kbps) + " KB/s");
  if (slice_bytes != 0)
    add("slice " + std::to_string(slice_bytes) + " B" +
        (slice_delay.count() != 0 ? " every " + ms_text(slice_delay) : std::string()));
  if (reset_after != 0) add("reset after " + std::to_string(reset_after) + " B");
  return s.empty() ? "none" : s;
}

std::string RelayFaults::invalid() const {
  auto wait_ok = [](std::chrono::nanoseconds d) { return d.count() >= 0 && d <= kMaxFaultWait; };
  if (!wait_ok(latency)) return "latency must be in [0, 60000] ms";
  if (!wait_ok(jitter)) return "jitter must be in [0, 60000] ms";
  if (jitter > latency) return "jitter must not exceed the latency";
  if (bandwidth_kbps > kMaxBandwidthKbps) return "bandwidth must be at most 1000000000 KB/s";
  if (!wait_ok(slice_delay)) return "the slice delay must be in [0, 60000] ms";
  if (slice_delay.count() != 0 && slice_bytes == 0) return "a slice delay needs a slice size";
  return {};
}

}  // namespace ready::capture
