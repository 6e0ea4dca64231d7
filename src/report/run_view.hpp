// SPDX-License-Identifier: MIT
// What the views of a recorded run show, computed once: per-task figures, failures folded by
// reason, and hosts folded into rows where they behaved identically.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "report/recorded_run.hpp"

namespace deployd::report {

/// One task across the hosts that ran it. A host counts once, by its worst step: aborted, then
/// failed, then changed, then ok; skipped when every step was skipped.
struct TaskStats {
  std::string task;
  int hosts = 0;
  int ok = 0;
  int changed = 0;
  int failed = 0;
  int skipped = 0;
  int aborted = 0;
  int retried = 0;  ///< hosts where a step of the task was run again (also counted above)
  /// Time on a host: its first step's start to its last step's end (retries included), of the
  /// hosts where the task did not only skip; nearest-rank percentiles.
  std::int64_t min_ms = 0;
  std::int64_t median_ms = 0;
  std::int64_t p95_ms = 0;
  std::int64_t max_ms = 0;
  std::vector<int> histogram;  ///< kHistogramBins counts over [min_ms, max_ms]
};

inline constexpr int kHistogramBins = 24;

/// Hosts that failed for the same reason (the same text but for durations in it).
struct FailureGroup {
  std::string reason;  ///< the first host's failed step's error (or its own), no host name
  std::vector<std::size_t> hosts;        ///< indexes into RecordedRun::hosts, in run order
  std::string host_list;                 ///< compress_hosts() of their names
  std::vector<std::string> last_stderr;  ///< the first host's last stderr lines of that step
};

/// Hosts that behaved identically: same wave, same steps with the same statuses, in order.
struct HostFold {
  std::vector<std::size_t> hosts;
  std::string label;  ///< compress_hosts() of their names
};

std::vector<TaskStats> task_stats(const RecordedRun& run);

/// Failed, unreachable and aborted hosts (and hosts that never ended after a failed step),
/// folded by reason, largest group first.
std::vector<FailureGroup> failure_groups(const RecordedRun& run, std::size_t stderr_lines = 5);

/// Every host in exactly one fold; folds in the order of their first host.
std::vector<HostFold> host_folds(const RecordedRun& run);

/// Nearest-rank percentile (0 < p <= 100) of sorted values; 0 for none.
std::int64_t percentile(const std::vector<std::int64_t>& sorted, int p);

}  // namespace deployd::report
