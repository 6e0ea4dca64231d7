// SPDX-License-Identifier: MIT
// load_plan and parse_plan: read every file, merge, resolve names, validate; never throw on bad
// input.
#include "deployd/load.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <iterator>

#include "plan/document.hpp"
#include "plan/fields.hpp"
#include "plan/groups.hpp"
#include "plan/host_list.hpp"
#include "plan/host_resolver.hpp"
#include "plan/imports.hpp"
#include "plan/inventory.hpp"
#include "plan/policy_reader.hpp"
#include "plan/shell_reader.hpp"
#include "plan/suggest.hpp"
#include "plan/tasks_reader.hpp"
#include "plan/validate.hpp"
#include "plan/vars.hpp"

namespace deployd {

namespace {

using namespace deployd::plan;

const std::vector<std::string> kPlanKeys = {"version", "description", "defaults", "hosts", "groups",
                                            "vars",    "policy",      "tasks",    "imports",
                                            "shell"};

// `--var NAME=VALUE` names follow the rules of the plan's own vars.
void check_cli_vars(const VarMap& vars, Diagnostics& diags) {
  for (const auto& [name, value] : vars) {
    if (!is_valid_var_name(name)) {
      diags.file_error("",
                       fmt::format("--var {}: bad variable name (use letters, digits, \"_\", \"-\" "
                                   "and \".\")",
                                   quote(name)));
    } else if (is_reserved_var_name(name)) {
      diags.file_error("", fmt::format("--var {}: a built-in variable cannot be set", quote(name)));
    }
  }
}

class Loader {
 public:
  explicit Loader(const LoadOptions& options) : options_(options) {}

  LoadResult load(std::string_view text, const std::string& file, bool on_disk = false) {
    // 1. Parse every file; a syntax error anywhere stops before names are resolved.
    auto plan_doc = parse_document(std::string(text), file, diags_);
    std::vector<std::unique_ptr<Document>> inventories;
    for (const std::string& path : options_.inventories)
      inventories.push_back(load_inventory(path, diags_));
    // 2. Read each file on its own: inventories first, so their hosts come first.
    Sections merged;
    for (const auto& inventory : inventories)
      if (inventory && inventory->is_parsed)
        merge_sections(merged, read_inventory(*inventory, diags_));
    if (plan_doc->is_parsed) read_plan(*plan_doc, merged);
    bool is_complete =
        plan_doc->is_parsed && std::all_of(inventories.begin(), inventories.end(),
                                           [](const auto& doc) { return doc && doc->is_parsed; });
    // 3. Resolve names across files, then check what refers to what.
    if (is_complete) resolve(merged, file);
    // Transfers last, on an otherwise valid plan: their paths need every variable to resolve.
    if (is_complete && diags_.empty()) validate_transfers(plan_, tasks_, file, on_disk, diags_);
    return finish(file);
  }

 private:
  void read_plan(const Document& doc, Sections& merged) {
    Node root{&doc.root, {&doc, ""}};
    if (!expect_object(root, diags_)) return;
    check_keys(root, kPlanKeys, diags_);
    read_version(root, diags_);
    if (auto key = root.find("description"))
      plan_.description = read_string(*key, diags_, true).value_or("");
    merge_sections(merged, read_sections(root, diags_));
    if (auto key = root.find("policy")) plan_.policy = read_policy(*key, diags_);
    std::vector<std::string> shell;  // sh
    if (auto key = root.find("shell")) shell = read_shell(*key, diags_).value_or(shell);
    if (auto key = root.find("tasks"))
      tasks_ = read_tasks(*key, diags_, shell);
    else
      diags_.error(root.where, "missing required key \"tasks\"");
    read_plan_imports(root, merged);
  }

  // Imported tasks come first, as if written above the plan's; imported vars are defaults.
  void read_plan_imports(const Node& root, Sections& merged) {
    if (!root.find("imports")) return;
    if (!options_.read_imports) {
      diags_.error(root.child("imports").where, "\"imports\" is not read in this load");
      return;
    }
    Imports imports = read_imports(root, diags_, imported_docs_);
    check_var_clashes(imports.var_clashes, merged.vars, diags_);
    for (auto& [name, value] : imports.vars) merged.vars.emplace(name, value);
    imports.tasks.insert(imports.tasks.end(), std::make_move_iterator(tasks_.begin()),
                         std::make_move_iterator(tasks_.end()));
    tasks_ = std::move(imports.tasks);
    check_task_names(tasks_, diags_);
  }

  void resolve(const Sections& merged, const std::string& file) {
    Controller controller = controller_of(options_);
    SshConfigFiles configs(options_.ssh_config, controller);
    plan_.hosts = resolve_hosts(merged.hosts, merged.defaults, controller, configs, diags_);
    resolve_groups(merged.hosts, merged.groups, plan_, diags_);
    plan_.vars = merged.vars;
    plan_.overrides = options_.cli_vars;
    check_cli_vars(plan_.overrides, diags_);
    std::vector<std::string> cli_hosts =
        command_line_hosts(expand_host_lists(options_.hosts, diags_), merged.defaults, controller,
                           configs, plan_, diags_);
    resolve_jump_hosts(plan_.hosts, merged.defaults, controller, configs, diags_);
    warnings_ = configs.warnings();
    notes_ = configs.warnings(/*quiet=*/true);
    validate_notify(tasks_, diags_);
    validate_tasks(plan_, tasks_, cli_hosts, merged.has_bad_hosts, diags_, options_.allow_no_hosts);
    validate_delegates(plan_, tasks_, diags_);
    expand_loops(plan_, tasks_, diags_);  // per host: after `on` is resolved
    read_templates(tasks_, file, options_.read_templates, diags_);
    validate_vars(plan_, tasks_, diags_);
    for (Diagnostic& warning : unused_cli_vars(plan_, tasks_))
      warnings_.push_back(std::move(warning));
  }

  LoadResult finish(const std::string& file) {
    LoadResult result;
    result.warnings = std::move(warnings_);
    result.notes = std::move(notes_);
    if (!diags_.empty()) {
      result.errors = diags_.sorted(LoadResult::kMaxErrors);
      return result;
    }
    plan_.file = file;
    std::string directory = std::filesystem::path(file).parent_path().string();
    plan_.directory = directory.empty() ? "." : directory;
    for (TaskDraft& draft : tasks_) plan_.tasks.push_back(std::move(draft.task));
    result.plan = std::move(plan_);
    return result;
  }

  const LoadOptions& options_;
  Diagnostics diags_;
  std::vector<std::unique_ptr<Document>> imported_docs_;  // the drafts point into them
  Plan plan_;
  std::vector<TaskDraft> tasks_;
  std::vector<Diagnostic> warnings_;
  std::vector<Diagnostic> notes_;
};

}  // namespace

LoadResult load_plan(const std::string& path, const LoadOptions& options) {
  std::string error;
  auto text = read_text_file(path, error);
  if (!text) {
    LoadResult result;
    result.errors.push_back(Diagnostic{.file = path, .message = "cannot read plan: " + error});
    return result;
  }
  return Loader(options).load(*text, path, /*on_disk=*/true);
}

LoadResult parse_plan(std::string_view text, const std::string& file, const LoadOptions& options) {
  return Loader(options).load(text, file);
}

}  // namespace deployd
