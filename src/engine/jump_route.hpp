// SPDX-License-Identifier: MIT
// The jump hosts (a host's `via`) on the way to a host, as connection specs.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "deployd/plan.hpp"
#include "ssh/connection_spec.hpp"

namespace deployd::engine {

/// One jump host on the way to a host.
struct JumpHop {
  std::string label;  ///< how messages name it: a plan host's name, or the `via` text
  std::string key;    ///< the path up to and including this hop: equal keys share one session
  ssh::ConnectionSpec spec;
};

/// The hops to `host`, outermost first, from `host.via_hosts` (resolved at load time, each with
/// its own keys: plan-format.md, "Jump hosts"). The list is the whole path.
std::variant<std::vector<JumpHop>, std::string> jump_route(const Host& host);

}  // namespace deployd::engine
