// SPDX-License-Identifier: MIT
// The end-of-run summary for the terminal (see summary_text.hpp for its exact form).
#include "report/summary_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "report/escape.hpp"
#include "report/host_ranges.hpp"
#include "report/terminal.hpp"
#include "report/time_text.hpp"

namespace deployd::report {

namespace {

bool is_listed(const HostResult& result) {
  return result.status == HostStatus::Failed || result.status == HostStatus::Unreachable;
}

std::string count_list(const StatusCounts& counts) {
  std::string text = fmt::format("{} ok", counts.ok);
  const std::pair<int, const char*> others[] = {{counts.failed, "failed"},
                                                {counts.unreachable, "unreachable"},
                                                {counts.skipped, "skipped"},
                                                {counts.aborted, "aborted"}};
  for (const auto& [count, name] : others) {
    if (count > 0) text += fmt::format(", {} {}", count, name);
  }
  return text;
}

std::string headline(const RunTally& tally, const SummaryOptions& options) {
  const StatusCounts counts = tally.counts();
  const int hosts =
      counts.ok + counts.failed + counts.unreachable + counts.skipped + counts.aborted;
  const RunEnd* end = tally.end();
  const bool is_ok = end != nullptr && end->status == RunStatus::Ok;
  // "failed" would repeat the counts; a run cut short says so first.
  const bool is_cut_short =
      end == nullptr || end->status == RunStatus::Aborted || end->status == RunStatus::Interrupted;
  const std::string status =
      !is_cut_short ? ""
                    : fmt::format("{}: ", end == nullptr ? "unfinished" : to_string(end->status));
  const std::string text =
      fmt::format("{}{} host{}: {} in {}", status, hosts, hosts == 1 ? "" : "s", count_list(counts),
                  format_duration(tally.duration_ms()));
  return "deployd: " + paint(text, is_ok ? kGreen : kRed, options.color) + "\n";
}

std::string host_line(const HostResult& result, const SummaryOptions& options) {
  std::string line = "  " + host_column(result.host, options.host_width, options.color) + " ";
  line += paint(to_string(*result.status), kRed, options.color);
  const std::string_view reason = without_host(result.error, result.host);
  if (!reason.empty()) line += ": " + escape_terminal(reason);
  return line + "\n";
}

std::string right(std::string_view text, std::size_t width) {
  return std::string(width > text.size() ? width - text.size() : 0, ' ') + std::string(text);
}

// Columns sized to their widest cell; the task column is left-aligned, numbers right-aligned.
std::string task_table(const std::vector<TaskTiming>& timings) {
  if (timings.empty()) return {};
  using Row = std::vector<std::string>;
  std::vector<Row> rows{{"task", "ok", "failed", "skipped", "min", "median", "max"}};
  for (const TaskTiming& t : timings) {
    const bool timed = t.ok + t.failed > 0;
    rows.push_back({escape_terminal(t.task), std::to_string(t.ok), std::to_string(t.failed),
                    std::to_string(t.skipped), timed ? format_duration(t.min_ms) : "-",
                    timed ? format_duration(t.median_ms) : "-",
                    timed ? format_duration(t.max_ms) : "-"});
  }
  std::vector<std::size_t> widths(rows[0].size(), 0);
  for (const Row& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], display_width(row[c]));
  std::string text;
  for (const Row& row : rows) {
    std::string line = "  " + row[0] + std::string(widths[0] - display_width(row[0]), ' ');
    for (std::size_t c = 1; c < row.size(); ++c) line += "  " + right(row[c], widths[c]);
    text += line + "\n";
  }
  return text;
}

// `  deploy step 2: failed (ignored) on web[01-03] (3 hosts)`: a failure ignore_errors let
// pass is not a host's failure, but the run did not go as written. One line per step.
std::string ignored_lines(const RunTally& tally, const SummaryOptions& options) {
  std::string text;
  for (const IgnoredFailure& failure : tally.ignored_failures()) {
    std::string hosts = compress_hosts(failure.hosts);
    if (failure.hosts.size() > 1) hosts += fmt::format(" ({} hosts)", failure.hosts.size());
    text += fmt::format("  {} step {}: {} on {}\n", escape_terminal(failure.task), failure.step + 1,
                        paint("failed (ignored)", kYellow, options.color), escape_terminal(hosts));
  }
  return text;
}

}  // namespace

std::string summary_text(const RunTally& tally, const SummaryOptions& options) {
  std::string text = headline(tally, options);
  text += task_table(tally.task_timings());
  std::size_t unlisted = 0;
  std::size_t listed = 0;
  for (const HostResult& result : tally.hosts()) {
    if (!is_listed(result)) continue;
    if (listed == options.max_listed_hosts) {
      ++unlisted;
      continue;
    }
    text += host_line(result, options);
    ++listed;
  }
  if (unlisted > 0) {
    text += fmt::format("  ... and {} more failed or unreachable host{}\n", unlisted,
                        unlisted == 1 ? "" : "s");
  }
  text += ignored_lines(tally, options);
  if (!options.run_log.empty()) {
    text += "deployd: run log: " + escape_terminal(options.run_log) + "\n";
  }
  const StatusCounts counts = tally.counts();
  if (!options.rerun_command.empty() && counts.failed + counts.unreachable > 0) {
    std::string command = options.rerun_command;
    if (options.rerun_fallback) {
      std::vector<std::string> again;  // as --retry-failed picks them (previous_run.cpp)
      for (const HostResult& result : tally.hosts())
        if (result.host != "local" && (!result.status || *result.status != HostStatus::Ok))
          again.push_back(result.host);
      if (std::string fallback = options.rerun_fallback(again); !fallback.empty()) command = fallback;
    }
    text += "deployd: rerun the failed hosts: " + escape_terminal(command) + "\n";
  }
  return text;
}

std::string host_column(std::string_view host, std::size_t width, bool color) {
  const std::string shown = escape_terminal(host);
  const std::size_t used = display_width(shown);
  std::string column = paint(shown, host_color(host), color);
  if (used < width) column.append(width - used, ' ');
  return column;
}

std::string_view without_host(std::string_view reason, std::string_view host) {
  if (reason.size() > host.size() + 1 && reason.substr(0, host.size()) == host &&
      reason.substr(host.size(), 2) == ": ") {
    reason.remove_prefix(host.size() + 2);
  }
  return reason;
}

}  // namespace deployd::report
