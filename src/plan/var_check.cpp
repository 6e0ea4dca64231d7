// SPDX-License-Identifier: MIT
// validate_vars: every `{{name}}` must resolve on every host its task targets, before anything
// runs.
#include <fmt/format.h>

#include <set>
#include <unordered_map>

#include "plan/suggest.hpp"
#include "plan/validate.hpp"
#include "plan/vars.hpp"

namespace deployd::plan {

namespace {

class VarChecker {
 public:
  VarChecker(const Plan& plan, const std::vector<TaskDraft>& tasks, Diagnostics& diags)
      : plan_(plan), tasks_(tasks), diags_(diags) {
    for (const TaskDraft& draft : tasks) tasks_by_name_.emplace(draft.task.name, &draft);
    for (const Host& host : plan.hosts) hosts_by_name_.emplace(host.name, &host);
  }

  void run() {
    for (const TaskDraft& draft : tasks_) {
      std::set<std::string> from_needs;
      std::set<std::string> visited;
      for (const std::string& need : draft.task.needs) add_registered_by(need, from_needs, visited);
      for (const TemplateSite& site : draft.templates) check_site(draft, site, from_needs);
    }
  }

 private:
  // plan-format.md: a name `register`ed by an earlier step is checked at run time instead.
  // "Earlier" is kept simple: any step of a task needed (transitively), or an earlier step here.
  void add_registered_by(const std::string& name, std::set<std::string>& names,
                         std::set<std::string>& visited) {
    auto found = tasks_by_name_.find(name);
    if (found == tasks_by_name_.end() || !visited.insert(name).second) return;
    for (const Step& step : found->second->task.steps)
      if (!step.register_as.empty()) names.insert(step.register_as);
    for (const std::string& need : found->second->task.needs)
      add_registered_by(need, names, visited);
  }

  void check_site(const TaskDraft& draft, const TemplateSite& site,
                  std::set<std::string> registered) {
    if (std::string error = template_error(site.text); !error.empty()) {
      diags_.error(site.where, error);
      return;
    }
    const std::vector<Step>& steps = draft.task.steps;
    for (std::size_t i = 0; i < site.step && i < steps.size(); ++i)
      if (!steps[i].register_as.empty()) registered.insert(steps[i].register_as);
    // `for_each`: the loop variable and its members are defined in the loop's steps.
    if (site.step < steps.size())
      for (const auto& entry : steps[site.step].loop_vars) registered.insert(entry.first);
    for (const std::string& name : referenced_vars(site.text))
      if (!registered.count(name)) check_name(draft.task, site, name, registered);
  }

  void check_name(const Task& task, const TemplateSite& site, const std::string& name,
                  const std::set<std::string>& registered) {
    std::vector<const Host*> failing;
    const std::string delegate =
        site.step < task.steps.size() ? task.steps[site.step].delegate_to : std::string();
    if (task.is_local) {
      if (!lookup_var(name, {&plan_, nullptr, nullptr, "run"})) failing.push_back(nullptr);
    } else {
      for (const std::string& host_name : task.hosts) {
        const Host* host = hosts_by_name_.at(host_name);
        if (!lookup_var(name, {&plan_, host, nullptr, "run", delegate})) failing.push_back(host);
      }
    }
    if (failing.empty()) return;
    if (name == "delegate") {
      diags_.error(site.where,
                   "undefined variable \"delegate\" (a step has one with \"delegate_to\")");
      return;
    }
    diags_.error(site.where, undefined_message(name, failing, registered));
  }

  std::string undefined_message(const std::string& name, const std::vector<const Host*>& failing,
                                const std::set<std::string>& registered) const {
    const Host* host = failing.front();
    if (!host && is_reserved_var_name(name) && name != "run.id")
      return fmt::format("undefined variable {} (a local task has no host)", quote(name));
    std::vector<std::string> candidates(registered.begin(), registered.end());
    for (const VarMap* vars : {&plan_.overrides, &plan_.vars, host ? &host->vars : nullptr}) {
      if (!vars) continue;
      for (const auto& entry : *vars) candidates.push_back(entry.first);
    }
    candidates.insert(candidates.end(), builtin_vars().begin(), builtin_vars().end());
    std::string message = fmt::format("undefined variable {}", quote(name));
    if (host) message += fmt::format(" for host {}", quote(host->name));
    if (failing.size() > 1) message += fmt::format(" and {} more hosts", failing.size() - 1);
    return message + did_you_mean(name, candidates);
  }

  const Plan& plan_;
  const std::vector<TaskDraft>& tasks_;
  Diagnostics& diags_;
  std::unordered_map<std::string, const TaskDraft*> tasks_by_name_;
  std::unordered_map<std::string, const Host*> hosts_by_name_;
};

}  // namespace

void validate_vars(const Plan& plan, const std::vector<TaskDraft>& tasks, Diagnostics& diags) {
  VarChecker(plan, tasks, diags).run();
}

}  // namespace deployd::plan
