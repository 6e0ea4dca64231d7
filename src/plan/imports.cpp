// SPDX-License-Identifier: MIT
// Reading `imports`: each imported file's tasks become NAME:TASK, its needs name its own tasks, and
// its relative paths start from its own folder. Cycles and clashes are errors naming both places.
#include "plan/imports.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>

#include "plan/fields.hpp"
#include "plan/inventory.hpp"
#include "plan/suggest.hpp"
#include "plan/tasks_reader.hpp"

namespace deployd::plan {

namespace {

namespace fs = std::filesystem;

// The keys an imported file may hold; the others belong to the plan that imports it.
const std::vector<std::string> kLibraryKeys = {"version", "description", "imports", "vars",
                                               "tasks"};
const std::vector<std::string> kPlanOnlyKeys = {"hosts", "groups", "defaults", "policy"};

// An import name becomes the first part of task names typed on the command line.
bool is_valid_import_name(const std::string& name) {
  if (name.empty() || name.front() == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
  });
}

// `file:line:column /pointer`, how a message names a place in another file.
std::string place(const Where& where) {
  if (!where.doc) return where.pointer;
  TextPosition at = where.doc->map.value_position(where.pointer);
  return fmt::format("{}:{}:{} {}", where.doc->file, at.line, at.column, where.pointer);
}

// A need inside a file imported as PREFIX names that file's task PREFIX:NEED: a library knows
// nothing of the plans that use it (the importing plan adds needs with the object form).
void qualify(TaskDraft& draft, const std::string& prefix, const std::string& folder) {
  draft.task.name = prefix + draft.task.name;
  for (std::string& need : draft.task.needs) need = prefix + need;
  for (Step& step : draft.task.steps) step.directory = folder;
}

// What the importing file says about one import.
struct ImportEntry {
  std::string path;
  std::vector<std::string> needs;  // its own tasks, qualified, that the file's first tasks wait for
  std::vector<Where> need_at;
};

// One file in the chain of imports being read: cycles are found by walking it.
struct Link {
  fs::path identity;  // the file's absolute, normal path
  std::string shown;  // its path as messages give it
  Where imported_at;  // the `imports` entry that named it (none for the plan)
};

class ImportReader {
 public:
  ImportReader(Diagnostics& diags, std::vector<std::unique_ptr<Document>>& docs)
      : diags_(diags), docs_(docs) {}

  Imports read(const Node& root) {
    chain_.push_back({identity_of(root.where.doc->file), root.where.doc->file, {}});
    if (auto imports = root.find("imports"))
      read_entries(*imports, "", fs::path(root.where.doc->file).parent_path());
    return std::move(result_);
  }

 private:
  static fs::path identity_of(const std::string& file) {
    std::error_code ignored;
    fs::path path = fs::weakly_canonical(fs::absolute(file, ignored), ignored);
    return path.empty() ? fs::path(file).lexically_normal() : path;
  }

  void read_entries(const Node& imports, const std::string& prefix, const fs::path& folder) {
    if (!expect_object(imports, diags_)) return;
    for (const auto& item : imports.value().items()) {
      const std::string& name = item.key();
      if (!is_valid_import_name(name)) {
        diags_.key_error(
            imports.where, name,
            fmt::format("bad import name {} (use letters, digits, \".\", \"-\" and \"_\")",
                        quote(name)));
        continue;
      }
      Node node = imports.child(name);
      if (auto entry = read_entry(node, prefix))
        read_file(node, (folder / entry->path).lexically_normal(), prefix + name + ":", *entry);
    }
  }

  // `"lib/x.json"` or `{"file": "lib/x.json", "needs": [...]}`.
  std::optional<ImportEntry> read_entry(const Node& node, const std::string& prefix) {
    if (node.value().is_string()) {
      auto path = read_string(node, diags_);
      return path ? std::optional<ImportEntry>(ImportEntry{*path, {}, {}}) : std::nullopt;
    }
    if (!node.value().is_object()) {
      diags_.error(node.where,
                   expected_but_got("a file name or an object with \"file\"", node.value()));
      return std::nullopt;
    }
    check_keys(node, {"file", "needs"}, diags_);
    auto file = node.find("file");
    if (!file) {
      diags_.error(node.where, "missing required key \"file\"");
      return std::nullopt;
    }
    auto path = read_string(*file, diags_);
    if (!path) return std::nullopt;
    ImportEntry entry{*path, {}, {}};
    if (auto needs = node.find("needs")) {
      for (std::string& need : read_names(*needs, entry.need_at, diags_))
        entry.needs.push_back(prefix + need);
    }
    return entry;
  }

