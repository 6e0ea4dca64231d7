// SPDX-License-Identifier: MIT
// The run log: `<log_dir>/<run_id>/events.jsonl` and `summary.json`, so nothing of a run is lost.
#pragma once

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "deployd/reporter.hpp"
#include "report/json_reporter.hpp"
#include "report/run_context.hpp"
#include "report/run_record.hpp"
#include "report/run_tally.hpp"

namespace deployd::report {

/// A new run id, unique per run, sorting as runs started and usable as a file name:
/// `20261128T134235Z-a1b2c3` (UTC time of `now`, then 24 random bits in hex).
std::string make_run_id(Clock::time_point now = Clock::now());

/// True when `text` has the shape of a make_run_id() id (what `--retry-failed RUN_ID` takes).
bool is_run_id(std::string_view text);

/// Records a run in its own folder: every event in events.jsonl (as `--output json` prints
/// them), and at run_end (or on finish()) a summary.json with the run's status, counts, each host's end and
/// the RunRecord (under "rerun"), which `--retry-failed` reads back (previous_run.hpp).
/// The folder is 0700 and the files 0600 (before the umask): output may hold what other users
/// of the controller should not read.
class RunLog final : public Reporter {
 public:
  /// What open() gives: a log, or an empty one and the reason in `error`.
  struct Opened {
    std::unique_ptr<RunLog> log;
    std::string error;  ///< e.g. `create run log folder "/x/y": permission denied`
  };

  /// Creates `log_dir` (missing parents too, 0700), then `log_dir/run_id/`, which must not exist
  /// yet, and its events.jsonl. Refuses a `log_dir` that another user owns or can write, or that
  /// sits in a folder they could swap it in (private_folder.hpp), saying how to fix it.
  /// Never throws on a file system error.
  static Opened open(const std::filesystem::path& log_dir, std::string_view run_id,
                     RunRecord record = {});

  /// Finishes the log (writes summary.json) if finish() was not called, and closes it.
  ~RunLog() override;
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;

  /// The run's folder, `log_dir/run_id`.
  const std::filesystem::path& dir() const { return dir_; }

  void on(const Event& event) override;
  /// Writes what events.jsonl holds in its buffer to the file (the run calls it a few times a
  /// second: `tail -f` follows the run, a crash loses little).
  void flush() { json_.flush(); }
  /// Flushes events.jsonl and writes summary.json if run_end did not; later calls do nothing.
  void finish() override;

  /// The first error writing the log, empty while all went well.
  const std::string& error() const;
  /// True once summary.json, which --retry-failed needs, is written (at run_end, else finish()).
  bool is_summary_written() const { return is_summary_written_; }
  /// True when writing summary.json was tried and failed: --retry-failed cannot find this run.
  bool is_summary_lost() const { return is_summary_tried_ && !is_summary_written_; }
  /// What run.json holds: written when run_start comes, with the waves it announces
  /// (RunStart::wave_ends), or on finish() if none came. A run.json that cannot be written is
  /// only warned about (on_warning).
  void write_context_at_start(RunContext context) { context_ = std::move(context); }
  /// Called once per file of the log that a write fails on (disk full), when it happens, with a
  /// sentence saying what is lost, e.g. `run log: write "DIR/events.jsonl": no space left on
  /// device: events from here on may be missing from it`.
  void on_warning(std::function<void(const std::string&)> warn) { on_warning_ = std::move(warn); }

 private:
  RunLog(std::filesystem::path dir, std::string run_id, RunRecord record, std::FILE* events, int dir_fd);
  void write_summary();
  void write_context();
  void warn_of_errors();

  std::filesystem::path dir_;
  std::string run_id_;
  RunRecord record_;
  std::FILE* events_;
  int dir_fd_;  ///< the run folder, as checked when it was made: every file is made relative to it
  JsonReporter json_;
  RunTally tally_;
  std::optional<RunContext> context_;  ///< run.json's, until it is written
  std::string error_;
  bool is_finished_ = false;
  bool is_summary_tried_ = false;
  bool is_summary_written_ = false;
  std::function<void(const std::string&)> on_warning_;
  bool is_events_warned_ = false;
  bool is_summary_warned_ = false;
};

}  // namespace deployd::report
