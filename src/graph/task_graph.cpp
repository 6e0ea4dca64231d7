// SPDX-License-Identifier: MIT
// Task selection and dependency order: named tasks in command-line order, else document order.
#include "graph/task_graph.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <map>
#include <set>

#include "plan/suggest.hpp"

namespace deployd::graph {
namespace {

std::vector<std::string> task_names(const Plan& plan) {
  std::vector<std::string> names;
  for (const Task& task : plan.tasks) names.push_back(task.name);
  return names;
}

// The names to start from: those given, else the `default` tasks, else all of them but the
// handlers (which come with the tasks that notify them).
std::vector<std::string> roots(const Plan& plan, const std::vector<std::string>& names) {
  if (!names.empty()) return names;
  std::vector<std::string> defaults;
  std::vector<std::string> all;
  for (const Task& task : plan.tasks) {
    if (task.is_default) defaults.push_back(task.name);
    if (!task.is_handler) all.push_back(task.name);
  }
  return defaults.empty() ? all : defaults;
}

// A task brings its needs and the handlers its steps notify (plan-format.md, "Handlers").
void add_with_needs(const Plan& plan, const Task& task, std::set<std::string>& chosen) {
  if (!chosen.insert(task.name).second) return;
  for (const std::string& need : task.needs)
    if (const Task* needed = plan.find_task(need)) add_with_needs(plan, *needed, chosen);
  for (const Step& step : task.steps)
    for (const std::string& name : step.notify)
      if (const Task* handler = plan.find_task(name)) add_with_needs(plan, *handler, chosen);
}

// What a task waits for in the run's order: its needs, and for a handler its notifiers that
// are in the run.
std::vector<std::string> order_needs(const Task& task, const std::set<std::string>& chosen) {
  std::vector<std::string> needs = task.needs;
  for (const std::string& notifier : task.notified_by)
    if (chosen.count(notifier)) needs.push_back(notifier);
  return needs;
}

Diagnostic unknown_task(const Plan& plan, const std::string& name) {
  std::string message = fmt::format("unknown task \"{}\"", name);
  std::string close = plan::suggest(name, task_names(plan));
  if (!close.empty()) message += fmt::format(" (did you mean \"{}\"?)", close);
  return Diagnostic{.file = "", .json_pointer = "", .line = 0, .column = 0, .message = message};
}

// Repeatedly takes the first task in document order whose needs are all placed.
std::vector<const Task*> in_document_order(const Plan& plan, const std::set<std::string>& chosen) {
  std::vector<const Task*> ordered;
  std::set<std::string> placed;
  bool progressed = true;
  while (progressed && placed.size() < chosen.size()) {
    progressed = false;
    for (const Task& task : plan.tasks) {
      if (!chosen.count(task.name) || placed.count(task.name)) continue;
      bool ready = true;
      for (const std::string& need : order_needs(task, chosen))
        ready = ready && placed.count(need) > 0;
      if (!ready) continue;
      ordered.push_back(&task);
      placed.insert(task.name);
      progressed = true;
      break;
    }
  }
  assert(progressed && "the loader rejects cycles");
  return ordered;
}

// Depth first: the needs not placed yet, in document order, then the task.
void place(const Plan& plan, const Task& task, const std::set<std::string>& chosen,
           std::set<std::string>& placed, std::vector<const Task*>& ordered) {
  if (placed.count(task.name)) return;
  std::vector<const Task*> needs;
  for (const std::string& need : order_needs(task, chosen))
    if (const Task* needed = plan.find_task(need)) needs.push_back(needed);
  std::sort(needs.begin(), needs.end());  // plan.tasks is one vector: address order is document order
  for (const Task* need : needs) place(plan, *need, chosen, placed, ordered);
  placed.insert(task.name);
  ordered.push_back(&task);
}

}  // namespace

Selection select_tasks(const Plan& plan, const std::vector<std::string>& names) {
  Selection selection;
  std::set<std::string> chosen;
  for (const std::string& name : roots(plan, names)) {
    if (const Task* task = plan.find_task(name)) {
      add_with_needs(plan, *task, chosen);
    } else {
      selection.errors.push_back(unknown_task(plan, name));
    }
  }
  if (!selection.errors.empty()) return selection;

  if (names.empty()) {
    selection.tasks = in_document_order(plan, chosen);
  } else {
    // plan-format.md, task selection: named tasks run in command-line order (as Fabric's),
    // each after its needs.
    std::set<std::string> placed;
    for (const std::string& name : names)
      place(plan, *plan.find_task(name), chosen, placed, selection.tasks);
    // Handlers that named tasks notify, after them (in plan order).
    for (const Task& task : plan.tasks)
      if (chosen.count(task.name)) place(plan, task, chosen, placed, selection.tasks);
  }
  return selection;
}

// A local or run_once need, or one on other hosts, is waited for on all of its hosts; barrier
// and run_once tasks wait for their own hosts' wave; anything else is per host.
NeedWait need_wait(const Task& task, const Task& need, bool runs_need) {
  if (need.is_local || need.run_once || task.is_local || !runs_need) return NeedWait::AllHosts;
  return task.barrier || task.run_once ? NeedWait::Barrier : NeedWait::PerHost;
}

std::vector<std::vector<int>> notifier_indices(const std::vector<const Task*>& tasks) {
  std::map<std::string, int> index;
  for (std::size_t i = 0; i < tasks.size(); ++i) index[tasks[i]->name] = static_cast<int>(i);
  std::vector<std::vector<int>> notifiers(tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i)
    for (const std::string& name : tasks[i]->notified_by)
      if (auto found = index.find(name); found != index.end())
        notifiers[i].push_back(found->second);
  return notifiers;
}

std::vector<std::vector<int>> need_indices(const std::vector<const Task*>& tasks) {
  std::map<std::string, int> index;
  for (std::size_t i = 0; i < tasks.size(); ++i) index[tasks[i]->name] = static_cast<int>(i);
  std::vector<std::vector<int>> needs(tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i)
    for (const std::string& need : tasks[i]->needs) needs[i].push_back(index.at(need));
  return needs;
}

}  // namespace deployd::graph
