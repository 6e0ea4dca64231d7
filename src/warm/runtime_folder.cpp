// SPDX-License-Identifier: MIT
// The folder of the warm session socket, and who is at the other end (see runtime_folder.hpp).
#include "warm/runtime_folder.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace deployd::warm {

std::string runtime_folder() {
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  if (runtime != nullptr && runtime[0] == '/') return std::string(runtime) + "/deployd";
  return "/tmp/deployd-" + std::to_string(::geteuid());
}

std::string socket_path(const std::string& folder) { return folder + "/serve.sock"; }

std::string unsafe_folder_reason(const std::string& folder) {
  struct stat info {};
  if (::lstat(folder.c_str(), &info) != 0)
    return "cannot use " + folder + ": " + std::strerror(errno);
  if (!S_ISDIR(info.st_mode)) return folder + " is not a folder (a symlink or a file)";
  if (info.st_uid != ::geteuid())
    return folder + " belongs to uid " + std::to_string(info.st_uid) + ", not to you (uid " +
           std::to_string(::geteuid()) + "): another user may have made it";
  if ((info.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    return folder + " has mode " + mode + ": other users could reach the socket (chmod 700 it)";
  }
  return "";
}

std::string make_runtime_folder(const std::string& folder) {
  if (::mkdir(folder.c_str(), 0700) != 0 && errno != EEXIST)
    return "cannot create " + folder + ": " + std::strerror(errno);
  return unsafe_folder_reason(folder);
}

long peer_uid(int fd) {
  ucred credentials{};
  socklen_t size = sizeof credentials;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &size) != 0) return -1;
  return static_cast<long>(credentials.uid);
}

}  // namespace deployd::warm
