// SPDX-License-Identifier: MIT
// Host key checks against known_hosts files, each loaded once per run and shared by all sessions.
#include "ssh/known_hosts.hpp"

#include <fcntl.h>
#include <libssh2.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "base/errno_text.hpp"

namespace deployd::ssh {
namespace {

/// One host key type: libssh2's session type, its known_hosts mask and its protocol name.
struct KeyType {
  int hostkey_type;
  int knownhost_mask;
  const char* name;
};

// OpenSSH's order of preference (ssh_config HostKeyAlgorithms, certificates aside).
constexpr std::array<KeyType, 6> kKeyTypes{{
    {LIBSSH2_HOSTKEY_TYPE_ED25519, LIBSSH2_KNOWNHOST_KEY_ED25519, "ssh-ed25519"},
    {LIBSSH2_HOSTKEY_TYPE_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_256, "ecdsa-sha2-nistp256"},
    {LIBSSH2_HOSTKEY_TYPE_ECDSA_384, LIBSSH2_KNOWNHOST_KEY_ECDSA_384, "ecdsa-sha2-nistp384"},
    {LIBSSH2_HOSTKEY_TYPE_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_ECDSA_521, "ecdsa-sha2-nistp521"},
    {LIBSSH2_HOSTKEY_TYPE_RSA, LIBSSH2_KNOWNHOST_KEY_SSHRSA, "ssh-rsa"},
    {LIBSSH2_HOSTKEY_TYPE_DSS, LIBSSH2_KNOWNHOST_KEY_SSHDSS, "ssh-dss"},
}};

const KeyType* find_key_type(int hostkey_type) {
  for (const KeyType& type : kKeyTypes) {
    if (type.hostkey_type == hostkey_type) return &type;
  }
  return nullptr;
}

std::string base64(std::string_view bytes) {
  std::string text(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()),
                                     reinterpret_cast<const unsigned char*>(bytes.data()),
                                     static_cast<int>(bytes.size()));
  text.resize(static_cast<std::size_t>(length));
  return text;
}

/// An OpenSSH hashed host name: |1|base64(salt)|base64(HMAC-SHA1(salt, name)), salt random.
std::string hashed_name(const std::string& name) {
  unsigned char salt[20];
  unsigned char digest[20];
  unsigned int length = sizeof digest;
  if (RAND_bytes(salt, sizeof salt) != 1) return "";
  HMAC(EVP_sha1(), salt, sizeof salt, reinterpret_cast<const unsigned char*>(name.data()),
       name.size(), digest, &length);
  return "|1|" + base64(std::string_view(reinterpret_cast<char*>(salt), sizeof salt)) + "|" +
         base64(std::string_view(reinterpret_cast<char*>(digest), length));
}

/// The file's text as it is now (read under the writer's lock).
std::string read_all(int fd) {
  std::string text;
  char buffer[65536];
  off_t offset = 0;
  for (ssize_t n; (n = ::pread(fd, buffer, sizeof buffer, offset)) > 0; offset += n)
    text.append(buffer, static_cast<std::size_t>(n));
  return text;
}

/// Releases an flock'ed descriptor on every path out.
struct LockedFile {
  int fd = -1;
  ~LockedFile() {
    if (fd >= 0) {
      ::flock(fd, LOCK_UN);
      ::close(fd);
    }
  }
};

}  // namespace

Verdict decide(HostKeyCheck mode, Lookup by_address, Lookup by_name) {
  if (mode == HostKeyCheck::Off) return Verdict::Accept;
  if (by_address == Lookup::Mismatch || by_name == Lookup::Mismatch) {
    return Verdict::RejectMismatch;
  }
  if (by_address == Lookup::Match || by_name == Lookup::Match) return Verdict::Accept;
  if (by_address == Lookup::OtherType || by_name == Lookup::OtherType) {
    return Verdict::RejectOtherType;
  }
  return mode == HostKeyCheck::AcceptNew ? Verdict::AcceptAndRecord : Verdict::RejectUnknown;
}

std::string known_hosts_name(std::string_view host, int port) {
  if (port == 22) return std::string(host);
  return "[" + std::string(host) + "]:" + std::to_string(port);
}

