// SPDX-License-Identifier: MIT
// The exact text a `run` step sends to the remote side: `sh -s` and a script on its stdin, with
// cd, env and sudo applied.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "deployd/plan.hpp"

namespace deployd::engine {

/// `text` quoted for a POSIX shell, safe for any bytes: 'it'\''s'.
std::string shell_quote(std::string_view text);

/// What a step runs, after interpolation.
struct CommandSpec {
  std::string command;
  std::string cwd;  ///< empty: the login directory
  VarMap env;
  std::optional<std::string> sudo_user;  ///< "" means sudo's default user
  /// The shell as a command line that the script follows (`"shell"`); empty: `sh -c`.
  std::vector<std::string> shell;
  /// Run before the command, after cd and env; each must succeed (`"prefix"`, outermost first).
  std::vector<std::string> prefixes;
  /// Start the script by reporting its process group on stderr (remote_process.hpp), so that a
  /// timeout or a cancel can stop every process of the step.
  bool report_process_group = false;
  /// The command must not be seen in the host's process list (a `secret` step).
  bool is_secret = false;
  /// `creates`/`removes`: a remote path tested in the same script, after `cd`, before the
  /// command; when the test says skip, the script reports it (remote_process.hpp) and exits 0.
  std::optional<std::string> skip_if_exists;
  std::optional<std::string> skip_unless_exists;
};

/// How the script on stdin is wrapped: one brace group whose stdin is /dev/null.
inline constexpr std::string_view kScriptOpen = "{\n";
inline constexpr std::string_view kScriptClose = "\n} </dev/null\n";

/// A remote command: `exec` is the channel's exec request (all that `ps` shows on the host),
/// `script` (possibly empty) goes on the channel's stdin, which is then closed.
struct RemoteCommand {
  std::string exec;
  std::string script;
};

/// The exec text and script for `spec`. Environment variables are exported in the script rather
/// than sent as SSH `env` requests, because stock sshd accepts only LANG and LC_* and silently
/// drops the rest (docs/ssh-notes.md, "sshd accepts only LANG and LC_* env").
/// A step with `env` values or a secret command is `sh -s` (the shell's `-c` made `-s`) with
/// its script on stdin, so that
/// neither appears in the remote process list; any other step is one `sh -c` exec and no script:
/// sshd opens a session's window only with the exec's reply, so a script on stdin costs one round
/// trip more (measured: +90 ms a step through a 100 ms round trip).
RemoteCommand remote_command(const CommandSpec& spec);

/// The same script as one `sh -c` command line (with sudo applied): a local sudo step's command.
std::string shell_command(const CommandSpec& spec);

/// The command with the prefixes before it, as the shell runs it: a local step's text (its cd
/// and env are applied by the process it starts).
std::string prefixed_command(const CommandSpec& spec);

}  // namespace deployd::engine
