// SPDX-License-Identifier: MIT
// `deployd runs` (see runs.hpp): the run log folder read by report/run_list, as `show` reads it.
#include "cli/runs.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "cli/command_help.hpp"
#include "cli/show.hpp"
#include "cli/usage_text.hpp"
#include "deployd/exit_code.hpp"
#include "report/escape.hpp"
#include "report/run_list.hpp"

namespace deployd::cli {

namespace fs = std::filesystem;

bool is_runs_command(int argc, const char* const* argv) {
  return argc > 1 && std::string_view(argv[1]) == "runs";
}

int runs_main(int argc, const char* const* argv) {
  CLI::App app{"deployd runs: the recorded runs of a plan, oldest first", "deployd runs"};
  std::string plan;
  std::string plan_option;
  std::string log_dir;
  std::string count_text;
  app.add_option("PLAN", plan, "list only this plan's runs, from .deployd/runs beside it");
  app.add_option("--plan", plan_option, "the same as PLAN (as deployd show takes it)");
  app.add_option("--log-dir", log_dir, "the run log folder (default: .deployd/runs, or beside PLAN)");
  app.add_option("-n,--max-count", count_text, "only the N newest runs");
  app.allow_extras(true);  // unknown options are named by leftover_error_text, with a did-you-mean
  bool printed_help = false;
  std::string error = parse_subcommand(app, argc, argv, printed_help);
  if (printed_help) return 0;
  std::size_t count = 0;
  if (error.empty() && !count_text.empty())
    if (std::optional<int> parsed = parse_count("--max-count", count_text, 1000000, error))
      count = *parsed;
  if (!error.empty()) {
    std::fprintf(stderr, "deployd: error: %s (see deployd runs --help)\n", error.c_str());
    return static_cast<int>(ExitCode::InvalidPlan);
  }
  if (plan.empty()) plan = plan_option;
  std::string canonical_plan;
  if (!plan.empty()) {
    std::error_code error;
    if (!fs::is_regular_file(plan, error)) {
      std::fprintf(stderr, "deployd: error: runs: the plan \"%s\" is not a file\n",
                   report::escape_terminal(plan).c_str());
      return static_cast<int>(ExitCode::InvalidPlan);
    }
    canonical_plan = fs::weakly_canonical(fs::absolute(plan), error).string();
  }
  const fs::path dir = recorded_log_dir(log_dir, plan);
  std::vector<std::string> warnings;
  std::vector<report::RunListEntry> runs = report::list_runs(dir, canonical_plan, warnings);
  for (const std::string& warning : warnings) std::fprintf(stderr, "deployd: warning: %s\n", warning.c_str());
  if (count > 0 && runs.size() > count) runs.erase(runs.begin(), runs.end() - static_cast<std::ptrdiff_t>(count));
  if (runs.empty()) {
    std::fprintf(stderr, "deployd: no runs recorded in \"%s\"%s\n", report::escape_terminal(dir.string()).c_str(),
                 plan.empty() ? "" : " for this plan");
    return 0;
  }
  std::fputs(report::render_run_list(runs).c_str(), stdout);
  return 0;
}

}  // namespace deployd::cli
