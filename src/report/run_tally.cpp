// SPDX-License-Identifier: MIT
// Gathers counts, duration and per-host results from a run's events (see run_tally.hpp).
#include "report/run_tally.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "base/duration_text.hpp"

namespace deployd::report {

namespace {

bool is_failure(StepStatus status) {
  return status == StepStatus::Failed || status == StepStatus::TimedOut ||
         status == StepStatus::Aborted;
}

std::string exit_text(const StepEnd& step) {
  if (step.status == StepStatus::TimedOut) return "timed out";
  if (step.status == StepStatus::Aborted) return "cancelled";
  if (!step.exit_signal.empty()) return fmt::format("killed by signal {}", step.exit_signal);
  if (step.exit_status) return fmt::format("exited with status {}", *step.exit_status);
  return "failed";
}

}  // namespace

std::string step_failure_reason(const StepEnd& step) {
  if (!step.error.empty()) return step.error;
  // Messages count steps from 1, as people do; the events' `step` is the 0-based index.
  return fmt::format("{} step {}: {} after {}", step.task, step.step + 1, exit_text(step),
                     base::elapsed_text(std::chrono::milliseconds(step.duration_ms)));
}

void RunTally::add(const Event& event) {
  if (!seen_any_) first_time_ = event.time;
  seen_any_ = true;
  last_time_ = event.time;
  if (const auto* e = std::get_if<RunStart>(&event.body)) {
    start_ = *e;
  } else if (const auto* e = std::get_if<StepStart>(&event.body)) {
    host(e->host);
    tails_.erase(e->host);
    task_on_host(e->task, e->host).incomplete = true;  // until its step_end
  } else if (const auto* e = std::get_if<Output>(&event.body)) {
    if (e->stream == OutputStream::Stderr) add_stderr(*e);
  } else if (const auto* e = std::get_if<StepEnd>(&event.body)) {
    HostResult& result = host(e->host);
    auto tail = tails_.find(e->host);
    if (is_failure(e->status) && !e->will_retry) {
      result.error = step_failure_reason(*e);
      result.stderr_tail.clear();
      if (tail != tails_.end())
        result.stderr_tail.assign(tail->second.lines.begin(), tail->second.lines.end());
    }
    if (tail != tails_.end()) tails_.erase(tail);
    if (e->ignored) add_ignored(*e);
    if (e->changed) ++result.changed;
    add_step(*e);
  } else if (const auto* e = std::get_if<HostEnd>(&event.body)) {
    HostResult& result = host(e->host);
    result.status = e->status;
    // A failed host's step reason stands in for a missing host error; on any other end, a
    // step failure seen earlier was ignored (ignore_errors) and is not the host's reason.
    const bool failed = e->status == HostStatus::Failed || e->status == HostStatus::Unreachable ||
                        e->status == HostStatus::Aborted;
    if (!e->error.empty() || !failed) result.error = e->error;
    if (!failed) result.stderr_tail.clear();
    tails_.erase(e->host);
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

RunTally::TaskOnHost& RunTally::task_on_host(const std::string& task, const std::string& host) {
  const auto [it, inserted] = task_index_.try_emplace(task, tasks_.size());
  if (inserted) tasks_.push_back(TaskRecord{task, {}});
  return tasks_[it->second].hosts[host_index(host)];
}

// Only the last kTailLines lines are kept, each cut to kTailBytes: memory stays bounded
// whatever a step prints. The pieces of a long line continue its first piece.
void RunTally::add_stderr(const Output& output) {
  Tail& tail = tails_[output.host];
  const std::string_view piece = std::string_view(output.line).substr(0, kTailBytes);
  if (tail.continues && !tail.lines.empty()) {
    std::string& last = tail.lines.back();
    last.append(piece.substr(0, kTailBytes - std::min(kTailBytes, last.size())));
  } else {
    tail.lines.emplace_back(piece);
    if (tail.lines.size() > kTailLines) tail.lines.pop_front();
  }
  tail.continues = output.is_partial;
}

void RunTally::add_step(const StepEnd& step) {
  TaskOnHost& on_host = task_on_host(step.task, step.host);
  if (step.will_retry) return;  // the next attempt decides
  if (step.status == StepStatus::Skipped) {
    // Skipped after some step ran: the task did not end (its host failed or stopped).
    on_host.incomplete = on_host.ran;
    return;
  }
  on_host.incomplete = false;
  on_host.ran = true;
  on_host.duration_ms += step.duration_ms;
  on_host.aborted = step.status == StepStatus::Aborted;
  on_host.changed = on_host.changed || step.changed;
  // A real failure decides until a later attempt of the same step passes (retries; recorded
  // runs have no will_retry): the failure() and always() steps after it do not undo it, and an
  // ignored failure does not count.
  if (is_failure(step.status) && !step.ignored && !on_host.aborted)
    on_host.failed_step = step.step;
  else if (step.step == on_host.failed_step)
    on_host.failed_step = -1;
  on_host.failed = on_host.failed_step >= 0;
}

std::vector<TaskTiming> RunTally::task_timings() const {
  std::vector<TaskTiming> timings;
  for (const TaskRecord& record : tasks_) {
    TaskTiming timing{record.task};
    std::vector<std::int64_t> durations;
    for (const auto& [index, on_host] : record.hosts) {
      // A host the run stopped counts `aborted` for every task it had not ended, as its host
      // does: one word per outcome.
      const bool host_aborted = hosts_[index].status == HostStatus::Aborted;
      const bool aborted = on_host.aborted || (host_aborted && !on_host.failed &&
                                               (on_host.incomplete || !on_host.ran));
      if (aborted) {
        ++timing.aborted;
      } else if (!on_host.ran) {
        ++timing.skipped;
      } else {
        ++(on_host.failed ? timing.failed : timing.ok);
        timing.changed += on_host.changed ? 1 : 0;
        durations.push_back(on_host.duration_ms);
      }
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
