// SPDX-License-Identifier: MIT
// The run driver (ninja's Builder::Build as a coroutine) and each host's job loop.
#include "engine/engine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <functional>
#include <map>
#include <set>

#include "async/awaitable.hpp"
#include "base/cancel.hpp"
#include "base/duration_text.hpp"
#include "base/host_ranges.hpp"
#include "engine/delegates.hpp"
#include "engine/run_shape.hpp"
#include "engine/step_runner.hpp"
#include "engine/step_text.hpp"
#include "engine/wakeup.hpp"
#include "plan/conditions.hpp"
#include "sched/scheduler.hpp"
#include "ssh/debug_log.hpp"

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
  void cancel() override {}

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
  base::SecretMask secrets;    ///< every event passes it: known secret values never get out
  Reporter& reporter;          ///< `secrets`, in front of the caller's reporter
  Host controller;  ///< the pseudo-host of local tasks, named "local" in events
  std::vector<const Host*> hosts;  ///< the run's hosts in plan order, then the controller if needed
  std::optional<int> local_host;   ///< the controller's index in `hosts`
  sched::Scheduler scheduler;
  StatusCounts counts;
  bool has_local_failed = false;
  std::string stuck_reason;
  std::string abort_reason;               ///< why the failure policy aborted the run (run_end)
  std::vector<std::string> failed_hosts;  ///< in the order they failed, for abort_reason
  VarMap shared_registered;  ///< what local and run_once tasks register, seen by every host
  GetClaims get_claims;      ///< local paths written by `get`, checked as the run goes
  std::optional<Wakeup> wakeup;
  std::vector<std::unique_ptr<Wakeup>> host_wakeups;  ///< a parked host sleeps on its own
  std::optional<Semaphore> connecting;
  std::optional<Delegates> delegates;  ///< sessions of `delegate_to` hosts, opened when used
  std::vector<base::Cancel> cancels;   ///< per host: stops the step it runs
  /// Per host: the step running now (task, index) and since when; task null when none.
  struct Current {
    const Task* task = nullptr;
    int index = 0;
    std::chrono::steady_clock::time_point since;
    std::string label;  ///< as its step_start names it, variables resolved
  };
  std::vector<Current> current;
  /// per host: when its connection attempt started, while it lasts
  std::vector<std::optional<std::chrono::steady_clock::time_point>> connecting_since;
  std::vector<char> finished;  ///< per host: host_end reported
  std::chrono::steady_clock::time_point started;

  // Stopping early: an abort (failure policy, stuck waves) or an interrupt (SIGINT, SIGTERM).
  std::optional<int> interrupt_signal;  ///< set: the run ends `interrupted`, exit 128 + signal
  bool is_grace_started = false;
  bool is_cancelling = false;
  std::string cancel_reason;  ///< why running steps are cancelled, for their error
  std::optional<asio::steady_timer> grace_timer;

  State(const Plan& p, RunSetup s, Transport& t, Reporter& r)
      : plan(p),
        setup(std::move(s)),
        transport(t),
        secrets(r),
        reporter(secrets),
        controller(Host{.name = kLocalHost, .address = "localhost"}),
        hosts(hosts_with(run_hosts(p, setup.tasks), controller, has_local_task(setup.tasks))),
        local_host(!hosts.empty() && hosts.back() == &controller
                       ? std::optional<int>(static_cast<int>(hosts.size()) - 1)
                       : std::nullopt),
        scheduler(run_shape(setup.tasks, hosts, local_host), run_limits(p, setup.forks)) {
    mask_passwords();
  }

  /// Passwords and passphrases from `password_env`/`passphrase_env` are never shown, even
  /// when a step prints one.
  void mask_passwords() {
    for (const Host& host : plan.hosts) {
      for (const std::string* variable : {&host.password_env, &host.passphrase_env}) {
        if (variable->empty()) continue;
        if (const char* value = std::getenv(variable->c_str())) secrets.add(value);
      }
    }
  }

  /// The targeted hosts, the controller not counted.
  int remote_host_count() const { return static_cast<int>(hosts.size()) - (local_host ? 1 : 0); }

  RunStart run_start() const {
    RunStart start{setup.run_id, plan.file, remote_host_count(), {}, "", scheduler.wave_ends()};
    for (const Task* task : setup.tasks) {
      start.tasks.push_back(task->name);
      start.targets.push_back(TaskTargets{task->name, static_cast<int>(task->steps.size()), {}});
    }
    for (int h = 0; h < static_cast<int>(hosts.size()); ++h) {
      if (h != local_host) start.host_names.push_back(hosts[static_cast<std::size_t>(h)]->name);
      for (int t : scheduler.host_tasks(h))
        start.targets[static_cast<std::size_t>(t)].hosts.push_back(
            hosts[static_cast<std::size_t>(h)]->name);
    }
    return start;
  }

  /// What stops the run, for messages: "the run was aborted" or "the run was interrupted".
  std::string stop_reason() const {
    return interrupt_signal ? "the run was interrupted" : "the run was aborted";
  }
  void start_grace(asio::any_io_executor executor);
  void cancel_running();
  asio::awaitable<ConnectResult> connect_with_retries(int host);
  RunEnd run_end() const;
  void note_failure(int host, const Task* task);

  void start_or_resume(asio::any_io_executor executor, int host);
  asio::awaitable<void> run_host(int host);
  asio::awaitable<HostEnd> run_jobs(int host, std::unique_ptr<Connection>& connection);
  bool closes_session_while_waiting(int host) const;
  asio::awaitable<bool> run_job(int host, const Task& task, Connection& connection,
                                VarMap& registered, HostEnd& end, std::vector<char>& notified);
  void notify(const Step& step, std::vector<char>& notified) const;
  std::map<std::string, int> task_positions;  ///< name -> index in setup.tasks
  void share_registered(const Task& task, const VarMap& registered);
  void skip_rest(int host, const std::string& reason);
  void report_skipped_jobs(int host, const std::vector<int>& tasks, const std::string& reason);
  std::string need_failed(const sched::Skip& skip);
  /// Per need waited for on every host: why its dependents are skipped (it no longer changes).
  std::map<int, std::string> all_hosts_reasons;
  void finish_host(int host, HostEnd end);
};

