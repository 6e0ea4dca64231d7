// SPDX-License-Identifier: MIT
// The run driver (ninja's Builder::Build as a coroutine) and each host's job loop.
#include "engine/engine.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <set>
#include <string_view>
#include <unordered_map>

#include "engine/step_runner.hpp"
#include "engine/wakeup.hpp"
#include "graph/task_graph.hpp"
#include "sched/scheduler.hpp"

namespace deployd::engine {
namespace asio = boost::asio;

std::vector<const Host*> run_hosts(const Plan& plan, const std::vector<const Task*>& tasks) {
  std::set<std::string> targeted;
  for (const Task* task : tasks)
    if (!task->is_local) targeted.insert(task->hosts.begin(), task->hosts.end());
  std::vector<const Host*> hosts;
  for (const Host& host : plan.hosts)
    if (targeted.count(host.name)) hosts.push_back(&host);
  return hosts;
}

namespace {

// Linear in hosts x tasks: a search of each task's host list per host would be quadratic in
// hosts, which scheduler_bench measured at 118 s for 100,000 hosts.
sched::RunShape shape_of(const std::vector<const Task*>& tasks, const std::vector<const Host*>& hosts) {
  sched::RunShape shape{graph::need_indices(tasks), std::vector<std::vector<int>>(hosts.size())};
  std::unordered_map<std::string_view, std::size_t> index;
  for (std::size_t h = 0; h < hosts.size(); ++h) index.emplace(hosts[h]->name, h);
  for (std::size_t t = 0; t < tasks.size(); ++t)  // tasks are in dependency order: lists stay sorted
    for (const std::string& name : tasks[t]->hosts)
      if (auto found = index.find(name); found != index.end())
        shape.host_tasks[found->second].push_back(static_cast<int>(t));
  return shape;
}

sched::Limits limits_of(const Plan& plan, int forks_override) {
  const Policy& policy = plan.policy;
  return sched::Limits{forks_override > 0 ? forks_override : policy.forks, policy.batches,
                       policy.max_failures, policy.on_failure};
}

template <typename Body>
void emit(Reporter& reporter, Body body) {
  reporter.on(Event{Clock::now(), std::move(body)});
}

}  // namespace

struct Engine::State {
  const Plan& plan;
  RunSetup setup;
  Transport& transport;
  Reporter& reporter;
  std::vector<const Host*> hosts;
  sched::Scheduler scheduler;
  StatusCounts counts;
  std::optional<Wakeup> wakeup;
  std::optional<Semaphore> connecting;

  State(const Plan& p, RunSetup s, Transport& t, Reporter& r)
      : plan(p),
        setup(std::move(s)),
        transport(t),
        reporter(r),
        hosts(run_hosts(p, setup.tasks)),
        scheduler(shape_of(setup.tasks, hosts), limits_of(p, setup.forks)) {}

  asio::awaitable<void> run_host(int host);
  asio::awaitable<HostEnd> run_jobs(int host, Connection& connection);
  void skip_rest(int host, const sched::NextJob& next, const std::string& reason);
  void report_skipped_jobs(int host, const std::vector<int>& tasks, const std::string& reason);
  void finish_host(int host, HostEnd end);
};

Engine::Engine(const Plan& plan, RunSetup setup, Transport& transport, Reporter& reporter)
    : state_(std::make_unique<State>(plan, std::move(setup), transport, reporter)) {}
Engine::~Engine() = default;

asio::awaitable<RunEnd> Engine::run() {
  State& s = *state_;
  asio::any_io_executor executor = co_await asio::this_coro::executor;
  s.wakeup.emplace(executor);
  s.connecting.emplace(executor, s.plan.policy.max_connecting);
  auto started = std::chrono::steady_clock::now();

  // 1. Announce the run.
  std::vector<std::string> task_names;
  for (const Task* task : s.setup.tasks) task_names.push_back(task->name);
  emit(s.reporter, RunStart{s.setup.run_id, s.plan.file, static_cast<int>(s.hosts.size()), task_names});

  // 2. Start every host the scheduler admits; sleep until a host finishes; repeat.
  while (!s.scheduler.is_done()) {
    for (int host : s.scheduler.take_startable_hosts()) {
      asio::co_spawn(executor, s.run_host(host), [&s, host](std::exception_ptr error) {
        if (!error) return;
        // A bug, not a host failure: still account for the host so the run ends.
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          s.finish_host(host, HostEnd{s.hosts[host]->name, HostStatus::Failed,
                                      std::string("internal error: ") + e.what()});
        } catch (...) {
          s.finish_host(host, HostEnd{s.hosts[host]->name, HostStatus::Failed, "internal error"});
        }
      });
    }
    if (!s.scheduler.is_done()) co_await s.wakeup->wait();
  }

