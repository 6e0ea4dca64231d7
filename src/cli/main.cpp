// SPDX-License-Identifier: MIT
// deployd's entry point: a table of contents of the run, phase by phase.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "base/duration_text.hpp"
#include "cli/ad_hoc.hpp"
#include "cli/config_file.hpp"
#include "cli/diff_main.hpp"
#include "cli/fd_limit.hpp"
#include "cli/inspect.hpp"
#include "cli/logging.hpp"
#include "cli/lost_needs.hpp"
#include "cli/options.hpp"
#include "cli/reporting.hpp"
#include "cli/retry.hpp"
#include "cli/run_files.hpp"
#include "cli/runs.hpp"
#include "cli/serve.hpp"
#include "cli/show.hpp"
#include "cli/std_fds.hpp"
#include "deployd/exit_code.hpp"
#include "deployd/load.hpp"
#include "engine/delegates.hpp"
#include "engine/engine.hpp"
#include "engine/run.hpp"
#include "engine/ssh_transport.hpp"
#include "graph/limit.hpp"
#include "graph/task_graph.hpp"
#include "plan/suggest.hpp"
#include "report/run_log.hpp"

namespace deployd::cli {
namespace {

int print_errors(const std::vector<Diagnostic>& errors) {
  for (const Diagnostic& error : errors) std::fprintf(stderr, "deployd: error: %s\n", error.to_string().c_str());
  return static_cast<int>(ExitCode::InvalidPlan);
}

// For the bash completion of -H and --limit: every host, then every group, one a line.
std::string host_names(const Plan& plan) {
  std::string text;
  for (const Host& host : plan.hosts) text += host.name + "\n";
  for (const auto& [group, members] : plan.groups) text += group + "\n";
  return text;
}

// `-H node001 node002` made node002 a task: its "unknown task" error says where the space is.
std::vector<Diagnostic> with_hosts_hint(std::vector<Diagnostic> errors, const Options& options) {
  for (Diagnostic& error : errors)
    for (const std::string& word : options.words_after_hosts)
      if (error.message.starts_with("unknown task " + plan::quote(word)))
        error.message += fmt::format(" (-H takes one comma-separated list: -H {},{})",
                                     options.hosts.empty() ? "HOST" : options.hosts.back(), word);
  return errors;
}

LoadOptions load_options(const Options& options) {
  LoadOptions load;
  load.cli_vars = options.vars;
  load.inventories = options.inventories;
  load.hosts = options.hosts;  // -H: like `fab -H`, names not in the plan are dialled as written
  load.ssh_config = options.ssh_config;
  load.allow_no_hosts = options.list || options.task_names;  // nothing runs: hosts may come later
  return load;
}

LoadResult load(const Options& options) {
  if (!options.is_ad_hoc()) return load_plan(options.plan_path, load_options(options));
  return load_ad_hoc(
      report::AdHocRecord{join_command(options.command), options.sudo, options.timeout},
      load_options(options));
}

// The engine's hosts in their connection, for the progress line.
std::vector<report::ProgressReporter::Connecting> connecting_hosts(const engine::Engine& engine) {
  std::vector<report::ProgressReporter::Connecting> hosts;
  for (const auto& [host, elapsed] : engine.connecting_hosts())
    hosts.push_back({host, std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()});
  return hosts;
}

// The progress line is redrawn, and events.jsonl flushed, this often while the run lasts: so
// `tail -f` follows the log and a crash (SIGKILL, power cut) loses at most this much of it.
constexpr std::chrono::milliseconds kTick{200};

void tick(Reporting& reporting, const engine::Engine& engine) {
  if (reporting.progress) {
    const std::size_t columns = report::terminal_columns(stderr);
    reporting.progress->set_connecting(connecting_hosts(engine));
    reporting.progress->tick(Clock::now(), columns == 0 ? 80 : columns);
  }
  if (reporting.run_log) reporting.run_log->flush();
}

// The first interrupt's message: what still runs, and what the next Ctrl-C does.
void say_interrupted(const engine::Engine& engine, int signal, Duration grace) {
  std::vector<engine::Engine::RunningStep> running = engine.running_steps();
  const char* name = signal == SIGTERM ? "SIGTERM" : signal == SIGHUP ? "SIGHUP" : "interrupted";
  std::string text = fmt::format("\ndeployd: {}: starting nothing new; ", name);
  // A signal sent by a program (kill, systemd, a closed terminal) is not a Ctrl-C.
  const std::string again = signal == SIGINT ? "Ctrl-C again" : "a second SIGINT, SIGTERM or SIGHUP";
  if (running.empty()) {
    text += "no step is running\n";
  } else {
    text += fmt::format(
        "{} running step{} get {} to finish ({}: cancel them now; a third: exit at once)\n",
        running.size(), running.size() == 1 ? "" : "s", base::duration_text(grace), again);
  }
  constexpr std::size_t kShown = 20;
  for (std::size_t i = 0; i < running.size() && i < kShown; ++i) {
    const auto& step = running[i];
    text += fmt::format("  {}: {} {} (running {})\n", step.host, step.task, step.step,
                        base::elapsed_text(step.elapsed));
  }
  if (running.size() > kShown) text += fmt::format("  ... and {} more\n", running.size() - kShown);
  std::fputs(text.c_str(), stderr);
}

// SIGINT, SIGTERM and SIGHUP (a closed terminal or ssh session), staged like pdsh: stop
// starting, then cancel, then exit at once. The run log and summary are written in every case.
void on_signal(Reporting& reporting, engine::Engine& engine, int signal, int count) {
  if (reporting.status_line) reporting.status_line->clear();  // redrawn at the next tick
  if (count == 1) {
    engine.interrupt(signal, 1);
    say_interrupted(engine, signal, engine.abort_grace());
  } else if (count == 2) {
    std::fputs("deployd: cancelling the running steps and stopping their processes\n", stderr);
    engine.interrupt(signal, 2);
  } else {
    // The run log and the summary are still written, then nothing else runs.
    std::fputs("deployd: exiting at once\n", stderr);
    RunEnd end = engine.end_now();
    reporting.reporter->finish();
    std::fflush(nullptr);
    std::_Exit(end.exit_code);
  }
}

// The engine on one io_context thread (docs/architecture.md, "One thread, many coroutines");
// returns the run's exit status.
int execute(const Plan& plan, engine::RunSetup setup, engine::Transport& transport, Reporting& reporting) {
  engine::RunHooks hooks;
  hooks.signals = {SIGINT, SIGTERM, SIGHUP};
  hooks.on_signal = [&reporting](engine::Engine& engine, int signal, int count) {
    on_signal(reporting, engine, signal, count);
  };
  hooks.tick = kTick;
  hooks.on_tick = [&reporting](const engine::Engine& engine) { tick(reporting, engine); };
  const RunEnd end = engine::run(plan, std::move(setup), transport, *reporting.reporter, hooks);
  // New host keys (accept-new) are written once, after every handshake, in one append.
  // The run is done either way: what could not be recorded is a warning, not a failed run.
  for (const std::string& warning : transport.finish())
    std::fprintf(stderr, "deployd: warning: %s\n", warning.c_str());
  reporting.reporter->finish();
  return with_run_log_status(reporting, end.exit_code);
}

int run_main(int argc, char** argv) {
  if (is_show_command(argc, argv)) return show_main(argc, argv);  // no plan: the run log is enough
  if (is_runs_command(argc, argv)) return runs_main(argc, argv);
  if (is_config_command(argc, argv)) return config_main(argc, argv);
  if (is_serve_command(argc, argv)) return serve_main(argc, argv);

  // 1. The command line.
  ParseResult parsed = parse_command_line(argc, argv);
  if (!parsed.options) {
    if (parsed.exit_code == 0)
      std::fputs(parsed.message.c_str(), stdout);
    else
      std::fprintf(stderr, "deployd: error: %s\n", parsed.message.c_str());
    return parsed.exit_code;
  }
  Options& options = *parsed.options;
  // Defaults from the config file for what the command line leaves out (before the retry looks
  // for its run: the config may name the log folder).
  ConfigLookup config = find_config();
  if (!config.errors.empty()) return print_errors(config.errors);
  if (config.config) {
    apply_config(*config.config, options);
    if (options.verbose)
      std::fprintf(stderr, "deployd: config file %s\n", config.config->path.c_str());
  }

  // 2. --retry-failed: the previous run's tasks, -H and inventories, unless given anew.
  Retry retry;
  if (options.retry_failed) retry = prepare_retry(options);
  if (retry.exit_code) return *retry.exit_code;
  if (auto error = use_default_inventory(options))
    return print_errors({Diagnostic{.message = *error}});

  // 3. The plan (or an ad-hoc command's one-task plan), validated whole before anything connects.
  LoadResult loaded = load(options);
  for (const Diagnostic& warning : loaded.warnings)
    std::fprintf(stderr, "deployd: warning: %s\n", warning.to_string().c_str());
  if (options.verbose)
    for (const Diagnostic& note : loaded.notes)
      std::fprintf(stderr, "deployd: %s\n", note.to_string().c_str());
  if (!loaded.plan) return print_errors(loaded.errors);
  const std::vector<std::vector<std::string>> unlimited = graph::task_hosts(*loaded.plan);
  if (auto errors = graph::limit_hosts(*loaded.plan, options.limit); !errors.empty()) return print_errors(errors);
  if (auto errors = graph::exclude_hosts(*loaded.plan, options.exclude); !errors.empty())
    return print_errors(errors);
  Plan& plan = *loaded.plan;
  if (options.batches) plan.policy.batches = *options.batches;  // --batches: this run's waves

  // 4. The tasks to run, with their needs (not with --only), in dependency order; on the hosts
  // to retry.
  if (options.list) return std::fputs(list_tasks(plan).c_str(), stdout), 0;
  if (options.task_names) {
    for (const Task& task : plan.tasks) std::printf("%s\n", task.name.c_str());
    return 0;
  }
  if (options.host_names) return std::fputs(host_names(plan).c_str(), stdout), 0;
  for (const std::string& dropped : graph::drop_needs(plan, options.only))
    std::fprintf(stderr, "deployd: --only: running %s\n", dropped.c_str());
  graph::Selection selection =
      graph::select_tasks(plan, options.only.empty() ? options.tasks : options.only);
  if (!selection.errors.empty()) return print_errors(with_hosts_hint(selection.errors, options));
  // plan-format.md, needs: a --limit that leaves a needed task no host is refused.
  if (!options.limit.empty())
    if (auto errors = limit_errors(plan, selection.tasks, unlimited); !errors.empty()) return print_errors(errors);
  if (options.retry_failed)
    if (std::optional<int> exit_code = restrict_to_retry(plan, selection.tasks, retry))
      return *exit_code;
  if (options.list_hosts) return std::fputs(list_hosts(plan, selection.tasks).c_str(), stdout), 0;
  if (options.graph) return std::fputs(graph::to_dot(plan, selection.tasks).c_str(), stdout), 0;
  std::string run_id = report::make_run_id();
  if (options.dry_run) {
    const std::string text =
        dry_run(plan, selection.tasks, run_id, options.verbose, options.show_files);
    return std::fputs(text.c_str(), stdout), 0;
  }
  // issue 18: --diff connects, reads the hosts' files and runs no step.
  if (options.diff)
    return diff_main(plan, selection.tasks, run_id,
                     options.forks > 0 ? options.forks : plan.policy.forks);

  // 5. Keys: each encrypted key decrypted once (its passphrase asked once), before any connection.
  std::vector<const Host*> hosts = engine::run_hosts(plan, selection.tasks);
  std::string warm_error;  // a daemon of the user's (deployd serve, --persist) lends sessions
  std::unique_ptr<engine::Transport> transport =
      with_warm_sessions(engine::make_ssh_transport(&plan), options.persist, warm_error);
  if (!warm_error.empty()) return print_errors({Diagnostic{.message = warm_error}});
  if (std::string error = transport->prepare(engine::connected_hosts(plan, selection.tasks));
      !error.empty()) {
    std::fprintf(stderr, "deployd: error: %s\n", error.c_str());
    return static_cast<int>(ExitCode::InvalidPlan);
  }

  // 6. Reporters: the terminal (or JSON on stdout) and the run log, which keeps everything.
  if (std::string error = check_report_file(options); !error.empty()) {
    std::fprintf(stderr, "deployd: error: %s\n", error.c_str());
    return static_cast<int>(ExitCode::InvalidPlan);
  }
  Reporting reporting = open_reporting(options, hosts, run_id, run_record(options, retry.run_id));
  if (!reporting.error.empty()) {
    std::fprintf(stderr, "deployd: error: %s\n", reporting.error.c_str());
    return static_cast<int>(ExitCode::InvalidPlan);
  }
  add_run_files(reporting, options, plan, selection.tasks, hosts, std::vector<std::string>(argv, argv + argc));

  // 7. The run; `-v` logs connection phases to stderr while it lasts. Hosts queue rather than
  // run out of descriptors (issue 9: ulimit -n 256 with 1000 hosts).
  const DescriptorFit fit = fit_to_descriptors(raise_descriptor_limit(),
                                               options.forks > 0 ? options.forks : plan.policy.forks,
                                               static_cast<int>(hosts.size()));
  if (!fit.warning.empty()) std::fprintf(stderr, "deployd: warning: %s\n", fit.warning.c_str());
  LoggingScope logging(options.verbose, reporting.status_line.get());
  return execute(plan, engine::RunSetup{run_id, selection.tasks, fit.forks, fit.max_open_sessions}, *transport,
                 reporting);
}

}  // namespace
}  // namespace deployd::cli

int main(int argc, char** argv) {
  deployd::cli::ensure_standard_fds();  // before anything opens a file
  try {
    return deployd::cli::run_main(argc, argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "deployd: fatal: internal error: %s\n", error.what());
  } catch (...) {
    std::fprintf(stderr, "deployd: fatal: internal error\n");
  }
  return 70;  // EX_SOFTWARE
}