Engine::Engine(const Plan& plan, RunSetup setup, Transport& transport, Reporter& reporter)
    : state_(std::make_unique<State>(plan, std::move(setup), transport, reporter)) {}
Engine::~Engine() = default;

asio::awaitable<RunEnd> Engine::run() {
  State& s = *state_;
  asio::any_io_executor executor = co_await asio::this_coro::executor;
  // A huge secret's mask is built a slice per turn of the loop: signals are still answered.
  s.secrets.build_later([executor](std::function<void()> slice) { asio::post(executor, std::move(slice)); });
  s.wakeup.emplace(executor);
  s.connecting.emplace(executor, s.plan.policy.max_connecting);
  s.delegates.emplace(s.plan, s.transport, *s.connecting, executor);
  s.host_wakeups.resize(s.hosts.size());
  s.cancels = std::vector<base::Cancel>(s.hosts.size());
  s.current.resize(s.hosts.size());
  s.connecting_since.resize(s.hosts.size());
  s.finished.assign(s.hosts.size(), 0);
  s.started = std::chrono::steady_clock::now();
  for (std::size_t t = 0; t < s.setup.tasks.size(); ++t)
    s.task_positions[s.setup.tasks[t]->name] = static_cast<int>(t);

  // 1. Announce the run: what it runs where, so that reporters need nothing but the events.
  emit(s.reporter, s.run_start());

  // 2. Start (or wake) every host the scheduler admits; sleep until a host changes state.
  while (!s.scheduler.is_done()) {
    if (s.scheduler.is_aborted()) s.start_grace(executor);
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

  if (s.grace_timer) s.grace_timer->cancel();
  co_await s.delegates->close();

  // 3. Hosts an abort kept from starting, then the totals.
  for (int host : s.scheduler.take_never_started()) {
    s.skip_rest(host, s.stop_reason());  // every task of every host has its step_end
    emit(s.reporter, HostEnd{s.hosts[host]->name, HostStatus::Aborted, "not started: " + s.stop_reason()});
    s.finished[static_cast<std::size_t>(host)] = 1;
    if (host != s.local_host) s.counts.add(HostStatus::Aborted);
  }
  RunEnd end = s.run_end();
  emit(s.reporter, end);
  co_return end;
}

RunEnd Engine::State::run_end() const {
  RunEnd end;
  end.counts = counts;
  // plan-format.md: a host skipped because a need failed did not do its work either.
  bool any_failed = counts.failed + counts.unreachable + counts.skipped > 0 || has_local_failed;
  end.status = interrupt_signal           ? RunStatus::Interrupted
               : scheduler.is_aborted()   ? RunStatus::Aborted
               : any_failed               ? RunStatus::Failed
                                          : RunStatus::Ok;
  switch (end.status) {
    case RunStatus::Interrupted:
      end.exit_code = 128 + *interrupt_signal;
      break;
    case RunStatus::Aborted:
      end.exit_code = 3;
      break;
    case RunStatus::Failed:
      end.exit_code = 1;
      break;
    case RunStatus::Ok:
      end.exit_code = 0;
      break;
  }
  end.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  if (interrupt_signal) {
    end.reason =
        fmt::format("interrupted by {}", *interrupt_signal == SIGTERM ? "SIGTERM" : "SIGINT");
  } else if (end.status == RunStatus::Aborted) {
    end.reason = !stuck_reason.empty() ? stuck_reason : abort_reason;
  }
  return end;
}

// issue 14: an abort says why. Called after each host failure is counted: the first one that
// aborts the run names the budget it exceeded and the hosts that had failed by then.
void Engine::State::note_failure(int host, const Task* task) {
  const std::string& name = hosts[host]->name;
  if (host == local_host ||
      std::find(failed_hosts.begin(), failed_hosts.end(), name) != failed_hosts.end())
    return;
  failed_hosts.push_back(name);
  if (!abort_reason.empty() || !scheduler.is_aborted() || interrupt_signal) return;
  const bool own = task != nullptr && (task->policy.max_failures || task->policy.on_failure);
  const OnFailure on_failure =
      own ? task->policy.on_failure.value_or(plan.policy.on_failure) : plan.policy.on_failure;
  const Amount max =
      own ? task->policy.max_failures.value_or(plan.policy.max_failures) : plan.policy.max_failures;
  std::string names;
  constexpr std::size_t kNamed = 5;  // the rest are in the summary's list of failed hosts
  for (std::size_t i = 0; i < failed_hosts.size() && i < kNamed; ++i)
    names += (i ? ", " : "") + failed_hosts[i];
  if (failed_hosts.size() > kNamed)
    names += fmt::format(" and {} more", failed_hosts.size() - kNamed);
  const std::string scope = own ? fmt::format(" of task \"{}\"", task->name) : "";
  abort_reason = on_failure == OnFailure::Abort
                     ? fmt::format("on_failure abort{}: {} failed", scope, names)
                     : fmt::format("max_failures {}{}{} exceeded: {} failed", max.value,
                                   max.is_percent ? "%" : "", scope, names);
}

// plan-format.md: an aborted run lets running steps finish within a grace period, then cancels.
void Engine::State::start_grace(asio::any_io_executor executor) {
  if (is_grace_started) return;
  is_grace_started = true;
  cancel_reason = stop_reason();
  grace_timer.emplace(executor, plan.policy.abort_grace);
  grace_timer->async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    cancel_reason = fmt::format("{} and the grace period ({}) ran out", stop_reason(),
                                base::duration_text(plan.policy.abort_grace));
    cancel_running();
  });
}

