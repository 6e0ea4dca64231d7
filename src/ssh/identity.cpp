// SPDX-License-Identifier: MIT
// Private key files, each read and parsed once per run; ed25519 keys sign through OpenSSL.
#include "ssh/identity.hpp"

#include <libssh2.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "base/errno_text.hpp"
#include "ssh/bcrypt_pbkdf.hpp"

namespace deployd::ssh {
namespace {

constexpr std::string_view kBegin = "-----BEGIN OPENSSH PRIVATE KEY-----";
constexpr std::string_view kEnd = "-----END OPENSSH PRIVATE KEY-----";
constexpr std::string_view kMagic{"openssh-key-v1\0", 15};

/// Reads SSH wire-format fields (RFC 4251 5: uint32 and length-prefixed strings) from a buffer.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool is_ok() const { return is_ok_; }

  std::uint32_t u32() {
    if (data_.size() < 4) return fail(), 0;
    const auto* b = reinterpret_cast<const unsigned char*>(data_.data());
    data_.remove_prefix(4);
    return std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3];
  }
  std::string_view string() {
    const std::uint32_t length = u32();
    if (!is_ok_ || data_.size() < length) return fail(), std::string_view();
    std::string_view field = data_.substr(0, length);
    data_.remove_prefix(length);
    return field;
  }
  bool skip_prefix(std::string_view prefix) {
    if (data_.substr(0, prefix.size()) != prefix) return fail(), false;
    data_.remove_prefix(prefix.size());
    return true;
  }

 private:
  void fail() { is_ok_ = false; }
  std::string_view data_;
  bool is_ok_ = true;
};

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/// The private key from a (decrypted) private section: checkints, then type, public parts,
/// private parts and comment (PROTOCOL.key). ed25519: public key, seed||public. ECDSA: curve,
/// point Q, mpint d.
ParsedKey read_private(std::string_view section, OpensshKey key) {
  Reader reader(section);
  const std::uint32_t check1 = reader.u32();
  const std::uint32_t check2 = reader.u32();
  if (!reader.is_ok()) return {std::nullopt, "malformed private key section"};
  if (check1 != check2) {
    return {std::nullopt,
            key.cipher == "none" ? "corrupt private key (check bytes differ)" : "wrong passphrase"};
  }
  const std::string_view type = reader.string();
  if (!reader.is_ok() || type != key.type) return {std::nullopt, "malformed private key section"};
  if (type == "ssh-ed25519") {
    const std::string_view public_key = reader.string();
    const std::string_view private_key = reader.string();
    if (!reader.is_ok()) return {std::nullopt, "malformed private key section"};
    if (public_key.size() != 32 || private_key.size() != 64) {
      return {std::nullopt, "malformed ed25519 key lengths"};
    }
    key.ed25519_seed = std::string(private_key.substr(0, 32));
  } else if (type.starts_with("ecdsa-sha2-")) {
    key.ecdsa_curve = reader.string();
    key.ecdsa_point = reader.string();
    std::string_view scalar = reader.string();
    if (!reader.is_ok()) return {std::nullopt, "malformed ECDSA private key"};
    while (!scalar.empty() && scalar.front() == '\0') scalar.remove_prefix(1);  // mpint sign byte
    key.ecdsa_scalar = std::string(scalar);
  }
  return {std::move(key), ""};
}

/// OpenSSL's cipher for an OpenSSH key cipher name.
const EVP_CIPHER* cipher_named(std::string_view name) {
  if (name == "aes256-ctr") return EVP_aes_256_ctr();
  if (name == "aes192-ctr") return EVP_aes_192_ctr();
  if (name == "aes128-ctr") return EVP_aes_128_ctr();
  if (name == "aes256-cbc") return EVP_aes_256_cbc();
  if (name == "aes192-cbc") return EVP_aes_192_cbc();
  if (name == "aes128-cbc") return EVP_aes_128_cbc();
  return nullptr;
}

/// `bytes` as an SSH string field.
std::string wire_string(std::string_view bytes) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(bytes.size() >> (24 - 8 * i) & 0xff);
  return out + std::string(bytes);
}

/// A big number as an SSH mpint field (a 0 byte before a set high bit).
std::string wire_mpint(const BIGNUM* number) {
  std::string bytes(static_cast<std::size_t>(BN_num_bytes(number)), '\0');
  BN_bn2bin(number, reinterpret_cast<unsigned char*>(bytes.data()));
  if (!bytes.empty() && (static_cast<unsigned char>(bytes[0]) & 0x80)) bytes.insert(0, 1, '\0');
  return wire_string(bytes);
}

