// SPDX-License-Identifier: MIT
// The end-of-run summary for the terminal (see summary_text.hpp for its exact form).
#include "report/summary_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <vector>

#include "base/duration_text.hpp"
#include "base/host_ranges.hpp"
#include "report/escape.hpp"
#include "report/terminal.hpp"
#include "report/text_fold.hpp"

namespace deployd::report {

namespace {

// Every host that did not end ok is listed (folded with the others of its reason).
bool is_listed(const HostResult& result) {
  return result.status && *result.status != HostStatus::Ok;
}

// The order of the listed statuses: what went wrong first, what was not done after.
int status_rank(HostStatus status) {
  switch (status) {
    case HostStatus::Failed:
      return 0;
    case HostStatus::Unreachable:
      return 1;
    case HostStatus::Aborted:
      return 2;
    case HostStatus::Skipped:
      return 3;
    case HostStatus::Ok:
      return 4;
  }
  return 4;
}

// Hosts in natural order: node2 before node10, whatever the order they ended in.
bool natural_less(std::string_view a, std::string_view b) {
  std::size_t i = 0;
  std::size_t j = 0;
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      std::size_t ei = i, ej = j;
      while (ei < a.size() && digit(a[ei])) ++ei;
      while (ej < b.size() && digit(b[ej])) ++ej;
      std::string_view na = a.substr(i, ei - i), nb = b.substr(j, ej - j);
      while (na.size() > 1 && na[0] == '0') na.remove_prefix(1);
      while (nb.size() > 1 && nb[0] == '0') nb.remove_prefix(1);
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      if (ei - i != ej - j) return ei - i < ej - j;
      i = ei;
      j = ej;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j];
    ++i;
    ++j;
  }
  return a.size() - i < b.size() - j;
}

// Hosts that ended with the same status for the same reason (same stderr lines too), folded.
struct SummaryGroup {
  HostStatus status = HostStatus::Failed;
  std::vector<std::string> hosts;
  TextFold reason;
  std::vector<TextFold> tail;
};

std::vector<SummaryGroup> summary_groups(const std::vector<HostResult>& results) {
  std::vector<const HostResult*> listed;
  for (const HostResult& result : results)
    if (is_listed(result)) listed.push_back(&result);
  std::sort(listed.begin(), listed.end(), [](const HostResult* a, const HostResult* b) {
    return natural_less(a->host, b->host);
  });
  std::vector<SummaryGroup> groups;
  std::map<std::string, std::size_t> index;  // status, reason's shape, tail's shapes -> groups
  for (const HostResult* result : listed) {
    const std::string_view reason = without_host(result->error, result->host);
    std::string key = fmt::format("{}\n{}", static_cast<int>(*result->status),
                                  TextFold::shape_of(reason, result->host));
    for (const std::string& line : result->stderr_tail)
      key += "\n" + TextFold::shape_of(line, result->host);
    auto [it, is_new] = index.try_emplace(std::move(key), groups.size());
    if (is_new) {
      groups.push_back(
          SummaryGroup{*result->status, {}, {}, std::vector<TextFold>(result->stderr_tail.size())});
    }
    SummaryGroup& group = groups[it->second];
    group.hosts.push_back(result->host);
    group.reason.add(reason, result->host);
    for (std::size_t i = 0; i < group.tail.size(); ++i)
      group.tail[i].add(result->stderr_tail[i], result->host);
  }
  return groups;
}

// The `max` biggest groups (ties: by status), shown by status then biggest first; the others
// after them, to be counted. Hosts are already in order.
void order_groups(std::vector<SummaryGroup>& groups, std::size_t max) {
  auto by_status = [](const SummaryGroup& a, const SummaryGroup& b) {
    if (a.status != b.status) return status_rank(a.status) < status_rank(b.status);
    return a.hosts.size() > b.hosts.size();
  };
  std::stable_sort(groups.begin(), groups.end(), [](const SummaryGroup& a, const SummaryGroup& b) {
    if (a.hosts.size() != b.hosts.size()) return a.hosts.size() > b.hosts.size();
    return status_rank(a.status) < status_rank(b.status);
  });
  const auto shown = groups.begin() + static_cast<std::ptrdiff_t>(std::min(max, groups.size()));
  std::stable_sort(groups.begin(), shown, by_status);
  std::stable_sort(shown, groups.end(), by_status);
}

// A folded host list longer than this is cut: the count says how many there are in all.
constexpr std::size_t kMaxHostsColumns = 60;

std::string hosts_text(const SummaryGroup& group, const SummaryOptions& options) {
  if (group.hosts.size() == 1)
    return host_column(group.hosts[0], options.host_width, options.color);
  std::string folded = escape_terminal(base::compress_hosts(group.hosts));
  if (display_width(folded) > kMaxHostsColumns) {
    std::size_t cut = folded.rfind(',', kMaxHostsColumns);
    folded = folded.substr(0, cut == std::string::npos ? kMaxHostsColumns : cut) + ",…";
  }
  return fmt::format("{} ({} hosts)", folded, group.hosts.size());
}