void Engine::State::cancel_running() {
  if (is_cancelling) return;
  is_cancelling = true;
  if (grace_timer) grace_timer->cancel();
  for (base::Cancel& cancel : cancels) cancel.request();
}

void Engine::interrupt(int signal, int count) {
  State& s = *state_;
  if (!s.interrupt_signal) s.interrupt_signal = signal;
  s.scheduler.abort();
  if (count >= 2) {
    s.cancel_reason = "the run was interrupted";
    s.is_grace_started = true;  // no grace: cancel now
    s.cancel_running();
  }
  s.wakeup->notify();  // the driver starts the grace period and wakes parked hosts
}

Duration Engine::abort_grace() const { return state_->plan.policy.abort_grace; }

std::vector<Engine::RunningStep> Engine::running_steps() const {
  const State& s = *state_;
  std::vector<RunningStep> running;
  const auto now = std::chrono::steady_clock::now();
  for (std::size_t h = 0; h < s.current.size(); ++h) {
    const State::Current& current = s.current[h];
    if (current.task == nullptr) continue;
    running.push_back({s.hosts[h]->name, current.task->name, current.label, now - current.since});
  }
  return running;
}

std::vector<std::pair<std::string, std::chrono::steady_clock::duration>> Engine::connecting_hosts()
    const {
  const State& s = *state_;
  std::vector<std::pair<std::string, std::chrono::steady_clock::duration>> connecting;
  const auto now = std::chrono::steady_clock::now();
  for (std::size_t h = 0; h < s.connecting_since.size(); ++h)
    if (s.connecting_since[h] && !s.finished[h])
      connecting.emplace_back(s.hosts[h]->name, now - *s.connecting_since[h]);
  return connecting;
}

