// SPDX-License-Identifier: MIT
// put and get over the session's SFTP channel: temp file, mode, rename; never a partial file.
#include <fcntl.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <vector>

#include "ssh/session_impl.hpp"
#include "ssh/sftp.hpp"
#include "ssh/sftp_parts.hpp"
#include "ssh/ssh_error.hpp"
#include "ssh/wait.hpp"

namespace deployd::ssh {
namespace {

using boost::asio::awaitable;

/// Bytes per libssh2_sftp_read call; libssh2 reads ahead in proportion to it.
constexpr std::size_t kReadChunk = 256 * 1024;

/// The SFTP status of the last failed request, as users read it.
std::string sftp_status(LIBSSH2_SFTP* sftp) {
  switch (libssh2_sftp_last_error(sftp)) {
    case LIBSSH2_FX_NO_SUCH_FILE:
    case LIBSSH2_FX_NO_SUCH_PATH:
      return "no such file or folder";
    case LIBSSH2_FX_PERMISSION_DENIED:
      return "permission denied";
    case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
    case LIBSSH2_FX_QUOTA_EXCEEDED:
      return "no space left on the remote file system";
    case LIBSSH2_FX_FAILURE:
      // OpenSSH's sftp-server (protocol 3) reports ENOSPC and most other errors this way.
      return "the server refused (SSH_FX_FAILURE: the remote disk may be full)";
    default:
      return "SFTP status " + std::to_string(libssh2_sftp_last_error(sftp));
  }
}

bool is_missing(LIBSSH2_SFTP* sftp) {
  const unsigned long status = libssh2_sftp_last_error(sftp);
  return status == LIBSSH2_FX_NO_SUCH_FILE || status == LIBSSH2_FX_NO_SUCH_PATH;
}

}  // namespace

std::string in_quotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

TransferOutcome Transfer::fail(int rc, const std::string& what) {
  if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL) {
    outcome.error = what + ": " + sftp_status(sftp());
  } else {
    outcome.error = describe(link().session, rc, what + ": connection lost");
    impl.broken = outcome.error;
    link().abort();
    outcome.connection_lost = true;
  }
  return outcome;
}

namespace {

/// Opens the session's SFTP channel once; later transfers reuse it.
awaitable<int> ensure_sftp(Transfer& t) {
  if (t.impl.sftp != nullptr) co_return 0;
  Link& link = t.link();
  co_await settle_open_ahead(t.impl);  // libssh2 has one channel open in progress at a time
  t.impl.sftp = co_await call(link, [&] { return libssh2_sftp_init(link.session); });
  link.quickack = false;  // as after a channel open (channel_exec.cpp)
  co_return t.impl.sftp != nullptr ? 0 : t.last_rc();
}

/// stat (`how` LIBSSH2_SFTP_STAT, following a symlink) or lstat (LIBSSH2_SFTP_LSTAT) of `path`.
awaitable<int> stat_path(Transfer& t, const std::string& path, LIBSSH2_SFTP_ATTRIBUTES& attrs,
                         int how = LIBSSH2_SFTP_STAT) {
  co_return co_await call(t.link(), [&] {
    return libssh2_sftp_stat_ex(t.sftp(), path.data(), static_cast<unsigned>(path.size()), how,
                                &attrs);
  });
}

awaitable<LIBSSH2_SFTP_HANDLE*> open_file(Transfer& t, const std::string& path, unsigned long flags,
                                          long mode) {
  co_return co_await call(t.link(), [&] {
    return libssh2_sftp_open_ex(t.sftp(), path.data(), static_cast<unsigned>(path.size()), flags,
                                mode, LIBSSH2_SFTP_OPENFILE);
  });
}

awaitable<int> close_file(Transfer& t, LIBSSH2_SFTP_HANDLE* handle) {
  co_return co_await call(t.link(), [&] { return libssh2_sftp_close_handle(handle); });
}

/// Frees a handle on a session that can no longer be used. libssh2 frees a handle, and the write
/// requests still pending on it, only in close_handle, not with the session (LeakSanitizer:
/// 512 KiB per upload stopped by a timeout). The link is shut down first, so the FXP_CLOSE it
/// tries to send fails at once instead of waiting.
void drop_handle(Transfer& t, LIBSSH2_SFTP_HANDLE* handle) {
  if (!t.link().is_aborted) t.link().abort();
  for (int tries = 0; tries < 100 && libssh2_sftp_close_handle(handle) == LIBSSH2_ERROR_EAGAIN;) ++tries;
}

}  // namespace

