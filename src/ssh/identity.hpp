// SPDX-License-Identifier: MIT
// Private key files, each read and parsed once per run; ed25519 keys sign through OpenSSL.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

typedef struct _LIBSSH2_SESSION LIBSSH2_SESSION;
typedef struct evp_pkey_st EVP_PKEY;

namespace deployd::ssh {

/// What deployd reads of an openssh-key-v1 private key file (OpenSSH's PROTOCOL.key).
struct OpensshKey {
  std::string type;          ///< "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", ...
  std::string public_blob;   ///< the public key in SSH wire format
  std::string cipher;        ///< "none" unless the key is encrypted
  std::string ed25519_seed;  ///< the 32-byte private seed of an unencrypted ed25519 key
};

/// A parsed key, or why the text is not a usable openssh-key-v1 key.
struct ParsedKey {
  std::optional<OpensshKey> key;
  std::string error;
};

/// Parses the text of an `-----BEGIN OPENSSH PRIVATE KEY-----` file.
ParsedKey parse_openssh_key(std::string_view file_text);

/// Decodes standard base64, skipping whitespace; nullopt on any other stray character.
std::optional<std::string> decode_base64(std::string_view text);

/// A private key file read once. Unencrypted ed25519 keys are parsed here and sign in-process
/// (~0.15 ms/host); other keys are handed to libssh2 by path.
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
  /// SSH wire-format public key; set when can_sign().
  const std::string& public_blob() const { return public_blob_; }

  /// libssh2_userauth_publickey's sign callback; `*abstract` is the Identity.
  static int sign(LIBSSH2_SESSION* session, unsigned char** signature,
                  std::size_t* signature_length, const unsigned char* data, std::size_t data_length,
                  void** abstract);

 private:
  void classify(const std::string& text);

  std::string path_;
  std::string error_;
  bool is_encrypted_ = false;
  bool is_rsa_ = false;
  std::string public_blob_;
  struct KeyDeleter {
    void operator()(EVP_PKEY* key) const;
  };
  std::unique_ptr<EVP_PKEY, KeyDeleter> key_;
};

/// The run's identities by path.
class IdentityCache {
 public:
  const Identity& get(const std::string& path);

 private:
  std::map<std::string, std::unique_ptr<Identity>> identities_;
};

}  // namespace deployd::ssh