RunEnd Engine::end_now() {
  State& s = *state_;
  for (std::size_t h = 0; h < s.hosts.size(); ++h) {
    if (s.finished[h]) continue;
    s.finished[h] = 1;
    emit(s.reporter, HostEnd{s.hosts[h]->name, HostStatus::Aborted, "stopped at once: " + s.stop_reason()});
    if (static_cast<int>(h) != s.local_host) s.counts.add(HostStatus::Aborted);
  }
  RunEnd end = s.run_end();
  emit(s.reporter, end);
  s.secrets.flush();  // nothing runs after this: the held events go out now
  return end;
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
    std::unique_ptr<Connection> controller_connection = std::make_unique<ControllerConnection>();
    HostEnd end = co_await run_jobs(host, controller_connection);
    finish_host(host, std::move(end));
    co_return;
  }
  ConnectResult connected = co_await connect_with_retries(host);
  if (!connected.connection && scheduler.is_aborted() && connected.error.empty()) {
    skip_rest(host, stop_reason());
    finish_host(host, HostEnd{hosts[host]->name, HostStatus::Aborted, "not started: " + stop_reason()});
    co_return;
  }
  if (!connected.connection) {
    // plan-format.md: connection failures fail the host like a failed step.
    skip_rest(host, "the host is unreachable");
    finish_host(host, HostEnd{hosts[host]->name, HostStatus::Unreachable, connected.error});
    co_return;
  }
  HostEnd end = co_await run_jobs(host, connected.connection);
  if (connected.connection) co_await connected.connection->close();
  finish_host(host, std::move(end));
}

// Connection failures that may pass (refused, reset, timed out) are tried again after
// policy.connect_retry_delay, then twice as long each time, up to policy.connect_retries times;
// authentication and host key failures never are.
// An empty error with no connection: the run stopped before this host connected.
asio::awaitable<ConnectResult> Engine::State::connect_with_retries(int host) {
  Duration delay = plan.policy.connect_retry_delay;
  for (int attempt = 0;; ++attempt) {
    ConnectResult connected;
    {
      const Host& target = *hosts[host];
      // policy.max_connecting bounds handshakes in flight, apart from forks (hosts worked on);
      // behind a jump host, the transport applies it per jump host instead.
      std::optional<Permit> permit;
      if (target.via.empty()) {
        co_await connecting->acquire();
        permit.emplace(*connecting);
      }
      if (scheduler.is_aborted()) co_return ConnectResult{};
      if (ssh::is_debug_logging())
        ssh::debug_log(fmt::format("{}: connecting to {}@{}:{}", target.name, target.user, target.address, target.port));
      const auto connect_started = std::chrono::steady_clock::now();
      connecting_since[static_cast<std::size_t>(host)] = connect_started;
      connected = co_await transport.connect(target);
      connecting_since[static_cast<std::size_t>(host)].reset();
      if (ssh::is_debug_logging())
        ssh::debug_log(fmt::format(
            "{}: {} after {}", target.name, connected.connection ? "connected" : "not connected",
            base::elapsed_text(std::chrono::steady_clock::now() - connect_started)));
    }
    if (connected.connection || !connected.transient || attempt >= plan.policy.connect_retries) {
      // The cause alone would read as one attempt: say that the retries were spent too.
      if (!connected.connection && attempt > 0 && !connected.error.empty())
        connected.error += fmt::format(" ({} attempts)", attempt + 1);
      co_return connected;
    }
    asio::steady_timer timer(co_await asio::this_coro::executor, delay);
    base::Cancel::Scope on_cancel(cancels[static_cast<std::size_t>(host)],
                                  [&timer] { timer.cancel(); });
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (scheduler.is_aborted()) co_return ConnectResult{};
    delay *= 2;
  }
}

