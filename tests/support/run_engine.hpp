// SPDX-License-Identifier: MIT
// Test helper: runs the engine on a plan over a transport, on a fresh io_context, to the end.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine/run.hpp"
#include "graph/task_graph.hpp"

namespace deployd::testing {

/// Runs the named tasks (none: the defaults, else all) and returns the run_end event.
inline RunEnd run_engine(const Plan& plan, engine::Transport& transport, Reporter& reporter,
                         const std::vector<std::string>& names = {}, int forks = 0,
                         int max_open_sessions = 0) {
  graph::Selection selection = graph::select_tasks(plan, names);
  REQUIRE(selection.errors.empty());
  return engine::run(plan, engine::RunSetup{"run1", selection.tasks, forks, max_open_sessions},
                     transport, reporter);
}

}  // namespace deployd::testing
