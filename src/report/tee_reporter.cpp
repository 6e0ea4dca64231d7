// SPDX-License-Identifier: MIT
// Fans events out to several reporters (see tee_reporter.hpp).
#include "report/tee_reporter.hpp"

#include <utility>

namespace deployd::report {

TeeReporter::TeeReporter(std::vector<Reporter*> reporters) : reporters_(std::move(reporters)) {}

void TeeReporter::add(Reporter& reporter) { reporters_.push_back(&reporter); }

void TeeReporter::on(const Event& event) {
  for (Reporter* reporter : reporters_) reporter->on(event);
}

void TeeReporter::finish() {
  for (Reporter* reporter : reporters_) reporter->finish();
}

}  // namespace deployd::report
