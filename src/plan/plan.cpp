// SPDX-License-Identifier: MIT
// The few behaviours of the plan's value types: lookups by name and amounts of hosts.
#include "deployd/plan.hpp"

#include <algorithm>

namespace deployd {

const Host* Plan::find_host(const std::string& name) const {
  auto found =
      std::find_if(hosts.begin(), hosts.end(), [&](const Host& host) { return host.name == name; });
  return found == hosts.end() ? nullptr : &*found;
}

const Task* Plan::find_task(const std::string& name) const {
  auto found =
      std::find_if(tasks.begin(), tasks.end(), [&](const Task& task) { return task.name == name; });
  return found == tasks.end() ? nullptr : &*found;
}

int Amount::of(int total) const {
  if (!is_percent) return value;
  if (total <= 0 || value <= 0) return 0;
  // Rounded up, so "10%" of 5 hosts is 1 host, never 0.
  long long scaled = static_cast<long long>(value) * total;
  return static_cast<int>((scaled + 99) / 100);
}

}  // namespace deployd
