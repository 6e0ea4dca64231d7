// SPDX-License-Identifier: MIT
// Tests src/ssh/known_hosts.cpp: the host-key decision table, names, messages and the file store.
#include "ssh/known_hosts.hpp"

#include <doctest/doctest.h>
#include <libssh2.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ssh/identity.hpp"
#include "ssh/init.hpp"
#include "support/temp_folder.hpp"

using deployd::testing::file_text;
namespace {

using namespace deployd::ssh;

constexpr const char* kKeyA =
    "AAAAC3NzaC1lZDI1NTE5AAAAIDnMOS46HT4CyGl8xykPVVUKbN4TFnium0J9cncYmlq5";
constexpr const char* kKeyB =
    "AAAAC3NzaC1lZDI1NTE5AAAAIMtxDDCLfr7fb+IV8xr3csQXbdrYfanWpy0AmcGC5s/5";
constexpr const char* kEcdsaPublicKey =
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKAuWDfbOBNGIntCAZT2MbI+k8KzXLB9mBbIZ6wdP3"
    "zJprb5koj4gP5EmJywpeNqBerpiRtMpr9Nky5Vac9TgU8=";

std::string base64(std::string_view bytes) {
  std::string text(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  text.resize(static_cast<std::size_t>(EVP_EncodeBlock(
      reinterpret_cast<unsigned char*>(text.data()),
      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()))));
  return text;
}

/// An OpenSSH hashed name: |1|base64(salt)|base64(HMAC-SHA1(salt, name)).
std::string hashed(const std::string& name) {
  const std::string salt = "0123456789abcdefghij";
  unsigned char digest[20];
  unsigned int length = sizeof digest;
  HMAC(EVP_sha1(), salt.data(), static_cast<int>(salt.size()),
       reinterpret_cast<const unsigned char*>(name.data()), name.size(), digest, &length);
  return "|1|" + base64(salt) + "|" +
         base64(std::string_view(reinterpret_cast<char*>(digest), length));
}

struct KnownHostsFixture {
  deployd::testing::TempFolder dir;
  std::string path = (dir.path() / "known_hosts").string();
  std::string key_a = *decode_base64(kKeyA);
  std::string key_b = *decode_base64(kKeyB);
  std::string ecdsa = *decode_base64(kEcdsaPublicKey);

  KnownHostsFixture() { init_library(); }

  HostKey a() const { return {key_a, LIBSSH2_HOSTKEY_TYPE_ED25519}; }
  HostKey b() const { return {key_b, LIBSSH2_HOSTKEY_TYPE_ED25519}; }
  HostKey e() const { return {ecdsa, LIBSSH2_HOSTKEY_TYPE_ECDSA_256}; }
};

ConnectionSpec spec_for(std::string name, std::string address, int port, HostKeyCheck mode) {
  ConnectionSpec spec;
  spec.name = std::move(name);
  spec.address = std::move(address);
  spec.port = port;
  spec.host_key_check = mode;
  return spec;
}

}  // namespace

