// SPDX-License-Identifier: MIT
// The reporters of a run, chosen from the options: the terminal's and the run log, teed.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/options.hpp"
#include "deployd/plan.hpp"
#include "deployd/reporter.hpp"
#include "report/progress_reporter.hpp"
#include "report/run_log.hpp"
#include "report/status_line.hpp"
#include "report/tee_reporter.hpp"

namespace deployd::cli {

/// Owns the reporters of one run; `reporter` is the one to give the engine.
struct Reporting {
  std::unique_ptr<report::RunLog> run_log;
  std::unique_ptr<Reporter> stamp;
  std::unique_ptr<report::StatusLine> status_line;  ///< on stderr, when it is a terminal
  std::unique_ptr<report::ProgressReporter> progress;  ///< set with status_line; tick it
  std::unique_ptr<Reporter> terminal;
  std::unique_ptr<report::TeeReporter> tee;
  std::unique_ptr<Reporter> html_report;  ///< --report, after the run log in `tee` (run_files.hpp)
  std::unique_ptr<Reporter> junit;        ///< --junit (run_files.hpp)
  std::unique_ptr<Reporter> output_files;  ///< --output-dir (run_files.hpp)
  Reporter* reporter = nullptr;
  std::string error;  ///< set when the run log cannot be created: the run must not start
};

/// Where run logs go: `--log-dir`, else `.deployd/runs` beside the plan.
std::filesystem::path run_log_dir(const Options& options);

/// `--output` on stdout plus the run log, which records `record` in its summary.json (the
/// run_start event gets the plan's sha256 from it), and the live progress line when stderr is
/// a terminal (not under `-q`).
Reporting open_reporting(const Options& options, const std::vector<const Host*>& hosts,
                         const std::string& run_id, report::RunRecord record);

/// The run's exit status once the run log is finished: `exit_code`, or when the log could not be
/// written whole (it says why on stderr) 74 (EX_IOERR) instead of 0: the user relies on it.
int with_run_log_status(const Reporting& reporting, int exit_code);

/// `deployd --retry-failed PLAN [TASK...] [-i INVENTORY...] [--log-dir DIR] [-F FILE]`, each
/// word quoted for a POSIX shell when it must be.
/// An ad-hoc run's: `deployd --retry-failed RUN_ID [--log-dir DIR] [-F FILE]`.
std::string rerun_command(const Options& options, const std::string& run_id);
/// What the rerun command cannot carry, or empty: `this run had --var version=…: give them again`.
std::string rerun_note(const Options& options);

}  // namespace deployd::cli
