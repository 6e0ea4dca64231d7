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

constexpr const char* kPlanHost = "plan host";
constexpr const char* kPlanDefaults = "plan defaults";
constexpr const char* kDefault = "default";

/// The plan's value of one key (the host's, else the defaults'), noting its source.
template <typename T>
std::optional<T> from_plan(const char* key, const std::optional<T>& mine,
                           const std::optional<T>& defaults, Host& host) {
  if (mine) host.sources[key] = kPlanHost;
  if (!mine && defaults) host.sources[key] = kPlanDefaults;
  return mine ? mine : defaults;
}

std::string from_config(const SshConfigValue& value) { return "ssh_config " + value.where(); }

/// Resolves one host, key by key: the plan (host, then defaults), then ssh_config, then the
/// built-in default; ssh_config tokens are expanded with the values chosen. A jump host that is
/// not a plan host (`is_hop`) reads its own ssh_config entry before the plan's defaults, as
/// OpenSSH reads a ProxyJump hop's: the defaults are written for the plan's hosts.
class HostResolution {
 public:
  HostResolution(const HostDraft& draft, const ConnectionDraft& defaults,
                 const Controller& controller, SshConfigFiles& configs, Diagnostics& diags,
                 bool is_hop = false)
      : draft_(draft), defaults_(defaults), controller_(controller), diags_(diags),
        is_hop_(is_hop) {
    host_.name = draft.name;
    host_.vars = draft.vars;
    host_.json_pointer = draft.where.pointer;
    config_ = config_for(configs);
  }

