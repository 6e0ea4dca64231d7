// SPDX-License-Identifier: MIT
// deployd as a library: load a plan, run it, print one line per host and the run's end.
//
//   c++ -std=c++20 main.cpp $(pkg-config --cflags --libs --static deployd) -o embed
//   ./embed plan.json [TASK...]
//
// Only deployd's public headers are needed (the standard library's, nothing else): the events
// are plain structs, and a Reporter is one virtual function.
#include <cstdio>
#include <deployd/load.hpp>
#include <deployd/run.hpp>
#include <variant>

namespace {

const char* host_status(deployd::HostStatus status) {
  switch (status) {
    case deployd::HostStatus::Ok:
      return "ok";
    case deployd::HostStatus::Failed:
      return "failed";
    case deployd::HostStatus::Unreachable:
      return "unreachable";
    case deployd::HostStatus::Skipped:
      return "skipped";
    case deployd::HostStatus::Aborted:
      return "aborted";
  }
  return "?";
}

// Prints each step's output line and each host's end as they come.
class PrintingReporter final : public deployd::Reporter {
 public:
  void on(const deployd::Event& event) override {
    if (const auto* output = std::get_if<deployd::Output>(&event.body))
      std::printf("%s: %s\n", output->host.c_str(), output->line.c_str());
    else if (const auto* end = std::get_if<deployd::HostEnd>(&event.body))
      std::printf("%s: %s%s%s\n", end->host.c_str(), host_status(end->status),
                  end->error.empty() ? "" : ": ", end->error.c_str());
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs("usage: embed PLAN.json [TASK...]\n", stderr);
    return 2;
  }
  deployd::LoadResult loaded = deployd::load_plan(argv[1]);
  if (!loaded.plan) {
    for (const deployd::Diagnostic& error : loaded.errors)
      std::fprintf(stderr, "embed: %s\n", error.to_string().c_str());
    return 2;
  }
  deployd::RunOptions options;
  options.tasks.assign(argv + 2, argv + argc);
  options.run_id = "embed";
  PrintingReporter reporter;
  deployd::RunResult result = deployd::run(*loaded.plan, options, reporter);
  for (const deployd::Diagnostic& error : result.errors)
    std::fprintf(stderr, "embed: %s\n", error.to_string().c_str());
  for (const std::string& warning : result.warnings)
    std::fprintf(stderr, "embed: warning: %s\n", warning.c_str());
  if (result.errors.empty())
    std::printf("run: %d ok, %d failed, %d unreachable (exit %d)\n", result.end.counts.ok,
                result.end.counts.failed, result.end.counts.unreachable, result.exit_code());
  return result.exit_code();
}