const char* openssl_group(std::string_view curve) {
  if (curve == "nistp256") return "prime256v1";
  if (curve == "nistp384") return "secp384r1";
  if (curve == "nistp521") return "secp521r1";
  return nullptr;
}

EVP_PKEY* ecdsa_key(const OpensshKey& key) {
  const char* group = openssl_group(key.ecdsa_curve);
  if (group == nullptr) return nullptr;
  BIGNUM* scalar = BN_bin2bn(reinterpret_cast<const unsigned char*>(key.ecdsa_scalar.data()),
                             static_cast<int>(key.ecdsa_scalar.size()), nullptr);
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  EVP_PKEY* pkey = nullptr;
  if (scalar != nullptr && builder != nullptr &&
      OSSL_PARAM_BLD_push_utf8_string(builder, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(builder, OSSL_PKEY_PARAM_PUB_KEY, key.ecdsa_point.data(),
                                       key.ecdsa_point.size()) == 1 &&
      OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_PRIV_KEY, scalar) == 1) {
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(builder);
    EVP_PKEY_CTX* context = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
    if (params != nullptr && context != nullptr && EVP_PKEY_fromdata_init(context) == 1)
      EVP_PKEY_fromdata(context, &pkey, EVP_PKEY_KEYPAIR, params);
    EVP_PKEY_CTX_free(context);
    OSSL_PARAM_free(params);
  }
  OSSL_PARAM_BLD_free(builder);
  BN_clear_free(scalar);
  return pkey;
}

const EVP_MD* ecdsa_digest(std::string_view type) {
  if (type == "ecdsa-sha2-nistp256") return EVP_sha256();
  if (type == "ecdsa-sha2-nistp384") return EVP_sha384();
  return EVP_sha512();
}

/// Why a private key file must not be used before it is read: missing, not a file (a FIFO would
/// block), or open to others. As OpenSSH (sshkey_perm_ok): a key of ours that group or others
/// may access is refused, since someone else may have read, or replaced, it.
std::string file_problem(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return "cannot read: " + base::errno_text(errno);
  if (S_ISDIR(info.st_mode)) return "cannot read: it is a directory";
  if (!S_ISREG(info.st_mode)) return "cannot read: not a regular file";
  if (info.st_uid == ::getuid() && (info.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    return std::string("permissions ") + mode +
           " are too open: a private key must be accessible by its owner only (chmod 600 " + path +
           ")";
  }
  return "";
}

std::string read_file(const std::string& path, std::string* error) {
  *error = file_problem(path);
  if (!error->empty()) return "";
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot read: " + base::errno_text(errno);
    return "";
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view text) {
  std::string bytes;
  std::uint32_t bits = 0;
  int count = 0;
  bool is_padding = false;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      is_padding = true;
      continue;
    }
    const int value = base64_value(c);
    if (value < 0 || is_padding) return std::nullopt;
    bits = bits << 6 | static_cast<std::uint32_t>(value);
    if (++count == 4) {
      bytes += static_cast<char>(bits >> 16);
      bytes += static_cast<char>(bits >> 8 & 0xff);
      bytes += static_cast<char>(bits & 0xff);
      bits = 0;
      count = 0;
    }
  }
  if (count == 1) return std::nullopt;
  if (count == 2) bytes += static_cast<char>(bits >> 4);
  if (count == 3) {
    bytes += static_cast<char>(bits >> 10);
    bytes += static_cast<char>(bits >> 2 & 0xff);
  }
  return bytes;
}

