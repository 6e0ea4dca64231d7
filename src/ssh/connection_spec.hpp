// SPDX-License-Identifier: MIT
// What ssh/ needs to open one session: an address, a login and a host-key policy (no plan types).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace deployd::ssh {

/// How the server's host key is checked against known_hosts (plan-format.md, connection keys).
enum class HostKeyCheck { Strict, AcceptNew, Off };

/// Everything needed to connect and log in to one host.
struct ConnectionSpec {
  std::string name;     ///< the host's name: used in messages and as a second known_hosts name
  std::string address;  ///< what is dialled: an IPv4/IPv6 literal or a DNS name
  int port = 22;
  std::string user;
  std::vector<std::string> identities;    ///< private key paths; empty: agent, then ~/.ssh defaults
  bool identities_only = false;           ///< never the agent (ssh_config IdentitiesOnly)
  std::optional<std::string> password;    ///< the value, never a plan field
  std::optional<std::string> passphrase;  ///< for encrypted identities
  std::string known_hosts;                ///< path of the known_hosts file
  HostKeyCheck host_key_check = HostKeyCheck::Strict;
  std::chrono::milliseconds connect_timeout{10'000};  ///< TCP connect + handshake + auth
  std::chrono::milliseconds keepalive{15'000};        ///< 0: no keepalives
};

/// The plan's spelling of a host-key mode: "strict", "accept-new" or "off".
const char* to_string(HostKeyCheck mode);

}  // namespace deployd::ssh
