// SPDX-License-Identifier: MIT
// The driver of a run: admits hosts as the scheduler allows and runs each host's jobs.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "async/awaitable.hpp"
#include "deployd/event.hpp"
#include "deployd/plan.hpp"
#include "deployd/reporter.hpp"
#include "engine/transport.hpp"

namespace deployd::engine {

/// What to run: the selected tasks and the run's identity.
struct RunSetup {
  std::string run_id;
  std::vector<const Task*> tasks;  ///< selected, in dependency order
  int forks = 0;                   ///< 0: the plan's policy.forks
  /// 0: no limit. Else the most sessions the open files limit allows at once: when the run has
  /// more hosts, a host waiting for others (a barrier) closes its session until it goes on.
  int max_open_sessions = 0;
};

/// The hosts a run targets: every host some selected remote task runs on, in plan order.
std::vector<const Host*> run_hosts(const Plan& plan, const std::vector<const Task*>& tasks);

/// Engine runs a plan's selected tasks over a Transport, reporting every event.
///
/// Threading: everything (engine, scheduler, reporters, sessions) runs on the one thread of the
/// io_context that awaits run(), so nothing is locked (a libssh2 session is not thread-safe
/// either; docs/architecture.md, "One thread, many coroutines").
class Engine {
 public:
  Engine(const Plan& plan, RunSetup setup, Transport& transport, Reporter& reporter);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Runs to the end and returns the run_end event it reported.
  boost::asio::awaitable<RunEnd> run();

  /// A step running now, for the interrupt message.
  struct RunningStep {
    std::string host;
    std::string task;
    std::string step;  ///< its label
    std::chrono::steady_clock::duration elapsed;
  };

  /// SIGINT or SIGTERM number `count` (1, 2...) arrived: the first starts nothing new and lets
  /// running steps finish within policy.abort_grace, the second cancels them now (remote
  /// process groups are stopped). The run then ends `interrupted`, exit 128 + `signal`.
  void interrupt(int signal, int count);
  std::vector<RunningStep> running_steps() const;
  /// The hosts in their SSH connection now (TCP, handshake, authentication), for the progress
  /// line: a hung sshd shows as hosts still connecting, not as waiting (issue 19).
  std::vector<std::pair<std::string, std::chrono::steady_clock::duration>> connecting_hosts() const;
  /// How long running steps get after an abort or a first interrupt (policy.abort_grace).
  Duration abort_grace() const;
  /// The run_end event for a run that must end at once (a third Ctrl-C): every host not
  /// finished counts as aborted. Reported, and returned.
  RunEnd end_now();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace deployd::engine
