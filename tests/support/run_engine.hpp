// SPDX-License-Identifier: MIT
// Test helper: runs the engine on a plan over a transport, on a fresh io_context, to the end.
#pragma once

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <exception>
#include <string>
#include <vector>

#include "async/awaitable.hpp"
#include "engine/engine.hpp"
#include "graph/task_graph.hpp"

namespace deployd::testing {

/// Runs the named tasks (none: the defaults, else all) and returns the run_end event.
inline RunEnd run_engine(const Plan& plan, engine::Transport& transport, Reporter& reporter,
                         const std::vector<std::string>& names = {}, int forks = 0,
                         int max_open_sessions = 0) {
  graph::Selection selection = graph::select_tasks(plan, names);
  REQUIRE(selection.errors.empty());
  // The context first: it must outlive the engine, whose timers use its services (ASan found
  // the engine's wakeup timers destroyed after the context).
  boost::asio::io_context context{1};
  engine::Engine engine(plan, engine::RunSetup{"run1", selection.tasks, forks, max_open_sessions}, transport,
                        reporter);
  RunEnd end;
  boost::asio::co_spawn(context, engine.run(), [&](std::exception_ptr error, RunEnd result) {
    if (error) std::rethrow_exception(error);
    end = result;
  });
  context.run();
  return end;
}

}  // namespace deployd::testing
