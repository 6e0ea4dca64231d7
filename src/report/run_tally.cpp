// SPDX-License-Identifier: MIT
// Gathers counts, duration and per-host results from a run's events (see run_tally.hpp).
#include "report/run_tally.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "report/time_text.hpp"

namespace deployd::report {

namespace {

bool is_failure(StepStatus status) {
  return status == StepStatus::Failed || status == StepStatus::TimedOut;
}

std::string exit_text(const StepEnd& step) {
  if (step.status == StepStatus::TimedOut) return "timed out";
  if (!step.exit_signal.empty()) return fmt::format("killed by signal {}", step.exit_signal);
  if (step.exit_status) return fmt::format("exited with status {}", *step.exit_status);
  return "failed";
}

}  // namespace

std::string step_failure_reason(const StepEnd& step) {
  if (!step.error.empty()) return step.error;
  // Messages count steps from 1, as people do; the events' `step` is the 0-based index.
  return fmt::format("{} step {}: {} after {}", step.task, step.step + 1, exit_text(step),
                     format_duration(step.duration_ms));
}

void RunTally::add(const Event& event) {
  if (!seen_any_) first_time_ = event.time;
  seen_any_ = true;
  last_time_ = event.time;
  if (const auto* e = std::get_if<RunStart>(&event.body)) {
    start_ = *e;
  } else if (const auto* e = std::get_if<StepStart>(&event.body)) {
    host(e->host);
  } else if (const auto* e = std::get_if<StepEnd>(&event.body)) {
    HostResult& result = host(e->host);
    if (is_failure(e->status)) result.error = step_failure_reason(*e);
    if (e->ignored) add_ignored(*e);
    add_step(*e);
  } else if (const auto* e = std::get_if<HostEnd>(&event.body)) {
    HostResult& result = host(e->host);
    result.status = e->status;
    // A failed host's step reason stands in for a missing host error; on any other end, a
    // step failure seen earlier was ignored (ignore_errors) and is not the host's reason.
    const bool failed = e->status == HostStatus::Failed || e->status == HostStatus::Unreachable;
    if (!e->error.empty() || !failed) result.error = e->error;
  } else if (const auto* e = std::get_if<RunEnd>(&event.body)) {
    end_ = *e;
  }
}

StatusCounts RunTally::counts() const {
  if (end_) return end_->counts;
  StatusCounts counts;
  for (const HostResult& result : hosts_) {
    if (result.status) counts.add(*result.status);
  }
  return counts;
}

std::int64_t RunTally::duration_ms() const {
  if (end_) return end_->duration_ms;
  return std::chrono::duration_cast<std::chrono::milliseconds>(last_time_ - first_time_).count();
}

HostResult& RunTally::host(const std::string& name) { return hosts_[host_index(name)]; }

std::size_t RunTally::host_index(const std::string& name) {
  const auto [it, inserted] = index_.try_emplace(name, hosts_.size());
  if (inserted) hosts_.push_back(HostResult{name, std::nullopt, {}});
  return it->second;
}

void RunTally::add_ignored(const StepEnd& step) {
  std::string key = step.task;
  key += '\0' + std::to_string(step.step);
  const auto [it, inserted] = ignored_index_.try_emplace(std::move(key), ignored_.size());
  if (inserted) ignored_.push_back(IgnoredFailure{step.task, step.step, {}});
  ignored_[it->second].hosts.push_back(step.host);
}

void RunTally::add_step(const StepEnd& step) {
  const auto [it, inserted] = task_index_.try_emplace(step.task, tasks_.size());
  if (inserted) tasks_.push_back(TaskRecord{step.task, {}});
  TaskOnHost& on_host = tasks_[it->second].hosts[host_index(step.host)];
  if (step.status == StepStatus::Skipped) return;
  on_host.ran = true;
  on_host.duration_ms += step.duration_ms;
  // The last step that ran decides: after a real failure nothing more runs on the host, while a
  // retried attempt or an ignored failure is followed by more steps.
  on_host.failed = is_failure(step.status) && !step.ignored;
}

std::vector<TaskTiming> RunTally::task_timings() const {
  std::vector<TaskTiming> timings;
  for (const TaskRecord& record : tasks_) {
    TaskTiming timing{record.task};
    std::vector<std::int64_t> durations;
    for (const auto& [index, on_host] : record.hosts) {
      if (!on_host.ran) {
        ++timing.skipped;
        continue;
      }
      ++(on_host.failed ? timing.failed : timing.ok);
      durations.push_back(on_host.duration_ms);
    }
    if (!durations.empty()) {
      std::sort(durations.begin(), durations.end());
      timing.min_ms = durations.front();
      timing.median_ms = durations[(durations.size() - 1) / 2];
      timing.max_ms = durations.back();
    }
    timings.push_back(std::move(timing));
  }
  return timings;
}

}  // namespace deployd::report
