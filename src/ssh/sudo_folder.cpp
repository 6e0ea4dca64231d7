// SPDX-License-Identifier: MIT
// Recursive put and get through sudo, and recursive put with an owner or group (issue 18): the
// files cross over SFTP as the login user, into a private folder of the login user's; `tar`
// carries them between that folder and the installing (or reading) user.

#include <cstdio>
#include <optional>
#include <set>
#include <string>

#include "ssh/sftp_parts.hpp"
#include "ssh/sudo_script.hpp"

namespace deployd::ssh {
namespace {

using boost::asio::awaitable;

/// As the installing user, looks at the target: prints `folder` or `new`; refuses a path that
/// is something else, or whose folder does not exist.
constexpr std::string_view kLookScript = R"sh(t=$1
fail() { printf '%s\n' "$*" >&2; exit 3; }
if [ -L "$t" ] || { [ -e "$t" ] && [ ! -d "$t" ]; }; then
  fail "the remote path exists and is not a folder"
fi
d=$(dirname -- "$t")
[ -d "$d" ] || fail "remote folder \"$d\" does not exist"
if [ -d "$t" ]; then echo folder; else echo new; fi)sh";

/// As the installing user: creates the private folder `$w` beside the target (umask 077: 0700,
/// its user's, so nobody else can reach into it) and copies there, from the target, the files
/// named on stdin (NUL-separated), which are already as wanted and are not sent again.
constexpr std::string_view kPrepareScript = R"sh(t=$1 n=$2
case $t in /*) ;; *) t=$(pwd -P)/$t ;; esac
t=${t%/} w=$(dirname -- "$t")/.$(basename -- "$t").deployd-$n.tmp
umask 077
mkdir -- "$w" "$w/tree" || exit 3
if [ -d "$t" ]; then
  (cd -P -- "$t" && xargs -0 -r cp -p --parents -t "$w/tree" --) || { rm -rf -- "$w"; exit 3; }
fi)sh";

/// As the installing user: unpacks the staged tree (a tar on stdin) into `$w/tree`, gives it
/// its owner, group and mode, then puts it in place of the target: the old folder is renamed
/// aside first, as a recursive put without sudo does. `$w` goes whatever happens.
constexpr std::string_view kFolderInstallScript = R"sh(t=$1 n=$2 m=$3 o=$4 g=$5
fail() { printf '%s\n' "$*" >&2; exit 3; }
case $t in /*) ;; *) t=$(pwd -P)/$t ;; esac
t=${t%/} w=$(dirname -- "$t")/.$(basename -- "$t").deployd-$n.tmp
[ -d "$w/tree" ] && [ ! -L "$w" ] || fail "the private folder $w is missing"
trap 'rm -rf -- "$w"' EXIT
trap 'exit 4' HUP INT TERM PIPE
[ "$(stat -c %u -- "$w")" = "$(id -u)" ] || fail "the private folder $w was replaced"
umask 077
tar -xpf - --no-same-owner -C "$w/tree" || exit 3
if [ -n "$o" ]; then chown -R -- "$o" "$w/tree" || exit 3; fi
if [ -n "$g" ]; then chgrp -R -- "$g" "$w/tree" || exit 3; fi
chmod -- "$m" "$w/tree" || exit 3
if [ -d "$t" ]; then
  mv -T -- "$t" "$w/old" || exit 3
  if ! mv -T -- "$w/tree" "$t"; then mv -T -- "$w/old" "$t"; exit 3; fi
else
  mv -T -- "$w/tree" "$t" || exit 3
fi)sh";

/// As the reading user: refuses anything but a folder, as a recursive get does.
constexpr std::string_view kCheckFolderScript = R"sh(s=$1
if [ -L "$s" ] || { [ -e "$s" ] && [ ! -d "$s" ]; }; then
  echo "the remote path is not a folder" >&2; exit 3
fi
[ -d "$s" ] || { echo "no such file or folder" >&2; exit 3; })sh";

/// Runs `command`; true if it exited 0, else t.outcome says why (`what: reason`).
awaitable<bool> run_step(Transfer& t, const std::string& what, std::string command,
                         std::string input = {}, std::string* out = nullptr) {
  std::string stdout_text, err;
  const std::optional<int> status =
      co_await run_host(t, std::move(command), std::move(input), stdout_text, err);
  if (out != nullptr) *out = stdout_text;
  if (!status) co_return false;  // the connection failed
  if (*status == 0) co_return true;
  std::string reason = last_line(err);
  if (reason.empty()) reason = "exited with status " + std::to_string(*status);
  t.fail(what + ": " + reason);
  co_return false;
}

/// Removes a private folder of the login user's, whose folders may have lost their `w`.
awaitable<void> remove_private(Transfer& t, const std::string& path) {
  if (!t.is_usable()) co_return;
  std::string out, err;
  const TransferOutcome kept = t.outcome;
  const std::string quoted = shell_quote(path);
  co_await run_host(t, "chmod -R u+rwx -- " + quoted + "; rm -rf -- " + quoted, "", out, err);
  t.outcome = kept;
}

/// Sends the tree but `skipped` into the new private folder `staged`/tree, with its modes.
awaitable<bool> stage(Transfer& t, const PutSpec& spec, const std::string& staged,
                      const std::set<std::string>& skipped) {
  const std::string what = "put " + in_quotes(spec.remote_path);
  if (const int rc = co_await make_folder(t, staged, 0700); rc != 0) {
    t.fail(rc, what + ": cannot create " + in_quotes(staged));
    co_return false;
  }
  const std::string tree = staged + "/tree";
  if (const int rc = co_await make_folder(t, tree, 0700); rc != 0) {
    t.fail(rc, what + ": cannot create " + in_quotes(tree));
    co_return false;
  }
  bool is_done = co_await make_folders(t, spec, tree);
  if (is_done) is_done = co_await send_files(t, spec, tree, skipped);
  // The tree keeps 0700 (tar carries it); the installed folder gets spec.mode at the end.
  if (is_done) is_done = co_await folder_modes(t, spec, tree, /*with_top=*/false);
  co_return is_done;
}

}  // namespace

