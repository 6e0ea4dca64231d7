// SPDX-License-Identifier: MIT
// Private key files, each read and parsed once per run; ed25519 keys sign through OpenSSL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

typedef struct _LIBSSH2_SESSION LIBSSH2_SESSION;
typedef struct evp_pkey_st EVP_PKEY;

namespace deployd::ssh {

/// What deployd reads of an openssh-key-v1 private key file (OpenSSH's PROTOCOL.key).
struct OpensshKey {
  std::string type;          ///< "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", ...
  std::string public_blob;   ///< the public key in SSH wire format
  std::string cipher;        ///< "none" unless the key is encrypted
  std::string ed25519_seed;  ///< the 32-byte private seed of an ed25519 key, once readable
  std::string ecdsa_curve;   ///< "nistp256", "nistp384" or "nistp521"
  std::string ecdsa_point;   ///< the public point Q (uncompressed)
  std::string ecdsa_scalar;  ///< the private scalar d, big-endian, once readable
  std::string kdf_salt;      ///< bcrypt salt of an encrypted key
  std::uint32_t kdf_rounds = 0;
  std::string private_section;  ///< encrypted private keys, as stored
};

/// A parsed key, or why the text is not a usable openssh-key-v1 key.
struct ParsedKey {
  std::optional<OpensshKey> key;
  std::string error;
};

/// Parses the text of an `-----BEGIN OPENSSH PRIVATE KEY-----` file.
ParsedKey parse_openssh_key(std::string_view file_text);

/// Decrypts an encrypted key's private section (bcrypt_pbkdf, then AES); the error says
/// "wrong passphrase" when the check bytes differ.
ParsedKey decrypt_openssh_key(OpensshKey key, std::string_view passphrase);

/// Decodes standard base64, skipping whitespace; nullopt on any other stray character.
std::optional<std::string> decode_base64(std::string_view text);

/// A private key file read once. ed25519 and ECDSA keys in OpenSSH format are parsed here (an
/// encrypted one once unlock() is given its passphrase) and sign in-process (~0.15 ms/host);
/// other keys are handed to libssh2 by path.
class Identity {
 public:
  /// Reads and classifies the file; never fails (a problem is kept in error()).
  explicit Identity(std::string path);
  ~Identity();
  Identity(const Identity&) = delete;
  Identity& operator=(const Identity&) = delete;

  const std::string& path() const { return path_; }
  /// Why the key cannot be used at all, without the path (`cannot read: ...`); "" if it can.
  const std::string& error() const { return error_; }
  bool can_sign() const { return key_ != nullptr; }
  bool is_encrypted() const { return is_encrypted_; }
  bool is_rsa() const { return is_rsa_; }
  /// Encrypted, and parsed only once unlock() succeeds (an OpenSSH ed25519/ECDSA or a PEM key).
  bool can_unlock() const { return is_encrypted_ && !key_ && (openssh_ || is_pem_); }
  /// Decrypts and parses the key once; returns an error ("wrong passphrase ...") or "".
  std::string unlock(std::string_view passphrase);
  /// The agent holds this key: sessions ask the agent to sign with it.
  bool is_in_agent() const { return is_in_agent_; }
  void set_in_agent(bool in_agent) { is_in_agent_ = in_agent; }
  /// SSH wire-format public key; set when can_sign() or can_unlock().
  const std::string& public_blob() const { return public_blob_; }

  /// libssh2_userauth_publickey's sign callback; `*abstract` is the Identity.
  static int sign(LIBSSH2_SESSION* session, unsigned char** signature,
                  std::size_t* signature_length, const unsigned char* data, std::size_t data_length,
                  void** abstract);

 private:
  void classify(const std::string& text);
  std::string adopt(const OpensshKey& key);
  std::string adopt_pem(EVP_PKEY* key);

  std::string path_;
  std::string error_;
  std::string pem_text_;
  std::optional<OpensshKey> openssh_;
  bool is_encrypted_ = false;
  bool is_rsa_ = false;
  bool is_pem_ = false;
  bool is_in_agent_ = false;
  std::string type_;
  std::string public_blob_;
  struct KeyDeleter {
    void operator()(EVP_PKEY* key) const;
  };
  std::unique_ptr<EVP_PKEY, KeyDeleter> key_;
};

/// The run's identities by path.
class IdentityCache {
 public:
  Identity& get(const std::string& path);

 private:
  std::map<std::string, std::unique_ptr<Identity>> identities_;
};

/// A key the run will use, and the passphrase its host's passphrase_env gives, if any.
struct KeyUse {
  std::string path;
  bool is_named = true;  ///< named by the plan; false for ~/.ssh defaults (skipped if locked)
  std::optional<std::string> passphrase;
  std::string passphrase_env;  ///< the variable's name, for messages
};

/// Asks for the passphrase of the key at a path (on the terminal); nullopt if it cannot.
using AskPassphrase = std::function<std::optional<std::string>(const std::string& path)>;

/// Before any connection: every encrypted key of `uses` is marked as held by the agent, or
/// decrypted once with its passphrase (passphrase_env, else asked once). Returns the first error
/// (a named key that is missing, open to others or unreadable, a wrong passphrase, a named key
/// that cannot be unlocked), naming the key.
std::string unlock_identities(IdentityCache& cache, const std::vector<KeyUse>& uses,
                              const AskPassphrase& ask);

}  // namespace deployd::ssh
