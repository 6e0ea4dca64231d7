// SPDX-License-Identifier: MIT
// `-H @FILE`: host lists, one host a line, as `pssh -h` reads them.
#pragma once

#include <string>
#include <vector>

#include "plan/document.hpp"

namespace deployd::plan {

/// One `-H` host and where it was given: on the command line (no file), or on a line of a list.
struct CommandLineHost {
  std::string text;  ///< `name`, `user@name:port`, ranges allowed
  std::string file;
  int line = 0;
  int column = 0;
};

/// The `-H` values with each `@FILE` replaced by the hosts it lists: one a line, blank lines and
/// `#` comments ignored. An unreadable file, or a line of two words, is an error.
std::vector<CommandLineHost> expand_host_lists(const std::vector<std::string>& values,
                                               Diagnostics& diags);

}  // namespace deployd::plan
