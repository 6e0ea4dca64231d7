// SPDX-License-Identifier: MIT
// Tests src/ssh/identity.cpp: base64, openssh-key-v1 parsing, and ed25519 signing.
#include "ssh/identity.hpp"

#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/temp_folder.hpp"

namespace {

using deployd::ssh::decode_base64;
using deployd::ssh::Identity;
using deployd::ssh::parse_openssh_key;

// Keys made with ssh-keygen for these tests only; they open nothing.
constexpr const char* kEd25519 = R"(-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACA5zDkuOh0+AshpfMcpD1VVCmzeExZ4rptCfXJ3GJpauQAAAJAK0pnjCtKZ
4wAAAAtzc2gtZWQyNTUxOQAAACA5zDkuOh0+AshpfMcpD1VVCmzeExZ4rptCfXJ3GJpauQ
AAAECaUxhZ4LhOyqZQLklg2OQ/UfXxvzQnOytTFR478TpcyTnMOS46HT4CyGl8xykPVVUK
bN4TFnium0J9cncYmlq5AAAACXVuaXQtdGVzdAECAwQ=
-----END OPENSSH PRIVATE KEY-----
)";
constexpr const char* kEd25519Public =
    "AAAAC3NzaC1lZDI1NTE5AAAAIDnMOS46HT4CyGl8xykPVVUKbN4TFnium0J9cncYmlq5";

constexpr const char* kEncrypted = R"(-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABCd7mSZcd
+zK1A+Qi3eLsDZAAAAEAAAAAEAAAAzAAAAC3NzaC1lZDI1NTE5AAAAICIHTJGH4pvSOVmA
1m1qkWITcX9U4eb5SDNF649kJyDnAAAAkDAjhgpCJbe442V+v2SBQFxpmnJ7ngdz2zH+fp
5go3HEW02ZBGu/yY3WTIdHhwI4iXAZL2bv+cRmVP3VlngNmC5cT2XqH2nb9WzlXZxqZGos
wUEZ3ySt43Ci/fZoSk4de+wbqe+WtIbK76VtUkvVuiudKbvtryu8leXnUs2gZR35zpy1UF
7jGYx2JJ1O+KdjXA==
-----END OPENSSH PRIVATE KEY-----
)";

constexpr const char* kEcdsa = R"(-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAaAAAABNlY2RzYS
1zaGEyLW5pc3RwMjU2AAAACG5pc3RwMjU2AAAAQQSgLlg32zgTRiJ7QgGU9jGyPpPCs1yw
fZgWyGesHT98yaa2+ZKI+ID+RJicsKXjagXq6YkbTKa/TZMuVWnPU4FPAAAAqO79VHfu/V
R3AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKAuWDfbOBNGIntC
AZT2MbI+k8KzXLB9mBbIZ6wdP3zJprb5koj4gP5EmJywpeNqBerpiRtMpr9Nky5Vac9TgU
8AAAAhAIHfP/knnngY+dhx7imVHEIOb4BIV6LL4myYd08oEnW5AAAACXVuaXQtdGVzdAEC
AwQFBg==
-----END OPENSSH PRIVATE KEY-----
)";

