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

/// Narrows every task's hosts to exactly the hosts named (no globs, no groups), as
/// `--retry-failed` does with the failed hosts of a run; returns the names the plan lacks.
std::vector<std::string> keep_named_hosts(Plan& plan, const std::vector<std::string>& names);

}  // namespace deployd::graph
