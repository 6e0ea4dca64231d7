// SPDX-License-Identifier: MIT
// Tests src/ssh/bcrypt_pbkdf.cpp and the encrypted keys of src/ssh/identity.cpp: keys made by
// ssh-keygen are decrypted once, sign what OpenSSL verifies, and a wrong passphrase says so.
#include <doctest/doctest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "ssh/bcrypt_pbkdf.hpp"
#include "ssh/identity.hpp"
#include "support/temp_folder.hpp"

using deployd::testing::file_text;
namespace {

using namespace deployd::ssh;
namespace fs = std::filesystem;

constexpr const char* kPassphrase = "unit test passphrase";

std::string hex(std::string_view bytes) {
  std::string out;
  char pair[3];
  for (unsigned char c : bytes) {
    std::snprintf(pair, sizeof pair, "%02x", c);
    out += pair;
  }
  return out;
}

/// ssh-keygen's keys in a temporary folder.
struct Keys {
  deployd::testing::TempFolder dir;

  /// Makes a key (`extra`: e.g. "-m PEM") and returns its path. Its passphrase goes through 2
  /// bcrypt rounds, not ssh-keygen's 16: the rounds come from the key file and the loop over them
  /// is the same, but 16 made each unlock cost seconds (minutes under the sanitizers).
  std::string make(const std::string& name, const std::string& type,
                   const std::string& extra = "") {
    const std::string path = (dir.path() / name).string();
    const std::string command = "ssh-keygen -q -a 2 -t " + type + " " + extra + " -N '" +
                                kPassphrase + "' -f " + path + " >/dev/null 2>&1";
    REQUIRE(std::system(command.c_str()) == 0);
    return path;
  }

  /// The public key's blob, from the `.pub` file ssh-keygen wrote.
  static std::string public_blob(const std::string& path) {
    std::istringstream line(file_text(path + ".pub"));
    std::string type, base64;
    line >> type >> base64;
    return decode_base64(base64).value_or("");
  }

  /// The public key as OpenSSL reads it (ssh-keygen -e -m PKCS8; ed25519 from its raw bytes).
  EVP_PKEY* openssl_public(const std::string& path) {
    const std::string blob = public_blob(path);
    if (blob.find("ssh-ed25519") != std::string::npos) {
      const auto* raw = reinterpret_cast<const unsigned char*>(blob.data()) + blob.size() - 32;
      return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw, 32);
    }
    const std::string pem = (dir.path() / "public.pem").string();
    const std::string command = "ssh-keygen -e -m PKCS8 -f " + path + ".pub > " + pem;
    REQUIRE(std::system(command.c_str()) == 0);
    FILE* file = std::fopen(pem.c_str(), "r");
    EVP_PKEY* key = file ? PEM_read_PUBKEY(file, nullptr, nullptr, nullptr) : nullptr;
    if (file) std::fclose(file);
    return key;
  }
};

/// Reads an SSH string field at `at`.
std::string field(const std::string& blob, std::size_t& at) {
  const auto* b = reinterpret_cast<const unsigned char*>(blob.data()) + at;
  const std::size_t length = std::size_t{b[0]} << 24 | std::size_t{b[1]} << 16 | b[2] << 8 | b[3];
  at += 4 + length;
  return blob.substr(at - length, length);
}

/// Signs `data` with the identity's callback and verifies it with OpenSSL and the public key.
bool signs_verifiably(const Identity& identity, EVP_PKEY* public_key, const EVP_MD* digest) {
  const std::string data = "session id and userauth request";
  unsigned char* signature = nullptr;
  std::size_t length = 0;
  void* abstract = const_cast<Identity*>(&identity);
  if (Identity::sign(nullptr, &signature, &length,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                     &abstract) != 0)
    return false;
  std::string raw(reinterpret_cast<char*>(signature), length);
  std::free(signature);
  if (digest != nullptr) {
    // SSH's mpint r, mpint s back to DER for OpenSSL.
    std::size_t at = 0;
    const std::string r = field(raw, at);
    const std::string s = field(raw, at);
    ECDSA_SIG* parts = ECDSA_SIG_new();
    ECDSA_SIG_set0(parts,
                   BN_bin2bn(reinterpret_cast<const unsigned char*>(r.data()),
                             static_cast<int>(r.size()), nullptr),
                   BN_bin2bn(reinterpret_cast<const unsigned char*>(s.data()),
                             static_cast<int>(s.size()), nullptr));
    unsigned char* der = nullptr;
    const int der_length = i2d_ECDSA_SIG(parts, &der);
    raw.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(der_length));
    OPENSSL_free(der);
    ECDSA_SIG_free(parts);
  }
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  const bool is_valid =
      EVP_DigestVerifyInit(context, nullptr, digest, nullptr, public_key) == 1 &&
      EVP_DigestVerify(context, reinterpret_cast<const unsigned char*>(raw.data()), raw.size(),
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(context);
  return is_valid;
}

}  // namespace

