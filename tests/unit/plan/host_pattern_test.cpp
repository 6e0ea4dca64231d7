// SPDX-License-Identifier: MIT
// Tests of src/plan/host_pattern.cpp: ranges, lists and `user@name:port`.
#include "plan/host_pattern.hpp"

#include <doctest/doctest.h>

using namespace deployd::plan;

using Names = std::vector<std::string>;

TEST_SUITE("plan") {
  TEST_CASE("a numeric range keeps the zero padding of its start") {
    CHECK(expand_host_pattern("web[01:03].example.com").names ==
          Names{"web01.example.com", "web02.example.com", "web03.example.com"});
    CHECK(expand_host_pattern("db[8:10]").names == Names{"db8", "db9", "db10"});
    CHECK(expand_host_pattern("n[098:100]").names == Names{"n098", "n099", "n100"});
  }

  TEST_CASE("lists and several ranges expand with the leftmost varying slowest") {
    CHECK(expand_host_pattern("[a,b]-[1:2]").names == Names{"a-1", "a-2", "b-1", "b-2"});
    CHECK(expand_host_pattern("plain").names == Names{"plain"});
  }

  TEST_CASE("malformed patterns say what is wrong") {
    CHECK(expand_host_pattern("web[05:01]").error ==
          "bad range \"[05:01]\": the start is after the end");
    CHECK(expand_host_pattern("web[a:3]").error ==
          "bad range \"[a:3]\": bounds must be whole numbers like [01:20]");
    CHECK(expand_host_pattern("web[01:05").error ==
          "bad pattern \"web[01:05\": \"[\" without \"]\"");
    CHECK(expand_host_pattern("web01]").error == "bad pattern \"web01]\": \"]\" without \"[\"");
    CHECK(expand_host_pattern("web[a,,b]").error == "bad list \"[a,,b]\": empty or invalid item");
    CHECK(expand_host_pattern("w[1:1000][1:1000]").error ==
          "bad pattern \"w[1:1000][1:1000]\": more than 100000 names");
    CHECK(expand_host_pattern("we b").error == "invalid host name \"we b\"");
  }

  TEST_CASE("a host string may give a user and a port") {
    HostSpec spec = parse_host_spec("deploy@web[01:02]:2222");
    CHECK(spec.user == "deploy");
    CHECK(spec.name == "web[01:02]");
    CHECK(spec.port == 2222);
    CHECK(parse_host_spec("web[01:02]").port == std::nullopt);
    CHECK(parse_host_spec("web[01:02]").name == "web[01:02]");
    CHECK(parse_host_spec("web:0").error == "bad port \"0\": expected 1 to 65535");
    CHECK(parse_host_spec("@web").error == "expected \"name\" or \"user@name:port\"");
  }
}
