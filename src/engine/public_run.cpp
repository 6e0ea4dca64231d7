// SPDX-License-Identifier: MIT
// deployd::run (include/deployd/run.hpp): what the CLI does for a run, minus the terminal.
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
  std::unique_ptr<engine::Transport> transport = engine::make_ssh_transport(&plan);
  if (std::string error = transport->prepare(engine::connected_hosts(plan, selection.tasks));
      !error.empty()) {
    result.errors.push_back(Diagnostic{.message = std::move(error)});
    return result;
  }
  engine::RunHooks hooks;
  hooks.stop = std::move(stop);
  result.end = engine::run(plan, engine::RunSetup{options.run_id, selection.tasks, options.forks},
                           *transport, reporter, hooks);
  result.warnings = transport->finish();
  reporter.finish();
  return result;
}

}  // namespace deployd
