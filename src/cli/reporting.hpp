// SPDX-License-Identifier: MIT
// The reporters of a run, chosen from the options: the terminal's and the run log, teed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cli/options.hpp"
#include "deployd/plan.hpp"
#include "deployd/reporter.hpp"
#include "report/run_log.hpp"
#include "report/tee_reporter.hpp"

namespace deployd::cli {

/// Owns the reporters of one run; `reporter` is the one to give the engine.
struct Reporting {
  std::unique_ptr<report::RunLog> run_log;
  std::unique_ptr<Reporter> terminal;
  std::unique_ptr<report::TeeReporter> tee;
  Reporter* reporter = nullptr;
  std::string error;  ///< set when the run log cannot be created: the run must not start
};

/// `--output` on stdout plus the run log in `--log-dir` (default `.deployd/runs` beside the plan).
Reporting open_reporting(const Options& options, const Plan& plan, const std::vector<const Host*>& hosts,
                         const std::string& run_id);

}  // namespace deployd::cli
