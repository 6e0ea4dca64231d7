// SPDX-License-Identifier: MIT
// `deployd show` (see show.hpp).
#include "cli/show.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "cli/config_file.hpp"
#include "cli/command_help.hpp"
#include "cli/replay.hpp"
#include "cli/usage_text.hpp"
#include "deployd/exit_code.hpp"
#include "report/escape.hpp"
#include "report/html_report_file.hpp"
#include "report/recorded_run.hpp"
#include "report/run_log.hpp"
#include "report/status_line.hpp"
#include "report/terminal.hpp"
#include "report/terminal_timeline.hpp"

namespace deployd::cli {
namespace {

namespace fs = std::filesystem;

struct ShowOptions {
  std::string run;
  std::string log_dir;
  std::string plan;
  std::string html;
  bool timeline = false;
  std::string hosts;  ///< --hosts N for --timeline (default 20)
  std::string color = "auto";
  std::string output;  ///< --output stream|group: the run printed again
  std::string host;    ///< --host H: only this host's events, with --output
};

int show_usage_error(const std::string& message) {
  std::fprintf(stderr, "deployd: error: %s\n", message.c_str());
  return static_cast<int>(ExitCode::InvalidPlan);
}

// RUN is a run id in the log folder (--log-dir, else .deployd/runs beside --plan, else in the
// current folder), or the path of a run's folder.
fs::path run_folder(const ShowOptions& options, std::string& error) {
  std::error_code ignored;
  if (!report::is_run_id(options.run) &&
      fs::is_regular_file(fs::path(options.run) / "events.jsonl", ignored))
    return options.run;
  const fs::path log_dir = recorded_log_dir(options.log_dir, options.plan);
  const fs::path dir = log_dir / options.run;
  if (fs::is_regular_file(dir / "events.jsonl", ignored)) return dir;
  error = "run \"" + report::escape_terminal(options.run) + "\" not found in \"" +
          report::escape_terminal(log_dir.string()) +
          "\" (give the log folder with --log-dir, or the run's folder)";
  return {};
}

bool wants_color(const std::string& mode) {
  if (mode == "always") return true;
  if (mode == "never") return false;
  return report::color_wanted(stdout);
}

}  // namespace

fs::path recorded_log_dir(const std::string& log_dir, const std::string& plan) {
  // Runs go where the config file's log_dir sends them, when --log-dir does not say.
  if (log_dir.empty()) {
    const ConfigLookup config = find_config();
    if (config.config && config.config->log_dir) return *config.config->log_dir;
  }
  fs::path dir = !log_dir.empty()  ? fs::path(log_dir)
                 : !plan.empty() ? fs::path(plan).parent_path() / ".deployd" / "runs"
                                 : fs::path(".deployd") / "runs";
  return dir.empty() ? fs::path(".") : dir;
}

bool is_show_command(int argc, const char* const* argv) {
  return argc > 1 && std::string_view(argv[1]) == "show";
}

int show_main(int argc, const char* const* argv) {
  CLI::App app{"deployd show: look at a recorded run from its run log", "deployd show"};
  ShowOptions options;
  app.add_option("RUN", options.run, "the run's id (as its run log folder is named), or its folder")
      ->required();
  app.add_option("--log-dir", options.log_dir,
                 "the run log folder (default: .deployd/runs, or beside --plan)");
  app.add_option("--plan", options.plan, "find the run log beside this plan, as the run did");
  app.add_option("--html", options.html, "write the run's self-contained HTML report to FILE");
  app.add_flag("--timeline", options.timeline, "draw the slowest hosts' steps in the terminal");
  app.add_option("--hosts", options.hosts, "how many hosts --timeline draws (default 20)");
  app.add_option("--color", options.color, "colour the timeline and --output: auto, always, never");
  app.add_option("--output", options.output,
                 "print the run again as it was printed: stream or group");
  app.add_option("--host", options.host, "with --output: only this host's output and results");
  app.allow_extras(true);  // unknown options are named by leftover_error_text, with a did-you-mean
  constexpr std::string_view kSeeShowHelp = " (see deployd show --help)";
  bool printed_help = false;
  std::string error = parse_subcommand(app, argc, argv, printed_help);
  if (printed_help) return 0;
  std::optional<int> hosts = 20;
  if (error.empty()) parse_choice("--color", options.color, {"auto", "always", "never"}, error);
  if (error.empty() && !options.output.empty())
    parse_choice("--output", options.output, {"stream", "group"}, error);
  if (error.empty() && !options.hosts.empty())
    hosts = parse_count("--hosts", options.hosts, 100000, error);
  if (!error.empty()) return show_usage_error(error + std::string(kSeeShowHelp));
  if (!options.host.empty() && options.output.empty())
    return show_usage_error("--host needs --output stream|group");
  if (options.html.empty() && !options.timeline && options.output.empty())
    return show_usage_error(
        "say what to show: --html FILE, --timeline or --output stream|group (see deployd show "
        "--help)");
  const fs::path dir = run_folder(options, error);
  if (dir.empty()) return show_usage_error(error);
  if (!options.html.empty()) {
    if (std::string failed = report::write_html_report(dir, options.html); !failed.empty())
      return show_usage_error(failed);
  }
  if (options.timeline) {
    std::optional<report::RecordedRun> run = report::read_recorded_run(dir, error);
    if (!run) return show_usage_error(error);
    for (const std::string& warning : run->warnings)
      std::fprintf(stderr, "deployd: warning: %s\n", warning.c_str());
    const std::size_t columns = report::terminal_columns(stdout);
    std::fputs(report::render_terminal_timeline(
                   *run, {columns == 0 ? 100 : columns, static_cast<std::size_t>(*hosts),
                          wants_color(options.color)})
                   .c_str(),
               stdout);
  }
  if (!options.output.empty())
    return replay_run(dir, options.output, options.host, wants_color(options.color));
  return 0;
}

}  // namespace deployd::cli
