// SPDX-License-Identifier: MIT
// The sink the engine reports events to; renderers implement it (ninja's Status).
#pragma once

#include "deployd/event.hpp"

namespace deployd {

/// Receives every event of a run, in order, on the engine's thread. Must never block for long.
class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void on(const Event& event) = 0;
  /// Called once after the last event; flush what is buffered.
  virtual void finish() {}
};

}  // namespace deployd
