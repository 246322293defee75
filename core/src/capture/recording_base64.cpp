#include "capture/recording_base64.h"

#include <array>
#include <cstdint>

namespace ready::capture::recording {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// 0..63 for the alphabet, 0xff for anything else ('=' included: handled apart).
constexpr std::array<std::uint8_t, 256> kValues = [] {
  std::array<std::uint8_t, 256> t{};
  t.fill(0xff);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i)
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  return t;
}();

}  // namespace

void base64_append(std::string& out, std::span<const std::byte> bytes) {
  const std::size_t start = out.size();
  out.resize(start + (bytes.size() + 2) / 3 * 4);
  char* o = out.data() + start;
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto v = (std::to_integer<std::uint32_t>(bytes[i]) << 16) |
                   (std::to_integer<std::uint32_t>(bytes[i + 1]) << 8) |
                   std::to_integer<std::uint32_t>(bytes[i + 2]);
    *o++ = kAlphabet[(v >> 18) & 63];
    *o++ = kAlphabet[(v >> 12) & 63];
    *o++ = kAlphabet[(v >> 6) & 63];
    *o++ = kAlphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 0) return;
  std::uint32_t v = std::to_integer<std::uint32_t>(bytes[i]) << 16;
  if (rest == 2) v |= std::to_integer<std::uint32_t>(bytes[i + 1]) << 8;
  *o++ = kAlphabet[(v >> 18) & 63];
  *o++ = kAlphabet[(v >> 12) & 63];
  *o++ = rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
  *o = '=';
}

bool base64_decode(std::string_view text, std::vector<std::byte>& out) {
  out.clear();
  if (text.size() % 4 != 0) return false;
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad = text[text.size() - 2] == '=' ? 2 : 1;
  out.resize(text.size() / 4 * 3 - pad);
  std::size_t o = 0;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const std::size_t valid = last ? 4 - pad : 4;  // characters of this group that are not '='
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      std::uint32_t d = 0;
      if (k < valid) {
        d = kValues[static_cast<unsigned char>(text[i + k])];
        if (d == 0xff) return false;
      }
      v = (v << 6) | d;
    }
    const std::size_t n = valid - 1;  // bytes this group holds: 3, 2 or 1
    // The bits below the last byte must be zero: one spelling per byte string.
    if ((n == 2 && (v & 0xff) != 0) || (n == 1 && (v & 0xffff) != 0)) return false;
    out[o++] = static_cast<std::byte>(v >> 16);
    if (n >= 2) out[o++] = static_cast<std::byte>(v >> 8);
    if (n == 3) out[o++] = static_cast<std::byte>(v);
  }
  return true;
}

}  // namespace ready::capture::recording
