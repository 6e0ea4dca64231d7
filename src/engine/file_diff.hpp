// SPDX-License-Identifier: MIT
// What `template` and `put` steps would install (--dry-run --show-files), and how that differs
// from each host's file (--diff, a connected dry run: issue 18).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "async/awaitable.hpp"
#include "deployd/plan.hpp"
#include "engine/transport.hpp"
#include "ssh/sftp.hpp"

namespace deployd::engine {

/// The bytes a template or put step would install on a host, as known before the run.
struct PlannedFile {
  std::string source;  ///< the local file (a template's, or a put's source)
  std::string target;  ///< the remote path, cd applied
  std::optional<std::string> bytes;
  /// Why the bytes are not known before the run (a registered variable, a folder, a secret
  /// step), or why they cannot be made (a render error).
  std::string note;
  bool is_error = false;  ///< the bytes cannot be made (not merely unknown before the run)
  bool is_folder = false;  ///< a recursive put: `source` is a local folder (no bytes)
};

/// What `step` (a Template or a Put) would install on `host`.
PlannedFile planned_file(const Plan& plan, const Host& host, const Step& step,
                         const std::string& run_id);

/// `bytes` as indented lines (`    | line`), for --show-files.
std::string content_lines(const std::string& bytes);

/// A unified diff from the host's file (`current`, nullopt: absent) to `planned`, with a
/// `---`/`+++` header naming `host` and the path; "" when they are equal.
std::string file_diff(const std::string& host, const std::string& path,
                      const std::optional<std::string>& current, const std::string& planned);

/// The exit status the read-only commands of --diff give for a path that does not exist.
constexpr int kAbsentStatus = 44;

/// A read-only command run on a host for --diff: its exit status, or why it has none.
struct RemoteRead {
  std::optional<int> status;
  std::string out;      ///< stdout, at most `max_out` bytes
  bool is_cut = false;  ///< stdout was longer: the rest was dropped
  std::string error;    ///< no status: the connection failed, a timeout, a signal
};

/// Runs `command` with `sh -c` on the host (through `sudo -n` as `sudo_user` when set), `input`
/// on its stdin, for at most 60 s.
boost::asio::awaitable<RemoteRead> run_read_only(Connection& connection, const std::string& command,
                                                 const std::optional<std::string>& sudo_user,
                                                 std::string input, std::size_t max_out);

/// The file at `path` on the host: its bytes, or nullopt when it does not exist (or, with
/// `error` set, cannot be read). A file longer than `planned_size` and than 4 MiB comes back cut
/// one byte past the longer of them: enough to tell it differs.
boost::asio::awaitable<std::optional<std::string>> read_remote_file(
    Connection& connection, const std::string& path, const std::optional<std::string>& sudo_user,
    std::size_t planned_size, std::string& error);

/// One host's part of a --diff run: its text (in plan order), and what was found.
struct HostDiff {
  const Host* host = nullptr;
  std::string text;
  int compared = 0;        ///< files read and compared
  int would_change = 0;    ///< of them, files whose bytes differ (or are absent)
  bool is_failed = false;  ///< unreachable, or a file could not be read or rendered
};

/// The hosts and steps of a --diff run, and its results. Workers share it on one thread.
struct DiffRun {
  const Plan& plan;
  std::vector<const Task*> tasks;
  std::string run_id;
  std::vector<HostDiff> hosts;  ///< one per host the tasks run on, in plan order
  std::size_t next = 0;         ///< the next host a worker takes
  ssh::SourceCache sources;     ///< the files of recursive puts, each read once for all hosts
};

/// A --diff worker: takes hosts from `run` until none is left; for each, connects, reads the
/// file (or folder) of every template and put step its tasks would run there (`when` decided
/// as the run would, before any failure; through `sudo -n` when the step has sudo) and
/// compares. Runs no step, writes nothing.
boost::asio::awaitable<void> diff_worker(DiffRun& run, Transport& transport);

}  // namespace deployd::engine
