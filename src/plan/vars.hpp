// SPDX-License-Identifier: MIT
// Variables: `{{name}}` templates, the lookup order of plan-format.md, and the built-in names.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "deployd/plan.hpp"
#include "plan/expr.hpp"

namespace deployd::plan {

/// Where a host's variables come from, in the contract's lookup order.
struct VarContext {
  const Plan* plan = nullptr;
  const Host* host = nullptr;          ///< null for local tasks
  const VarMap* registered = nullptr;  ///< may be null
  std::string run_id;
  std::string delegate;  ///< a delegated step's `delegate_to` (`{{delegate}}`); else empty
  /// A `for_each` step's loop variables, first of all; may be null. Their texts are templates
  /// (a --var list's items come with `{{` escaped).
  const Vars* loop = nullptr;
};

/// A host's variables as an expression sees them. A dotted name is looked up as written first
/// (a flat name such as `app.port`); if no variable has that name, the part before the last dot
/// is looked up and the rest is a field or index into its value, and so on. Values the plan
/// defines are templates, resolved when read (cycles are EvalErrors); `--var` and registered
/// values are data, used as they are.
class VarScope : public Scope {
 public:
  explicit VarScope(const VarContext& context) : context_(context) {}
  std::optional<Value> lookup(std::string_view name) override;
  /// The value of `name` as lookup() finds it, before the templates inside are resolved;
  /// `is_data`: it is not a template (a --var, a registered value, a built-in).
  std::optional<Value> find_value(std::string_view name, bool& is_data);
  /// Names that mean something else first: a step's own rc, stdout, stderr (changed_when).
  void set_locals(const VarMap* locals) { locals_ = locals; }
  /// The registered values read so far (host output: the trust model's checks).
  const std::vector<std::string>& output_names() const { return output_names_; }

 private:
  const Value* find(std::string_view name, std::optional<Value>& owned, bool& is_data);
  const Value* find_path(std::string_view name, std::optional<Value>& owned, bool& is_data,
                         const Value*& root);
  Value resolve(const Value& value, const std::string& key, const std::string& defined_at);

  const VarContext& context_;
  const VarMap* locals_ = nullptr;
  std::vector<std::string> output_names_;
  std::vector<std::pair<std::string, std::string>> resolving_;  ///< name, where it is defined
};

/// Value of `name` as text (lists and objects as JSON) in the contract's order (--var overrides,
/// registered, host vars, plan vars), or the built-ins host, host.address, host.port,
/// host.user, host.groups, run.id, groups.NAME. A host's vars include its groups' vars (loaded
/// beneath its own, groups in plan order). Nullopt for no value, or a value that cannot resolve.
std::optional<std::string> lookup_var(std::string_view name, const VarContext& ctx);

/// The value of `name` with every template inside resolved; `error` says why it cannot be
/// (`variable cycle: a -> b -> a (...)`, or an undefined name inside a value).
struct Resolved {
  std::optional<Value> value;
  std::string error;
};
Resolved resolve_var(std::string_view name, const VarContext& ctx);

/// A registered value (a command's output: data from a host, never trusted) used in a template.
struct OutputValue {
  std::string name;
  std::string value;         ///< the text used; before the outermost `q` or `raw` filter
  bool is_filtered = false;  ///< the reference ends in `| q` or `| raw`
};

/// `text` with every {{name}} replaced; `missing` lists names that did not resolve (text keeps them
/// as written); `from_output` the registered values it used, for the checks of the trust model.
struct Interpolated {
  std::string text;
  std::vector<std::string> missing;
  std::vector<OutputValue> from_output;
  /// Why a reference could not be evaluated, other than a missing name (kept as written too):
  /// `"{{ a < [] }}": column 3: "<" cannot compare a text with a list`.
  std::string error;
  bool error_is_whole = false;  ///< a cycle: says all, without the reference
};

/// Replaces every `{{ EXPR }}` (an expression, plan-format.md "Expressions", e.g. `{{ name }}`
/// or `{{ name | FILTER | ... }}`) in `text` and turns `\{{` into `{{`. A reference that does
/// not parse, or whose value is missing, stays as written.
Interpolated interpolate(std::string_view text, const VarContext& ctx);
Interpolated interpolate(std::string_view text, VarScope& scope);

/// Names a template refers to (for validation), in order, without repeats; with `every`, also
/// those that may be undefined (inside `defined()`, before `| default`).
std::vector<std::string> referenced_vars(std::string_view text, bool every = false);

/// Why `text` is not a valid template (an unclosed `{{`, an expression that does not parse), or
/// empty if it is.
std::string template_error(std::string_view text);

/// `value` with every `{{` in its texts written `\{{`: data that reads back as it is when it is
/// resolved as a template (a --var list's items in a `for_each`).
Value escaped_data(Value value);

/// `text` quoted for a POSIX shell, safe for any bytes: 'it'\''s' (the `q` filter).
std::string shell_quoted(std::string_view text);

/// True if `text` is one shell word as it stands: letters, digits and `._-+:/@%=,` only.
bool is_shell_word(std::string_view text);

/// Why a registered value may not stand in a local path (absolute, or a `..` component), or "".
std::string host_path_error(const OutputValue& value);

/// The built-in names: host, host.address, host.port, host.user, host.groups, run.id, delegate
/// (and groups.NAME for each group).
const std::vector<std::string>& builtin_vars();

/// True for names of letters, digits, `_`, `-` and `.`, not starting with a digit, `-` or `.`.
bool is_valid_var_name(std::string_view name);

/// True for the built-ins and the names under them (`host`, `run`, `host.*`, `run.*`,
/// `delegate`).
bool is_reserved_var_name(std::string_view name);

}  // namespace deployd::plan
