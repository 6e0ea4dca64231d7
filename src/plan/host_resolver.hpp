// SPDX-License-Identifier: MIT
// From host drafts to Hosts: connection keys resolved per host, `~` expanded, duplicates found.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "deployd/load.hpp"
#include "plan/draft.hpp"
#include "plan/host_list.hpp"
#include "plan/ssh_config.hpp"

namespace deployd::plan {

/// Who runs deployd: the default login user and the home directory `~` stands for.
struct Controller {
  std::string user;
  std::string home;
};

/// The options' user and home, else $USER and $HOME, else the password database.
Controller controller_of(const LoadOptions& options);

/// The ssh_config files the hosts use, each read once; its errors are reported once.
class SshConfigFiles {
 public:
  /// `command_line`: the `-F` file, read instead of ~/.ssh/config or a path the plan gives.
  SshConfigFiles(std::string command_line, const Controller& controller)
      : command_line_(std::move(command_line)), controller_(controller) {}

  const std::string& command_line() const { return command_line_; }
  /// The config at `path`, or nullptr if it has errors (reported into `diags` the first time).
  /// `named_at`: where the plan names the file, if it does; a file that cannot be read is
  /// reported there (with its line:column).
  const SshConfig* get(const std::string& path, bool must_exist, Diagnostics& diags,
                       const Where* named_at = nullptr);
  /// The warnings of every file read, in the order read; `quiet`: the keywords ignored quietly.
  std::vector<Diagnostic> warnings(bool quiet = false) const;

 private:
  std::string command_line_;
  Controller controller_;
  std::map<std::string, SshConfig> files_;
  std::vector<std::string> order_;
};

/// `path` with a leading `~` or `~/` replaced by `home`.
std::string expand_home(const std::string& path, const std::string& home);

/// Hosts with every connection key resolved: host keys > `user@name:port` > defaults >
/// ssh_config > built-in, each with its source. A duplicate name or a reserved one (`all`,
/// `local`) is reported and left out.
std::vector<Host> resolve_hosts(const std::vector<HostDraft>& drafts,
                                const ConnectionDraft& defaults, const Controller& controller,
                                SshConfigFiles& configs, Diagnostics& diags);

/// The hosts `-H` names, in order: plan hosts by name, and new hosts (added to `plan.hosts`,
/// with the defaults) for names the plan does not define; errors name the `-H` value (or the
/// host list's line).
std::vector<std::string> command_line_hosts(const std::vector<CommandLineHost>& specs,
                                            const ConnectionDraft& defaults,
                                            const Controller& controller, SshConfigFiles& configs,
                                            Plan& plan, Diagnostics& diags);

/// Fills each host's `via_hosts`, one per `via` entry: a plan host's keys (as `hosts` has them
/// now, after `-H`), else the hop resolved on its own (see `Host::via_hosts`). Call it last.
void resolve_jump_hosts(std::vector<Host>& hosts, const ConnectionDraft& defaults,
                        const Controller& controller, SshConfigFiles& configs, Diagnostics& diags);

}  // namespace deployd::plan
