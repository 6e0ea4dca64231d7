// SPDX-License-Identifier: MIT
// Host key checks against known_hosts files, each loaded once per run and shared by all sessions.
#include "ssh/known_hosts.hpp"

#include <fcntl.h>
#include <libssh2.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>

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

std::string errno_text(int error) {
  std::string text = std::strerror(error);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

/// Appends `line` to the file at `path` in one write under an exclusive flock, adding the
/// newline a hand-edited file may lack at its end.
std::string append_line(const std::string& path, std::string line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot write " + path + ": " + errno_text(errno);
  ::flock(fd, LOCK_EX);
  struct stat info {};
  char last = '\n';
  if (::fstat(fd, &info) == 0 && info.st_size > 0) {
    const int reader = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (reader >= 0) {
      if (::pread(reader, &last, 1, info.st_size - 1) != 1) last = '\n';
      ::close(reader);
    }
  }
  if (last != '\n') line.insert(0, "\n");
  const bool is_written =
      ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  const int error = errno;
  ::flock(fd, LOCK_UN);
  ::close(fd);
  return is_written ? "" : "cannot write " + path + ": " + errno_text(error);
}

}  // namespace

Verdict decide(HostKeyCheck mode, Lookup by_address, Lookup by_name) {
  if (mode == HostKeyCheck::Off) return Verdict::Accept;
  if (by_address == Lookup::Mismatch || by_name == Lookup::Mismatch) {
    return Verdict::RejectMismatch;
  }
  if (by_address == Lookup::Match || by_name == Lookup::Match) return Verdict::Accept;
  return mode == HostKeyCheck::AcceptNew ? Verdict::AcceptAndRecord : Verdict::RejectUnknown;
}

std::string known_hosts_name(std::string_view host, int port) {
  if (port == 22) return std::string(host);
  return "[" + std::string(host) + "]:" + std::to_string(port);
}

std::string host_key_message(Verdict verdict, const ConnectionSpec& spec,
                             std::string_view location) {
  const std::string mode = std::string("(host_key_check ") + to_string(spec.host_key_check) + ")";
  const std::string host = "host key for \"" + spec.name + "\"";
  if (verdict == Verdict::RejectMismatch) {
    const bool is_v6 = spec.address.find(':') != std::string::npos;
    const std::string address = is_v6 ? "[" + spec.address + "]" : spec.address;
    return host + " (" + address + ":" + std::to_string(spec.port) + ") does not match " +
           std::string(location) + " " + mode;
  }
  return host + " is not in " + std::string(location) + " " + mode;
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
  std::ifstream in(path_);
  if (!in) {
    if (errno != ENOENT) load_error_ = "cannot read " + path_ + ": " + errno_text(errno);
    return;
  }
  std::string line;
  while (std::getline(in, line)) {
    ++line_count_;
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
  if (rc != LIBSSH2_KNOWNHOST_CHECK_MISMATCH) return Lookup::NotFound;
  if (line != nullptr && entry != nullptr) {
    auto found = lines_.find(entry);
    *line = found != lines_.end() ? found->second : 0;
  }
  return Lookup::Mismatch;
}

std::string KnownHostsFile::preferred_methods(const std::vector<std::string>& names) const {
  std::string known;
  std::string others;
  for (const KeyType& type : kKeyTypes) {
    // A probe key that cannot match: "mismatch" means an entry of this type exists.
    const HostKey probe{"?", type.hostkey_type};
    bool is_known = false;
    for (const std::string& name : names)
      is_known = is_known || lookup(name, probe) != Lookup::NotFound;
    std::string& list = is_known ? known : others;
    list += (list.empty() ? "" : ",") + std::string(type.name);
  }
  return known.empty() ? others : others.empty() ? known : known + "," + others;
}

std::string KnownHostsFile::append(const std::vector<std::string>& names, HostKey key) {
  const KeyType* type = find_key_type(key.type);
  if (type == nullptr) return "cannot record a host key of unknown type in " + path_;
  std::string line;
  for (const std::string& name : names) line += (line.empty() ? "" : ",") + name;
  line += std::string(" ") + type->name + " " + base64(key.blob) + "\n";
  std::string error = append_line(path_, line);
  if (!error.empty()) return error;
  ++line_count_;
  // With the newline: libssh2 1.10 looks one past `len` for a newline to drop, and would cut
  // the key's last character if it found one there.
  if (libssh2_knownhost_readline(hosts_, line.data(), line.size(),
                                 LIBSSH2_KNOWNHOST_FILE_OPENSSH) == 0) {
    note_new_entries(line_count_);
  }
  return "";
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
  if (!file.load_error().empty()) return file.load_error();

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
      return file.append(name == address ? std::vector{name} : std::vector{name, address}, key);
    case Verdict::RejectMismatch:
      return host_key_message(Verdict::RejectMismatch, spec,
                              file.path() + (line > 0 ? ":" + std::to_string(line) : ""));
    case Verdict::RejectUnknown:
      break;
  }
  return host_key_message(Verdict::RejectUnknown, spec, file.path());
}

}  // namespace deployd::ssh
