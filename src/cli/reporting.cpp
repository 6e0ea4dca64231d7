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

std::filesystem::path run_log_dir(const Options& options) {
  if (!options.log_dir.empty()) return options.log_dir;
  // The plan's folder, as Plan::directory has it.
  std::filesystem::path folder = std::filesystem::path(options.plan_path).parent_path();
  return (folder.empty() ? std::filesystem::path(".") : folder) / ".deployd" / "runs";
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
  reporting.terminal = terminal_reporter(options, hosts, reporting.run_log->dir().string());
  reporting.tee = std::make_unique<report::TeeReporter>(
      std::vector<Reporter*>{reporting.terminal.get(), reporting.run_log.get()});
  reporting.stamp = std::make_unique<PlanDigestStamp>(*reporting.tee, std::move(plan_sha256));
  reporting.reporter = reporting.stamp.get();
  return reporting;
}

}  // namespace deployd::cli