  // 3. Hosts an abort kept from starting, then the totals.
  for (int host : s.scheduler.take_never_started()) {
    emit(s.reporter, HostEnd{s.hosts[host]->name, HostStatus::Aborted, "not started: the run was aborted"});
    s.counts.add(HostStatus::Aborted);
  }
  RunEnd end;
  end.counts = s.counts;
  end.status = s.scheduler.is_aborted()                          ? RunStatus::Aborted
               : (s.counts.failed + s.counts.unreachable) > 0     ? RunStatus::Failed
                                                                  : RunStatus::Ok;
  end.exit_code = end.status == RunStatus::Aborted ? 3 : end.status == RunStatus::Failed ? 1 : 0;
  end.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
  emit(s.reporter, end);
  co_return end;
}

asio::awaitable<void> Engine::State::run_host(int host) {
  ConnectResult connected;
  {
    // policy.max_connecting bounds handshakes in flight, apart from forks (hosts worked on).
    co_await connecting->acquire();
    Permit permit(*connecting);
    connected = co_await transport.connect(*hosts[host]);
  }
  if (!connected.connection) {
    // plan-format.md: connection failures fail the host like a failed step.
    sched::NextJob next = scheduler.next_job(host);
    skip_rest(host, next, "the host is unreachable");
    finish_host(host, HostEnd{hosts[host]->name, HostStatus::Unreachable, connected.error});
    co_return;
  }
  HostEnd end = co_await run_jobs(host, *connected.connection);
  co_await connected.connection->close();
  finish_host(host, std::move(end));
}

asio::awaitable<HostEnd> Engine::State::run_jobs(int host, Connection& connection) {
  HostEnd end{hosts[host]->name, HostStatus::Ok, ""};
  VarMap registered;
  for (;;) {
    sched::NextJob next = scheduler.next_job(host);
    if (next.kind == sched::NextJob::Kind::Aborted && end.status == HostStatus::Ok) {
      end.status = HostStatus::Aborted;
      end.error = "stopped: the run was aborted";
    }
    report_skipped_jobs(host, next.skipped, "a task it needs failed on this host");
    if (next.kind != sched::NextJob::Kind::Run) break;
    const Task& task = *setup.tasks[static_cast<std::size_t>(next.task)];
    bool job_ok = true;
    for (int index = 0; index < static_cast<int>(task.steps.size()); ++index) {
      if (!job_ok) {
        report_skipped_step(reporter, *hosts[host], task, index, "an earlier step failed");
        continue;
      }
      // Named, not a temporary: g++ 12 frees an aggregate temporary inside co_await twice.
      StepContext context{plan, *hosts[host], task, index, connection, reporter, setup.run_id, registered};
      StepOutcome outcome = co_await run_step(context);
      if (!outcome.fails_host) continue;
      job_ok = false;
      end = HostEnd{hosts[host]->name, HostStatus::Failed, outcome.error};
    }
    scheduler.job_finished(host, next.task, job_ok);
    if (!job_ok) {
      // on_failure stop-host: a failing host runs nothing more; its other jobs are skipped.
      skip_rest(host, scheduler.next_job(host), "an earlier task failed on this host");
      break;
    }
  }
  co_return end;
}

void Engine::State::report_skipped_jobs(int host, const std::vector<int>& tasks,
                                        const std::string& reason) {
  for (int t : tasks) {
    const Task& task = *setup.tasks[static_cast<std::size_t>(t)];
    for (int index = 0; index < static_cast<int>(task.steps.size()); ++index)
      report_skipped_step(reporter, *hosts[host], task, index, reason);
  }
}

void Engine::State::skip_rest(int host, const sched::NextJob& first, const std::string& reason) {
  sched::NextJob next = first;
  for (;;) {
    report_skipped_jobs(host, next.skipped, reason);
    if (next.kind != sched::NextJob::Kind::Run) return;
    report_skipped_jobs(host, {next.task}, reason);
    scheduler.job_finished(host, next.task, false);
    next = scheduler.next_job(host);
  }
}

void Engine::State::finish_host(int host, HostEnd end) {
  HostStatus status = end.status;
  counts.add(status);
  emit(reporter, std::move(end));
  scheduler.host_finished(host, status);
  wakeup->notify();
}

}  // namespace deployd::engine
