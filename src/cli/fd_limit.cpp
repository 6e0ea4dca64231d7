// SPDX-License-Identifier: MIT
// RLIMIT_NOFILE (see fd_limit.hpp).
#include "cli/fd_limit.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <climits>

namespace deployd::cli {

int sessions_within(long limit) {
  return static_cast<int>(std::clamp((limit - kReservedDescriptors) / kDescriptorsPerHost, 1L, long{INT_MAX}));
}

int forks_within(long limit, int forks, int hosts) {
  return std::min({std::max(1, forks), std::max(1, hosts), sessions_within(limit)});
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

DescriptorFit fit_to_descriptors(long limit, int forks, int hosts) {
  DescriptorFit fit;
  fit.forks = forks_within(limit, forks, hosts);
  const int sessions = sessions_within(limit);
  // Hosts waiting at a barrier keep their session unless the limit cannot hold them all.
  if (hosts > sessions) fit.max_open_sessions = sessions;
  const std::string prefix = "the open files limit (RLIMIT_NOFILE, hard limit included) is " + std::to_string(limit);
  const int wanted = std::max(1, std::min(forks, hosts));
  if (fit.forks < wanted) {
    fit.warning = prefix + ": working on at most " + std::to_string(fit.forks) + " hosts at once instead of " +
                  std::to_string(wanted) + "; raise it (ulimit -Hn) to go faster";
  } else if (fit.max_open_sessions > 0) {
    fit.warning = prefix + ": at most " + std::to_string(sessions) + " of the " + std::to_string(hosts) +
                  " hosts stay connected at once; hosts waiting for others connect again; raise it (ulimit -Hn) to "
                  "go faster";
  }
  return fit;
}

}  // namespace deployd::cli
