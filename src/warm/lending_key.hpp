// SPDX-License-Identifier: MIT
// Which warm session may serve which request: the key a session is kept under.
#pragma once

#include <string>

#include "ssh/connection_spec.hpp"

namespace deployd::warm {

/// The key of a session opened for `spec`: login user, address, port, identities (their paths
/// and what is on disk at each: device, inode, size, modification time, so a replaced key file
/// makes another key), identities_only, known_hosts path, host key mode and keepalive. Not the
/// host's name (a plan's and `-H`'s name for one address share a session) nor connect_timeout.
/// The host key is not in it: it is checked again against known_hosts each time the session is
/// lent (Daemon), as a new connection's would be. Sessions are per daemon, and a daemon serves
/// one user: the controller user is implicit.
std::string lending_key(const ssh::ConnectionSpec& spec);

}  // namespace deployd::warm
