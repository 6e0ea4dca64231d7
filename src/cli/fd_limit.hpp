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

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force.
long raise_descriptor_limit();

/// The forks to run with: `forks` when they fit the (raised) descriptor limit, else fewer, with
/// a one-line warning in `*warning` that says why and how to raise the limit.
int fit_forks_to_descriptors(int forks, int hosts, std::string* warning);

}  // namespace deployd::cli
