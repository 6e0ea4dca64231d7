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
  std::string delegate;  ///< a delegated step's `delegate_to` (`{{delegate}}`); else empty
  const VarMap* loop = nullptr;  ///< a `for_each` step's loop variables, first of all; may be null
};

/// Value of `name` in the contract's order (--var overrides, registered, host vars, plan vars),
/// or the built-ins host, host.address, host.port, host.user, run.id.
/// A host's vars include its groups' vars (loaded beneath its own, groups in plan order).
std::optional<std::string> lookup_var(std::string_view name, const VarContext& ctx);

/// A registered value (a command's output: data from a host, never trusted) used in a template.
struct OutputValue {
  std::string name;
  std::string value;        ///< before filters
  bool is_filtered = false;  ///< written `{{ name | FILTER }}`
};

/// `text` with every {{name}} replaced; `missing` lists names that did not resolve (text keeps them
/// as written); `from_output` the registered values it used, for the checks of the trust model.
struct Interpolated {
  std::string text;
  std::vector<std::string> missing;
  std::vector<OutputValue> from_output;
};

/// Replaces every `{{ name }}` and `{{ name | FILTER | ... }}` in `text` and turns `\{{` into
/// `{{`. Filters: `q` (shell-quoted, one word whatever the bytes), `raw` (unchanged).
Interpolated interpolate(std::string_view text, const VarContext& ctx);

/// Names a template refers to (for validation), in order, without repeats.
std::vector<std::string> referenced_vars(std::string_view text);

/// Why `text` is not a valid template (e.g. an unclosed `{{`), or empty if it is.
std::string template_error(std::string_view text);

/// `text` quoted for a POSIX shell, safe for any bytes: 'it'\''s' (the `q` filter).
std::string shell_quoted(std::string_view text);

/// True if `text` is one shell word as it stands: letters, digits and `._-+:/@%=,` only.
bool is_shell_word(std::string_view text);

/// Why a registered value may not stand in a local path (absolute, or a `..` component), or "".
std::string host_path_error(const OutputValue& value);

/// The built-in names: host, host.address, host.port, host.user, run.id, delegate.
const std::vector<std::string>& builtin_vars();

/// True for names of letters, digits, `_`, `-` and `.`, not starting with a digit, `-` or `.`.
bool is_valid_var_name(std::string_view name);

/// True for the built-ins and the names under them (`host`, `run`, `host.*`, `run.*`,
/// `delegate`).
bool is_reserved_var_name(std::string_view name);

}  // namespace deployd::plan
