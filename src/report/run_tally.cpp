// SPDX-License-Identifier: MIT
// Gathers counts, duration and per-host results from a run's events (see run_tally.hpp).
#include "report/run_tally.hpp"

#include <fmt/format.h>

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

HostResult& RunTally::host(const std::string& name) {
  const auto [it, inserted] = index_.try_emplace(name, hosts_.size());
  if (inserted) hosts_.push_back(HostResult{name, std::nullopt, {}});
  return hosts_[it->second];
}

}  // namespace deployd::report
