// SPDX-License-Identifier: MIT
// --diff: hosts diffed by a few workers on one io_context, then printed in plan order.
#include "cli/diff_main.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <exception>

#include "async/awaitable.hpp"
#include "deployd/exit_code.hpp"
#include "engine/engine.hpp"
#include "engine/file_diff.hpp"
#include "engine/ssh_transport.hpp"

namespace deployd::cli {
namespace {

// A host has something to compare: a task of the run with a template or put step runs there.
bool has_files(const Host& host, const std::vector<const Task*>& tasks) {
  for (const Task* task : tasks) {
    const bool runs_here = task->run_once ? !task->hosts.empty() && task->hosts.front() == host.name
                                          : std::find(task->hosts.begin(), task->hosts.end(),
                                                      host.name) != task->hosts.end();
    if (task->is_local || !runs_here) continue;
    for (const Step& step : task->steps)
      if (step.kind == StepKind::Template || step.kind == StepKind::Put) return true;
  }
  return false;
}

}  // namespace

int diff_main(const Plan& plan, const std::vector<const Task*>& tasks, const std::string& run_id,
              int forks) {
  engine::DiffRun run{plan, tasks, run_id, {}};
  std::vector<const Host*> hosts;
  for (const Host* host : engine::run_hosts(plan, tasks)) {
    if (!has_files(*host, tasks)) continue;
    hosts.push_back(host);
    run.hosts.push_back(engine::HostDiff{host});
  }
  std::printf("diff only: no step runs and nothing is changed on any host\n");
  std::unique_ptr<engine::Transport> transport = engine::make_ssh_transport(&plan);
  if (std::string error = transport->prepare(hosts); !error.empty()) {
    std::fprintf(stderr, "deployd: error: %s\n", error.c_str());
    return static_cast<int>(ExitCode::InvalidPlan);
  }
  boost::asio::io_context context{1};
  const std::size_t workers = std::clamp<std::size_t>(static_cast<std::size_t>(std::max(forks, 1)),
                                                      1, std::max<std::size_t>(hosts.size(), 1));
  for (std::size_t i = 0; i < workers; ++i)
    boost::asio::co_spawn(context, engine::diff_worker(run, *transport),
                          [](std::exception_ptr error) {
                            if (error) std::rethrow_exception(error);
                          });
  context.run();
  for (const std::string& warning : transport->finish())
    std::fprintf(stderr, "deployd: warning: %s\n", warning.c_str());
  int compared = 0;
  int would_change = 0;
  int changing_hosts = 0;
  int failed = 0;
  for (const engine::HostDiff& diff : run.hosts) {
    const Host& host = *diff.host;
    std::printf("%s (%s@%s:%d)\n%s", host.name.c_str(), host.user.c_str(), host.address.c_str(),
                host.port, diff.text.c_str());
    compared += diff.compared;
    would_change += diff.would_change;
    changing_hosts += diff.would_change > 0 ? 1 : 0;
    failed += diff.is_failed ? 1 : 0;
  }
  std::printf(
      "diff only, nothing was changed: %d of %d file%s would change, on %d of %zu host%s%s\n",
      would_change, compared, compared == 1 ? "" : "s", changing_hosts, run.hosts.size(),
      run.hosts.size() == 1 ? "" : "s",
      failed > 0
          ? fmt::format("; {} host{} not compared whole", failed, failed == 1 ? "" : "s").c_str()
          : "");
  return failed > 0 ? static_cast<int>(ExitCode::HostsFailed) : 0;
}

}  // namespace deployd::cli
