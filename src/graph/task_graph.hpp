// SPDX-License-Identifier: MIT
// Which tasks a run executes and in what order: named tasks plus their transitive needs.
#pragma once

#include <string>
#include <vector>

#include "deployd/diagnostic.hpp"
#include "deployd/plan.hpp"

namespace deployd::graph {

/// The tasks of a run in dependency order (every need before its dependents; named tasks in
/// command-line order, ties in document order), or the errors that prevent choosing them.
struct Selection {
  std::vector<const Task*> tasks;
  std::vector<Diagnostic> errors;
};

/// Tasks named on the command line with their needs, transitively; no names: the `default`
/// tasks, or every task when none is marked. The plan is already validated (no cycles).
Selection select_tasks(const Plan& plan, const std::vector<std::string>& names);

/// The index of every task's needs within `tasks` (needs outside the selection cannot occur).
std::vector<std::vector<int>> need_indices(const std::vector<const Task*>& tasks);

/// Per task: the index within `tasks` of each selected task that can notify it (a handler's
/// notifiers), which it runs after on each host without needing them to succeed.
std::vector<std::vector<int>> notifier_indices(const std::vector<const Task*>& tasks);

/// How a task waits for one of its needs on one of its hosts (plan-format.md, needs).
enum class NeedWait {
  PerHost,   ///< for the need on the same host
  Barrier,   ///< for the need on every host of this host's wave and earlier ones
  AllHosts,  ///< for the need on every host that runs it, in any wave
};

/// `runs_need`: the host (of `task`) is one of the need's hosts in the run.
NeedWait need_wait(const Task& task, const Task& need, bool runs_need);

/// The task DAG in Graphviz dot, one rank per dependency depth.
std::string to_dot(const Plan& plan, const std::vector<const Task*>& tasks);

}  // namespace deployd::graph
