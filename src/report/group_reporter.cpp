// SPDX-License-Identifier: MIT
// Grouped, coalesced step output (see group_reporter.hpp).
#include "report/group_reporter.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "base/host_ranges.hpp"
#include "base/line_diff.hpp"
#include "report/condition_skip.hpp"
#include "report/escape.hpp"
#include "report/size_text.hpp"
#include "report/status_line.hpp"
#include "report/summary_text.hpp"
#include "report/terminal.hpp"
#include "report/text_fold.hpp"

namespace deployd::report {

/// Hosts that ended a step with the same output and the same status.
struct GroupReporter::Result {
  StepEnd end;  ///< the first host's, for its status, exit and error
  OutputDigest digest;
  std::vector<std::string> hosts;
};

struct GroupReporter::StepGroup {
  TextFold label;  ///< the hosts' step_start names, folded
  std::string label_shape;
  bool labels_fold = true;  ///< every host's label had the shape of the first
  std::string first_label;
  int pending = 0;  ///< targeted hosts (of this wave) that have not ended the step (nor ended)
  bool is_printed = false;
  std::unordered_map<std::string, OutputDigest> running;  ///< host -> output so far
  std::vector<Result> results;
  std::unordered_map<std::string, std::size_t> result_index;  ///< result_key -> results
};

/// A task's steps, per wave: steps[wave * step_count + step].
struct GroupReporter::TaskState {
  std::string name;
  int step_count = 0;
  bool multi_wave = false;  ///< its hosts are in more than one wave: blocks say which
  std::vector<StepGroup> steps;
  StepGroup& at(int wave, int step) {
    return steps[static_cast<std::size_t>(wave) * static_cast<std::size_t>(step_count) +
                 static_cast<std::size_t>(step)];
  }
};

namespace {

// What makes two hosts' results the same: their output, status, exit and, for failures that
// have no exit status (a lost connection, a missing variable), the error itself. Durations are
// left out: they differ on every host.
std::string result_key(const StepEnd& end, const OutputDigest& digest) {
  // A cancelled step's error holds its own duration: aborted is its whole result.
  const bool error_matters =
      !end.exit_status && end.exit_signal.empty() && end.status != StepStatus::Aborted;
  return fmt::format("{:016x}|{}|{}|{}|{}|{}|{}", digest.hash(), to_string(end.status), end.ignored,
                     end.changed, end.exit_status.value_or(-1), end.exit_signal,
                     error_matters ? end.error : "");
}

std::string cause_text(const StepEnd& end) {
  if (end.status == StepStatus::Skipped)
    return "skipped: " + escape_terminal(condition_skip_reason(end));
  if (end.status == StepStatus::TimedOut) return "timed out";
  if (end.status == StepStatus::Aborted) return "aborted";  // the error says when and why
  if (!end.exit_signal.empty()) return "killed by signal " + escape_terminal(end.exit_signal);
  if (end.exit_status && *end.exit_status != 0) return fmt::format("exit {}", *end.exit_status);
  if (end.status == StepStatus::Failed) {
    return end.error.empty() ? "failed"
                             : "failed: " + escape_terminal(without_host(end.error, end.host));
  }
  return end.changed ? "changed" : "ok";  // Ansible's words: ok changed nothing
}

// An ignored failure (ignore_errors) says so first: `failed (ignored): exit 1`.
std::string status_text(const StepEnd& end) {
  std::string text = cause_text(end);
  if (!end.ignored) return text;
  if (text.starts_with("failed")) return "failed (ignored)" + text.substr(6);
  return "failed (ignored): " + text;
}

// Stdout lines, then stderr lines: hosts are grouped whatever the order their two streams
// interleaved in (a race), so the block shows each stream whole, the same way for every host.
std::vector<std::string> marked_lines(const OutputDigest& digest) {
  std::vector<std::string> lines;
  for (OutputStream stream : {OutputStream::Stdout, OutputStream::Stderr}) {
    for (const OutputDigest::Line& line : digest.head()) {
      if (line.stream == stream)
        lines.push_back((stream == OutputStream::Stdout ? "| " : "! ") + line.text);
    }
  }
  return lines;
}

std::size_t total_size(const std::vector<std::string>& lines) {
  std::size_t size = 0;
  for (const std::string& line : lines) size += line.size() + 1;
  return size;
}

}  // namespace

GroupReporter::GroupReporter(std::FILE* out, GroupOptions options)
    : out_(out), options_(std::move(options)), budget_(options_.budget_bytes) {
  if (options_.messages == nullptr) options_.messages = out_;
}

void GroupReporter::lay_out(const RunStart& start) {
  tasks_.clear();
  task_index_.clear();
  cursors_.clear();
  waves_.clear();
  std::size_t wave = 0;
  for (std::size_t h = 0; h < start.host_names.size(); ++h) {
    while (wave < start.wave_ends.size() && h >= start.wave_ends[wave]) ++wave;
    waves_.emplace(start.host_names[h], static_cast<int>(wave));
  }
  wave_count_ = std::max<int>(1, static_cast<int>(start.wave_ends.size()));
  for (std::size_t t = 0; t < start.targets.size(); ++t) {
    const TaskTargets& target = start.targets[t];
    task_index_.emplace(target.task, t);
    TaskState& task =
        tasks_.emplace_back(TaskState{target.task, std::max(0, target.steps), false, {}});
    task.steps.resize(static_cast<std::size_t>(task.step_count) *
                      static_cast<std::size_t>(wave_count_));
    for (const std::string& host : target.hosts) {
      std::vector<int>& cursor = cursors_[host];
      cursor.resize(start.targets.size(), -1);
      cursor[t] = 0;
      const int host_wave = wave_of(host);
      if (host_wave != wave_of(target.hosts.front())) task.multi_wave = true;
      for (int step = 0; step < task.step_count; ++step) ++task.at(host_wave, step).pending;
    }
  }
}

GroupReporter::~GroupReporter() = default;

void GroupReporter::on(const Event& event) {
  tally_.add(event);
  if (const auto* e = std::get_if<RunStart>(&event.body)) {
    lay_out(*e);
  } else if (const auto* e = std::get_if<Output>(&event.body)) {
    add_output(*e);
  } else if (const auto* e = std::get_if<StepStart>(&event.body)) {
    // issue 14: each host's resolved label, folded; a retried attempt has the same label.
    StepGroup* step = find_step(e->task, e->step, e->host);
    if (step != nullptr && !step->is_printed &&
        step->running.find(e->host) == step->running.end()) {
      if (step->first_label.empty() && step->label_shape.empty()) {
        step->first_label = e->name;
        step->label_shape = TextFold::shape_of(e->name, e->host);
        step->label.add(e->name, e->host);
      } else if (step->labels_fold && TextFold::shape_of(e->name, e->host) == step->label_shape) {
        step->label.add(e->name, e->host);
      } else {
        step->labels_fold = false;
      }
    }
  } else if (const auto* e = std::get_if<StepEnd>(&event.body)) {
    end_step(*e);
  } else if (const auto* e = std::get_if<HostEnd>(&event.body)) {
    end_host(*e);
  } else if (std::holds_alternative<RunEnd>(event.body)) {
    print_all_unprinted();
    print_summary();
  }
}

void GroupReporter::finish() {
  print_all_unprinted();
  if (!summary_printed_ && tally_.start() != nullptr) print_summary();
  std::fflush(out_);
  std::fflush(options_.messages);
}

GroupReporter::StepGroup* GroupReporter::find_step(const std::string& task, int step,
                                                   const std::string& host) {
  auto it = task_index_.find(task);
  if (it == task_index_.end() || step < 0) return nullptr;
  TaskState& state = tasks_[it->second];
  return step < state.step_count ? &state.at(wave_of(host), step) : nullptr;
}

int GroupReporter::wave_of(const std::string& host) const {
  auto it = waves_.find(host);
  return it == waves_.end() ? 0 : it->second;
}

void GroupReporter::add_output(const Output& output) {
  StepGroup* step = find_step(output.task, output.step, output.host);
  if (step == nullptr || step->is_printed) return;
  step->running[output.host].add(output, options_.head, budget_);
}

void GroupReporter::end_step(const StepEnd& end) {
  StepGroup* step = find_step(end.task, end.step, end.host);
  if (step == nullptr) return;
  OutputDigest digest;
  if (auto running = step->running.find(end.host); running != step->running.end()) {
    digest = std::move(running->second);
    step->running.erase(running);
  }
  if (end.will_retry) {
    // Only the last attempt is the host's result; the others' output is in the run log.
    digest.release(budget_);
    return;
  }
  if ((end.status == StepStatus::Skipped && condition_skip_reason(end).empty()) ||
      step->is_printed) {
    digest.release(budget_);
  } else {
    if ((end.status == StepStatus::Failed || end.status == StepStatus::TimedOut ||
         end.status == StepStatus::Aborted) &&
        !end.ignored) {
      failure_printed_.insert(end.host);
    }
    auto [it, is_new] =
        step->result_index.try_emplace(result_key(end, digest), step->results.size());
    if (is_new) {
      step->results.push_back(Result{end, std::move(digest), {}});
    } else {
      digest.release(budget_);  // the same output is already held once
    }
    step->results[it->second].hosts.push_back(end.host);
  }
  mark_done(end.host, task_index_.at(end.task), end.step + 1);
  print_ready();
}

void GroupReporter::end_host(const HostEnd& host) {
  // A host that ends runs nothing more: every step it has not ended is done as far as it goes.
  if (auto cursor = cursors_.find(host.host); cursor != cursors_.end()) {
    for (std::size_t t = 0; t < tasks_.size(); ++t) {
      mark_done(host.host, t, tasks_[t].step_count);
    }
  }
  const bool is_unreachable = host.status == HostStatus::Unreachable;
  const bool is_new_failure =
      host.status == HostStatus::Failed && !failure_printed_.contains(host.host);
  if (is_unreachable || is_new_failure) {
    std::string text = fmt::format("{}: {}", escape_terminal(host.host), to_string(host.status));
    const std::string_view reason = without_host(host.error, host.host);
    if (!reason.empty()) text += ": " + escape_terminal(reason);
    write(paint(text, kRed, options_.color) + "\n", options_.messages);
  }
  print_ready();
}

// The host has ended the task's steps before `up_to`: each counts as done for it, once.
void GroupReporter::mark_done(const std::string& host, std::size_t task, int up_to) {
  auto cursor = cursors_.find(host);
  if (cursor == cursors_.end() || cursor->second[task] < 0) return;
  int& next = cursor->second[task];
  TaskState& state = tasks_[task];
  const int wave = wave_of(host);
  for (; next < up_to && next < state.step_count; ++next) {
    if (--state.at(wave, next).pending == 0) ready_.push_back(Ready{wave, task, next});
  }
}

void GroupReporter::print_ready() {
  std::sort(ready_.begin(), ready_.end());
  for (const Ready& ready : ready_) {
    TaskState& task = tasks_[ready.task];
    print_step(task, ready.step, ready.wave, task.at(ready.wave, ready.step));
  }
  ready_.clear();
}

// At the end of a run cut short, steps some host never ended still show what they have.
void GroupReporter::print_all_unprinted() {
  print_ready();
  for (int wave = 0; wave < wave_count_; ++wave) {
    for (TaskState& task : tasks_) {
      for (int i = 0; i < task.step_count; ++i) {
        if (!task.at(wave, i).results.empty()) print_step(task, i, wave, task.at(wave, i));
      }
    }
  }
}

void GroupReporter::print_step(const TaskState& task, int index, int wave, StepGroup& step) {
  if (step.is_printed) return;
  step.is_printed = true;
  for (auto& [host, digest] : step.running) digest.release(budget_);
  step.running.clear();
  if (step.results.empty()) return;  // skipped everywhere
  std::stable_sort(step.results.begin(), step.results.end(), [](const Result& a, const Result& b) {
    return a.hosts.size() > b.hosts.size();
  });
  std::string text = fmt::format("== {} step {}", escape_terminal(task.name), index + 1);
  if (task.multi_wave) text += fmt::format(" (wave {} of {})", wave + 1, wave_count_);
  // Labels of another shape (a per-host variable): the first host's, said to differ.
  const std::string label =
      step.labels_fold ? step.label.text() : step.first_label + " (differs per host)";
  if (!label.empty()) text += ": " + escape_terminal(label);
  text += "\n";
  const std::vector<std::string> majority = marked_lines(step.results[0].digest);
  for (std::size_t r = 0; r < step.results.size(); ++r) {
    const Result& result = step.results[r];
    const std::size_t count = result.hosts.size();
    std::string heading = escape_terminal(base::compress_hosts(result.hosts));
    if (count > 1) heading += fmt::format(" ({} hosts)", count);
    const bool is_ok = result.end.status == StepStatus::Ok;
    const bool is_skipped = result.end.status == StepStatus::Skipped;
    const std::string_view color = is_ok ? (result.end.changed ? kYellow : kGreen)
                                   : result.end.ignored || is_skipped ? kYellow
                                                                      : kRed;
    heading += ": " + paint(status_text(result.end), color, options_.color);
    std::vector<std::string> lines = marked_lines(result.digest);
    if (r > 0 && result.digest.hash() == step.results[0].digest.hash() && !lines.empty()) {
      text += heading + ", same output as the majority\n";
      continue;
    }
    const bool whole = !result.digest.is_truncated() && !step.results[0].digest.is_truncated();
    if (r > 0 && whole && !majority.empty() && !lines.empty()) {
      auto diff = base::unified_diff(majority, lines);
      if (diff && diff->empty()) {  // other bytes, the same display: a `\r` redraw, a piece
        text += heading +
                ", differs from the majority only where the terminal does not show it (see the run "
                "log)\n";
        continue;
      }
      if (diff && total_size(*diff) < total_size(lines)) {
        heading += ", diff against the majority:";
        lines = std::move(*diff);
      }
    }
    text += heading + "\n";
    for (const std::string& line : lines) text += "  " + line + "\n";
    if (result.digest.is_truncated()) {
      const std::uint64_t lines_in_all = result.digest.lines();
      text +=
          fmt::format("  ... {} line{}, {} in all: the rest is in the run log{}\n", lines_in_all,
                      lines_in_all == 1 ? "" : "s", format_bytes(result.digest.bytes()),
                      options_.run_log.empty() ? "" : " " + escape_terminal(options_.run_log));
    }
  }
  for (Result& result : step.results) result.digest.release(budget_);
  step.results.clear();
  step.results.shrink_to_fit();
  step.result_index.clear();
  write(text);
}

void GroupReporter::print_summary() {
  if (summary_printed_) return;
  summary_printed_ = true;
  const SummaryOptions summary{options_.host_width,        options_.color,
                               options_.max_listed_groups, options_.run_log,
                               options_.rerun_command,     options_.rerun_note,
                               options_.rerun_fallback};
  write(summary_text(tally_, summary), options_.messages);
}

void GroupReporter::write(const std::string& text, std::FILE* file) {
  if (file == nullptr) file = out_;
  if (options_.status_line != nullptr) options_.status_line->clear();
  std::fwrite(text.data(), 1, text.size(), file);
  std::fflush(file);
}

}  // namespace deployd::report
