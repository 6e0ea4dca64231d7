// SPDX-License-Identifier: MIT
// The JUnit XML report (see junit_reporter.hpp and plan-format.md, "JUnit report").
#include "report/junit_reporter.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "report/escape.hpp"
#include "report/time_text.hpp"
#include "report/whole_file.hpp"

namespace deployd::report {

namespace fs = std::filesystem;

namespace {

constexpr const char* kConnectCase = "connect";
// A stderr line longer than this is cut in the report: the run log has it whole.
constexpr std::size_t kMaxLineBytes = 4096;

void append_hex_byte(std::string& out, unsigned char c) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out += "\\x";
  out += kDigits[c >> 4];
  out += kDigits[c & 0x0F];
}

std::string seconds_text(std::int64_t ms) { return fmt::format("{}.{:03}", ms / 1000, ms % 1000); }

}  // namespace

std::string escape_xml(std::string_view bytes, bool is_attribute) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t at = 0;
  while (at < bytes.size()) {
    const auto c = static_cast<unsigned char>(bytes[at]);
    if (c >= 0x80) {
      const std::size_t length = utf8_sequence_length(bytes, at);
      // U+FFFE and U+FFFF are valid UTF-8 but not XML 1.0 characters.
      const bool is_nonchar = length == 3 && c == 0xEF && static_cast<unsigned char>(bytes[at + 1]) == 0xBF &&
                              static_cast<unsigned char>(bytes[at + 2]) >= 0xBE;
      if (length == 0 || is_nonchar) {
        for (std::size_t i = 0; i < (length == 0 ? 1 : length); ++i)
          append_hex_byte(out, static_cast<unsigned char>(bytes[at + i]));
        at += length == 0 ? 1 : length;
        continue;
      }
      out.append(bytes.substr(at, length));
      at += length;
      continue;
    }
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += is_attribute ? "&quot;" : "\""; break;
      // Attribute values have tab and newlines normalised to spaces, and CR is dropped from
      // text: references keep them.
      case '\t': out += is_attribute ? "&#9;" : "\t"; break;
      case '\n': out += is_attribute ? "&#10;" : "\n"; break;
      case '\r': out += "&#13;"; break;
      default:
        if (c < 0x20) {
          append_hex_byte(out, c);  // not an XML 1.0 character, not even as a reference
        } else {
          out += static_cast<char>(c);
        }
    }
    ++at;
  }
  return out;
}

JunitReporter::Case& JunitReporter::case_for(const std::string& host, const std::string& task) {
  auto [it, is_new] = index_.try_emplace({task, host}, cases_.size());
  if (is_new) {
    cases_.push_back(Case{});
    cases_.back().host = host;
    cases_.back().task = task;
    host_has_case_[host] = true;
  }
  return cases_[it->second];
}

void JunitReporter::on(const Event& event) {
  if (const auto* start = std::get_if<RunStart>(&event.body)) {
    timestamp_ = format_rfc3339_ms(event.time);
    task_order_ = start->tasks;
  } else if (const auto* step = std::get_if<StepStart>(&event.body)) {
    case_for(step->host, step->task).is_running = true;
  } else if (const auto* output = std::get_if<Output>(&event.body)) {
    if (output->stream != OutputStream::Stderr) return;
    Case& c = case_for(output->host, output->task);
    if (c.last_line_partial && !c.stderr_lines.empty()) {
      std::string& line = c.stderr_lines.back();
      if (line.size() < kMaxLineBytes) line += output->line.substr(0, kMaxLineBytes - line.size());
    } else {
      c.stderr_lines.push_back(output->line.substr(0, kMaxLineBytes));
      if (c.stderr_lines.size() > kStderrLines) c.stderr_lines.erase(c.stderr_lines.begin());
    }
    c.last_line_partial = output->is_partial;
  } else if (const auto* end = std::get_if<StepEnd>(&event.body)) {
    Case& c = case_for(end->host, end->task);
    c.is_running = false;
    c.duration_ms += end->duration_ms;
    ++c.steps_ended;
    if (end->status == StepStatus::Skipped) {
      ++c.steps_skipped;
      if (c.skip_message.empty()) c.skip_message = end->error;
    } else if (end->status != StepStatus::Ok && !end->ignored && !end->will_retry && c.failure_type.empty()) {
      c.failure_type = end->status == StepStatus::TimedOut ? "timed_out" : "failed";
      c.failure_message = end->error.empty() ? fmt::format("step {} {}", end->step, to_string(end->status))
                                             : end->error;
    }
  } else if (const auto* host = std::get_if<HostEnd>(&event.body)) {
    if (host->status == HostStatus::Ok) return;
    if (!host_has_case_[host->host]) {
      Case& c = case_for(host->host, kConnectCase);
      if (host->status == HostStatus::Unreachable || host->status == HostStatus::Failed) {
        c.failure_type = to_string(host->status);
        c.failure_message = host->error;
      } else {
        c.skip_message = host->error;
        c.steps_skipped = c.steps_ended = 1;
      }
      return;
    }
    // A step cut short (interrupt, lost connection) ends its task's case with the host's
    // cause; so does a task skipped only because its host was unreachable (an error, not a skip).
    for (Case& c : cases_) {
      if (c.host != host->host || !c.failure_type.empty()) continue;
      const bool never_ran = c.steps_skipped == c.steps_ended && host->status == HostStatus::Unreachable;
      if (c.is_running || never_ran) {
        c.failure_type = to_string(host->status);
        c.failure_message = host->error;
      }
      c.is_running = false;
    }
  } else if (const auto* run_end = std::get_if<RunEnd>(&event.body)) {
    run_duration_ms_ = run_end->duration_ms;
  }
}

