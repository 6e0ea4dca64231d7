// SPDX-License-Identifier: MIT
// Scale simulation: the scheduler alone, then the whole engine over a FakeTransport, on
// 100,000 hosts x 5 tasks. Prints time and memory per job (issue "The whole plan language").
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "async/awaitable.hpp"
#include "deployd/load.hpp"
#include "engine/engine.hpp"
#include "graph/task_graph.hpp"
#include "sched/scheduler.hpp"
#include "support/fake_transport.hpp"

namespace {

using namespace deployd;
using SteadyClock = std::chrono::steady_clock;

constexpr int kTasks = 5;

// Peak RSS since the last reset_peak_rss(), from /proc (VmHWM), so each phase is measured
// alone rather than hidden under an earlier, higher peak such as loading the plan.
long peak_rss_kb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

long current_rss_kb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// The scheduler as the engine drives it, with every job succeeding at once.
void bench_scheduler(int hosts) {
  reset_peak_rss();
  long rss_before = current_rss_kb();
  auto start = SteadyClock::now();
  sched::RunShape shape;
  for (int t = 0; t < kTasks; ++t) shape.needs.push_back(t == 0 ? std::vector<int>{} : std::vector<int>{t - 1});
  shape.host_tasks.assign(static_cast<std::size_t>(hosts), {0, 1, 2, 3, 4});
  sched::Scheduler scheduler(std::move(shape), sched::Limits{.forks = 256});
  long jobs = 0;
  while (!scheduler.is_done()) {
    for (int host : scheduler.take_startable_hosts()) {
      for (sched::NextJob next = scheduler.next_job(host); next.kind == sched::NextJob::Kind::Run;
           next = scheduler.next_job(host)) {
        scheduler.job_finished(host, next.task, true);
        ++jobs;
      }
      scheduler.host_finished(host, HostStatus::Ok);
    }
  }
  double elapsed = seconds_since(start);
  std::printf("scheduler: %d hosts x %d tasks = %ld jobs in %.3f s: %.3f us/job, %.0f bytes/job (peak RSS +%ld KB)\n",
              hosts, kTasks, jobs, elapsed, 1e6 * elapsed / static_cast<double>(jobs),
              1024.0 * static_cast<double>(peak_rss_kb() - rss_before) / static_cast<double>(jobs),
              peak_rss_kb() - rss_before);
}

/// Counts events without keeping them, as a terminal renderer would not keep them either.
class CountingReporter final : public Reporter {
 public:
  void on(const Event&) override { ++events; }
  long events = 0;
};

std::string plan_text(int hosts) {
  std::string text =
      "{\"hosts\": [\"h[000001:" + std::to_string(hosts) +
      "]\"], \"vars\": {\"mode\": \"full\"}, \"policy\": {\"forks\": 256}, \"tasks\": {";
  for (int t = 0; t < kTasks; ++t) {
    if (t > 0) text += ",";
    text += "\"t" + std::to_string(t) + "\": {";
    if (t > 0) text += "\"needs\": [\"t" + std::to_string(t - 1) + "\"], ";
    // issue 17: a condition on every step, evaluated per host (parsed once, at load).
    text += "\"steps\": [{\"run\": \"step " + std::to_string(t) +
            "\", \"when\": \"mode == 'full' and host != ''\"}]}";
  }
  return text + "}}";
}

void bench_engine(int hosts) {
  LoadResult loaded = parse_plan(plan_text(hosts), "bench.json");
  if (!loaded.plan) {
    std::fprintf(stderr, "bench plan: %s\n", loaded.errors.front().to_string().c_str());
    std::exit(1);
  }
  reset_peak_rss();
  long rss_before = current_rss_kb();
  auto start = SteadyClock::now();
  graph::Selection selection = graph::select_tasks(*loaded.plan, {});
  testing::FakeTransport transport;
  CountingReporter reporter;
  boost::asio::io_context context{1};  // first: it must outlive the engine's timers
  engine::Engine engine(*loaded.plan, engine::RunSetup{"bench", selection.tasks, 0}, transport, reporter);
  boost::asio::co_spawn(context, engine.run(), [](std::exception_ptr error, RunEnd) {
    if (error) std::rethrow_exception(error);
  });
  context.run();
  double elapsed = seconds_since(start);
  long jobs = static_cast<long>(hosts) * kTasks;
  std::printf("engine + fake transport: %ld jobs, %ld events in %.3f s: %.2f us/job, peak RSS +%ld KB (%.0f bytes/job)\n",
              jobs, reporter.events, elapsed, 1e6 * elapsed / static_cast<double>(jobs), peak_rss_kb() - rss_before,
              1024.0 * static_cast<double>(peak_rss_kb() - rss_before) / static_cast<double>(jobs));
}

}  // namespace

int main(int argc, char** argv) {
  int hosts = argc > 1 ? std::atoi(argv[1]) : 100'000;
  bench_scheduler(hosts);
  bench_engine(hosts);
}
