#include "models/rates_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ready::ui {

using capture::Op;
using capture::RecordKind;
using capture::SourceKind;

std::uint64_t RatesModel::Binned::sum() const noexcept {
  std::uint64_t s = 0;
  for (const auto c : counts) s += c;
  return s;
}

std::size_t RatesModel::bin_of(std::uint64_t t_ns) {
  while (t_ns / m_binNs >= kMaxBins) merge();
  const auto b = static_cast<std::size_t>(t_ns / m_binNs);
  if (b >= m_events.size()) {
    m_events.resize(b + 1);
    m_in.resize(b + 1);
    m_out.resize(b + 1);
  }
  return b;
}

void RatesModel::merge() {
  m_binNs *= 2;
  ++m_merges;
  for (auto* v : {&m_events, &m_in, &m_out}) {
    const std::size_t n = v->size();
    for (std::size_t j = 0; 2 * j < n; ++j) (*v)[j] = (*v)[2 * j] + (2 * j + 1 < n ? (*v)[2 * j + 1] : 0);
    v->resize((n + 1) / 2);
  }
  m_tokenEntries = 0;
  for (auto& [token, t] : m_tokens) {
    std::size_t out = 0;
    for (std::size_t i = 0; i < t.bins.size(); ++i) {
      const std::uint32_t b = t.bins[i].first >> 1;
      if (out > 0 && t.bins[out - 1].first == b) {
        const std::uint64_t sum = std::uint64_t{t.bins[out - 1].second} + t.bins[i].second;
        t.bins[out - 1].second = static_cast<std::uint32_t>(std::min<std::uint64_t>(sum, UINT32_MAX));
      } else {
        t.bins[out++] = {b, t.bins[i].second};
      }
    }
    t.bins.resize(out);
    m_tokenEntries += out;
  }
}

void RatesModel::fold() {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> candidates;  // (events, token)
  for (const auto& [token, t] : m_tokens)
    if (!t.folded && !t.bins.empty()) candidates.emplace_back(t.events, token);
  // The fewer-events half (at least one) goes, so the next fold is far away: O(1) amortised.
  const std::size_t n = std::max<std::size_t>(1, candidates.size() / 2);
  std::nth_element(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(n - 1), candidates.end());
  for (std::size_t i = 0; i < n && i < candidates.size(); ++i) {
    auto& t = m_tokens[candidates[i].second];
    m_tokenEntries -= t.bins.size();
    t.bins.clear();
    t.bins.shrink_to_fit();
    t.folded = true;
    ++m_folded;
  }
}

void RatesModel::on_record(const capture::Record& r, std::uint64_t) {
  switch (r.kind) {
    case RecordKind::source_added: {
      auto& t = m_tokens[r.token];
      t.kind = static_cast<SourceKind>(r.op);
      t.counter = t.kind == SourceKind::eventfd || t.kind == SourceKind::timerfd;
      break;
    }
    case RecordKind::readiness: {
      const std::size_t b = bin_of(r.t_ns);
      ++m_events[b];
      ++m_eventCount;
      auto& t = m_tokens[r.token];
      ++t.events;
      if (t.folded) break;
      const auto bin = static_cast<std::uint32_t>(b);
      if (t.bins.empty() || t.bins.back().first < bin) {
        t.bins.emplace_back(bin, 1);
        ++m_tokenEntries;
      } else if (t.bins.back().first == bin) {
        if (t.bins.back().second != UINT32_MAX) ++t.bins.back().second;  // saturates (~95 days per bin)
      } else {  // out of time order: only hand-made input
        auto it = std::lower_bound(t.bins.begin(), t.bins.end(), bin,
                                   [](const auto& e, std::uint32_t v) { return e.first < v; });
        if (it != t.bins.end() && it->first == bin) {
          if (it->second != UINT32_MAX) ++it->second;
        } else {
          t.bins.insert(it, {bin, 1});
          ++m_tokenEntries;
        }
      }
      if (m_tokenEntries > kMaxTokenEntries) fold();
      break;
    }
    case RecordKind::action: {
      const auto op = static_cast<Op>(r.op);
      const bool in = op == Op::read || op == Op::drain;
      const bool out = op == Op::write || op == Op::fill;
      if (!in && !out) break;
      if (in) {
        const auto it = m_tokens.find(r.token);
        if (it != m_tokens.end() && it->second.counter) break;
      }
      const std::size_t b = bin_of(r.t_ns);
      (in ? m_in : m_out)[b] += r.value;
      (in ? m_bytesIn : m_bytesOut) += r.value;
      break;
    }
    default:
      break;
  }
  m_lastNs = std::max(m_lastNs, r.t_ns);
}