std::string JunitReporter::xml() const {
  // Suites in the run's task order, then any other task seen, then the connect cases.
  std::vector<std::string> suites = task_order_;
  for (const Case& c : cases_)
    if (c.task != kConnectCase && std::find(suites.begin(), suites.end(), c.task) == suites.end())
      suites.push_back(c.task);
  suites.push_back(kConnectCase);

  struct Counts {
    int tests = 0, failures = 0, errors = 0, skipped = 0;
    std::int64_t ms = 0;
  };
  // Unreachable is an error (the test could not run), every other cause a failure.
  auto is_error = [](const Case& c) { return c.failure_type == "unreachable"; };
  auto is_skipped = [](const Case& c) {
    return c.failure_type.empty() && c.steps_ended > 0 && c.steps_skipped == c.steps_ended;
  };
  auto count = [&](Counts& n, const Case& c) {
    ++n.tests;
    n.ms += c.duration_ms;
    if (!c.failure_type.empty()) ++(is_error(c) ? n.errors : n.failures);
    else if (is_skipped(c)) ++n.skipped;
  };

  Counts total;
  for (const Case& c : cases_) count(total, c);
  std::string body;
  for (const std::string& suite : suites) {
    Counts n;
    std::string cases;
    for (const Case& c : cases_) {
      if (c.task != suite) continue;
      count(n, c);
      cases += fmt::format(R"(    <testcase classname="{}" name="{}" time="{}")",
                           escape_xml(c.task, true), escape_xml(c.host, true),
                           seconds_text(c.duration_ms));
      if (!c.failure_type.empty()) {
        std::string text = c.failure_message;
        if (!c.stderr_lines.empty()) {
          text += "\nlast stderr lines:";
          for (const std::string& line : c.stderr_lines) text += "\n" + line;
        }
        const char* element = is_error(c) ? "error" : "failure";
        cases += fmt::format(">\n      <{} type=\"{}\" message=\"{}\">{}</{}>\n    </testcase>\n", element,
                             c.failure_type, escape_xml(c.failure_message, true), escape_xml(text, false),
                             element);
      } else if (is_skipped(c)) {
        cases += fmt::format(">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                             escape_xml(c.skip_message, true));
      } else {
        cases += "/>\n";
      }
    }
    if (n.tests == 0) continue;
    body += fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
        "time=\"{}\" "
        "timestamp=\"{}\">\n{}  </testsuite>\n",
        escape_xml(suite, true), n.tests, n.failures, n.errors, n.skipped, seconds_text(n.ms),
        timestamp_, cases);
  }
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuites name=\"deployd\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" "
      "time=\"{}\">\n"
      "{}</testsuites>\n",
      total.tests, total.failures, total.errors, total.skipped,
      seconds_text(run_duration_ms_ >= 0 ? run_duration_ms_ : total.ms), body);
}

void JunitReporter::finish() {
  if (is_finished_) return;
  is_finished_ = true;
  const std::string document = xml();
  if (const std::string error = write_whole_file(file_, document); !error.empty()) {
    std::fprintf(stderr, "deployd: warning: write the JUnit report \"%s\": %s\n",
                 escape_terminal(file_.string()).c_str(), error.c_str());
  }
}

}  // namespace deployd::report
