// SPDX-License-Identifier: MIT
// Which warm session may serve which request: every field that changes what a session is
// changes its key, and a key file replaced on disk does too.
#include "warm/lending_key.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "support/temp_folder.hpp"

namespace deployd::warm {
namespace {

namespace fs = std::filesystem;

ssh::ConnectionSpec base_spec(const std::string& identity) {
  ssh::ConnectionSpec spec;
  spec.name = "web1";
  spec.address = "127.0.34.1";
  spec.port = 2234;
  spec.user = "deploy";
  spec.identities = {identity};
  spec.known_hosts = "/k/known_hosts";
  return spec;
}

TEST_CASE("a session is lent only to the same user, address, port, keys and host key rules") {
  const testing::TempFolder folder;
  const std::string identity = folder.write("id", "key one");
  const ssh::ConnectionSpec spec = base_spec(identity);
  const std::string key = lending_key(spec);
  CHECK(lending_key(spec) == key);

  SUBCASE("the host's name and connect timeout do not matter") {
    ssh::ConnectionSpec other = spec;
    other.name = "127.0.34.1";
    other.connect_timeout = std::chrono::seconds(3);
    CHECK(lending_key(other) == key);
  }
  const std::vector<std::pair<const char*, std::function<void(ssh::ConnectionSpec&)>>> changes = {
      {"user", [](ssh::ConnectionSpec& s) { s.user = "root"; }},
      {"address", [](ssh::ConnectionSpec& s) { s.address = "127.0.34.2"; }},
      {"port", [](ssh::ConnectionSpec& s) { s.port = 22; }},
      {"identity", [](ssh::ConnectionSpec& s) { s.identities = {"/other/id"}; }},
      {"no identity", [](ssh::ConnectionSpec& s) { s.identities.clear(); }},
      {"identities_only", [](ssh::ConnectionSpec& s) { s.identities_only = true; }},
      {"known_hosts", [](ssh::ConnectionSpec& s) { s.known_hosts = "/other/known_hosts"; }},
      {"host_key_check", [](ssh::ConnectionSpec& s) { s.host_key_check = ssh::HostKeyCheck::Off; }},
      {"keepalive", [](ssh::ConnectionSpec& s) { s.keepalive = std::chrono::seconds(1); }},
      // Fields run together must not make the same text: "ab"+"c" is not "a"+"bc".
      {"user/address boundary",
       [](ssh::ConnectionSpec& s) {
         s.user = "deploy1";
         s.address = "27.0.34.1";
       }},
  };
  for (const auto& entry : changes) {  // no structured binding: CAPTURE's lambda (clang 14)
    const auto& what = entry.first;
    ssh::ConnectionSpec other = spec;
    entry.second(other);
    CAPTURE(what);
    CHECK(lending_key(other) != key);
  }

  SUBCASE("a key file replaced at the same path makes another key") {
    fs::remove(identity);
    std::ofstream(identity) << "key two, longer";
    CHECK(lending_key(spec) != key);
  }
}

}  // namespace
}  // namespace deployd::warm
