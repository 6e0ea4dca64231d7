// SPDX-License-Identifier: MIT
// Task-level checks: needs exist and form no cycle, and `on` names hosts and groups that exist.
#include "plan/validate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "plan/groups.hpp"
#include "plan/suggest.hpp"

namespace deployd::plan {

namespace {

class NeedChecker {
 public:
  NeedChecker(std::vector<TaskDraft>& tasks, Diagnostics& diags) : tasks_(tasks), diags_(diags) {
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      positions_.emplace(tasks[i].task.name, i);
      names_.push_back(tasks[i].task.name);
    }
  }

  void run() {
    edges_.resize(tasks_.size());
    for (std::size_t i = 0; i < tasks_.size(); ++i) resolve_needs(i);
    state_.assign(tasks_.size(), State::Unvisited);
    for (std::size_t i = 0; i < tasks_.size(); ++i) visit(i);
  }

 private:
  enum class State { Unvisited, Visiting, Done };

  // Keeps known needs (once each) as edges; reports unknown ones.
  void resolve_needs(std::size_t index) {
    TaskDraft& draft = tasks_[index];
    std::vector<std::string> needs;
    for (std::size_t n = 0; n < draft.task.needs.size(); ++n) {
      const std::string& need = draft.task.needs[n];
      auto found = positions_.find(need);
      if (found == positions_.end()) {
        diags_.error(draft.need_at[n],
                     fmt::format("unknown task {}{}", quote(need), did_you_mean(need, names_)));
        continue;
      }
      if (std::find(needs.begin(), needs.end(), need) != needs.end()) continue;
      needs.push_back(need);
      edges_[index].push_back({found->second, draft.need_at[n]});
    }
    draft.task.needs = needs;
    // A handler runs after the tasks that notify it: the same order as a need.
    for (std::size_t n = 0; n < draft.task.notified_by.size(); ++n)
      edges_[index].push_back({positions_.at(draft.task.notified_by[n]), draft.notified_at[n]});
  }

  // Depth first; a need on a task still being visited closes a cycle, reported at that need
  // and spelled from the task that holds it: `deploy -> migrate -> deploy`.
  void visit(std::size_t index) {
    if (state_[index] != State::Unvisited) return;
    state_[index] = State::Visiting;
    path_.push_back(index);
    for (const auto& [need, where] : edges_[index]) {
      if (state_[need] == State::Visiting) {
        auto start = std::find(path_.begin(), path_.end(), need);
        std::string cycle = tasks_[index].task.name;
        for (auto it = start; it != path_.end(); ++it) cycle += " -> " + tasks_[*it].task.name;
        diags_.error(where, "dependency cycle: " + cycle);
      } else {
        visit(need);
      }
    }
    path_.pop_back();
    state_[index] = State::Done;
  }

  struct Edge {
    std::size_t need;
    Where where;
  };

  std::vector<TaskDraft>& tasks_;
  Diagnostics& diags_;
  std::unordered_map<std::string, std::size_t> positions_;
  std::vector<std::string> names_;
  std::vector<std::vector<Edge>> edges_;
  std::vector<State> state_;
  std::vector<std::size_t> path_;
};

// `on` resolved to host names in plan order; false if a name is unknown.
bool resolve_on(const Plan& plan, const HostIndex& index,
                const std::vector<std::string>& candidates, TaskDraft& draft, Diagnostics& diags) {
  std::vector<char> chosen(plan.hosts.size());
  bool is_ok = true;
  for (std::size_t i = 0; i < draft.task.on.size(); ++i) {
    const std::string& name = draft.task.on[i];
    if (name == "local") continue;  // combined with other targets: reported when read
    if (auto group = plan.groups.find(name); group != plan.groups.end()) {
      for (const std::string& host : group->second) chosen[*index.find(host)] = 1;
    } else if (auto positions =
                   resolve_hosts_named(name, draft.on_at[i], index, candidates, diags)) {
      for (std::size_t position : *positions) chosen[position] = 1;
    } else {
      is_ok = false;
    }
  }
  for (std::size_t i = 0; i < chosen.size(); ++i)
    if (chosen[i]) draft.task.hosts.push_back(plan.hosts[i].name);
  return is_ok;
}

}  // namespace

void validate_tasks(const Plan& plan, std::vector<TaskDraft>& tasks,
                    const std::vector<std::string>& command_line_hosts, bool has_bad_hosts,
                    Diagnostics& diags, bool allow_no_hosts) {
  NeedChecker(tasks, diags).run();
  HostIndex index(plan.hosts);
  std::vector<std::string> candidates = index.names();
  for (const auto& group : plan.groups) candidates.push_back(group.first);
  for (TaskDraft& draft : tasks) {
    if (draft.task.is_local || draft.task.on.empty()) continue;  // an empty `on` is reported
    // --list with no hosts at all (they come from an inventory not given): `on` names groups
    // and hosts nobody can check yet.
    if (allow_no_hosts && plan.hosts.empty() && command_line_hosts.empty()) continue;
    bool is_ok = resolve_on(plan, index, candidates, draft, diags);
    if (!command_line_hosts.empty()) draft.task.hosts = command_line_hosts;
    if (is_ok && !has_bad_hosts && !allow_no_hosts && draft.task.hosts.empty()) {
      diags.error(draft.on_at.empty() ? draft.where : draft.on_at.front(),
                  fmt::format("task {} targets no host (define hosts, pass -i INVENTORY or -H "
                              "HOSTS, or use \"on\": \"local\")",
                              quote(draft.task.name)));
    }
  }
}

void validate_delegates(const Plan& plan, const std::vector<TaskDraft>& tasks, Diagnostics& diags) {
  std::vector<std::string> names = {"local"};
  for (const Host& host : plan.hosts) names.push_back(host.name);
  for (const TaskDraft& draft : tasks) {
    for (const NameRef& delegate : draft.delegates) {
      if (std::find(names.begin(), names.end(), delegate.name) != names.end()) continue;
      diags.error(
          delegate.where,
          fmt::format("\"delegate_to\": unknown host {}{} (a host of the plan, or \"local\")",
                      quote(delegate.name), did_you_mean(delegate.name, names)));
    }
  }
}

}  // namespace deployd::plan
