// SPDX-License-Identifier: MIT
// Runs a model case through the real loader, --limit, task selection and engine, over the fake
// transport, and records what happened (the reference model judges it).
#pragma once

#include "model/model_case.hpp"
#include "model/reference_model.hpp"

namespace deployd::model {

/// Loads, limits and selects as the command line does, then runs the engine to its end. A run
/// that stops making progress is given up (Observation::hang), never waited on forever.
Observation observe(const Case& c);

}  // namespace deployd::model
