// SPDX-License-Identifier: MIT
// deployd's entry point: a table of contents of the run, phase by phase.
#include <utility>  // before Asio (ssh-facts.md)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <unistd.h>

#include "cli/inspect.hpp"
#include "cli/logging.hpp"
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

namespace asio = boost::asio;

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

// Redraws the progress line every kTick until the run is over (`timer` is cancelled then).
asio::awaitable<void> tick_progress(report::ProgressReporter& progress, asio::steady_timer& timer,
                                    const bool& is_over) {
  constexpr std::chrono::milliseconds kTick{200};
  while (!is_over) {
    timer.expires_after(kTick);
    boost::system::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    const std::size_t columns = report::terminal_columns(stderr);
    if (!is_over) progress.tick(Clock::now(), columns == 0 ? 80 : columns);
  }
}

// Until the run handles interruption itself, Ctrl-C kills deployd: first erase the progress
// line, so the shell's prompt does not land in the middle of it. A signal_set installed later
// (by the engine) replaces this handler.
void erase_progress_and_die(int signal) {
  static constexpr char kErase[] = "\r\x1b[K";
  [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, kErase, sizeof kErase - 1);
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

// The engine on one io_context thread (style.md 8.1); returns the run's exit status.
int execute(const Plan& plan, engine::RunSetup setup, Reporting& reporting) {
  ssh::init_library();
  asio::io_context context{1};
  std::unique_ptr<engine::Transport> transport = engine::make_ssh_transport();
  engine::Engine engine(plan, std::move(setup), *transport, *reporting.reporter);
  int exit_code = static_cast<int>(ExitCode::HostsFailed);
  bool is_over = false;
  asio::steady_timer tick_timer(context);
  asio::co_spawn(context, engine.run(), [&](std::exception_ptr error, RunEnd end) {
    is_over = true;
    tick_timer.cancel();
    if (error) std::rethrow_exception(error);
    exit_code = end.exit_code;
  });
  if (reporting.progress) {
    for (int signal : {SIGINT, SIGTERM, SIGHUP}) std::signal(signal, erase_progress_and_die);
    asio::co_spawn(context, tick_progress(*reporting.progress, tick_timer, is_over), asio::detached);
  }
  context.run();
  reporting.reporter->finish();
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

  // 3. The tasks to run, with their needs, in dependency order.
  if (options.list) return std::fputs(list_tasks(plan).c_str(), stdout), 0;
  if (options.task_names) {
    for (const Task& task : plan.tasks) std::printf("%s\n", task.name.c_str());
    return 0;
  }
  graph::Selection selection = graph::select_tasks(plan, options.tasks);
  if (!selection.errors.empty()) return print_errors(selection.errors);
  if (options.graph) return std::fputs(graph::to_dot(plan, selection.tasks).c_str(), stdout), 0;
  std::string run_id = report::make_run_id();
  if (options.dry_run) return std::fputs(dry_run(plan, selection.tasks, run_id).c_str(), stdout), 0;
  if (auto errors = engine::unsupported_features(plan, selection.tasks); !errors.empty()) return print_errors(errors);

  // 4. Reporters: the terminal (or JSON on stdout) and the run log, which keeps everything.
  std::vector<const Host*> hosts = engine::run_hosts(plan, selection.tasks);
  Reporting reporting = open_reporting(options, plan, selection.tasks, hosts, run_id);
  if (!reporting.error.empty()) {
    std::fprintf(stderr, "deployd: error: %s\n", reporting.error.c_str());
    return static_cast<int>(ExitCode::InvalidPlan);
  }

  // 5. The run; `-v` logs connection phases to stderr while it lasts.
  LoggingScope logging(options.verbose, reporting.status_line.get());
  return execute(plan, engine::RunSetup{run_id, selection.tasks, options.forks}, reporting);
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
