// SPDX-License-Identifier: MIT
// What the two privileged transfers (sudo_transfer.cpp: one file, sudo_folder.cpp: a folder)
// share: the command that runs their shell scripts, and how a script's failure reads.
#pragma once

#include <optional>
#include <string>

namespace deployd::ssh {

/// ` as root`, ` as USER`, or "" when the login user writes (owner or group alone).
std::string as_whom(const std::optional<std::string>& sudo_user);

/// `sudo -n [-u USER] -- sh -c` (`sh -c` without sudo): a quoted script and its arguments follow.
std::string sudo_sh_c(const std::optional<std::string>& sudo_user);

/// The last line a failed script wrote on stderr (sudo's refusal, the script's own reason).
std::string last_line(std::string text);

/// `0644`: a mode as chmod reads it.
std::string octal(unsigned mode);

}  // namespace deployd::ssh