std::string host_key_message(Verdict verdict, const ConnectionSpec& spec, std::string_view location,
                             std::string_view detail) {
  const std::string mode = std::string("(host_key_check ") + to_string(spec.host_key_check) + ")";
  const std::string host = "host key for \"" + spec.name + "\"";
  const std::string because = detail.empty() ? "" : ": " + std::string(detail);
  if (verdict == Verdict::RejectMismatch || verdict == Verdict::RejectOtherType) {
    const bool is_v6 = spec.address.find(':') != std::string::npos;
    const std::string address = is_v6 ? "[" + spec.address + "]" : spec.address;
    return host + " (" + address + ":" + std::to_string(spec.port) + ") does not match " +
           std::string(location) + " " + mode + because;
  }
  return host + " is not in " + std::string(location) + " " + mode + because;
}

std::string key_fingerprint(std::string_view blob) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(blob.data(), blob.size(), digest, &length, EVP_sha256(), nullptr);
  std::string text = base64(std::string_view(reinterpret_cast<const char*>(digest), length));
  while (!text.empty() && text.back() == '=') text.pop_back();
  return "SHA256:" + text;
}

std::string changed_key_detail(std::string_view type, std::string_view fingerprint,
                               std::string_view entry, std::string_view file) {
  auto quoted = [](std::string_view word) {
    const bool is_plain = word.find_first_not_of(
                              "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                              "-_./:@%+,=") == std::string_view::npos;
    if (is_plain && !word.empty()) return std::string(word);
    std::string text = "'";
    for (char c : word) text += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return text + "'";
  };
  return "HOST KEY CHANGED: the server showed " + std::string(type) + " " +
         std::string(fingerprint) +
         "; someone may be intercepting the connection, or the host was reinstalled (then remove "
         "its old "
         "key: ssh-keygen -R " +
         quoted(entry) + " -f " + quoted(file) + ")";
}

std::string other_type_detail(std::string_view shown, const std::vector<std::string>& known) {
  std::string types;
  bool has_rsa = false;
  for (const std::string& type : known) {
    types += (types.empty() ? "" : ", ") + type;
    has_rsa = has_rsa || type == "ssh-rsa";
  }
  std::string detail = "the server showed a " + std::string(shown) + " key and the file has only " +
                       types + " keys for this host";
  if (has_rsa) {
    return detail +
           "; libssh2 1.10 checks RSA host keys only with ssh-rsa (SHA-1) signatures, which "
           "OpenSSH >= 8.8 servers no longer make: add the host's ed25519 or ECDSA key "
           "(ssh-keyscan -t ed25519)";
  }
  return detail + ": the server offers none of those key types";
}

KnownHostsFile::KnownHostsFile(std::string path) : path_(std::move(path)) {
  owner_ = libssh2_session_init();
  hosts_ = owner_ != nullptr ? libssh2_knownhost_init(owner_) : nullptr;
  if (hosts_ == nullptr) {
    load_error_ = "cannot load " + path_ + ": libssh2 could not allocate a store";
    return;
  }
  load();
}

KnownHostsFile::~KnownHostsFile() {
  if (hosts_ != nullptr) libssh2_knownhost_free(hosts_);
  if (owner_ != nullptr) libssh2_session_free(owner_);
}

void KnownHostsFile::note_new_entries(int line) {
  libssh2_knownhost* entry = nullptr;
  while (libssh2_knownhost_get(hosts_, &entry, last_entry_) == 0) {
    lines_[entry] = line;
    last_entry_ = entry;
  }
}

void KnownHostsFile::load() {
  // A folder opens as an empty stream and a FIFO would block: only files (and /dev/null) are read.
  struct stat info {};
  if (::stat(path_.c_str(), &info) != 0) {
    is_missing_ = errno == ENOENT;
    if (!is_missing_) load_error_ = "cannot read " + path_ + ": " + base::errno_text(errno);
    return;
  }
  if (S_ISDIR(info.st_mode)) {
    load_error_ = "cannot read " + path_ + ": it is a directory";
    return;
  }
  if (!S_ISREG(info.st_mode) && !S_ISCHR(info.st_mode)) {
    load_error_ = "cannot read " + path_ + ": not a regular file";
    return;
  }
  std::ifstream in(path_);
  if (!in) {
    load_error_ = "cannot read " + path_ + ": " + base::errno_text(errno);
    return;
  }
  std::string line;
  while (std::getline(in, line)) {
    ++line_count_;
    is_hashed_ = is_hashed_ || line.starts_with("|1|");
    if (libssh2_knownhost_readline(hosts_, line.data(), line.size(),
                                   LIBSSH2_KNOWNHOST_FILE_OPENSSH) == 0) {
      note_new_entries(line_count_);
    }
  }
}

Lookup KnownHostsFile::lookup(const std::string& name, HostKey key, int* line) const {
  const KeyType* type = find_key_type(key.type);
  if (hosts_ == nullptr || type == nullptr) return Lookup::NotFound;
  libssh2_knownhost* entry = nullptr;
  // libssh2_knownhost_checkp would also accept a port-22 entry for another port; OpenSSH does
  // not, so the `[host]:port` name is built here and checked alone.
  const int rc = libssh2_knownhost_check(
      hosts_, name.c_str(), key.blob.data(), key.blob.size(),
      LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | type->knownhost_mask, &entry);
  if (rc == LIBSSH2_KNOWNHOST_CHECK_MATCH) return Lookup::Match;
  Lookup result = Lookup::Mismatch;
  if (rc != LIBSSH2_KNOWNHOST_CHECK_MISMATCH) {
    // Without a key type libssh2 compares with every entry of the name: a "mismatch" then means
    // the name has keys, of other types only.
    const int any_type = libssh2_knownhost_check(
        hosts_, name.c_str(), key.blob.data(), key.blob.size(),
        LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW, &entry);
    if (any_type != LIBSSH2_KNOWNHOST_CHECK_MISMATCH) return Lookup::NotFound;
    result = Lookup::OtherType;
  }
  if (line != nullptr && entry != nullptr) {
    auto found = lines_.find(entry);
    *line = found != lines_.end() ? found->second : 0;
  }
  return result;
}

std::vector<std::string> KnownHostsFile::known_types(const std::vector<std::string>& names) const {
  std::vector<std::string> types;
  for (const KeyType& type : kKeyTypes) {
    // A probe key that cannot match: "mismatch" means an entry of this type exists.
    const HostKey probe{"?", type.hostkey_type};
    bool is_known = false;
    for (const std::string& name : names)
      is_known = is_known || lookup(name, probe) == Lookup::Mismatch;
    if (is_known) types.emplace_back(type.name);
  }
  return types;
}

std::string KnownHostsFile::preferred_methods(const std::vector<std::string>& names) const {
  const std::vector<std::string> types = known_types(names);
  std::string known;
  std::string others;
  for (const KeyType& type : kKeyTypes) {
    const bool is_known = std::find(types.begin(), types.end(), type.name) != types.end();
    std::string& list = is_known ? known : others;
    list += (list.empty() ? "" : ",") + std::string(type.name);
  }
  return known.empty() ? others : others.empty() ? known : known + "," + others;
}

void KnownHostsFile::add_to_memory(std::string line) {
  ++line_count_;
  // With the newline: libssh2 1.10 looks one past `len` for a newline to drop, and would cut
  // the key's last character if it found one there.
  line += "\n";
  if (libssh2_knownhost_readline(hosts_, line.data(), line.size(),
                                 LIBSSH2_KNOWNHOST_FILE_OPENSSH) == 0) {
    note_new_entries(line_count_);
  }
}

std::string KnownHostsFile::record(const std::vector<std::string>& names, HostKey key) {
  const KeyType* type = find_key_type(key.type);
  if (type == nullptr) return "cannot record a host key of unknown type in " + path_;
  Pending entry{names, type->name, std::string(key.blob)};
  std::string line;
  for (const std::string& name : names) line += (line.empty() ? "" : ",") + name;
  add_to_memory(line + " " + entry.type + " " + base64(entry.blob));
  pending_.push_back(std::move(entry));
  return "";
}

// OpenSSH writes one line per name when it hashes (a hashed entry holds one name).
std::string KnownHostsFile::lines_for(const Pending& entry) const {
  const std::string key = " " + entry.type + " " + base64(entry.blob) + "\n";
  if (!is_hashed_) {
    std::string line;
    for (const std::string& name : entry.names) line += (line.empty() ? "" : ",") + name;
    return line + key;
  }
  std::string lines;
  for (const std::string& name : entry.names) lines += hashed_name(name) + key;
  return lines;
}

std::string KnownHostsFile::flush() {
  if (pending_.empty()) return "";
  LockedFile file{::open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600)};
  if (file.fd < 0) return "cannot write " + path_ + ": " + base::errno_text(errno);
  ::flock(file.fd, LOCK_EX);
  // Another run may have appended since this one loaded the file: skip what it recorded.
  const std::string text = read_all(file.fd);
  LIBSSH2_KNOWNHOSTS* now = libssh2_knownhost_init(owner_);
  std::size_t start = 0;
  while (now != nullptr && start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start) + "\n";
    is_hashed_ = is_hashed_ || line.starts_with("|1|");
    libssh2_knownhost_readline(now, line.data(), line.size(), LIBSSH2_KNOWNHOST_FILE_OPENSSH);
    start = end + 1;
  }
  std::string lines = !text.empty() && text.back() != '\n' ? "\n" : "";
  for (const Pending& entry : pending_) {
    const KeyType* type = nullptr;
    for (const KeyType& candidate : kKeyTypes)
      if (entry.type == candidate.name) type = &candidate;
    int known = 0;
    for (const std::string& name : entry.names) {
      known += now != nullptr &&
               libssh2_knownhost_check(now, name.c_str(), entry.blob.data(), entry.blob.size(),
                                       LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
                                           type->knownhost_mask,
                                       nullptr) == LIBSSH2_KNOWNHOST_CHECK_MATCH;
    }
    if (known < static_cast<int>(entry.names.size())) lines += lines_for(entry);
  }
  if (now != nullptr) libssh2_knownhost_free(now);
  pending_.clear();
  if (lines.empty() || lines == "\n") return "";
  // One write: O_APPEND under the lock keeps concurrent runs' lines whole.
  if (::write(file.fd, lines.data(), lines.size()) != static_cast<ssize_t>(lines.size()))
    return "cannot write " + path_ + ": " + base::errno_text(errno);
  return "";
}