// With more hosts than the open files limit lets connect at once, a host that waits for others
// gives its session back with its fork slot, and connects again when it may go on.
bool Engine::State::closes_session_while_waiting(int host) const {
  return host != local_host && setup.max_open_sessions > 0 && remote_host_count() > setup.max_open_sessions;
}

// `connection` is null while the host waits without a session (closes_session_while_waiting).
asio::awaitable<HostEnd> Engine::State::run_jobs(int host, std::unique_ptr<Connection>& connection) {
  HostEnd end{hosts[host]->name, HostStatus::Ok, ""};
  VarMap registered;
  std::vector<char> notified(setup.tasks.size(), 0);  ///< per task: a step notified it here
  for (;;) {
    sched::NextJob next = scheduler.next_job(host);
    for (const sched::Skip& skip : next.skipped) {
      std::string reason = need_failed(skip);
      report_skipped_jobs(host, {skip.task}, reason);
      // plan-format.md: a host that did not fail itself but skipped work ends `skipped`.
      if (end.status == HostStatus::Ok) end = HostEnd{hosts[host]->name, HostStatus::Skipped, reason};
    }
    if (next.kind == sched::NextJob::Kind::Wait) {
      if (closes_session_while_waiting(host) && connection) {
        co_await connection->close();
        connection.reset();
      }
      wakeup->notify();  // our fork slot is free for another host
      co_await host_wakeups[static_cast<std::size_t>(host)]->wait();
      continue;
    }
    if (next.kind == sched::NextJob::Kind::Aborted &&
        (end.status == HostStatus::Ok || end.status == HostStatus::Skipped)) {
      end.status = HostStatus::Aborted;
      end.error = stuck_reason.empty() ? "stopped: " + stop_reason() : stuck_reason;
    }
    if (next.kind != sched::NextJob::Kind::Run) break;
    if (!connection) {
      ConnectResult again = co_await connect_with_retries(host);
      if (!again.connection) {
        const bool stopped = again.error.empty();
        skip_rest(host, stopped ? stop_reason() : "the host is unreachable");
        end = HostEnd{hosts[host]->name, stopped ? HostStatus::Aborted : HostStatus::Unreachable,
                      stopped ? "stopped: " + stop_reason()
                              : "connecting again after waiting for other hosts: " + again.error};
        break;
      }
      connection = std::move(again.connection);
    }
    const Task& task = *setup.tasks[static_cast<std::size_t>(next.task)];
    if (task.is_handler && !notified[static_cast<std::size_t>(next.task)]) {
      // plan-format.md, "Handlers": nothing changed that asked for it here; the host stays ok.
      report_skipped_jobs(host, {next.task}, "not notified");
      scheduler.job_finished(host, next.task, true);
      continue;
    }
    bool job_ok = co_await run_job(host, task, *connection, registered, end, notified);
    scheduler.job_finished(host, next.task, job_ok);
    if (!job_ok && end.status == HostStatus::Failed) note_failure(host, &task);
    if (job_ok && (task.is_local || task.run_once)) share_registered(task, registered);
    if (!job_ok) {
      // on_failure stop-host: a failing host runs nothing more; its other jobs are skipped.
      skip_rest(host, end.status == HostStatus::Aborted ? stop_reason() : "an earlier task failed on this host");
      break;
    }
  }
  co_return end;
}

