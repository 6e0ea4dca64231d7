// SPDX-License-Identifier: MIT
// deployd's entry point: a table of contents of the run, phase by phase.
#include <utility>  // before Asio (ssh-facts.md)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <exception>
#include <fmt/format.h>

#include "cli/inspect.hpp"
#include "cli/options.hpp"
#include "cli/reporting.hpp"
#include "deployd/exit_code.hpp"
#include "deployd/load.hpp"
#include "engine/capabilities.hpp"
#include "engine/engine.hpp"
#include "engine/ssh_transport.hpp"
#include "graph/limit.hpp"
#include "graph/task_graph.hpp"
#include "report/run_log.hpp"
#include "ssh/init.hpp"

namespace deployd::cli {
namespace {

int print_errors(const std::vector<Diagnostic>& errors) {
  for (const Diagnostic& error : errors) std::fprintf(stderr, "deployd: error: %s\n", error.to_string().c_str());
  return static_cast<int>(ExitCode::InvalidPlan);
}

LoadOptions load_options(const Options& options) {
  LoadOptions load;
  load.cli_vars = options.vars;
  load.inventories = options.inventories;
  load.hosts = options.hosts;  // -H: like `fab -H`, names not in the plan are dialled as written
  return load;
}

std::vector<Diagnostic> unsupported_options(const Options& options) {
  std::vector<Diagnostic> errors;
  auto refuse = [&](const char* what) {
    errors.push_back(Diagnostic{"", "", 0, 0, fmt::format("{} is not supported by this version of deployd yet", what)});
  };
  if (options.output == OutputMode::Group) refuse("--output group");
  return errors;
}

// The engine on one io_context thread (style.md 8.1); returns the run's exit status.
int execute(const Plan& plan, engine::RunSetup setup, Reporter& reporter) {
  ssh::init_library();
  boost::asio::io_context context{1};
  std::unique_ptr<engine::Transport> transport = engine::make_ssh_transport(&plan);
  engine::Engine engine(plan, std::move(setup), *transport, reporter);
  int exit_code = static_cast<int>(ExitCode::HostsFailed);
  boost::asio::co_spawn(context, engine.run(), [&](std::exception_ptr error, RunEnd end) {
    if (error) std::rethrow_exception(error);
    exit_code = end.exit_code;
  });
  context.run();
  reporter.finish();
  return exit_code;
}

int run_main(int argc, char** argv) {
  // 1. The command line.
  ParseResult parsed = parse_command_line(argc, argv);
  if (!parsed.options) {
    std::fputs(parsed.message.c_str(), parsed.exit_code == 0 ? stdout : stderr);
    if (parsed.exit_code != 0) std::fputc('\n', stderr);
    return parsed.exit_code;
  }
  const Options& options = *parsed.options;

  // 2. The plan, validated whole before anything connects.
  LoadResult loaded = load_plan(options.plan_path, load_options(options));
  if (!loaded.plan) return print_errors(loaded.errors);
  if (auto errors = graph::limit_hosts(*loaded.plan, options.limit); !errors.empty()) return print_errors(errors);
  const Plan& plan = *loaded.plan;
  if (std::vector<Diagnostic> errors = unsupported_options(options); !errors.empty()) return print_errors(errors);

  // 3. The tasks to run, with their needs, in dependency order.
  if (options.list) return std::fputs(list_tasks(plan).c_str(), stdout), 0;
  graph::Selection selection = graph::select_tasks(plan, options.tasks);
  if (!selection.errors.empty()) return print_errors(selection.errors);
  if (options.graph) return std::fputs(graph::to_dot(plan, selection.tasks).c_str(), stdout), 0;
  std::string run_id = report::make_run_id();
  if (options.dry_run) return std::fputs(dry_run(plan, selection.tasks, run_id).c_str(), stdout), 0;
  if (auto errors = engine::unsupported_features(plan, selection.tasks); !errors.empty()) return print_errors(errors);

  // 4. Reporters: the terminal (or JSON on stdout) and the run log, which keeps everything.
  std::vector<const Host*> hosts = engine::run_hosts(plan, selection.tasks);
  Reporting reporting = open_reporting(options, plan, hosts, run_id);
  if (!reporting.error.empty()) {
    std::fprintf(stderr, "deployd: error: %s\n", reporting.error.c_str());
    return static_cast<int>(ExitCode::InvalidPlan);
  }

  // 5. The run.
  return execute(plan, engine::RunSetup{run_id, selection.tasks, options.forks}, *reporting.reporter);
}

}  // namespace
}  // namespace deployd::cli

int main(int argc, char** argv) {
  try {
    return deployd::cli::run_main(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "deployd: fatal: internal error: %s\n", error.what());
  } catch (...) {
    std::fprintf(stderr, "deployd: fatal: internal error\n");
  }
  return 70;  // EX_SOFTWARE
}
