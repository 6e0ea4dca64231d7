// SPDX-License-Identifier: MIT
// What the scheduler is told about a run: which host runs which task, and who waits for whom.
#pragma once

#include <optional>
#include <vector>

#include "deployd/plan.hpp"
#include "sched/scheduler.hpp"

namespace deployd::engine {

/// The scheduler's view of the selected tasks on `hosts`. A local task runs on `local_host`
/// (the controller's index among the hosts, if any task is local); a run_once task on the first
/// of its hosts only.
sched::RunShape run_shape(const std::vector<const Task*>& tasks, const std::vector<const Host*>& hosts,
                          std::optional<int> local_host);

/// The run's admission and failure limits: the plan's policy, `forks` overridden when > 0.
sched::Limits run_limits(const Plan& plan, int forks_override);

}  // namespace deployd::engine