asio::awaitable<bool> Engine::State::run_job(int host, const Task& shared_task,
                                             Connection& connection, VarMap& registered,
                                             HostEnd& end, std::vector<char>& notified) {
  // plan-format.md, "Loops": a list in host or group vars gives this host its own items.
  std::optional<Task> own;
  if (shared_task.has_host_items()) own = shared_task.on_host(hosts[host]->name);
  const Task& task = own ? *own : shared_task;
  // plan-format.md: what local and run_once tasks register is seen by every host.
  for (const auto& [name, value] : shared_registered) registered.insert_or_assign(name, value);
  const auto h = static_cast<std::size_t>(host);
  const plan::VarContext vars{&plan, hosts[host], &registered, setup.run_id};
  if (task.when) {
    // plan-format.md, "Conditions": a task whose `when` is false is skipped on this host.
    plan::WhenVerdict verdict = plan::check_when({*task.when}, vars, false);
    if (!verdict.runs && verdict.error.empty()) {
      for (int index = 0; index < static_cast<int>(task.steps.size()); ++index)
        report_skipped_step(reporter, *hosts[host], task, index, verdict.reason);
      co_return true;
    }
    if (!verdict.error.empty()) {
      end = HostEnd{hosts[host]->name, HostStatus::Failed,
                    fmt::format("task {}: {}", task.name, verdict.error)};
      for (int index = 0; index < static_cast<int>(task.steps.size()); ++index)
        report_skipped_step(reporter, *hosts[host], task, index, verdict.error);
      co_return false;
    }
  }
  bool failed = false;    // a step of this task failed on this host: only failure steps run now
  int failure_steps = 0;  // steps that ran after it (failure(), always())
  for (int index = 0; index < static_cast<int>(task.steps.size()); ++index) {
    const Step& step = task.steps[static_cast<std::size_t>(index)];
    // issue 18: a delegated step runs on its delegate's session, on behalf of this host.
    std::unique_ptr<Connection> delegated;
    if (!step.delegate_to.empty() && step.kind != StepKind::Local)
      delegated = delegates->connection_to(step.delegate_to);
    // Named, not a temporary: g++ 12 frees an aggregate temporary inside co_await twice.
    StepContext context{
        plan,     *hosts[host], task,       index,      delegated ? *delegated : connection,
        reporter, setup.run_id, registered, cancels[h], cancel_reason,
        secrets,  get_claims};
    if (scheduler.is_aborted()) {
      // plan-format.md: an aborted run starts no new step anywhere. The step is named as this
      // host would have run it.
      StepVars vars(context);
      const std::string title =
          step_title(task, index, step, vars(step.name),
                     shown_command(secrets, hosts[host]->name, vars(step.command), step.command));
      end = HostEnd{hosts[host]->name, HostStatus::Aborted,
                    fmt::format("stopped before {}: {}", title, stop_reason())};
      for (int rest = index; rest < static_cast<int>(task.steps.size()); ++rest)
        report_skipped_step(reporter, *hosts[host], task, rest, stop_reason());
      co_return false;
    }
    if (!step.loop_skip.empty()) {
      // No item here: registers nothing, so a loop's register keeps its last item's result.
      report_skipped_step(reporter, *hosts[host], task, index, step.loop_skip);
      continue;
    }
    plan::VarContext step_vars = vars;
    step_vars.delegate = step.delegate_to;
    step_vars.loop = &step.loop_vars;
    plan::WhenVerdict verdict = plan::check_when(step.when, step_vars, failed);
    if (!verdict.runs && verdict.error.empty()) {
      report_skipped_step(reporter, *hosts[host], task, index, verdict.reason);
      if (!step.register_as.empty()) plan::register_skipped(registered, step.register_as);
      continue;
    }
    StepOutcome outcome;
    if (!verdict.error.empty()) {
      outcome = report_condition_error(reporter, *hosts[host], task, index, verdict.error);
    } else {
      if (failed) ++failure_steps;
      const std::string label = step_label(step);
      current[h] =
          Current{&task, index, std::chrono::steady_clock::now(), StepVars(context)(label)};
      outcome = co_await run_step(context);
      current[h] = Current{};
    }
    if (outcome.changed && outcome.status == StepStatus::Ok) notify(step, notified);
    if (!outcome.fails_host) continue;
    if (!failed)
      end = HostEnd{hosts[host]->name, outcome.cancelled ? HostStatus::Aborted : HostStatus::Failed,
                    outcome.error};
    failed = true;
    // A lost connection or a cancel runs nothing more, failure steps included.
    if (!outcome.cancelled && !outcome.connection_lost) continue;
    const char* why = outcome.cancelled ? "the step before it was cancelled" : "an earlier step failed";
    for (int rest = index + 1; rest < static_cast<int>(task.steps.size()); ++rest)
      report_skipped_step(reporter, *hosts[host], task, rest, why);
    break;
  }
  // plan-format.md: a host whose step failed stays failed after its failure steps ran.
  if (failed && failure_steps > 0)
    end.error +=
        fmt::format("; {} failure step{} ran", failure_steps, failure_steps == 1 ? "" : "s");
  co_return !failed;
}

