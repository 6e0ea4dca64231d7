// SPDX-License-Identifier: MIT
// Tests src/engine/jump_route.cpp: a host's `via` becomes the connection specs of its hops.
#include "engine/jump_route.hpp"

#include <doctest/doctest.h>

#include <cstdlib>

using deployd::Host;
using deployd::engine::jump_route;
using deployd::engine::JumpHop;

namespace {

Host target(std::vector<std::string> via) {
  Host host;
  host.name = "web1";
  host.address = "127.0.0.9";
  host.user = "deploy";
  host.identities = {"/keys/id"};
  host.known_hosts = "/etc/known_hosts";
  host.via = std::move(via);
  return host;
}

/// A hop as load time resolves it (plan/host_resolver.cpp): its own keys.
Host hop(const std::string& address, int port, const std::string& user) {
  Host host;
  host.name = address;
  host.address = address;
  host.port = port;
  host.user = user;
  host.identities = {"/keys/hop"};
  return host;
}

std::vector<JumpHop> route_of(const Host& host) {
  auto route = jump_route(host);
  REQUIRE(std::holds_alternative<std::vector<JumpHop>>(route));
  return std::get<std::vector<JumpHop>>(route);
}

}  // namespace

TEST_SUITE("engine") {
  TEST_CASE("each hop connects with its own resolved keys, labelled by its via text") {
    Host host = target({"ops@127.0.0.2:2200"});
    host.via_hosts = {hop("127.0.0.2", 2200, "ops")};
    const auto route = route_of(host);
    REQUIRE(route.size() == 1);
    CHECK(route[0].label == "ops@127.0.0.2:2200");
    CHECK(route[0].spec.address == "127.0.0.2");
    CHECK(route[0].spec.port == 2200);
    CHECK(route[0].spec.user == "ops");
    CHECK(route[0].spec.identities == std::vector<std::string>{"/keys/hop"});
    CHECK(route[0].key == "ops@127.0.0.2:2200");
  }

  TEST_CASE("a hop's password is its own: the target's never reaches it") {
    Host host = target({"bastion"});
    host.password_env = "TARGET_PASSWORD";
    Host bastion = hop("127.0.0.5", 22, "jump");
    bastion.password_env = "BASTION_PASSWORD";
    host.via_hosts = {bastion, hop("127.0.0.6", 22, "inner")};
    host.via.push_back("inner");
    setenv("TARGET_PASSWORD", "target-secret", 1);
    setenv("BASTION_PASSWORD", "bastion-secret", 1);
    const auto route = route_of(host);
    unsetenv("TARGET_PASSWORD");
    unsetenv("BASTION_PASSWORD");
    REQUIRE(route.size() == 2);
    CHECK(route[0].spec.password == std::optional<std::string>("bastion-secret"));
    CHECK_FALSE(route[1].spec.password.has_value());
  }

  TEST_CASE("two hops: outermost first, and the second's key includes the first") {
    Host host = target({"a@127.0.0.2", "b@127.0.0.3:23"});
    host.via_hosts = {hop("127.0.0.2", 22, "a"), hop("127.0.0.3", 23, "b")};
    const auto route = route_of(host);
    REQUIRE(route.size() == 2);
    CHECK(route[0].key == "a@127.0.0.2:22");
    CHECK(route[1].key == "a@127.0.0.2:22 > b@127.0.0.3:23");
    CHECK(route[1].spec.address == "127.0.0.3");
  }

  TEST_CASE("routes through the same hops have the same keys") {
    Host one = target({"a@127.0.0.2"});
    one.via_hosts = {hop("127.0.0.2", 22, "a")};
    Host other = one;
    other.name = "web2";
    other.address = "127.0.0.10";
    CHECK(route_of(one)[0].key == route_of(other)[0].key);
  }

  TEST_CASE("a hop whose connection cannot be made ready is an error naming it") {
    Host host = target({"a@127.0.0.2:2222"});
    host.via_hosts = {hop("127.0.0.2", 2222, "a")};
    host.via_hosts[0].password_env = "DEPLOYD_TEST_JUMP_PASSWORD_NEVER_SET";
    auto route = jump_route(host);
    REQUIRE(std::holds_alternative<std::string>(route));
    CHECK(std::get<std::string>(route) ==
          "jump host \"a@127.0.0.2:2222\": environment variable "
          "\"DEPLOYD_TEST_JUMP_PASSWORD_NEVER_SET\" (password_env) is not set");
  }

  TEST_CASE("hops not resolved at load time are an internal error, never the target's keys") {
    auto route = jump_route(target({"gate"}));
    REQUIRE(std::holds_alternative<std::string>(route));
    CHECK(std::get<std::string>(route) ==
          "internal error: the jump hosts of host \"web1\" were not resolved");
  }
}
