// SPDX-License-Identifier: MIT
// One reporter that forwards to several: the terminal and the run log each get every event.
#pragma once

#include <vector>

#include "deployd/reporter.hpp"

namespace deployd::report {

/// Forwards every event, and finish(), to each of its reporters in the order they were added.
/// It borrows them: each must outlive the TeeReporter.
class TeeReporter final : public Reporter {
 public:
  TeeReporter() = default;
  explicit TeeReporter(std::vector<Reporter*> reporters);

  /// Adds a reporter after those already there.
  void add(Reporter& reporter);

  void on(const Event& event) override;
  void finish() override;

 private:
  std::vector<Reporter*> reporters_;
};

}  // namespace deployd::report
