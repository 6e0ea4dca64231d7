// SPDX-License-Identifier: MIT
// Tests of src/base/host_ranges.cpp: host lists folded dshbak -c style.
#include "base/host_ranges.hpp"

#include <doctest/doctest.h>

namespace deployd::base {

TEST_SUITE("report") {
  TEST_CASE("hosts that differ in their last number fold into ranges, in first-seen order") {
    CHECK(compress_hosts({"web01", "web02", "web03", "web04", "web05", "web07", "db1"}) ==
          "web[01-05,07],db1");
    CHECK(compress_hosts({"db1", "web03", "web01", "web02"}) == "db1,web[01-03]");
  }

  TEST_CASE("a suffix after the number is kept and separates groups") {
    CHECK(compress_hosts({"web01.example.com", "web02.example.com", "web03.other.org"}) ==
          "web[01-02].example.com,web03.other.org");
  }

  TEST_CASE("zero padding is kept: web1 and web01 never share a range") {
    CHECK(compress_hosts({"web9", "web10", "web11"}) == "web[9-11]");
    CHECK(compress_hosts({"web09", "web10"}) == "web[09-10]");
    CHECK(compress_hosts({"web1", "web01", "web2"}) == "web[1-2,01]");
  }

  TEST_CASE("names without digits and single hosts stand as they are") {
    CHECK(compress_hosts({"alpha", "beta"}) == "alpha,beta");
    CHECK(compress_hosts({"node7"}) == "node7");
    CHECK(compress_hosts({}).empty());
  }

  TEST_CASE("only the last run of digits varies") {
    CHECK(compress_hosts({"rack1-node1", "rack1-node2", "rack2-node1"}) ==
          "rack1-node[1-2],rack2-node1");
  }
}

}  // namespace deployd::base
