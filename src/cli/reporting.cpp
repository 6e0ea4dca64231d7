// SPDX-License-Identifier: MIT
// Choosing and wiring the reporters of a run.
#include "cli/reporting.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "cli/ad_hoc.hpp"
#include "deployd/exit_code.hpp"
#include "report/escape.hpp"
#include "report/group_reporter.hpp"
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

// The engine knows the plan, not the bytes of its file: run_start gets their sha256 here.
class PlanDigestStamp final : public Reporter {
 public:
  PlanDigestStamp(Reporter& next, std::string sha256) : next_(next), sha256_(std::move(sha256)) {}
  void on(const Event& event) override {
    if (const auto* start = std::get_if<RunStart>(&event.body)) {
      Event stamped{event.time, *start};
      std::get<RunStart>(stamped.body).plan_sha256 = sha256_;
      next_.on(stamped);
      return;
    }
    next_.on(event);
  }
  void finish() override { next_.finish(); }

 private:
  Reporter& next_;
  std::string sha256_;
};

// The progress line needs a terminal that understands "ESC [K" (not TERM=dumb). It is drawn
// under -q too (issue 19): a quiet run is not a blank screen until its summary.
bool wants_progress(const Options&) {
  if (!report::is_terminal(stderr)) return false;
  const char* term = std::getenv("TERM");
  return term == nullptr || std::string_view(term) != "dumb";
}

std::unique_ptr<Reporter> terminal_reporter(const Options& options,
                                            const std::vector<const Host*>& hosts,
                                            const std::string& run_log,
                                            report::StatusLine* status_line,
                                            report::RerunFallback rerun_fallback,
                                            const std::string& run_id) {
  if (options.output == OutputMode::Json) {
    auto json = std::make_unique<report::JsonReporter>(stdout);
    json->set_status_line(status_line);
    return json;
  }
  std::vector<std::string> names;
  for (const Host* host : hosts) names.push_back(host->name);
  if (options.output == OutputMode::Group && !options.quiet) {
    report::GroupOptions group;
    group.color = use_color(options.color);
    group.host_width = report::host_column_width(names);
    group.run_log = run_log;
    group.rerun_command = rerun_command(options, run_id);
    group.rerun_note = rerun_note(options);
    group.rerun_fallback = std::move(rerun_fallback);
    group.status_line = status_line;
    group.messages = stderr;  // the summary stays out of a pipe, as pdsh's messages do
    return std::make_unique<report::GroupReporter>(stdout, std::move(group));
  }
  report::StreamOptions stream;
  stream.host_width = report::host_column_width(names);
  stream.color = use_color(options.color);
  stream.run_log = run_log;
  stream.rerun_command = rerun_command(options, run_id);
  stream.rerun_note = rerun_note(options);
  stream.rerun_fallback = std::move(rerun_fallback);
  stream.quiet = options.quiet;
  stream.status_line = status_line;
  stream.messages = stderr;  // the hosts' stderr and deployd's own lines: `2>` separates them
  return std::make_unique<report::StreamReporter>(stdout, stream);
}

std::string shell_quoted(std::string_view word) {
  const bool is_plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("%+,-./:=@_").find(c) != std::string_view::npos;
  });
  if (is_plain) return std::string(word);
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// issue 16: without its summary.json, --retry-failed cannot find this run (it would pick an
// older one): the summary names the hosts instead.
report::RerunFallback rerun_without_log(const Options& options, const report::RunLog& log) {
  std::string command = "deployd";
  std::string ad_hoc;  // after --limit, which must come before the --
  if (options.is_ad_hoc()) {
    for (const std::string& inventory : options.inventories)
      command += " -i " + shell_quoted(inventory);
    if (!options.hosts.empty())
      command += " -H " + shell_quoted(fmt::format("{}", fmt::join(options.hosts, ",")));
    if (options.sudo) command += " --sudo";
    if (!options.timeout.empty()) command += " --timeout " + shell_quoted(options.timeout);
    ad_hoc = " -- " + shell_quoted(join_command(options.command));
  } else {
    command += " " + shell_quoted(options.plan_path);
  }
  for (const std::string& task : options.tasks) command += " " + shell_quoted(task);
  return [command, ad_hoc, &log](const std::vector<std::string>& hosts) {
    if (!log.is_summary_lost() || hosts.empty()) return std::string();
    std::string limit;
    for (const std::string& host : hosts) limit += (limit.empty() ? "" : ",") + host;
    return command + " --limit " + shell_quoted(limit) + ad_hoc;
  };
}

}  // namespace