/// Closes `handle` after a transfer that ended with `rc`, or drops it when the session cannot
/// carry the close (broken, cancelled, or `rc` a connection error); returns the close's rc (0
/// when dropped).
awaitable<int> close_or_drop(Transfer& t, LIBSSH2_SFTP_HANDLE* handle, int rc) {
  const bool is_connection_error = rc != 0 && rc != LIBSSH2_ERROR_SFTP_PROTOCOL;
  if (t.is_usable() && !is_connection_error) co_return co_await close_file(t, handle);
  drop_handle(t, handle);
  co_return 0;
}

/// Removes a temporary file if the session still works ("when possible", issue 4).
awaitable<void> remove_remote(Transfer& t, const std::string& path) {
  if (!t.is_usable()) co_return;
  const int rc = co_await call(t.link(), [&] {
    return libssh2_sftp_unlink_ex(t.sftp(), path.data(), static_cast<unsigned>(path.size()));
  });
  if (rc != 0 && rc != LIBSSH2_ERROR_SFTP_PROTOCOL) t.fail(rc, "remove " + in_quotes(path));
}

namespace {

/// Runs `command`; its exit status, or nullopt if the connection failed (t.outcome says why).
awaitable<std::optional<int>> run_command(Transfer& t, std::string command, std::string& out,
                                          std::string& err) {
  ExecSpec spec{std::move(command), {}, std::nullopt, {}};
  spec.on_output = [&](Stream stream, std::string_view chunk) {
    std::string& into = stream == Stream::Stdout ? out : err;
    if (into.size() < 4096) into.append(chunk);
  };
  ExecOutcome result = co_await run_exec(t.impl, spec);
  if (!result.error.empty()) {
    t.outcome.error = result.error;
    t.outcome.connection_lost = true;
    co_return std::nullopt;
  }
  co_return result.exit_status.value_or(-1);
}

/// The remote file's sha256 by `sha256sum`, or "" where that command fails or is missing.
awaitable<std::string> remote_sha256(Transfer& t, const std::string& path) {
  std::string out, err;
  auto status = co_await run_command(t, "sha256sum -- " + shell_quote(path), out, err);
  if (status != 0 || out.size() < 64) co_return std::string();
  co_return out.substr(0, 64);
}

/// Streams the mapped file into `handle`, several writes in flight inside libssh2.
awaitable<int> write_all(Transfer& t, LIBSSH2_SFTP_HANDLE* handle, const PutSpec& spec) {
  const std::string_view bytes = spec.source->bytes();
  std::uint64_t done = 0;
  while (done < bytes.size()) {
    const char* data = bytes.data() + done;
    const std::size_t length = std::min<std::uint64_t>(kWriteChunk, bytes.size() - done);
    const ssize_t n =
        co_await call(t.link(), [&] { return libssh2_sftp_write(handle, data, length); });
    if (n < 0) co_return static_cast<int>(n);
    done += static_cast<std::uint64_t>(n);
    t.outcome.bytes = done;
    if (spec.on_progress) spec.on_progress(done, bytes.size());
  }
  co_return 0;
}

}  // namespace

