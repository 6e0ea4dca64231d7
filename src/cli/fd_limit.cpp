// SPDX-License-Identifier: MIT
// RLIMIT_NOFILE (see fd_limit.hpp).
#include "cli/fd_limit.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <climits>

namespace deployd::cli {

int forks_within(long limit, int forks, int hosts) {
  const long wanted = std::max(1, std::min(forks, hosts));
  const long fitting = (limit - kReservedDescriptors) / kDescriptorsPerHost;
  return static_cast<int>(std::max(1L, std::min(wanted, fitting)));
}

long raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur > static_cast<rlim_t>(LONG_MAX)
             ? LONG_MAX
             : static_cast<long>(limit.rlim_cur);
}

int fit_forks_to_descriptors(int forks, int hosts, std::string* warning) {
  const long limit = raise_descriptor_limit();
  const int fitting = forks_within(limit, forks, hosts);
  const int wanted = std::max(1, std::min(forks, hosts));
  if (fitting < wanted) {
    *warning = "the open files limit (RLIMIT_NOFILE, hard limit included) is " + std::to_string(limit) +
               ": working on at most " + std::to_string(fitting) + " hosts at once instead of " +
               std::to_string(wanted) + "; raise it (ulimit -Hn) to go faster";
  }
  return fitting;
}

}  // namespace deployd::cli