/// A file with `text` in a fresh temporary folder, removed afterwards.
struct TempFile {
  deployd::testing::TempFolder dir;
  std::filesystem::path path;
  explicit TempFile(const std::string& text) : path(dir.write("key", text)) {
    // As ssh-keygen writes keys: owner only (a key open to others is refused).
    std::filesystem::permissions(
        path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
};

bool verifies(const std::string& public_blob, const unsigned char* signature, std::size_t length,
              std::string_view data) {
  const auto* raw =
      reinterpret_cast<const unsigned char*>(public_blob.data()) + public_blob.size() - 32;
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw, 32);
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  const bool is_valid =
      EVP_DigestVerifyInit(context, nullptr, nullptr, nullptr, key) == 1 &&
      EVP_DigestVerify(context, signature, length,
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(context);
  EVP_PKEY_free(key);
  return is_valid;
}

}  // namespace

TEST_SUITE("ssh") {
  TEST_CASE("base64 decodes with or without padding and skips line breaks") {
    CHECK(decode_base64("aGVsbG8=") == "hello");
    CHECK(decode_base64("aGVsbG8") == "hello");
    CHECK(decode_base64("aGVs\nbG8h") == "hello!");
    CHECK(decode_base64("") == "");
    CHECK_FALSE(decode_base64("aGVs*G8=").has_value());
    CHECK_FALSE(decode_base64("a").has_value());
    CHECK_FALSE(decode_base64("aG=Vs").has_value());
  }

  TEST_CASE("an unencrypted ed25519 key yields its seed and public key") {
    const auto parsed = parse_openssh_key(kEd25519);
    REQUIRE_MESSAGE(parsed.key, parsed.error);
    CHECK(parsed.key->type == "ssh-ed25519");
    CHECK(parsed.key->cipher == "none");
    CHECK(parsed.key->ed25519_seed.size() == 32);
    CHECK(parsed.key->public_blob == decode_base64(kEd25519Public));
  }

  TEST_CASE("encrypted and non-ed25519 keys are recognised but not opened") {
    const auto encrypted = parse_openssh_key(kEncrypted);
    REQUIRE_MESSAGE(encrypted.key, encrypted.error);
    CHECK(encrypted.key->type == "ssh-ed25519");
    CHECK(encrypted.key->cipher == "aes256-ctr");
    CHECK(encrypted.key->ed25519_seed.empty());

    const auto ecdsa = parse_openssh_key(kEcdsa);
    REQUIRE_MESSAGE(ecdsa.key, ecdsa.error);
    CHECK(ecdsa.key->type == "ecdsa-sha2-nistp256");
    CHECK(ecdsa.key->ed25519_seed.empty());
  }

  TEST_CASE("malformed key files say what is wrong") {
    CHECK(parse_openssh_key("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----")
              .error == "not an OpenSSH private key");
    CHECK(parse_openssh_key(
              "-----BEGIN OPENSSH PRIVATE KEY-----\n!!\n-----END OPENSSH PRIVATE KEY-----")
              .error == "invalid base64 in OpenSSH private key");
    CHECK(parse_openssh_key(
              "-----BEGIN OPENSSH PRIVATE KEY-----\naGVsbG8=\n-----END OPENSSH PRIVATE KEY-----")
              .error == "not an openssh-key-v1 key");
    std::string truncated = kEd25519;  // keep the first two lines of base64 (140 characters)
    const std::size_t third_line = truncated.find('\n', truncated.find('\n', 40) + 1) + 1;
    truncated.erase(third_line, truncated.find("-----END") - third_line);
    CHECK(parse_openssh_key(truncated).error == "truncated OpenSSH private key");
  }

  TEST_CASE("an ed25519 identity signs what OpenSSL verifies with its public key") {
    TempFile file(kEd25519);
    const Identity identity(file.path.string());
    REQUIRE(identity.error().empty());
    REQUIRE(identity.can_sign());
    CHECK_FALSE(identity.is_encrypted());
    CHECK(identity.public_blob() == decode_base64(kEd25519Public));

    unsigned char* signature = nullptr;
    std::size_t length = 0;
    const std::string data = "session id and userauth request";
    void* abstract = const_cast<Identity*>(&identity);
    REQUIRE(Identity::sign(nullptr, &signature, &length,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                           &abstract) == 0);
    CHECK(length == 64);
    CHECK(verifies(identity.public_blob(), signature, length, data));
    std::free(signature);
  }

  TEST_CASE("identities that libssh2 must read, or that cannot be read, are classified") {
    TempFile encrypted(kEncrypted);
    const Identity locked(encrypted.path.string());
    CHECK(locked.error().empty());
    CHECK(locked.is_encrypted());
    CHECK_FALSE(locked.can_sign());

    TempFile pem("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n");
    const Identity rsa(pem.path.string());
    CHECK(rsa.error().empty());
    CHECK(rsa.is_rsa());
    CHECK_FALSE(rsa.can_sign());

    const Identity missing("/nonexistent/deployd/key");
    CHECK(missing.error() == "cannot read: no such file or directory");
  }

  TEST_CASE("a key open to others, a folder or a FIFO is refused before it is read") {
    TempFile file(kEd25519);
    for (const int mode : {0644, 0640, 0604}) {
      CAPTURE(mode);
      REQUIRE(::chmod(file.path.c_str(), static_cast<mode_t>(mode)) == 0);
      const Identity open_key(file.path.string());
      char text[8];
      std::snprintf(text, sizeof text, "%04o", mode);
      CHECK(open_key.error() == std::string("permissions ") + text +
                                    " are too open: a private key must be accessible by its "
                                    "owner only (chmod 600 " +
                                    file.path.string() + ")");
      CHECK_FALSE(open_key.can_sign());
    }
    REQUIRE(::chmod(file.path.c_str(), 0400) == 0);
    CHECK(Identity(file.path.string()).error().empty());

    const Identity folder(file.dir.path().string());
    CHECK(folder.error() == "cannot read: it is a directory");
    const std::string fifo = (file.dir.path() / "fifo").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(Identity(fifo).error() == "cannot read: not a regular file");  // never opened: no hang
  }
}