awaitable<TransferOutcome> run_privileged_folder_put(Session::Impl& impl, const PutSpec& spec) {
  Transfer t{impl, {}};
  const std::string& target = spec.remote_path;
  const std::string what = "put " + in_quotes(target) + as_whom(spec.sudo_user);
  if (!co_await begin(t, what)) co_return t.outcome;
  const std::string user = sudo_sh_c(spec.sudo_user);
  std::string kind;
  if (!co_await run_step(
          t, what, user + " " + shell_quote(kLookScript) + " deployd-look " + shell_quote(target),
          {}, &kind))
    co_return t.outcome;
  Comparison same;
  if (kind.starts_with("folder")) {
    auto compared = co_await compare(t, spec, user);
    if (!compared) co_return t.outcome;
    same = std::move(*compared);
    if (same.is_same_tree && same.is_same_top) {
      t.outcome.unchanged = true;
      co_return t.outcome;
    }
  }
  // 1. As the login user, into a private folder of its own (SFTP starts in its home).
  const std::string tag = unpredictable_tag(spec.temp_tag);
  const std::string staged = ".deployd-" + tag;
  if (!co_await stage(t, spec, staged, same.same_files)) {
    const TransferOutcome failed = t.outcome;
    co_await remove_private(t, staged);
    co_return failed;
  }
  const std::uint64_t bytes = t.outcome.bytes;
  // 2. As the installing user: a private folder beside the target, the unchanged files copied
  // there from the old tree, 3. the staged tree unpacked into it, then renamed into place.
  std::string names;
  for (const std::string& name : same.same_files) names += name + '\0';
  bool is_done = co_await run_step(t, what,
                                   user + " " + shell_quote(kPrepareScript) + " deployd-prepare " +
                                       shell_quote(target) + " " + shell_quote(tag),
                                   names);
  if (is_done) {
    const std::string install = "tar -C " + shell_quote(staged + "/tree") + " -cf - . | " + user +
                                " " + shell_quote(kFolderInstallScript) + " deployd-install " +
                                shell_quote(target) + " " + shell_quote(tag) + " " +
                                octal(spec.mode) + " " + shell_quote(spec.owner) + " " +
                                shell_quote(spec.group);
    is_done = co_await run_step(t, what, install);
    if (!is_done && !spec.sudo_user && (!spec.owner.empty() || !spec.group.empty()) &&
        t.outcome.error.find("Operation not permitted") != std::string::npos)
      t.outcome.error +=
          " (\"owner\" and \"group\" need \"sudo\" unless the login user may set them)";
  }
  const TransferOutcome outcome = t.outcome;
  co_await remove_private(t, staged);
  t.outcome = outcome;
  if (is_done) t.outcome.bytes = bytes;
  co_return t.outcome;
}

awaitable<TransferOutcome> run_privileged_folder_get(Session::Impl& impl, const GetSpec& spec) {
  Transfer t{impl, {}};
  const std::string& source = spec.remote_path;
  const std::string what = "get " + in_quotes(source) + as_whom(spec.sudo_user);
  if (!t.is_usable()) {
    t.outcome.connection_lost = true;
    co_return t.fail("the connection is unusable: " + t.impl.broken);
  }
  const std::string user = sudo_sh_c(spec.sudo_user);
  if (!co_await run_step(
          t, what,
          user + " " + shell_quote(kCheckFolderScript) + " deployd-check " + shell_quote(source)))
    co_return t.outcome;
  // As the reading user, `tar` of the folder; unpacked as the login user into a private folder
  // of its own (0700), fetched from there as a recursive get does, then removed.
  const std::string staged = ".deployd-" + unpredictable_tag(spec.temp_tag);
  const std::string tree = staged + "/tree";
  const std::string copy = "mkdir -m 700 -- " + shell_quote(staged) + " " + shell_quote(tree) +
                           " || exit 3\n" + "s=$( { { " + user +
                           " 'cd -P -- \"$1\" && exec tar -cf - .' deployd-get " +
                           shell_quote(source) + "; echo $? >&3; } | tar -xpf - -C " +
                           shell_quote(tree) + " >&2; } 3>&1 ) || exit 3\n[ \"$s\" = 0 ]";
  bool is_done = co_await run_step(t, what + ": copy", "sh -c " + shell_quote(copy));
  if (is_done) {
    GetSpec inner = spec;
    inner.remote_path = tree;
    inner.sudo_user.reset();
    TransferOutcome fetched = co_await run_folder_get(impl, inner);
    // Errors name the folder the step names, not the private copy.
    for (auto at = fetched.error.find(tree); at != std::string::npos; at = fetched.error.find(tree))
      fetched.error.replace(at, tree.size(), source);
    if (const std::string quoted = in_quotes(source); fetched.error.starts_with("get " + quoted))
      fetched.error.insert(4 + quoted.size(), as_whom(spec.sudo_user));
    t.outcome = fetched;
  }
  const TransferOutcome outcome = t.outcome;
  co_await remove_private(t, staged);
  t.outcome = outcome;
  co_return t.outcome;
}

}  // namespace deployd::ssh
