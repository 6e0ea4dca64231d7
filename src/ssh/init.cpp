// SPDX-License-Identifier: MIT
// Process-wide set-up that ssh/ needs before any session exists.
#include "ssh/init.hpp"

#include <libssh2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>

namespace deployd::ssh {

void init_library() {
  static const bool is_initialised = [] {
    if (libssh2_init(0) != 0) {
      std::fputs("deployd: fatal: libssh2_init failed\n", stderr);
      std::abort();
    }
    // libssh2 sends agent traffic without MSG_NOSIGNAL: a dead agent or peer must be an error
    // code, not a killed process (docs/ssh-notes.md, "Agent traffic and SIGPIPE").
    std::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)is_initialised;
}

void warm_up_crypto() {
  OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, nullptr);
  // Fetching an algorithm once makes OpenSSL 3 load its provider and cache the method.
  for (int type : {EVP_PKEY_X25519, EVP_PKEY_ED25519}) {
    EVP_PKEY_CTX* context = EVP_PKEY_CTX_new_id(type, nullptr);
    EVP_PKEY* key = nullptr;
    if (context != nullptr && EVP_PKEY_keygen_init(context) == 1) EVP_PKEY_keygen(context, &key);
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(context);
  }
  EVP_MD_CTX* digest = EVP_MD_CTX_new();
  EVP_DigestInit_ex(digest, EVP_sha256(), nullptr);
  EVP_MD_CTX_free(digest);
  EVP_CIPHER_CTX* cipher = EVP_CIPHER_CTX_new();
  const unsigned char zeros[16] = {};
  EVP_EncryptInit_ex(cipher, EVP_aes_128_ctr(), nullptr, zeros, zeros);
  EVP_CIPHER_CTX_free(cipher);
}

}  // namespace deployd::ssh
