// SPDX-License-Identifier: MIT
// Inventory files (`-i FILE`): hosts, groups, defaults and vars merged in before the plan's.
#include "plan/inventory.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "plan/ansible_inventory.hpp"
#include "plan/fields.hpp"
#include "plan/groups.hpp"
#include "plan/hosts_reader.hpp"
#include "plan/suggest.hpp"

namespace deployd::plan {

Sections read_sections(const Node& root, Diagnostics& diags) {
  Sections sections;
  if (auto key = root.find("defaults")) sections.defaults = read_defaults(*key, diags);
  if (auto key = root.find("hosts")) {
    std::size_t errors_before = diags.size();
    sections.hosts = read_hosts(*key, diags);
    sections.has_bad_hosts = diags.size() > errors_before;
  }
  if (auto key = root.find("groups")) sections.groups = read_groups(*key, diags);
  if (auto key = root.find("vars")) sections.vars = read_vars(*key, diags);
  return sections;
}

void merge_sections(Sections& merged, const Sections& later) {
  merged.defaults.merge(later.defaults);
  merged.hosts.insert(merged.hosts.end(), later.hosts.begin(), later.hosts.end());
  merged.groups.insert(merged.groups.end(), later.groups.begin(), later.groups.end());
  for (const auto& [name, value] : later.vars) merged.vars[name] = value;
  merged.has_bad_hosts = merged.has_bad_hosts || later.has_bad_hosts;
}

void read_version(const Node& root, Diagnostics& diags) {
  auto version = root.find("version");
  if (!version) return;
  const Json& value = version->value();
  if (!value.is_number_integer()) {
    diags.error(version->where, expected_but_got("1", value));
  } else if (value.get<long long>() != 1) {
    diags.error(version->where,
                fmt::format("unsupported version {} (this deployd reads version 1)", value.dump()));
  }
}

std::optional<std::string> read_text_file(const std::string& path, std::string& error) {
  std::error_code code;
  if (std::filesystem::is_directory(path, code)) {
    error = "is a directory";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    if (!error.empty())
      error[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(error[0])));
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::unique_ptr<Document> load_inventory(const std::string& path, Diagnostics& diags) {
  std::string error;
  auto text = read_text_file(path, error);
  if (!text) {
    diags.file_error(path, "cannot read inventory: " + error);
    return nullptr;
  }
  InventoryFormat format = inventory_format(path, *text);
  if (format != InventoryFormat::Json)
    return parse_ansible_inventory(std::move(*text), path, format, diags);
  return parse_document(std::move(*text), path, diags);
}

namespace {

// A relative path written in an inventory means one beside it, as a plan's `put` sources do.
void rebase(std::optional<std::string>& path, const std::filesystem::path& folder) {
  if (!path || path->empty() || path->front() == '~' || path->front() == '/') return;
  *path = (folder / *path).string();
}

void rebase_paths(ConnectionDraft& keys, const std::filesystem::path& folder) {
  if (keys.identities)
    for (std::string& identity : *keys.identities) {
      std::optional<std::string> path = identity;
      rebase(path, folder);
      identity = *path;
    }
  rebase(keys.known_hosts, folder);
  rebase(keys.ssh_config, folder);
}

}  // namespace

Sections read_inventory(const Document& doc, Diagnostics& diags) {
  Node root{&doc.root, {&doc, ""}};
  if (!expect_object(root, diags)) return {};
  for (const auto& item : root.value().items()) {
    if (item.key() == "tasks" || item.key() == "policy") {
      diags.key_error(root.where, item.key(),
                      fmt::format("{} belongs in a plan, not in an inventory", quote(item.key())));
    }
  }
  check_keys(root,
             {"version", "description", "defaults", "hosts", "groups", "vars", "tasks", "policy"},
             diags);
  read_version(root, diags);
  if (auto key = root.find("description")) read_string(*key, diags, true);
  Sections sections = read_sections(root, diags);
  const std::filesystem::path folder = std::filesystem::path(doc.file).parent_path();
  if (!folder.empty()) {
    rebase_paths(sections.defaults, folder);
    for (HostDraft& host : sections.hosts) rebase_paths(host.connection, folder);
  }
  return sections;
}

}  // namespace deployd::plan
