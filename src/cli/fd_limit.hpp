// SPDX-License-Identifier: MIT
// Open file descriptors: deployd raises its own soft limit, and works on fewer hosts at once
// rather than fail with EMFILE in the middle of a run.
#pragma once

#include <string>

namespace deployd::cli {

/// Descriptors one host may hold at once: its socket, or a socketpair behind a jump host, and
/// a local step's two pipes and pidfd.
inline constexpr long kDescriptorsPerHost = 3;
/// Descriptors kept for everything else: stdio, the run log, the event loop, known_hosts.
inline constexpr long kReservedDescriptors = 64;

/// How many hosts to work on at once so that `forks` hosts (of `hosts` targeted) fit in `limit`
/// descriptors; at least 1.
int forks_within(long limit, int forks, int hosts);

/// How many hosts may hold a session at once within `limit` descriptors; at least 1.
int sessions_within(long limit);

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force.
long raise_descriptor_limit();

/// What the open files limit lets a run of `hosts` hosts do.
struct DescriptorFit {
  int forks = 1;              ///< hosts worked on at once
  int max_open_sessions = 0;  ///< 0: every host may stay connected; else the most at once
  std::string warning;        ///< one line saying what the limit costs, empty when nothing
};

/// Fits `forks` and the sessions of hosts waiting at a barrier to `limit` descriptors.
DescriptorFit fit_to_descriptors(long limit, int forks, int hosts);

}  // namespace deployd::cli
