// SPDX-License-Identifier: MIT
// The jump hosts (a host's `via`) on the way to a host, as connection specs.
#include "engine/jump_route.hpp"

#include <algorithm>

#include "engine/ssh_transport.hpp"
#include "plan/host_pattern.hpp"

namespace deployd::engine {

std::variant<std::vector<JumpHop>, std::string> jump_route(const Host& host,
                                                           const std::vector<Host>& plan_hosts) {
  std::vector<JumpHop> route;
  for (const std::string& text : host.via) {
    const plan::HostSpec parsed = plan::parse_host_spec(text);
    if (!parsed.error.empty()) return "jump host \"" + text + "\": " + parsed.error;
    const auto known = std::find_if(plan_hosts.begin(), plan_hosts.end(),
                                    [&](const Host& h) { return h.name == text; });
    Host hop = known != plan_hosts.end() ? *known : host;
    if (known == plan_hosts.end()) {
      hop.name = parsed.name;
      hop.address = parsed.name;
      hop.port = parsed.port.value_or(22);
      if (!parsed.user.empty()) hop.user = parsed.user;
      // A password is sent to the server: the target's must never reach its jump host (a key
      // login only proves the key, so the target's identities may serve). A hop that needs a
      // password is a plan host with its own password_env.
      hop.password_env.clear();
      hop.sources.erase("password_env");
    }
    hop.via.clear();
    auto spec = connection_spec(hop);
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
