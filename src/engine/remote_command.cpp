// SPDX-License-Identifier: MIT
// Building the remote shell text of a step (see remote_command.hpp).
#include "engine/remote_command.hpp"

#include "engine/remote_process.hpp"

namespace deployd::engine {

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

std::string remote_command(const CommandSpec& spec) {
  std::string script;
  if (spec.report_process_group) script += process_group_report();
  if (!spec.cwd.empty()) script += "cd -- " + shell_quote(spec.cwd) + " || exit 1\n";
  for (const auto& [name, value] : spec.env) script += "export " + name + "=" + shell_quote(value) + "\n";
  script += spec.command;
  // plan-format.md: `run` has `sh -c` semantics whatever the login shell of the remote user is.
  std::string text = "sh -c " + shell_quote(script);
  if (!spec.sudo_user) return text;
  // -n: a missing sudo right fails at once instead of waiting for a password prompt.
  std::string sudo = "sudo -n ";
  if (!spec.sudo_user->empty()) sudo += "-u " + shell_quote(*spec.sudo_user) + " ";
  return sudo + "-- " + text;
}

}  // namespace deployd::engine
