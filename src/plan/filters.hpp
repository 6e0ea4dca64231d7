// SPDX-License-Identifier: MIT
// The filters of templates and expressions (plan-format.md, "Filters"): `{{ x | q }}`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "deployd/plan.hpp"

namespace deployd::plan {

bool is_filter(std::string_view name);

/// How many arguments the filter takes (`join` may also take none).
std::size_t filter_arity(std::string_view name);

/// A list's or object's size, or a text's length in code points.
std::size_t length_of(const Value& value);

/// `value | name(args)`; `error` says why it cannot apply (e.g. `basename` of a list). `default`
/// is the evaluator's: it needs to know whether its subject has a value.
Value apply_filter(std::string_view name, const Value& value, const std::vector<Value>& args,
                   std::string& error);

}  // namespace deployd::plan
