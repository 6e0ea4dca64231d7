// SPDX-License-Identifier: MIT
#include "ssh/sudo_script.hpp"

#include <cstdio>

#include "ssh/sftp_parts.hpp"

namespace deployd::ssh {

std::string as_whom(const std::optional<std::string>& sudo_user) {
  if (!sudo_user) return "";
  return sudo_user->empty() ? " as root" : " as " + *sudo_user;
}

std::string sudo_sh_c(const std::optional<std::string>& sudo_user) {
  std::string command;
  if (sudo_user) {
    command = "sudo -n ";
    if (!sudo_user->empty()) command += "-u " + shell_quote(*sudo_user) + " ";
    command += "-- ";
  }
  return command + "sh -c";
}

std::string last_line(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const auto newline = text.rfind('\n');
  return newline == std::string::npos ? text : text.substr(newline + 1);
}

std::string octal(unsigned mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", mode & 07777);
  return text;
}

}  // namespace deployd::ssh
