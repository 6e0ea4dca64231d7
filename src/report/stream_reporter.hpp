// SPDX-License-Identifier: MIT
// `--output stream`, the default: live output lines prefixed by their host, failures as they
// happen, and a summary at the end.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "deployd/reporter.hpp"
#include "report/run_tally.hpp"
#include "report/summary_text.hpp"

namespace deployd::report {

class StatusLine;

/// How a StreamReporter prints.
struct StreamOptions {
  std::size_t host_width = 0;         ///< columns of the host prefix: host_column_width(hosts)
  bool color = false;                 ///< ANSI colours (the CLI decides: color_wanted())
  bool show_step_starts = false;      ///< also print `HOST > TASK step N: NAME` as steps start
  std::size_t max_listed_groups = 10;  ///< lines of hosts not ok the summary lists
  std::string run_log{};              ///< the run log's folder, named by the summary; may be empty
  std::string rerun_command{};        ///< shown by the summary when hosts failed
  std::string rerun_note{};           ///< a line under it: the run's --var names
  RerunFallback rerun_fallback{};     ///< SummaryOptions::rerun_fallback
  bool quiet = false;                 ///< `-q`: print the summary only
  StatusLine* status_line = nullptr;  ///< cleared before each write, when the terminal has one
  /// The hosts' stderr lines and deployd's own (FAILED, progress, the summary), as pdsh and pssh
  /// keep them apart: `deployd ... | sort` sorts the hosts' stdout only. Null: `out`.
  std::FILE* messages = nullptr;
};

/// The width of the host prefix for a run on these hosts: the widest name as displayed.
std::size_t host_column_width(const std::vector<std::string>& hosts);

/// Prints a run as it happens, one whole line per fwrite, flushed at once (so lines never tear
/// and a terminal sees them live):
///
///     node001 | hello                        stdout (to `out`; the rest to options.messages)
///     node001 ! oops                         stderr
///     node003 FAILED: deploy step 2 (run "false"): exited with status 1 after 0.1s
///     node005 ABORTED: deploy step 2 (run "sleep 30"): cancelled after 10s: the run was aborted
///     node007 UNREACHABLE: connect 127.0.10.7:2222: connection refused
///     node009 ~ deploy step 1: 64.0 MiB of 200.0 MiB (32%), 85.3 MiB/s   long transfers
///     node011 + ...rest of a line too long for one event                continuation
///
/// A line redrawn with carriage returns (a progress bar) shows its last segment.
/// then the summary of summary_text() on run_end (or on finish() when no run_end came).
/// Remote text goes through escape_terminal(). Borrows `out`, never closes it.
class StreamReporter final : public Reporter {
 public:
  StreamReporter(std::FILE* out, StreamOptions options);

  void on(const Event& event) override;
  void finish() override;

 private:
  void print_output(const Output& output);
  void print_step_start(const StepStart& step);
  void print_step_end(const StepEnd& step);
  void print_host_end(const HostEnd& host);
  void print_summary();
  void print_progress(const Progress& progress, Clock::time_point time);
  const std::string& prefix(const std::string& host);
  void write(const std::string& text);  ///< to options.messages
  void write_to(std::FILE* file, const std::string& text);

  std::FILE* out_;
  StreamOptions options_;
  RunTally tally_;
  std::unordered_map<std::string, std::string> prefixes_;  ///< host -> its printed column
  std::unordered_set<std::string> failure_printed_;        ///< hosts with a FAILED line
  std::unordered_set<std::string> continuing_;  ///< host + stream whose last line was partial
  bool summary_printed_ = false;
  std::unordered_map<std::string, Clock::time_point> last_progress_;  ///< host -> last line
  static constexpr std::chrono::seconds kProgressInterval{5};
};

}  // namespace deployd::report
