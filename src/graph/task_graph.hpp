// SPDX-License-Identifier: MIT
// Which tasks a run executes and in what order: named tasks plus their transitive needs.
#pragma once

#include <string>
#include <vector>

#include "deployd/diagnostic.hpp"
#include "deployd/plan.hpp"

namespace deployd::graph {

/// The tasks of a run in dependency order (every need before its dependents; ties in document
/// order), or the errors that prevent choosing them.
struct Selection {
  std::vector<const Task*> tasks;
  std::vector<Diagnostic> errors;
};

/// Tasks named on the command line with their needs, transitively; no names: the `default`
/// tasks, or every task when none is marked. The plan is already validated (no cycles).
Selection select_tasks(const Plan& plan, const std::vector<std::string>& names);

/// The index of every task's needs within `tasks` (needs outside the selection cannot occur).
std::vector<std::vector<int>> need_indices(const std::vector<const Task*>& tasks);

/// The task DAG in Graphviz dot, one rank per dependency depth.
std::string to_dot(const Plan& plan, const std::vector<const Task*>& tasks);

}  // namespace deployd::graph