std::filesystem::path run_log_dir(const Options& options) {
  if (!options.log_dir.empty()) return options.log_dir;
  // The plan's folder, as Plan::directory has it.
  std::filesystem::path folder = std::filesystem::path(options.plan_path).parent_path();
  return (folder.empty() ? std::filesystem::path(".") : folder) / ".deployd" / "runs";
}

// issue 14: the command works as printed: it finds the run where this one logged it, and
// reads the same inventories and ssh_config (a retry that left out -i would warn that hosts
// are no longer in the plan). -H and the tasks come back from the run log.
std::string rerun_command(const Options& options, const std::string& run_id) {
  // An ad-hoc run has no plan to name: its run id finds it, and its summary holds the command.
  std::string command =
      "deployd --retry-failed " + shell_quoted(options.is_ad_hoc() ? run_id : options.plan_path);
  for (const std::string& task : options.tasks) command += " " + shell_quoted(task);
  for (const std::string& inventory : options.inventories)
    command += " -i " + shell_quoted(inventory);
  if (!options.log_dir.empty()) command += " --log-dir " + shell_quoted(options.log_dir);
  if (!options.ssh_config.empty()) command += " -F " + shell_quoted(options.ssh_config);
  return command;
}

// --var values may be secrets (they are not in the run log either): only their names.
std::string rerun_note(const Options& options) {
  if (options.vars.empty()) return {};
  std::string names;
  for (const auto& [name, value] : options.vars) names += " --var " + shell_quoted(name) + "=…";
  return "this run had" + names + ": give them again";
}

Reporting open_reporting(const Options& options, const std::vector<const Host*>& hosts,
                         const std::string& run_id, report::RunRecord record) {
  Reporting reporting;
  std::string plan_sha256 = record.plan.sha256;
  report::RunLog::Opened opened =
      report::RunLog::open(run_log_dir(options), run_id, std::move(record));
  if (!opened.log) {
    reporting.error = opened.error + " (choose another folder with --log-dir)";
    return reporting;
  }
  reporting.run_log = std::move(opened.log);
  reporting.tee = std::make_unique<report::TeeReporter>();
  // First: the log is finished (summary.json written or not) before the terminal's summary
  // says how to rerun the run.
  reporting.tee->add(*reporting.run_log);
  if (wants_progress(options)) {
    reporting.status_line = std::make_unique<report::StatusLine>(stderr);
    report::ProgressOptions progress;
    for (const Host* host : hosts) progress.hosts.push_back(host->name);
    reporting.progress = std::make_unique<report::ProgressReporter>(*reporting.status_line, std::move(progress));
    reporting.tee->add(*reporting.progress);
  }
  reporting.run_log->on_warning([status_line = reporting.status_line.get()](const std::string& warning) {
    if (status_line != nullptr) status_line->clear();
    std::fprintf(stderr, "deployd: warning: %s\n", report::escape_terminal(warning).c_str());
  });
  reporting.terminal = terminal_reporter(options, hosts, reporting.run_log->dir().string(),
                                         reporting.status_line.get(),
                                         rerun_without_log(options, *reporting.run_log), run_id);
  reporting.tee->add(*reporting.terminal);
  reporting.stamp = std::make_unique<PlanDigestStamp>(*reporting.tee, std::move(plan_sha256));
  reporting.reporter = reporting.stamp.get();
  return reporting;
}

int with_run_log_status(const Reporting& reporting, int exit_code) {
  if (!reporting.run_log || reporting.run_log->error().empty()) return exit_code;
  std::fprintf(stderr, "deployd: error: the run log %s is incomplete: %s\n",
               report::escape_terminal(reporting.run_log->dir().string()).c_str(),
               report::escape_terminal(reporting.run_log->error()).c_str());
  return exit_code != 0 ? exit_code : static_cast<int>(ExitCode::LogIncomplete);
}

}  // namespace deployd::cli