ParsedKey parse_openssh_key(std::string_view text) {
  const std::size_t begin = text.find(kBegin);
  const std::size_t end = text.find(kEnd);
  if (begin == std::string_view::npos || end == std::string_view::npos || end < begin) {
    return {std::nullopt, "not an OpenSSH private key"};
  }
  const auto body = text.substr(begin + kBegin.size(), end - begin - kBegin.size());
  const std::optional<std::string> bytes = decode_base64(body);
  if (!bytes) return {std::nullopt, "invalid base64 in OpenSSH private key"};

  Reader reader(*bytes);
  OpensshKey key;
  if (!reader.skip_prefix(kMagic)) return {std::nullopt, "not an openssh-key-v1 key"};
  key.cipher = reader.string();
  const std::string_view kdf = reader.string();
  Reader options(reader.string());
  const std::uint32_t count = reader.u32();
  key.public_blob = reader.string();
  const std::string_view private_section = reader.string();
  if (!reader.is_ok()) return {std::nullopt, "truncated OpenSSH private key"};
  if (count != 1)
    return {std::nullopt, "OpenSSH private key files with several keys are not supported"};
  Reader public_reader(key.public_blob);
  key.type = public_reader.string();
  if (!public_reader.is_ok()) return {std::nullopt, "malformed public key"};
  const bool is_supported = key.type == "ssh-ed25519" || key.type.starts_with("ecdsa-sha2-");
  if (key.cipher == "none" && kdf == "none")
    return is_supported ? read_private(private_section, std::move(key))
                        : ParsedKey{std::move(key), ""};
  if (kdf == "bcrypt") {
    key.kdf_salt = options.string();
    key.kdf_rounds = options.u32();
    if (!options.is_ok()) return {std::nullopt, "malformed bcrypt options"};
  }
  key.private_section = private_section;
  return {std::move(key), ""};
}

ParsedKey decrypt_openssh_key(OpensshKey key, std::string_view passphrase) {
  const EVP_CIPHER* cipher = cipher_named(key.cipher);
  if (cipher == nullptr) return {std::nullopt, "unsupported key cipher \"" + key.cipher + "\""};
  if (key.kdf_rounds == 0) return {std::nullopt, "unsupported key derivation (not bcrypt)"};
  const auto key_length = static_cast<std::size_t>(EVP_CIPHER_get_key_length(cipher));
  const auto iv_length = static_cast<std::size_t>(EVP_CIPHER_get_iv_length(cipher));
  const std::string secret =
      bcrypt_pbkdf(passphrase, key.kdf_salt, key.kdf_rounds, key_length + iv_length);
  const std::string& sealed = key.private_section;
  if (secret.empty() || sealed.size() % 16 != 0) return {std::nullopt, "malformed encrypted key"};
  std::string plain(sealed.size(), '\0');
  EVP_CIPHER_CTX* context = EVP_CIPHER_CTX_new();
  int length = 0;
  const auto* secret_bytes = reinterpret_cast<const unsigned char*>(secret.data());
  const bool is_done =
      context != nullptr &&
      EVP_DecryptInit_ex(context, cipher, nullptr, secret_bytes, secret_bytes + key_length) == 1 &&
      EVP_CIPHER_CTX_set_padding(context, 0) == 1 &&
      EVP_DecryptUpdate(context, reinterpret_cast<unsigned char*>(plain.data()), &length,
                        reinterpret_cast<const unsigned char*>(sealed.data()),
                        static_cast<int>(sealed.size())) == 1;
  EVP_CIPHER_CTX_free(context);
  if (!is_done) return {std::nullopt, "cannot decrypt the key"};
  ParsedKey parsed = read_private(plain, std::move(key));
  OPENSSL_cleanse(plain.data(), plain.size());
  return parsed;
}

void Identity::KeyDeleter::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

Identity::Identity(std::string path) : path_(std::move(path)) {
  const std::string text = read_file(path_, &error_);
  if (error_.empty()) classify(text);
}

Identity::~Identity() = default;

void Identity::classify(const std::string& text) {
  if (text.find(kBegin) == std::string::npos) {
    // PEM (RSA, EC, PKCS#8) keys: parsed here when OpenSSL can (once), else read by libssh2.
    is_encrypted_ = text.find("ENCRYPTED") != std::string::npos;
    is_rsa_ = text.find("BEGIN RSA PRIVATE KEY") != std::string::npos;
    is_pem_ = !is_rsa_ && text.find("-----BEGIN ") != std::string::npos;
    if (is_pem_) pem_text_ = text;
    if (is_pem_ && !is_encrypted_) unlock("");
    return;
  }
  ParsedKey parsed = parse_openssh_key(text);
  if (!parsed.key) {
    error_ = parsed.error;
    return;
  }
  is_encrypted_ = parsed.key->cipher != "none";
  is_rsa_ = parsed.key->type == "ssh-rsa";
  const bool is_supported =
      parsed.key->type == "ssh-ed25519" || parsed.key->type.starts_with("ecdsa-sha2-");
  if (!is_supported) return;
  if (is_encrypted_) {
    public_blob_ = parsed.key->public_blob;  // readable without the passphrase (agent lookups)
    openssh_ = std::move(parsed.key);
    return;
  }
  error_ = adopt(*parsed.key);
}