/// Writes the temporary file completely and with its final mode; "" or the error. The file is
/// created exclusively (O_CREAT|O_EXCL on the host: a symlink planted at the name is never
/// followed) under a name nobody can guess, and its mode is set on the open handle, never
/// through the path (issue 16).
awaitable<bool> write_temp(Transfer& t, const PutSpec& spec, const std::string& temp) {
  const std::string& target = spec.remote_path;
  LIBSSH2_SFTP_HANDLE* handle =
      co_await open_file(t, temp, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL, 0600);
  if (handle == nullptr) {
    const int rc = t.last_rc();
    if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && is_missing(t.sftp())) {
      t.fail("put " + in_quotes(target) + ": remote folder " + in_quotes(parent_folder(target)) +
             " does not exist");
    } else {
      t.fail(rc, "put " + in_quotes(target) + ": cannot create " + in_quotes(temp));
    }
    co_return false;
  }
  int rc = co_await write_all(t, handle, spec);
  std::string what = "put " + in_quotes(target) + ": write " + in_quotes(temp);
  if (rc == 0) {
    // The mode is set before the rename (issue 4), so the file never appears with another.
    LIBSSH2_SFTP_ATTRIBUTES attrs{};
    attrs.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS;
    attrs.permissions = spec.mode;
    rc = co_await call(t.link(), [&] { return libssh2_sftp_fsetstat(handle, &attrs); });
    if (rc != 0) what = "put " + in_quotes(target) + ": set mode of " + in_quotes(temp);
  }
  // Closing flushes what is still in flight: its failure (e.g. disk full) is the write's.
  const int closed = co_await close_or_drop(t, handle, rc);
  if (rc == 0 && closed != 0) rc = closed;
  if (rc != 0) {
    t.fail(rc, what);
    co_await remove_remote(t, temp);
    co_return false;
  }
  co_return true;
}

namespace {

/// Renames the finished temporary file over `target`. SFTP v3 rename refuses an existing target
/// and libssh2 1.10 has no posix-rename@openssh.com, so an existing target is replaced by `mv -f`
/// (rename(2): atomic within the folder).
awaitable<bool> rename_into_place(Transfer& t, const std::string& temp, const std::string& target,
                                  bool target_exists) {
  if (!target_exists) {
    const int rc = co_await call(t.link(), [&] {
      return libssh2_sftp_rename_ex(
          t.sftp(), temp.data(), static_cast<unsigned>(temp.size()), target.data(),
          static_cast<unsigned>(target.size()),
          LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE);
    });
    if (rc == 0) co_return true;
    if (rc != LIBSSH2_ERROR_SFTP_PROTOCOL) {
      t.fail(rc, "put " + in_quotes(target) + ": rename");
      co_return false;
    }
  }
  std::string out, err;
  auto status = co_await run_command(t, "mv -f -- " + shell_quote(temp) + " " + shell_quote(target),
                                     out, err);
  if (!status) co_return false;
  if (*status == 0) co_return true;
  while (!err.empty() && err.back() == '\n') err.pop_back();
  t.fail("put " + in_quotes(target) + ": rename failed: " + err.substr(0, err.find('\n')));
  co_await remove_remote(t, temp);
  co_return false;
}

}  // namespace

/// Starts a transfer: the session must be usable and its SFTP channel open.
awaitable<bool> begin(Transfer& t, const std::string& what) {
  if (!t.impl.abandoned.empty()) co_await reap_abandoned(t.impl);
  if (!t.is_usable()) {
    t.outcome.error = "the connection is unusable: " + t.impl.broken;
    t.outcome.connection_lost = true;
    co_return false;
  }
  t.link().interrupt = false;
  const int rc = co_await ensure_sftp(t);
  if (rc != 0) t.fail(rc, what + ": cannot start SFTP");
  co_return rc == 0;
}

