// SPDX-License-Identifier: MIT
// Choosing and wiring the reporters of a run.
#include "cli/reporting.hpp"

#include <cstdio>
#include <filesystem>

#include "report/json_reporter.hpp"
#include "report/stream_reporter.hpp"
#include "report/terminal.hpp"

namespace deployd::cli {
namespace {

bool use_color(ColorMode mode) {
  if (mode == ColorMode::Always) return true;
  if (mode == ColorMode::Never) return false;
  return report::color_wanted(stdout);
}

std::filesystem::path log_dir(const Options& options, const Plan& plan) {
  if (!options.log_dir.empty()) return options.log_dir;
  return std::filesystem::path(plan.directory) / ".deployd" / "runs";
}

std::unique_ptr<Reporter> terminal_reporter(const Options& options, const std::vector<const Host*>& hosts,
                                            const std::string& run_log) {
  if (options.output == OutputMode::Json) return std::make_unique<report::JsonReporter>(stdout);
  std::vector<std::string> names;
  for (const Host* host : hosts) names.push_back(host->name);
  report::StreamOptions stream;
  stream.host_width = report::host_column_width(names);
  stream.color = use_color(options.color);
  stream.run_log = run_log;
  return std::make_unique<report::StreamReporter>(stdout, stream);
}

}  // namespace

Reporting open_reporting(const Options& options, const Plan& plan, const std::vector<const Host*>& hosts,
                         const std::string& run_id) {
  Reporting reporting;
  report::RunLog::Opened opened = report::RunLog::open(log_dir(options, plan), run_id);
  if (!opened.log) {
    reporting.error = opened.error + " (choose another folder with --log-dir)";
    return reporting;
  }
  reporting.run_log = std::move(opened.log);
  reporting.terminal = terminal_reporter(options, hosts, reporting.run_log->dir().string());
  reporting.tee = std::make_unique<report::TeeReporter>(
      std::vector<Reporter*>{reporting.terminal.get(), reporting.run_log.get()});
  reporting.reporter = reporting.tee.get();
  return reporting;
}

}  // namespace deployd::cli