// Makes the OpenSSL key of a readable OpenSSH key and checks it against its public key.
std::string Identity::adopt(const OpensshKey& parsed) {
  if (parsed.type == "ssh-ed25519") {
    if (parsed.public_blob.size() < 4 + 11 + 4 + 32) return "malformed ed25519 public key";
    const auto* seed = reinterpret_cast<const unsigned char*>(parsed.ed25519_seed.data());
    key_.reset(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed, 32));
    std::array<unsigned char, 32> derived{};
    std::size_t length = derived.size();
    const std::string_view stated =
        std::string_view(parsed.public_blob).substr(parsed.public_blob.size() - 32);
    if (!key_ || EVP_PKEY_get_raw_public_key(key_.get(), derived.data(), &length) != 1 ||
        std::memcmp(derived.data(), stated.data(), 32) != 0) {
      key_.reset();
      return "the ed25519 private key does not match its public key";
    }
  } else {
    key_.reset(ecdsa_key(parsed));
    if (!key_) return "cannot read the ECDSA key (curve \"" + parsed.ecdsa_curve + "\")";
    // OpenSSL checks that d and Q belong together.
    EVP_PKEY_CTX* check = EVP_PKEY_CTX_new(key_.get(), nullptr);
    const bool is_pair = check != nullptr && EVP_PKEY_pairwise_check(check) == 1;
    EVP_PKEY_CTX_free(check);
    if (!is_pair) {
      key_.reset();
      return "the ECDSA private key does not match its public key";
    }
  }
  type_ = parsed.type;
  public_blob_ = parsed.public_blob;
  return "";
}

// A PEM ed25519 or EC key from OpenSSL: its SSH type and public blob.
std::string Identity::adopt_pem(EVP_PKEY* pkey) {
  key_.reset(pkey);
  if (EVP_PKEY_get_id(pkey) == EVP_PKEY_ED25519) {
    std::array<unsigned char, 32> raw{};
    std::size_t length = raw.size();
    EVP_PKEY_get_raw_public_key(pkey, raw.data(), &length);
    type_ = "ssh-ed25519";
    public_blob_ = wire_string(type_) + wire_string({reinterpret_cast<char*>(raw.data()), length});
    return "";
  }
  char group[64] = {};
  std::size_t group_length = 0;
  std::array<unsigned char, 160> point{};
  std::size_t point_length = 0;
  if (EVP_PKEY_get_id(pkey) == EVP_PKEY_EC &&
      EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                     &group_length) == 1 &&
      EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size(),
                                      &point_length) == 1) {
    for (const char* curve : {"nistp256", "nistp384", "nistp521"}) {
      if (std::string_view(group) != openssl_group(curve)) continue;
      type_ = std::string("ecdsa-sha2-") + curve;
      public_blob_ = wire_string(type_) + wire_string(curve) +
                     wire_string({reinterpret_cast<char*>(point.data()), point_length});
      return "";
    }
  }
  key_.reset();  // another key type: libssh2 reads the file itself
  return "";
}

std::string Identity::unlock(std::string_view passphrase) {
  if (key_) return "";
  if (is_pem_) {
    BIO* bio = BIO_new_mem_buf(pem_text_.data(), static_cast<int>(pem_text_.size()));
    std::string secret(passphrase);
    EVP_PKEY* pkey = bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, secret.data()) : nullptr;
    OPENSSL_cleanse(secret.data(), secret.size());
    BIO_free(bio);
    if (pkey == nullptr) return is_encrypted_ ? "wrong passphrase" : "";
    return adopt_pem(pkey);
  }
  if (!openssh_) return "";
  ParsedKey parsed = decrypt_openssh_key(*openssh_, passphrase);
  if (!parsed.key) return parsed.error;
  std::string error = adopt(*parsed.key);
  OPENSSL_cleanse(parsed.key->ed25519_seed.data(), parsed.key->ed25519_seed.size());
  OPENSSL_cleanse(parsed.key->ecdsa_scalar.data(), parsed.key->ecdsa_scalar.size());
  if (error.empty()) openssh_.reset();
  return error;
}

