// SPDX-License-Identifier: MIT
// --limit: keep only the hosts whose name, or one of whose groups, matches a glob.
#pragma once

#include <string>
#include <vector>

#include "deployd/diagnostic.hpp"
#include "deployd/plan.hpp"

namespace deployd::graph {

/// Narrows every task's hosts to those matching `patterns` (shell globs over host and group
/// names). A pattern that matches nothing is an error, so a typo never runs on zero hosts.
std::vector<Diagnostic> limit_hosts(Plan& plan, const std::vector<std::string>& patterns);

/// Leaves out of every task the hosts matching `patterns` (`--exclude`, `--limit '!GLOB'`): by
/// name or group, as limit_hosts selects them. A pattern that matches nothing is an error.
std::vector<Diagnostic> exclude_hosts(Plan& plan, const std::vector<std::string>& patterns);

/// `--only`: the named tasks lose their needs on tasks not named, so selecting them runs them
/// alone. Returns, for each that lost one, `TASK without NEED, NEED` (what is said on stderr).
std::vector<std::string> drop_needs(Plan& plan, const std::vector<std::string>& names);

/// Narrows every task's hosts to exactly the hosts named (no globs, no groups), as
/// `--retry-failed` does with the failed hosts of a run; returns the names the plan lacks.
std::vector<std::string> keep_named_hosts(Plan& plan, const std::vector<std::string>& names);

/// Every task's hosts, by index in plan.tasks: what narrowing is compared with.
std::vector<std::vector<std::string>> task_hosts(const Plan& plan);

/// A selected task that still runs (local, or with a host left) and a remote need of it that
/// narrowing left with no host: it would never run, so its dependents could never start.
struct LostNeed {
  const Task* task;
  const Task* need;
};
std::vector<LostNeed> lost_needs(const std::vector<const Task*>& tasks);

}  // namespace deployd::graph
