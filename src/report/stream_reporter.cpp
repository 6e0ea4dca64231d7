// SPDX-License-Identifier: MIT
// Live, host-prefixed terminal output: `--output stream`.
#include "report/stream_reporter.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "report/condition_skip.hpp"
#include "report/escape.hpp"
#include "report/size_text.hpp"
#include "report/status_line.hpp"
#include "report/terminal.hpp"

namespace deployd::report {

std::size_t host_column_width(const std::vector<std::string>& hosts) {
  std::size_t width = 0;
  for (const std::string& host : hosts) {
    width = std::max(width, display_width(escape_terminal(host)));
  }
  return width;
}

StreamReporter::StreamReporter(std::FILE* out, StreamOptions options)
    : out_(out), options_(std::move(options)) {
  if (options_.messages == nullptr) options_.messages = out_;
}

void StreamReporter::on(const Event& event) {
  tally_.add(event);
  if (options_.quiet) {
    if (std::holds_alternative<RunEnd>(event.body)) print_summary();
    return;
  }
  if (const auto* e = std::get_if<Output>(&event.body)) {
    print_output(*e);
  } else if (const auto* e = std::get_if<StepStart>(&event.body)) {
    print_step_start(*e);
  } else if (const auto* e = std::get_if<StepEnd>(&event.body)) {
    print_step_end(*e);
  } else if (const auto* e = std::get_if<HostEnd>(&event.body)) {
    print_host_end(*e);
  } else if (std::holds_alternative<RunEnd>(event.body)) {
    print_summary();
  } else if (const auto* e = std::get_if<Progress>(&event.body)) {
    print_progress(*e, event.time);
  }
}

// At most one line per host every kProgressInterval, timed by the events' own clock: 500 hosts
// uploading print ~100 lines a second at most, and a short transfer prints none.
void StreamReporter::print_progress(const Progress& progress, Clock::time_point time) {
  auto [last, is_first] = last_progress_.try_emplace(progress.host, time);
  if (!is_first && time - last->second < kProgressInterval) return;
  last->second = time;
  // A total of 0, or one the bytes already passed (a file that grows while it is read), is not
  // known: say how much so far, never `115.7 MiB of 0 B (100%)`.
  std::string amount = format_bytes(progress.bytes);
  if (progress.total > 0 && progress.bytes <= progress.total) {
    const double percent = 100.0 * static_cast<double>(progress.bytes) / static_cast<double>(progress.total);
    amount += fmt::format(" of {} ({:.0f}%)", format_bytes(progress.total), percent);
  } else {
    amount += " so far (total not known)";
  }
  write(fmt::format("{} ~ {} step {}: {}, {}/s\n", prefix(progress.host), escape_terminal(progress.task),
                    progress.step + 1, amount, format_bytes(progress.bytes_per_second)));
}

void StreamReporter::finish() {
  if (!summary_printed_ && tally_.start() != nullptr) print_summary();
  std::fflush(out_);
  std::fflush(options_.messages);
}

// The pieces of a line too long for one event follow its first piece with a `+` marker.
void StreamReporter::print_output(const Output& output) {
  const bool is_stderr = output.stream == OutputStream::Stderr;
  std::string key = output.host;
  key += is_stderr ? '\x02' : '\x01';  // host names never hold control characters
  const bool is_continuation =
      output.is_partial ? !continuing_.insert(key).second : continuing_.erase(key) > 0;
  std::string marker = is_stderr ? " " + paint("!", kRed, options_.color) + " " : " | ";
  if (is_continuation) marker = " + ";
  write_to(is_stderr ? options_.messages : out_,
           prefix(output.host) + marker + escape_terminal(last_segment(output.line)) + "\n");
}

void StreamReporter::print_step_start(const StepStart& step) {
  if (!options_.show_step_starts) return;
  std::string line =
      fmt::format("{} > {} step {}", prefix(step.host), escape_terminal(step.task), step.step + 1);
  if (!step.name.empty()) line += ": " + escape_terminal(step.name);
  if (!step.delegate.empty()) line += " (on " + escape_terminal(step.delegate) + ")";
  write(line + "\n");
}

// Failures print when they happen, not only in the summary: on a long run the user sees the
// first one at once. A failed step prints FAILED; its host_end failed then adds nothing unless
// the host failed outside any step (a variable left unresolved, a dropped connection).
// A step the run cancelled says ABORTED, as its host's end and the summary do. An ignored
// failure (ignore_errors) prints `failed (ignored)`: the host goes on.
void StreamReporter::print_step_end(const StepEnd& step) {
  // plan-format.md, "Conditions": a step its `when` skipped says so (not the steps a failure
  // skipped: the failure says it).
  if (!condition_skip_reason(step).empty()) {
    write(prefix(step.host) + " " + escape_terminal(without_host(step.error, step.host)) + "\n");
    return;
  }
  // plan-format.md, "Changed": a file written is marked (a command that ran changes the host
  // by definition; its output already shows that it ran).
  if (step.changed && step.transfer) {
    write(fmt::format(
        "{} {}\n", prefix(step.host),
        paint(fmt::format("changed: {} step {}", escape_terminal(step.task), step.step + 1),
              kYellow, options_.color)));
    return;
  }
  const bool is_aborted = step.status == StepStatus::Aborted;
  if (step.status != StepStatus::Failed && step.status != StepStatus::TimedOut && !is_aborted)
    return;
  const std::string reason = step_failure_reason(step);
  if (step.will_retry) {  // "attempt 1 of 2 failed (...); retrying in 1s": not the host's result
    write(prefix(step.host) + " " +
          paint(escape_terminal(without_host(reason, step.host)), kYellow, options_.color) + "\n");
    return;
  }
  if (step.ignored) {
    const std::string text = "failed (ignored): " + escape_terminal(without_host(reason, step.host));
    write(prefix(step.host) + " " + paint(text, kYellow, options_.color) + "\n");
    return;
  }
  failure_printed_.insert(step.host);
  const std::string text =
      (is_aborted ? "ABORTED: " : "FAILED: ") + escape_terminal(without_host(reason, step.host));
  write(prefix(step.host) + " " + paint(text, kRed, options_.color) + "\n");
}

void StreamReporter::print_host_end(const HostEnd& host) {
  const bool is_unreachable = host.status == HostStatus::Unreachable;
  const bool is_new_failure =
      host.status == HostStatus::Failed && !failure_printed_.contains(host.host);
  if (!is_unreachable && !is_new_failure) return;
  std::string text = is_unreachable ? "UNREACHABLE" : "FAILED";
  const std::string_view reason = without_host(host.error, host.host);
  if (!reason.empty()) text += ": " + escape_terminal(reason);
  write(prefix(host.host) + " " + paint(text, kRed, options_.color) + "\n");
}

void StreamReporter::print_summary() {
  summary_printed_ = true;
  const SummaryOptions summary{options_.host_width,        options_.color,
                               options_.max_listed_groups, options_.run_log,
                               options_.rerun_command,     options_.rerun_note,
                               options_.rerun_fallback};
  write(summary_text(tally_, summary));
}

// Escaping and colouring a host name for every line of its output would cost more than the
// line itself; each host's column is made once.
const std::string& StreamReporter::prefix(const std::string& host) {
  auto it = prefixes_.find(host);
  if (it == prefixes_.end()) {
    it = prefixes_.emplace(host, host_column(host, options_.host_width, options_.color)).first;
  }
  return it->second;
}

void StreamReporter::write(const std::string& text) { write_to(options_.messages, text); }

// One fwrite per whole line (or summary) and a flush, so each reaches the terminal in one
// write(2): lines are never torn and appear as they happen.
void StreamReporter::write_to(std::FILE* file, const std::string& text) {
  if (options_.status_line != nullptr) options_.status_line->clear();
  std::fwrite(text.data(), 1, text.size(), file);
  std::fflush(file);
}

}  // namespace deployd::report
