// SPDX-License-Identifier: MIT
// The parts of sftp_transfer.cpp that the other ways of transferring a file build on
// (sudo_transfer.cpp): one transfer's state, the temporary file, the local file's mode.
#pragma once

#include <libssh2.h>
#include <libssh2_sftp.h>

#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "async/awaitable.hpp"
#include "ssh/session_impl.hpp"
#include "ssh/sftp.hpp"

namespace deployd::ssh {

/// Bytes per libssh2_sftp_write call, for a file and for a folder's files: libssh2 pipelines
/// them as ~30 KB packets, and a call's bytes are what is in flight, so an upload moves at most
/// this much per round trip. 2 MiB, as sshd's channel window: at RTT 50 ms, 20 MiB to one host
/// took 3.4 s with 512 KiB and 1.7 s with 2 MiB (scp 2.0-2.2 s); on loopback both are within
/// noise (docs/benchmarks.md).
constexpr std::size_t kWriteChunk = 2 * 1024 * 1024;

/// `"text"`, for messages.
std::string in_quotes(std::string_view text);

/// `path` joined under `folder` (folder_put.cpp).
std::string under(const std::string& folder, const std::string& path);

/// `'text'` for a POSIX shell, safe for any bytes.
std::string shell_quote(std::string_view text);

/// One transfer on a session: the outcome it builds and the failures that end it.
struct Transfer {
  Session::Impl& impl;
  TransferOutcome outcome;

  Link& link() { return impl.link; }
  LIBSSH2_SFTP* sftp() { return impl.sftp; }

  /// `what: cause`; anything but an SFTP status means the session is unusable.
  TransferOutcome fail(int rc, const std::string& what);
  TransferOutcome fail(std::string error) {
    outcome.error = std::move(error);
    return outcome;
  }
  bool is_usable() const { return impl.broken.empty(); }

  /// The errno-style rc of a libssh2 call that returned nullptr.
  int last_rc() {
    const int rc = libssh2_session_last_errno(link().session);
    return rc != 0 ? rc : LIBSSH2_ERROR_CHANNEL_FAILURE;
  }
};

/// Starts a transfer: the session must be usable and its SFTP channel open.
boost::asio::awaitable<bool> begin(Transfer& t, const std::string& what);

/// Writes `spec.source` to the new file `temp` (created exclusively, mode `spec.mode` set on the
/// handle); false with t.outcome's error, the file removed, if it cannot.
boost::asio::awaitable<bool> write_temp(Transfer& t, const PutSpec& spec, const std::string& temp);

/// Closes `handle` after a transfer that ended with `rc`, or drops it when the session cannot
/// carry the close; the close's rc (0 when dropped).
boost::asio::awaitable<int> close_or_drop(Transfer& t, LIBSSH2_SFTP_HANDLE* handle, int rc);

/// Copies the open remote file into the local file `fd` (progress against `total`); stops with
/// `local_error` past `spec.max_size` bytes in all (t.outcome.bytes counts them).
boost::asio::awaitable<int> read_all(Transfer& t, LIBSSH2_SFTP_HANDLE* handle, int fd,
                                     const GetSpec& spec, std::uint64_t total,
                                     std::string& local_error);

/// Removes a remote file if the session still works.
boost::asio::awaitable<void> remove_remote(Transfer& t, const std::string& path);

/// Creates the local folders of `path`; "" or the error.
std::string make_local_parent(const std::string& path);

/// Gives the new local file `fd` (created with (remote | 0600) & ~umask) its final mode:
/// `spec.mode`, else the remote bits less the umask; "" or the error.
std::string set_local_mode(int fd, const GetSpec& spec, unsigned remote);

/// put with `sudo`, `owner` or `group`: the bytes staged over SFTP, installed by a shell on the
/// host as the step's user (sudo_transfer.cpp).
boost::asio::awaitable<TransferOutcome> run_privileged_put(Session::Impl& impl,
                                                           const PutSpec& spec);

/// Runs `command` (with `input` on its stdin); its exit status, or nullopt when the connection
/// failed (t.outcome says why). Keeps the first 64 MiB of stdout in `out`, 4 KiB of stderr.
boost::asio::awaitable<std::optional<int>> run_host(Transfer& t, std::string command,
                                                    std::string input, std::string& out,
                                                    std::string& err);

/// What a recursive put finds at its target: the files already there with the same mode, size,
/// owner, group and sha256 (sent again only if the tree changes), and whether the whole tree is
/// the same (folder_put.cpp).
struct Comparison {
  std::set<std::string> same_files;
  bool is_same_tree = false;
  bool is_same_top = false;  ///< the folder itself has the mode, owner and group asked
};

/// Lists `spec.remote_path` in one command, hashes the files whose mode and size match in a
/// second, both run through `as_user` (`sudo -n … sh -c`, or "": the login user); nullopt
/// when the connection failed.
boost::asio::awaitable<std::optional<Comparison>> compare(Transfer& t, const PutSpec& spec,
                                                          const std::string& as_user);

/// SFTP mkdir.
boost::asio::awaitable<int> make_folder(Transfer& t, const std::string& path, unsigned mode);
/// Creates the folders of the tree in `temp`, 0700 until the end (folder_modes).
boost::asio::awaitable<bool> make_folders(Transfer& t, const PutSpec& spec,
                                          const std::string& temp);
/// Sends the files of the tree but `skipped` into `temp`, each as a new file with its mode;
/// false with t.outcome's error.
boost::asio::awaitable<bool> send_files(Transfer& t, const PutSpec& spec, const std::string& temp,
                                        const std::set<std::string>& skipped);
/// Gives the folders their own modes, deepest first (a folder without `w` is filled before),
/// and `temp` itself `spec.mode` if `with_top`.
boost::asio::awaitable<bool> folder_modes(Transfer& t, const PutSpec& spec, const std::string& temp,
                                          bool with_top);
/// `rm -rf` of a folder this transfer made, if the session still works.
boost::asio::awaitable<void> remove_tree(Transfer& t, const std::string& path);

/// put with `recursive` and `sudo`, `owner` or `group` (sudo_folder.cpp).
boost::asio::awaitable<TransferOutcome> run_privileged_folder_put(Session::Impl& impl,
                                                                  const PutSpec& spec);
/// get with `recursive` and `sudo` (sudo_folder.cpp).
boost::asio::awaitable<TransferOutcome> run_privileged_folder_get(Session::Impl& impl,
                                                                  const GetSpec& spec);

/// put with `recursive`: the folder built beside the target, then renamed (folder_put.cpp).
boost::asio::awaitable<TransferOutcome> run_folder_put(Session::Impl& impl, const PutSpec& spec);

/// get with `recursive` (folder_get.cpp).
boost::asio::awaitable<TransferOutcome> run_folder_get(Session::Impl& impl, const GetSpec& spec);

/// get with `sudo`: the file read by a shell on the host as the step's user (sudo_transfer.cpp).
boost::asio::awaitable<TransferOutcome> run_privileged_get(Session::Impl& impl,
                                                           const GetSpec& spec);

}  // namespace deployd::ssh
