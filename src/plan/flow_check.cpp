// SPDX-License-Identifier: MIT
// Control flow across steps and tasks: `for_each` expanded into copies of its steps, and
// `notify` names checked against the handlers they name (plan-format.md, "Loops", "Handlers").
#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "plan/fields.hpp"
#include "plan/suggest.hpp"
#include "plan/validate.hpp"
#include "plan/vars.hpp"

namespace deployd::plan {

namespace {

// An item's text: a string as it is, a number or boolean as written in JSON.
std::string scalar_text(const Json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// The list a loop goes over, or nullopt after an error. A variable's list is JSON text: a plan
// `vars` entry written as a list, or `--var NAME='["a","b"]'`.
std::optional<Json> loop_items(const Plan& plan, const LoopDraft& loop, Diagnostics& diags) {
  if (loop.items) return loop.items;
  const VarMap* maps[] = {&plan.overrides, &plan.vars};
  for (const VarMap* vars : maps) {
    auto found = vars->find(loop.var_name);
    if (found == vars->end()) continue;
    Json parsed = Json::parse(found->second, nullptr, false);
    if (parsed.is_array()) return parsed;
    diags.error(loop.where, fmt::format("for_each: variable {} is not a list (it holds {})",
                                        quote(loop.var_name), quote(found->second)));
    return std::nullopt;
  }
  std::vector<std::string> names;
  for (const VarMap* vars : maps)
    for (const auto& entry : *vars) names.push_back(entry.first);
  diags.error(
      loop.where,
      fmt::format("for_each: unknown variable {} (a list in the plan's \"vars\" or a --var){}",
                  quote(loop.var_name), did_you_mean(loop.var_name, names)));
  return std::nullopt;
}

// The loop variables of one item: `site`, and `site.KEY` for each member of an object item.
VarMap item_vars(const std::string& name, const Json& item, std::string& label) {
  VarMap vars;
  vars[name] = item.is_object() || item.is_array() ? item.dump() : scalar_text(item);
  label = name + "=" + vars[name];
  if (!item.is_object()) return vars;
  for (const auto& [key, value] : item.items()) vars[name + "." + key] = scalar_text(value);
  // An object is named by its `name` member, else by its first one.
  if (auto named = item.find("name"); named != item.end())
    label = name + "=" + scalar_text(*named);
  else if (!item.empty())
    label = name + "=" + scalar_text(item.begin().value());
  return vars;
}

// Replaces each loop's steps with one copy per item, and moves every index that pointed past
// them (templates, notify) to the same step's new place.
void expand_task(const Plan& plan, TaskDraft& draft, Diagnostics& diags) {
  std::vector<Step> steps;
  std::vector<std::size_t> moved(draft.task.steps.size() + 1, 0);  // old index -> new first copy
  std::size_t old = 0;
  for (const LoopDraft& loop : draft.loops) {
    for (; old < loop.first; ++old)
      moved[old] = steps.size(), steps.push_back(draft.task.steps[old]);
    std::optional<Json> items = loop_items(plan, loop, diags);
    if (items && !items->is_array()) {
      diags.error(loop.where, expected_but_got("a list", *items));
      items.reset();
    }
    for (std::size_t i = loop.first; i < loop.end; ++i) moved[i] = steps.size() + (i - loop.first);
    // An empty list keeps the steps once, to be reported skipped (`skipped: empty for_each`).
    const std::size_t count = items ? items->size() : 0;
    for (std::size_t n = 0; n < std::max<std::size_t>(count, 1); ++n) {
      std::string label;
      VarMap vars =
          n < count ? item_vars(loop.loop_var, (*items)[n], label) : VarMap{{loop.loop_var, ""}};
      for (std::size_t i = loop.first; i < loop.end; ++i) {
        Step copy = draft.task.steps[i];
        copy.loop_vars = vars;
        copy.item_label = label;
        copy.is_empty_loop = n >= count;
        steps.push_back(std::move(copy));
      }
    }
    old = loop.end;
  }
  for (; old < draft.task.steps.size(); ++old)
    moved[old] = steps.size(), steps.push_back(draft.task.steps[old]);
  moved[draft.task.steps.size()] = steps.size();
  for (TemplateSite& site : draft.templates)
    site.step = moved[std::min(site.step, moved.size() - 1)];
  for (NotifyDraft& notify : draft.notifies)
    notify.step = moved[std::min(notify.step, moved.size() - 1)];
  draft.task.steps = std::move(steps);
}

}  // namespace

void expand_loops(const Plan& plan, std::vector<TaskDraft>& tasks, Diagnostics& diags) {
  for (TaskDraft& draft : tasks)
    if (!draft.loops.empty()) expand_task(plan, draft, diags);
}

void validate_notify(std::vector<TaskDraft>& tasks, Diagnostics& diags) {
  std::unordered_map<std::string, std::size_t> index;
  std::vector<std::string> handlers;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    index.emplace(tasks[i].task.name, i);
    if (tasks[i].task.is_handler) handlers.push_back(tasks[i].task.name);
  }
  for (TaskDraft& draft : tasks) {
    for (const NotifyDraft& notify : draft.notifies) {
      auto found = index.find(notify.name);
      if (found == index.end()) {
        diags.error(notify.where, fmt::format("notify: unknown task {}{}", quote(notify.name),
                                              did_you_mean(notify.name, handlers)));
        continue;
      }
      TaskDraft& handler = tasks[found->second];
      if (!handler.task.is_handler) {
        diags.error(notify.where,
                    fmt::format("notify: task {} is not a handler (add \"handler\": true to it)",
                                quote(notify.name)));
      } else if (handler.task.is_local != draft.task.is_local) {
        // plan-format.md: a step notifies the handler on its own host ("local" for local tasks).
        diags.error(
            notify.where,
            fmt::format(
                "notify: {} task {} cannot notify {} handler {}: a step notifies on its own host",
                draft.task.is_local ? "local" : "remote", quote(draft.task.name),
                handler.task.is_local ? "local" : "remote", quote(notify.name)));
      } else if (std::find(handler.task.notified_by.begin(), handler.task.notified_by.end(),
                           draft.task.name) == handler.task.notified_by.end()) {
        handler.task.notified_by.push_back(draft.task.name);
        handler.notified_at.push_back(notify.where);
      }
    }
  }
}

}  // namespace deployd::plan
