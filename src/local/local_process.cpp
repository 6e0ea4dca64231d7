// SPDX-License-Identifier: MIT
// Local commands (see local_process.hpp): posix_spawn, two pipes and a pidfd on the engine's loop.
#include "local/local_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <vector>

#include "async/awaitable.hpp"
#include "base/errno_text.hpp"

extern char** environ;

namespace deployd::local {
namespace {

namespace asio = boost::asio;
using Descriptor = asio::posix::stream_descriptor;

constexpr std::size_t kReadChunk = 64 * 1024;

// "KILL" for SIGKILL, as ExecResult wants it (and as SSH reports it).
std::string signal_name(int signal) {
  if (const char* name = sigabbrev_np(signal)) return name;
  return std::to_string(signal);
}

// The controller's environment without `removed`, with `extra` added or replacing same-named
// entries.
std::vector<std::string> child_environment(const VarMap& extra, const std::set<std::string>& removed) {
  std::vector<std::string> out;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string_view text(*entry);
    std::string name(text.substr(0, text.find('=')));
    if (!extra.count(name) && !removed.count(name)) out.emplace_back(text);
  }
  for (const auto& [name, value] : extra) out.push_back(name + "=" + value);
  return out;
}

// Owns a spawn attribute set and file actions, destroyed on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
};

// One running child: its pipes, its exit watch, its deadline. Handlers hold a shared_ptr, so
// the object lives until the last of them has run.
class Child : public std::enable_shared_from_this<Child> {
 public:
  Child(asio::any_io_executor executor, OutputHandler on_output)
      : streams_{Descriptor(executor), Descriptor(executor)},
        exit_watch_(executor),
        poll_(executor),
        deadline_(executor),
        done_(executor, asio::steady_timer::time_point::max()),
        on_output_(std::move(on_output)) {}

  ~Child() {
    // The run was torn down mid-command: leave nothing of it running.
    if (pid_ > 0 && !reaped_) {
      ::killpg(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, WNOHANG);
    }
  }

  std::string spawn(const LocalCommand& command);
  void start(const LocalCommand& command);
  asio::awaitable<base::ExecResult> result();

 private:
  void read(int index);
  void watch_exit();
  void poll_exit(std::chrono::milliseconds delay);
  void on_exit(std::chrono::milliseconds retry);
  void on_deadline(int stage, Duration grace);
  void maybe_finish();

 public:
  /// Stops the group now, as a timeout does, and reports the command as cancelled.
  void cancel(Duration grace) {
    if (finished_ || stopping_) return;
    cancelled_ = true;
    deadline_.cancel();
    on_deadline(0, grace);
  }

 private:

  std::array<Descriptor, 2> streams_;  // stdout, stderr
  std::array<std::array<char, kReadChunk>, 2> buffers_;
  Descriptor exit_watch_;    // a pidfd: readable once the child has exited
  asio::steady_timer poll_;  // without pidfd (old kernels): waitpid(WNOHANG) with backoff
  asio::steady_timer deadline_;
  asio::steady_timer done_;  // cancelled when the result is ready
  OutputHandler on_output_;
  pid_t pid_ = -1;
  int open_streams_ = 2;
  bool reaped_ = false;
  bool stopping_ = false;   // TERM sent: by the timeout or by a cancel
  bool cancelled_ = false;
  bool finished_ = false;
  base::ExecResult result_;
};

std::string Child::spawn(const LocalCommand& command) {
  if (!command.directory.empty()) {
    struct stat info {};
    if (::stat(command.directory.c_str(), &info) != 0)
      return "local step: folder \"" + command.directory + "\" does not exist";
    if (!S_ISDIR(info.st_mode)) return "local step: \"" + command.directory + "\" is not a folder";
  }
  std::array<int, 2> out{-1, -1}, err{-1, -1};
  if (::pipe2(out.data(), O_CLOEXEC) != 0) return "local step: pipe: " + base::errno_text(errno);
  if (::pipe2(err.data(), O_CLOEXEC) != 0) {
    int error = errno;
    ::close(out[0]), ::close(out[1]);
    return "local step: pipe: " + base::errno_text(error);
  }
  SpawnSetup setup;
  posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&setup.actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&setup.actions, err[1], 2);
  if (!command.directory.empty())
    posix_spawn_file_actions_addchdir_np(&setup.actions, command.directory.c_str());
  // Descriptors Asio or libssh2 opened without O_CLOEXEC (sockets) never reach the child.
  posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3);
  // Own session and process group: a timeout kills the whole group, and no terminal prompt
  // (ssh, sudo) can hang on the controller's tty. Signals main() ignores (SIGPIPE for libssh2)
  // are reset, so pipelines like `yes | head` behave as in a shell.
  sigset_t defaults, mask;
  sigemptyset(&defaults);
  for (int signal : {SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGCHLD, SIGALRM, SIGUSR1, SIGUSR2,
                     SIGXFSZ, SIGTTIN, SIGTTOU, SIGTSTP})
    sigaddset(&defaults, signal);
  sigemptyset(&mask);
  posix_spawnattr_setflags(&setup.attributes,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setsigdefault(&setup.attributes, &defaults);
  posix_spawnattr_setsigmask(&setup.attributes, &mask);

  std::vector<std::string> environment = child_environment(command.env, command.unset_env);
  std::vector<char*> envp;
  for (std::string& entry : environment) envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::vector<std::string> words = command.shell;
  if (words.empty()) words = {"/bin/sh", "-c"};
  words.push_back(command.command);
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  const std::string& shell = words.front();
  int rc = posix_spawnp(&pid_, shell.c_str(), &setup.actions, &setup.attributes, argv.data(),
                        envp.data());
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    pid_ = -1;
    ::close(out[0]), ::close(err[0]);
    if (!command.directory.empty() && rc == ENOENT && shell.find('/') != std::string::npos)
      return "local step: cannot start " + shell + " in \"" + command.directory +
             "\": " + base::errno_text(rc);
    return "local step: cannot start " + shell + ": " + base::errno_text(rc);
  }
  streams_[0].assign(out[0]);
  streams_[1].assign(err[0]);
  return "";
}