awaitable<TransferOutcome> run_put(Session::Impl& impl, const PutSpec& spec) {
  if (spec.tree) co_return co_await run_folder_put(impl, spec);
  if (spec.is_privileged()) co_return co_await run_privileged_put(impl, spec);
  Transfer t{impl, {}};
  const std::string& target = spec.remote_path;
  if (!co_await begin(t, "put " + in_quotes(target))) co_return t.outcome;
  // lstat: a symlink at the target is replaced by the rename, never written through.
  LIBSSH2_SFTP_ATTRIBUTES attrs{};
  int rc = co_await stat_path(t, target, attrs, LIBSSH2_SFTP_LSTAT);
  if (rc != 0 && rc != LIBSSH2_ERROR_SFTP_PROTOCOL)
    co_return t.fail(rc, "put " + in_quotes(target));
  const bool exists = rc == 0;
  bool is_folder = exists && LIBSSH2_SFTP_S_ISDIR(attrs.permissions);
  if (exists && LIBSSH2_SFTP_S_ISLNK(attrs.permissions)) {  // `mv` would move into a linked folder
    LIBSSH2_SFTP_ATTRIBUTES linked{};
    rc = co_await stat_path(t, target, linked);
    if (rc != 0 && rc != LIBSSH2_ERROR_SFTP_PROTOCOL)
      co_return t.fail(rc, "put " + in_quotes(target));
    is_folder = rc == 0 && LIBSSH2_SFTP_S_ISDIR(linked.permissions);
  }
  if (is_folder) co_return t.fail("put " + in_quotes(target) + ": the remote path is a folder");
  // A regular file of the same mode, size and sha256: skip and report unchanged (issue 4). A
  // different mode means a new upload, not a chmod through a path that may have been swapped
  // for a symlink since it was looked at (issue 16).
  if (exists && LIBSSH2_SFTP_S_ISREG(attrs.permissions) && (attrs.permissions & 07777) == spec.mode &&
      (attrs.flags & LIBSSH2_SFTP_ATTR_SIZE) && attrs.filesize == spec.source->size()) {
    const std::string remote = co_await remote_sha256(t, target);
    if (!t.outcome.error.empty()) co_return t.outcome;
    if (remote == spec.source->sha256()) {
      t.outcome.unchanged = true;
      t.outcome.bytes = 0;
      co_return t.outcome;
    }
  }
  const std::string temp = temp_path_for(target, unpredictable_tag(spec.temp_tag));
  if (!co_await write_temp(t, spec, temp)) co_return t.outcome;
  if (!co_await rename_into_place(t, temp, target, exists)) co_return t.outcome;
  t.outcome.bytes = spec.source->size();
  co_return t.outcome;
}

/// Copies the open remote file into the local file `fd`; stops (with `local_error`) at more
/// than `max_size` bytes, for a file that grows while it is read.
awaitable<int> read_all(Transfer& t, LIBSSH2_SFTP_HANDLE* handle, int fd, const GetSpec& spec,
                        std::uint64_t total, std::string& local_error) {
  std::vector<char> buffer(kReadChunk);
  for (;;) {
    const ssize_t n = co_await call(
        t.link(), [&] { return libssh2_sftp_read(handle, buffer.data(), buffer.size()); });
    if (n < 0) co_return static_cast<int>(n);
    if (n == 0) co_return 0;
    if (spec.max_size && t.outcome.bytes + static_cast<std::uint64_t>(n) > *spec.max_size) {
      local_error = "the remote file grew past \"max_size\" (" + std::to_string(*spec.max_size) +
                    " bytes) while it was read";
      co_return 0;
    }
    for (ssize_t written = 0; written < n;) {
      const ssize_t w = ::write(fd, buffer.data() + written, static_cast<std::size_t>(n - written));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        local_error = std::strerror(errno);
        co_return 0;
      }
      written += w;
    }
    t.outcome.bytes += static_cast<std::uint64_t>(n);
    if (spec.on_progress) spec.on_progress(t.outcome.bytes, total);
  }
}

