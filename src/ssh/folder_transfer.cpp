// SPDX-License-Identifier: MIT
// Recursive put and get (issue 18): a folder built beside its target, then renamed into place.
#include <utility>  // first: Asio 1.18 with g++ 12 needs std::exchange (ssh-facts.md)
// (This comment keeps clang-format from sorting <utility> below the Asio headers.)

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <vector>

#include "ssh/sftp_parts.hpp"
#include "ssh/wait.hpp"

namespace deployd::ssh {
namespace {

using boost::asio::awaitable;

/// Runs `command` (with `input` on its stdin); its exit status and stdout, or nullopt when the
/// connection failed (t.outcome says why).
awaitable<std::optional<int>> run_host(Transfer& t, std::string command, std::string input,
                                       std::string& out, std::string& err) {
  ExecSpec spec{std::move(command), {}, std::nullopt, std::move(input)};
  // A listing of a million files is ~40 MiB; past 64 MiB a host is not believed (and the
  // comparison finds nothing the same: everything is sent).
  spec.on_output = [&](Stream stream, std::string_view chunk) {
    if (stream == Stream::Stdout && out.size() < (64u << 20))
      out.append(chunk);
    else if (stream == Stream::Stderr && err.size() < 4096)
      err.append(chunk);
  };
  ExecOutcome result = co_await run_exec(t.impl, spec);
  if (!result.error.empty() || result.cancelled || result.timed_out) {
    t.outcome.error = !result.error.empty() ? result.error : "cancelled";
    t.outcome.connection_lost = true;
    co_return std::nullopt;
  }
  co_return result.exit_status.value_or(-1);
}

/// `path` joined under `folder`.
std::string under(const std::string& folder, const std::string& path) {
  return folder.ends_with('/') ? folder + path : folder + "/" + path;
}

/// The name of `path` without its folder.
std::string base_name(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

/// One entry of the remote folder as `find -printf '%y %m %s %P\0'` lists it.
struct RemoteEntry {
  char type = '?';  ///< d, f, l, ...
  unsigned mode = 0;
  std::uint64_t size = 0;
  std::string hash;
};

std::map<std::string, RemoteEntry> parse_listing(const std::string& out) {
  std::map<std::string, RemoteEntry> entries;
  std::size_t at = 0;
  while (at < out.size()) {
    const auto end = out.find('\0', at);
    const std::string item =
        out.substr(at, end == std::string::npos ? std::string::npos : end - at);
    at = end == std::string::npos ? out.size() : end + 1;
    RemoteEntry entry;
    const auto first = item.find(' ');
    const auto second = item.find(' ', first + 1);
    const auto third = item.find(' ', second + 1);
    if (first != 1 || second == std::string::npos || third == std::string::npos) continue;
    entry.type = item[0];
    entry.mode = static_cast<unsigned>(std::stoul(item.substr(2, second - 2), nullptr, 8));
    entry.size = std::stoull(item.substr(second + 1, third - second - 1));
    entries[item.substr(third + 1)] = entry;
  }
  return entries;
}

/// Adds `sha256sum -z` output (`HASH  NAME\0`...) to the listing.
void add_hashes(std::map<std::string, RemoteEntry>& entries, const std::string& out) {
  std::size_t at = 0;
  while (at < out.size()) {
    const auto end = out.find('\0', at);
    const std::string item =
        out.substr(at, end == std::string::npos ? std::string::npos : end - at);
    at = end == std::string::npos ? out.size() : end + 1;
    if (item.size() < 66 || item.compare(64, 2, "  ") != 0) continue;
    auto found = entries.find(item.substr(66));
    if (found != entries.end()) found->second.hash = item.substr(0, 64);
  }
}

/// What a recursive put finds at its target: the files already there with the same mode, size
/// and sha256 (sent again only if the tree changes), and whether the whole tree is the same.
struct Comparison {
  std::set<std::string> same_files;
  bool is_same_tree = false;
};

/// Lists the remote folder `target` in one command, hashes the files whose mode and size match
/// in a second; nullopt when the connection failed.
awaitable<std::optional<Comparison>> compare(Transfer& t, const SourceTree& tree,
                                             const std::string& target) {
  std::string out, err;
  auto status = co_await run_host(
      t, "cd -P -- " + shell_quote(target) + " && find . -mindepth 1 -printf '%y %m %s %P\\0'", "",
      out, err);
  if (!status) co_return std::nullopt;
  Comparison result;
  if (*status != 0) co_return result;  // unreadable: everything is sent
  std::map<std::string, RemoteEntry> remote = parse_listing(out);
  std::string candidates;
  for (const SourceTree::Entry& entry : tree.entries) {
    auto found = remote.find(entry.path);
    if (!entry.is_folder && found != remote.end() && found->second.type == 'f' &&
        found->second.mode == entry.mode && found->second.size == entry.file->size())
      candidates += entry.path + '\0';
  }
  if (!candidates.empty()) {
    out.clear();
    status =
        co_await run_host(t, "cd -P -- " + shell_quote(target) + " && xargs -0 -r sha256sum -z --",
                          candidates, out, err);
    if (!status) co_return std::nullopt;
    if (*status == 0) add_hashes(remote, out);
  }
  bool is_same = remote.size() == tree.entries.size();
  for (const SourceTree::Entry& entry : tree.entries) {
    auto found = remote.find(entry.path);
    const bool is_there = found != remote.end() &&
                          found->second.type == (entry.is_folder ? 'd' : 'f') &&
                          found->second.mode == entry.mode &&
                          (entry.is_folder || found->second.hash == entry.file->sha256());
    if (is_there && !entry.is_folder) result.same_files.insert(entry.path);
    is_same = is_same && is_there;
  }
  result.is_same_tree = is_same;
  co_return result;
}

awaitable<int> make_folder(Transfer& t, const std::string& path, unsigned mode) {
  co_return co_await call(t.link(), [&] {
    return libssh2_sftp_mkdir_ex(t.sftp(), path.data(), static_cast<unsigned>(path.size()), mode);
  });
}

awaitable<int> set_mode(Transfer& t, const std::string& path, unsigned mode) {
  LIBSSH2_SFTP_ATTRIBUTES attrs{};
  attrs.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS;
  attrs.permissions = mode;
  co_return co_await call(t.link(), [&] {
    return libssh2_sftp_stat_ex(t.sftp(), path.data(), static_cast<unsigned>(path.size()),
                                LIBSSH2_SFTP_SETSTAT, &attrs);
  });
}

awaitable<int> rename_to(Transfer& t, const std::string& from, const std::string& to) {
  co_return co_await call(t.link(), [&] {
    return libssh2_sftp_rename_ex(t.sftp(), from.data(), static_cast<unsigned>(from.size()),
                                  to.data(), static_cast<unsigned>(to.size()),
                                  LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE);
  });
}

/// `rm -rf` of a folder this transfer made, if the session still works.
awaitable<void> remove_tree(Transfer& t, const std::string& path) {
  if (!t.is_usable()) co_return;
  std::string out, err;
  const TransferOutcome kept = t.outcome;
  co_await run_host(t, "rm -rf -- " + shell_quote(path), "", out, err);
  t.outcome = kept;
}

/// Copies the unchanged files from the old tree into the new one on the host (`cp -p`), so that
/// only changed files cross the network; false if it could not (they are sent instead).
awaitable<bool> copy_same_files(Transfer& t, const Comparison& same, const std::string& target,
                                const std::string& temp) {
  if (same.same_files.empty()) co_return true;
  std::string names;
  for (const std::string& name : same.same_files) names += name + '\0';
  std::string out, err;
  auto status =
      co_await run_host(t,
                        "cd -P -- " + shell_quote(target) + " && xargs -0 -r cp -p --parents -t " +
                            shell_quote("../" + base_name(temp)) + " --",
                        names, out, err);
  co_return status == 0;
}

/// Creates the folders of the tree in `temp`, 0700 until the end (folder_modes).
awaitable<bool> make_folders(Transfer& t, const PutSpec& spec, const std::string& temp) {
  for (const SourceTree::Entry& entry : spec.tree->entries) {
    if (!entry.is_folder) continue;
    const std::string path = under(temp, entry.path);
    if (const int rc = co_await make_folder(t, path, 0700); rc != 0) {
      t.fail(rc, "put " + in_quotes(spec.remote_path) + ": create folder " + in_quotes(path));
      co_return false;
    }
  }
  co_return true;
}

/// Sends the files not copied on the host into `temp`, each as a new file with its mode (the
/// writes of a file pipelined by libssh2); false with t.outcome's error.
awaitable<bool> send_files(Transfer& t, const PutSpec& spec, const std::string& temp,
                           const std::set<std::string>& copied) {
  const SourceTree& tree = *spec.tree;
  std::uint64_t done = 0;
  for (const SourceTree::Entry& entry : tree.entries) {
    if (entry.is_folder || copied.contains(entry.path)) continue;
    const std::string path = under(temp, entry.path);
    PutSpec file{entry.file, path, entry.mode, spec.temp_tag, {}};
    if (spec.on_progress) {
      file.on_progress = [&spec, &tree, done](std::uint64_t bytes, std::uint64_t) {
        spec.on_progress(done + bytes, tree.bytes);
      };
    }
    if (!co_await write_temp(t, file, path)) co_return false;
    done += entry.file->size();
  }
  t.outcome.bytes = done;
  co_return true;
}

/// Gives the folders their own modes, deepest first (a folder without `w` is filled before).
awaitable<bool> folder_modes(Transfer& t, const PutSpec& spec, const std::string& temp) {
  const auto& entries = spec.tree->entries;
  for (auto entry = entries.rbegin(); entry != entries.rend(); ++entry) {
    if (!entry->is_folder) continue;
    const std::string path = under(temp, entry->path);
    if (const int rc = co_await set_mode(t, path, entry->mode); rc != 0) {
      t.fail(rc, "put " + in_quotes(spec.remote_path) + ": set mode of " + in_quotes(path));
      co_return false;
    }
  }
  if (const int rc = co_await set_mode(t, temp, spec.mode); rc != 0) {
    t.fail(rc, "put " + in_quotes(spec.remote_path) + ": set mode of " + in_quotes(temp));
    co_return false;
  }
  co_return true;
}

/// Renames `temp` to `target`; an existing target is first renamed aside, then removed (SFTP
/// cannot swap two folders: for that moment `target` is missing).
awaitable<bool> swap_into_place(Transfer& t, const PutSpec& spec, const std::string& temp,
                                bool exists) {
  const std::string& target = spec.remote_path;
  const std::string old = temp_path_for(target, unpredictable_tag(spec.temp_tag) + ".old");
  if (exists) {
    if (const int rc = co_await rename_to(t, target, old); rc != 0) {
      t.fail(rc, "put " + in_quotes(target) + ": move the old folder aside");
      co_return false;
    }
  }
  if (const int rc = co_await rename_to(t, temp, target); rc != 0) {
    t.fail(rc, "put " + in_quotes(target) + ": rename");
    if (exists && t.is_usable()) co_await rename_to(t, old, target);  // the old one back
    co_return false;
  }
  if (exists) co_await remove_tree(t, old);
  co_return true;
}

}  // namespace

awaitable<TransferOutcome> run_folder_put(Session::Impl& impl, const PutSpec& spec) {
  Transfer t{impl, {}};
  const std::string& target = spec.remote_path;
  const std::string what = "put " + in_quotes(target);
  if (!co_await begin(t, what)) co_return t.outcome;
  LIBSSH2_SFTP_ATTRIBUTES attrs{};
  const int rc = co_await call(t.link(), [&] {
    return libssh2_sftp_stat_ex(t.sftp(), target.data(), static_cast<unsigned>(target.size()),
                                LIBSSH2_SFTP_LSTAT, &attrs);
  });
  if (rc != 0 && rc != LIBSSH2_ERROR_SFTP_PROTOCOL) co_return t.fail(rc, what);
  const bool exists = rc == 0;
  if (exists && !LIBSSH2_SFTP_S_ISDIR(attrs.permissions))
    co_return t.fail(what + ": the remote path exists and is not a folder");
  Comparison same;
  if (exists) {
    auto compared = co_await compare(t, *spec.tree, target);
    if (!compared) co_return t.outcome;
    same = std::move(*compared);
    if (same.is_same_tree && (attrs.permissions & 07777) == spec.mode) {
      t.outcome.unchanged = true;
      co_return t.outcome;
    }
  }
  const std::string temp = temp_path_for(target, unpredictable_tag(spec.temp_tag));
  if (const int made = co_await make_folder(t, temp, 0700); made != 0) {
    if (made == LIBSSH2_ERROR_SFTP_PROTOCOL &&
        libssh2_sftp_last_error(t.sftp()) == LIBSSH2_FX_NO_SUCH_FILE)
      co_return t.fail(what + ": remote folder " + in_quotes(parent_folder(target)) +
                       " does not exist");
    co_return t.fail(made, what + ": cannot create " + in_quotes(temp));
  }
  // (No co_await inside && or ?: : g++ 12 miscompiles some of those.)
  bool is_done = co_await make_folders(t, spec, temp);
  std::set<std::string> copied;
  if (is_done && !same.same_files.empty()) {
    const bool is_copied = co_await copy_same_files(t, same, target, temp);
    if (is_copied) {
      copied = same.same_files;
    } else if (t.is_usable()) {  // cp without --parents (busybox): start again, send them all
      co_await remove_tree(t, temp);
      is_done = co_await make_folder(t, temp, 0700) == 0;
      if (is_done) is_done = co_await make_folders(t, spec, temp);
    }
    is_done = is_done && t.is_usable();
  }
  if (is_done) is_done = co_await send_files(t, spec, temp, copied);
  if (is_done) is_done = co_await folder_modes(t, spec, temp);
  if (is_done) is_done = co_await swap_into_place(t, spec, temp, exists);
  if (!is_done) {
    const TransferOutcome failed = t.outcome;
    co_await remove_tree(t, temp);
    co_return failed;
  }
  co_return t.outcome;
}

}  // namespace deployd::ssh

namespace deployd::ssh {
namespace {

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