void Child::start(const LocalCommand& command) {
  read(0);
  read(1);
  watch_exit();
  if (command.timeout) {
    deadline_.expires_after(*command.timeout);
    deadline_.async_wait(
        [self = shared_from_this(), grace = command.kill_grace](boost::system::error_code ec) {
          if (!ec) self->on_deadline(0, grace);
        });
  }
}

asio::awaitable<base::ExecResult> Child::result() {
  auto self = shared_from_this();
  while (!finished_) {
    boost::system::error_code ec;
    co_await done_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return result_;
}

void Child::read(int index) {
  streams_[index].async_read_some(
      asio::buffer(buffers_[index]),
      [self = shared_from_this(), index](boost::system::error_code ec, std::size_t size) {
        if (size > 0 && !self->finished_)
          self->on_output_(index == 0 ? OutputStream::Stdout : OutputStream::Stderr,
                           std::string_view(self->buffers_[index].data(), size));
        if (!ec) return self->read(index);
        // EOF (every writer closed it), or the read was cancelled after the KILL stage.
        --self->open_streams_;
        self->maybe_finish();
      });
}

void Child::watch_exit() {
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd < 0) return poll_exit(std::chrono::milliseconds(1));
  exit_watch_.assign(pidfd);
  exit_watch_.async_wait(Descriptor::wait_read,
                         [self = shared_from_this()](boost::system::error_code ec) {
                           if (ec) return self->poll_exit(std::chrono::milliseconds(1));
                           self->on_exit(std::chrono::milliseconds(1));
                         });
}

void Child::poll_exit(std::chrono::milliseconds delay) {
  poll_.expires_after(delay);
  poll_.async_wait([self = shared_from_this(), delay](boost::system::error_code ec) {
    if (!ec) self->on_exit(std::min(delay * 2, std::chrono::milliseconds(100)));
  });
}

// The exit watch fired (or, without a pidfd, the poll timer): reap, or look again after `retry`.
void Child::on_exit(std::chrono::milliseconds retry) {
  int status = 0;
  pid_t got = ::waitpid(pid_, &status, WNOHANG);
  if (got == 0) return poll_exit(retry);
  reaped_ = true;
  if (got < 0) {
    result_.error = "local step: lost track of process " + std::to_string(pid_) + ": " +
                    base::errno_text(errno);
  } else if (WIFEXITED(status)) {
    result_.exit_status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result_.exit_signal = signal_name(WTERMSIG(status));
  }
  maybe_finish();
}

// Stage 0: the timeout passed, TERM the group. Stage 1: the grace passed, KILL it. Stage 2: a
// process that left the group still holds a pipe open; stop reading so the step can end.
void Child::on_deadline(int stage, Duration grace) {
  if (finished_) return;
  stopping_ = true;
  if (stage == 0 || stage == 1) {
    if (!reaped_ || open_streams_ > 0) ::killpg(pid_, stage == 0 ? SIGTERM : SIGKILL);
    deadline_.expires_after(stage == 0 ? grace : std::chrono::milliseconds(500));
    deadline_.async_wait([self = shared_from_this(), stage, grace](boost::system::error_code ec) {
      if (!ec) self->on_deadline(stage + 1, grace);
    });
    return;
  }
  boost::system::error_code ignored;
  for (Descriptor& stream : streams_) stream.cancel(ignored);
}

void Child::maybe_finish() {
  if (finished_ || !reaped_ || open_streams_ > 0) return;
  finished_ = true;
  if (cancelled_)
    result_ = base::ExecResult{.cancelled = true};
  else if (stopping_)
    result_ = base::ExecResult{.timed_out = true};
  deadline_.cancel();
  done_.cancel();
}

}  // namespace

std::string working_directory(const std::string& base, const std::string& cwd) {
  if (cwd.empty()) return base;
  // plan-format.md: a `cd` starting with `~` is the home folder (the controller user's here).
  if (cwd == "~" || cwd.starts_with("~/")) {
    const char* home = std::getenv("HOME");
    if (home != nullptr && *home != '\0') return (std::filesystem::path(home) / cwd.substr(std::min<std::size_t>(2, cwd.size()))).lexically_normal().string();
  }
  if (base.empty()) return cwd;
  return (std::filesystem::path(base) / cwd).lexically_normal().string();
}

asio::awaitable<base::ExecResult> run_local(const LocalCommand& command, OutputHandler on_output) {
  auto child = std::make_shared<Child>(co_await asio::this_coro::executor, std::move(on_output));
  if (std::string error = child->spawn(command); !error.empty()) {
    base::ExecResult failed;
    failed.error = std::move(error);
    co_return failed;
  }
  child->start(command);
  std::optional<base::Cancel::Scope> on_cancel;
  if (command.cancel) {
    if (command.cancel->is_requested()) child->cancel(command.kill_grace);
    on_cancel.emplace(*command.cancel, [child, grace = command.kill_grace] { child->cancel(grace); });
  }
  base::ExecResult result = co_await child->result();
  co_return result;
}

}  // namespace deployd::local