int Identity::sign(LIBSSH2_SESSION*, unsigned char** signature, std::size_t* signature_length,
                   const unsigned char* data, std::size_t data_length, void** abstract) {
  const auto* identity = static_cast<const Identity*>(*abstract);
  const bool is_ed25519 = identity->type_ == "ssh-ed25519";
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  std::string raw(is_ed25519 ? 64 : 160, '\0');
  std::size_t length = raw.size();
  const bool is_signed =
      context != nullptr &&
      EVP_DigestSignInit(context, nullptr, is_ed25519 ? nullptr : ecdsa_digest(identity->type_),
                         nullptr, identity->key_.get()) == 1 &&
      EVP_DigestSign(context, reinterpret_cast<unsigned char*>(raw.data()), &length, data,
                     data_length) == 1;
  EVP_MD_CTX_free(context);
  if (!is_signed) return -1;
  raw.resize(length);
  if (!is_ed25519) {
    // OpenSSL gives DER; SSH wants mpint r, mpint s (RFC 5656 3.1.2).
    const auto* der = reinterpret_cast<const unsigned char*>(raw.data());
    ECDSA_SIG* parts = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(raw.size()));
    if (parts == nullptr) return -1;
    raw = wire_mpint(ECDSA_SIG_get0_r(parts)) + wire_mpint(ECDSA_SIG_get0_s(parts));
    ECDSA_SIG_free(parts);
  }
  // libssh2 frees the signature with its allocator (malloc by default).
  auto* buffer = static_cast<unsigned char*>(std::malloc(raw.size()));
  if (buffer == nullptr) return -1;
  std::memcpy(buffer, raw.data(), raw.size());
  *signature = buffer;
  *signature_length = raw.size();
  return 0;
}

Identity& IdentityCache::get(const std::string& path) {
  auto& identity = identities_[path];
  if (!identity) identity = std::make_unique<Identity>(path);
  return *identity;
}

}  // namespace deployd::ssh

namespace deployd::ssh {
namespace {

/// The public keys an ssh-agent holds (SSH_AUTH_SOCK), asked once; empty without an agent.
std::set<std::string> agent_keys() {
  std::set<std::string> blobs;
  if (std::getenv("SSH_AUTH_SOCK") == nullptr) return blobs;
  LIBSSH2_SESSION* session = libssh2_session_init();
  LIBSSH2_AGENT* agent = session ? libssh2_agent_init(session) : nullptr;
  if (agent != nullptr && libssh2_agent_connect(agent) == 0 &&
      libssh2_agent_list_identities(agent) == 0) {
    libssh2_agent_publickey* identity = nullptr;
    while (libssh2_agent_get_identity(agent, &identity, identity) == 0)
      blobs.emplace(reinterpret_cast<const char*>(identity->blob), identity->blob_len);
    libssh2_agent_disconnect(agent);
  }
  if (agent != nullptr) libssh2_agent_free(agent);
  if (session != nullptr) libssh2_session_free(session);
  return blobs;
}

}  // namespace

std::string unlock_identities(IdentityCache& cache, const std::vector<KeyUse>& uses,
                              const AskPassphrase& ask) {
  std::optional<std::set<std::string>> in_agent;
  for (const KeyUse& use : uses) {
    Identity& identity = cache.get(use.path);
    // A key the plan names that cannot be used is an error in the plan's setup, said once here
    // rather than as an authentication failure on every host; a default ~/.ssh key is skipped.
    if (use.is_named && !identity.error().empty())
      return "identity " + use.path + ": " + identity.error();
    if (!identity.can_unlock()) continue;
    if (!in_agent) in_agent = agent_keys();
    if (in_agent->count(identity.public_blob())) {
      identity.set_in_agent(true);
      continue;
    }
    std::optional<std::string> passphrase = use.passphrase;
    std::string from = "passphrase_env \"" + use.passphrase_env + "\"";
    if (!passphrase) {
      passphrase = ask ? ask(use.path) : std::nullopt;
      from = "typed on the terminal";
    }
    if (!passphrase) {
      if (!use.is_named) continue;  // a default key: the agent or other keys may do
      return use.path +
             ": the key is encrypted: give its passphrase in the environment variable that "
             "passphrase_env names, add it to the agent (ssh-add), or run on a terminal";
    }
    std::string error = identity.unlock(*passphrase);
    OPENSSL_cleanse(passphrase->data(), passphrase->size());
    if (!error.empty()) return use.path + ": " + error + " (" + from + ")";
  }
  return "";
}

}  // namespace deployd::ssh
