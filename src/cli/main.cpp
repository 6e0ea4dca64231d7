// SPDX-License-Identifier: MIT
// deployd's entry point: a table of contents of the run, phase by phase.
#include <utility>  // before Asio (ssh-facts.md)

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fmt/format.h>

#include "cli/inspect.hpp"
#include "cli/options.hpp"
#include "cli/reporting.hpp"
#include "cli/retry.hpp"
#include "deployd/exit_code.hpp"
#include "deployd/load.hpp"
#include "engine/capabilities.hpp"
#include "engine/engine.hpp"
#include "engine/step_text.hpp"
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

// The first interrupt's message: what still runs, and what the next Ctrl-C does.
void say_interrupted(const engine::Engine& engine, int signal, Duration grace) {
  std::vector<engine::Engine::RunningStep> running = engine.running_steps();
  std::string text = fmt::format("\ndeployd: {}: starting nothing new; ", signal == SIGTERM ? "SIGTERM" : "interrupted");
  if (running.empty()) {
    text += "no step is running\n";
  } else {
    text += fmt::format("{} running step{} get {} to finish (Ctrl-C again: cancel them now; a third time: exit at once)\n",
                        running.size(), running.size() == 1 ? "" : "s", engine::duration_text(grace));
  }
  constexpr std::size_t kShown = 20;
  for (std::size_t i = 0; i < running.size() && i < kShown; ++i) {
    const auto& step = running[i];
    text += fmt::format("  {}: {} {} (running {})\n", step.host, step.task, step.step,
                        engine::duration_text(step.elapsed));
  }
  if (running.size() > kShown) text += fmt::format("  ... and {} more\n", running.size() - kShown);
  std::fputs(text.c_str(), stderr);
}

// SIGINT and SIGTERM, staged like pdsh: stop starting, then cancel, then exit at once.
class Interrupts {
 public:
  Interrupts(boost::asio::io_context& context, engine::Engine& engine, Reporter& reporter, const Plan& plan)
      : signals_(context, SIGINT, SIGTERM), engine_(engine), reporter_(reporter), plan_(plan) {
    wait();
  }
  void stop() {
    boost::system::error_code ignored;
    signals_.cancel(ignored);
  }

 private:
  void wait() {
    signals_.async_wait([this](boost::system::error_code ec, int signal) {
      if (ec) return;
      on_signal(signal);
      wait();
    });
  }
  void on_signal(int signal) {
    ++count_;
    if (count_ == 1) {
      engine_.interrupt(signal, 1);
      say_interrupted(engine_, signal, plan_.policy.abort_grace);
    } else if (count_ == 2) {
      std::fputs("deployd: cancelling the running steps and stopping their processes\n", stderr);
      engine_.interrupt(signal, 2);
    } else {
      // The run log and the summary are still written, then nothing else runs.
      std::fputs("deployd: exiting at once\n", stderr);
      RunEnd end = engine_.end_now();
      reporter_.finish();
      std::fflush(nullptr);
      std::_Exit(end.exit_code);
    }
  }

  boost::asio::signal_set signals_;
  engine::Engine& engine_;
  Reporter& reporter_;
  const Plan& plan_;
  int count_ = 0;
};

// The engine on one io_context thread (style.md 8.1); returns the run's exit status.
int execute(const Plan& plan, engine::RunSetup setup, Reporter& reporter) {
  ssh::init_library();
  boost::asio::io_context context{1};
  std::unique_ptr<engine::Transport> transport = engine::make_ssh_transport();
  engine::Engine engine(plan, std::move(setup), *transport, reporter);
  Interrupts interrupts(context, engine, reporter, plan);
  int exit_code = static_cast<int>(ExitCode::HostsFailed);
  boost::asio::co_spawn(context, engine.run(), [&](std::exception_ptr error, RunEnd end) {
    interrupts.stop();
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
  Options& options = *parsed.options;

  // 2. --retry-failed: the previous run's tasks, -H and inventories, unless given anew.
  Retry retry;
  if (options.retry_failed) retry = prepare_retry(options);
  if (retry.exit_code) return *retry.exit_code;

  // 3. The plan, validated whole before anything connects.
  LoadResult loaded = load_plan(options.plan_path, load_options(options));
  if (!loaded.plan) return print_errors(loaded.errors);
  if (auto errors = graph::limit_hosts(*loaded.plan, options.limit); !errors.empty()) return print_errors(errors);
  Plan& plan = *loaded.plan;
  if (std::vector<Diagnostic> errors = unsupported_options(options); !errors.empty()) return print_errors(errors);

  // 4. The tasks to run, with their needs, in dependency order; on the hosts to retry.
  if (options.list) return std::fputs(list_tasks(plan).c_str(), stdout), 0;
  graph::Selection selection = graph::select_tasks(plan, options.tasks);
  if (!selection.errors.empty()) return print_errors(selection.errors);
  if (options.retry_failed)
    if (std::optional<int> exit_code = restrict_to_retry(plan, selection.tasks, retry))
      return *exit_code;
  if (options.graph) return std::fputs(graph::to_dot(plan, selection.tasks).c_str(), stdout), 0;
  std::string run_id = report::make_run_id();
  if (options.dry_run) return std::fputs(dry_run(plan, selection.tasks, run_id).c_str(), stdout), 0;
  if (auto errors = engine::unsupported_features(plan, selection.tasks); !errors.empty()) return print_errors(errors);

  // 5. Reporters: the terminal (or JSON on stdout) and the run log, which keeps everything.
  std::vector<const Host*> hosts = engine::run_hosts(plan, selection.tasks);
  Reporting reporting = open_reporting(options, hosts, run_id, run_record(options, retry.run_id));
  if (!reporting.error.empty()) {
    std::fprintf(stderr, "deployd: error: %s\n", reporting.error.c_str());
    return static_cast<int>(ExitCode::InvalidPlan);
  }

  // 6. The run.
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
