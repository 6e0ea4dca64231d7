// SPDX-License-Identifier: MIT
// --diff (issue 18): a dry run that connects, reads each host's files and prints what the
// template and put steps would change, changing nothing.
#pragma once

#include <string>
#include <vector>

#include "deployd/plan.hpp"

namespace deployd::cli {

/// Runs --diff for `tasks` with at most `forks` hosts at once; prints per host the diffs and a
/// summary on stdout. Returns the exit status: 0 every host was compared (whether or not
/// something would change), 1 a host was unreachable or a file could not be read or rendered,
/// 2 the keys could not be prepared.
int diff_main(const Plan& plan, const std::vector<const Task*>& tasks, const std::string& run_id,
              int forks);

}  // namespace deployd::cli