std::string group_lines(const SummaryGroup& group, const SummaryOptions& options) {
  std::string line = "  " + hosts_text(group, options) + " ";
  line += paint(to_string(group.status), group.status == HostStatus::Skipped ? kYellow : kRed,
                options.color);
  const std::string reason = group.reason.text();
  if (!reason.empty()) line += ": " + escape_terminal(reason);
  line += "\n";
  for (const TextFold& tail : group.tail)
    line += "    " + paint("!", kRed, options.color) + " " + escape_terminal(tail.text()) + "\n";
  return line;
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
  // "failed" would repeat the counts; a run cut short says so first, and why on a line of its
  // own when the run_end says (`aborted: max_failures 1 exceeded: node007, node023 failed`).
  const bool is_cut_short =
      end == nullptr || end->status == RunStatus::Aborted || end->status == RunStatus::Interrupted;
  std::string why;
  std::string status;
  if (is_cut_short && end != nullptr && !end->reason.empty()) {
    // `interrupted by SIGINT` says its status itself.
    const std::string status_word = to_string(end->status);
    const std::string text = end->reason.starts_with(status_word)
                                 ? escape_terminal(end->reason)
                                 : status_word + ": " + escape_terminal(end->reason);
    why = "deployd: " + paint(text, kRed, options.color) + "\n";
  } else if (is_cut_short) {
    status = fmt::format("{}: ", end == nullptr ? "unfinished" : to_string(end->status));
  }
  const std::string text =
      fmt::format("{}{} host{}: {} in {}", status, hosts, hosts == 1 ? "" : "s", count_list(counts),
                  base::elapsed_text(std::chrono::milliseconds(tally.duration_ms())));
  return why + "deployd: " + paint(text, is_ok ? kGreen : kRed, options.color) + "\n";
}

std::string right(std::string_view text, std::size_t width) {
  return std::string(width > text.size() ? width - text.size() : 0, ' ') + std::string(text);
}

// Columns sized to their widest cell; the task column is left-aligned, numbers right-aligned.
std::string task_table(const std::vector<TaskTiming>& timings) {
  if (timings.empty()) return {};
  using Row = std::vector<std::string>;
  // The aborted column only when the run stopped some task: the columns of a run add up to the
  // hosts of each task.
  const bool any_aborted = std::any_of(timings.begin(), timings.end(),
                                       [](const TaskTiming& t) { return t.aborted > 0; });
  // The changed column (of the ok and failed hosts) when some task changed something, as
  // Ansible's PLAY RECAP: the first thing its users read.
  const bool any_changed = std::any_of(timings.begin(), timings.end(),
                                       [](const TaskTiming& t) { return t.changed > 0; });
  std::vector<Row> rows{{"task", "ok", "failed", "skipped", "min", "median", "max"}};
  if (any_aborted) rows[0].insert(rows[0].begin() + 3, "aborted");
  if (any_changed) rows[0].insert(rows[0].begin() + 2, "changed");
  for (const TaskTiming& t : timings) {
    const bool timed = t.ok + t.failed > 0;
    Row row{escape_terminal(t.task),
            std::to_string(t.ok),
            std::to_string(t.failed),
            std::to_string(t.skipped),
            timed ? base::elapsed_text(std::chrono::milliseconds(t.min_ms)) : "-",
            timed ? base::elapsed_text(std::chrono::milliseconds(t.median_ms)) : "-",
            timed ? base::elapsed_text(std::chrono::milliseconds(t.max_ms)) : "-"};
    if (any_aborted) row.insert(row.begin() + 3, std::to_string(t.aborted));
    if (any_changed) row.insert(row.begin() + 2, std::to_string(t.changed));
    rows.push_back(std::move(row));
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
    std::string hosts = base::compress_hosts(failure.hosts);
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
  // One line per reason (and its stderr lines), at most max_listed_groups: a screen, whatever
  // the number of hosts.
  std::vector<SummaryGroup> groups = summary_groups(tally.hosts());
  order_groups(groups, options.max_listed_groups);
  std::size_t unlisted_hosts = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (g < options.max_listed_groups) {
      text += group_lines(groups[g], options);
    } else {
      unlisted_hosts += groups[g].hosts.size();
    }
  }
  if (unlisted_hosts > 0) {
    const std::size_t more = groups.size() - options.max_listed_groups;
    text += fmt::format("  ... and {} more host{} for {} other reason{} (in the run log)\n",
                        unlisted_hosts, unlisted_hosts == 1 ? "" : "s", more, more == 1 ? "" : "s");
  }
  text += ignored_lines(tally, options);
  if (!options.run_log.empty()) {
    text += "deployd: run log: " + escape_terminal(options.run_log) + "\n";
  }
  // The hosts --retry-failed reruns: failed, unreachable, aborted, skipped, and those that never
  // ended.
  const StatusCounts counts = tally.counts();
  const bool has_unended =
      std::any_of(tally.hosts().begin(), tally.hosts().end(),
                  [](const HostResult& r) { return !r.status && r.host != kLocalHost; });
  if (!options.rerun_command.empty() &&
      (counts.failed + counts.unreachable + counts.aborted + counts.skipped > 0 || has_unended)) {
    std::string command = options.rerun_command;
    if (options.rerun_fallback) {
      std::vector<std::string> again;  // as --retry-failed picks them (previous_run.cpp)
      for (const HostResult& result : tally.hosts())
        if (result.host != kLocalHost && (!result.status || *result.status != HostStatus::Ok))
          again.push_back(result.host);
      if (std::string fallback = options.rerun_fallback(again); !fallback.empty()) command = fallback;
    }
    text += "deployd: rerun the failed hosts: " + escape_terminal(command) + "\n";
    if (!options.rerun_note.empty())
      text += "deployd: " + escape_terminal(options.rerun_note) + "\n";
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
