// SPDX-License-Identifier: MIT
// Tests src/engine/ssh_transport.cpp: plan hosts become ssh::ConnectionSpecs.
#include "engine/ssh_transport.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>

using deployd::Host;
using deployd::engine::connection_spec;
using deployd::ssh::ConnectionSpec;

TEST_SUITE("ssh") {
  TEST_CASE("a host's connection keys become a connection spec") {
    Host host;
    host.name = "web07";
    host.port = 2222;
    host.user = "deploy";
    host.identities = {"/keys/a", "/keys/b"};
    host.known_hosts = "/etc/deployd/known_hosts";
    host.host_key_check = deployd::HostKeyCheck::AcceptNew;
    host.connect_timeout = std::chrono::seconds(3);
    host.keepalive = std::chrono::seconds(20);
    const auto result = connection_spec(host);
    REQUIRE(std::holds_alternative<ConnectionSpec>(result));
    const auto& spec = std::get<ConnectionSpec>(result);
    CHECK(spec.name == "web07");
    CHECK(spec.address == "web07");  // the name is dialled when no address is given
    CHECK(spec.port == 2222);
    CHECK(spec.user == "deploy");
    CHECK(spec.identities == host.identities);
    CHECK(spec.known_hosts == "/etc/deployd/known_hosts");
    CHECK(spec.host_key_check == deployd::ssh::HostKeyCheck::AcceptNew);
    CHECK(spec.connect_timeout == std::chrono::seconds(3));
    CHECK(spec.keepalive == std::chrono::seconds(20));
    CHECK_FALSE(spec.password.has_value());
  }

  TEST_CASE("unset user and known_hosts fall back to the controller's") {
    Host host;
    host.name = "db1";
    host.address = "127.0.0.9";
    const auto spec = std::get<ConnectionSpec>(connection_spec(host));
    CHECK(spec.address == "127.0.0.9");
    CHECK_FALSE(spec.user.empty());
    CHECK(spec.known_hosts == std::string(std::getenv("HOME")) + "/.ssh/known_hosts");
  }

  TEST_CASE("a password comes from the environment variable the plan names") {
    Host host;
    host.name = "db1";
    host.password_env = "DEPLOYD_UNIT_TEST_PASSWORD";
    ::setenv("DEPLOYD_UNIT_TEST_PASSWORD", "s3cret", 1);
    const auto set = connection_spec(host);
    REQUIRE(std::holds_alternative<ConnectionSpec>(set));
    CHECK(std::get<ConnectionSpec>(set).password == "s3cret");

    ::unsetenv("DEPLOYD_UNIT_TEST_PASSWORD");
    const auto unset = connection_spec(host);
    REQUIRE(std::holds_alternative<std::string>(unset));
    CHECK(std::get<std::string>(unset) ==
          "environment variable \"DEPLOYD_UNIT_TEST_PASSWORD\" (password_env) is not set");
  }
}
