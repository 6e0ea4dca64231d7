// SPDX-License-Identifier: MIT
// Task keys (plan-format.md, "Tasks"): needs, on, run_once, barrier, policy, default, steps.
#include "plan/tasks_reader.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "plan/fields.hpp"
#include "plan/policy_reader.hpp"
#include "plan/shell_reader.hpp"
#include "plan/suggest.hpp"

namespace deployd::plan {

namespace {

// Task names are typed on the command line: no spaces, commas or a leading `-`.
bool is_valid_task_name(const std::string& name) {
  if (name.empty() || name.front() == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == ':';
  });
}

}  // namespace

std::vector<std::string> read_names(const Node& node, std::vector<Where>& at, Diagnostics& diags) {
  std::vector<std::string> names;
  if (node.value().is_string()) {
    if (auto name = read_string(node, diags)) {
      names.push_back(*name);
      at.push_back(node.where);
    }
    return names;
  }
  if (!node.value().is_array()) {
    diags.error(node.where, expected_but_got("a name or a list of names", node.value()));
    return names;
  }
  for (std::size_t i = 0; i < node.value().size(); ++i) {
    Node item = node.item(i);
    if (auto name = read_string(item, diags)) {
      names.push_back(*name);
      at.push_back(item.where);
    }
  }
  return names;
}

namespace {

void read_on(const Node& node, TaskDraft& draft, Diagnostics& diags) {
  Task& task = draft.task;
  task.on = read_names(node, draft.on_at, diags);
  if (node.value().is_array() && node.value().empty())
    diags.error(node.where,
                "expected \"local\", \"all\", a group, a host or a non-empty list of them");
  auto local = std::find(task.on.begin(), task.on.end(), "local");
  if (local == task.on.end()) return;
  if (task.on.size() > 1) {
    diags.error(draft.on_at[local - task.on.begin()],
                "\"local\" cannot be combined with hosts or groups");
    return;
  }
  task.is_local = true;
}

void read_flags(const Node& node, Task& task, Diagnostics& diags) {
  if (auto key = node.find("description"))
    task.description = read_string(*key, diags, true).value_or("");
  if (auto key = node.find("run_once")) task.run_once = read_bool(*key, diags).value_or(false);
  if (auto key = node.find("barrier")) task.barrier = read_bool(*key, diags).value_or(false);
  if (auto key = node.find("default")) task.is_default = read_bool(*key, diags).value_or(false);
  if (auto key = node.find("handler")) task.is_handler = read_bool(*key, diags).value_or(false);
  if (task.is_handler && task.run_once)
    diags.error(node.child("handler").where,
                "a handler cannot be \"run_once\" (yet): it runs on each host that notified it");
  if (auto key = node.find("policy")) task.policy = read_task_policy(*key, diags);
  if (task.run_once && task.is_local)
    diags.error(node.child("run_once").where, "\"run_once\" applies to remote tasks only");
  if ((task.policy.serial || !task.policy.batches.empty()) && (task.is_local || task.run_once))
    diags.error(
        node.child("policy").where,
        "\"serial\" and \"batches\" roll a task over its hosts: a local or run_once task has one");
}

std::optional<TaskDraft> read_task(const Node& tasks, const std::string& name, Diagnostics& diags,
                                   const std::vector<std::string>& shell) {
  Node node = tasks.child(name);
  if (!is_valid_task_name(name)) {
    diags.key_error(
        tasks.where, name,
        fmt::format("bad task name {} (use letters, digits, \".\", \"-\", \"_\" and \":\")",
                    quote(name)));
  }
  if (!expect_object(node, diags)) return std::nullopt;
  check_keys(node,
             {"description", "needs", "on", "run_once", "barrier", "policy", "default", "handler",
              "when", "steps", "shell", "prefix"},
             diags);
  TaskDraft draft;
  draft.where = node.where;
  draft.task.name = name;
  draft.task.json_pointer = node.pointer();
  if (auto key = node.find("needs")) draft.task.needs = read_names(*key, draft.need_at, diags);
  if (auto key = node.find("on")) {
    read_on(*key, draft, diags);
  } else {
    draft.task.on = {"all"};
    draft.on_at = {node.where};
  }
  read_flags(node, draft.task, diags);
  if (auto key = node.find("when")) {
    draft.task.when = read_condition(*key, "when", diags);
    if (draft.task.when)
      draft.templates.push_back({key->where, draft.task.when->text, 0, draft.task.when->expr});
  }
  Step scope;
  scope.shell = shell;
  read_shell_scope(node, scope, draft, diags);
  if (auto steps = node.find("steps")) {
    read_steps(*steps, draft, diags, scope);
  } else {
    diags.error(node.where, "missing required key \"steps\"");
  }
  return draft;
}

}  // namespace

std::vector<TaskDraft> read_tasks(const Node& node, Diagnostics& diags,
                                  const std::vector<std::string>& shell) {
  std::vector<TaskDraft> tasks;
  if (!expect_object(node, diags)) return tasks;
  if (node.value().empty()) diags.error(node.where, "a plan needs at least one task");
  for (const auto& item : node.value().items())
    if (auto task = read_task(node, item.key(), diags, shell)) tasks.push_back(std::move(*task));
  return tasks;
}

}  // namespace deployd::plan