namespace {

/// What a remote file is, for an error; "" for a regular file or when the server did not say.
std::string file_type(const LIBSSH2_SFTP_ATTRIBUTES& attrs) {
  if (!(attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS)) return {};
  const unsigned long mode = attrs.permissions;
  if (LIBSSH2_SFTP_S_ISREG(mode)) return {};
  if (LIBSSH2_SFTP_S_ISDIR(mode)) return "a folder";
  if (LIBSSH2_SFTP_S_ISLNK(mode)) return "a symlink";
  if (LIBSSH2_SFTP_S_ISCHR(mode)) return "a character device";
  if (LIBSSH2_SFTP_S_ISBLK(mode)) return "a block device";
  if (LIBSSH2_SFTP_S_ISFIFO(mode)) return "a FIFO";
  if (LIBSSH2_SFTP_S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

/// Why `get` will not read the remote file described by `attrs`, or "" (issue 16: a device
/// never ends, a FIFO blocks for ever, as OpenSSH's sftp refuses them).
std::string refusal(const LIBSSH2_SFTP_ATTRIBUTES& attrs, const GetSpec& spec) {
  if (const std::string type = file_type(attrs); !type.empty())
    return "the remote path is " + type + ", not a regular file";
  if (spec.max_size && (attrs.flags & LIBSSH2_SFTP_ATTR_SIZE) && attrs.filesize > *spec.max_size)
    return "the remote file is " + std::to_string(attrs.filesize) + " bytes, more than \"max_size\" (" +
           std::to_string(*spec.max_size) + " bytes)";
  return {};
}

}  // namespace

/// The permission bits the new local file ends with: `mode` when the step sets one, else the
/// remote file's rwx bits less the umask, as `sftp` keeps them (never set-id bits).
/// `fd` was created with (remote | 0600) & ~umask.
std::string set_local_mode(int fd, const GetSpec& spec, unsigned remote) {
  unsigned mode = 0;
  if (spec.mode) {
    mode = *spec.mode;
  } else {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return std::strerror(errno);
    mode = (st.st_mode & 0777) & ~(0600u & ~remote);  // the owner bits added to write the file
  }
  return ::fchmod(fd, mode) == 0 ? "" : "set mode: " + std::string(std::strerror(errno));
}

/// Creates the local folders of `path`; "" or the error.
std::string make_local_parent(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return {};
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  return ec ? "cannot create local folder " + in_quotes(parent.string()) + ": " + ec.message() : "";
}

awaitable<TransferOutcome> run_get(Session::Impl& impl, const GetSpec& spec) {
  if (spec.recursive) co_return co_await run_folder_get(impl, spec);
  if (spec.sudo_user) co_return co_await run_privileged_get(impl, spec);
  Transfer t{impl, {}};
  const std::string& source = spec.remote_path;
  const std::string what = "get " + in_quotes(source);
  if (!co_await begin(t, what)) co_return t.outcome;
  // Like OpenSSH's sftp: look before opening (opening a FIFO blocks the server), then check the
  // open handle again, since the path may have been swapped in between.
  LIBSSH2_SFTP_ATTRIBUTES attrs{};
  int rc = co_await stat_path(t, source, attrs);
  if (rc != 0) co_return t.fail(rc, what);
  if (std::string refused = refusal(attrs, spec); !refused.empty()) co_return t.fail(what + ": " + refused);
  LIBSSH2_SFTP_HANDLE* handle = co_await open_file(t, source, LIBSSH2_FXF_READ, 0);
  if (handle == nullptr) co_return t.fail(t.last_rc(), what);
  rc = co_await call(t.link(), [&] { return libssh2_sftp_fstat_ex(handle, &attrs, 0); });
  std::string local_error;
  if (rc == 0) local_error = refusal(attrs, spec);
  if (rc == 0 && local_error.empty()) local_error = make_local_parent(spec.local_path);
  const unsigned remote_mode =
      (attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) ? static_cast<unsigned>(attrs.permissions & 0777) : 0600;
  // A new file under a name nobody can guess, never through a planted symlink (issue 16).
  const std::string temp = temp_path_for(spec.local_path, unpredictable_tag(spec.temp_tag));
  int fd = -1;
  if (rc == 0 && local_error.empty()) {
    fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                spec.mode ? 0600 : remote_mode | 0600);
    if (fd < 0) local_error = "cannot create " + in_quotes(temp) + ": " + std::strerror(errno);
  }
  if (fd >= 0) {
    rc = co_await read_all(t, handle, fd, spec, attrs.filesize, local_error);
    if (rc == 0 && local_error.empty()) local_error = set_local_mode(fd, spec, remote_mode);
    if (::close(fd) != 0 && local_error.empty()) local_error = std::strerror(errno);
    if (rc == 0 && local_error.empty() && ::rename(temp.c_str(), spec.local_path.c_str()) != 0) {
      local_error =
          "cannot rename into " + in_quotes(spec.local_path) + ": " + std::strerror(errno);
    }
    if (rc != 0 || !local_error.empty()) ::unlink(temp.c_str());
  }
  const int closed = co_await close_or_drop(t, handle, rc);
  if (rc != 0) co_return t.fail(rc, what);
  if (!local_error.empty()) co_return t.fail(what + ": " + local_error);
  if (closed != 0 && closed != LIBSSH2_ERROR_SFTP_PROTOCOL) co_return t.fail(closed, what);
  co_return t.outcome;
}

}  // namespace deployd::ssh
