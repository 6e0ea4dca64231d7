// SPDX-License-Identifier: MIT
// The config file (see config_file.hpp).
#include "cli/config_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "plan/document.hpp"
#include "plan/fields.hpp"
#include "plan/inventory.hpp"
#include "plan/suggest.hpp"

namespace deployd::cli {
namespace {

namespace fs = std::filesystem;
using plan::Node;

// A path in the file, as written relative to the file's folder (as inventory paths are).
std::string resolved(const std::string& path, const std::string& file) {
  if (path.empty() || fs::path(path).is_absolute() || path.starts_with('~')) return path;
  const fs::path folder = fs::path(file).parent_path();
  return folder.empty() ? path : (folder / path).string();
}

std::optional<std::string> string_at(const Node& node, plan::Diagnostics& diags) {
  if (node.value().is_string() && !node.value().get<std::string>().empty())
    return node.value().get<std::string>();
  diags.error(node.where, "expected a non-empty string");
  return std::nullopt;
}

std::optional<std::string> choice_at(const Node& node, const std::vector<std::string>& choices,
                                     plan::Diagnostics& diags) {
  std::optional<std::string> value = string_at(node, diags);
  if (!value) return std::nullopt;
  if (std::find(choices.begin(), choices.end(), *value) != choices.end()) return value;
  diags.error(node.where, fmt::format("expected {}, got {}{}", fmt::join(choices, ", "),
                                      plan::quote(*value), plan::did_you_mean(*value, choices)));
  return std::nullopt;
}

void read_keys(const Node& root, ConfigFile& config, plan::Diagnostics& diags) {
  plan::check_keys(root, {"color", "forks", "inventory", "log_dir", "output", "ssh_config"}, diags);
  if (auto node = root.find("inventory")) {
    if (node->value().is_array()) {
      for (std::size_t i = 0; i < node->value().size(); ++i)
        if (auto path = string_at(node->item(i), diags))
          config.inventories.push_back(resolved(*path, config.path));
    } else if (auto path = string_at(*node, diags)) {
      config.inventories.push_back(resolved(*path, config.path));
    }
  }
  if (auto node = root.find("forks")) {
    if (node->value().is_number_integer() && node->value().get<long long>() > 0 &&
        node->value().get<long long>() <= 1'000'000)
      config.forks = node->value().get<int>();
    else
      diags.error(node->where, "expected a whole number of hosts from 1 to 1000000");
  }
  if (auto node = root.find("output"))
    config.output = choice_at(*node, {"stream", "group", "json"}, diags);
  if (auto node = root.find("color"))
    config.color = choice_at(*node, {"auto", "always", "never"}, diags);
  if (auto node = root.find("log_dir"))
    if (auto path = string_at(*node, diags)) config.log_dir = resolved(*path, config.path);
  if (auto node = root.find("ssh_config"))
    if (auto path = string_at(*node, diags)) config.ssh_config = resolved(*path, config.path);
}

std::string user_config_path() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg == '/')
    return (fs::path(xdg) / "deployd" / "config.json").string();
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return {};
  return (fs::path(home) / ".config" / "deployd" / "config.json").string();
}

}  // namespace

ConfigLookup read_config(const std::string& path) {
  ConfigLookup lookup;
  std::string error;
  std::optional<std::string> text = plan::read_text_file(path, error);
  if (!text) {
    lookup.errors.push_back(
        Diagnostic{.file = path, .message = "cannot read config file: " + error});
    return lookup;
  }
  plan::Diagnostics diags;
  std::unique_ptr<plan::Document> doc = plan::parse_document(std::move(*text), path, diags);
  ConfigFile config;
  config.path = path;
  if (doc->is_parsed) {
    const Node root{&doc->root, plan::Where{doc.get(), ""}};
    if (!doc->root.is_object())
      diags.error(root.where, "a config file is a JSON object of defaults");
    else
      read_keys(root, config, diags);
  }
  if (!diags.empty()) {
    lookup.errors = diags.sorted(20);
    return lookup;
  }
  lookup.config = std::move(config);
  return lookup;
}

