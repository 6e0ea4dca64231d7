// SPDX-License-Identifier: MIT
// The inventory part of a file (defaults, hosts, groups, vars), and merging inventories (`-i`).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "plan/draft.hpp"

namespace deployd::plan {

/// Reads `defaults`, `hosts`, `groups` and `vars` from a file's top-level object.
Sections read_sections(const Node& root, Diagnostics& diags);

/// Adds `later` to `merged`: hosts and groups after the ones already there; defaults and vars
/// key by key, `later` winning. Files merge in order: inventories, then the plan.
void merge_sections(Sections& merged, const Sections& later);

/// Checks `version` (1 if given).
void read_version(const Node& root, Diagnostics& diags);

/// Reads and parses the inventory at `path` (JSON, or an Ansible INI or YAML inventory);
/// null (with an error) if it cannot be read.
std::unique_ptr<Document> load_inventory(const std::string& path, Diagnostics& diags);

/// The sections of a parsed inventory; plan-only keys (`tasks`, `policy`) are errors. Relative
/// `identity`, `known_hosts` and `ssh_config` paths are made relative to the inventory's folder.
Sections read_inventory(const Document& doc, Diagnostics& diags);

/// The whole text of `path`; nothing, with `error` set to the reason (lower case), if unreadable.
std::optional<std::string> read_text_file(const std::string& path, std::string& error);

}  // namespace deployd::plan
