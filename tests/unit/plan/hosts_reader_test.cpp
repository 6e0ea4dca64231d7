// SPDX-License-Identifier: MIT
// Tests of src/plan/hosts_reader.cpp and host_resolver.cpp: hosts, defaults, connection keys.
#include <doctest/doctest.h>

#include "support/plan_text.hpp"

using namespace deployd;
using deployd::testing::errors;
using deployd::testing::plan_text;

namespace {

std::vector<std::string> host_names(const Plan& plan) {
  std::vector<std::string> names;
  for (const Host& host : plan.hosts) names.push_back(host.name);
  return names;
}

}  // namespace

TEST_SUITE("plan") {
  TEST_CASE("host strings and objects expand their ranges, in plan order") {
    Plan plan = plan_text(R"({
      "hosts": ["app", "web[01:03]", "[a,b].db", {"name": "cache[8:10]", "port": 2200}],
      "tasks": {"t": {"steps": [{"run": "true"}]}}})");
    CHECK(host_names(plan) == std::vector<std::string>{"app", "web01", "web02", "web03", "a.db",
                                                       "b.db", "cache8", "cache9", "cache10"});
    CHECK(plan.hosts[8].port == 2200);
    CHECK(plan.hosts[8].json_pointer == "/hosts/3");
    CHECK(plan.hosts[2].json_pointer == "/hosts/1");
  }

  TEST_CASE("built-in connection defaults apply when nothing is said") {
    Plan plan = plan_text(R"({"hosts": ["web"], "tasks": {"t": {"steps": [{"run": "true"}]}}})");
    const Host& host = plan.hosts.at(0);
    CHECK(host.address == "web");
    CHECK(host.port == 22);
    CHECK(host.user == "me");
    CHECK(host.identities.empty());
    CHECK(host.known_hosts == "/home/me/.ssh/known_hosts");
    CHECK(host.host_key_check == HostKeyCheck::Strict);
    CHECK(host.connect_timeout == Duration(10'000));
    CHECK(host.keepalive == Duration(15'000));
    CHECK(host.via.empty());
    CHECK(host.ssh_config == "/home/me/.ssh/config");
    CHECK(host.password_env.empty());
  }

  TEST_CASE("connection keys resolve: host object > user@host:port > defaults > built-in") {
    Plan plan = plan_text(R"({
      "defaults": {"user": "dflt", "port": 2000, "identity": "~/.ssh/deploy", "host_key_check": "accept-new",
                   "connect_timeout": "3s", "keepalive": 0, "known_hosts": "~/kh", "ssh_config": false,
                   "password_env": "DEPLOY_PW", "passphrase_env": "KEY_PW", "via": "bastion"},
      "hosts": ["plain", "alice@spec:2222",
                {"name": "bob@obj:3333", "user": "carol", "address": "127.0.99.9", "identity": ["/k1", "~/k2"],
                 "host_key_check": "off", "connect_timeout": 1.5, "ssh_config": "/dev/null", "via": []},
                {"name": "bastion", "via": []}],
      "tasks": {"t": {"steps": [{"run": "true"}]}}})");
    const Host& plain = plan.hosts[0];
    CHECK(plain.user == "dflt");
    CHECK(plain.port == 2000);
    CHECK(plain.identities == std::vector<std::string>{"/home/me/.ssh/deploy"});
    CHECK(plain.host_key_check == HostKeyCheck::AcceptNew);
    CHECK(plain.connect_timeout == Duration(3000));
    CHECK(plain.keepalive == Duration(0));
    CHECK(plain.known_hosts == "/home/me/kh");
    CHECK(plain.ssh_config == "");
    CHECK(plain.password_env == "DEPLOY_PW");
    CHECK(plain.passphrase_env == "KEY_PW");
    CHECK(plain.via == std::vector<std::string>{"bastion"});
    const Host& spec = plan.hosts[1];
    CHECK(spec.name == "spec");
    CHECK(spec.user == "alice");
    CHECK(spec.port == 2222);
    const Host& obj = plan.hosts[2];
    CHECK(obj.name == "obj");
    CHECK(obj.user == "carol");
    CHECK(obj.port == 3333);
    CHECK(obj.address == "127.0.99.9");
    CHECK(obj.identities == std::vector<std::string>{"/k1", "/home/me/k2"});
    CHECK(obj.host_key_check == HostKeyCheck::Off);
    CHECK(obj.connect_timeout == Duration(1500));
    CHECK(obj.ssh_config == "/dev/null");  // a path the plan gives must exist
  }

  TEST_CASE("an unknown key in a host object or in defaults is an error with a suggestion") {
    CHECK(
        errors(
            R"({"hosts": [{"name": "a", "prot": 22}], "tasks": {"t": {"steps": [{"run": "x"}]}}})") ==
        "plan.json:1:26: /hosts/0: unknown key \"prot\" (did you mean \"port\"?)");
    CHECK(
        errors(
            R"({"defaults": {"usr": "x"}, "hosts": ["a"], "tasks": {"t": {"steps": [{"run": "x"}]}}})") ==
        "plan.json:1:15: /defaults: unknown key \"usr\" (did you mean \"user\"?)");
  }

  TEST_CASE("a host given twice after range expansion is an error") {
    CHECK(errors(
              R"({"hosts": ["web[01:10]", "web07"], "tasks": {"t": {"steps": [{"run": "x"}]}}})") ==
          "plan.json:1:26: /hosts/1: duplicate host \"web07\" (first defined at /hosts/0)");
  }

  TEST_CASE("bad ranges in host names are errors") {
    CHECK(
        errors(R"({"hosts": ["web[05:01]", {"name": "db[a:3]"}, "x[1:2"],
                     "tasks": {"t": {"steps": [{"run": "x"}]}}})") ==
        "plan.json:1:12: /hosts/0: bad host \"web[05:01]\": bad range \"[05:01]\": the start is "
        "after the end\n"
        "plan.json:1:35: /hosts/1/name: bad host \"db[a:3]\": bad range \"[a:3]\": bounds must be "
        "whole "
        "numbers like [01:20]\n"
        "plan.json:1:47: /hosts/2: bad host \"x[1:2\": bad pattern \"x[1:2\": \"[\" without \"]\"");
  }

  TEST_CASE("connection keys of the wrong type or value are errors") {
    CHECK(
        errors(
            R"({"hosts": [{"name": "a", "port": "22", "host_key_check": "strct", "connect_timeout": "30x",
                                "password_env": "hunter2 secret", "identity": []}],
                     "tasks": {"t": {"steps": [{"run": "x"}]}}})") ==
        "plan.json:1:34: /hosts/0/port: expected an integer from 1 to 65535, got \"22\"\n"
        "plan.json:1:58: /hosts/0/host_key_check: expected \"strict\", \"accept-new\" or \"off\", "
        "got "
        "\"strct\" (did you mean \"strict\"?)\n"
        "plan.json:1:86: /hosts/0/connect_timeout: bad duration \"30x\" (expected seconds, or a "
        "number and "
        "a unit: \"250ms\", \"30s\", \"5m\", \"1h\")\n"
        "plan.json:2:49: /hosts/0/password_env: expected the name of an environment variable "
        "(letters, "
        "digits and \"_\"); a secret never stands in the plan\n"
        "plan.json:2:79: /hosts/0/identity: expected a string or a non-empty list of strings, got "
        "a list");
  }

  TEST_CASE("a jump host is parsed at load time: a bad one is a plan error, not a run's") {
    CHECK(errors(R"({"hosts": [{"name": "a", "via": "a@127.0.0.2:99999"}],
                     "tasks": {"t": {"steps": [{"run": "x"}]}}})") ==
          "plan.json:1:33: /hosts/0/via: bad jump host \"a@127.0.0.2:99999\" (expected a host name "
          "or \"user@host:port\")");
  }

  TEST_CASE("an IPv6 address is written without brackets; a bracketed one is an error") {
    Plan plan = plan_text(
        R"({"hosts": [{"name": "six", "address": "::1"}], "tasks": {"t": {"steps": [{"run": "x"}]}}})");
    CHECK(plan.hosts.at(0).address == "::1");
    CHECK(errors(R"({"hosts": [{"name": "a", "address": "[::1]:2222"}],
                     "tasks": {"t": {"steps": [{"run": "x"}]}}})") ==
          "plan.json:1:37: /hosts/0/address: \"[::1]:2222\": write an IPv6 address without "
          "brackets (\"::1\"), and its port in \"port\"");
  }

  TEST_CASE("a host object needs a name, and reserved names cannot name hosts") {
    CHECK(
        errors(R"({"hosts": [{"port": 22}, "all"], "tasks": {"t": {"steps": [{"run": "x"}]}}})") ==
        "plan.json:1:12: /hosts/0: missing required key \"name\"\n"
        "plan.json:1:26: /hosts/1: \"all\" is reserved and cannot name a host");
  }

  TEST_CASE("-H hosts replace the targets of remote tasks and may be new hosts") {
    deployd::LoadOptions options = deployd::testing::test_options();
    options.hosts = {"web02", "ops@new[1:2]:2200"};
    Plan plan = plan_text(R"({"defaults": {"port": 2022}, "hosts": ["web[01:02]"],
                              "tasks": {"t": {"on": "web01", "steps": [{"run": "x"}]}}})",
                          options);
    CHECK(host_names(plan) == std::vector<std::string>{"web01", "web02", "new1", "new2"});
    CHECK(plan.tasks[0].hosts == std::vector<std::string>{"web02", "new1", "new2"});
    CHECK(plan.hosts[2].user == "ops");
    CHECK(plan.hosts[2].port == 2200);
    CHECK(plan.hosts[1].port == 2022);
  }

  TEST_CASE("-H makes a plan without hosts runnable") {
    deployd::LoadOptions options = deployd::testing::test_options();
    options.hosts = {"127.0.0.5"};
    Plan plan = plan_text(R"({"tasks": {"t": {"steps": [{"run": "x {{host}}"}]}}})", options);
    CHECK(plan.tasks[0].hosts == std::vector<std::string>{"127.0.0.5"});
    CHECK(plan.hosts[0].port == 22);
  }
}
