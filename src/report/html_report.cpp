// SPDX-License-Identifier: MIT
// The HTML report (see html_report.hpp); the page itself is html_report.html, embedded at build
// time (embed_template.py) with the hash of its script in its Content-Security-Policy.
#include "report/html_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>
#include <utility>
#include <vector>

#include "base/duration_text.hpp"
#include "report/run_view.hpp"

namespace deployd::report {

extern const char* const kHtmlReportTemplate;  // html_report_template.cpp, generated

namespace {

using Json = nlohmann::json;

std::string h(std::string_view text) { return escape_html(text); }

// The fragment that opens a host's output in the page (its script reads location.hash).
std::string host_link(const std::string& host) {
  std::string href = "#host=";
  for (unsigned char c : host) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.')
      href += static_cast<char>(c);
    else
      href += fmt::format("%{:02X}", c);
  }
  return href;
}

std::string command_line_text(const std::vector<std::string>& argv) {
  std::string text;
  for (const std::string& arg : argv) {
    if (!text.empty()) text += ' ';
    const bool plain = !arg.empty() && std::all_of(arg.begin(), arg.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) ||
             std::string_view("%+,-./:=@_*").find(c) != std::string_view::npos;
    });
    text += plain ? arg : "'" + arg + "'";
  }
  return text;
}

void header_row(std::string& out, std::string_view key, std::string_view value) {
  out += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", h(key), h(value));
}

std::string header(const RecordedRun& run) {
  std::string out = "<table class=\"kv\" id=\"header\">\n";
  header_row(out, "run", run.run_id);
  header_row(out, "plan", run.plan);
  std::string tasks;
  for (const std::string& task : run.tasks) tasks += (tasks.empty() ? "" : ", ") + task;
  header_row(out, "tasks", tasks);
  if (!run.context.command_line.empty())
    header_row(out, "command line", command_line_text(run.context.command_line));
  if (!run.context.user.empty()) header_row(out, "user", run.context.user);
  if (!run.context.cwd.empty()) header_row(out, "folder", run.context.cwd);
  header_row(out, "started", run.started);
  header_row(out, "duration", base::elapsed_text(std::chrono::milliseconds(run.duration_ms)));
  std::string result = run.status.empty() ? "did not end (no run_end in the log)" : run.status;
  if (run.exit_code) result += fmt::format(" (exit {})", *run.exit_code);
  out += fmt::format(
      "<tr><th>result</th><td><span class=\"result r-{}\" id=\"result\">{}</span></td></tr>\n",
      h(run.status.empty() ? "none" : run.status), h(result));
  std::map<std::string, int> ends;
  int never = 0;
  for (const HostRecord& host : run.hosts) host.status.empty() ? ++never : ++ends[host.status];
  std::string hosts = fmt::format("{}", run.hosts.size());
  for (const auto& [status, count] : ends) hosts += fmt::format(", {} {}", count, status);
  if (never > 0) hosts += fmt::format(", {} never ended", never);
  header_row(out, "hosts", hosts);
  std::string policy;
  for (const auto& [key, value] : run.context.policy)
    policy += (policy.empty() ? "" : ", ") + key + ": " + value;
  if (!policy.empty()) header_row(out, "policy", policy);
  if (!run.context.wave_ends.empty())
    header_row(out, "waves", fmt::format("{}", run.context.wave_ends.size()));
  if (!run.plan_sha256.empty()) header_row(out, "plan sha256", run.plan_sha256);
  return out + "</table>\n";
}

std::string histogram_svg(const TaskStats& st) {
  const int top = std::max(1, *std::max_element(st.histogram.begin(), st.histogram.end()));
  constexpr int kWidth = 4, kHeight = 24;
  std::string out =
      fmt::format(R"(<svg class="hist" width="{}" height="{}" viewBox="0 0 {} {}" role="img">)",
                  kHistogramBins * kWidth, kHeight, kHistogramBins * kWidth, kHeight);
  const std::int64_t span = st.max_ms - st.min_ms;
  for (int i = 0; i < kHistogramBins; ++i) {
    const int count = st.histogram[static_cast<std::size_t>(i)];
    if (count == 0) continue;
    const int height = std::max(1, count * kHeight / top);  // one host still shows: the slow tail
    const std::int64_t from = st.min_ms + span * i / kHistogramBins;
    const std::int64_t to = st.min_ms + span * (i + 1) / kHistogramBins;
    out += fmt::format(
        R"(<rect x="{}" y="{}" width="{}" height="{}"><title>{}–{}: {} host{}</title></rect>)",
        i * kWidth, kHeight - height, kWidth - 1, height,
        base::elapsed_text(std::chrono::milliseconds(from)),
        base::elapsed_text(std::chrono::milliseconds(to)), count, count == 1 ? "" : "s");
  }
  return out + "</svg>";
}