std::vector<std::string> KnownHostsCache::flush() {
  std::vector<std::string> errors;
  for (auto& [path, file] : files_)
    if (std::string error = file->flush(); !error.empty()) errors.push_back(std::move(error));
  return errors;
}

KnownHostsFile& KnownHostsCache::get(const std::string& path) {
  auto& file = files_[path];
  if (!file) file = std::make_unique<KnownHostsFile>(path);
  return *file;
}

std::string check_host_key(KnownHostsCache& cache, LIBSSH2_SESSION* session,
                           const ConnectionSpec& spec) {
  if (spec.host_key_check == HostKeyCheck::Off) return "";
  std::size_t length = 0;
  int type = 0;
  const char* blob = libssh2_session_hostkey(session, &length, &type);
  if (blob == nullptr) return "the server sent no host key";
  const HostKey key{std::string_view(blob, length), type};
  KnownHostsFile& file = cache.get(spec.known_hosts);
  const std::string mode = std::string(" (host_key_check ") + to_string(spec.host_key_check) + ")";
  if (!file.load_error().empty())
    return "cannot check the host key of \"" + spec.name + "\": " + file.load_error() + mode;

  int line = 0;
  const std::string address = known_hosts_name(spec.address, spec.port);
  const std::string name = known_hosts_name(spec.name, spec.port);
  const Lookup by_address = file.lookup(address, key, &line);
  const Lookup by_name =
      name == address ? by_address : file.lookup(name, key, line ? nullptr : &line);
  switch (decide(spec.host_key_check, by_address, by_name)) {
    case Verdict::Accept:
      return "";
    case Verdict::AcceptAndRecord:
      return file.record(name == address ? std::vector{name} : std::vector{name, address}, key);
    case Verdict::RejectMismatch: {
      const KeyType* shown = find_key_type(type);
      const std::string detail =
          changed_key_detail(shown != nullptr ? shown->name : "a", key_fingerprint(key.blob),
                             by_name == Lookup::Mismatch ? name : address, file.path());
      return host_key_message(Verdict::RejectMismatch, spec,
                              file.path() + (line > 0 ? ":" + std::to_string(line) : ""), detail);
    }
    case Verdict::RejectOtherType: {
      const KeyType* shown = find_key_type(type);
      const std::string detail = other_type_detail(shown != nullptr ? shown->name : "unknown",
                                                   file.known_types({address, name}));
      return host_key_message(Verdict::RejectOtherType, spec,
                              file.path() + (line > 0 ? ":" + std::to_string(line) : ""), detail);
    }
    case Verdict::RejectUnknown:
      break;
  }
  return host_key_message(Verdict::RejectUnknown, spec, file.path(),
                          file.is_missing() ? "the file does not exist" : "");
}

}  // namespace deployd::ssh
