// SPDX-License-Identifier: MIT
// Control flow across steps and tasks: `for_each` expanded into copies of its steps, and
// `notify` names checked against the handlers they name (plan-format.md, "Loops", "Handlers").
#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "plan/expr.hpp"
#include "plan/fields.hpp"
#include "plan/suggest.hpp"
#include "plan/validate.hpp"
#include "plan/vars.hpp"

namespace deployd::plan {

namespace {

// A --var's JSON as a Value: strings as they are, numbers and booleans as written.
Value from_json(const Json& json) {
  if (json.is_string()) return Value(json.get<std::string>());
  std::vector<Value> items;
  if (json.is_array()) {
    for (const Json& item : json) items.push_back(from_json(item));
    return Value::list(std::move(items));
  }
  if (!json.is_object()) return Value(json.dump());
  std::vector<std::string> keys;
  for (const auto& [key, item] : json.items()) {
    keys.push_back(key);
    items.push_back(from_json(item));
  }
  return Value::object(std::move(keys), std::move(items));
}

// The list a loop goes over, or nullopt after an error: a list literal, a list in the plan's
// `vars`, or a --var holding a JSON list (`--var NAME='["a","b"]'`; `is_data`: not templates).
std::optional<Value> loop_items(const Plan& plan, const LoopDraft& loop, bool& is_data,
                                Diagnostics& diags) {
  is_data = false;
  if (loop.items) return loop.items;
  if (auto found = plan.overrides.find(loop.var_name); found != plan.overrides.end()) {
    Json parsed = Json::parse(found->second, nullptr, false);
    if (parsed.is_array()) {
      is_data = true;
      return from_json(parsed);
    }
    diags.error(loop.where, fmt::format("for_each: variable {} is not a list (it holds {})",
                                        quote(loop.var_name), quote(found->second)));
    return std::nullopt;
  }
  if (auto found = plan.vars.find(loop.var_name); found != plan.vars.end()) {
    if (found->second.kind == Value::Kind::List) return found->second;
    diags.error(loop.where, fmt::format("for_each: variable {} is not a list (it holds {})",
                                        quote(loop.var_name), quote(to_text(found->second))));
    return std::nullopt;
  }
  std::vector<std::string> names;
  for (const auto& entry : plan.overrides) names.push_back(entry.first);
  for (const auto& entry : plan.vars) names.push_back(entry.first);
  diags.error(
      loop.where,
      fmt::format("for_each: unknown variable {} (a list in the plan's \"vars\" or a --var){}",
                  quote(loop.var_name), did_you_mean(loop.var_name, names)));
  return std::nullopt;
}

// How output names an item: `site=shop`; an object by its `name` member, else its first one.
std::string item_label(const std::string& name, const Value& item) {
  const Value* shown = &item;
  if (item.kind == Value::Kind::Object && !item.items.empty())
    shown = item.member("name") ? item.member("name") : &item.items.front();
  return name + "=" + to_text(*shown);
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
    bool is_data = false;
    std::optional<Value> items = loop_items(plan, loop, is_data, diags);
    for (std::size_t i = loop.first; i < loop.end; ++i) moved[i] = steps.size() + (i - loop.first);
    // An empty list keeps the steps once, to be reported skipped (`skipped: empty for_each`).
    const std::size_t count = items ? items->items.size() : 0;
    for (std::size_t n = 0; n < std::max<std::size_t>(count, 1); ++n) {
      Value item = n < count ? items->items[n] : Value();
      if (item.defined_at.empty() && items) item.defined_at = items->defined_at;
      const std::string label = n < count ? item_label(loop.loop_var, item) : "";
      Vars vars{{loop.loop_var, std::move(item)}};
      for (std::size_t i = loop.first; i < loop.end; ++i) {
        Step copy = draft.task.steps[i];
        copy.loop_vars = vars;
        copy.loop_is_data = is_data;
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
