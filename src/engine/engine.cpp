// SPDX-License-Identifier: MIT
// The run driver (ninja's Builder::Build as a coroutine) and each host's job loop.
#include "engine/engine.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <algorithm>
#include <exception>
#include <set>

#include "engine/step_runner.hpp"
#include "engine/wakeup.hpp"
#include "engine/run_shape.hpp"
#include "engine/step_text.hpp"
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

/// The controller's stand-in for a connection: local tasks hold only local steps, which never
/// reach a connection (the loader refuses remote steps in a local task).
class ControllerConnection final : public Connection {
 public:
  asio::awaitable<ExecResult> exec(const ExecRequest&) override {
    co_return ExecResult{.error = "internal error: a remote command in a local task"};
  }
  asio::awaitable<TransferResult> put(const PutRequest&) override { co_return refused(); }
  asio::awaitable<TransferResult> get(const GetRequest&) override { co_return refused(); }
  asio::awaitable<void> close() override { co_return; }

 private:
  static TransferResult refused() {
    TransferResult result;
    result.error = "internal error: a file transfer in a local task";
    return result;
  }
};

bool has_local_task(const std::vector<const Task*>& tasks) {
  return std::any_of(tasks.begin(), tasks.end(), [](const Task* task) { return task->is_local; });
}

// The run's hosts in plan order, then the controller when some task is local.
std::vector<const Host*> hosts_with(std::vector<const Host*> hosts, const Host& controller, bool needed) {
  if (needed) hosts.push_back(&controller);
  return hosts;
}

}  // namespace

struct Engine::State {
  const Plan& plan;
  RunSetup setup;
  Transport& transport;
  Reporter& reporter;
  Host controller;  ///< the pseudo-host of local tasks, named "local" in events
  std::vector<const Host*> hosts;  ///< the run's hosts in plan order, then the controller if needed
  std::optional<int> local_host;   ///< the controller's index in `hosts`
  sched::Scheduler scheduler;
  StatusCounts counts;
  bool has_local_failed = false;
  std::string stuck_reason;
  VarMap shared_registered;  ///< what local and run_once tasks register, seen by every host
  std::optional<Wakeup> wakeup;
  std::vector<std::unique_ptr<Wakeup>> host_wakeups;  ///< a parked host sleeps on its own
  std::optional<Semaphore> connecting;

  State(const Plan& p, RunSetup s, Transport& t, Reporter& r)
      : plan(p),
        setup(std::move(s)),
        transport(t),
        reporter(r),
        controller(Host{.name = kLocalHost, .address = "localhost"}),
        hosts(hosts_with(run_hosts(p, setup.tasks), controller, has_local_task(setup.tasks))),
        local_host(!hosts.empty() && hosts.back() == &controller
                       ? std::optional<int>(static_cast<int>(hosts.size()) - 1)
                       : std::nullopt),
        scheduler(run_shape(setup.tasks, hosts, local_host), run_limits(p, setup.forks)) {}

  /// The targeted hosts, the controller not counted.
  int remote_host_count() const { return static_cast<int>(hosts.size()) - (local_host ? 1 : 0); }

  void start_or_resume(asio::any_io_executor executor, int host);
  asio::awaitable<void> run_host(int host);
  asio::awaitable<HostEnd> run_jobs(int host, Connection& connection);
  asio::awaitable<bool> run_job(int host, const Task& task, Connection& connection, VarMap& registered,
                                HostEnd& end);
  void share_registered(const Task& task, const VarMap& registered);
  void skip_rest(int host, const std::string& reason);
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
  s.host_wakeups.resize(s.hosts.size());
  auto started = std::chrono::steady_clock::now();

  // 1. Announce the run.
  std::vector<std::string> task_names;
  for (const Task* task : s.setup.tasks) task_names.push_back(task->name);
  emit(s.reporter, RunStart{s.setup.run_id, s.plan.file, s.remote_host_count(), task_names});

  // 2. Start (or wake) every host the scheduler admits; sleep until a host changes state.
  while (!s.scheduler.is_done()) {
    std::vector<int> admitted = s.scheduler.take_startable_hosts();
    for (int host : admitted) s.start_or_resume(executor, host);
    if (s.scheduler.is_done()) break;
    if (admitted.empty() && s.scheduler.is_stuck()) {
      s.stuck_reason = "stopped: its tasks wait for hosts of a later wave, which cannot start first"
                       " (a task that waits for every host is needed before the wave ends)";
      s.scheduler.abort();
      continue;
    }
    co_await s.wakeup->wait();
  }

  // 3. Hosts an abort kept from starting, then the totals.
  for (int host : s.scheduler.take_never_started()) {
    emit(s.reporter, HostEnd{s.hosts[host]->name, HostStatus::Aborted, "not started: the run was aborted"});
    if (host != s.local_host) s.counts.add(HostStatus::Aborted);
  }
  RunEnd end;
  end.counts = s.counts;
  bool any_failed = s.counts.failed + s.counts.unreachable > 0 || s.has_local_failed;
  end.status = s.scheduler.is_aborted() ? RunStatus::Aborted : any_failed ? RunStatus::Failed : RunStatus::Ok;
  end.exit_code = end.status == RunStatus::Aborted ? 3 : end.status == RunStatus::Failed ? 1 : 0;
  end.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
  emit(s.reporter, end);
  co_return end;
}

