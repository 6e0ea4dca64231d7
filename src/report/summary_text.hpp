// SPDX-License-Identifier: MIT
// The summary printed on the terminal at the end of a run.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "report/run_tally.hpp"

namespace deployd::report {

/// A command that reruns `hosts` without the run log, or "" when `--retry-failed` works.
using RerunFallback = std::function<std::string(const std::vector<std::string>& hosts)>;

/// How the terminal summary looks.
struct SummaryOptions {
  std::size_t host_width = 0;  ///< host names are padded to this many columns
  bool color = false;          ///< ANSI colours (the CLI decides: color_wanted())
  std::size_t max_listed_hosts =
      50;                 ///< failed and unreachable hosts listed; then "... and N more"
  std::string run_log{};  ///< the run log's folder; empty: not named
  /// The command that reruns only the failed hosts, shown when some failed; empty: not shown.
  std::string rerun_command{};
  /// Set, and giving a command for the hosts to run again: shown instead of rerun_command, which
  /// cannot work (the run log could not record the run, issue 16).
  RerunFallback rerun_fallback{};
};

/// The summary of a run, whole lines ending in "\n":
///
///     deployd: 20 hosts: 18 ok, 1 failed, 1 unreachable in 3.2s
///       task    ok  failed  skipped   min  median   max
///       deploy  18       1        0  0.1s    0.2s  1.5s
///       node003 failed: deploy step 2 (run "false"): exited with status 1 after 0.1s
///       node007 unreachable: connect 127.0.10.7:2222: connection refused
///     deployd: run log: .deployd/runs/20261128T134235Z-a1b2c3
///     deployd: rerun the failed hosts: deployd --retry-failed plan.json deploy
///
/// The task table has a row per task that ended a step (times across the hosts that ran it).
/// A run cut short names its status first (`deployd: aborted: 20 hosts: ...`, `interrupted`, or
/// `unfinished` when no run_end came). `ok` is always counted, other statuses when not zero.
/// The headline is green for an ok run and red otherwise, when colour is on.
std::string summary_text(const RunTally& tally, const SummaryOptions& options);

/// A host name as the terminal shows it: escaped, coloured when `color`, padded to `width`.
std::string host_column(std::string_view host, std::size_t width, bool color);

/// A one-line reason without a leading "HOST: ", which the host column already says.
std::string_view without_host(std::string_view reason, std::string_view host);

}  // namespace deployd::report
