// SPDX-License-Identifier: MIT
// put and get through sudo, and put with an owner or group (issue 18): the bytes go over SFTP
// as the login user, a shell on the host installs or reads them as the step's user.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <vector>

#include "ssh/sftp_parts.hpp"
#include "ssh/sudo_script.hpp"

namespace deployd::ssh {
namespace {

using boost::asio::awaitable;

/// Looks at the target as the installing user: `folder`, `new` (absent, a symlink or a special
/// file: replaced), or `MODE UID USER GID GROUP SIZE` and, when the size is $2, the sha256.
constexpr std::string_view kCheckScript = R"sh(t=$1
if [ -d "$t" ]; then echo folder
elif [ -L "$t" ] || [ ! -f "$t" ]; then echo new
else
  stat -c '%a %u %U %g %G %s' -- "$t" || exit 3
  if [ "$(stat -c %s -- "$t")" = "$2" ]; then sha256sum <"$t" || exit 3; fi
fi)sh";

/// Installs stdin at $1 as the user it runs as. The file is written in a new folder of that
/// user's, mode 0700, beside the target (nobody else can reach into it, so its owner, group and
/// mode are set by name safely, and nobody can read it before), then renamed over the target:
/// a reader sees the old file or the whole new one. An incomplete stdin (the connection went)
/// is never installed; the folder goes whatever happens.
constexpr std::string_view kFileInstallScript = R"sh(t=$1 p=$2/$3
fail() { printf '%s\n' "$*" >&2; exit 3; }
case $t in /*) ;; *) t=$(pwd -P)/$t p=$(pwd -P)/$p ;; esac
[ -d "$t" ] && fail "the remote path is a folder"
umask 077
mkdir -- "$p" || exit 3
cd -P -- "$p" || exit 3
p=$(pwd -P)
trap 'rm -f -- new; cd / && rmdir -- "$p"' EXIT
trap 'exit 4' HUP INT TERM PIPE
[ "$(stat -c %u .)" = "$(id -u)" ] || fail "the private folder $p was replaced"
set -C
cat >new || exit 3
[ "$(stat -c %s new)" = "$4" ] || fail "the file arrived incomplete"
if [ -n "$6" ]; then chown -- "$6" new || exit 3; fi
if [ -n "$7" ]; then chgrp -- "$7" new || exit 3; fi
chmod -- "$5" new || exit 3
mv -f -- new "$t" || exit 3)sh";

/// Prints `SIZE MODE` and a newline, then the regular file $1 (at most $2 + 1 bytes when $2 is
/// set), as the user it runs as; refuses anything else as `get` over SFTP does (issue 16).
constexpr std::string_view kReadScript = R"sh(s=$1 max=$2
fail() { printf '%s\n' "$*" >&2; exit 3; }
[ -e "$s" ] || fail "no such file or folder"
if [ ! -f "$s" ]; then
  if [ -d "$s" ]; then k="a folder"; elif [ -p "$s" ]; then k="a FIFO"
  elif [ -c "$s" ]; then k="a character device"; elif [ -b "$s" ]; then k="a block device"
  elif [ -S "$s" ]; then k="a socket"; else k="not a regular file"; fi
  fail "the remote path is $k, not a regular file"
fi
exec <"$s" || exit 3
case $(stat -L -c %F /dev/stdin) in regular*) ;; *) fail "the remote path is not a regular file" ;; esac
set -- $(stat -L -c '%s %a' /dev/stdin)
if [ -n "$max" ] && [ "$1" -gt "$max" ]; then
  fail "the remote file is $1 bytes, more than \"max_size\" ($max bytes)"
fi
printf '%s %s\n' "$1" "$2"
if [ -n "$max" ]; then head -c "$((max + 1))"; else cat; fi)sh";

/// `sudo -n [-u USER] -- sh -c SCRIPT NAME` (`sh -c …` without sudo): the script's arguments
/// follow.
std::string script_command(const std::optional<std::string>& sudo_user, std::string_view script,
                           std::string_view name) {
  return sudo_sh_c(sudo_user) + " " + shell_quote(script) + " " + std::string(name);
}

/// What a script said and how it ended.
struct ScriptRun {
  std::optional<int> status;  ///< nullopt: the connection failed (t.outcome says why)
  std::string out;
  std::string err;
};

/// Runs `command`, keeping the first 4 KiB of each stream, or handing stdout to `on_stdout`.
awaitable<ScriptRun> run_script(Transfer& t, std::string command,
                                std::function<void(std::string_view)> on_stdout = {}) {
  ScriptRun run;
  ExecSpec spec{std::move(command), {}, std::nullopt, {}};
  spec.on_output = [&](Stream stream, std::string_view chunk) {
    if (stream == Stream::Stdout && on_stdout) return on_stdout(chunk);
    std::string& into = stream == Stream::Stdout ? run.out : run.err;
    if (into.size() < 4096) into.append(chunk.substr(0, 4096 - into.size()));
  };
  ExecOutcome result = co_await run_exec(t.impl, spec);
  if (!result.error.empty() || result.cancelled || result.timed_out) {
    t.outcome.error = !result.error.empty() ? result.error : "cancelled";
    t.outcome.connection_lost = true;
    co_return run;
  }
  run.status = result.exit_status.value_or(-1);
  co_return run;
}

/// A script's failure as the step reports it: `what: reason`.
TransferOutcome script_failed(Transfer& t, const std::string& what, const ScriptRun& run) {
  std::string reason = last_line(run.err);
  if (reason.empty()) reason = "exited with status " + std::to_string(*run.status);
  return t.fail(what + ": " + reason);
}

unsigned parse_octal(std::string_view text) {
  unsigned value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value, 8);
  return value;
}

/// True when the check script's answer `out` shows the target as `spec` would leave it.
bool is_in_place(const std::string& out, const PutSpec& spec) {
  std::vector<std::string> words;
  std::string word;
  for (char c : out) {
    if (c == ' ' || c == '\n') {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  // MODE UID USER GID GROUP SIZE SHA256 -
  if (words.size() < 7) return false;
  auto is = [](const std::string& wanted, const std::string& id, const std::string& name) {
    return wanted.empty() || wanted == id || wanted == name;
  };
  return parse_octal(words[0]) == spec.mode && is(spec.owner, words[1], words[2]) &&
         is(spec.group, words[3], words[4]) && words[5] == std::to_string(spec.source->size()) &&
         words[6] == spec.source->sha256();
}

}  // namespace

awaitable<TransferOutcome> run_privileged_put(Session::Impl& impl, const PutSpec& spec) {
  Transfer t{impl, {}};
  const std::string& target = spec.remote_path;
  const std::string what = "put " + in_quotes(target) + as_whom(spec.sudo_user);
  if (!co_await begin(t, what)) co_return t.outcome;
  const std::string size = std::to_string(spec.source->size());
  ScriptRun check =
      co_await run_script(t, script_command(spec.sudo_user, kCheckScript, "deployd-check") + " " +
                                 shell_quote(target) + " " + size);
  if (!check.status) co_return t.outcome;
  if (*check.status != 0) co_return script_failed(t, what, check);
  if (check.out.starts_with("folder")) co_return t.fail(what + ": the remote path is a folder");
  if (is_in_place(check.out, spec)) {
    t.outcome.unchanged = true;
    co_return t.outcome;
  }
  // The bytes go to the login folder as the login user (SFTP starts there): a new file, 0600,
  // under a name nobody can guess (issue 16); the installing user reads it as its stdin, so it
  // never needs to be readable by anyone else.
  PutSpec staged = spec;
  staged.mode = 0600;
  const std::string temp = ".deployd-" + unpredictable_tag(spec.temp_tag) + ".tmp";
  if (!co_await write_temp(t, staged, temp)) co_return t.outcome;
  const std::string folder = parent_folder(target);
  const std::string args = shell_quote(target) + " " + shell_quote(folder) + " " +
                           shell_quote(".deployd-" + unpredictable_tag(spec.temp_tag)) + " " +
                           size + " " + shell_quote(octal(spec.mode)) + " " +
                           shell_quote(spec.owner) + " " + shell_quote(spec.group);
  const std::string install = script_command(spec.sudo_user, kFileInstallScript, "deployd-put") +
                              " " + args + " <" + shell_quote(temp) + "; s=$?; rm -f -- " +
                              shell_quote(temp) + "; exit $s";
  ScriptRun run = co_await run_script(t, "sh -c " + shell_quote(install));
  if (!run.status) co_return t.outcome;
  if (*run.status != 0) {
    script_failed(t, what, run);
    if (!spec.sudo_user && (!spec.owner.empty() || !spec.group.empty()) &&
        run.err.find("Operation not permitted") != std::string::npos)
      t.outcome.error +=
          " (\"owner\" and \"group\" need \"sudo\" unless the login user may set them)";
    co_return t.outcome;
  }
  t.outcome.bytes = spec.source->size();
  co_return t.outcome;
}

namespace {

/// The local side of a privileged get: `SIZE MODE` then the bytes, into a new temporary file.
struct LocalCopy {
  const GetSpec& spec;
  std::string temp;
  int fd = -1;
  std::string header;
  bool has_header = false;
  std::uint64_t size = 0;
  unsigned mode = 0600;
  std::uint64_t bytes = 0;
  std::string error;

  void take(std::string_view chunk) {
    if (!error.empty()) return;
    if (!has_header) {
      const auto newline = chunk.find('\n');
      header.append(chunk.substr(0, newline));
      if (header.size() > 64) error = "the host's answer was not understood";
      if (newline == std::string_view::npos || !error.empty()) return;
      chunk.remove_prefix(newline + 1);
      if (!start()) return;
    }
    if (spec.max_size && bytes + chunk.size() > *spec.max_size) {
      error = "the remote file grew past \"max_size\" (" + std::to_string(*spec.max_size) +
              " bytes) while it was read";
      return;
    }
    while (!chunk.empty()) {
      const ssize_t w = ::write(fd, chunk.data(), chunk.size());
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        error = std::strerror(errno);
        return;
      }
      chunk.remove_prefix(static_cast<std::size_t>(w));
      bytes += static_cast<std::uint64_t>(w);
    }
    if (spec.on_progress) spec.on_progress(bytes, size);
  }

  /// Reads the header and creates the temporary file (O_EXCL|O_NOFOLLOW, random name).
  bool start() {
    has_header = true;
    const auto space = header.find(' ');
    if (space == std::string::npos) {
      error = "the host's answer was not understood";
      return false;
    }
    std::from_chars(header.data(), header.data() + space, size);
    mode = parse_octal(std::string_view(header).substr(space + 1)) & 0777;
    error = make_local_parent(spec.local_path);
    if (!error.empty()) return false;
    fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                spec.mode ? 0600 : mode | 0600);
    if (fd < 0) error = "cannot create " + in_quotes(temp) + ": " + std::strerror(errno);
    return fd >= 0;
  }

  /// Mode, close, rename; "" or the error. The temporary file is removed on any failure.
  std::string finish(bool is_complete) {
    if (fd < 0) return error;
    if (is_complete && error.empty()) error = set_local_mode(fd, spec, mode);
    if (::close(fd) != 0 && error.empty()) error = std::strerror(errno);
    fd = -1;
    if (is_complete && error.empty() && ::rename(temp.c_str(), spec.local_path.c_str()) != 0)
      error = "cannot rename into " + in_quotes(spec.local_path) + ": " + std::strerror(errno);
    if (!is_complete || !error.empty()) ::unlink(temp.c_str());
    return error;
  }
};

}  // namespace

awaitable<TransferOutcome> run_privileged_get(Session::Impl& impl, const GetSpec& spec) {
  Transfer t{impl, {}};
  const std::string what = "get " + in_quotes(spec.remote_path) + as_whom(spec.sudo_user);
  if (!t.is_usable()) {
    t.outcome.connection_lost = true;
    co_return t.fail("the connection is unusable: " + t.impl.broken);
  }
  LocalCopy copy{spec, temp_path_for(spec.local_path, unpredictable_tag(spec.temp_tag))};
  const std::string limit = spec.max_size ? std::to_string(*spec.max_size) : "";
  ScriptRun run =
      co_await run_script(t,
                          script_command(spec.sudo_user, kReadScript, "deployd-get") + " " +
                              shell_quote(spec.remote_path) + " " + shell_quote(limit),
                          [&copy](std::string_view chunk) { copy.take(chunk); });
  const bool is_complete = run.status == 0 && copy.has_header;
  const std::string local_error = copy.finish(is_complete);
  t.outcome.bytes = copy.bytes;
  if (!run.status) co_return t.outcome;
  if (!local_error.empty()) co_return t.fail(what + ": " + local_error);
  if (*run.status != 0) co_return script_failed(t, what, run);
  if (!copy.has_header) co_return t.fail(what + ": the host's answer was not understood");
  co_return t.outcome;
}

}  // namespace deployd::ssh