RatesModel::Layout RatesModel::layout(std::uint64_t t0, std::uint64_t t1, std::size_t max_points) const {
  Layout l;
  if (t1 <= t0) return l;
  max_points = std::max<std::size_t>(max_points, 1);
  l.first = t0 / m_binNs;
  l.end = (t1 - 1) / m_binNs + 1;
  const std::uint64_t n = l.end - l.first;
  // Aligned buckets number at most ceil(n / k) + 1, so k = ceil(n / (max - 1)) fits max.
  l.k = max_points >= 2 ? std::max<std::uint64_t>(1, (n + max_points - 2) / (max_points - 1)) : n;
  const auto count = [&](std::uint64_t k) { return (l.end + k - 1) / k - l.first / k; };
  while (count(l.k) > max_points) l.k *= 2;  // only for max_points == 1
  return l;
}

RatesModel::Binned RatesModel::empty_binned(const Layout& l) const {
  Binned out;
  if (l.end == l.first) return out;
  const std::uint64_t fb = l.first / l.k;
  const std::uint64_t eb = (l.end + l.k - 1) / l.k;
  out.start_ns = fb * l.k * m_binNs;
  out.bucket_ns = l.k * m_binNs;
  out.counts.assign(static_cast<std::size_t>(eb - fb), 0);
  return out;
}

RatesModel::Binned RatesModel::total(Total which, std::uint64_t t0, std::uint64_t t1, std::size_t max_points) const {
  const Layout l = layout(t0, t1, max_points);
  Binned out = empty_binned(l);
  if (out.counts.empty()) return out;
  const std::uint64_t fb = l.first / l.k;
  const std::uint64_t eb = (l.end + l.k - 1) / l.k;
  const auto& v = which == Total::events ? m_events : which == Total::bytes_in ? m_in : m_out;
  const std::uint64_t stop = std::min<std::uint64_t>(eb * l.k, v.size());
  for (std::uint64_t b = fb * l.k; b < stop; ++b) out.counts[static_cast<std::size_t>(b / l.k - fb)] += v[b];
  return out;
}

RatesModel::Binned RatesModel::token_events(std::uint64_t token, std::uint64_t t0, std::uint64_t t1,
                                            std::size_t max_points) const {
  const Layout l = layout(t0, t1, max_points);
  Binned out = empty_binned(l);
  if (out.counts.empty()) return out;
  const std::uint64_t fb = l.first / l.k;
  const std::uint64_t eb = (l.end + l.k - 1) / l.k;
  const auto it = m_tokens.find(token);
  if (it == m_tokens.end()) return out;
  const auto& bins = it->second.bins;
  auto e = std::lower_bound(bins.begin(), bins.end(), fb * l.k,
                            [](const auto& x, std::uint64_t v) { return x.first < v; });
  for (; e != bins.end() && e->first < eb * l.k; ++e) out.counts[static_cast<std::size_t>(e->first / l.k - fb)] += e->second;
  return out;
}

std::vector<std::uint64_t> RatesModel::top_tokens(std::uint64_t t0, std::uint64_t t1, std::size_t n) const {
  if (t1 <= t0 || n == 0) return {};
  const std::uint64_t first = t0 / m_binNs;
  const std::uint64_t end = (t1 - 1) / m_binNs + 1;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranked;  // (events, token)
  for (const auto& [token, t] : m_tokens) {
    auto e = std::lower_bound(t.bins.begin(), t.bins.end(), first,
                              [](const auto& x, std::uint64_t v) { return x.first < v; });
    std::uint64_t sum = 0;
    for (; e != t.bins.end() && e->first < end; ++e) sum += e->second;
    if (sum > 0) ranked.emplace_back(sum, token);
  }
  const auto more = [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; };
  const std::size_t m = std::min(n, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(m), ranked.end(), more);
  std::vector<std::uint64_t> out;
  for (std::size_t i = 0; i < m; ++i) out.push_back(ranked[i].second);
  return out;
}

std::size_t RatesModel::memory_bytes() const noexcept {
  std::size_t bytes = (m_events.capacity() + m_in.capacity() + m_out.capacity()) * sizeof(std::uint64_t);
  // A hash node: the key/value pair plus the next pointer and the cached hash; one bucket pointer.
  bytes += m_tokens.size() * (sizeof(std::pair<const std::uint64_t, TokenBins>) + 2 * sizeof(void*)) +
           m_tokens.bucket_count() * sizeof(void*);
  for (const auto& [token, t] : m_tokens) bytes += t.bins.capacity() * sizeof(t.bins[0]);
  return bytes;
}

void RatesModel::clear() { *this = RatesModel(); }

}  // namespace ready::ui
