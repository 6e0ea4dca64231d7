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

/// The hops to `host`, outermost first. A hop that names a plan host takes that host's
/// connection keys (its own `via` is not followed: the list is the whole path); any other hop is
/// `[user@]address[:port]`, with port 22 and the rest of the keys taken from `host`, except its
/// `password_env`: a password goes to the host it belongs to only.
std::variant<std::vector<JumpHop>, std::string> jump_route(const Host& host,
                                                           const std::vector<Host>& plan_hosts);

}  // namespace deployd::engine
