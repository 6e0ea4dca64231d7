// SPDX-License-Identifier: MIT
// Cost of one output line in each reporter: what a host printing millions of lines costs the
// engine's one thread. Usage: output-bench [LINES]; writes to /dev/null.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "report/group_reporter.hpp"
#include "report/json_reporter.hpp"
#include "report/stream_reporter.hpp"

namespace {

using namespace deployd;

void measure(const char* name, Reporter& reporter, int lines) {
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < lines; ++i) {
    reporter.on(Event{Clock::now(), Output{"node002", "flood", 0, OutputStream::Stdout, std::to_string(i)}});
  }
  const std::chrono::duration<double, std::micro> elapsed = std::chrono::steady_clock::now() - started;
  std::printf("%-8s %.2f us a line\n", name, elapsed.count() / lines);
}

}  // namespace

int main(int argc, char** argv) {
  const int lines = argc > 1 ? std::atoi(argv[1]) : 1000000;
  std::FILE* null = std::fopen("/dev/null", "w");
  report::JsonReporter json(null, report::JsonFlush::AtBoundaries);  // as the run log writes
  measure("json", json, lines);
  report::StreamReporter stream(null, {.host_width = 7});
  measure("stream", stream, lines);
  report::GroupReporter group(null, report::GroupOptions{});
  RunStart start{"bench", "plan.json", 1, {"flood"}};
  start.host_names = {"node002"};
  start.targets = {TaskTargets{"flood", 1, {"node002"}}};
  group.on(Event{Clock::now(), std::move(start)});  // group mode waits for what run_start names
  measure("group", group, lines);
  std::fclose(null);
}
