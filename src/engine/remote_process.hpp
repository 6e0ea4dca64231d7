// SPDX-License-Identifier: MIT
// Stopping a remote step's processes: the step reports its process group first, on stderr, and a
// timeout or a cancel sends that group TERM, then KILL, over a second channel.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace deployd::engine {

/// Shell text that writes `\036deployd-pgid N\n` to stderr, N naming the script's process
/// group. sshd starts every exec in a session of its own, so that group holds the step's
/// processes (except those that leave it on purpose, like daemons started with setsid).
/// Without sudo, N is the shell's own PID ($$, a builtin: no file read, no process), which is
/// the group's id whenever the login shell execs its command; with sudo (the script is sudo's
/// child) N is read from /proc/$$/stat with shell builtins. Without /proc, sudo says nothing.
std::string process_group_report(bool is_sudo);

/// Takes the report out of the start of a step's stderr and remembers the group.
class ProcessGroupReader {
 public:
  /// The part of `chunk` (the next stderr bytes) that belongs to the command's own output;
  /// valid until the next call.
  std::string_view filter(std::string_view chunk);
  /// The reported process group, once its whole line has arrived.
  std::optional<long> group() const { return group_; }
  /// At the end of the output: stderr bytes still held back (a short first line that began
  /// like the report but never ended).
  std::string take_held_back() { return is_done_ ? std::string() : std::exchange(held_, {}); }

 private:
  bool is_done_ = false;  ///< the report was read, or the first bytes were not one
  std::string held_;      ///< a partial first line that may still be the report
  std::optional<long> group_;
};

/// The shell text that reports "the step skipped itself" on stderr, and why: 'c' for
/// `creates`, 'r' for `removes`.
std::string skip_report(char why);

/// Takes the skip report out of the start of a step's stderr (after the group report).
class SkipReader {
 public:
  /// The part of `chunk` that belongs to the command's own output; valid until the next call.
  std::string_view filter(std::string_view chunk);
  /// 'c' (`creates`) or 'r' (`removes`) when the script skipped the command, else 0.
  char skipped_by() const { return why_; }
  std::string take_held_back() { return is_done_ ? std::string() : std::exchange(held_, {}); }

 private:
  bool is_done_ = false;
  char why_ = 0;
  std::string held_;
};

/// The command that stops process group `group`: TERM, up to 2 s for it to end, then KILL.
/// When no group has that id, `group` is taken for a PID whose group is read from /proc (only
/// if that process belongs to the user the command runs as).
/// Exits 0 once the group is gone, 4 if something survived KILL, 5 if it may not be signalled.
/// With `sudo_user` set it runs under `sudo -n` as root (the processes are another user's).
std::string stop_group_command(long group, const std::optional<std::string>& sudo_user);

}  // namespace deployd::engine
