// SPDX-License-Identifier: MIT
// --retry-failed (see retry.hpp; plan-format.md, "Retrying failed hosts").
#include "cli/retry.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "cli/ad_hoc.hpp"
#include "cli/file_digest.hpp"
#include "cli/lost_needs.hpp"
#include "cli/reporting.hpp"
#include "engine/engine.hpp"
#include "graph/limit.hpp"
#include "plan/suggest.hpp"
#include "report/escape.hpp"
#include "report/previous_run.hpp"
#include "report/run_log.hpp"

namespace deployd::cli {
namespace {

namespace fs = std::filesystem;

// Run logs know a plan by its absolute path: the same plan run from another folder is the same.
std::string absolute_path(const std::string& path) {
  std::error_code error;
  fs::path canonical = fs::weakly_canonical(fs::absolute(path), error);
  return error ? fs::absolute(path).lexically_normal().string() : canonical.string();
}

void warn(const std::string& message) {
  std::fprintf(stderr, "deployd: warning: %s\n", message.c_str());
}

void warn_if_changed(const report::FileDigest& recorded, const std::string& path,
                     const std::string& run_id) {
  if (recorded.sha256.empty()) return;
  if (sha256_of_file(path) != recorded.sha256)
    warn(fmt::format("{} changed since run {} (sha256 differs): it is used as it is now", path,
                     run_id));
}

Retry failed(std::string message, int exit_code = 2) {
  std::fprintf(stderr, "deployd: %s\n", message.c_str());
  return Retry{{}, {}, exit_code};
}

std::string join(const std::vector<std::string>& names) {
  return fmt::format("{}", fmt::join(names, ", "));
}

// " (did you mean "…"?)" against the runs in `log_dir`, when `run_id` is not one of them.
std::string suggest_run_id(const fs::path& log_dir, const std::string& run_id) {
  std::error_code error;
  if (run_id.empty() || fs::is_directory(log_dir / run_id, error)) return {};
  std::vector<std::string> ids;
  for (fs::directory_iterator it(log_dir, error), end; !error && it != end; it.increment(error))
    if (report::is_run_id(it->path().filename().string()))
      ids.push_back(it->path().filename().string());
  return plan::did_you_mean(run_id, ids);
}

// A retry with no PLAN runs what the run ran: its plan, or its ad-hoc command. A PLAN given
// for an ad-hoc run is refused: it would run something else on the hosts.
std::optional<std::string> take_what_ran(Options& options, const report::PreviousRun& run) {
  if (run.record.ad_hoc) {
    if (!options.plan_path.empty())
      return fmt::format("run {} ran an ad-hoc command, not a plan: deployd --retry-failed {}",
                         run.run_id, run.run_id);
    options.command = {run.record.ad_hoc->command};
    options.sudo = run.record.ad_hoc->sudo;
    options.timeout = run.record.ad_hoc->timeout;
    std::fprintf(stderr, "deployd: run %s ran: %s%s\n", run.run_id.c_str(),
                 options.sudo ? "(sudo) " : "",
                 report::escape_terminal(run.record.ad_hoc->command).c_str());
    return std::nullopt;
  }
  // A killed ad-hoc run left only its events, which name no command (run_start's plan is
  // kAdHocFile): there is nothing to rerun it from.
  if (run.is_unfinished && fs::path(run.record.plan.path).filename() == kAdHocFile)
    return fmt::format("run {} ran an ad-hoc command and never finished: its events do not record "
                       "the command; give it again with --limit on the hosts to rerun",
                       run.run_id);
  if (!options.plan_path.empty()) return std::nullopt;
  if (run.record.plan.path.empty())
    return fmt::format("run {} does not record its plan: give the PLAN", run.run_id);
  options.plan_path = run.record.plan.path;
  return std::nullopt;
}

}  // namespace

Retry prepare_retry(Options& options) {
  const fs::path log_dir = run_log_dir(options);
  // Without a PLAN (options.cpp asks for the RUN_ID then), the run log says what ran.
  const bool has_plan = !options.plan_path.empty();
  report::PreviousRunLookup found = report::find_previous_run(
      log_dir, has_plan ? absolute_path(options.plan_path) : "", options.retry_run_id);
  for (const std::string& warning : found.warnings) warn("--retry-failed: " + warning);
  if (!found.run) {
    return failed("error: --retry-failed: " + found.error +
                  suggest_run_id(log_dir, options.retry_run_id));
  }
  const report::PreviousRun& run = *found.run;
  if (std::optional<std::string> error = take_what_ran(options, run))
    return failed("error: --retry-failed: " + *error);
  if (run.is_unfinished) {
    // Loud: the user may think the run they retry is an older, finished one.
    std::fprintf(stderr,
                 "deployd: WARNING: run %s never finished (no summary.json: it was killed or "
                 "crashed); retrying it from %s: the hosts it reached that did not end ok. Hosts "
                 "it never reached are not in its events, nor its -H and inventories: give them "
                 "again if it had them\n",
                 run.run_id.c_str(), run.summary.string().c_str());
    if (run.retry_hosts.empty() && !run.local_failed)
      return failed(fmt::format("error: --retry-failed: run {} never finished and its events name "
                                "no host to retry: run the plan again",
                                run.run_id));
  }
  if (run.retry_hosts.empty()) {
    std::string local =
        run.local_failed ? " (its local task failed: run the plan again to retry it)" : "";
    return failed(
        fmt::format("nothing to retry: run {} has no failed, unreachable, skipped or aborted host{}",
                    run.run_id, local),
        0);
  }
  // The plan may have been fixed since: that is what a retry is for, but say so.
  if (!options.is_ad_hoc()) warn_if_changed(run.record.plan, options.plan_path, run.run_id);
  if (has_plan && !run.record.plan.path.empty() &&
      run.record.plan.path != absolute_path(options.plan_path))
    warn(fmt::format("run {} ran {}, not {}", run.run_id, run.record.plan.path,
                     absolute_path(options.plan_path)));
  // What the command line leaves out is taken from the run retried.
  // An --only run is retried as it ran: its tasks without their needs.
  if (options.tasks.empty() && options.only.empty()) {
    options.tasks = run.record.tasks;
    options.only = run.record.only;
  }
  if (options.hosts.empty() && run.record.hosts) options.hosts = *run.record.hosts;
  if (options.inventories.empty()) {
    for (const report::FileDigest& inventory : run.record.inventories) {
      warn_if_changed(inventory, inventory.path, run.run_id);
      options.inventories.push_back(inventory.path);
    }
  }
  std::fprintf(stderr, "deployd: retrying run %s on %zu host%s: %s\n", run.run_id.c_str(),
               run.retry_hosts.size(), run.retry_hosts.size() == 1 ? "" : "s",
               join(run.retry_hosts).c_str());
  return Retry{run.run_id, run.retry_hosts, std::nullopt};
}

std::optional<int> restrict_to_retry(Plan& plan, const std::vector<const Task*>& tasks,
                                     const Retry& retry) {
  const std::vector<std::vector<std::string>> before = graph::task_hosts(plan);
  std::vector<std::string> missing = graph::keep_named_hosts(plan, retry.hosts);
  if (!missing.empty())
    warn(fmt::format("hosts of run {} no longer in the plan: {}", retry.run_id, join(missing)));
  // plan-format.md, --retry-failed: what the retried hosts need elsewhere runs again.
  for (const std::string& line : run_lost_needs_again(plan, tasks, before))
    std::fprintf(stderr, "deployd: --retry-failed: %s\n", line.c_str());
  if (!engine::run_hosts(plan, tasks).empty()) return std::nullopt;
  std::fprintf(stderr,
               "deployd: error: --retry-failed: none of the failed hosts of run %s is targeted by "
               "this run\n",
               retry.run_id.c_str());
  return 2;
}

report::RunRecord run_record(const Options& options, const std::string& retry_of) {
  report::RunRecord record;
  if (options.is_ad_hoc())
    record.ad_hoc =
        report::AdHocRecord{join_command(options.command), options.sudo, options.timeout};
  else
    record.plan =
        report::FileDigest{absolute_path(options.plan_path), sha256_of_file(options.plan_path)};
  for (const std::string& inventory : options.inventories)
    record.inventories.push_back(
        report::FileDigest{absolute_path(inventory), sha256_of_file(inventory)});
  record.tasks = options.tasks;
  record.only = options.only;
  if (!options.hosts.empty()) record.hosts = options.hosts;
  if (!options.limit.empty()) record.limit = options.limit;
  record.retry_of = retry_of;
  return record;
}

}  // namespace deployd::cli
