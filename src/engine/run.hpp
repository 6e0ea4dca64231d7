// SPDX-License-Identifier: MIT
// A run from start to end: its io_context, its engine and their teardown, in one call.
#pragma once

#include <chrono>
#include <functional>
#include <stop_token>
#include <vector>

#include "async/awaitable.hpp"
#include "deployd/event.hpp"
#include "deployd/plan.hpp"
#include "deployd/reporter.hpp"
#include "engine/engine.hpp"
#include "engine/transport.hpp"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace deployd::engine {

/// What a caller does while a run lasts. Every hook is called on the run's thread, between the
/// engine's steps, so it may use the engine it is given.
struct RunHooks {
  /// Handled while the run lasts (SIGINT, SIGTERM, SIGHUP): the nth arrival is passed to
  /// `on_signal`, or without it to Engine::interrupt(signal, n).
  std::vector<int> signals;
  std::function<void(Engine&, int signal, int count)> on_signal;
  /// Called every `tick` while the run lasts (a progress line, a log's flush); 0: never.
  std::chrono::milliseconds tick{0};
  std::function<void(const Engine&)> on_tick;
  /// Called once before the run starts, with its engine and context (valid until run()
  /// returns): tests act on the run from its thread, or stop the context as a third Ctrl-C's
  /// _Exit would leave it.
  std::function<void(Engine&, boost::asio::io_context&)> on_start;
  /// A stop request is a first SIGTERM: nothing new starts, running steps get the plan's
  /// abort_grace (Engine::interrupt). It may come from any thread.
  std::stop_token stop;
};

/// Runs `setup` to its end on a new io_context on this thread and returns the run_end event it
/// reported. It owns the context and the engine and tears them down in the one safe order:
/// coroutines still pending first (they use the engine; a run ended by Engine::end_now leaves
/// some), then the engine (its timers use the context's services), then the context.
/// An exception from the engine (an internal error) is rethrown after that teardown.
RunEnd run(const Plan& plan, RunSetup setup, Transport& transport, Reporter& reporter,
           const RunHooks& hooks = {});

}  // namespace deployd::engine
