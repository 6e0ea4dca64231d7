// SPDX-License-Identifier: MIT
// Starting, asking and stopping the warm session daemon (see control.hpp).
#include "warm/control.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "base/duration_text.hpp"
#include "warm/protocol.hpp"
#include "warm/runtime_folder.hpp"

namespace deployd::warm {
namespace {

/// A connected socket to the daemon (of our own uid), or -1 and why not.
int connect_to(const std::string& folder, std::string& error) {
  if (std::string unsafe = unsafe_folder_reason(folder); !unsafe.empty()) {
    error = errno == ENOENT ? "not running" : unsafe;
    return -1;
  }
  const std::string path = socket_path(folder);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) {
    error = "the socket path " + path + " is too long";
    return -1;
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    error = "not running";
    if (fd >= 0) ::close(fd);
    return -1;
  }
  if (peer_uid(fd) != static_cast<long>(::geteuid())) {
    error = path + " is served by another user's process";
    ::close(fd);
    return -1;
  }
  return fd;
}

/// Sends one frame and reads the reply frame (within 5 s).
Answer request(const std::string& folder, FrameType type) {
  Answer answer;
  const int fd = connect_to(folder, answer.error);
  if (fd < 0) return answer;
  answer.is_running = true;
  const std::string frame = encode_frame(type, "");
  if (::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(frame.size())) {
    answer.error = std::string("cannot send: ") + std::strerror(errno);
    ::close(fd);
    return answer;
  }
  FrameDecoder decoder;
  char buffer[4096];
  pollfd watch{fd, POLLIN, 0};
  while (::poll(&watch, 1, 5000) == 1) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got <= 0) break;
    decoder.feed(std::string_view(buffer, static_cast<std::size_t>(got)));
    if (std::optional<Frame> reply = decoder.next()) {
      if (reply->type == FrameType::StatusReply) answer.text = std::move(reply->payload);
      break;
    }
  }
  if (!answer.text) answer.error = "no answer from the daemon";
  ::close(fd);
  return answer;
}

}  // namespace

Answer ask_status(const std::string& folder) { return request(folder, FrameType::Status); }

Answer ask_stop(const std::string& folder) {
  Answer answer = request(folder, FrameType::Stop);
  if (!answer.text) return answer;
  // It has stopped when it no longer accepts connections (it unlinks its socket on exit).
  for (int i = 0; i < 1000; ++i) {
    std::string error;
    const int fd = connect_to(folder, error);
    if (fd < 0) return answer;
    ::close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  answer.error = "it did not exit within 10s";
  return answer;
}

std::string start_daemon(const std::string& folder, std::chrono::milliseconds idle) {
  if (std::string error = make_runtime_folder(folder); !error.empty()) return error;
  if (ask_status(folder).is_running) return "";
  char self[4096];
  const ssize_t length = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (length <= 0)
    return std::string("cannot find deployd's own executable: ") + std::strerror(errno);
  self[length] = '\0';
  const std::string idle_text = base::duration_text(idle);
  const std::string log = folder + "/serve.log";
  const pid_t child = ::fork();
  if (child < 0) return std::string("cannot start deployd serve: ") + std::strerror(errno);
  if (child == 0) {
    // The first child makes a session of its own and leaves; the second serves, adopted by init.
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    if (::chdir("/") != 0) ::_exit(127);  // hold no folder of the run (the put paths are absolute)
    const int null = ::open("/dev/null", O_RDWR);
    const int err = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(err >= 0 ? err : null, 2);
    for (int fd = 3; fd < 1024; ++fd) ::close(fd);
    const char* argv[] = {"deployd", "serve", "--foreground", "--idle", idle_text.c_str(), nullptr};
    ::execv(self, const_cast<char* const*>(argv));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  for (int i = 0; i < 300; ++i) {
    if (ask_status(folder).is_running) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "deployd serve did not start within 3s (see " + log + ")";
}

}  // namespace deployd::warm
