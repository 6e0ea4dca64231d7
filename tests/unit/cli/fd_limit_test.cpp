// SPDX-License-Identifier: MIT
// How many hosts fit in the open files limit.
#include "cli/fd_limit.hpp"

#include <doctest/doctest.h>

namespace deployd::cli {

TEST_SUITE("cli") {
  TEST_CASE("forks that fit the limit are kept") {
    CHECK(forks_within(1 << 20, 256, 1000) == 256);
    CHECK(forks_within(1 << 20, 256, 10) == 10);  // never more than the hosts
  }

  TEST_CASE("forks that do not fit are cut to what the descriptors allow") {
    // ulimit -n 256 with 1000 hosts: (256 - 64) / 3 = 64 hosts at once, the others queue.
    CHECK(forks_within(256, 256, 1000) == 64);
    CHECK(forks_within(256, 10, 1000) == 10);
  }

  TEST_CASE("at least one host is worked on, whatever the limit") {
    CHECK(forks_within(20, 256, 1000) == 1);
    CHECK(forks_within(0, 256, 1000) == 1);
  }
}

}  // namespace deployd::cli
