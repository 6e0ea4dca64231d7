// SPDX-License-Identifier: MIT
// File transfer over a session's SFTP channel: what to send or fetch, and how it went.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace deployd::ssh {

/// A local file mapped once and shared by every host it is sent to (issue 4: a file sent to 500
/// hosts is read from disk once per chunk, not into 500 buffers).
class SourceFile {
 public:
  /// Maps `path` read-only; a one-line error naming the path and the cause if it cannot.
  static std::variant<std::shared_ptr<SourceFile>, std::string> open(const std::string& path);
  /// Bytes made on the controller (a rendered template, issue 18), named `path` in messages.
  static std::shared_ptr<SourceFile> from_bytes(std::string path, std::string bytes, unsigned mode);
  SourceFile(const SourceFile&) = delete;
  SourceFile& operator=(const SourceFile&) = delete;
  ~SourceFile();

  const std::string& path() const { return path_; }
  std::string_view bytes() const { return {data_, size_}; }
  std::uint64_t size() const { return size_; }
  unsigned mode() const { return mode_; }  ///< permission bits of the local file
  /// Lower-case hex sha256 of the content, computed on first use only.
  const std::string& sha256() const;

 private:
  SourceFile() = default;
  std::string path_;
  const char* data_ = nullptr;
  std::uint64_t size_ = 0;
  unsigned mode_ = 0644;
  std::int64_t mtime_ns_ = 0;
  std::uint64_t inode_ = 0;
  std::string owned_;  ///< from_bytes: the bytes `data_` points into (else nothing is mapped)
  bool is_mapped_ = false;
  mutable std::string sha256_;
  friend class SourceCache;
};

/// The files of a run's `put` steps, each opened once while it stays unmodified.
class SourceCache {
 public:
  std::variant<std::shared_ptr<SourceFile>, std::string> open(const std::string& path);

 private:
  std::map<std::string, std::shared_ptr<SourceFile>> files_;
};

/// A local folder for a recursive `put` (issue 18): its folders and regular files, sorted, each
/// folder before what it holds, each file mapped once. A symlink or a special file anywhere in it
/// refuses the whole folder (nothing half-sent).
struct SourceTree {
  struct Entry {
    std::string path;  ///< relative to the folder, `/`-separated
    bool is_folder = false;
    unsigned mode = 0;                 ///< permission bits
    std::shared_ptr<SourceFile> file;  ///< set for a file
  };
  unsigned mode = 0755;  ///< the folder's own permission bits
  std::vector<Entry> entries;
  std::uint64_t bytes = 0;  ///< of all its files

  /// Walks `path`; a one-line error naming the entry and the cause if it cannot be sent.
  static std::variant<std::shared_ptr<SourceTree>, std::string> open(const std::string& path,
                                                                     SourceCache& cache);
};

/// Bytes done so far, and the total.
using ProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

/// Upload `source` to `remote_path`: written to a new `.NAME.deployd-TAG-RANDOM.tmp` beside it
/// (created exclusively: never an existing file or a planted symlink), the mode set on the open
/// handle, then renamed into place.
struct PutSpec {
  std::shared_ptr<const SourceFile> source;
  std::string remote_path;
  unsigned mode = 0644;
  std::string temp_tag;  ///< starts the temporary file's random name, e.g. the run id
  ProgressFn on_progress;
  /// Set: installed as this user through `sudo -n` ("": root), from a private copy (issue 18).
  std::optional<std::string> sudo_user;
  std::string owner;  ///< "": the installing user's; else a user name or number for chown
  std::string group;  ///< "": the installing user's group; else a name or number for chgrp

  /// Not a plain SFTP upload: a shell on the host installs the file (sudo_transfer.cpp).
  bool is_privileged() const { return sudo_user || !owner.empty() || !group.empty(); }
  /// Set: a recursive put of this folder (`source` unset; `mode` is the folder's).
  std::shared_ptr<const SourceTree> tree;
};

/// Download the regular file `remote_path` to `local_path` through a new local temporary file
/// (O_EXCL|O_NOFOLLOW, random name), its mode set on the open descriptor, then renamed.
struct GetSpec {
  std::string remote_path;
  std::string local_path;
  std::string temp_tag;
  ProgressFn on_progress;
  std::optional<unsigned> mode;           ///< unset: the remote permission bits, less the umask
  std::optional<std::uint64_t> max_size;  ///< a larger remote file is refused, one that grows past it stopped
  std::optional<std::string> sudo_user;   ///< set: read as this user through `sudo -n` ("": root)
  bool recursive =
      false;  ///< the remote folder, its folders and regular files (`max_size`: in all)
};

/// How a transfer went: `error` is "" on success, else one line naming the path and the cause.
struct TransferOutcome {
  std::uint64_t bytes = 0;
  bool unchanged = false;  ///< put: the remote file already had this size and sha256
  std::string error;
  bool connection_lost = false;  ///< the session is unusable
};

/// `.NAME.deployd-TAG.tmp` in the folder of `path`.
std::string temp_path_for(std::string_view path, std::string_view tag);

/// `TAG-RANDOM`: 64 bits from the kernel's random source in hex, so that nobody can guess a
/// temporary file's name and plant something there first (issue 16).
std::string unpredictable_tag(std::string_view tag);

/// The folder part of `path` ("." for a bare name, "/" for a file at the root).
std::string parent_folder(std::string_view path);

}  // namespace deployd::ssh
