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

std::vector<JumpHop> route_of(const Host& host, const std::vector<Host>& plan_hosts = {}) {
  auto route = jump_route(host, plan_hosts);
  REQUIRE(std::holds_alternative<std::vector<JumpHop>>(route));
  return std::get<std::vector<JumpHop>>(route);
}

}  // namespace

TEST_SUITE("engine") {
  TEST_CASE("a user@host:port hop takes its address, user and port, the rest from the target") {
    const auto route = route_of(target({"ops@127.0.0.2:2200"}));
    REQUIRE(route.size() == 1);
    CHECK(route[0].label == "ops@127.0.0.2:2200");
    CHECK(route[0].spec.address == "127.0.0.2");
    CHECK(route[0].spec.port == 2200);
    CHECK(route[0].spec.user == "ops");
    CHECK(route[0].spec.identities == std::vector<std::string>{"/keys/id"});
    CHECK(route[0].spec.known_hosts == "/etc/known_hosts");
    CHECK(route[0].key == "ops@127.0.0.2:2200");
  }

  TEST_CASE("a hop that is not a plan host is never given the target's password") {
    Host host = target({"ops@127.0.0.2:2200"});
    host.password_env = "TARGET_PASSWORD";
    host.passphrase_env = "KEY_PASSPHRASE";
    setenv("TARGET_PASSWORD", "target-secret", 1);
    setenv("KEY_PASSPHRASE", "key-secret", 1);
    const auto route = route_of(host);
    unsetenv("TARGET_PASSWORD");
    unsetenv("KEY_PASSPHRASE");
    REQUIRE(route.size() == 1);
    CHECK_FALSE(route[0].spec.password.has_value());
    // The passphrase only opens the local key file the hop shares: it never leaves the controller.
    CHECK(route[0].spec.passphrase == std::optional<std::string>("key-secret"));
  }

  TEST_CASE("a hop that is a plan host gets its own password, not the target's") {
    Host bastion;
    bastion.name = "bastion";
    bastion.address = "127.0.0.5";
    bastion.password_env = "BASTION_PASSWORD";
    Host host = target({"bastion"});
    host.password_env = "TARGET_PASSWORD";
    setenv("TARGET_PASSWORD", "target-secret", 1);
    setenv("BASTION_PASSWORD", "bastion-secret", 1);
    const auto route = route_of(host, {bastion});
    unsetenv("TARGET_PASSWORD");
    unsetenv("BASTION_PASSWORD");
    REQUIRE(route.size() == 1);
    CHECK(route[0].spec.password == std::optional<std::string>("bastion-secret"));
  }

  TEST_CASE("a bare hop name uses port 22 and the target's user") {
    const auto route = route_of(target({"gate.example"}));
    REQUIRE(route.size() == 1);
    CHECK(route[0].spec.address == "gate.example");
    CHECK(route[0].spec.port == 22);
    CHECK(route[0].spec.user == "deploy");
  }

  TEST_CASE("a hop naming a plan host takes that host's connection keys, not its via") {
    Host bastion;
    bastion.name = "bastion";
    bastion.address = "127.0.0.5";
    bastion.port = 2022;
    bastion.user = "jump";
    bastion.via = {"elsewhere"};
    const auto route = route_of(target({"bastion"}), {bastion});
    REQUIRE(route.size() == 1);
    CHECK(route[0].label == "bastion");
    CHECK(route[0].spec.name == "bastion");
    CHECK(route[0].spec.address == "127.0.0.5");
    CHECK(route[0].spec.port == 2022);
    CHECK(route[0].spec.user == "jump");
  }

  TEST_CASE("two hops: outermost first, and the second's key includes the first") {
    const auto route = route_of(target({"a@127.0.0.2", "b@127.0.0.3:23"}));
    REQUIRE(route.size() == 2);
    CHECK(route[0].key == "a@127.0.0.2:22");
    CHECK(route[1].key == "a@127.0.0.2:22 > b@127.0.0.3:23");
    CHECK(route[1].spec.address == "127.0.0.3");
  }

  TEST_CASE("routes through the same hops have the same keys") {
    Host other = target({"a@127.0.0.2"});
    other.name = "web2";
    other.address = "127.0.0.10";
    CHECK(route_of(target({"a@127.0.0.2"}))[0].key == route_of(other)[0].key);
  }

  TEST_CASE("a bad hop is an error naming it") {
    auto route = jump_route(target({"a@127.0.0.2:99999"}), {});
    REQUIRE(std::holds_alternative<std::string>(route));
    CHECK(std::get<std::string>(route).find("jump host \"a@127.0.0.2:99999\"") == 0);
  }
}
