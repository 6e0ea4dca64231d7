// SPDX-License-Identifier: MIT
// --limit (see limit.hpp).
#include "graph/limit.hpp"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <map>
#include <set>

#include "plan/suggest.hpp"

namespace deployd::graph {
namespace {

bool matches(const std::string& pattern, const std::string& name) {
  return fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

// The hosts a pattern selects: by their own name or by a group they belong to.
std::set<std::string> selected_by(const Plan& plan, const std::string& pattern) {
  std::set<std::string> hosts;
  for (const Host& host : plan.hosts)
    if (matches(pattern, host.name)) hosts.insert(host.name);
  for (const auto& [group, members] : plan.groups)
    if (matches(pattern, group)) hosts.insert(members.begin(), members.end());
  if (matches(pattern, "all"))
    for (const Host& host : plan.hosts) hosts.insert(host.name);
  return hosts;
}

std::vector<std::string> all_names(const Plan& plan) {
  std::vector<std::string> names;
  for (const Host& host : plan.hosts) names.push_back(host.name);
  for (const auto& entry : plan.groups) names.push_back(entry.first);
  return names;
}

}  // namespace

std::vector<Diagnostic> limit_hosts(Plan& plan, const std::vector<std::string>& patterns) {
  std::vector<Diagnostic> errors;
  if (patterns.empty()) return errors;
  std::set<std::string> kept;
  for (const std::string& pattern : patterns) {
    std::set<std::string> hosts = selected_by(plan, pattern);
    if (hosts.empty()) {
      errors.push_back(Diagnostic{"", "", 0, 0,
                                  fmt::format("--limit {} matches no host or group{}", plan::quote(pattern),
                                              plan::did_you_mean(pattern, all_names(plan)))});
    }
    kept.insert(hosts.begin(), hosts.end());
  }
  for (Task& task : plan.tasks) std::erase_if(task.hosts, [&](const std::string& h) { return !kept.count(h); });
  return errors;
}

std::vector<Diagnostic> exclude_hosts(Plan& plan, const std::vector<std::string>& patterns) {
  std::vector<Diagnostic> errors;
  std::set<std::string> left_out;
  for (const std::string& pattern : patterns) {
    std::set<std::string> hosts = selected_by(plan, pattern);
    if (hosts.empty()) {
      errors.push_back(Diagnostic{
          .message = fmt::format("--exclude {} matches no host or group{}", plan::quote(pattern),
                                 plan::did_you_mean(pattern, all_names(plan)))});
    }
    left_out.insert(hosts.begin(), hosts.end());
  }
  for (Task& task : plan.tasks)
    std::erase_if(task.hosts, [&](const std::string& h) { return left_out.count(h) > 0; });
  return errors;
}

std::vector<std::string> drop_needs(Plan& plan, const std::vector<std::string>& names) {
  std::vector<std::string> dropped;
  auto is_named = [&](const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  for (Task& task : plan.tasks) {
    if (!is_named(task.name)) continue;
    // Needs among the named tasks stay: they order what runs.
    std::vector<std::string> left;
    for (const std::string& need : task.needs)
      if (!is_named(need)) left.push_back(need);
    if (left.empty()) continue;
    dropped.push_back(fmt::format("{} without {}", task.name, fmt::join(left, ", ")));
    std::erase_if(task.needs, [&](const std::string& need) { return !is_named(need); });
  }
  return dropped;
}

std::vector<std::string> keep_named_hosts(Plan& plan, const std::vector<std::string>& names) {
  std::set<std::string> kept(names.begin(), names.end());
  std::vector<std::string> missing;
  for (const std::string& name : names)
    if (plan.find_host(name) == nullptr) missing.push_back(name);
  for (Task& task : plan.tasks)
    std::erase_if(task.hosts, [&](const std::string& h) { return !kept.count(h); });
  return missing;
}

std::vector<std::vector<std::string>> task_hosts(const Plan& plan) {
  std::vector<std::vector<std::string>> hosts;
  for (const Task& task : plan.tasks) hosts.push_back(task.hosts);
  return hosts;
}

// plan-format.md, needs: a need that has no host in the run is never skipped silently.
std::vector<LostNeed> lost_needs(const std::vector<const Task*>& tasks) {
  std::map<std::string, const Task*> by_name;
  for (const Task* task : tasks) by_name.emplace(task->name, task);
  std::vector<LostNeed> lost;
  for (const Task* task : tasks) {
    if (!task->is_local && task->hosts.empty()) continue;  // runs nowhere: needs nothing
    for (const std::string& name : task->needs) {
      const Task* need = by_name.at(name);  // a selection holds every need of its tasks
      if (!need->is_local && need->hosts.empty()) lost.push_back(LostNeed{task, need});
    }
  }
  return lost;
}

}  // namespace deployd::graph
