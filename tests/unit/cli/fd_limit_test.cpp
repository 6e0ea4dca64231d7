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

  TEST_CASE("a fleet that fits keeps its forks, its sessions and says nothing") {
    DescriptorFit fit = fit_to_descriptors(1 << 20, 256, 1000);
    CHECK(fit.forks == 256);
    CHECK(fit.max_open_sessions == 0);
    CHECK(fit.warning.empty());
  }

  TEST_CASE("ulimit -n 256 with 1000 hosts: 64 at once, and waiting hosts give their session back") {
    DescriptorFit fit = fit_to_descriptors(256, 256, 1000);
    CHECK(fit.forks == 64);
    CHECK(fit.max_open_sessions == 64);
    CHECK(fit.warning ==
          "the open files limit (RLIMIT_NOFILE, hard limit included) is 256: working on at most 64 hosts at once "
          "instead of 256; raise it (ulimit -Hn) to go faster");
  }

  TEST_CASE("forks that fit but hosts that cannot all stay connected at a barrier get their own warning") {
    // 1024 descriptors: (1024 - 64) / 3 = 320 sessions; 256 forks fit, 1000 hosts do not.
    DescriptorFit fit = fit_to_descriptors(1024, 256, 1000);
    CHECK(fit.forks == 256);
    CHECK(fit.max_open_sessions == 320);
    CHECK(fit.warning ==
          "the open files limit (RLIMIT_NOFILE, hard limit included) is 1024: at most 320 of the 1000 hosts stay "
          "connected at once; hosts waiting for others connect again; raise it (ulimit -Hn) to go faster");
  }
}

}  // namespace deployd::cli
