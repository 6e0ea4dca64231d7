// SPDX-License-Identifier: MIT
// Recursive get (issue 18): the remote folder listed, fetched into a new local folder beside
// `to`, then renamed into place.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "ssh/sftp_parts.hpp"
#include "ssh/wait.hpp"

namespace deployd::ssh {
namespace {

using boost::asio::awaitable;

/// One entry of the remote folder a recursive get fetches.
struct RemoteItem {
  std::string path;  ///< relative, `/`-separated
  bool is_folder = false;
  unsigned mode = 0;
  std::uint64_t size = 0;
};

/// What a readdir entry is, when it is neither a folder nor a regular file.
std::string kind_of(unsigned long mode) {
  if (LIBSSH2_SFTP_S_ISLNK(mode)) return "a symlink";
  if (LIBSSH2_SFTP_S_ISFIFO(mode)) return "a FIFO";
  if (LIBSSH2_SFTP_S_ISSOCK(mode)) return "a socket";
  if (LIBSSH2_SFTP_S_ISCHR(mode)) return "a character device";
  if (LIBSSH2_SFTP_S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

/// Lists the remote folder `root` (`folder` below it) into `items`, each folder before what it
/// holds; "" or why the folder cannot be fetched (a symlink or special file in it, issue 16).
awaitable<std::string> list_remote(Transfer& t, const std::string& root, const std::string& folder,
                                   std::vector<RemoteItem>& items, int depth) {
  const std::string path = folder.empty() ? root : under(root, folder);
  if (depth > 64) co_return in_quotes(path) + " is nested more than 64 folders deep";
  LIBSSH2_SFTP_HANDLE* handle = co_await call(t.link(), [&] {
    return libssh2_sftp_open_ex(t.sftp(), path.data(), static_cast<unsigned>(path.size()), 0, 0,
                                LIBSSH2_SFTP_OPENDIR);
  });
  if (handle == nullptr) {
    t.fail(t.last_rc(), "list " + in_quotes(path));
    co_return t.outcome.error;
  }
  std::vector<RemoteItem> here;
  std::vector<char> name(4096);
  std::string problem;
  for (;;) {
    LIBSSH2_SFTP_ATTRIBUTES attrs{};
    const int n = co_await call(t.link(), [&] {
      return libssh2_sftp_readdir_ex(handle, name.data(), name.size(), nullptr, 0, &attrs);
    });
    if (n < 0) {
      t.fail(n, "list " + in_quotes(path));
      problem = t.outcome.error;
      break;
    }
    if (n == 0) break;
    const std::string entry(name.data(), static_cast<std::size_t>(n));
    if (entry == "." || entry == "..") continue;
    const std::string relative = folder.empty() ? entry : folder + "/" + entry;
    const unsigned long mode = attrs.permissions;
    if (!(attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) ||
        (!LIBSSH2_SFTP_S_ISDIR(mode) && !LIBSSH2_SFTP_S_ISREG(mode))) {
      problem = in_quotes(under(root, relative)) + " is " + kind_of(mode) +
                ": a recursive get fetches folders and regular files only";
      break;
    }
    here.push_back(
        {relative, LIBSSH2_SFTP_S_ISDIR(mode), static_cast<unsigned>(mode & 0777), attrs.filesize});
  }
  co_await call(t.link(), [&] { return libssh2_sftp_close_handle(handle); });
  if (!problem.empty()) co_return problem;
  std::sort(here.begin(), here.end(),
            [](const RemoteItem& a, const RemoteItem& b) { return a.path < b.path; });
  for (RemoteItem& item : here) {
    items.push_back(item);
    if (!item.is_folder) continue;
    if (std::string nested = co_await list_remote(t, root, item.path, items, depth + 1);
        !nested.empty())
      co_return nested;
  }
  co_return std::string();
}

/// The process's umask (read by setting it back at once: one thread).
unsigned current_umask() {
  const mode_t mask = ::umask(077);
  ::umask(mask);
  return mask;
}

/// Fetches one remote file into the new local file `local`; "" or the error.
awaitable<std::string> fetch_file(Transfer& t, const GetSpec& spec, const std::string& remote,
                                  const std::string& local, unsigned mode, std::uint64_t total) {
  LIBSSH2_SFTP_HANDLE* handle = co_await call(t.link(), [&] {
    return libssh2_sftp_open_ex(t.sftp(), remote.data(), static_cast<unsigned>(remote.size()),
                                LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE);
  });
  if (handle == nullptr) {
    t.fail(t.last_rc(), "get " + in_quotes(remote));
    co_return t.outcome.error;
  }
  std::string local_error;
  const int fd = ::open(local.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  int rc = 0;
  if (fd < 0) {
    local_error = "cannot create " + in_quotes(local) + ": " + std::strerror(errno);
  } else {
    rc = co_await read_all(t, handle, fd, spec, total, local_error);
    const unsigned wanted = spec.mode ? *spec.mode : mode;
    if (rc == 0 && local_error.empty() && ::fchmod(fd, wanted) != 0)
      local_error = std::strerror(errno);
    if (::close(fd) != 0 && local_error.empty()) local_error = std::strerror(errno);
  }
  co_await close_or_drop(t, handle, rc);
  if (rc != 0) {
    t.fail(rc, "get " + in_quotes(remote));
    co_return t.outcome.error;
  }
  co_return local_error;
}

/// Puts the finished local folder `temp` at `local`: an existing folder is renamed aside first,
/// then removed; "" or the error.
std::string swap_local(const std::string& temp, const std::string& local, const std::string& tag) {
  std::error_code ec;
  const auto status = std::filesystem::symlink_status(local, ec);
  const bool exists = std::filesystem::exists(status);
  if (exists && !std::filesystem::is_directory(status))
    return "the local path " + in_quotes(local) + " exists and is not a folder";
  const std::string old = temp_path_for(local, unpredictable_tag(tag) + ".old");
  if (exists && ::rename(local.c_str(), old.c_str()) != 0)
    return "cannot move the old folder " + in_quotes(local) + " aside: " + std::strerror(errno);
  if (::rename(temp.c_str(), local.c_str()) != 0) {
    const std::string error =
        "cannot rename into " + in_quotes(local) + ": " + std::strerror(errno);
    if (exists) ::rename(old.c_str(), local.c_str());
    return error;
  }
  if (exists) std::filesystem::remove_all(old, ec);
  return "";
}

/// Fetches every item into `temp`, then gives the folders their modes; "" or the error.
awaitable<std::string> fetch_tree(Transfer& t, const GetSpec& spec,
                                  const std::vector<RemoteItem>& items, const std::string& temp,
                                  std::uint64_t total) {
  const unsigned umask_bits = current_umask();
  for (const RemoteItem& item : items) {
    const std::string local = temp + "/" + item.path;
    if (item.is_folder) {
      if (::mkdir(local.c_str(), 0700) != 0)
        co_return "cannot create " + in_quotes(local) + ": " + std::strerror(errno);
      continue;
    }
    std::string error = co_await fetch_file(t, spec, under(spec.remote_path, item.path), local,
                                            item.mode & ~umask_bits, total);
    if (!error.empty()) co_return error;
  }
  for (auto item = items.rbegin(); item != items.rend(); ++item) {
    const std::string local = temp + "/" + item->path;
    if (item->is_folder && ::chmod(local.c_str(), item->mode & ~umask_bits) != 0)
      co_return "set mode of " + in_quotes(local) + ": " + std::strerror(errno);
  }
  co_return std::string();
}

}  // namespace

awaitable<TransferOutcome> run_folder_get(Session::Impl& impl, const GetSpec& spec) {
  if (spec.sudo_user) co_return co_await run_privileged_folder_get(impl, spec);
  Transfer t{impl, {}};
  const std::string& source = spec.remote_path;
  const std::string what = "get " + in_quotes(source);
  if (!co_await begin(t, what)) co_return t.outcome;
  LIBSSH2_SFTP_ATTRIBUTES attrs{};
  const int rc = co_await call(t.link(), [&] {
    return libssh2_sftp_stat_ex(t.sftp(), source.data(), static_cast<unsigned>(source.size()),
                                LIBSSH2_SFTP_STAT, &attrs);
  });
  if (rc != 0) co_return t.fail(rc, what);
  if (!LIBSSH2_SFTP_S_ISDIR(attrs.permissions))
    co_return t.fail(what + ": the remote path is not a folder");
  std::vector<RemoteItem> items;
  if (std::string refused = co_await list_remote(t, source, "", items, 0); !refused.empty())
    co_return t.outcome.connection_lost ? t.outcome : t.fail(what + ": " + refused);
  std::uint64_t total = 0;
  for (const RemoteItem& item : items) total += item.is_folder ? 0 : item.size;
  if (spec.max_size && total > *spec.max_size)
    co_return t.fail(what + ": the remote folder holds " + std::to_string(total) +
                     " bytes, more than \"max_size\" (" + std::to_string(*spec.max_size) +
                     " bytes)");
  if (std::string error = make_local_parent(spec.local_path); !error.empty())
    co_return t.fail(what + ": " + error);
  const std::string temp = temp_path_for(spec.local_path, unpredictable_tag(spec.temp_tag));
  if (::mkdir(temp.c_str(), 0700) != 0)
    co_return t.fail(what + ": cannot create " + in_quotes(temp) + ": " + std::strerror(errno));
  std::string error = co_await fetch_tree(t, spec, items, temp, total);
  if (error.empty() && ::chmod(temp.c_str(), attrs.permissions & 0777 & ~current_umask()) != 0)
    error = "set mode of " + in_quotes(temp) + ": " + std::strerror(errno);
  if (error.empty()) error = swap_local(temp, spec.local_path, spec.temp_tag);
  if (!error.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp, ec);
    if (t.outcome.connection_lost) co_return t.outcome;
    co_return t.fail(error.starts_with("get ") ? error : what + ": " + error);
  }
  co_return t.outcome;
}

}  // namespace deployd::ssh