ConfigLookup find_config() {
  if (const char* named = std::getenv("DEPLOYD_CONFIG"); named != nullptr) {
    ConfigLookup lookup;
    if (*named == '\0') return lookup;  // set empty: no config file, not even the usual ones
    lookup.searched.push_back(named);
    std::error_code error;
    if (!fs::exists(named, error)) {
      lookup.errors.push_back(
          Diagnostic{.message = fmt::format(
                         "DEPLOYD_CONFIG={}: no such file (unset it, or set it empty)", named)});
      return lookup;
    }
    lookup = read_config(named);
    lookup.searched = {named};
    if (lookup.config) lookup.config->found_by = "DEPLOYD_CONFIG";
    return lookup;
  }
  const std::vector<std::pair<std::string, std::string>> places{
      {(fs::path(".deployd") / "config.json").string(), "the current folder"},
      {user_config_path(), "the user's config folder"}};
  std::vector<std::string> searched;
  for (const auto& [path, found_by] : places) {
    if (path.empty()) continue;
    searched.push_back(path);
    std::error_code error;
    if (!fs::exists(path, error)) continue;
    ConfigLookup lookup = read_config(path);
    lookup.searched = searched;
    if (lookup.config) lookup.config->found_by = found_by;
    return lookup;
  }
  ConfigLookup none;
  none.searched = std::move(searched);
  return none;
}

void apply_config(const ConfigFile& config, Options& options) {
  options.config_file = config.path;
  options.config_inventories = config.inventories;
  auto is_free = [&](const char* name) { return options.given.count(name) == 0; };
  if (config.forks && is_free("--forks")) options.forks = *config.forks;
  // -q asks for the summary, which JSON has not: a default of json gives way to it.
  if (config.output && is_free("--output") && !(options.quiet && *config.output == "json"))
    options.output = *config.output == "group"  ? OutputMode::Group
                     : *config.output == "json" ? OutputMode::Json
                                                : OutputMode::Stream;
  if (config.color && is_free("--color"))
    options.color = *config.color == "always"  ? ColorMode::Always
                    : *config.color == "never" ? ColorMode::Never
                                               : ColorMode::Auto;
  if (config.log_dir && is_free("--log-dir")) options.log_dir = *config.log_dir;
  if (config.ssh_config && is_free("--ssh-config")) options.ssh_config = *config.ssh_config;
}

std::string describe_config(const ConfigLookup& lookup) {
  std::string out;
  const ConfigFile* config = lookup.config ? &*lookup.config : nullptr;
  if (config != nullptr)
    out += fmt::format("config file: {} (found by {})\n", config->path, config->found_by);
  else if (lookup.searched.empty())
    out += "config file: none (DEPLOYD_CONFIG is set empty)\n";
  else
    out += fmt::format("config file: none (looked for {})\n", fmt::join(lookup.searched, ", "));
  const std::string from_config = config != nullptr ? "config file " + config->path : "";
  auto line = [&](const char* key, const std::optional<std::string>& value,
                  const std::string& fallback) {
    out += value ? fmt::format("{}: {} ({})\n", key, *value, from_config)
                 : fmt::format("{}: {} (default)\n", key, fallback);
  };
  const char* env = std::getenv("DEPLOYD_INVENTORY");
  if (env != nullptr && *env != '\0')
    out += fmt::format("inventory: {} (DEPLOYD_INVENTORY)\n", env);
  else if (config != nullptr && !config->inventories.empty())
    out += fmt::format("inventory: {} ({})\n", fmt::join(config->inventories, ", "), from_config);
  else
    out += "inventory: none (default: the plan's hosts, or -i, or -H)\n";
  const std::optional<std::string> forks = config != nullptr && config->forks
                                               ? std::optional(std::to_string(*config->forks))
                                               : std::nullopt;
  line("forks", forks, "the plan's policy.forks (256 unless it says)");
  line("output", config != nullptr ? config->output : std::nullopt, "stream");
  line("color", config != nullptr ? config->color : std::nullopt, "auto");
  line("log_dir", config != nullptr ? config->log_dir : std::nullopt,
       ".deployd/runs beside the plan");
  line("ssh_config", config != nullptr ? config->ssh_config : std::nullopt,
       "the plan's ssh_config, else ~/.ssh/config");
  return out;
}

bool is_config_command(int argc, const char* const* argv) {
  return argc > 1 && std::string_view(argv[1]) == "config";
}

int config_main(int argc, const char* const* argv) {
  if (argc > 2 && (std::string_view(argv[2]) == "-h" || std::string_view(argv[2]) == "--help")) {
    std::fputs(
        "deployd config: which config file and inventory deployd uses, and the default of each "
        "option with where it comes from\nUsage: deployd config\n",
        stdout);
    return 0;
  }
  if (argc > 2) {
    std::fprintf(stderr, "deployd: error: config: takes no arguments (got \"%s\")\n", argv[2]);
    return 2;
  }
  const ConfigLookup lookup = find_config();
  for (const Diagnostic& error : lookup.errors)
    std::fprintf(stderr, "deployd: error: %s\n", error.to_string().c_str());
  if (!lookup.errors.empty()) return 2;
  std::fputs(describe_config(lookup).c_str(), stdout);
  return 0;
}

}  // namespace deployd::cli
