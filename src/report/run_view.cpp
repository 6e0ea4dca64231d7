// SPDX-License-Identifier: MIT
// Figures of a recorded run (see run_view.hpp).
#include "report/run_view.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <string_view>
#include <tuple>

#include "base/host_ranges.hpp"

namespace deployd::report {

namespace {

// Worse outcomes first; a host counts in a task by its worst step.
int severity(BarStatus status) {
  switch (status) {
    case BarStatus::Aborted:
      return 5;
    case BarStatus::Failed:
      return 4;
    case BarStatus::Changed:
      return 3;
    case BarStatus::Ok:
      return 2;
    case BarStatus::Retried:
      return 1;  // an attempt run again: the later one decides
    case BarStatus::Skipped:
      return 0;
  }
  return 0;
}

bool is_bad_end(const std::string& status) {
  return status == "failed" || status == "unreachable" || status == "aborted";
}

// A host's name is in most of its messages (`web07: deploy step 2: ...`): cut out, the same
// failure on many hosts reads the same and folds into one group.
std::string without_host_lead(std::string text, const std::string& host) {
  if (host.empty()) return text;
  for (const std::string& lead : {host + ": ", host + " "})
    if (text.rfind(lead, 0) == 0) return text.substr(lead.size());
  return text;
}

std::string attempt_reason(const RecordedRun& run, const Attempt& attempt) {
  // Events number steps from 0, messages (and this report) from 1.
  const std::string step = run.tasks[static_cast<std::size_t>(attempt.task)] + " step " +
                           std::to_string(attempt.step + 1);
  if (attempt.error.rfind(step + " ", 0) == 0 || attempt.error.rfind(step + ":", 0) == 0)
    return attempt.error;  // the engine's own message names the step already
  std::string where = step;
  if (!attempt.name.empty()) where += " (" + attempt.name + ")";
  if (!attempt.error.empty()) return where + ": " + attempt.error;
  if (attempt.exit_status)
    return where + ": exited with status " + std::to_string(*attempt.exit_status);
  return where + ": failed";
}

// What makes two reasons the same failure: their text with durations (`after 303ms`, `1.5s`,
// `2m05s`) left out, as hosts cancelled together differ only in those.
std::string fold_key(const std::string& reason) {
  std::string key;
  for (std::size_t at = 0; at < reason.size();) {
    const bool starts_word = at == 0 || !std::isalnum(static_cast<unsigned char>(reason[at - 1]));
    std::size_t end = at;
    while (end < reason.size() &&
           (std::isdigit(static_cast<unsigned char>(reason[end])) || reason[end] == '.'))
      ++end;
    std::size_t unit = end;
    while (unit < reason.size() && std::isalpha(static_cast<unsigned char>(reason[unit]))) ++unit;
    const std::string_view suffix = std::string_view(reason).substr(end, unit - end);
    if (starts_word && end > at &&
        (suffix == "ms" || suffix == "s" || suffix == "m" || suffix == "h")) {
      key += '#';
      at = unit;
      // base::elapsed_text's second part: the `05s` of `2m05s`, the `02m` of `1h02m`.
      const char second_unit = suffix == "m" ? 's' : suffix == "h" ? 'm' : '\0';
      if (second_unit != 0 && at + 2 < reason.size() &&
          std::isdigit(static_cast<unsigned char>(reason[at])) &&
          std::isdigit(static_cast<unsigned char>(reason[at + 1])) && reason[at + 2] == second_unit)
        at += 3;
      continue;
    }
    key += reason[at++];
  }
  return key;
}

}  // namespace

std::int64_t percentile(const std::vector<std::int64_t>& sorted, int p) {
  if (sorted.empty()) return 0;
  std::size_t rank = (sorted.size() * static_cast<std::size_t>(p) + 99) / 100;  // ceil
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

std::vector<TaskStats> task_stats(const RecordedRun& run) {
  std::vector<TaskStats> stats(run.tasks.size());
  std::vector<std::vector<std::int64_t>> times(run.tasks.size());
  for (std::size_t t = 0; t < run.tasks.size(); ++t) stats[t].task = run.tasks[t];
  for (const HostRecord& host : run.hosts) {
    struct Seen {
      int worst = -1;
      bool retried = false;
      bool ran = false;  ///< a step that did not skip
      std::int64_t first = 0, last = 0;
    };
    std::map<int, Seen> seen;
    for (const Attempt& a : host.attempts) {
      Seen& s = seen[a.task];
      if (a.status == BarStatus::Retried) s.retried = true;
      s.worst = std::max(s.worst, severity(a.status));
      if (a.status == BarStatus::Skipped) continue;
      s.first = s.ran ? std::min(s.first, a.start_ms) : a.start_ms;
      s.last = s.ran ? std::max(s.last, a.end_ms) : a.end_ms;
      s.ran = true;
    }
    for (const auto& [task, s] : seen) {
      TaskStats& st = stats[static_cast<std::size_t>(task)];
      ++st.hosts;
      if (s.retried) ++st.retried;
      switch (s.worst) {
        case 5:
          ++st.aborted;
          break;
        case 4:
          ++st.failed;
          break;
        case 3:
          ++st.changed;
          break;
        case 0:
          ++st.skipped;
          break;
        default:
          ++st.ok;
          break;
      }
      if (s.ran) times[static_cast<std::size_t>(task)].push_back(s.last - s.first);
    }
  }
  for (std::size_t t = 0; t < stats.size(); ++t) {
    std::vector<std::int64_t>& v = times[t];
    std::sort(v.begin(), v.end());
    TaskStats& st = stats[t];
    st.histogram.assign(kHistogramBins, 0);
    if (v.empty()) continue;
    st.min_ms = v.front();
    st.max_ms = v.back();
    st.median_ms = percentile(v, 50);
    st.p95_ms = percentile(v, 95);
    const std::int64_t span = std::max<std::int64_t>(1, st.max_ms - st.min_ms);
    for (std::int64_t ms : v) {
      auto bin = static_cast<std::size_t>((ms - st.min_ms) * kHistogramBins / span);
      ++st.histogram[std::min<std::size_t>(bin, kHistogramBins - 1)];
    }
  }
  return stats;
}

std::vector<FailureGroup> failure_groups(const RecordedRun& run, std::size_t stderr_lines) {
  std::map<std::string, std::size_t> by_reason;
  std::vector<FailureGroup> groups;
  for (std::size_t h = 0; h < run.hosts.size(); ++h) {
    const HostRecord& host = run.hosts[h];
    const Attempt* failed = nullptr;
    for (const Attempt& a : host.attempts)
      if (a.status == BarStatus::Failed || a.status == BarStatus::Aborted) failed = &a;
    if (!is_bad_end(host.status) && !(host.status.empty() && failed != nullptr)) continue;
    std::string reason =
        failed != nullptr ? attempt_reason(run, *failed) : without_host_lead(host.error, host.name);
    if (failed == nullptr && reason.empty())
      reason = host.status.empty() ? "did not finish" : host.status;
    auto [it, is_new] = by_reason.try_emplace(fold_key(reason), groups.size());
    if (is_new) {
      FailureGroup group{reason, {}, {}, {}};
      if (failed != nullptr) {
        for (const OutputLine& line : host.output)
          if (line.is_stderr && line.task == failed->task && line.step == failed->step)
            group.last_stderr.push_back(line.text);
        if (group.last_stderr.size() > stderr_lines)
          group.last_stderr.erase(
              group.last_stderr.begin(),
              group.last_stderr.end() - static_cast<std::ptrdiff_t>(stderr_lines));
      }
      groups.push_back(std::move(group));
    }
    groups[it->second].hosts.push_back(h);
  }
  for (FailureGroup& group : groups) {
    std::vector<std::string> names;
    for (std::size_t h : group.hosts) names.push_back(run.hosts[h].name);
    group.host_list = base::compress_hosts(names);
  }
  std::stable_sort(groups.begin(), groups.end(), [](const FailureGroup& a, const FailureGroup& b) {
    return a.hosts.size() > b.hosts.size();
  });
  return groups;
}

std::vector<HostFold> host_folds(const RecordedRun& run) {
  using Signature = std::tuple<int, std::string, std::vector<std::tuple<int, int, int>>>;
  std::map<Signature, std::size_t> index;
  std::vector<HostFold> folds;
  for (std::size_t h = 0; h < run.hosts.size(); ++h) {
    const HostRecord& host = run.hosts[h];
    Signature signature{host.wave, host.status, {}};
    for (const Attempt& a : host.attempts)
      std::get<2>(signature).emplace_back(a.task, a.step, static_cast<int>(a.status));
    auto [it, is_new] = index.try_emplace(std::move(signature), folds.size());
    if (is_new) folds.push_back(HostFold{});
    folds[it->second].hosts.push_back(h);
  }
  for (HostFold& fold : folds) {
    std::vector<std::string> names;
    for (std::size_t h : fold.hosts) names.push_back(run.hosts[h].name);
    fold.label = base::compress_hosts(names);
  }
  return folds;
}

}  // namespace deployd::report