TEST_SUITE("ssh") {
  TEST_CASE("the host-key decision table") {
    using L = Lookup;
    using V = Verdict;
    struct Row {
      HostKeyCheck mode;
      Lookup by_address;
      Lookup by_name;
      Verdict verdict;
    };
    const Row rows[] = {
        {HostKeyCheck::Strict, L::Match, L::Match, V::Accept},
        {HostKeyCheck::Strict, L::Match, L::NotFound, V::Accept},
        {HostKeyCheck::Strict, L::NotFound, L::Match, V::Accept},
        {HostKeyCheck::Strict, L::NotFound, L::NotFound, V::RejectUnknown},
        {HostKeyCheck::Strict, L::Mismatch, L::NotFound, V::RejectMismatch},
        {HostKeyCheck::Strict, L::NotFound, L::Mismatch, V::RejectMismatch},
        {HostKeyCheck::Strict, L::Match, L::Mismatch, V::RejectMismatch},
        {HostKeyCheck::Strict, L::Mismatch, L::Match, V::RejectMismatch},
        {HostKeyCheck::AcceptNew, L::Match, L::NotFound, V::Accept},
        {HostKeyCheck::AcceptNew, L::NotFound, L::Match, V::Accept},
        {HostKeyCheck::AcceptNew, L::NotFound, L::NotFound, V::AcceptAndRecord},
        {HostKeyCheck::AcceptNew, L::Mismatch, L::NotFound, V::RejectMismatch},
        {HostKeyCheck::AcceptNew, L::NotFound, L::Mismatch, V::RejectMismatch},
        {HostKeyCheck::AcceptNew, L::Match, L::Mismatch, V::RejectMismatch},
        // Keys of other types only: refused even by accept-new (OpenSSH: "has changed").
        {HostKeyCheck::Strict, L::OtherType, L::NotFound, V::RejectOtherType},
        {HostKeyCheck::Strict, L::NotFound, L::OtherType, V::RejectOtherType},
        {HostKeyCheck::AcceptNew, L::OtherType, L::OtherType, V::RejectOtherType},
        {HostKeyCheck::AcceptNew, L::OtherType, L::Match, V::Accept},
        {HostKeyCheck::Strict, L::OtherType, L::Mismatch, V::RejectMismatch},
        {HostKeyCheck::Off, L::OtherType, L::OtherType, V::Accept},
        {HostKeyCheck::Off, L::NotFound, L::NotFound, V::Accept},
        {HostKeyCheck::Off, L::Mismatch, L::Mismatch, V::Accept},
        {HostKeyCheck::Off, L::Match, L::Mismatch, V::Accept},
    };
    for (const Row& row : rows) {
      CAPTURE(static_cast<int>(row.mode));
      CAPTURE(static_cast<int>(row.by_address));
      CAPTURE(static_cast<int>(row.by_name));
      CHECK(decide(row.mode, row.by_address, row.by_name) == row.verdict);
    }
  }

  TEST_CASE("known_hosts names carry the port unless it is 22") {
    CHECK(known_hosts_name("web07", 22) == "web07");
    CHECK(known_hosts_name("web07", 2222) == "[web07]:2222");
    CHECK(known_hosts_name("::1", 2299) == "[::1]:2299");
  }

  TEST_CASE("refusals name the host, the address dialled, the file and the mode") {
    const auto spec = spec_for("node001", "127.0.10.1", 2222, HostKeyCheck::Strict);
    CHECK(host_key_message(Verdict::RejectMismatch, spec, "/f/known_hosts:3") ==
          "host key for \"node001\" (127.0.10.1:2222) does not match /f/known_hosts:3 "
          "(host_key_check strict)");
    CHECK(host_key_message(Verdict::RejectUnknown, spec, "/f/known_hosts") ==
          "host key for \"node001\" is not in /f/known_hosts (host_key_check strict)");
    const auto v6 = spec_for("db", "::1", 22, HostKeyCheck::AcceptNew);
    CHECK(host_key_message(Verdict::RejectMismatch, v6, "/f/kh:1") ==
          "host key for \"db\" ([::1]:22) does not match /f/kh:1 (host_key_check accept-new)");
    CHECK(host_key_message(Verdict::RejectUnknown, spec, "/f/kh", "the file does not exist") ==
          "host key for \"node001\" is not in /f/kh (host_key_check strict): the file does not "
          "exist");
  }

  TEST_CASE(
      "a changed key says the fingerprint the server showed and the ssh-keygen -R fix (issue 19)") {
    CHECK(key_fingerprint("") == "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU");
    CHECK(changed_key_detail("ssh-ed25519", "SHA256:abc", "[node003]:2522", "/f/known hosts") ==
          "HOST KEY CHANGED: the server showed ssh-ed25519 SHA256:abc; someone may be intercepting "
          "the "
          "connection, or the host was reinstalled (then remove its old key: ssh-keygen -R "
          "'[node003]:2522' "
          "-f '/f/known hosts')");
  }

  TEST_CASE("a key of another type than the file knows says both types") {
    CHECK(other_type_detail("ssh-ed25519", {"ecdsa-sha2-nistp256"}) ==
          "the server showed a ssh-ed25519 key and the file has only ecdsa-sha2-nistp256 keys for "
          "this host: the server offers none of those key types");
    const std::string rsa = other_type_detail("ssh-ed25519", {"ssh-rsa"});
    CHECK(rsa.find("only ssh-rsa keys") != std::string::npos);
    CHECK(rsa.find("ssh-rsa (SHA-1)") != std::string::npos);
    CHECK(rsa.find("ssh-keyscan -t ed25519") != std::string::npos);
  }

  TEST_CASE_FIXTURE(KnownHostsFixture, "a known_hosts file matches plain and hashed names") {
    std::ofstream(path) << "# comment\n"
                        << "\n"
                        << "[a]:2222,[127.0.99.1]:2222 ssh-ed25519 " << kKeyA << "\n"
                        << "@cert-authority *.example.com ssh-ed25519 " << kKeyA << "\n"
                        << "this line is not a known_hosts line\n"
                        << hashed("[b]:2222") << " ssh-ed25519 " << kKeyB << "\n"
                        << "hostc ecdsa-sha2-nistp256 " << kEcdsaPublicKey << "\n";
    const KnownHostsFile file(path);
    REQUIRE(file.load_error().empty());
    CHECK(file.lookup("[a]:2222", a()) == Lookup::Match);
    CHECK(file.lookup("[127.0.99.1]:2222", a()) == Lookup::Match);
    CHECK(file.lookup("[b]:2222", b()) == Lookup::Match);
    CHECK(file.lookup("hostc", e()) == Lookup::Match);
    CHECK(file.lookup("[nobody]:2222", a()) == Lookup::NotFound);
    CHECK(file.lookup("a", a()) == Lookup::NotFound);  // no port-22 fallback, as in OpenSSH

    int line = 0;
    CHECK(file.lookup("[a]:2222", b(), &line) == Lookup::Mismatch);
    CHECK(line == 3);
    CHECK(file.lookup("[b]:2222", a(), &line) == Lookup::Mismatch);
    CHECK(line == 6);
    // Another key type is not a mismatch, and is not "not found" either.
    CHECK(file.lookup("hostc", a(), &line) == Lookup::OtherType);
    CHECK(line == 7);
    CHECK(file.known_types({"hostc"}) == std::vector<std::string>{"ecdsa-sha2-nistp256"});
    CHECK(file.known_types({"[a]:2222", "hostc"}) ==
          std::vector<std::string>{"ssh-ed25519", "ecdsa-sha2-nistp256"});
  }

  TEST_CASE_FIXTURE(KnownHostsFixture,
                    "hashed port-22 and [host]:port names match, as plain ones") {
    std::ofstream(path) << hashed("web07.example.com") << " ssh-ed25519 " << kKeyA << "\n"
                        << hashed("[web07.example.com]:2222") << " ssh-ed25519 " << kKeyB << "\n"
                        << hashed("127.0.99.7") << " ecdsa-sha2-nistp256 " << kEcdsaPublicKey
                        << "\n";
    const KnownHostsFile file(path);
    CHECK(file.lookup("web07.example.com", a()) == Lookup::Match);
    CHECK(file.lookup("[web07.example.com]:2222", b()) == Lookup::Match);
    CHECK(file.lookup("web07.example.com", b()) == Lookup::Mismatch);
    CHECK(file.lookup("127.0.99.7", a()) == Lookup::OtherType);
    CHECK(file.lookup("[127.0.99.7]:2222", a()) == Lookup::NotFound);
  }

  TEST_CASE_FIXTURE(KnownHostsFixture, "host key methods already known for a host come first") {
    // (libssh2 1.10 drops one-letter host names, hence "hostc".)
    std::ofstream(path) << "hostc ecdsa-sha2-nistp256 " << kEcdsaPublicKey << "\n"
                        << hashed("[b]:2222") << " ssh-ed25519 " << kKeyB << "\n";
    const KnownHostsFile file(path);
    const std::string fallback =
        "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,ssh-rsa,ssh-dss";
    CHECK(
        file.preferred_methods({"hostc"}) ==
        "ecdsa-sha2-nistp256,ssh-ed25519,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,ssh-rsa,ssh-dss");
    CHECK(file.preferred_methods({"x", "[b]:2222"}) == fallback);
    CHECK(file.preferred_methods({"unknown"}) == fallback);
  }

  TEST_CASE_FIXTURE(KnownHostsFixture, "accept-new knows a key at once and writes it on flush") {
    std::ofstream(path) << "hostc ecdsa-sha2-nistp256 " << kEcdsaPublicKey;  // no final newline
    KnownHostsFile file(path);
    CHECK(file.record({"[n]:2222", "[127.0.99.9]:2222"}, b()).empty());
    CHECK(file.lookup("[n]:2222", b()) == Lookup::Match);
    CHECK(file.lookup("[127.0.99.9]:2222", b()) == Lookup::Match);
    CHECK(file_text(path) ==
          std::string("hostc ecdsa-sha2-nistp256 ") + kEcdsaPublicKey);  // nothing yet
    CHECK(file.flush() == "");
    CHECK(file_text(path) == std::string("hostc ecdsa-sha2-nistp256 ") + kEcdsaPublicKey + "\n" +
                                 "[n]:2222,[127.0.99.9]:2222 ssh-ed25519 " + kKeyB + "\n");
    CHECK(file.pending() == 0);
    CHECK(file.flush() == "");  // nothing twice
    const KnownHostsFile reread(path);
    int line = 0;
    CHECK(reread.lookup("[n]:2222", a(), &line) == Lookup::Mismatch);
    CHECK(line == 2);
  }

  TEST_CASE_FIXTURE(KnownHostsFixture, "200 new hosts are written in one flush, 200 lines") {
    KnownHostsFile file(path);
    for (int i = 0; i < 200; ++i) {
      CHECK(file.record({"[h" + std::to_string(i) + "]:2222"}, a()).empty());
      CHECK_FALSE(std::filesystem::exists(path));
    }
    CHECK(file.flush() == "");
    std::string text = file_text(path);
    CHECK(std::count(text.begin(), text.end(), '\n') == 200);
    const KnownHostsFile reread(path);
    for (int i = 0; i < 200; ++i)
      CHECK(reread.lookup("[h" + std::to_string(i) + "]:2222", a()) == Lookup::Match);
  }

  TEST_CASE_FIXTURE(KnownHostsFixture, "a file with hashed names gets hashed names, one per line") {
    std::ofstream(path) << hashed("[old]:2222") << " ssh-ed25519 " << kKeyA << "\n";
    KnownHostsFile file(path);
    CHECK(file.is_hashed());
    CHECK(file.record({"[new]:2222", "[127.0.0.8]:2222"}, b()).empty());
    CHECK(file.flush() == "");
    const std::string text = file_text(path);
    CHECK(text.find("new") == std::string::npos);
    CHECK(text.find("127.0.0.8") == std::string::npos);
    CHECK(std::count(text.begin(), text.end(), '\n') == 3);
    const KnownHostsFile reread(path);
    CHECK(reread.lookup("[new]:2222", b()) == Lookup::Match);
    CHECK(reread.lookup("[127.0.0.8]:2222", b()) == Lookup::Match);
    CHECK(reread.lookup("[new]:2222", a()) == Lookup::Mismatch);
  }

  TEST_CASE_FIXTURE(KnownHostsFixture,
                    "two writers of one file: the second skips what the first wrote") {
    KnownHostsFile first(path);
    KnownHostsFile second(path);
    CHECK(first.record({"[x1]:2222"}, a()).empty());
    CHECK(second.record({"[x1]:2222"}, a()).empty());
    CHECK(second.record({"[x2]:2222"}, b()).empty());
    CHECK(first.flush() == "");
    CHECK(second.flush() == "");
    CHECK(file_text(path) == std::string("[x1]:2222 ssh-ed25519 ") + kKeyA + "\n" +
                                 "[x2]:2222 ssh-ed25519 " + kKeyB + "\n");
  }

  TEST_CASE_FIXTURE(KnownHostsFixture, "a missing file knows no host; the cache loads it once") {
    KnownHostsCache cache;
    KnownHostsFile& first = cache.get(path);
    CHECK(first.load_error().empty());
    CHECK(first.lookup("[a]:2222", a()) == Lookup::NotFound);
    CHECK(&cache.get(path) == &first);
    CHECK(first.is_missing());
  }

  TEST_CASE_FIXTURE(KnownHostsFixture, "a folder or a FIFO in place of the file is an error") {
    std::filesystem::create_directory(path);
    const KnownHostsFile folder(path);
    CHECK(folder.load_error() == "cannot read " + path + ": it is a directory");
    const std::string fifo = (dir.path() / "fifo").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const KnownHostsFile pipe(fifo);  // would block forever if it were opened
    CHECK(pipe.load_error() == "cannot read " + fifo + ": not a regular file");
    const KnownHostsFile null("/dev/null");
    CHECK(null.load_error().empty());
  }
}
