// SPDX-License-Identifier: MIT
// Needs that narrowing the hosts (--limit, --retry-failed) would leave with no host.
#pragma once

#include <string>
#include <vector>

#include "deployd/diagnostic.hpp"
#include "deployd/plan.hpp"

namespace deployd::cli {

/// --limit: one error per selected task whose need lost every host (plan-format.md, needs):
/// `task "deploy" needs "facts", which runs on node005, but --limit leaves node005 out: add it
/// to --limit`. `before`: every plan task's hosts before --limit (graph::task_hosts).
std::vector<Diagnostic> limit_errors(const Plan& plan, const std::vector<const Task*>& tasks,
                                     const std::vector<std::vector<std::string>>& before);

/// --retry-failed: a need the retried hosts lost gets back its hosts of `before` and runs
/// again there, transitively; returns one line per such task, to tell the user.
std::vector<std::string> run_lost_needs_again(Plan& plan, const std::vector<const Task*>& tasks,
                                              const std::vector<std::vector<std::string>>& before);

}  // namespace deployd::cli
