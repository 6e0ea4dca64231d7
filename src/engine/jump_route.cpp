// SPDX-License-Identifier: MIT
// The jump hosts (a host's `via`) on the way to a host, as connection specs. The loader parsed
// and resolved each `via` entry into `via_hosts` (plan/host_resolver.cpp); nothing is parsed here.
#include "engine/jump_route.hpp"

#include "engine/ssh_transport.hpp"

namespace deployd::engine {

std::variant<std::vector<JumpHop>, std::string> jump_route(const Host& host) {
  if (host.via_hosts.size() != host.via.size())
    return "internal error: the jump hosts of host \"" + host.name + "\" were not resolved";
  std::vector<JumpHop> route;
  for (std::size_t i = 0; i < host.via.size(); ++i) {
    const std::string& text = host.via[i];
    auto spec = connection_spec(host.via_hosts[i]);
    if (auto* error = std::get_if<std::string>(&spec))
      return "jump host \"" + text + "\": " + *error;
    JumpHop jump{text, "", std::get<ssh::ConnectionSpec>(std::move(spec))};
    const std::string previous = route.empty() ? "" : route.back().key + " > ";
    jump.key =
        previous + jump.spec.user + "@" + jump.spec.address + ":" + std::to_string(jump.spec.port);
    route.push_back(std::move(jump));
  }
  return route;
}

}  // namespace deployd::engine
