// SPDX-License-Identifier: MIT
// Typed reading of JSON values: each reader reports a wrong value and returns nothing.
#pragma once

#include <climits>
#include <optional>
#include <string>
#include <vector>

#include "deployd/plan.hpp"
#include "plan/document.hpp"

namespace deployd::plan {

/// Reports every key of `object` that is not in `allowed`, suggesting the closest one.
void check_keys(const Node& object, const std::vector<std::string>& allowed, Diagnostics& diags);

/// True if the value is an object; otherwise reports it.
bool expect_object(const Node& node, Diagnostics& diags);

/// True if the value is a list; otherwise reports it.
bool expect_list(const Node& node, Diagnostics& diags);

/// A string (non-empty unless `allow_empty`).
std::optional<std::string> read_string(const Node& node, Diagnostics& diags,
                                       bool allow_empty = false);

/// `true` or `false`.
std::optional<bool> read_bool(const Node& node, Diagnostics& diags);

/// An integer within [min, max].
std::optional<int> read_int(const Node& node, Diagnostics& diags, int min = 0, int max = INT_MAX);

/// Seconds as a number, or a string with a unit (`250ms`, `30s`, `5m`, `1h`).
std::optional<Duration> read_duration(const Node& node, Diagnostics& diags);

/// A string, or a non-empty list of strings (`"identity": "~/.ssh/a"` or `["~/.ssh/a", ...]`).
std::optional<std::vector<std::string>> read_strings(const Node& node, Diagnostics& diags);

/// A list of strings (possibly empty).
std::optional<std::vector<std::string>> read_string_list(const Node& node, Diagnostics& diags);

/// A count (>= `min_count`) or a percentage string "N%" (0 to 100).
std::optional<Amount> read_amount(const Node& node, Diagnostics& diags, int min_count);

/// An expression (`when`, `changed_when`, `failed_when`), parsed; a syntax error is reported as
/// `when "mode = 'full'": column 6: unexpected "=" (write "==" to compare)`.
std::optional<Condition> read_condition(const Node& node, std::string_view key, Diagnostics& diags);

/// An object of variables: names checked; strings, numbers and booleans kept as text, lists and
/// objects as Values.
Vars read_vars(const Node& node, Diagnostics& diags);

/// One value as `vars` reads it (a `for_each` list), with where it is defined.
std::optional<Value> read_var_value(const Node& node, Diagnostics& diags);

/// True for environment variable names: letters, digits and `_`, not starting with a digit.
bool is_env_name(std::string_view name);

/// `value` as messages show it: `3`, `"x"`, `true`, `null`, `a list`, `an object`.
std::string describe_value(const Json& value);

/// `expected a string, got 3`: the wording of every type error.
std::string expected_but_got(std::string_view expected, const Json& value);

}  // namespace deployd::plan
