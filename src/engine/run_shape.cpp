// SPDX-License-Identifier: MIT
// Tasks and hosts -> the scheduler's RunShape (see run_shape.hpp).
#include "engine/run_shape.hpp"

#include <string_view>
#include <unordered_map>

#include "graph/task_graph.hpp"

namespace deployd::engine {

// Linear in hosts x tasks: a search of each task's host list per host would be quadratic in
// hosts, which scheduler_bench measured at 118 s for 100,000 hosts.
sched::RunShape run_shape(const std::vector<const Task*>& tasks, const std::vector<const Host*>& hosts,
                          std::optional<int> local_host) {
  sched::RunShape shape;
  shape.needs = graph::need_indices(tasks);
  shape.after = graph::notifier_indices(tasks);
  shape.host_tasks.resize(hosts.size());
  shape.local_host = local_host;
  std::unordered_map<std::string_view, std::size_t> index;
  for (std::size_t h = 0; h < hosts.size(); ++h)
    if (static_cast<int>(h) != local_host) index.emplace(hosts[h]->name, h);
  for (std::size_t t = 0; t < tasks.size(); ++t) {  // dependency order: the lists stay sorted
    const Task& task = *tasks[t];
    // plan-format.md: barrier, run_once and any need on or of a local task wait for all hosts.
    shape.waits_for_all.push_back(task.barrier || task.run_once || task.is_local ? 1 : 0);
    shape.runs_once.push_back(task.run_once || task.is_local ? 1 : 0);
    shape.task_policies.push_back(
        sched::TaskFailurePolicy{task.policy.max_failures, task.policy.on_failure});
    shape.rolling.push_back(sched::TaskRolling{task.policy.serial, task.policy.batches});
    if (task.is_local) {
      shape.host_tasks[static_cast<std::size_t>(*local_host)].push_back(static_cast<int>(t));
      continue;
    }
    for (const std::string& name : task.hosts) {
      auto found = index.find(name);
      if (found == index.end()) continue;
      shape.host_tasks[found->second].push_back(static_cast<int>(t));
      if (task.run_once) break;  // the first targeted host only
    }
  }
  return shape;
}

sched::Limits run_limits(const Plan& plan, int forks_override) {
  const Policy& policy = plan.policy;
  return sched::Limits{forks_override > 0 ? forks_override : policy.forks, policy.batches,
                       policy.max_failures, policy.on_failure};
}

}  // namespace deployd::engine
