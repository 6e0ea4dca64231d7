// SPDX-License-Identifier: MIT
// deployd::run (include/deployd/run.hpp): what the CLI does for a run, minus the terminal.
#include <algorithm>
#include <memory>
#include <utility>

#include "deployd/run.hpp"
#include "engine/delegates.hpp"
#include "engine/run.hpp"
#include "engine/ssh_transport.hpp"
#include "graph/task_graph.hpp"

namespace deployd {

RunResult run(const Plan& plan, const RunOptions& options, Reporter& reporter,
              std::stop_token stop) {
  RunResult result;
  graph::Selection selection = graph::select_tasks(plan, options.tasks);
  if (!selection.errors.empty()) {
    result.errors = std::move(selection.errors);
    return result;
  }
  // Every host the run connects to, delegate_to hosts too: their keys are read before any
  // connection, so an unreadable one is an error of the run, not of a host.
  std::vector<const Host*> hosts = engine::run_hosts(plan, selection.tasks);
  for (const Host* delegate : engine::delegate_hosts(plan, selection.tasks))
    if (std::find(hosts.begin(), hosts.end(), delegate) == hosts.end()) hosts.push_back(delegate);
  std::unique_ptr<engine::Transport> transport = engine::make_ssh_transport(&plan);
  if (std::string error = transport->prepare(hosts); !error.empty()) {
    result.errors.push_back(Diagnostic{.message = std::move(error)});
    return result;
  }
  engine::RunHooks hooks;
  hooks.stop = std::move(stop);
  result.end = engine::run(plan, engine::RunSetup{options.run_id, selection.tasks, options.forks},
                           *transport, reporter, hooks);
  for (std::string& error : transport->finish())
    result.warnings.push_back(std::move(error) + ": the new host keys of this run were not saved");
  reporter.finish();
  return result;
}

}  // namespace deployd