  void read_file(const Node& entry, const fs::path& path, const std::string& prefix,
                 const ImportEntry& what) {
    const fs::path identity = identity_of(path.string());
    auto looped = std::find_if(chain_.begin(), chain_.end(),
                               [&](const Link& link) { return link.identity == identity; });
    if (looped != chain_.end()) return report_cycle(entry, looped, path);
    std::string error;
    std::error_code code;
    // Not a device or a FIFO: reading one could take forever.
    if (fs::exists(path, code) && !fs::is_regular_file(path, code) &&
        !fs::is_directory(path, code)) {
      diags_.error(entry.where,
                   fmt::format("cannot read {}: not a regular file", quote(path.string())));
      return;
    }
    auto text = read_text_file(path.string(), error);
    if (!text) {
      diags_.error(entry.where, fmt::format("cannot read {}: {}", quote(path.string()), error));
      return;
    }
    docs_.push_back(parse_document(std::move(*text), path.string(), diags_));
    const Document& doc = *docs_.back();
    if (!doc.is_parsed) return;
    chain_.push_back({identity, path.string(), entry.where});
    read_library(Node{&doc.root, {&doc, ""}}, prefix, path.parent_path(), what);
    chain_.pop_back();
  }

  // Reported where the cycle closes; the message names the file's first import too.
  void report_cycle(const Node& entry, std::vector<Link>::const_iterator looped,
                    const fs::path& path) {
    std::string cycle;
    for (auto it = looped; it != chain_.end(); ++it) cycle += it->shown + " -> ";
    cycle += path.string();
    std::string first = looped->imported_at.doc
                            ? fmt::format(" ({} is first imported at {})", quote(looped->shown),
                                          place(looped->imported_at))
                            : "";
    diags_.error(entry.where, fmt::format("import cycle: {}{}", cycle, first));
  }

  void read_library(const Node& root, const std::string& prefix, const fs::path& folder,
                    const ImportEntry& entry) {
    if (!expect_object(root, diags_)) return;
    for (const std::string& key : kPlanOnlyKeys) {
      if (root.value().contains(key))
        diags_.key_error(
            root.where, key,
            fmt::format("{} belongs in the plan: an imported file holds tasks and vars",
                        quote(key)));
    }
    std::vector<std::string> allowed = kLibraryKeys;
    allowed.insert(allowed.end(), kPlanOnlyKeys.begin(), kPlanOnlyKeys.end());
    check_keys(root, allowed, diags_);
    read_version(root, diags_);
    if (auto key = root.find("description")) read_string(*key, diags_, true);
    if (auto key = root.find("vars")) read_library_vars(*key);
    if (auto key = root.find("imports")) read_entries(*key, prefix, folder);
    auto tasks = root.find("tasks");
    if (!tasks) {
      diags_.error(root.where, "missing required key \"tasks\"");
      return;
    }
    for (TaskDraft& draft : read_tasks(*tasks, diags_)) {
      if (draft.task.is_default)
        diags_.error(Where{draft.where.doc, draft.where.pointer + "/default"},
                     "\"default\" cannot be used in an imported file: the plan chooses what runs");
      qualify(draft, prefix, folder.empty() ? "." : folder.string());
      // The file's first tasks wait for what the importing file says they need.
      if (draft.task.needs.empty()) {
        draft.task.needs = entry.needs;
        draft.need_at = entry.need_at;
      }
      result_.tasks.push_back(std::move(draft));
    }
  }

  void read_library_vars(const Node& node) {
    for (const auto& [name, value] : read_vars(node, diags_)) {
      Where where{node.where.doc, append_pointer(node.pointer(), name)};
      auto [first, is_new] = var_at_.emplace(name, where);
      if (is_new) {
        result_.vars[name] = value;
      } else if (result_.vars[name] != value) {
        result_.var_clashes.push_back({name, first->second, where});
      }
    }
  }

  Diagnostics& diags_;
  std::vector<std::unique_ptr<Document>>& docs_;
  std::vector<Link> chain_;
  std::map<std::string, Where> var_at_;
  Imports result_;
};

}  // namespace

Imports read_imports(const Node& root, Diagnostics& diags,
                     std::vector<std::unique_ptr<Document>>& docs) {
  return ImportReader(diags, docs).read(root);
}

void check_task_names(const std::vector<TaskDraft>& tasks, Diagnostics& diags) {
  std::map<std::string, const TaskDraft*> first;
  for (const TaskDraft& draft : tasks) {
    auto [found, is_new] = first.emplace(draft.task.name, &draft);
    if (is_new) continue;
    diags.error(draft.where, fmt::format("task {} is defined twice: here and at {}",
                                         quote(draft.task.name), place(found->second->where)));
  }
}

void check_var_clashes(const std::vector<VarClash>& clashes, const Vars& vars,
                       Diagnostics& diags) {
  for (const VarClash& clash : clashes) {
    if (vars.count(clash.name)) continue;
    diags.error(clash.second,
                fmt::format("variable {} is set differently at {}: set it in the plan's \"vars\"",
                            quote(clash.name), place(clash.first)));
  }
}

}  // namespace deployd::plan
