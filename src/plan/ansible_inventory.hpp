// SPDX-License-Identifier: MIT
// Ansible inventories (INI and YAML) read into deployd's inventory shape, so that the same readers
// check them and the same precedence applies (plan-format.md, "Ansible inventories").
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "plan/document.hpp"

namespace deployd::plan {

enum class InventoryFormat { Json, AnsibleIni, AnsibleYaml };

/// By extension (`.json`, `.ini`, `.yml`/`.yaml`); any other name by its first line that is not
/// blank or a comment: `{` is JSON, `[` or `NAME …` INI, `---` or `NAME:` YAML.
InventoryFormat inventory_format(const std::string& path, std::string_view text);

/// A document holding what an Ansible inventory says as a deployd inventory (`defaults`,
/// `hosts`, `groups`, `vars`), its values placed at their INI or YAML line:column. Errors of
/// the Ansible syntax itself go to `diags` and leave the document unparsed.
std::unique_ptr<Document> parse_ansible_inventory(std::string text, std::string file,
                                                  InventoryFormat format, Diagnostics& diags);

}  // namespace deployd::plan
