// SPDX-License-Identifier: MIT
// Resolution of each host's connection keys (plan-format.md, "Connection keys").
#include "plan/host_resolver.hpp"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <unordered_map>

#include "plan/host_pattern.hpp"
#include "plan/suggest.hpp"

namespace deployd::plan {

namespace {

Host resolve_host(const HostDraft& draft, const ConnectionDraft& defaults,
                  const Controller& controller) {
  ConnectionDraft keys = defaults;
  keys.merge(draft.connection);
  Host host;
  host.name = draft.name;
  host.address = draft.address.value_or(draft.name);
  host.port = keys.port.value_or(22);
  host.user = keys.user.value_or(controller.user);
  for (const std::string& identity : keys.identities.value_or(std::vector<std::string>{}))
    host.identities.push_back(expand_home(identity, controller.home));
  host.password_env = keys.password_env.value_or("");
  host.passphrase_env = keys.passphrase_env.value_or("");
  host.known_hosts = expand_home(keys.known_hosts.value_or("~/.ssh/known_hosts"), controller.home);
  host.host_key_check = keys.host_key_check.value_or(HostKeyCheck::Strict);
  host.connect_timeout = keys.connect_timeout.value_or(Duration(10'000));
  host.keepalive = keys.keepalive.value_or(Duration(15'000));
  host.via = keys.via.value_or(std::vector<std::string>{});
  host.ssh_config = expand_home(keys.ssh_config.value_or("~/.ssh/config"), controller.home);
  host.vars = draft.vars;
  host.json_pointer = draft.where.pointer;
  return host;
}

}  // namespace

Controller controller_of(const LoadOptions& options) {
  Controller controller{options.controller_user, options.home};
  const passwd* entry = nullptr;
  if (controller.user.empty() || controller.home.empty()) entry = getpwuid(getuid());
  if (controller.user.empty()) {
    const char* user = std::getenv("USER");
    controller.user = user && *user ? user : entry ? entry->pw_name : "root";
  }
  if (controller.home.empty()) {
    const char* home = std::getenv("HOME");
    controller.home = home && *home ? home : entry ? entry->pw_dir : "/";
  }
  return controller;
}

std::string expand_home(const std::string& path, const std::string& home) {
  if (path == "~") return home;
  if (path.starts_with("~/")) return home + path.substr(1);
  return path;
}

std::vector<Host> resolve_hosts(const std::vector<HostDraft>& drafts,
                                const ConnectionDraft& defaults, const Controller& controller,
                                Diagnostics& diags) {
  std::vector<Host> hosts;
  std::unordered_map<std::string, const HostDraft*> seen;
  for (const HostDraft& draft : drafts) {
    if (draft.name == "all" || draft.name == "local") {
      diags.error(draft.where,
                  fmt::format("{} is reserved and cannot name a host", quote(draft.name)));
      continue;
    }
    auto [first, is_new] = seen.emplace(draft.name, &draft);
    if (!is_new) {
      diags.error(draft.where,
                  fmt::format("duplicate host {} (first defined {})", quote(draft.name),
                              first->second->where.describe(draft.where.doc)));
      continue;
    }
    hosts.push_back(resolve_host(draft, defaults, controller));
    for (const std::string& hop : hosts.back().via) {
      if (parse_host_spec(hop).name == draft.name)
        diags.error(draft.where,
                    fmt::format("host {} cannot be its own jump host", quote(draft.name)));
    }
  }
  return hosts;
}

std::vector<std::string> command_line_hosts(const std::vector<std::string>& specs,
                                            const ConnectionDraft& defaults,
                                            const Controller& controller, Plan& plan,
                                            Diagnostics& diags) {
  std::vector<std::string> names;
  for (const std::string& text : specs) {
    HostSpec spec = parse_host_spec(text);
    Expansion expansion = expand_host_pattern(spec.name);
    std::string error = spec.error.empty() ? expansion.error : spec.error;
    if (!error.empty()) {
      diags.file_error("", fmt::format("-H {}: {}", quote(text), error));
      continue;
    }
    for (const std::string& name : expansion.names) {
      if (name == "all" || name == "local") {
        diags.file_error("", fmt::format("-H {}: {} cannot name a host", quote(text), quote(name)));
        continue;
      }
      if (std::find(names.begin(), names.end(), name) != names.end()) continue;
      names.push_back(name);
      // A plan host keeps its keys, except what the command line says.
      if (auto found = std::find_if(plan.hosts.begin(), plan.hosts.end(),
                                    [&](const Host& host) { return host.name == name; });
          found != plan.hosts.end()) {
        if (!spec.user.empty()) found->user = spec.user;
        if (spec.port) found->port = *spec.port;
        continue;
      }
      HostDraft draft;
      draft.name = name;
      if (!spec.user.empty()) draft.connection.user = spec.user;
      draft.connection.port = spec.port;
      plan.hosts.push_back(resolve_host(draft, defaults, controller));
    }
  }
  return names;
}

}  // namespace deployd::plan
