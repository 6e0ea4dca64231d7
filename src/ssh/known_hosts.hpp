// SPDX-License-Identifier: MIT
// Host key checks against known_hosts files, each loaded once per run and shared by all sessions.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ssh/connection_spec.hpp"

typedef struct _LIBSSH2_SESSION LIBSSH2_SESSION;
typedef struct _LIBSSH2_KNOWNHOSTS LIBSSH2_KNOWNHOSTS;
struct libssh2_knownhost;

namespace deployd::ssh {

/// What a known_hosts file says about one name and the key the server showed. OtherType: the
/// name has keys, none of the type the server showed.
enum class Lookup { NotFound, Match, Mismatch, OtherType };

/// What to do with a host key.
enum class Verdict { Accept, AcceptAndRecord, RejectMismatch, RejectOtherType, RejectUnknown };

/// The decision table (plan-format.md): `off` accepts; otherwise another key under either name
/// rejects, a match accepts, keys of other types only reject (as OpenSSH: the known types were
/// asked for first, so the server has none of them), and a key under neither name is refused
/// (`strict`) or recorded (`accept-new`).
Verdict decide(HostKeyCheck mode, Lookup by_address, Lookup by_name);

/// The name a known_hosts file uses: `host`, or `[host]:port` when the port is not 22.
std::string known_hosts_name(std::string_view host, int port);

/// The message for a rejected key; `location` is the file, with `:line` for a mismatch;
/// `detail` is said after it (why the key does not match).
std::string host_key_message(Verdict verdict, const ConnectionSpec& spec, std::string_view location,
                             std::string_view detail = "");

/// A key's fingerprint as OpenSSH prints it: `SHA256:` and the unpadded base64 of its hash.
std::string key_fingerprint(std::string_view blob);

/// What a changed host key says after "does not match FILE:LINE": the key the server showed, the
/// danger, and the fix (issue 19: the loudest message, as OpenSSH's is).
std::string changed_key_detail(std::string_view type, std::string_view fingerprint,
                               std::string_view entry, std::string_view file);

/// Why a key of type `shown` does not do where the file has keys of the `known` types only.
std::string other_type_detail(std::string_view shown, const std::vector<std::string>& known);

/// A server's host key as libssh2_session_hostkey gives it.
struct HostKey {
  std::string_view blob;
  int type = 0;  ///< LIBSSH2_HOSTKEY_TYPE_*
};

/// One known_hosts file in memory. Lines libssh2 1.10 cannot parse (markers, FIDO keys) are
/// skipped rather than ending the load, which libssh2_knownhost_readfile would do.
class KnownHostsFile {
 public:
  explicit KnownHostsFile(std::string path);
  ~KnownHostsFile();
  KnownHostsFile(const KnownHostsFile&) = delete;
  KnownHostsFile& operator=(const KnownHostsFile&) = delete;

  const std::string& path() const { return path_; }
  /// Why the file could not be read; empty if it was (a missing file reads as empty).
  const std::string& load_error() const { return load_error_; }
  bool is_missing() const { return is_missing_; }

  /// The entry for `name` (plain or hashed) and `key`, with the line of the first mismatching one.
  Lookup lookup(const std::string& name, HostKey key, int* line = nullptr) const;
  /// libssh2 host key methods, those already known for one of `names` first (as OpenSSH does):
  /// otherwise libssh2 would prefer ECDSA where the file holds the host's ed25519 key.
  std::string preferred_methods(const std::vector<std::string>& names) const;
  /// The key types (protocol names) the file holds for any of `names`.
  std::vector<std::string> known_types(const std::vector<std::string>& names) const;
  /// Remembers `key` for `names` (known at once in memory); written by flush(). Returns an error.
  std::string record(const std::vector<std::string>& names, HostKey key);
  /// Appends every recorded key in one write under an exclusive flock, skipping those another
  /// writer added meanwhile, hashed (`|1|salt|hash`) if the file holds hashed names. Returns an
  /// error, or "".
  std::string flush();
  /// How many keys record() holds for flush().
  std::size_t pending() const { return pending_.size(); }
  bool is_hashed() const { return is_hashed_; }

 private:
  struct Pending {
    std::vector<std::string> names;
    std::string type;
    std::string blob;
  };
  void load();
  void note_new_entries(int line);
  void add_to_memory(std::string line);
  std::string lines_for(const Pending& entry) const;

  std::string path_;
  std::string load_error_;
  bool is_missing_ = false;
  LIBSSH2_SESSION* owner_ = nullptr;  // knownhost stores allocate through a session
  LIBSSH2_KNOWNHOSTS* hosts_ = nullptr;
  libssh2_knownhost* last_entry_ = nullptr;
  int line_count_ = 0;
  std::unordered_map<const libssh2_knownhost*, int> lines_;
  bool is_hashed_ = false;  ///< the file has a hashed entry: new ones are hashed too
  std::vector<Pending> pending_;
};

/// The run's known_hosts files by path, each loaded on first use.
class KnownHostsCache {
 public:
  KnownHostsFile& get(const std::string& path);
  /// Flushes every file's recorded keys; returns the errors.
  std::vector<std::string> flush();

 private:
  std::map<std::string, std::unique_ptr<KnownHostsFile>> files_;
};

/// Checks the host key of a session after its handshake; returns the reason to refuse, or "".
std::string check_host_key(KnownHostsCache& cache, LIBSSH2_SESSION* session,
                           const ConnectionSpec& spec);

}  // namespace deployd::ssh
