// SPDX-License-Identifier: MIT
// Building the remote shell text of a step (see remote_command.hpp).
#include "engine/remote_command.hpp"

#include "engine/remote_process.hpp"

namespace deployd::engine {
namespace {

// `dir` as a shell word: quoted whole, except a leading `~` or `~/`, which is left bare so the
// shell expands it to the home of the user the script runs as (quoted, `~` never expands).
std::string directory_word(const std::string& dir) {
  if (dir == "~") return "~";
  if (dir.starts_with("~/")) return dir.size() == 2 ? "~/" : "~/" + shell_quote(dir.substr(2));
  return shell_quote(dir);
}

// Each prefix must succeed before the next and the command run, like Fabric's `prefix()`
// (`a && b && command`); braces keep a prefix of several lines one test.
std::string prefix_lines(const CommandSpec& spec) {
  std::string lines;
  for (const std::string& prefix : spec.prefixes) lines += "{ " + prefix + "\n} || exit $?\n";
  return lines;
}

// The script as the shell runs it: report, cd, exports, prefixes, then the command.
std::string script_of(const CommandSpec& spec) {
  std::string script;
  if (spec.report_process_group) script += process_group_report(spec.sudo_user.has_value());
  if (!spec.cwd.empty()) script += "cd -- " + directory_word(spec.cwd) + " || exit 1\n";
  for (const auto& [name, value] : spec.env)
    script += "export " + name + "=" + shell_quote(value) + "\n";
  // plan-format.md, `creates`/`removes`: tested by the step's own shell, no round trip more.
  if (spec.skip_if_exists)
    script += "if [ -e " + directory_word(*spec.skip_if_exists) + " ]; then " + skip_report('c') +
              "; exit 0; fi\n";
  if (spec.skip_unless_exists)
    script += "if [ ! -e " + directory_word(*spec.skip_unless_exists) + " ]; then " +
              skip_report('r') + "; exit 0; fi\n";
  script += prefix_lines(spec);
  script += spec.command;
  return script;
}

// A word of the shell's command line, quoted only when it needs to be (`bash -l -c` stays
// readable in the host's process list).
std::string shell_word(const std::string& word) {
  const bool is_plain = !word.empty() && word.find_first_not_of(
                                             "abcdefghijklmnopqrstuvwxyz"
                                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "0123456789-_./=+:,@%") == std::string::npos;
  return is_plain ? word : shell_quote(word);
}

// The shell's command line, to be followed by the script (`-c`) or reading it from stdin
// (`-s`: the last option's final `c` made `s`, so `-lc` becomes `-ls`).
std::string shell_line(const CommandSpec& spec, bool from_stdin) {
  std::vector<std::string> words =
      spec.shell.empty() ? std::vector<std::string>{"sh", "-c"} : spec.shell;
  if (from_stdin) words.back().back() = 's';
  std::string line;
  for (const std::string& word : words) line += shell_word(word) + " ";
  if (from_stdin) line.pop_back();
  return line;
}

// `shell` run as the step's user: sudo -n fails at once instead of waiting for a password.
std::string with_sudo(const CommandSpec& spec, std::string shell) {
  if (!spec.sudo_user) return shell;
  std::string sudo = "sudo -n ";
  if (!spec.sudo_user->empty()) sudo += "-u " + shell_quote(*spec.sudo_user) + " ";
  return sudo + "-- " + shell;
}

}  // namespace

std::string shell_quote(std::string_view text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'')
      quoted += "'\\''";
    else
      quoted += c;
  }
  return quoted + "'";
}

RemoteCommand remote_command(const CommandSpec& spec) {
  // plan-format.md: `run` has `sh -c` semantics (or its `shell`'s) whatever the login shell is.
  // The script comes on stdin, so the process list shows `sh -s` and no value (issue 16 #7).
  // The group is parsed whole before anything in it runs, and runs with stdin at EOF, as
  // `ssh -n` gives: a command that reads stdin can never eat the rest of the script, nor wait.
  // (Under `sh -c`, stdin is the channel's, closed at once: the same EOF.)
  if (spec.env.empty() && !spec.is_secret) return RemoteCommand{shell_command(spec), ""};
  std::string script = std::string(kScriptOpen) + script_of(spec) + std::string(kScriptClose);
  return RemoteCommand{with_sudo(spec, shell_line(spec, /*from_stdin=*/true)), std::move(script)};
}

std::string shell_command(const CommandSpec& spec) {
  return with_sudo(spec, shell_line(spec, /*from_stdin=*/false) + shell_quote(script_of(spec)));
}

std::string prefixed_command(const CommandSpec& spec) { return prefix_lines(spec) + spec.command; }

}  // namespace deployd::engine
