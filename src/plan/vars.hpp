// SPDX-License-Identifier: MIT
// Variables: `{{name}}` templates, the lookup order of plan-format.md, and the built-in names.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "deployd/plan.hpp"

namespace deployd::plan {

/// Where a host's variables come from, in the contract's lookup order.
struct VarContext {
  const Plan* plan = nullptr;
  const Host* host = nullptr;          ///< null for local tasks
  const VarMap* registered = nullptr;  ///< may be null
  std::string run_id;
};

/// Value of `name` in the contract's order (--var overrides, registered, host vars, plan vars),
/// or the built-ins host, host.address, host.port, host.user, run.id.
/// A host's vars include its groups' vars (loaded beneath its own, groups in plan order).
std::optional<std::string> lookup_var(std::string_view name, const VarContext& ctx);

/// `text` with every {{name}} replaced; `missing` lists names that did not resolve (text keeps them
/// as written).
struct Interpolated {
  std::string text;
  std::vector<std::string> missing;
};

/// Replaces every `{{ name }}` in `text` and turns `\{{` into `{{`.
Interpolated interpolate(std::string_view text, const VarContext& ctx);

/// Names a template refers to (for validation), in order, without repeats.
std::vector<std::string> referenced_vars(std::string_view text);

/// Why `text` is not a valid template (e.g. an unclosed `{{`), or empty if it is.
std::string template_error(std::string_view text);

/// The built-in names: host, host.address, host.port, host.user, run.id.
const std::vector<std::string>& builtin_vars();

/// True for names of letters, digits, `_`, `-` and `.`, not starting with a digit, `-` or `.`.
bool is_valid_var_name(std::string_view name);

/// True for the built-ins and the names under them (`host`, `run`, `host.*`, `run.*`).
bool is_reserved_var_name(std::string_view name);

}  // namespace deployd::plan