TEST_SUITE("ssh") {
  TEST_CASE("bcrypt_pbkdf gives the published test vector") {
    // The vector of OpenBSD's and Go's bcrypt_pbkdf tests.
    CHECK(hex(bcrypt_pbkdf("password", "salt", 4, 32)) ==
          "5bbf0cc293587f1c3635555c27796598d47e579071bf427e9d8fbe842aba34d9");
    CHECK(bcrypt_pbkdf("password", "", 4, 32).empty());
    CHECK(bcrypt_pbkdf("password", "salt", 0, 32).empty());
  }

  TEST_CASE("encrypted ed25519 and ECDSA keys from ssh-keygen unlock once and sign") {
    Keys keys;
    struct Case {
      const char* type;
      const char* extra;
      const EVP_MD* digest;
    };
    for (const Case& c :
         {Case{"ed25519", "", nullptr}, Case{"ecdsa", "-b 256", EVP_sha256()},
          Case{"ecdsa", "-b 384", EVP_sha384()}, Case{"ecdsa", "-b 521", EVP_sha512()},
          Case{"ecdsa", "-b 256 -m PEM", EVP_sha256()}}) {
      INFO(c.type << " " << c.extra);
      const std::string path = keys.make(std::string("key_") + c.type, c.type, c.extra);
      Identity identity(path);
      CHECK(identity.error() == "");
      CHECK(identity.is_encrypted());
      CHECK(identity.can_unlock());
      CHECK_FALSE(identity.can_sign());
      CHECK(identity.unlock("wrong") == "wrong passphrase");
      CHECK_FALSE(identity.can_sign());
      CHECK(identity.unlock(kPassphrase) == "");
      CHECK(identity.can_sign());
      CHECK_FALSE(identity.can_unlock());
      CHECK(identity.public_blob() == Keys::public_blob(path));
      EVP_PKEY* public_key = keys.openssl_public(path);
      REQUIRE(public_key != nullptr);
      CHECK(signs_verifiably(identity, public_key, c.digest));
      EVP_PKEY_free(public_key);
      fs::remove(path);
      fs::remove(path + ".pub");
    }
  }

  TEST_CASE("unlock_identities asks once per key, prefers passphrase_env, and names the key") {
    Keys keys;
    const std::string path = keys.make("shared", "ed25519");
    int asked = 0;
    const AskPassphrase ask = [&](const std::string&) -> std::optional<std::string> {
      ++asked;
      return kPassphrase;
    };
    IdentityCache cache;
    // Two hosts using the same key: one question.
    CHECK(unlock_identities(cache, {{path, true, std::nullopt, ""}, {path, true, std::nullopt, ""}},
                            ask) == "");
    CHECK(asked == 1);
    CHECK(cache.get(path).can_sign());

    IdentityCache from_env;
    CHECK(unlock_identities(from_env, {{path, true, std::string(kPassphrase), "KEY_PW"}}, ask) ==
          "");
    CHECK(asked == 1);

    IdentityCache wrong;
    CHECK(unlock_identities(wrong, {{path, true, std::string("nope"), "KEY_PW"}}, ask) ==
          path + ": wrong passphrase (passphrase_env \"KEY_PW\")");

    const AskPassphrase no_terminal = [](const std::string&) { return std::nullopt; };
    IdentityCache locked;
    CHECK(unlock_identities(locked, {{path, false, std::nullopt, ""}}, no_terminal) == "");
    CHECK(unlock_identities(locked, {{path, true, std::nullopt, ""}}, no_terminal) ==
          path +
              ": the key is encrypted: give its passphrase in the environment variable that "
              "passphrase_env names, add it to the agent (ssh-add), or run on a terminal");
  }

  TEST_CASE("a named key that cannot be used stops unlock_identities; a default one is skipped") {
    Keys keys;
    const std::string open_key = keys.make("open", "ed25519");
    REQUIRE(::chmod(open_key.c_str(), 0644) == 0);
    const AskPassphrase never = [](const std::string&) -> std::optional<std::string> {
      FAIL("no passphrase is asked for a key that cannot be used");
      return std::nullopt;
    };
    IdentityCache cache;
    CHECK(unlock_identities(cache, {{open_key, false, std::nullopt, ""}}, never) == "");
    CHECK(unlock_identities(cache, {{open_key, true, std::nullopt, ""}}, never) ==
          "identity " + open_key +
              ": permissions 0644 are too open: a private key must be accessible by its "
              "owner only (chmod 600 " +
              open_key + ")");
    const std::string missing = keys.dir.path().string() + "/missing";
    CHECK(unlock_identities(cache, {{missing, true, std::nullopt, ""}}, never) ==
          "identity " + missing + ": cannot read: no such file or directory");
  }
}
