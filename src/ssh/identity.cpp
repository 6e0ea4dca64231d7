// SPDX-License-Identifier: MIT
// Private key files, each read and parsed once per run; ed25519 keys sign through OpenSSL.
#include "ssh/identity.hpp"

#include <libssh2.h>
#include <openssl/evp.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

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

/// The ed25519 seed from the private section: checkints, type, public key, seed||public, comment.
ParsedKey read_ed25519_private(std::string_view section, OpensshKey key) {
  Reader reader(section);
  const std::uint32_t check1 = reader.u32();
  const std::uint32_t check2 = reader.u32();
  const std::string_view type = reader.string();
  const std::string_view public_key = reader.string();
  const std::string_view private_key = reader.string();
  if (!reader.is_ok() || type != key.type) return {std::nullopt, "malformed private key section"};
  if (check1 != check2) return {std::nullopt, "corrupt private key (check bytes differ)"};
  if (public_key.size() != 32 || private_key.size() != 64) {
    return {std::nullopt, "malformed ed25519 key lengths"};
  }
  key.ed25519_seed = std::string(private_key.substr(0, 32));
  return {std::move(key), ""};
}

std::string read_file(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::string reason = std::strerror(errno);
    if (!reason.empty())
      reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
    *error = "cannot read: " + reason;
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
  reader.string();  // kdf options
  const std::uint32_t count = reader.u32();
  key.public_blob = reader.string();
  const std::string_view private_section = reader.string();
  if (!reader.is_ok()) return {std::nullopt, "truncated OpenSSH private key"};
  if (count != 1)
    return {std::nullopt, "OpenSSH private key files with several keys are not supported"};
  Reader public_reader(key.public_blob);
  key.type = public_reader.string();
  if (!public_reader.is_ok()) return {std::nullopt, "malformed public key"};
  if (key.cipher != "none" || kdf != "none" || key.type != "ssh-ed25519")
    return {std::move(key), ""};
  return read_ed25519_private(private_section, std::move(key));
}

void Identity::KeyDeleter::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

Identity::Identity(std::string path) : path_(std::move(path)) {
  const std::string text = read_file(path_, &error_);
  if (error_.empty()) classify(text);
}

Identity::~Identity() = default;

void Identity::classify(const std::string& text) {
  if (text.find(kBegin) == std::string::npos) {
    // PEM (RSA, EC, PKCS#8) keys: libssh2 reads them itself.
    is_encrypted_ = text.find("ENCRYPTED") != std::string::npos;
    is_rsa_ = text.find("BEGIN RSA PRIVATE KEY") != std::string::npos;
    return;
  }
  ParsedKey parsed = parse_openssh_key(text);
  if (!parsed.key) {
    error_ = parsed.error;
    return;
  }
  is_encrypted_ = parsed.key->cipher != "none";
  is_rsa_ = parsed.key->type == "ssh-rsa";
  if (parsed.key->ed25519_seed.empty()) return;
  if (parsed.key->public_blob.size() < 4 + 11 + 4 + 32) {
    error_ = "malformed ed25519 public key";
    return;
  }
  const auto* seed = reinterpret_cast<const unsigned char*>(parsed.key->ed25519_seed.data());
  key_.reset(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed, 32));
  std::array<unsigned char, 32> derived{};
  std::size_t length = derived.size();
  const std::string_view stated =
      std::string_view(parsed.key->public_blob).substr(parsed.key->public_blob.size() - 32);
  if (!key_ || EVP_PKEY_get_raw_public_key(key_.get(), derived.data(), &length) != 1 ||
      std::memcmp(derived.data(), stated.data(), 32) != 0) {
    key_.reset();
    error_ = "the ed25519 private key does not match its public key";
    return;
  }
  public_blob_ = std::move(parsed.key->public_blob);
}

int Identity::sign(LIBSSH2_SESSION*, unsigned char** signature, std::size_t* signature_length,
                   const unsigned char* data, std::size_t data_length, void** abstract) {
  const auto* identity = static_cast<const Identity*>(*abstract);
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  // Ed25519 signatures are 64 bytes; libssh2 frees them with its allocator (malloc by default).
  auto* buffer = static_cast<unsigned char*>(std::malloc(64));
  std::size_t length = 64;
  const bool is_signed =
      context != nullptr && buffer != nullptr &&
      EVP_DigestSignInit(context, nullptr, nullptr, nullptr, identity->key_.get()) == 1 &&
      EVP_DigestSign(context, buffer, &length, data, data_length) == 1;
  EVP_MD_CTX_free(context);
  if (!is_signed) {
    std::free(buffer);
    return -1;
  }
  *signature = buffer;
  *signature_length = length;
  return 0;
}

const Identity& IdentityCache::get(const std::string& path) {
  auto& identity = identities_[path];
  if (!identity) identity = std::make_unique<Identity>(path);
  return *identity;
}

}  // namespace deployd::ssh
