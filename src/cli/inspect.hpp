// SPDX-License-Identifier: MIT
// The answers that need no connection: --list, --dry-run.
#pragma once

#include <string>
#include <vector>

#include "deployd/plan.hpp"

namespace deployd::cli {

/// --list: every task with its description, targets and needs, in document order.
std::string list_tasks(const Plan& plan);

/// --dry-run: per host, the steps that would run, with variables resolved.
std::string dry_run(const Plan& plan, const std::vector<const Task*>& tasks,
                    const std::string& run_id, bool verbose = false);

}  // namespace deployd::cli
