// SPDX-License-Identifier: MIT
// Tests of src/report/terminal_timeline.cpp.
#include "report/terminal_timeline.hpp"

#include <doctest/doctest.h>

#include <sstream>

#include "report/escape.hpp"

namespace deployd::report {

namespace {

HostRecord host(std::string name, std::int64_t end, BarStatus status,
                std::string end_status = "ok") {
  HostRecord h;
  h.name = std::move(name);
  h.status = std::move(end_status);
  h.end_ms = end;
  h.attempts.push_back(Attempt{.start_ms = 0, .end_ms = end / 2, .status = BarStatus::Retried});
  h.attempts.push_back(Attempt{.start_ms = end / 2, .end_ms = end, .status = status});
  return h;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE(
    "render_terminal_timeline: the slowest hosts first, each line within the terminal's width") {
  RecordedRun run;
  run.duration_ms = 1000;
  run.tasks = {"deploy"};
  run.hosts = {host("fast", 200, BarStatus::Ok), host("slowest", 1000, BarStatus::Failed, "failed"),
               host("mid\x1b[31m", 600, BarStatus::Changed)};
  const std::string text =
      render_terminal_timeline(run, {.columns = 60, .hosts = 2, .color = false});
  const std::vector<std::string> lines = lines_of(text);
  REQUIRE(lines.size() == 5);  // title, axis, 2 hosts, legend
  CHECK(lines[0].find("2 of 3 hosts") != std::string::npos);
  CHECK(lines[2].rfind("slowest", 0) == 0);
  CHECK(lines[2].find("✗") != std::string::npos);
  CHECK(lines[2].find("▒") != std::string::npos);
  CHECK(lines[2].find("failed") != std::string::npos);
  CHECK(lines[3].find("mid\\x1b[31m") == 0);  // escaped for the terminal
  CHECK(lines[3].find("▓") != std::string::npos);
  for (std::size_t i = 1; i + 1 < lines.size(); ++i) CHECK(display_width(lines[i]) <= 60);
}

}  // namespace deployd::report