// plan-format.md, "Handlers": a changed step notifies its handlers on its own host. A handler
// not in this run (not selected) is not run by the notification.
void Engine::State::notify(const Step& step, std::vector<char>& notified) const {
  for (const std::string& name : step.notify)
    if (auto found = task_positions.find(name); found != task_positions.end())
      notified[static_cast<std::size_t>(found->second)] = 1;
}

void Engine::State::share_registered(const Task& task, const VarMap& registered) {
  auto share = [&](const std::string& name) {
    if (auto found = registered.find(name); found != registered.end())
      shared_registered.insert_or_assign(found->first, found->second);
  };
  for (const Step& step : task.steps) {
    if (step.register_as.empty()) continue;
    share(step.register_as);
    for (const std::string& field : plan::registered_fields())
      share(step.register_as + "." + field);
  }
}

void Engine::State::report_skipped_jobs(int host, const std::vector<int>& tasks, const std::string& reason) {
  for (int t : tasks) {
    const Task& shared_task = *setup.tasks[static_cast<std::size_t>(t)];
    std::optional<Task> own;  // each copy named by this host's item
    if (shared_task.has_host_items()) own = shared_task.on_host(hosts[host]->name);
    const Task& task = own ? *own : shared_task;
    for (int index = 0; index < static_cast<int>(task.steps.size()); ++index)
      report_skipped_step(reporter, *hosts[host], task, index, reason);
  }
}

// Why a job is skipped (plan-format.md, needs): a need on this host failed, or a need waited
// for on every host did not succeed on some of them, named.
std::string Engine::State::need_failed(const sched::Skip& skip) {
  const Task& need = *setup.tasks[static_cast<std::size_t>(skip.need)];
  if (skip.kind != sched::NeedKind::AllHosts) return "a task it needs failed: " + need.name;
  if (need.is_local) return fmt::format("local task \"{}\" failed", need.name);
  std::string& reason = all_hosts_reasons[skip.need];
  if (!reason.empty()) return reason;
  std::vector<std::string> names;
  for (int failed : scheduler.failed_hosts(skip.need)) names.push_back(hosts[static_cast<std::size_t>(failed)]->name);
  std::string where = base::compress_hosts(names);
  if (names.size() > 1) where += fmt::format(" ({} hosts)", names.size());
  return reason = fmt::format("\"{}\" failed on {}", need.name, where);
}

// The scheduler counts a finished host's remaining jobs as done; this reports them as skipped.
void Engine::State::skip_rest(int host, const std::string& reason) {
  report_skipped_jobs(host, scheduler.remaining_jobs(host), reason);
}

void Engine::State::finish_host(int host, HostEnd end) {
  HostStatus status = end.status;
  finished[static_cast<std::size_t>(host)] = 1;
  // The controller is not one of the targeted hosts: its failure fails the run, not a host.
  if (host == local_host)
    has_local_failed = status == HostStatus::Failed;
  else
    counts.add(status);
  emit(reporter, std::move(end));
  scheduler.host_finished(host, status);
  if (status == HostStatus::Failed || status == HostStatus::Unreachable)
    note_failure(host, nullptr);
  wakeup->notify();
}

}  // namespace deployd::engine
