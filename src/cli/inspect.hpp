// SPDX-License-Identifier: MIT
// The answers that need no connection: --list, --list-hosts, --dry-run.
#pragma once

#include <string>
#include <vector>

#include "deployd/plan.hpp"

namespace deployd::cli {

/// --list: the plan's description, then every task with its description, targets (and how
/// many hosts they are, when the plan has hosts) and needs, in document order.
std::string list_tasks(const Plan& plan);

/// --list-hosts: the hosts `tasks` run on, folded into ranges (`web[01-20],db1 (21 hosts)`),
/// and `local (this machine)` when a local task runs.
std::string list_hosts(const Plan& plan, const std::vector<const Task*>& tasks);

/// --dry-run: per host, the steps that would run, with variables resolved; `show_files`
/// (--show-files): under each template and put step, the bytes it would install there.
std::string dry_run(const Plan& plan, const std::vector<const Task*>& tasks,
                    const std::string& run_id, bool verbose = false, bool show_files = false);

}  // namespace deployd::cli
