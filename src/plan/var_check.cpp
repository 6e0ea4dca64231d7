// SPDX-License-Identifier: MIT
// validate_vars: every `{{name}}` must resolve on every host its task targets, before anything
// runs.
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <unordered_map>

#include "plan/conditions.hpp"
#include "plan/expr.hpp"
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
    if (site.may_be_undefined) return;
    if (!site.expr && site.file.empty()) {
      if (std::string error = template_error(site.text); !error.empty()) {
        diags_.error(site.where, error);
        return;
      }
    }
    const std::vector<Step>& steps = draft.task.steps;
    for (std::size_t i = 0; i < site.step && i < steps.size(); ++i)
      if (!steps[i].register_as.empty()) registered.insert(steps[i].register_as);
    const std::vector<std::string> names = !site.file.empty() ? std::vector{site.text}
                                           : site.expr        ? site.expr->names()
                                                              : referenced_vars(site.text);
    for (const std::string& name : names)
      if (!is_registered(name, registered) && !(site.sees_result && is_result_name(name)) &&
          !is_loop_name(name, draft, site.step))
        check_name(draft.task, site, name, registered);
  }

  // `for_each`: the loop variables, and paths into their items (`site.name`), are defined in
  // the loop's steps (each item's own templates are checked where the item is written).
  static bool is_loop_name(const std::string& name, const TaskDraft& draft, std::size_t step) {
    if (step >= draft.loop_names.size()) return false;
    const std::vector<std::string>& names = draft.loop_names[step];
    return std::find(names.begin(), names.end(), name.substr(0, name.find('.'))) != names.end();
  }

  // A registered name, or one of the fields `register` adds to it (`out.rc`).
  static bool is_registered(const std::string& name, const std::set<std::string>& registered) {
    if (registered.count(name)) return true;
    const std::size_t dot = name.rfind('.');
    if (dot == std::string::npos || !registered.count(name.substr(0, dot))) return false;
    const std::vector<std::string>& fields = registered_fields();
    return std::find(fields.begin(), fields.end(), name.substr(dot + 1)) != fields.end();
  }

  static bool is_result_name(const std::string& name) {
    return name == "rc" || name == "stdout" || name == "stderr";
  }

  void check_name(const Task& task, const TemplateSite& site, const std::string& name,
                  const std::set<std::string>& registered) {
    std::vector<const Host*> failing;
    const std::string delegate =
        site.step < task.steps.size() ? task.steps[site.step].delegate_to : std::string();
    auto check = [&](const Host* host) {
      Resolved resolved = resolve_var(name, {&plan_, host, nullptr, "run", delegate});
      if (!resolved.error.empty()) {
        report(site, host ? fmt::format("{} for host {}", resolved.error, quote(host->name))
                          : resolved.error);
        return false;
      }
      if (!resolved.value) failing.push_back(host);
      return true;
    };
    if (task.is_local) {
      check(nullptr);
    } else {
      for (const std::string& host_name : task.hosts)
        if (!check(hosts_by_name_.at(host_name))) return;  // one host's cycle says it all
    }
    if (failing.empty()) return;
    if (name == "delegate") {
      report(site, "undefined variable \"delegate\" (a step has one with \"delegate_to\")");
      return;
    }
    report(site, undefined_message(name, failing, registered));
  }

  // A name of a template file is reported where that file reads it (issue 18).
  void report(const TemplateSite& site, std::string message) {
    if (site.file.empty()) return diags_.error(site.where, std::move(message));
    diags_.add(
        template_diagnostic(site.file, site.line, site.column, std::move(message), site.where));
  }

  std::string undefined_message(const std::string& name, const std::vector<const Host*>& failing,
                                const std::set<std::string>& registered) const {
    const Host* host = failing.front();
    if (!host && is_reserved_var_name(name) && name != "run.id")
      return fmt::format("undefined variable {} (a local task has no host)", quote(name));
    std::vector<std::string> candidates(registered.begin(), registered.end());
    for (const auto& entry : plan_.overrides) candidates.push_back(entry.first);
    for (const Vars* vars : {&plan_.vars, host ? &host->vars : nullptr}) {
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

// Every name a template inside `value` refers to.
void add_names_in(const Value& value, std::set<std::string>& names) {
  if (!value.is_text()) {
    for (const Value& item : value.items) add_names_in(item, names);
    return;
  }
  if (value.text.find("{{") == std::string::npos) return;
  for (const std::string& name : referenced_vars(value.text, true)) names.insert(name);
}

}  // namespace

std::vector<Diagnostic> unused_cli_vars(const Plan& plan, const std::vector<TaskDraft>& tasks) {
  std::vector<Diagnostic> warnings;
  if (plan.overrides.empty()) return warnings;
  std::set<std::string> used;
  for (const TaskDraft& draft : tasks) {
    for (const TemplateSite& site : draft.templates) {
      const std::vector<std::string> names = !site.file.empty() ? std::vector{site.text}
                                             : site.expr        ? site.expr->every_name()
                                                                : referenced_vars(site.text, true);
      used.insert(names.begin(), names.end());
    }
    // `for_each` names the variable holding its list, or an expression giving one (a literal's
    // items are templates of their own).
    for (const LoopDraft& loop : draft.loops) {
      if (!loop.var_name.empty()) used.insert(loop.var_name);
      if (loop.expr) used.insert(loop.expr->every_name().begin(), loop.expr->every_name().end());
    }
  }
  for (const auto& [name, value] : plan.vars) add_names_in(value, used);
  for (const Host& host : plan.hosts)
    for (const auto& [name, value] : host.vars) add_names_in(value, used);
  std::vector<std::string> candidates(used.begin(), used.end());
  for (const auto& entry : plan.vars) candidates.push_back(entry.first);
  for (const auto& override : plan.overrides) {
    const std::string& name = override.first;  // a structured binding: clang 14 cannot capture it
    // `--var app` is used by `{{app.port}}`: the override is the whole value.
    const bool is_used = std::any_of(used.begin(), used.end(), [&](const std::string& use) {
      return use == name || use.starts_with(name + ".");
    });
    if (is_used) continue;
    warnings.push_back(
        Diagnostic{.message = fmt::format("--var {}: no string of the plan uses it{}", name,
                                          did_you_mean(name, candidates))});
  }
  return warnings;
}

void validate_vars(const Plan& plan, const std::vector<TaskDraft>& tasks, Diagnostics& diags) {
  VarChecker(plan, tasks, diags).run();
}

}  // namespace deployd::plan
