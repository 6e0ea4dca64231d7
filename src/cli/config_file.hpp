// SPDX-License-Identifier: MIT
// The config file of defaults (plan-format.md, "Config file"): found as ansible.cfg is, and read
// with the plan's locations (file:line:column) for its errors.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/options.hpp"
#include "deployd/diagnostic.hpp"

namespace deployd::cli {

/// A config file's defaults; paths in it are resolved against the file's folder.
struct ConfigFile {
  std::string path;      ///< as found
  std::string found_by;  ///< "DEPLOYD_CONFIG", "the current folder" or "the user's config folder"
  std::vector<std::string> inventories;  ///< "inventory": a path or a list of paths
  std::optional<int> forks;
  std::optional<std::string> output;  ///< stream, group or json
  std::optional<std::string> color;   ///< auto, always or never
  std::optional<std::string> log_dir;
  std::optional<std::string> ssh_config;
};

/// A config file, none (no error, no file), or the errors that stop the run (exit 2).
struct ConfigLookup {
  std::optional<ConfigFile> config;
  std::vector<Diagnostic> errors;
  std::vector<std::string> searched;  ///< the paths looked at, in order
};

/// Reads and checks the config file at `path`; unknown keys and wrong values are errors.
ConfigLookup read_config(const std::string& path);

/// `$DEPLOYD_CONFIG` when set (empty: no config file at all; missing: an error); else the first
/// of `./.deployd/config.json` and `$XDG_CONFIG_HOME/deployd/config.json` (default
/// `~/.config/deployd/config.json`) that exists.
ConfigLookup find_config();

/// Takes the config file's defaults into `options` for what the command line left out
/// (Options::given); its inventories wait in Options::config_inventories (use_default_inventory).
void apply_config(const ConfigFile& config, Options& options);

/// `deployd config`: which file was used (or where none was found), then each effective value
/// with where it comes from: the config file, DEPLOYD_INVENTORY, or the default.
std::string describe_config(const ConfigLookup& lookup);

/// `deployd config [--help]`.
bool is_config_command(int argc, const char* const* argv);
int config_main(int argc, const char* const* argv);

}  // namespace deployd::cli
