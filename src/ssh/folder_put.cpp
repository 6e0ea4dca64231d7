// SPDX-License-Identifier: MIT
// Recursive put (issue 18): the folder built beside its target, then renamed into place.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <vector>

#include "ssh/folder_listing.hpp"
#include "ssh/sftp_parts.hpp"
#include "ssh/wait.hpp"

namespace deployd::ssh {

std::string under(const std::string& folder, const std::string& path) {
  return folder.ends_with('/') ? folder + path : folder + "/" + path;
}

using boost::asio::awaitable;

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

namespace {

/// The name of `path` without its folder.
std::string base_name(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

awaitable<std::optional<Comparison>> compare(Transfer& t, const PutSpec& spec,
                                             const std::string& as_user) {
  const SourceTree& tree = *spec.tree;
  const std::string& target = spec.remote_path;
  // As the installing user: `sudo -n … sh -c 'COMMAND'` (as_user ends with `sh -c`).
  auto command = [&as_user](const std::string& text) {
    return as_user.empty() ? text : as_user + " " + shell_quote(text);
  };
  std::string out, err;
  auto status = co_await run_host(
      t, command("cd -P -- " + shell_quote(target) + " && " + std::string(kListFolder)), "", out,
      err);
  if (!status) co_return std::nullopt;
  Comparison result;
  if (*status != 0) co_return result;  // unreadable: everything is sent
  std::map<std::string, RemoteEntry> remote = parse_listing(out);
  if (auto top = remote.find(""); top != remote.end()) {
    result.is_same_top = top->second.mode == spec.mode && is_named(spec.owner, top->second.owner) &&
                         is_named(spec.group, top->second.group);
    remote.erase(top);
  }
  std::string candidates;
  for (const SourceTree::Entry& entry : tree.entries) {
    auto found = remote.find(entry.path);
    if (!entry.is_folder && found != remote.end() && found->second.type == 'f' &&
        found->second.mode == entry.mode && found->second.size == entry.file->size())
      candidates += entry.path + '\0';
  }
  if (!candidates.empty()) {
    out.clear();
    status = co_await run_host(
        t, command("cd -P -- " + shell_quote(target) + " && " + std::string(kHashFiles)),
        candidates, out, err);
    if (!status) co_return std::nullopt;
    if (*status == 0) add_hashes(remote, out);
  }
  bool is_same = remote.size() == tree.entries.size();
  for (const SourceTree::Entry& entry : tree.entries) {
    auto found = remote.find(entry.path);
    const bool is_there =
        found != remote.end() && found->second.type == (entry.is_folder ? 'd' : 'f') &&
        found->second.mode == entry.mode && is_named(spec.owner, found->second.owner) &&
        is_named(spec.group, found->second.group) &&
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

namespace {

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

}  // namespace

awaitable<void> remove_tree(Transfer& t, const std::string& path) {
  if (!t.is_usable()) co_return;
  std::string out, err;
  const TransferOutcome kept = t.outcome;
  co_await run_host(t, "rm -rf -- " + shell_quote(path), "", out, err);
  t.outcome = kept;
}

namespace {

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

}  // namespace

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

awaitable<bool> folder_modes(Transfer& t, const PutSpec& spec, const std::string& temp,
                             bool with_top) {
  const auto& entries = spec.tree->entries;
  for (auto entry = entries.rbegin(); entry != entries.rend(); ++entry) {
    if (!entry->is_folder) continue;
    const std::string path = under(temp, entry->path);
    if (const int rc = co_await set_mode(t, path, entry->mode); rc != 0) {
      t.fail(rc, "put " + in_quotes(spec.remote_path) + ": set mode of " + in_quotes(path));
      co_return false;
    }
  }
  if (!with_top) co_return true;
  if (const int rc = co_await set_mode(t, temp, spec.mode); rc != 0) {
    t.fail(rc, "put " + in_quotes(spec.remote_path) + ": set mode of " + in_quotes(temp));
    co_return false;
  }
  co_return true;
}

namespace {

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
  if (spec.is_privileged()) co_return co_await run_privileged_folder_put(impl, spec);
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
    auto compared = co_await compare(t, spec, "");
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
  if (is_done) is_done = co_await folder_modes(t, spec, temp, /*with_top=*/true);
  if (is_done) is_done = co_await swap_into_place(t, spec, temp, exists);
  if (!is_done) {
    const TransferOutcome failed = t.outcome;
    co_await remove_tree(t, temp);
    co_return failed;
  }
  co_return t.outcome;
}

}  // namespace deployd::ssh
