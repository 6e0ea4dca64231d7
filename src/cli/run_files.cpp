// SPDX-License-Identifier: MIT
// run.json and --report (see run_files.hpp).
#include "cli/run_files.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "base/duration_text.hpp"
#include "report/escape.hpp"
#include "report/html_report_file.hpp"
#include "report/junit_reporter.hpp"
#include "report/output_files.hpp"
#include "report/run_context.hpp"

namespace deployd::cli {
namespace {

namespace fs = std::filesystem;

std::string user_name() {
  if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') return user;
  if (const passwd* entry = ::getpwuid(::geteuid()); entry != nullptr) return entry->pw_name;
  return std::to_string(::geteuid());
}

std::string amount_text(const Amount& amount) {
  return std::to_string(amount.value) + (amount.is_percent ? "%" : "");
}

std::vector<std::pair<std::string, std::string>> policy_texts(const Policy& policy, int forks) {
  std::string batches;
  for (const Amount& batch : policy.batches)
    batches += (batches.empty() ? "" : ", ") + amount_text(batch);
  std::vector<std::pair<std::string, std::string>> texts{
      {"forks", std::to_string(forks > 0 ? forks : policy.forks)},
      {"max_connecting", std::to_string(policy.max_connecting)},
      {"batches", batches.empty() ? "one wave" : "[" + batches + "]"},
      {"max_failures", amount_text(policy.max_failures)},
      {"on_failure", policy.on_failure == OnFailure::Abort ? "abort" : "stop-host"},
      {"retries", std::to_string(policy.retries)},
      {"retry_delay", base::duration_text(policy.retry_delay)},
      {"timeout", policy.timeout ? base::duration_text(*policy.timeout) : "none"},
      {"abort_grace", base::duration_text(policy.abort_grace)}};
  return texts;
}

report::RunContext run_context(const Options& options, const Plan& plan,
                               const std::vector<const Task*>& tasks,
                               const std::vector<const Host*>& hosts,
                               const std::vector<std::string>& argv) {
  report::RunContext context;
  context.command_line = report::masked_command_line(argv);
  context.user = user_name();
  std::error_code ignored;
  context.cwd = fs::current_path(ignored).string();
  context.policy = policy_texts(plan.policy, options.forks);
  for (const Host* host : hosts) context.hosts.push_back(host->name);  // the run log adds the waves
  for (const Task* task : tasks)
    if (task->barrier) context.barriers.push_back(task->name);
  return context;
}

}  // namespace

std::string check_report_file(const Options& options) {
  for (const auto& [option, name] : {std::pair{"--report", &options.report_file},
                                     std::pair{"--junit", &options.junit_file}}) {
    if (name->empty()) continue;
    const fs::path file = fs::absolute(*name);
    std::error_code error;
    if (!fs::is_directory(file.parent_path(), error))
      return std::string(option) + ": the folder \"" +
             report::escape_terminal(file.parent_path().string()) + "\" does not exist";
  }
  if (!options.output_dir.empty()) return report::prepare_output_dir(options.output_dir);
  return {};
}

void add_run_files(Reporting& reporting, const Options& options, const Plan& plan,
                   const std::vector<const Task*>& tasks, const std::vector<const Host*>& hosts,
                   const std::vector<std::string>& argv) {
  if (!options.report_file.empty()) {
    reporting.html_report = std::make_unique<report::HtmlReportWriter>(
        reporting.run_log->dir(), fs::absolute(options.report_file));
    reporting.tee->add(*reporting.html_report);
  }
  if (!options.junit_file.empty()) {
    reporting.junit = std::make_unique<report::JunitReporter>(fs::absolute(options.junit_file));
    reporting.tee->add(*reporting.junit);
  }
  if (!options.output_dir.empty()) {
    reporting.output_files = std::make_unique<report::OutputFilesReporter>(fs::absolute(options.output_dir));
    reporting.tee->add(*reporting.output_files);
  }
  reporting.run_log->write_context_at_start(run_context(options, plan, tasks, hosts, argv));
}

}  // namespace deployd::cli