std::string task_grid(const RecordedRun& run) {
  std::string out =
      "<table class=\"grid\" id=\"tasks\">\n<thead><tr><th>task</th><th>hosts</th><th "
      "class=\"st-ok\">ok</th>"
      "<th class=\"st-changed\">changed</th><th class=\"st-failed\">failed</th><th "
      "class=\"st-skipped\">skipped</th>"
      "<th class=\"st-aborted\">aborted</th><th "
      "class=\"st-retried\">retried</th><th>min</th><th>median</th>"
      "<th>p95</th><th>max</th><th title=\"time on a host, from its first step's start to its last "
      "step's end\">"
      "durations</th></tr></thead>\n<tbody>\n";
  for (const TaskStats& st : task_stats(run)) {
    if (st.hosts == 0) continue;
    out += fmt::format(
        "<tr data-task=\"{}\"><td class=\"name\">{}</td><td>{}</td><td class=\"n ok\">{}</td><td "
        "class=\"n changed\">{}</td>"
        "<td class=\"n failed\">{}</td><td class=\"n skipped\">{}</td><td class=\"n "
        "aborted\">{}</td>"
        "<td class=\"n "
        "retried\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
        h(st.task), h(st.task), st.hosts, st.ok, st.changed, st.failed, st.skipped, st.aborted,
        st.retried, base::elapsed_text(std::chrono::milliseconds(st.min_ms)),
        base::elapsed_text(std::chrono::milliseconds(st.median_ms)),
        base::elapsed_text(std::chrono::milliseconds(st.p95_ms)),
        base::elapsed_text(std::chrono::milliseconds(st.max_ms)), histogram_svg(st));
  }
  return out + "</tbody></table>\n";
}

// Each group a <details>, so that many groups stay short without script: the first open.
std::string failures(const RecordedRun& run) {
  constexpr std::size_t kOpen = 1;
  const std::vector<FailureGroup> groups = failure_groups(run);
  if (groups.empty()) return "<p id=\"no-failures\">No host failed.</p>\n";
  std::string out = "<ol id=\"failures\">\n";
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const FailureGroup& group = groups[g];
    const HostRecord& first = run.hosts[group.hosts.front()];
    out +=
        fmt::format("<li class=\"failure\"><details{}><summary><b>{}</b> host{}: <code>{}</code>\n",
                    g < kOpen ? " open" : "", group.hosts.size(),
                    group.hosts.size() == 1 ? "" : "s", h(group.host_list));
    out += fmt::format("<div class=\"reason\">{}</div></summary>\n", h(group.reason));
    if (!group.last_stderr.empty()) {
      out += "<pre class=\"stderr\">";
      for (const std::string& line : group.last_stderr) out += h(line) + "\n";
      out += "</pre>\n";
    }
    out += fmt::format("<a class=\"out-link\" href=\"{}\">output of {}</a></details></li>\n",
                       h(host_link(first.name)), h(first.name));
  }
  return out + "</ol>\n";
}

