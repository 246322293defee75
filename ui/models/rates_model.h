// Rates over capture time, pre-binned record by record: the data of the Rates view.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ready/capture/record.h"
#include "session/bridge.h"

namespace ready::ui {

/// Pre-binned rates of a capture, kept up to date record by record (a RecordObserver; no Qt).
///
/// What is counted. Events: `readiness` records (one per epoll event). Bytes in: the `value`
/// of read and drain actions; bytes out: of write and fill actions (echo's reads and writes
/// included). The counter reads of eventfd and timerfd sources are not bytes and are skipped
/// (their kind comes from the source_added record). Every other record is ignored.
///
/// Bins. Capture time is cut into bins of `bin_ns()` nanoseconds starting at t = 0; bin i
/// covers [i * bin_ns, (i + 1) * bin_ns). It starts at `kInitialBinNs` (1 ms); whenever a
/// record falls beyond `kMaxBins` bins, the width doubles and neighbouring bins are summed
/// (`merges()` counts this), so counts stay exact and the resolution is max(1 ms, capture
/// length / kMaxBins): 8 s of capture at 1 ms, an hour at about 0.5 s.
///
/// Queries return buckets of a whole number of bins, at most `max_points` of them for the
/// range asked, aligned to multiples of their width (so a pan does not reshuffle them). The
/// view asks for 2 points per pixel of its plot width.
///
/// Memory (counted by `memory_bytes()`): three totals of kMaxBins 8-byte counters; per source
/// a sorted list of (bin, count) pairs for its non-empty bins, 8 bytes each, and ~80 bytes of
/// state. The pairs of all sources are bounded by `kMaxTokenEntries`: past it, the half of the
/// sources with the fewest events lose their per-source series (they stay in the totals, so
/// the view's "others" still counts them; `folded_tokens()` counts them).
class RatesModel : public RecordObserver {
 public:
  static constexpr std::size_t kMaxBins = 8192;
  static constexpr std::uint64_t kInitialBinNs = 1'000'000;
  static constexpr std::size_t kMaxTokenEntries = std::size_t{1} << 20;

  /// Counts per bucket: buckets[i] covers [start_ns + i * bucket_ns, start_ns + (i+1) * bucket_ns).
  struct Binned {
    std::uint64_t start_ns = 0;
    std::uint64_t bucket_ns = 0;
    std::vector<std::uint64_t> counts;
    [[nodiscard]] std::uint64_t sum() const noexcept;
  };
  enum class Total : std::uint8_t { events, bytes_in, bytes_out };

  void on_record(const capture::Record& r, std::uint64_t index) override;

  /// The total `which` over [t0, t1) in at most `max_points` (>= 1) buckets.
  [[nodiscard]] Binned total(Total which, std::uint64_t t0, std::uint64_t t1, std::size_t max_points) const;
  /// One source's events over [t0, t1) in the same buckets as total(); all zero for a token
  /// without a per-source series (unknown or folded).
  [[nodiscard]] Binned token_events(std::uint64_t token, std::uint64_t t0, std::uint64_t t1,
                                    std::size_t max_points) const;
  /// The (at most) n tokens with the most events in [t0, t1), most first (ties: lower token
  /// first). O(per-source pairs in the range).
  [[nodiscard]] std::vector<std::uint64_t> top_tokens(std::uint64_t t0, std::uint64_t t1, std::size_t n) const;

  [[nodiscard]] std::uint64_t bin_ns() const noexcept { return m_binNs; }
  /// Bins in use (<= kMaxBins).
  [[nodiscard]] std::size_t bin_count() const noexcept { return m_events.size(); }
  /// The latest record time seen (0 before any).
  [[nodiscard]] std::uint64_t last_time_ns() const noexcept { return m_lastNs; }

  // ---- accounting ----
  [[nodiscard]] std::uint64_t events() const noexcept { return m_eventCount; }
  [[nodiscard]] std::uint64_t bytes_in() const noexcept { return m_bytesIn; }
  [[nodiscard]] std::uint64_t bytes_out() const noexcept { return m_bytesOut; }
  [[nodiscard]] std::uint64_t merges() const noexcept { return m_merges; }
  [[nodiscard]] std::uint64_t folded_tokens() const noexcept { return m_folded; }
  [[nodiscard]] std::size_t token_count() const noexcept { return m_tokens.size(); }
  /// Per-source (bin, count) pairs held (<= kMaxTokenEntries).
  [[nodiscard]] std::size_t token_entries() const noexcept { return m_tokenEntries; }
  [[nodiscard]] std::size_t memory_bytes() const noexcept;

  /// Forgets everything (a new capture).
  void clear();

 private:
  struct TokenBins {
    capture::SourceKind kind = capture::SourceKind::tcp_stream;
    bool counter = false;  ///< eventfd / timerfd: reads are counters, not bytes
    bool folded = false;   ///< its per-source series was dropped (kMaxTokenEntries)
    std::uint64_t events = 0;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> bins;  // (bin, events), bin ascending
  };
  std::size_t bin_of(std::uint64_t t_ns);
  void merge();
  void fold();
  /// Buckets of k bins covering [t0, t1): (first bin, end bin, k).
  struct Layout {
    std::uint64_t first = 0, end = 0, k = 1;
  };
  [[nodiscard]] Layout layout(std::uint64_t t0, std::uint64_t t1, std::size_t max_points) const;
  /// Zeroed buckets covering the layout (none for an empty range).
  [[nodiscard]] Binned empty_binned(const Layout& l) const;

  std::uint64_t m_binNs = kInitialBinNs;
  std::vector<std::uint64_t> m_events, m_in, m_out;
  std::unordered_map<std::uint64_t, TokenBins> m_tokens;
  std::size_t m_tokenEntries = 0;
  std::uint64_t m_lastNs = 0;
  std::uint64_t m_eventCount = 0, m_bytesIn = 0, m_bytesOut = 0, m_merges = 0, m_folded = 0;
};

}  // namespace ready::ui