  Host resolve() {
    const ConnectionDraft& mine = draft_.connection;
    host_.address = draft_.address.value_or("");
    host_.sources["address"] = draft_.address ? kPlanHost : kDefault;
    if (!draft_.address) {
      host_.address = draft_.name;
      if (auto* value = config_value("hostname"))
        host_.address = expand(*value, SshTokens{draft_.name, draft_.name, "", "", "", ""}),
        note("address", *value);
    }
    host_.user = pick<std::string>("user", mine.user, defaults_.user, controller_.user,
                                   [](const std::string& text) { return text; });
    host_.port = pick<int>("port", mine.port, defaults_.port, 22,
                           [](const std::string& text) { return std::stoi(text); });
    host_.host_key_check = pick<HostKeyCheck>(
        "host_key_check", mine.host_key_check, defaults_.host_key_check, HostKeyCheck::Strict,
        [](const std::string& text) {
          std::string mode = text;
          for (char& c : mode) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          if (mode == "accept-new") return HostKeyCheck::AcceptNew;
          return mode == "no" || mode == "off" ? HostKeyCheck::Off : HostKeyCheck::Strict;
        });
    host_.connect_timeout = pick<Duration>("connect_timeout", mine.connect_timeout,
                                           defaults_.connect_timeout, Duration(10'000), seconds);
    host_.keepalive =
        pick<Duration>("keepalive", mine.keepalive, defaults_.keepalive, Duration(15'000), seconds);
    host_.via = pick<std::vector<std::string>>("via", mine.via, defaults_.via, {}, jump_hosts);
    host_.password_env =
        from_plan("password_env", mine.password_env, defaults_.password_env, host_).value_or("");
    host_.passphrase_env =
        from_plan("passphrase_env", mine.passphrase_env, defaults_.passphrase_env, host_)
            .value_or("");
    if (auto* value = config_value("identitiesonly")) {
      host_.identities_only = value->text == "yes";
      note("identities_only", *value);
    }
    resolve_identities();
    resolve_known_hosts();
    return std::move(host_);
  }

 private:
  static Duration seconds(const std::string& text) {
    const char unit = text.empty() ? 's' : text.back();
    const long long count = std::stoll(text);
    const long long scale = unit == 'm'   ? 60
                            : unit == 'h' ? 3600
                            : unit == 'd' ? 86400
                            : unit == 'w' ? 604800
                                          : 1;
    return Duration(count * scale * 1000);
  }

  // ProxyJump: `none`, or hops separated by commas, outermost first.
  static std::vector<std::string> jump_hosts(const std::string& text) {
    std::vector<std::string> hops;
    if (text == "none") return hops;
    std::size_t start = 0;
    while (start <= text.size()) {
      std::size_t end = std::min(text.find(',', start), text.size());
      std::string hop = text.substr(start, end - start);
      if (hop.starts_with("ssh://")) hop.erase(0, 6);
      if (!hop.empty()) hops.push_back(hop);
      start = end + 1;
    }
    return hops;
  }

  const SshConfig* config_for(SshConfigFiles& configs) {
    std::optional<std::string> path =
        from_plan("ssh_config", draft_.connection.ssh_config, defaults_.ssh_config, host_);
    if (path && path->empty()) return nullptr;  // `"ssh_config": false`
    bool must_exist = path.has_value();
    if (!configs.command_line().empty()) {
      path = configs.command_line();
      must_exist = true;
      host_.sources["ssh_config"] = "command line -F";
    }
    if (!path) host_.sources["ssh_config"] = kDefault;
    host_.ssh_config = expand_home(path.value_or("~/.ssh/config"), controller_.home);
    const Where& named_at = draft_.connection.ssh_config ? draft_.connection.ssh_config_at
                                                          : defaults_.ssh_config_at;
    const bool is_named = must_exist && configs.command_line().empty();
    const SshConfig* config =
        configs.get(host_.ssh_config, must_exist, diags_, is_named ? &named_at : nullptr);
    if (config) found_ = config->lookup(draft_.name);
    return config;
  }

  const SshConfigValue* config_value(const std::string& keyword) const {
    return config_ ? found_.find(keyword) : nullptr;
  }

  void note(const char* key, const SshConfigValue& value) {
    host_.sources[key] = from_config(value);
  }

  template <typename T, typename Convert>
  T pick(const char* key, const std::optional<T>& mine, const std::optional<T>& defaults, T builtin,
         Convert convert) {
    if (std::optional<T> value = from_plan(key, mine, before_config(defaults), host_))
      return *value;
    if (const SshConfigValue* value = config_value(config_keyword(key))) {
      note(key, *value);
      return convert(value->text);
    }
    if (std::optional<T> value = from_plan(key, {}, after_config(defaults), host_)) return *value;
    host_.sources[key] = kDefault;
    return builtin;
  }

  /// The plan defaults where they rank: above ssh_config for a plan host, below it for a hop.
  template <typename T>
  std::optional<T> before_config(const std::optional<T>& defaults) const {
    return is_hop_ ? std::nullopt : defaults;
  }
  template <typename T>
  std::optional<T> after_config(const std::optional<T>& defaults) const {
    return is_hop_ ? defaults : std::nullopt;
  }

  static std::string config_keyword(const std::string& key) {
    static const std::map<std::string, std::string> keywords = {
        {"user", "user"},
        {"port", "port"},
        {"host_key_check", "stricthostkeychecking"},
        {"connect_timeout", "connecttimeout"},
        {"keepalive", "serveraliveinterval"},
        {"via", "proxyjump"},
        {"known_hosts", "userknownhostsfile"}};
    return keywords.at(key);
  }

  SshTokens tokens() const {
    return SshTokens{
        host_.address,   draft_.name, host_.user, controller_.user, std::to_string(host_.port),
        controller_.home};
  }

  std::string expand(const SshConfigValue& value, const SshTokens& tokens) {
    std::string error;
    std::string text = expand_ssh_tokens(value.text, tokens, error);
    if (!error.empty()) diags_.add(Diagnostic{value.file, "", value.line, value.column, error});
    return text;
  }

  void resolve_identities() {
    const ConnectionDraft& mine = draft_.connection;
    auto take_plan = [&](const std::optional<std::vector<std::string>>& defaults) {
      auto plan = from_plan("identity", mine.identities, defaults, host_);
      for (const std::string& identity : plan.value_or(std::vector<std::string>{}))
        host_.identities.push_back(expand_home(identity, controller_.home));
      return plan.has_value();
    };
    if (take_plan(before_config(defaults_.identities))) return;
    std::string where;
    if (config_) {
      for (const SshConfigValue& value : found_.identity_files) {
        host_.identities.push_back(expand(value, tokens()));
        where += (where.empty() ? "" : ", ") + value.where();
      }
    }
    if (where.empty() && take_plan(after_config(defaults_.identities))) return;
    host_.sources["identity"] = where.empty() ? kDefault : "ssh_config " + where;
  }

  void resolve_known_hosts() {
    const ConnectionDraft& mine = draft_.connection;
    const auto after = after_config(defaults_.known_hosts);
    if (auto plan = from_plan("known_hosts", mine.known_hosts,
                              before_config(defaults_.known_hosts), host_)) {
      host_.known_hosts = expand_home(*plan, controller_.home);
    } else if (const SshConfigValue* value = config_value("userknownhostsfile")) {
      // OpenSSH reads every file listed; deployd reads and records into the first.
      SshConfigValue first = *value;
      first.text = first.text.substr(0, first.text.find(' '));
      host_.known_hosts = expand(first, tokens());
      note("known_hosts", *value);
    } else if (after) {
      host_.known_hosts = expand_home(*after, controller_.home);
      host_.sources["known_hosts"] = kPlanDefaults;
    } else {
      host_.known_hosts = expand_home("~/.ssh/known_hosts", controller_.home);
      host_.sources["known_hosts"] = kDefault;
    }
  }

  const HostDraft& draft_;
  const ConnectionDraft& defaults_;
  const Controller& controller_;
  Diagnostics& diags_;
  const bool is_hop_;
  Host host_;
  const SshConfig* config_ = nullptr;
  SshConfigHost found_;
};

Host resolve_host(const HostDraft& draft, const ConnectionDraft& defaults,
                  const Controller& controller, SshConfigFiles& configs, Diagnostics& diags) {
  return HostResolution(draft, defaults, controller, configs, diags).resolve();
}

/// A jump host that is no plan host, reached on the way to `target`: its `[user@]name[:port]`,
/// then its own entry in the target's ssh_config, then the plan defaults; never the target's
/// keys, never a password (ssh_config has none, and the defaults' is for the plan's hosts).
Host resolve_hop(const std::string& text, const Host& target, const ConnectionDraft& defaults,
                 const Controller& controller, SshConfigFiles& configs, Diagnostics& diags) {
  const HostSpec spec = parse_host_spec(text);
  HostDraft draft;
  draft.name = spec.name;
  if (!spec.user.empty()) draft.connection.user = spec.user;
  draft.connection.port = spec.port;
  draft.connection.ssh_config = target.ssh_config;  // as `ssh -F` hands its file to the hop
  ConnectionDraft hop_defaults = defaults;
  hop_defaults.password_env.reset();
  return HostResolution(draft, hop_defaults, controller, configs, diags, true).resolve();
}

}  // namespace

void resolve_jump_hosts(std::vector<Host>& hosts, const ConnectionDraft& defaults,
                        const Controller& controller, SshConfigFiles& configs,
                        Diagnostics& diags) {
  for (Host& host : hosts) {
    host.via_hosts.clear();
    for (const std::string& text : host.via) {
      const auto known = std::find_if(hosts.begin(), hosts.end(),
                                      [&](const Host& h) { return h.name == text; });
      Host hop = known != hosts.end() ? *known
                                      : resolve_hop(text, host, defaults, controller, configs, diags);
      hop.via.clear();  // the list is the whole path: a hop's own via is not followed
      hop.via_hosts.clear();
      hop.vars.clear();
      hop.groups.clear();
      host.via_hosts.push_back(std::move(hop));
    }
  }
}

const SshConfig* SshConfigFiles::get(const std::string& path, bool must_exist, Diagnostics& diags,
                                     const Where* named_at) {
  auto found = files_.find(path);
  if (found == files_.end()) {
    SshConfigContext context{controller_.home, controller_.user};
    found = files_.emplace(path, SshConfig::load(path, context, must_exist)).first;
    order_.push_back(path);
    for (const SshConfigIssue& issue : found->second.errors()) {
      const std::string_view unreadable = "cannot read ssh_config: ";
      if (issue.line == 0 && named_at != nullptr && named_at->doc != nullptr &&
          issue.message.starts_with(unreadable))
        diags.error(*named_at, "cannot read ssh_config " + quote(path) + ": " +
                                   issue.message.substr(unreadable.size()));
      else
        diags.add(Diagnostic{issue.file, "", issue.line, issue.column, issue.message});
    }
  }
  return found->second.errors().empty() ? &found->second : nullptr;
}

std::vector<Diagnostic> SshConfigFiles::warnings(bool quiet) const {
  std::vector<Diagnostic> out;
  for (const std::string& path : order_)
    for (const SshConfigIssue& issue : files_.at(path).warnings())
      if (issue.is_quiet == quiet)
        out.push_back(Diagnostic{issue.file, "", issue.line, issue.column, issue.message});
  return out;
}

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
                                SshConfigFiles& configs, Diagnostics& diags) {
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
    hosts.push_back(resolve_host(draft, defaults, controller, configs, diags));
    for (const std::string& hop : hosts.back().via) {
      if (parse_host_spec(hop).name == draft.name)
        diags.error(draft.where,
                    fmt::format("host {} cannot be its own jump host", quote(draft.name)));
    }
  }
  return hosts;
}

std::vector<std::string> command_line_hosts(const std::vector<CommandLineHost>& specs,
                                            const ConnectionDraft& defaults,
                                            const Controller& controller, SshConfigFiles& configs,
                                            Plan& plan, Diagnostics& diags) {
  std::vector<std::string> names;
  for (const CommandLineHost& given : specs) {
    const std::string& text = given.text;
    auto report = [&](const std::string& message) {
      if (given.file.empty())
        diags.file_error("", fmt::format("-H {}: {}", quote(text), message));
      else
        diags.add(Diagnostic{given.file, "", given.line, given.column,
                             fmt::format("bad host {}: {}", quote(text), message)});
    };
    HostSpec spec = parse_host_spec(text);
    Expansion expansion = expand_host_pattern(spec.name);
    std::string error = spec.error.empty() ? expansion.error : spec.error;
    if (!error.empty()) {
      report(error);
      continue;
    }
    for (const std::string& name : expansion.names) {
      if (name == "all" || name == "local") {
        report(fmt::format("{} cannot name a host", quote(name)));
        continue;
      }
      if (std::find(names.begin(), names.end(), name) != names.end()) continue;
      names.push_back(name);
      // A plan host keeps its keys, except what the command line says.
      if (auto found = std::find_if(plan.hosts.begin(), plan.hosts.end(),
                                    [&](const Host& host) { return host.name == name; });
          found != plan.hosts.end()) {
        if (!spec.user.empty()) found->user = spec.user, found->sources["user"] = "command line -H";
        if (spec.port) found->port = *spec.port, found->sources["port"] = "command line -H";
        continue;
      }
      HostDraft draft;
      draft.name = name;
      if (!spec.user.empty()) draft.connection.user = spec.user;
      draft.connection.port = spec.port;
      plan.hosts.push_back(resolve_host(draft, defaults, controller, configs, diags));
    }
  }
  return names;
}

}  // namespace deployd::plan
