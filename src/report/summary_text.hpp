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
  /// Lines of hosts not ok listed, one per status and reason; then "... and N more hosts".
  std::size_t max_listed_groups = 10;
  std::string run_log{};  ///< the run log's folder; empty: not named
  /// The command that reruns only the failed hosts, shown when some failed; empty: not shown.
  std::string rerun_command{};
  /// A line after it: what the command cannot carry (the names of the run's `--var`s).
  std::string rerun_note{};
  /// Set, and giving a command for the hosts to run again: shown instead of rerun_command, which
  /// cannot work (the run log could not record the run, issue 16).
  RerunFallback rerun_fallback{};
};

/// The summary of a run, whole lines ending in "\n":
///
///     deployd: 20 hosts: 16 ok, 2 failed, 2 unreachable in 3.2s
///       task    ok  failed  skipped   min  median   max
///       deploy  16       2        2  0.1s    0.2s  1.5s
///       node[003,011] (2 hosts) failed: deploy step 2 (run "false"): exited with status 1 after …
///         ! false: the disk is full
///       node007 unreachable: connect 127.0.10.7:2222: connection refused
///       node019 unreachable: connect 127.0.10.19:2222: timed out after 10s
///     deployd: run log: .deployd/runs/20261128T134235Z-a1b2c3
///     deployd: rerun the failed hosts: deployd --retry-failed plan.json deploy
///
/// The task table has a row per task that ended a step (times across the hosts that ran it);
/// an `aborted` column when the run stopped some task. Hosts not ok are listed by status
/// (failed, unreachable, aborted, skipped), folded into host ranges when their reason and
/// stderr lines are the same but for what differs per host (TextFold), biggest group first.
/// A run cut short names its status first: with run_end's reason on a line of its own
/// (`deployd: aborted: max_failures 1 exceeded: node003, node011 failed`), else in the headline
/// (`deployd: aborted: 20 hosts: ...`, `interrupted`, or `unfinished` when no run_end came).
/// `ok` is always counted, other statuses when not zero. The headline is green for an ok run
/// and red otherwise, when colour is on. The rerun line comes when some host failed, was
/// unreachable, aborted, skipped or never ended: the hosts `--retry-failed` reruns.
std::string summary_text(const RunTally& tally, const SummaryOptions& options);

/// A host name as the terminal shows it: escaped, coloured when `color`, padded to `width`.
std::string host_column(std::string_view host, std::size_t width, bool color);

/// A one-line reason without a leading "HOST: ", which the host column already says.
std::string_view without_host(std::string_view reason, std::string_view host);

}  // namespace deployd::report
