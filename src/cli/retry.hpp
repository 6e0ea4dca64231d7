// SPDX-License-Identifier: MIT
// --retry-failed: a previous run's selection and its failed hosts; and this run's record.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/options.hpp"
#include "deployd/plan.hpp"
#include "report/run_record.hpp"

namespace deployd::cli {

/// What `--retry-failed` takes from a previous run.
struct Retry {
  std::string run_id;              ///< the run retried
  std::vector<std::string> hosts;  ///< its failed, unreachable and aborted hosts
  /// Set when the run must not start: 2 for an error, 0 when there is nothing to retry. The
  /// message is printed already.
  std::optional<int> exit_code;
};

/// Finds the run to retry in the run log folder and fills in what the command line leaves out:
/// its tasks (unless TASKs are given), its `-H` list and its inventories. Warns on stderr when
/// the plan (or a reused inventory) changed since.
Retry prepare_retry(Options& options);

/// Narrows `plan` to the hosts to retry (exact names; after any new --limit). Warns about hosts
/// the plan no longer has; an exit status when none of them is left to run on.
std::optional<int> restrict_to_retry(Plan& plan, const std::vector<const Task*>& tasks,
                                     const Retry& retry);

/// What this run's summary.json records, so that it can be run again.
report::RunRecord run_record(const Options& options, const std::string& retry_of);

}  // namespace deployd::cli
