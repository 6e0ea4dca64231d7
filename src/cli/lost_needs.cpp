// SPDX-License-Identifier: MIT
// Needs that narrowing would lose (see lost_needs.hpp).
#include "cli/lost_needs.hpp"

#include <fmt/format.h>

#include <set>

#include "base/host_ranges.hpp"
#include "graph/limit.hpp"

namespace deployd::cli {
namespace {

std::size_t index_of(const Plan& plan, const Task* task) {
  return static_cast<std::size_t>(task - plan.tasks.data());
}

// `node005`, or `node[005-006] (2 hosts)`.
std::string hosts_text(const std::vector<std::string>& hosts) {
  std::string text = base::compress_hosts(hosts);
  if (hosts.size() != 1) text += fmt::format(" ({} hosts)", hosts.size());
  return text;
}

}  // namespace

std::vector<Diagnostic> limit_errors(const Plan& plan, const std::vector<const Task*>& tasks,
                                     const std::vector<std::vector<std::string>>& before) {
  std::vector<Diagnostic> errors;
  for (const graph::LostNeed& lost : graph::lost_needs(tasks)) {
    const std::vector<std::string>& hosts = before[index_of(plan, lost.need)];
    const bool one = hosts.size() == 1;
    errors.push_back(Diagnostic{
        "", "", 0, 0,
        fmt::format("task \"{}\" needs \"{}\", which runs on {}, but --limit leaves {} out: add {} to --limit",
                    lost.task->name, lost.need->name, hosts_text(hosts), one ? hosts.front() : "them",
                    one ? "it" : "them")});
  }
  return errors;
}

std::vector<std::string> run_lost_needs_again(Plan& plan, const std::vector<const Task*>& tasks,
                                              const std::vector<std::vector<std::string>>& before) {
  std::vector<std::string> lines;
  std::set<const Task*> restored;
  for (bool again = true; again;) {  // a task run again may need others in turn
    again = false;
    for (const graph::LostNeed& lost : graph::lost_needs(tasks)) {
      const std::vector<std::string>& hosts = before[index_of(plan, lost.need)];
      if (hosts.empty() || !restored.insert(lost.need).second) continue;
      plan.tasks[index_of(plan, lost.need)].hosts = hosts;
      lines.push_back(fmt::format("runs \"{}\" again on {}: \"{}\" needs it", lost.need->name,
                                  hosts_text(hosts), lost.task->name));
      again = true;
    }
  }
  return lines;
}

}  // namespace deployd::cli