// The data the page's script draws from: compact arrays, documented in html_report.html.
Json page_data(const RecordedRun& run) {
  Json steps = Json::array();
  std::map<std::tuple<int, int, std::string>, int> step_index;
  auto step_of = [&](const Attempt& a) {
    auto [it, is_new] =
        step_index.try_emplace({a.task, a.step, a.name}, static_cast<int>(steps.size()));
    if (is_new) steps.push_back({a.task, a.step, a.name});
    return it->second;
  };
  auto output_step = [&](const OutputLine& line) {
    auto found = std::find_if(step_index.begin(), step_index.end(), [&](const auto& entry) {
      return std::get<0>(entry.first) == line.task && std::get<1>(entry.first) == line.step;
    });
    return found == step_index.end() ? -1 : found->second;
  };
  Json hosts = Json::array();
  Json out = Json::array();
  std::vector<std::pair<std::int64_t, std::int64_t>> waves(run.context.wave_ends.size(), {-1, -1});
  for (const HostRecord& host : run.hosts) {
    Json attempts = Json::array();
    for (const Attempt& a : host.attempts) {
      Json row = {step_of(a), static_cast<int>(a.status), a.start_ms, a.end_ms};
      if (a.exit_status || !a.error.empty() || !a.exit_signal.empty()) {
        row.push_back(a.exit_status ? Json(*a.exit_status) : Json());
        row.push_back(a.error.empty() ? Json() : Json(a.error));
        row.push_back(a.exit_signal.empty() ? Json() : Json(a.exit_signal));
      }
      attempts.push_back(std::move(row));
      if (host.wave >= 0 && static_cast<std::size_t>(host.wave) < waves.size()) {
        auto& wave = waves[static_cast<std::size_t>(host.wave)];
        wave.first = wave.first < 0 ? a.start_ms : std::min(wave.first, a.start_ms);
        wave.second = std::max(wave.second, a.end_ms);
      }
    }
    hosts.push_back({host.name, host.wave, host.status, host.end_ms, std::move(attempts)});
  }
  // Output after every step is known, so that lines name the step they came from.
  for (const HostRecord& host : run.hosts) {
    Json lines = Json::array();
    int last_task = -1, last_step = -1, k = -1;
    for (const OutputLine& line : host.output) {
      if (line.task != last_task || line.step != last_step) {
        k = output_step(line);
        last_task = line.task;
        last_step = line.step;
      }
      lines.push_back({k, line.is_stderr ? 1 : 0, line.text});
    }
    out.push_back(std::move(lines));
  }
  Json folds = Json::array();
  for (const HostFold& fold : host_folds(run)) folds.push_back({fold.label, fold.hosts});
  Json wave_list = Json::array();
  for (const auto& [from, to] : waves) wave_list.push_back({from, to});
  Json barriers = Json::array();
  // A barrier holds each wave's hosts until the wave got there: marked where it opened, per wave.
  for (const std::string& task : run.context.barriers) {
    const auto t = std::find(run.tasks.begin(), run.tasks.end(), task);
    if (t == run.tasks.end()) continue;
    std::map<int, std::int64_t> first;  // wave -> earliest start
    for (const HostRecord& host : run.hosts)
      for (const Attempt& a : host.attempts)
        if (a.task == t - run.tasks.begin()) {
          auto [it, is_new] = first.try_emplace(host.wave, a.start_ms);
          if (!is_new) it->second = std::min(it->second, a.start_ms);
        }
    for (const auto& [wave, ms] : first) barriers.push_back({task, wave, ms});
  }
  return {{"start", run.start_epoch_ms},
          {"duration", run.duration_ms},
          {"tasks", run.tasks},
          {"steps", std::move(steps)},
          {"hosts", std::move(hosts)},
          {"folds", std::move(folds)},
          {"waves", std::move(wave_list)},
          {"barriers", std::move(barriers)},
          {"out", std::move(out)}};
}

// JSON inside <script type="application/json">: "<" never appears as is, so no "</script>" or
// "<!--" in a host's output can end the block. Outside strings JSON has no < > &.
std::string script_safe(const std::string& json) {
  std::string out;
  out.reserve(json.size() + json.size() / 64);
  for (char c : json) {
    switch (c) {
      case '<':
        out += "\\u003c";
        break;
      case '>':
        out += "\\u003e";
        break;
      case '&':
        out += "\\u0026";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The template with each marker, in the order they stand in it, replaced: searching the
// template only (never inserted text) keeps a host that prints a marker from moving anything.
std::string fill(std::string_view page,
                 const std::vector<std::pair<std::string_view, std::string>>& parts) {
  std::string out;
  std::size_t at = 0;
  for (const auto& [marker, text] : parts) {
    const std::size_t found = page.find(marker, at);
    if (found == std::string_view::npos) continue;
    out.append(page.substr(at, found - at));
    out += text;
    at = found + marker.size();
  }
  out.append(page.substr(at));
  return out;
}

}  // namespace

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_html_report(const RecordedRun& run) {
  std::string warnings;
  for (const std::string& warning : run.warnings)
    warnings += "<p class=\"warning\">" + h(warning) + "</p>\n";
  const std::string title = fmt::format("deployd run {} of {}: {}", run.run_id, run.plan,
                                        run.status.empty() ? "did not end" : run.status);
  return fill(kHtmlReportTemplate,
              {{"@TITLE@", h(title)},
               {"@TITLE@", h(title)},
               {"@HEADER@", warnings + header(run)},
               {"@TASKS@", task_grid(run)},
               {"@FAILURES@", failures(run)},
               {"@DATA@",
                script_safe(page_data(run).dump(-1, ' ', false, Json::error_handler_t::replace))}});
}

}  // namespace deployd::report