void Engine::State::start_or_resume(asio::any_io_executor executor, int host) {
  std::unique_ptr<Wakeup>& host_wakeup = host_wakeups[static_cast<std::size_t>(host)];
  if (host_wakeup) {
    host_wakeup->notify();  // a parked host may go on
    return;
  }
  host_wakeup = std::make_unique<Wakeup>(executor);
  asio::co_spawn(executor, run_host(host), [this, host](std::exception_ptr error) {
    if (!error) return;
    // A bug, not a host failure: still account for the host so the run ends.
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      finish_host(host, HostEnd{hosts[host]->name, HostStatus::Failed, std::string("internal error: ") + e.what()});
    } catch (...) {
      finish_host(host, HostEnd{hosts[host]->name, HostStatus::Failed, "internal error"});
    }
  });
}

asio::awaitable<void> Engine::State::run_host(int host) {
  if (host == local_host) {
    ControllerConnection controller_connection;
    HostEnd end = co_await run_jobs(host, controller_connection);
    finish_host(host, std::move(end));
    co_return;
  }
  ConnectResult connected;
  if (!hosts[host]->via.empty()) {
    // Behind a jump host, the transport applies max_connecting per jump host instead.
    connected = co_await transport.connect(*hosts[host]);
  } else {
    // policy.max_connecting bounds handshakes in flight, apart from forks (hosts worked on).
    co_await connecting->acquire();
    Permit permit(*connecting);
    connected = co_await transport.connect(*hosts[host]);
  }
  if (!connected.connection) {
    // plan-format.md: connection failures fail the host like a failed step.
    skip_rest(host, "the host is unreachable");
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
    report_skipped_jobs(host, next.skipped, "a task it needs failed");
    if (next.kind == sched::NextJob::Kind::Wait) {
      wakeup->notify();  // our fork slot is free for another host
      co_await host_wakeups[static_cast<std::size_t>(host)]->wait();
      continue;
    }
    if (next.kind == sched::NextJob::Kind::Aborted && end.status == HostStatus::Ok) {
      end.status = HostStatus::Aborted;
      end.error = stuck_reason.empty() ? "stopped: the run was aborted" : stuck_reason;
    }
    if (next.kind != sched::NextJob::Kind::Run) break;
    const Task& task = *setup.tasks[static_cast<std::size_t>(next.task)];
    bool job_ok = co_await run_job(host, task, connection, registered, end);
    scheduler.job_finished(host, next.task, job_ok);
    if (job_ok && (task.is_local || task.run_once)) share_registered(task, registered);
    if (!job_ok) {
      // on_failure stop-host: a failing host runs nothing more; its other jobs are skipped.
      skip_rest(host, "an earlier task failed on this host");
      break;
    }
  }
  co_return end;
}

asio::awaitable<bool> Engine::State::run_job(int host, const Task& task, Connection& connection,
                                             VarMap& registered, HostEnd& end) {
  // plan-format.md: what local and run_once tasks register is seen by every host.
  for (const auto& [name, value] : shared_registered) registered.insert_or_assign(name, value);
  for (int index = 0; index < static_cast<int>(task.steps.size()); ++index) {
    // Named, not a temporary: g++ 12 frees an aggregate temporary inside co_await twice.
    StepContext context{plan, *hosts[host], task, index, connection, reporter, setup.run_id, registered};
    StepOutcome outcome = co_await run_step(context);
    if (!outcome.fails_host) continue;
    end = HostEnd{hosts[host]->name, HostStatus::Failed, outcome.error};
    for (int rest = index + 1; rest < static_cast<int>(task.steps.size()); ++rest)
      report_skipped_step(reporter, *hosts[host], task, rest, "an earlier step failed");
    co_return false;
  }
  co_return true;
}

void Engine::State::share_registered(const Task& task, const VarMap& registered) {
  for (const Step& step : task.steps)
    if (!step.register_as.empty())
      if (auto found = registered.find(step.register_as); found != registered.end())
        shared_registered.insert_or_assign(found->first, found->second);
}

void Engine::State::report_skipped_jobs(int host, const std::vector<int>& tasks, const std::string& reason) {
  for (int t : tasks) {
    const Task& task = *setup.tasks[static_cast<std::size_t>(t)];
    for (int index = 0; index < static_cast<int>(task.steps.size()); ++index)
      report_skipped_step(reporter, *hosts[host], task, index, reason);
  }
}

// The scheduler counts a finished host's remaining jobs as done; this reports them as skipped.
void Engine::State::skip_rest(int host, const std::string& reason) {
  report_skipped_jobs(host, scheduler.remaining_jobs(host), reason);
}

void Engine::State::finish_host(int host, HostEnd end) {
  HostStatus status = end.status;
  // The controller is not one of the targeted hosts: its failure fails the run, not a host.
  if (host == local_host)
    has_local_failed = status == HostStatus::Failed;
  else
    counts.add(status);
  emit(reporter, std::move(end));
  scheduler.host_finished(host, status);
  wakeup->notify();
}

}  // namespace deployd::engine
