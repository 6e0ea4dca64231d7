// SPDX-License-Identifier: MIT
// --graph: the selected tasks as a Graphviz digraph, ranked by dependency depth.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "graph/task_graph.hpp"

namespace deployd::graph {
namespace {

// Depth 0 for tasks without needs, else one more than the deepest need.
std::vector<int> depths(const std::vector<const Task*>& tasks) {
  std::vector<std::vector<int>> needs = need_indices(tasks);
  std::vector<int> depth(tasks.size(), 0);
  for (std::size_t i = 0; i < tasks.size(); ++i)  // tasks are in dependency order
    for (int need : needs[i]) depth[i] = std::max(depth[i], depth[need] + 1);
  return depth;
}

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string to_dot(const Plan& plan, const std::vector<const Task*>& tasks) {
  std::string out = "digraph deployd {\n  rankdir=LR;\n  node [shape=box];\n";
  std::vector<int> depth = depths(tasks);
  std::map<int, std::vector<std::string>> ranks;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const Task& task = *tasks[i];
    std::string where = task.is_local ? "local" : fmt::format("{} host{}", task.hosts.size(), task.hosts.size() == 1 ? "" : "s");
    out += fmt::format("  {} [label={}];\n", quoted(task.name),
                       quoted(fmt::format("{} ({})", task.name, where)));
    ranks[depth[i]].push_back(quoted(task.name));
  }
  // plan-format.md, needs: an edge waited for across hosts is bold and says how.
  for (const Task* task : tasks)
    for (const std::string& need : task->needs) {
      const Task* needed = plan.find_task(need);
      const std::set<std::string> need_hosts(needed->hosts.begin(), needed->hosts.end());
      NeedWait wait = task->is_local ? need_wait(*task, *needed, false) : NeedWait::PerHost;
      for (const std::string& host : task->hosts)
        wait = std::max(wait, need_wait(*task, *needed, need_hosts.count(host) > 0));
      const char* style = wait == NeedWait::AllHosts ? " [style=bold, label=\"all hosts\"]"
                          : wait == NeedWait::Barrier ? " [style=bold, label=\"barrier\"]"
                                                      : "";
      out += fmt::format("  {} -> {}{};\n", quoted(need), quoted(task->name), style);
    }
  for (const auto& [rank, names] : ranks)
    out += fmt::format("  {{ rank=same; {}; }}\n", fmt::join(names, "; "));
  return out + "}\n";
}

}  // namespace deployd::graph
