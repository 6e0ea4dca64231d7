// SPDX-License-Identifier: MIT
// The events of a run (plan-format.md, "JSON events"), as types that reporters render.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace deployd {

using Clock = std::chrono::system_clock;

/// The host name events use for work done on the controller.
inline constexpr const char* kLocalHost = "local";

enum class OutputStream { Stdout, Stderr };
/// `Aborted`: the run (an abort or an interrupt) cancelled the step while it ran.
enum class StepStatus { Ok, Failed, Skipped, TimedOut, Aborted };
enum class HostStatus { Ok, Failed, Unreachable, Skipped, Aborted };
enum class RunStatus { Ok, Failed, Aborted, Interrupted };

/// A selected task as the run runs it: its step count and the hosts it runs on, in run order
/// (a local task: "local"; a run_once task: its one host).
struct TaskTargets {
  std::string task;
  int steps = 0;
  std::vector<std::string> hosts;
};

struct RunStart {
  std::string run_id;
  std::string plan;
  int hosts = 0;
  std::vector<std::string> tasks;
  std::string plan_sha256;  ///< of the plan file's bytes; empty when not known (null in JSON)
  /// The rolling waves (policy.batches) as the scheduler cut them: per wave, one past the index
  /// of its last remote host, in the order waves take the hosts (JSON `"wave_ends"`). The
  /// controller's local tasks are in no wave. Empty when not known (a run log from before).
  std::vector<std::size_t> wave_ends{};
  /// The run's remote hosts in run order, the order waves take them (JSON `"host_names"`).
  /// Empty when not known (a run log from before).
  std::vector<std::string> host_names{};
  /// Per task of `tasks`, in that order: what it runs where (JSON `"targets"`). Empty when not
  /// known (a run log from before).
  std::vector<TaskTargets> targets{};
};

struct StepStart {
  std::string host;
  std::string task;
  int step = 0;
  std::string name;
  /// A delegated step: the host (or "local") that runs it for `host` (JSON `"delegate"`,
  /// present only when set).
  std::string delegate{};
};

/// One line of a step's output, without its newline; raw bytes, escaped only when rendered.
struct Output {
  std::string host;
  std::string task;
  int step = 0;
  OutputStream stream = OutputStream::Stdout;
  std::string line;
  /// The line did not end here: it was longer than the line limit, and the next output event
  /// of this stream goes on with it (JSON: `"partial": true`, present only when set).
  bool is_partial = false;
};

/// What a `put` or `get` step moved (StepEnd::transfer).
struct TransferStats {
  std::uint64_t bytes = 0;  ///< bytes sent or received; 0 when unchanged
  bool unchanged = false;   ///< put: the remote file already had the same size and sha256
};

struct StepEnd {
  std::string host;
  std::string task;
  int step = 0;
  StepStatus status = StepStatus::Ok;
  std::optional<int> exit_status;
  std::string exit_signal;  ///< e.g. "KILL" when the command was killed by a signal
  std::int64_t duration_ms = 0;
  std::string error;  ///< empty when ok
  std::optional<TransferStats> transfer;  ///< set for put and get steps that ran
  /// A failure that does not stop the host (`ignore_errors`): JSON `"ignored": true`, present
  /// only when set.
  bool ignored = false;
  /// A failed attempt that `retries` runs again (its error says so); not written in JSON events.
  bool will_retry = false;
  /// The step changed the host (plan-format.md, "Changed"): a run or local step that ran, a put
  /// or get that wrote. JSON `"changed": true`, present only when set.
  bool changed = false;
};

/// How far a long file transfer (put/get) has come: sent about once a second while it runs.
struct Progress {
  std::string host;
  std::string task;
  int step = 0;
  std::uint64_t bytes = 0;  ///< moved so far
  std::uint64_t total = 0;  ///< the file's size
  std::uint64_t bytes_per_second = 0;
};

struct HostEnd {
  std::string host;
  HostStatus status = HostStatus::Ok;
  std::string error;  ///< one line naming host, task, step and cause
};

/// How many hosts ended in each status.
struct StatusCounts {
  int ok = 0;
  int failed = 0;
  int unreachable = 0;
  int skipped = 0;
  int aborted = 0;
  void add(HostStatus status);
};

struct RunEnd {
  RunStatus status = RunStatus::Ok;
  int exit_code = 0;
  StatusCounts counts;
  std::int64_t duration_ms = 0;
  /// Why a run was cut short (`max_failures 1 exceeded: node007, node023 failed`, `interrupted
  /// by SIGINT`); empty for a run that went to its end (JSON: null).
  std::string reason{};
};

/// Any event, with the wall-clock time it happened.
struct Event {
  Clock::time_point time;
  std::variant<RunStart, StepStart, Output, StepEnd, HostEnd, RunEnd, Progress> body;
};

const char* to_string(OutputStream stream);
const char* to_string(StepStatus status);
const char* to_string(HostStatus status);
const char* to_string(RunStatus status);

}  // namespace deployd
