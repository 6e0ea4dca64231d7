// SPDX-License-Identifier: MIT
// Hosts and defaults (plan-format.md, "Hosts and groups" and "Connection keys").
#include "plan/hosts_reader.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "plan/fields.hpp"
#include "plan/host_pattern.hpp"
#include "plan/suggest.hpp"

namespace deployd::plan {

namespace {

// Far beyond any fleet; a few typos in ranges must not exhaust memory.
constexpr std::size_t kMaxHosts = 1'000'000;

template <typename T>
void take(std::optional<T>& member, const std::optional<T>& higher) {
  if (higher) member = higher;
}

// `password_env` names a variable; the value is never echoed, in case it is a password.
std::optional<std::string> read_env_name(const Node& node, Diagnostics& diags) {
  if (node.value().is_string() && is_env_name(node.value().get<std::string>()))
    return node.value().get<std::string>();
  diags.error(node.where,
              "expected the name of an environment variable (letters, digits and \"_\"); "
              "a secret never stands in the plan");
  return std::nullopt;
}

std::optional<std::vector<std::string>> read_via(const Node& node, Diagnostics& diags) {
  // An empty list says "no jump host" where `defaults` set one.
  if (node.value().is_array() && node.value().empty()) return std::vector<std::string>{};
  auto hops = read_strings(node, diags);
  if (!hops) return hops;
  for (const std::string& hop : *hops) {
    HostSpec spec = parse_host_spec(hop);
    if (spec.error.empty() && is_valid_name(spec.name)) continue;
    diags.error(
        node.where,
        fmt::format("bad jump host {} (expected a host name or \"user@host:port\")", quote(hop)));
    return std::nullopt;
  }
  return hops;
}

std::optional<HostKeyCheck> read_host_key_check(const Node& node, Diagnostics& diags) {
  auto choice = read_choice(node, {"strict", "accept-new", "off"}, diags);
  if (!choice) return std::nullopt;
  if (*choice == "accept-new") return HostKeyCheck::AcceptNew;
  return *choice == "off" ? HostKeyCheck::Off : HostKeyCheck::Strict;
}

std::optional<std::string> read_ssh_config(const Node& node, Diagnostics& diags) {
  if (node.value().is_boolean()) return node.value().get<bool>() ? "~/.ssh/config" : "";
  if (node.value().is_string()) return read_string(node, diags);
  diags.error(node.where, expected_but_got("true, false or a path", node.value()));
  return std::nullopt;
}

// The name (or `user@name:port`) a host entry gives, from a string or an object's `name`.
std::optional<std::string> host_text(const Node& node, Diagnostics& diags) {
  if (node.value().is_string()) return read_string(node, diags);
  if (!node.value().is_object()) {
    diags.error(node.where, expected_but_got("a host name or an object", node.value()));
    return std::nullopt;
  }
  std::vector<std::string> keys = {"name", "address", "groups", "vars"};
  keys.insert(keys.end(), connection_keys().begin(), connection_keys().end());
  check_keys(node, keys, diags);
  auto name = node.find("name");
  if (!name) diags.error(node.where, "missing required key \"name\"");
  return name ? read_string(*name, diags) : std::nullopt;
}

// The keys a host object adds to what its name says.
void read_host_object(const Node& node, HostDraft& draft, Diagnostics& diags) {
  read_connection_keys(node, draft.connection, diags);
  if (auto address = node.find("address")) {
    draft.address = read_string(*address, diags);
    // "[::1]" is how URLs and known_hosts write an IPv6 address; dialled as is, it would be
    // looked up in DNS as a name.
    const std::string& text = draft.address.value_or("");
    if (!text.empty() && text.front() == '[' && text.find(']') != std::string::npos) {
      diags.error(address->where,
                  fmt::format("{}: write an IPv6 address without brackets ({}), and its port in "
                              "\"port\"",
                              quote(text), quote(text.substr(1, text.find(']') - 1))));
    }
  }
  if (auto vars = node.find("vars")) draft.vars = read_vars(*vars, diags);
  if (auto groups = node.find("groups")) {
    auto names = read_string_list(*groups, diags);
    for (std::size_t i = 0; names && i < names->size(); ++i)
      draft.groups.push_back({(*names)[i], groups->item(i).where});
  }
}

// Reads one host string or object into the drafts of the names it expands to.
void read_host(const Node& node, std::vector<HostDraft>& hosts, Diagnostics& diags) {
  std::optional<std::string> text = host_text(node, diags);
  if (!text) return;
  HostSpec spec = parse_host_spec(*text);
  Expansion expansion = expand_host_pattern(spec.name);
  std::string error = spec.error.empty() ? expansion.error : spec.error;
  if (!error.empty()) {
    const Where& at = node.value().is_object() ? node.child("name").where : node.where;
    diags.error(at, fmt::format("bad host {}: {}", quote(*text), error));
    return;
  }
  // Object keys win over what the string says (plan-format.md, connection keys).
  HostDraft draft;
  draft.where = node.where;
  if (!spec.user.empty()) draft.connection.user = spec.user;
  draft.connection.port = spec.port;
  if (node.value().is_object()) read_host_object(node, draft, diags);
  for (const std::string& name : expansion.names) {
    hosts.push_back(draft);
    hosts.back().name = name;
  }
}

}  // namespace

void ConnectionDraft::merge(const ConnectionDraft& higher) {
  take(user, higher.user);
  take(port, higher.port);
  take(identities, higher.identities);
  take(password_env, higher.password_env);
  take(passphrase_env, higher.passphrase_env);
  take(known_hosts, higher.known_hosts);
  take(host_key_check, higher.host_key_check);
  take(connect_timeout, higher.connect_timeout);
  take(keepalive, higher.keepalive);
  take(via, higher.via);
  if (higher.ssh_config) ssh_config_at = higher.ssh_config_at;
  take(ssh_config, higher.ssh_config);
}

const std::vector<std::string>& connection_keys() {
  static const std::vector<std::string> keys = {
      "user",        "port",           "identity",        "password_env",
      "known_hosts", "host_key_check", "connect_timeout", "keepalive",
      "via",         "passphrase_env", "ssh_config"};
  return keys;
}

std::optional<std::string> read_choice(const Node& node, const std::vector<std::string>& allowed,
                                       Diagnostics& diags) {
  const Json& value = node.value();
  if (value.is_string() &&
      std::find(allowed.begin(), allowed.end(), value.get<std::string>()) != allowed.end())
    return value.get<std::string>();
  std::string list;
  for (std::size_t i = 0; i < allowed.size(); ++i)
    list += (i == 0 ? "" : i + 1 == allowed.size() ? " or " : ", ") + quote(allowed[i]);
  std::string hint = value.is_string() ? did_you_mean(value.get<std::string>(), allowed) : "";
  diags.error(node.where, expected_but_got(list, value) + hint);
  return std::nullopt;
}

void read_connection_keys(const Node& object, ConnectionDraft& draft, Diagnostics& diags) {
  auto read = [&](const char* key, auto& member, auto reader) {
    if (auto node = object.find(key))
      if (auto value = reader(*node)) member = value;
  };
  read("user", draft.user, [&](const Node& n) { return read_string(n, diags); });
  read("port", draft.port, [&](const Node& n) { return read_int(n, diags, 1, 65535); });
  read("identity", draft.identities, [&](const Node& n) { return read_strings(n, diags); });
  read("password_env", draft.password_env, [&](const Node& n) { return read_env_name(n, diags); });
  read("passphrase_env", draft.passphrase_env,
       [&](const Node& n) { return read_env_name(n, diags); });
  read("known_hosts", draft.known_hosts, [&](const Node& n) { return read_string(n, diags); });
  read("host_key_check", draft.host_key_check,
       [&](const Node& n) { return read_host_key_check(n, diags); });
  read("connect_timeout", draft.connect_timeout,
       [&](const Node& n) { return read_duration(n, diags); });
  read("keepalive", draft.keepalive, [&](const Node& n) { return read_duration(n, diags); });
  read("via", draft.via, [&](const Node& n) { return read_via(n, diags); });
  read("ssh_config", draft.ssh_config, [&](const Node& n) { return read_ssh_config(n, diags); });
  if (auto node = object.find("ssh_config")) draft.ssh_config_at = node->where;
}

ConnectionDraft read_defaults(const Node& node, Diagnostics& diags) {
  ConnectionDraft defaults;
  if (!expect_object(node, diags)) return defaults;
  check_keys(node, connection_keys(), diags);
  read_connection_keys(node, defaults, diags);
  return defaults;
}

std::vector<HostDraft> read_hosts(const Node& node, Diagnostics& diags) {
  std::vector<HostDraft> hosts;
  if (!expect_list(node, diags)) return hosts;
  for (std::size_t i = 0; i < node.value().size(); ++i) {
    read_host(node.item(i), hosts, diags);
    if (hosts.size() > kMaxHosts) {
      diags.error(node.item(i).where, fmt::format("more than {} hosts", kMaxHosts));
      break;
    }
  }
  return hosts;
}

}  // namespace deployd::plan
